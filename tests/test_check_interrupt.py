"""Stopping `monitor check`: Ctrl-C records what finished and nothing it cut short, in threads
and in worker processes; a killed `check` leaves no process behind; the workers are not forks of
a parent that runs threads and holds the database (issue 14, points 5 and 9; issue 15)."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import certifi
import pytest

from monitor.app import open_app
from monitor.config.settings import load_settings
from monitor.demo.site import Article, render
from monitor.errors import Cancelled
from monitor.fetch import Fetcher, build_client
from monitor.service.check import PROCESS_THRESHOLD

from .conftest import source_block, write_config
from .process_helpers import HAVE_PROC, descendants, end_all, running
from .server import LoopServer, Reply

SOURCES = PROCESS_THRESHOLD  # enough for worker processes


def wait_until(what: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


class SlowSite:
    """Pages that take a second each, counting the answers fully sent."""

    def __init__(self, http: LoopServer, html: bytes) -> None:
        self.answered = 0
        self._lock = threading.Lock()
        self.urls = [http.route(f"/p{i}", self._reply(html)) for i in range(SOURCES)]
        self.http = http

    def _reply(self, html: bytes):  # type: ignore[no-untyped-def]
        def body() -> Iterator[bytes]:
            time.sleep(1)
            yield html
            with self._lock:  # runs once the body is written
                self.answered += 1

        return lambda r: Reply(200, headers={"Content-Type": "text/html"}, stream=body)


class Check:
    """`monitor check` as a process, its output in files: orphaned workers holding a pipe
    would keep a reader waiting."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        folder = config.parent
        self.out_path, self.err_path = folder / "out.txt", folder / "err.txt"
        with self.out_path.open("w") as out, self.err_path.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "--config", str(config), "check"],
                stdout=out,
                stderr=err,
                text=True,
                env=None if env is None else {**os.environ, **env},
            )
        self.pid = self.proc.pid
        self.below: set[int] = set()

    def wait(self, timeout: float) -> tuple[str, str]:
        self.proc.wait(timeout)
        return self.out_path.read_text(), self.err_path.read_text()

    def end(self) -> None:
        """Kill what is left of it: the test may have failed with processes running."""
        end_all(self.proc, self.below)


@pytest.fixture
def slow_check(
    http: LoopServer, seed_articles: list[Article], tmp_path: Path
) -> Iterator[tuple[Check, SlowSite, Path]]:
    site = SlowSite(http, render(seed_articles[0]).encode())
    blocks = "".join(source_block(f"p{i}", url) for i, url in enumerate(site.urls))
    config = write_config(
        tmp_path, '[monitor]\ntimeout = "20s"\nretries = 0\nper_host = 2\n\n' + blocks
    )
    check = Check(config)
    try:
        yield check, site, tmp_path / "monitor.db"
    finally:
        check.end()


def started_workers(check: Check, site: SlowSite) -> set[int]:
    """The check's processes once its workers have answered a few pages."""
    assert wait_until(lambda: site.answered >= 4, 60), "the pass did not get going"
    check.below = descendants(check.pid)
    assert len(check.below) >= 2, "the pass did not use worker processes"
    return check.below


@pytest.mark.skipif(not HAVE_PROC, reason="reads /proc")
@pytest.mark.parametrize(("sent", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_in_worker_processes_records_what_finished_and_leaves_no_process(
    slow_check: tuple[Check, SlowSite, Path], sent: signal.Signals, status: int
) -> None:
    check, site, db = slow_check
    below = started_workers(check, site)
    answered = site.answered
    time.sleep(0.5)  # the pages answered so far are read and compared meanwhile
    check.proc.send_signal(sent)
    out, err = check.wait(60)
    assert check.proc.returncode == status, err
    stored = rows(db, "select outcome from checks")
    # every page answered before Ctrl-C is stored, though its worker's unit was not finished
    assert len(stored) >= answered
    # and nothing cut short by Ctrl-C is recorded as a failure of the site
    assert {outcome for (outcome,) in stored} == {"new"}
    summary = re.search(
        r"interrupted: (\d+) of (\d+) sources checked \(stored\), (\d+) cancel", err
    )
    assert summary is not None, err
    assert int(summary[1]) == len(stored) and int(summary[2]) == SOURCES
    assert int(summary[3]) == SOURCES - len(stored)
    assert f"{SOURCES - len(stored)} cancelled" in out  # the summary line counts them
    assert wait_until(lambda: not any(running(p) for p in below), 15), below


@pytest.mark.skipif(not HAVE_PROC, reason="reads /proc")
def test_sigterm_to_the_process_group_keeps_what_was_checked_and_says_the_workers_ended(
    http: LoopServer, seed_articles: list[Article], tmp_path: Path
) -> None:
    """`timeout` and systemd signal the whole group: the workers end at once (they must, for
    the pool can end them only by SIGTERM), and the pass says so, keeping what it stored."""
    site = SlowSite(http, render(seed_articles[0]).encode())
    blocks = "".join(source_block(f"p{i}", url) for i, url in enumerate(site.urls))
    config = write_config(
        tmp_path, '[monitor]\ntimeout = "20s"\nretries = 0\nper_host = 2\n\n' + blocks
    )
    folder = config.parent
    with (folder / "out.txt").open("w") as out, (folder / "err.txt").open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "check"],
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    below: set[int] = set()
    try:
        assert wait_until(lambda: site.answered >= 4, 60), "the pass did not get going"
        below = descendants(proc.pid)
        assert len(below) >= 2, "the pass did not use worker processes"
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
    finally:
        end_all(proc, below)
    message = (folder / "err.txt").read_text()
    assert proc.returncode == 143, message
    assert "the worker processes were stopped by the signal too; what was checked is kept" in (
        message
    )
    stored = rows(tmp_path / "monitor.db", "select outcome from checks")
    assert {outcome for (outcome,) in stored} <= {"new"}
    assert wait_until(lambda: not any(running(p) for p in below), 15), below


def test_ctrl_c_once_the_last_units_are_sent_still_ends_the_workers_requests(
    http: LoopServer, seed_articles: list[Article], tmp_path: Path
) -> None:
    page = render(seed_articles[0])
    stalled = 8  # the last sources, on a server that never answers
    stall = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def hold() -> None:
        while True:
            try:
                held.append(stall.accept()[0])
            except OSError:  # closed: the test is over
                return

    threading.Thread(target=hold, daemon=True).start()
    blocks = "".join(
        source_block(f"p{i}", http.static(f"/p{i}", page, Content_Type="text/html"))
        for i in range(SOURCES - stalled)
    ) + "".join(
        source_block(f"s{i}", f"http://127.0.0.1:{stall.getsockname()[1]}/s{i}")
        for i in range(stalled)
    )
    config = write_config(tmp_path, '[monitor]\ntimeout = "30s"\nretries = 0\n\n' + blocks)
    check = Check(config)
    try:
        # both worker processes wait on a page that will not come: every unit is sent
        assert wait_until(lambda: len(held) >= 2, 60), "the pass did not reach its last units"
        time.sleep(0.5)
        check.proc.send_signal(signal.SIGINT)
        out, err = check.wait(60)
    finally:
        check.end()
        stall.close()
        for conn in held:
            conn.close()
    assert check.proc.returncode == 130, err
    # the pass ended by itself, its workers' requests cut: not abandoned after the grace time
    assert "abandoned" not in err, err
    summary = re.search(r"interrupted: (\d+) of (\d+) sources checked \(stored\)", err)
    assert summary is not None, err
    assert int(summary[1]) == SOURCES - stalled and int(summary[2]) == SOURCES
    assert f"{stalled} cancelled" in out  # the summary line counts them
    db = tmp_path / "monitor.db"
    assert rows(db, "select count(*) from checks") == [(SOURCES - stalled,)]


@pytest.mark.skipif(not HAVE_PROC, reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_check_leaves_no_worker_process(
    slow_check: tuple[Check, SlowSite, Path], sig: signal.Signals
) -> None:
    check, site, _ = slow_check
    below = started_workers(check, site)
    check.proc.send_signal(sig)
    check.wait(30)
    assert wait_until(lambda: not any(running(p) for p in below), 15), [
        (p, Path(f"/proc/{p}/cmdline").read_bytes()) for p in below if running(p)
    ]


@pytest.mark.skipif(not HAVE_PROC, reason="reads /proc")
def test_worker_processes_do_not_inherit_the_parents_database(
    http: LoopServer, seed_articles: list[Article], tmp_path: Path
) -> None:
    """A forked worker gets the parent's open SQLite files and the locks its other threads
    held at that moment (the alert sender's, the pass's); started by a fork server it has
    neither."""
    html = render(seed_articles[0]).encode()
    seen: dict[int, set[str]] = {}

    def page(request: object) -> Reply:
        for pid in descendants(_self):
            try:
                fds = Path(f"/proc/{pid}/fd").iterdir()
                seen[pid] = {str(fd.readlink()) for fd in fds}
            except OSError:
                continue
        return Reply(200, html, {"Content-Type": "text/html"})

    _self = os.getpid()
    blocks = "".join(source_block(f"p{i}", http.route(f"/p{i}", page)) for i in range(SOURCES))
    settings = load_settings(write_config(tmp_path, "[monitor]\nretries = 0\n\n" + blocks))
    with open_app(settings) as app, app.sender.delivering():  # a thread running, as in `check`
        results = app.checker.check(list(settings.sources))
    assert {r.outcome for r in results} == {"new"}
    assert len(seen) >= 2, "the pass did not use worker processes"
    database = str(tmp_path / "monitor.db")
    held = {pid: [fd for fd in fds if fd.startswith(database)] for pid, fds in seen.items()}
    assert not any(held.values()), held


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except OSError:
        return None


@pytest.mark.skipif(not HAVE_PROC, reason="reads /proc")
@pytest.mark.parametrize("slow_ca", [False, True], ids=["ca-bundle", "slow-ca-bundle"])
def test_check_forks_its_workers_itself_before_opening_the_database(
    http: LoopServer, seed_articles: list[Article], tmp_path: Path, slow_ca: bool
) -> None:
    """`monitor check` starts its workers before the database opens and any thread runs:
    they are its own children (no fork server between), and they hold no database file.
    `slow_ca`: the CA bundle, which loads in a thread while the command starts up, takes far
    longer than that start-up (the pass waits for it rather than fork beside it)."""
    env = None
    if slow_ca:
        bundle = tmp_path / "ca-bundle.pem"
        bundle.write_text(Path(certifi.where()).read_text() * 20)  # about 0.4 s to load
        env = {"SSL_CERT_FILE": str(bundle)}
    html = render(seed_articles[0]).encode()
    check_pid: list[int] = []
    seen: dict[int, tuple[int | None, set[str]]] = {}

    def page(request: object) -> Reply:
        for pid in descendants(check_pid[0]):
            try:
                fds = {str(fd.readlink()) for fd in Path(f"/proc/{pid}/fd").iterdir()}
            except OSError:
                continue
            seen[pid] = (_parent(pid), fds)
        return Reply(200, html, {"Content-Type": "text/html"})

    blocks = "".join(source_block(f"p{i}", http.route(f"/p{i}", page)) for i in range(SOURCES))
    config = write_config(tmp_path, "[monitor]\nretries = 0\nper_host = 2\n\n" + blocks)
    check = Check(config, env)
    check_pid.append(check.pid)
    try:
        _, err = check.wait(120)
    finally:
        check.end()
    assert check.proc.returncode == 0, err
    assert len(seen) >= 2, "the pass did not use worker processes"
    assert {parent for parent, _ in seen.values()} == {check.pid}, seen
    database = str(tmp_path / "monitor.db")
    assert not [fd for _, fds in seen.values() for fd in fds if fd.startswith(database)]
    assert rows(tmp_path / "monitor.db", "select count(*) from checks") == [(SOURCES,)]


@pytest.mark.skipif(not HAVE_PROC, reason="reads /proc")
def test_workers_asked_for_early_are_not_forked_while_a_thread_runs(
    http: LoopServer, seed_articles: list[Article], tmp_path: Path
) -> None:
    """The early start forks only a process that runs no other thread; with one running it
    falls back to the fork server, whose children the workers are."""
    html = render(seed_articles[0]).encode()
    parents: set[int | None] = set()

    def page(request: object) -> Reply:
        parents.update(_parent(pid) for pid in descendants(os.getpid()) if _parent(pid))
        return Reply(200, html, {"Content-Type": "text/html"})

    blocks = "".join(source_block(f"p{i}", http.route(f"/p{i}", page)) for i in range(SOURCES))
    settings = load_settings(write_config(tmp_path, "[monitor]\nretries = 0\n\n" + blocks))
    assert threading.active_count() > 1  # the loopback server's thread
    with open_app(settings, sources=SOURCES) as app:
        results = app.checker.check(list(settings.sources))
    assert {r.outcome for r in results} == {"new"}
    # the fork server is this process's child; the workers are its children, not this one's
    assert parents - {os.getpid()}, parents


def test_cancel_all_ends_a_request_stalled_before_its_headers() -> None:
    stall = socket.create_server(("127.0.0.1", 0))
    client = build_client(timeout=30, user_agent="t")
    fetcher = Fetcher(client, max_body=1 << 20, retries=2)
    caught: list[BaseException] = []

    def fetch() -> None:
        try:
            fetcher.fetch(f"http://127.0.0.1:{stall.getsockname()[1]}/never")
        except BaseException as exc:
            caught.append(exc)

    thread = threading.Thread(target=fetch, daemon=True)
    try:
        thread.start()
        held, _ = stall.accept()  # in flight, and no answer will come for 30 s a try
        fetcher.cancel_all()
        thread.join(10)
        assert not thread.is_alive()
        assert len(caught) == 1 and isinstance(caught[0], Cancelled)
        with pytest.raises(Cancelled):  # nothing new starts
            fetcher.fetch(f"http://127.0.0.1:{stall.getsockname()[1]}/later")
        held.close()
    finally:
        stall.close()
        client.close()


def test_cancel_all_ends_a_retry_after_wait(http: LoopServer) -> None:
    url = http.route("/busy", lambda r: Reply(503, b"busy", {"Retry-After": "50"}))
    client = build_client(timeout=5, user_agent="t")
    fetcher = Fetcher(client, max_body=1 << 20, retries=1)
    caught: list[BaseException] = []

    def fetch() -> None:
        try:
            fetcher.fetch(url)
        except BaseException as exc:
            caught.append(exc)

    thread = threading.Thread(target=fetch, daemon=True)
    thread.start()
    assert wait_until(lambda: http.hits("/busy"), 10)
    time.sleep(0.2)  # the answer is read; the fetcher waits the 50 s it asks for
    fetcher.cancel_all()
    thread.join(10)
    client.close()
    assert not thread.is_alive()
    assert len(caught) == 1 and isinstance(caught[0], Cancelled)
    assert len(http.hits("/busy")) == 1


def _ctrl_c_while_stalled(
    config: Path, stall: socket.socket, meanwhile: Callable[[], None] | None = None
) -> tuple[int, str, str]:
    """`monitor check` as a process, Ctrl-C once a request hangs on `stall` (and `meanwhile`
    has run): its exit status, stdout and stderr. `stall` is closed after."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "check"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stall.settimeout(30)
        held, _ = stall.accept()
        if meanwhile is not None:
            meanwhile()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        held.close()
    finally:
        if proc.poll() is None:
            proc.kill()
        stall.close()
    return proc.returncode, out, err


def test_a_check_cut_by_ctrl_c_is_not_recorded_nor_counted_as_failing(
    http: LoopServer, seed_articles: list[Article], tmp_path: Path
) -> None:
    http.static("/good", render(seed_articles[0]), Content_Type="text/html")
    stall = socket.create_server(("127.0.0.1", 0))
    body = (
        '[monitor]\ntimeout = "30s"\nretries = 2\nfailing_after = 1\n\n'
        + source_block("good", http.url("/good"))
        + source_block("stalled", f"http://127.0.0.1:{stall.getsockname()[1]}/never")
    )
    config = write_config(tmp_path, body, seeds=False)

    def meanwhile() -> None:
        assert wait_until(lambda: http.hits("/good"), 20)
        time.sleep(0.5)  # the good page is read and stored meanwhile

    status, out, err = _ctrl_c_while_stalled(config, stall, meanwhile)
    assert status == 130, err
    assert "1 cancelled" in out
    db = tmp_path / "monitor.db"
    assert rows(db, "select source_id, outcome from checks") == [("good", "new")]
    # with failing_after = 1, a recorded failure would have marked it failing, with an alert
    assert rows(db, "select consecutive_failures from sources where id = 'stalled'") == [(0,)]
    assert rows(db, "select count(*) from events") == [(0,)]


def test_a_check_cut_by_ctrl_c_is_listed_as_cancelled_once_not_twice(tmp_path: Path) -> None:
    stall = socket.create_server(("127.0.0.1", 0))
    body = '[monitor]\ntimeout = "30s"\nretries = 0\n\n' + source_block(
        "stalled", f"http://127.0.0.1:{stall.getsockname()[1]}/never"
    )
    config = write_config(tmp_path, body, seeds=False)
    status, out, err = _ctrl_c_while_stalled(config, stall)
    assert status == 130, err
    row = next(line for line in out.splitlines() if line.startswith("stalled"))
    assert row.split() == ["stalled", "cancelled"], row
