"""The commands that only read: they work on a database this user may not write, never create
one, and end with one line, not a traceback, when they cannot do their job. Driven through the
real command line, in a subprocess where the user must not be able to write."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .conftest import SEED_FILES, run, source_block, write_config
from .service_helpers import start_serve

CLONE_NEWUSER = 0x10000000


def _monitor() -> list[str]:
    script = shutil.which("monitor", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "monitor"]


def _env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}


def _unprivileged() -> Callable[[], None] | None:
    """What a child runs before exec so that permission bits bind it: nothing for a user
    other than root; for root, a new user namespace, where root has no power over the files
    of this one (the mapping is left empty) and is refused writes as anyone else is. libc
    is loaded here, not in the child, where loading it after a fork could deadlock."""
    if os.geteuid() != 0:
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def enter() -> None:
        if libc.unshare(CLONE_NEWUSER) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER)")

    return enter


def _as_reader(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_monitor(), *args],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        preexec_fn=_unprivileged(),
    )


def _cannot_write(path: Path) -> bool:
    """Whether a child started as `_as_reader` starts them is refused writes to `path`."""
    probe = "import os, sys; sys.exit(0 if not os.access(sys.argv[1], os.W_OK) else 1)"
    try:
        result = subprocess.run(
            [sys.executable, "-c", probe, str(path)],
            timeout=30,
            preexec_fn=_unprivileged(),
        )
    except subprocess.SubprocessError:  # user namespaces not allowed here
        return False
    return result.returncode == 0


@pytest.fixture
def filled(tmp_path: Path, seed_texts: list[str]) -> Path:
    """A folder whose database holds change #1 (a teaser edited in source `edited`), closed
    by every writer: no -wal or -shm file beside it."""
    folder = tmp_path / "watch"
    folder.mkdir()
    (folder / "new.txt").write_text(
        seed_texts[0].replace("rare trip", "rare journey", 1), encoding="utf-8"
    )
    config = write_config(folder, source_block("edited", "new.txt", SEED_FILES[0].name))
    assert run(config, "check").exit_code == 0
    assert sorted(p.name for p in folder.glob("monitor.db*")) == ["monitor.db"]
    return folder


@pytest.fixture(params=["folder", "file"])
def read_only(request: pytest.FixtureRequest, filled: Path) -> Iterator[Path]:
    """`filled` with its folder and database file, or only the file, unwritable."""
    db = filled / "monitor.db"
    db.chmod(0o444)
    if request.param == "folder":
        filled.chmod(0o555)
    try:
        if not _cannot_write(db):
            pytest.skip("cannot take write permission away here (no user namespaces as root)")
        yield filled
    finally:
        filled.chmod(0o755)
        db.chmod(0o644)


READERS = [
    (["changes"], 0, "Teaser edited"),
    (["changes", "--json"], 0, '"source": "edited"'),
    (["show", "1"], 0, "{+journey+}"),
    (["history", "edited"], 0, "change #1"),
    (["status"], 1, "edited"),  # 1: no service is running
    (["report", "-o", "-"], 0, "journey"),
    (["feed"], 0, "<feed"),
    (["alerts"], 0, "change #1"),
    (["check", "--dry-run"], 0, "0 changed, 1 unchanged"),
]


@pytest.mark.parametrize(("command", "status", "shown"), READERS, ids=lambda v: str(v))
def test_reading_commands_work_on_a_database_this_user_may_not_write(
    read_only: Path, command: list[str], status: int, shown: str
) -> None:
    before = (read_only / "monitor.db").read_bytes()
    result = _as_reader(*command, cwd=read_only)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == status, result.stdout + result.stderr
    assert shown in result.stdout
    assert (read_only / "monitor.db").read_bytes() == before


def test_check_on_a_database_this_user_may_not_write_says_so_in_one_line(
    read_only: Path,
) -> None:
    result = _as_reader("check", cwd=read_only)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"Error: {read_only / 'monitor.db'}: this user may not write the database (or its "
        "folder): nothing can be written"
    ]


def test_check_beside_a_writer_whose_log_this_user_may_not_write_says_so_before_checking(
    filled: Path,
) -> None:
    """The database file and its folder are open to this user, but a running service of
    another user holds the `-wal` and `-shm` files it made, which SQLite then lets this user
    only read (an outside review): the pass is refused at its start, in one line, as on a
    database this user may not write, not after every page was fetched and none stored."""
    db = filled / "monitor.db"
    companions = [filled / "monitor.db-wal", filled / "monitor.db-shm"]
    service = sqlite3.connect(db)  # makes the -wal and -shm files, and keeps them
    try:
        service.execute("select count(*) from sources").fetchall()
        for companion in companions:
            companion.chmod(0o444)  # the other user's: this one may read them only
        if not _cannot_write(companions[1]) or _cannot_write(db):
            pytest.skip("cannot take write permission away here (no user namespaces as root)")
        result = _as_reader("check", cwd=filled)
    finally:
        service.close()
        for companion in companions:
            if companion.exists():
                companion.chmod(0o644)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: {db}: this user may not write the database (or its folder): nothing can be written"
    ]


@pytest.mark.parametrize("command", [c for c, _, _ in READERS], ids=lambda v: str(v))
def test_reading_commands_on_an_older_database_this_user_may_not_upgrade_say_so_in_one_line(
    filled: Path, command: list[str]
) -> None:
    """An outside review of upgrades: `status`, `report`, `alerts` and `check --dry-run` ended
    in tracebacks on the missing tables and columns of a database that older code wrote."""
    from sqlite_utils import Database, Migrations

    from monitor.store.schema import MIGRATION_SET, STEPS

    db = filled / "monitor.db"
    db.unlink()
    old = Migrations(MIGRATION_SET)
    for step in STEPS[:-2]:
        old()(step)
    conn = sqlite3.connect(db)
    old.apply(Database(conn))
    conn.close()
    before = db.read_bytes()
    filled.chmod(0o555)
    try:
        if not _cannot_write(filled):
            pytest.skip("cannot take write permission away here (no user namespaces as root)")
        result = _as_reader(*command, cwd=filled)
    finally:
        filled.chmod(0o755)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    steps = ", ".join(step.__name__ for step in STEPS[-2:])
    assert result.stderr.strip().splitlines() == [
        f"Error: {db}: this database was written by an older monitor and needs its schema "
        f"upgraded ({steps}), which this user may not do: run a monitor command once as a "
        "user who may write the database and its folder"
    ]
    assert db.read_bytes() == before


def test_serve_on_an_unwritable_folder_with_no_writer_says_so_in_one_line(filled: Path) -> None:
    """The web UI stays open, and a `monitor run` started meanwhile would write the file it
    reads: it is never read as an immutable file, as the commands that read and end are."""
    filled.chmod(0o555)
    try:
        if not _cannot_write(filled):
            pytest.skip("cannot take write permission away here (no user namespaces as root)")
        result = _as_reader("serve", "--port", "0", cwd=filled)
    finally:
        filled.chmod(0o755)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"Error: {filled / 'monitor.db'}: cannot read the database here while no monitor run "
        "is writing it: its -shm file is missing and this user may not create it; start "
        "monitor run, or run this as a user who may write the folder"
    ]


def test_writes_left_in_a_wal_file_of_an_unwritable_folder_are_named_not_a_traceback(
    filled: Path, tmp_path: Path
) -> None:
    # A writer that stopped without copying its -wal file into the database (killed), in a
    # folder that has since lost its -shm file: those writes are unreadable without one.
    db = filled / "monitor.db"
    writer = sqlite3.connect(db)
    writer.execute("pragma wal_autocheckpoint = 0")
    writer.execute("update sources set title = 'late' where id = 'edited'")
    writer.commit()
    left = tmp_path / "left"
    left.mkdir()
    shutil.copy(filled / "config.toml", left)
    shutil.copytree(filled / "seeds", left / "seeds")
    shutil.copy(filled / "new.txt", left)
    shutil.copy(db, left / "monitor.db")
    shutil.copy(filled / "monitor.db-wal", left / "monitor.db-wal")
    writer.close()
    left.chmod(0o555)
    try:
        if not _cannot_write(left):
            pytest.skip("cannot take write permission away here (no user namespaces as root)")
        result = _as_reader("changes", cwd=left)
    finally:
        left.chmod(0o755)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "monitor.db-wal holds writes not yet copied" in result.stderr


# -- a missing database is read as empty, never created ---------------------------------------


MISSING = [
    (["changes"], 0, "no changes"),
    (["changes", "--json"], 0, "[]"),
    (["status"], 1, "edited"),  # 1: no service is running
    (["show", "1"], 2, "no change with id 1"),
    (["history", "edited"], 0, "no versions stored yet"),
    (["report", "-o", "-"], 0, "No changes."),
    (["feed"], 0, "<feed"),
    (["gc"], 0, "deleted 0 checks"),
    (["alerts"], 0, "no alerts"),
    (["check", "--dry-run"], 0, "1 unchanged, 0 failed"),
]


@pytest.mark.parametrize(("command", "status", "shown"), MISSING, ids=lambda v: str(v))
def test_reading_commands_and_dry_run_create_no_database(
    tmp_path: Path, seed_texts: list[str], command: list[str], status: int, shown: str
) -> None:
    (tmp_path / "new.txt").write_text(seed_texts[0], encoding="utf-8")
    config = write_config(tmp_path, source_block("edited", "new.txt", SEED_FILES[0].name))
    result = run(config, *command)
    assert result.exit_code == status, result.output
    assert shown in result.output
    assert list(tmp_path.glob("monitor.db*")) == []


def test_reading_with_the_config_dev_null_creates_nothing_in_dev() -> None:
    # The default database is beside the config: /dev/monitor.db for /dev/null.
    target = Path(os.devnull).parent / "monitor.db"
    if target.exists():
        pytest.skip(f"{target} exists already")
    try:
        result = run(Path(os.devnull), "changes")
        assert (result.exit_code, result.output) == (0, "no changes\n")
        assert not target.exists()
    finally:
        if target.exists():
            target.unlink()


# -- --output into a folder that does not exist ------------------------------------------------


@pytest.mark.parametrize("command", ["report", "feed"])
def test_output_into_a_missing_folder_is_bad_usage_naming_it(filled: Path, command: str) -> None:
    out = filled / "nodir" / "out.file"
    result = run(filled / "config.toml", command, "-o", str(out))
    assert result.exit_code == 2
    assert f"folder {str(out.parent)!r} does not exist" in result.output
    assert not out.parent.exists()


# -- serve stopped by SIGTERM ------------------------------------------------------------------


def test_serve_stopped_by_sigterm_exits_0(filled: Path) -> None:
    command = [*_monitor(), "--config", str(filled / "config.toml"), "serve", "--port", "0"]
    proc, banner = start_serve(command, _env())
    try:
        assert re.search(r"http://127\.0\.0\.1:\d+/", banner), banner
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in out
