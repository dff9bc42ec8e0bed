from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

import monitor.store.record as record
from monitor.detect.compare import compare
from monitor.detect.extract import Regions
from monitor.store.db import Store
from monitor.store.record import Recipients, record_checks
from monitor.store.rows import CheckResult
from monitor.store.schema import STEPS, up_to_date

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
A = Regions("A lot happens every day. " * 5, "Members-Only Content\nReserved.", "A lot.", "locked")
B = Regions("A lot happens every week. " * 5, A.paywall, A.description, "locked")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store.open(tmp_path / "m.db")
    store.sync_sources([("s", "https://example.org/a")], NOW)
    return store


NOBODY = Recipients({})


def test_schema_wal_and_migrations_are_recorded(tmp_path: Path, store: Store) -> None:
    assert store.conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in store.conn.execute("select name from sqlite_master where type='table'")}
    assert tables >= {"sources", "versions", "checks", "changes", "alerts", "events"}
    store.close()
    again = Store.open(tmp_path / "m.db")  # reopening applies nothing twice
    rows = again.conn.execute("select name from _sqlite_migrations").fetchall()
    assert rows == [(step.__name__,) for step in STEPS]
    assert up_to_date(again.conn)


def test_an_old_database_gets_the_missing_steps(tmp_path: Path) -> None:
    from sqlite_utils import Database, Migrations

    conn = sqlite3.connect(tmp_path / "old.db")
    first = Migrations("monitor")
    first()(STEPS[0])
    first.apply(Database(conn))
    assert not up_to_date(conn)
    conn.close()
    store = Store.open(tmp_path / "old.db")
    assert up_to_date(store.conn)
    columns = {r[1] for r in store.conn.execute("pragma table_info(sources)")}
    assert {"title", "state"} <= columns


def test_baseline_import_is_idempotent(store: Store) -> None:
    assert store.import_baseline("s", A, NOW) == 1
    assert store.import_baseline("s", B, NOW) is None
    assert [v.regions for v in store.versions("s")] == [A]
    state = store.state("s")
    assert state.current is not None and state.current.regions == A


def test_change_version_and_alerts_in_one_record(store: Store) -> None:
    store.import_baseline("s", A, NOW)
    [recorded] = record_checks(
        store,
        [
            CheckResult(
                "s", "changed", NOW, 12, 200, regions=B, comparison=compare(A, B), base_version_id=1
            )
        ],
        Recipients({"s": ["a@example.org", "b@example.org", "a@example.org"]}),
    )
    assert isinstance(recorded, CheckResult) and recorded.change_id == 1
    assert store.state("s").current.id == 2  # type: ignore[union-attr]
    change = store.change(1)
    assert change.kinds == ("teaser_rewritten",)
    assert "[-day-]" in "".join(
        f"[-{s.text.strip()}-]" for s in change.diff["teaser"] if s.op == "-"
    )
    alerts = store.conn.execute("select recipient, status from alerts order by id").fetchall()
    assert alerts == [("a@example.org", "pending"), ("b@example.org", "pending")]


def test_a_failure_mid_check_writes_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.import_baseline("s", A, NOW)

    def broken(*args: object, **kwargs: object) -> int:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(record, "_insert_change", broken)
    [answer] = record_checks(
        store,
        [
            CheckResult(
                "s", "changed", NOW, 5, regions=B, comparison=compare(A, B), base_version_id=1
            )
        ],
        NOBODY,
    )
    assert isinstance(answer, sqlite3.OperationalError)
    assert store.conn.execute("select count(*) from versions").fetchone()[0] == 1
    assert store.conn.execute("select count(*) from checks").fetchone()[0] == 0
    assert store.state("s").current.regions == A  # type: ignore[union-attr]


def test_unchanged_check_adds_no_version(store: Store) -> None:
    store.import_baseline("s", A, NOW)
    for _ in range(3):
        record_checks(
            store,
            [CheckResult("s", "unchanged", NOW, 5, 200, regions=A, base_version_id=1)],
            NOBODY,
        )
    assert len(store.versions("s")) == 1
    assert len(store.checks("s")) == 3


def test_reviewed_flag(store: Store) -> None:
    store.import_baseline("s", A, NOW)
    record_checks(
        store,
        [
            CheckResult(
                "s", "changed", NOW, 1, regions=B, comparison=compare(A, B), base_version_id=1
            )
        ],
        NOBODY,
    )
    store.mark_reviewed(1, True, NOW)
    assert store.change(1).reviewed
    assert store.changes(reviewed=False) == []
