"""A damaged database file: every command says so, and how to restore it, with exit status 1;
never a raw sqlite3 traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitor.errors import DatabaseDamaged
from monitor.store import Store
from monitor.store.db import damage

from .conftest import SEED_FILES, run, source_block, write_config

PAGE = 4096


def _checked_project(tmp_path: Path) -> tuple[Path, Path]:
    pages = tmp_path / "pages"
    pages.mkdir()
    body = ""
    for n in range(1, 4):
        (pages / f"p{n}.txt").write_bytes(SEED_FILES[0].read_bytes())
        body += source_block(f"s{n}", f"pages/p{n}.txt")
    config = write_config(tmp_path, body, seeds=False)
    assert run(config, "check").exit_code == 0
    (pages / "p1.txt").write_text(
        SEED_FILES[0].read_text().replace("a rare trip", "a rare journey"), encoding="utf-8"
    )
    assert run(config, "check").exit_code == 0  # change 1
    return config, tmp_path / "monitor.db"


def _damage_tables(database: Path, tables: tuple[str, ...]) -> None:
    """Overwrite the first page of each table (its B-tree root) with garbage; the schema page
    stays whole, so the file opens and the damage is met by the first query that reads it."""
    conn = sqlite3.connect(database)
    conn.execute("pragma wal_checkpoint(truncate)")
    assert conn.execute("pragma page_size").fetchone() == (PAGE,)
    roots = dict(conn.execute("select name, rootpage from sqlite_master where type = 'table'"))
    conn.close()
    with database.open("r+b") as file:
        for table in tables:
            file.seek((roots[table] - 1) * PAGE)
            file.write(b"\xee" * PAGE)


@pytest.mark.parametrize(
    "command",
    [
        ("check",),
        ("show", "1"),
        ("changes",),
        ("history", "s1"),
        ("status",),
        ("report", "-o", "-"),
    ],
)
def test_a_damaged_page_is_named_with_the_way_out(tmp_path: Path, command: tuple[str, ...]) -> None:
    config, database = _checked_project(tmp_path)
    _damage_tables(database, ("sources", "versions", "changes", "checks"))
    result = run(config, *command)
    assert result.exit_code == 1, result.output
    assert "the database is damaged (database disk image is malformed)" in result.output
    assert f"sqlite3 {database} .recover | sqlite3 recovered.db" in result.output
    assert "Traceback" not in result.output


def test_a_file_that_is_no_database_is_named_with_the_way_out(tmp_path: Path) -> None:
    config, database = _checked_project(tmp_path)
    database.write_bytes(b"\xee" * (8 * PAGE))
    result = run(config, "changes")
    assert result.exit_code == 1
    assert "the database is damaged (file is not a database)" in result.output


def test_the_store_raises_a_domain_error_for_a_damaged_page(tmp_path: Path) -> None:
    _, database = _checked_project(tmp_path)
    _damage_tables(database, ("versions",))
    store = Store.open(database)
    try:
        with pytest.raises(DatabaseDamaged) as caught:
            store.versions("s1")
        assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)
        # the lock was released on the way out, and the tables left whole still read
        assert store.known_sources() == ["s1", "s2", "s3"]
    finally:
        store.close()


def test_a_locked_or_full_database_is_not_called_damaged() -> None:
    # they clear by themselves: a failed check, tried again at the next one
    assert damage(sqlite3.OperationalError("database is locked"), "x.db") is None
    assert damage(sqlite3.OperationalError("database or disk is full"), "x.db") is None
    assert damage(ValueError("no"), "x.db") is None


def test_the_service_stops_with_status_1_on_a_damaged_database(tmp_path: Path) -> None:
    from .service_helpers import RunningService

    config, database = _checked_project(tmp_path)
    text = config.read_text(encoding="utf-8")
    config.write_text('[monitor]\ninterval = "1s"\n\n' + text, encoding="utf-8")
    _damage_tables(database, ("versions",))
    service = RunningService(config)
    try:
        service.wait_for(lambda: service.events("database damaged: stopping"), timeout=30)
        assert service.proc.wait(timeout=30) == 1
    finally:
        if service.proc.poll() is None:
            service.proc.kill()
            service.proc.wait()
    assert not service.events("check crashed")
    assert len(service.events("database damaged: stopping")) == 1
    assert ".recover" in service.events("database damaged: stopping")[0]["error"]
