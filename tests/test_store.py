from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import monitor.store.record as record
from monitor.detect.compare import compare
from monitor.detect.extract import Regions
from monitor.errors import DatabaseDamaged, StoreError
from monitor.store.db import Store
from monitor.store.record import Recipients, record_checks
from monitor.store.rows import CheckResult
from monitor.store.schema import STEPS, iso, up_to_date

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
    # the check's row names the version it read and the change it found (the data model)
    check = store.conn.execute("select version_id, change_id, outcome from checks").fetchall()
    assert check == [(2, 1, "changed")]


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


def _alert_rows(store: Store) -> list[tuple[object, ...]]:
    return store.conn.execute(
        "select channel, recipient, event, change_id, event_id, status, tries,"
        " next_attempt_at, created_at from alerts order by id"
    ).fetchall()


def test_a_change_queues_an_alert_per_recipient_and_per_notify_target_taking_its_kind(
    store: Store,
) -> None:
    store.import_baseline("s", A, NOW)
    takes = {
        "s": [
            ("everything", frozenset[str]()),
            ("teasers", frozenset({"teaser_rewritten"})),
            ("access", frozenset({"access_changed", "failing"})),
        ]
    }
    result = CheckResult(
        "s", "changed", NOW, 5, 200, regions=B, comparison=compare(A, B), base_version_id=1
    )
    [recorded] = record_checks(store, [result], Recipients({"s": ["a@x.org"]}, notify=takes))
    assert isinstance(recorded, CheckResult) and recorded.change_id == 1
    due = iso(NOW)
    assert _alert_rows(store) == [
        ("email", "a@x.org", "change", 1, None, "pending", 0, due, due),
        ("notify", "everything", "change", 1, None, "pending", 0, due, due),
        ("notify", "teasers", "change", 1, None, "pending", 0, due, due),
    ]


def test_a_source_turns_failing_after_failing_after_errors_and_recovers_once(
    store: Store,
) -> None:
    store.import_baseline("s", A, NOW)
    recipients = Recipients({"s": ["a@x.org"]}, failing_after=3)

    def check(minute: int, ok: bool) -> CheckResult:
        at = NOW.replace(minute=minute)
        result = (
            CheckResult("s", "unchanged", at, 5, 200, regions=A, base_version_id=1)
            if ok
            else CheckResult("s", "error", at, 5, 503, error="HTTP 503 Service Unavailable")
        )
        [recorded] = record_checks(store, [result], recipients)
        assert isinstance(recorded, CheckResult)
        return recorded

    def state() -> str:
        return str(store.conn.execute("select state from sources").fetchone()[0])

    assert [check(1, False).event, check(2, False).event] == [None, None]
    assert state() == "healthy"  # two failures are not yet "failing"
    assert check(3, False).event == "failing"
    assert state() == "failing"
    assert check(4, False).event is None  # failing already: no second event
    assert check(5, True).event == "recovered"
    assert state() == "healthy"
    assert check(6, True).event is None
    events = store.conn.execute("select id, kind, detail, at from events order by id").fetchall()
    assert events == [
        (1, "failing", "HTTP 503 Service Unavailable", iso(NOW.replace(minute=3))),
        (2, "recovered", "unchanged", iso(NOW.replace(minute=5))),
    ]
    three, five = iso(NOW.replace(minute=3)), iso(NOW.replace(minute=5))
    assert [(r[2], r[3], r[4], r[7], r[8]) for r in _alert_rows(store)] == [
        ("failing", None, 1, three, three),  # due at once
        ("recovered", None, 2, five, five),
    ]


C = Regions("A lot happens every month. " * 5, A.paywall, A.description, "locked")


def _counts(store: Store) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        store.conn.execute(f"select count(*) from {table}").fetchone()[0]
        for table in ("versions", "changes", "checks")
    )


def _another_writer_stores_b(store: Store) -> None:
    """Version 1 is A; another writer's check, begun at NOW, stores B (version 2) from it."""
    store.import_baseline("s", A, NOW)
    change = compare(A, B)
    other = CheckResult(
        "s", "changed", NOW, 5, regions=B, comparison=change, base_version_id=1, etag='"b"'
    )
    record_checks(store, [other], NOBODY)


def test_a_page_compared_with_a_version_another_writer_replaced_is_compared_again(
    store: Store,
) -> None:
    """Two writers: this check compared the page with A, but another, whose check began
    earlier, stored B meanwhile. A page that differs from B comes back to be compared with B;
    one equal to B is unchanged."""
    _another_writer_stores_b(store)
    before = _counts(store)
    later = NOW + timedelta(minutes=1)
    late = CheckResult(
        "s", "changed", later, 5, regions=C, comparison=compare(A, C), base_version_id=1
    )
    [stale] = record_checks(store, [late], Recipients({"s": ["a@x.org"]}))
    assert isinstance(stale, record.Stale)
    assert stale.result is late and stale.current.id == 2 and stale.current.regions == B
    assert _counts(store) == before  # nothing recorded from the stale comparison
    same = CheckResult(
        "s", "changed", later, 5, regions=B, comparison=compare(A, B), base_version_id=1
    )
    [recorded] = record_checks(store, [same], Recipients({"s": ["a@x.org"]}))
    assert isinstance(recorded, CheckResult)
    assert (recorded.outcome, recorded.change_id, recorded.revert_to) == ("unchanged", None, None)
    versions, changes, checks = _counts(store)
    assert (versions, changes, checks) == (before[0], before[1], before[2] + 1)
    assert store.conn.execute("select count(*) from alerts").fetchone()[0] == 0


@pytest.mark.parametrize("began", [-60, 0], ids=["a minute before", "the same second"])
def test_a_reading_from_before_another_writers_version_is_superseded_and_changes_nothing(
    store: Store, began: int
) -> None:
    """This check began before (or in the same second as) the one of another writer that
    stored B, and read A, the page as it was: no revert to A, no alert, and the source keeps
    B and the other check's state. Only this check's row says what happened."""
    _another_writer_stores_b(store)
    source = "select current_version_id, last_check_at, last_outcome, etag, digest from sources"
    state = store.conn.execute(source).fetchall()
    seen = store.conn.execute("select last_seen from versions order by id").fetchall()
    before = _counts(store)
    old = CheckResult(
        "s",
        "unchanged",
        NOW + timedelta(seconds=began),
        5,
        status=200,
        regions=A,
        base_version_id=1,
        etag='"a"',
        url="https://example.org/moved",
    )
    [late] = record_checks(store, [old], Recipients({"s": ["a@x.org"]}))
    assert isinstance(late, CheckResult)
    assert (late.outcome, late.change_id, late.comparison) == ("superseded", None, None)
    assert late.error is not None and "older than version #2" in late.error
    assert _counts(store) == (before[0], before[1], before[2] + 1)
    assert store.conn.execute(source).fetchall() == state
    assert store.conn.execute("select last_seen from versions order by id").fetchall() == seen
    assert store.conn.execute("select count(*) from alerts").fetchone()[0] == 0
    row = store.conn.execute(
        "select outcome, version_id, change_id, status, duration_ms, url, started_at, error"
        " from checks order by id desc"
    ).fetchone()
    assert tuple(row) == (
        "superseded",
        None,
        None,
        200,
        5,
        "https://example.org/moved",
        iso(NOW + timedelta(seconds=began)),
        late.error,
    )


def test_a_304_to_the_validators_of_a_version_another_writer_replaced_reads_as_that_version(
    store: Store,
) -> None:
    """This check sent A's validators and got 304: the page is A again, though another writer,
    whose check began earlier, stored B meanwhile. Not B seen again: A, compared with B."""
    _another_writer_stores_b(store)
    later = NOW + timedelta(minutes=1)
    answer = CheckResult("s", "not_modified", later, 5, status=304, base_version_id=1)
    [stale] = record_checks(store, [answer], NOBODY)
    assert isinstance(stale, record.Stale)
    assert stale.current.id == 2 and stale.result.regions is not None
    assert stale.result.regions.fingerprint == A.fingerprint
    # from a check that began before the other writer's: the older reading, superseded
    earlier = replace(answer, started_at=NOW - timedelta(minutes=1))
    [late] = record_checks(store, [earlier], NOBODY)
    assert isinstance(late, CheckResult) and late.outcome == "superseded"


def test_a_check_of_a_source_not_in_the_database_names_it(store: Store) -> None:
    from monitor.errors import NotFound

    with pytest.raises(NotFound, match="source 'nope' is not in the database"):
        record_checks(store, [CheckResult("nope", "new", NOW, 5, regions=A)], NOBODY)


def _two_sources(store: Store) -> None:
    """Sources "s" and "t", each with version A as its baseline (versions 1 and 2)."""
    store.sync_sources([("s", "https://example.org/a"), ("t", "https://example.org/b")], NOW)
    store.import_baseline("s", A, NOW)
    store.import_baseline("t", A, NOW)


def _too_large_for_the_disk(store: Store) -> list[CheckResult]:
    """A batch whose first check fits the database and whose second, a 20,000-word teaser,
    does not: the database is given four pages to grow by."""
    huge = Regions(" ".join(f"word{i}" for i in range(20_000)), A.paywall, A.description, "locked")
    pages = store.conn.execute("pragma page_count").fetchone()[0]
    store.conn.execute(f"pragma max_page_count = {pages + 4}")
    return [
        CheckResult("s", "changed", NOW, 5, regions=B, comparison=compare(A, B), base_version_id=1),
        CheckResult(
            "t", "changed", NOW, 5, regions=huge, comparison=compare(A, huge), base_version_id=2
        ),
    ]


def _change_fails_for(monkeypatch: pytest.MonkeyPatch, failing: str) -> None:
    """Writing a change of source `failing` fails, as a constraint would: that check's own
    failure."""
    insert_change = record._insert_change

    def broken(db: object, result: CheckResult, *args: object, **kwargs: object) -> int:
        if result.source_id == failing:
            raise sqlite3.OperationalError("constraint failed")
        return insert_change(db, result, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(record, "_insert_change", broken)


def test_a_full_disk_mid_batch_stores_nothing_of_it_and_fails_every_check(store: Store) -> None:
    """SQLite rolls the whole transaction back when the database is full: the first check of
    the batch, which fitted, is not stored either, and is reported so."""
    _two_sources(store)
    before = _counts(store)
    batch = _too_large_for_the_disk(store)
    answers = record_checks(store, batch, NOBODY)
    assert [type(a).__name__ for a in answers] == ["OperationalError", "OperationalError"]
    assert all("full" in str(a) for a in answers)
    assert _counts(store) == before
    store.conn.execute("pragma max_page_count = 1073741823")  # room again
    again = record_checks(store, batch, NOBODY)
    assert [a.outcome for a in again if isinstance(a, CheckResult)] == ["changed", "changed"]


def test_after_new_reading_rules_a_change_is_a_new_reference_without_change_or_alert(
    store: Store,
) -> None:
    """A source whose version was read by older extraction rules (`rules_changed`, set by
    the migration that brought the new rules) takes its next reading as the reference."""
    store.import_baseline("s", A, NOW)
    store.conn.execute("update sources set rules_changed = 1")
    result = CheckResult(
        "s", "changed", NOW, 5, 200, regions=B, comparison=compare(A, B), base_version_id=1
    )
    [recorded] = record_checks(store, [result], Recipients({"s": ["a@x.org"]}))
    assert isinstance(recorded, CheckResult)
    assert (recorded.outcome, recorded.change_id, recorded.comparison) == (
        "rebaselined",
        None,
        None,
    )
    assert store.state("s").current.regions == B  # type: ignore[union-attr]
    assert _counts(store) == (2, 0, 1)  # a version, no change, the check
    assert store.conn.execute("select count(*) from alerts").fetchone()[0] == 0
    assert store.conn.execute("select rules_changed from sources").fetchone()[0] == 0
    # a 304 reads nothing: a source still waiting for its first reading keeps waiting
    store.conn.execute("update sources set rules_changed = 1")
    [unread] = record_checks(
        store, [CheckResult("s", "not_modified", NOW, 5, 304, base_version_id=2)], NOBODY
    )
    assert isinstance(unread, CheckResult) and unread.outcome == "not_modified"
    assert store.conn.execute("select rules_changed from sources").fetchone()[0] == 1
    store.conn.execute("update sources set rules_changed = 0")
    # from now on a change is a change
    later = CheckResult(
        "s", "changed", NOW, 5, 200, regions=C, comparison=compare(B, C), base_version_id=2
    )
    [changed] = record_checks(store, [later], NOBODY)
    assert isinstance(changed, CheckResult) and changed.outcome == "changed"
    assert changed.change_id == 1


def test_a_change_from_a_version_another_reading_made_is_a_new_reference_when_recorded(
    store: Store,
) -> None:
    """Recording tells it for a writer that did not (`detect.reading`): the stored version's
    reading key differs from the check's. A check that does not say how it read is taken as
    read alike; the key recorded is the one of the version now current."""
    store.import_baseline("s", A, NOW, reading="old code")
    assert store.state("s").reading == "old code"
    result = CheckResult(
        "s", "changed", NOW, 5, 200, regions=B, comparison=compare(A, B), base_version_id=1
    )
    [recorded] = record_checks(store, [replace(result, reading="new code")], NOBODY)
    assert isinstance(recorded, CheckResult) and recorded.outcome == "rebaselined"
    assert store.conn.execute("select count(*) from changes").fetchone()[0] == 0
    assert store.state("s").reading == "new code"
    later = CheckResult(
        "s", "changed", NOW, 5, 200, regions=C, comparison=compare(B, C), base_version_id=2
    )
    [unsaid] = record_checks(store, [later], NOBODY)
    assert isinstance(unsaid, CheckResult) and unsaid.outcome == "changed"
    assert store.state("s").reading == "new code"
    [same] = record_checks(
        store,
        [
            replace(
                later, regions=A, comparison=compare(C, A), base_version_id=3, reading="new code"
            )
        ],
        NOBODY,
    )
    assert isinstance(same, CheckResult) and same.outcome == "changed"
    assert store.conn.execute("select count(*) from changes").fetchone()[0] == 2


def test_validators_title_and_last_seen_follow_the_last_page_read(store: Store) -> None:
    """A 304 or a failed check keeps the validators the next request sends and the version's
    last sighting; a page read brings its own."""
    from dataclasses import replace

    store.import_baseline("s", A, NOW)
    titled = replace(A, title="Kim's visit")

    def record_one(minute: int, outcome: str, **fields: object) -> None:
        at = NOW.replace(minute=minute)
        result = CheckResult("s", outcome, at, 5, base_version_id=1, **fields)  # type: ignore[arg-type]
        [recorded] = record_checks(store, [result], NOBODY)
        assert isinstance(recorded, CheckResult)

    def source() -> tuple[object, ...]:
        return store.conn.execute("select etag, last_modified, title from sources").fetchone()

    def last_seen() -> str:
        return str(store.conn.execute("select last_seen from versions").fetchone()[0])

    def check_rows() -> list[tuple[object, ...]]:
        return store.conn.execute("select etag, last_modified, version_id from checks").fetchall()

    validators = {"etag": '"v1"', "last_modified": "Tue, 03 Nov 2026 09:00:00 GMT"}
    record_one(1, "unchanged", status=200, regions=titled, **validators)
    assert source() == ('"v1"', "Tue, 03 Nov 2026 09:00:00 GMT", "Kim's visit")
    assert last_seen() == iso(NOW.replace(minute=1))
    record_one(2, "not_modified", status=304)
    record_one(3, "error", status=503, error="HTTP 503 Service Unavailable")
    assert source() == ('"v1"', "Tue, 03 Nov 2026 09:00:00 GMT", "Kim's visit")
    assert last_seen() == iso(NOW.replace(minute=2))  # the 304 saw it; the failure did not
    record_one(4, "unchanged", status=200, regions=A, etag='"v2"')
    assert source() == ('"v2"', None, "Kim's visit")  # no title read: the last one stays
    assert check_rows() == [
        ('"v1"', "Tue, 03 Nov 2026 09:00:00 GMT", 1),
        (None, None, 1),  # a 304 repeats what the source row holds
        (None, None, None),  # a failed check saw no version
        ('"v2"', None, 1),
    ]


def test_a_page_back_to_an_earlier_version_is_a_return_to_it(store: Store) -> None:
    store.import_baseline("s", A, NOW)
    there = CheckResult(
        "s", "changed", NOW, 5, regions=B, comparison=compare(A, B), base_version_id=1
    )
    back = CheckResult(
        "s", "changed", NOW, 5, regions=A, comparison=compare(B, A), base_version_id=2
    )
    [first] = record_checks(store, [there], NOBODY)
    [second] = record_checks(store, [back], NOBODY)
    assert isinstance(first, CheckResult) and first.revert_to is None
    assert isinstance(second, CheckResult) and second.revert_to == 1
    origins = store.conn.execute("select id, origin from versions order by id").fetchall()
    assert origins == [(1, "baseline"), (2, "check")]


def test_a_damaged_page_met_while_recording_is_the_databases_failure_not_the_checks(
    tmp_path: Path,
) -> None:
    """The checks table's pages are damaged, the rest whole: recording meets the damage and
    the batch stops with `DatabaseDamaged`, naming the file (and the way out), rather than
    returning one check that "could not be stored"."""
    from monitor.errors import DatabaseDamaged

    from .test_damaged_db import _damage_tables

    path = tmp_path / "m.db"
    first = Store.open(path)
    first.sync_sources([("s", "https://example.org/a")], NOW)
    first.import_baseline("s", A, NOW)
    record_checks(first, [CheckResult("s", "unchanged", NOW, 5, 200, base_version_id=1)], NOBODY)
    first.close()
    _damage_tables(path, ("checks",))
    store = Store.open(path)
    try:
        unchanged = CheckResult("s", "unchanged", NOW, 5, 200, regions=A, base_version_id=1)
        with pytest.raises(DatabaseDamaged) as caught:
            record_checks(store, [unchanged], NOBODY)
        assert "database disk image is malformed" in str(caught.value)
        assert str(path) in str(caught.value)
    finally:
        store.close()


def test_processes_opening_one_fresh_database_at_once_all_open_it(tmp_path: Path) -> None:
    """`monitor status` beside a `monitor run` creating the database (or two cron jobs on a
    fresh install): each process found the same steps pending and all but one failed with
    "duplicate column name". Six processes, released at the same instant, three times."""
    opener = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from monitor.store.db import Store\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
        "Store.open(Path(sys.argv[1])).close()\n"
    )
    for attempt in range(3):
        db = tmp_path / f"fresh-{attempt}.db"
        at = time.time() + 1.5  # after every process has started
        openers = [
            subprocess.Popen(
                [sys.executable, "-c", opener, str(db), str(at)],
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(6)
        ]
        errors = [p.communicate(timeout=60)[1] for p in openers]
        assert [p.returncode for p in openers] == [0] * 6, errors
        with sqlite3.connect(db) as conn:
            assert up_to_date(conn)


def test_a_damaged_database_found_while_recording_ends_the_batch_not_one_check(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "database disk image is malformed" is no one check's failure: nothing more can be
    stored, and the caller stops for it (as `monitor run` does), instead of listing it as
    each check's error."""
    store.import_baseline("s", A, NOW)
    malformed = sqlite3.DatabaseError("database disk image is malformed")
    malformed.sqlite_errorcode = 11  # type: ignore[attr-defined]  # SQLITE_CORRUPT

    def damaged(*args: object, **kwargs: object) -> None:
        raise malformed

    monkeypatch.setattr(record, "_insert_check", damaged)
    unchanged = CheckResult("s", "not_modified", NOW, 5, 304, base_version_id=1)
    with pytest.raises(DatabaseDamaged, match="malformed"):
        record_checks(store, [unchanged], NOBODY)


def test_syncing_sources_the_database_holds_already_waits_for_no_other_writer(
    tmp_path: Path, store: Store
) -> None:
    """A pass whose sources are all stored, with their urls, starts checking while another
    process (a running service) holds the write lock: syncing them writes nothing."""
    other = sqlite3.connect(tmp_path / "m.db")
    other.execute("BEGIN IMMEDIATE")
    store.conn.execute("pragma busy_timeout = 50")
    try:
        store.sync_sources([("s", "https://example.org/a")], NOW)  # returns: nothing to write
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            store.sync_sources([("s", "https://example.org/moved")], NOW)
    finally:
        other.rollback()
        other.close()
    store.sync_sources([("s", "https://example.org/moved")], NOW)
    assert store.conn.execute("select url from sources").fetchall() == [
        ("https://example.org/moved",)
    ]


def test_a_store_opened_read_only_refuses_a_pass_at_its_start(tmp_path: Path, store: Store) -> None:
    """Even with every source stored already: the pass fails before it fetches anything,
    not when it first records a check."""
    store.close()
    reader = Store.open(tmp_path / "m.db", read_only=True)
    try:
        with pytest.raises(StoreError, match="may not write"):
            reader.sync_sources([("s", "https://example.org/a")], NOW)
    finally:
        reader.close()


@pytest.mark.parametrize("failing", ["s", "t"])
def test_a_check_that_fails_in_a_batch_stores_every_other(
    store: Store, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    _two_sources(store)
    _change_fails_for(monkeypatch, failing)
    batch = [
        CheckResult(
            sid, "changed", NOW, 5, regions=B, comparison=compare(A, B), base_version_id=version
        )
        for sid, version in (("s", 1), ("t", 2))
    ]
    answers = dict(zip("st", record_checks(store, batch, NOBODY), strict=True))
    assert isinstance(answers[failing], sqlite3.OperationalError)
    stored = "t" if failing == "s" else "s"
    assert answers[stored].outcome == "changed"  # type: ignore[union-attr]
    assert store.conn.execute("select source_id from changes").fetchall() == [(stored,)]
    assert store.conn.execute("select source_id from checks").fetchall() == [(stored,)]
    assert store.state(stored).current.regions == B  # type: ignore[union-attr]
    assert store.state(failing).current.regions == A  # type: ignore[union-attr]


def test_a_full_disk_after_a_check_failed_on_its_own_still_fails_the_whole_batch(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch is recorded again check by check once one check fails on its own; the full
    disk met then is the database's failure, and every check of the batch says so."""
    _two_sources(store)
    _change_fails_for(monkeypatch, "s")
    before = _counts(store)
    answers = record_checks(store, _too_large_for_the_disk(store), NOBODY)
    assert [type(a).__name__ for a in answers] == ["OperationalError", "OperationalError"]
    assert all("full" in str(a) for a in answers)
    assert _counts(store) == before
