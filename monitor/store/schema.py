"""The database schema, as sqlite-utils migrations: append new steps, never edit applied ones."""

from __future__ import annotations

import functools
import secrets
import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from monitor.errors import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlite_utils import Database

MIGRATION_SET = "monitor"


# A pass writes its start time with each of its checks, three times a check.
@functools.lru_cache(maxsize=64)
def iso(moment: datetime) -> str:
    """How every time is stored: UTC, to the second, sortable as text: 2026-11-23T02:45:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def m001_initial(db: Database) -> None:
    db.table("sources").create(
        {
            "id": str,
            "url": str,
            "created_at": str,
            "current_version_id": int,
            "last_check_at": str,
            "last_outcome": str,
            "consecutive_failures": int,
            "etag": str,
            "last_modified": str,
        },
        pk="id",
        defaults={"consecutive_failures": 0},
    )
    db.table("versions").create(
        {
            "id": int,
            "source_id": str,
            "fingerprint": str,
            "access": str,
            "teaser": str,
            "paywall": str,
            "description": str,
            "first_seen": str,
            "last_seen": str,
            "origin": str,
        },
        pk="id",
        foreign_keys=[("source_id", "sources", "id")],
    )
    db.table("versions").create_index(["source_id", "fingerprint"], unique=True)
    db.table("changes").create(
        {
            "id": int,
            "source_id": str,
            "detected_at": str,
            "from_version_id": int,
            "to_version_id": int,
            "kinds": str,
            "access_before": str,
            "access_after": str,
            "diff": str,
            "revert_to": int,
            "reviewed": int,
            "reviewed_at": str,
        },
        pk="id",
        defaults={"reviewed": 0},
        foreign_keys=[
            ("source_id", "sources", "id"),
            ("from_version_id", "versions", "id"),
            ("to_version_id", "versions", "id"),
        ],
    )
    db.table("changes").create_index(["source_id", "detected_at"])
    db.table("changes").create_index(["detected_at"])
    db.table("checks").create(
        {
            "id": int,
            "source_id": str,
            "started_at": str,
            "duration_ms": int,
            "outcome": str,
            "status": int,
            "error": str,
            "etag": str,
            "last_modified": str,
            "url": str,
            "version_id": int,
            "change_id": int,
        },
        pk="id",
        foreign_keys=[("source_id", "sources", "id")],
    )
    db.table("checks").create_index(["source_id", "started_at"])
    db.table("alerts").create(
        {
            "id": int,
            "change_id": int,
            "source_id": str,
            "event": str,
            "recipient": str,
            "status": str,
            "tries": int,
            "last_error": str,
            "next_attempt_at": str,
            "created_at": str,
            "sent_at": str,
            "message_id": str,
        },
        pk="id",
        defaults={"status": "pending", "tries": 0},
        foreign_keys=[("change_id", "changes", "id"), ("source_id", "sources", "id")],
    )
    db.table("alerts").create_index(["status", "next_attempt_at"])


def m002_service(db: Database) -> None:
    sources = db.table("sources")
    sources.add_column("state", str, not_null_default="healthy")
    sources.add_column("next_due_at", str)
    db.table("events").create(
        {"id": int, "source_id": str, "at": str, "kind": str, "detail": str},
        pk="id",
        foreign_keys=[("source_id", "sources", "id")],
    )
    db.table("events").create_index(["source_id", "at"])
    db.table("service").create(
        {
            "id": int,
            "pid": int,
            "host": str,
            "started_at": str,
            "heartbeat_at": str,
            "stopped_at": str,
            "config": str,
        },
        pk="id",
    )
    db.table("alerts").add_column("event_id", int)


def m003_alerts(db: Database) -> None:
    db.table("sources").add_column("title", str)
    db.table("alerts").add_column("attempted_at", str)
    db.table("alerts").create_index(["recipient", "status"])


def m004_discovery(db: Database) -> None:
    # Every alert so far went by email; a `[[notify]]` target's rows carry "notify".
    db.table("alerts").add_column("channel", str, not_null_default="email")
    db.table("discovered").create(
        {
            "source_id": str,
            "discovery_id": str,
            "url": str,
            "title": str,
            "published_at": str,
            "discovered_at": str,
            "retired_at": str,
            "retired_reason": str,
        },
        pk="source_id",
        foreign_keys=[("source_id", "sources", "id")],
    )
    db.table("discovered").create_index(["discovery_id", "retired_at"])
    db.table("discovered").create_index(["url"])


def m005_scale_indexes(db: Database) -> None:
    # A source's latest checks by id: `status` reads each source's last error, the web UI its
    # recent checks, and pruning keeps each source's newest; (source_id, started_at) made each
    # of those sort every check of the source.
    db.table("checks").create_index(["source_id", "id"])
    # `status` counts the failing sources among all of them without reading every row.
    db.table("sources").create_index(["state"])


def m006_canonical_url(db: Database) -> None:
    # A configured source with a discovered one's URL wins. Comparing every discovered URL in
    # its canonical form at each read cost 0.6 s at 100,000 sources: store it once, when found.
    from monitor.store.discovered import canonical

    db.table("discovered").add_column("canonical_url", str)
    rows = db.execute("select source_id, url from discovered").fetchall()
    db.conn.executemany(
        "update discovered set canonical_url = ? where source_id = ?",
        [(canonical(url), source_id) for source_id, url in rows],
    )
    db.table("discovered").create_index(["canonical_url"])


def m007_rules_changed(db: Database) -> None:
    # 0.2 reads pages differently (issue 13): the stored versions were made by the old rules,
    # and comparing a page read by the new ones with them would report the difference in
    # reading as an edit. Each source's next read is taken as its new reference instead
    # (`record._record`). A later release that changes extraction again adds a step like it.
    db.table("sources").add_column("rules_changed", int, not_null_default=0)
    db.execute("update sources set rules_changed = 1 where current_version_id is not null")


def m008_in_flight(db: Database) -> None:
    # The heartbeat also says which checks are running and since when, so that `status` can
    # tell a check stuck in flight from one never started; with the service's own worker count
    # and per-check limit, so that readers without its config (the web UI) judge alike.
    # Written with the heartbeat, never per check. Each column only if missing: re-running the
    # step on a database that has them changes nothing.
    service = db.table("service")
    for name, kind in (("in_flight", str), ("workers", int), ("check_limit", float)):
        if name not in service.columns_dict:
            service.add_column(name, kind)


def m009_database_id(db: Database) -> None:
    # A name of this database that no other has: alerts of two databases can share their id,
    # second, recipient and change number (two watch folders checked by the same cron line),
    # and a Message-ID made of those alone would be the same for both, so a reader that drops
    # a duplicate would lose the other's alert (`Sender.message_id`).
    db.execute("create table if not exists meta (key text primary key, value text not null)")
    db.execute(
        "insert or ignore into meta (key, value) values ('database_id', ?)",
        [secrets.token_hex(16)],
    )


def m010_digest(db: Database) -> None:
    # The digest of what the source's current version was read from (`Regions.digest`), and
    # which version that was: a check whose page has the same digest reads as that version
    # without its text being read again. Kept beside the version it belongs to, so that
    # anything that moves `current_version_id` leaves it unused rather than wrong.
    sources = db.table("sources")
    for name, kind in (("digest", str), ("digest_version_id", int)):
        if name not in sources.columns_dict:
            sources.add_column(name, kind)


def m011_reading(db: Database) -> None:
    # The key of the reading that made each source's current version (`detect.reading`): a
    # check whose reading differs (an upgrade, the source's rules edited) takes the page as
    # read now for its reference instead of reporting the difference as an edit. Empty for
    # every version stored before: each source's next full reading becomes its reference,
    # which also ends what m007's flag left waiting behind the validators of a 304.
    if "reading" not in db.table("sources").columns_dict:
        db.table("sources").add_column("reading", str)


def m012_passed_over(db: Database) -> None:
    # The entries a discovery listed but did not watch (over `max_sources`): an undated one is
    # then told from an article first listed later, which a cap full of older ones makes room
    # for, as "the newest, else by when found" says.
    db.table("passed_over").create(
        {"discovery_id": str, "canonical_url": str, "seen_at": str},
        pk=("discovery_id", "canonical_url"),
        if_not_exists=True,
    )


def m013_discovery_runs(db: Database) -> None:
    # How each discovery's last reading went: a feed that fails (a 404, a page that is no feed)
    # was only logged, and `monitor status` said all was well.
    db.table("discovery_runs").create(
        {
            "discovery_id": str,
            "last_run_at": str,
            "last_error": str,
            "failing_since": str,
            "failures": int,  # readings that failed in a row
            "last_ok_at": str,  # the last that succeeded: none yet, the next is the baseline
        },
        pk="discovery_id",
        if_not_exists=True,
    )


def m014_canonical_tracking(db: Database) -> None:
    # `canonical` now leaves out campaign parameters and decodes escaped letters: the stored
    # forms (m006) are made anew, so that a configured source still wins over a discovered
    # copy of its URL.
    from monitor.store.discovered import canonical

    rows = db.execute("select source_id, url from discovered").fetchall()
    db.conn.executemany(
        "update discovered set canonical_url = ? where source_id = ?",
        [(canonical(url), source_id) for source_id, url in rows],
    )


def m015_public_only(db: Database) -> None:
    # Whether the feed that found an article was on the public internet: the article's page
    # may then not be fetched from a private address at any later check (a name rebound to
    # 127.0.0.1 after it was found). Unknown for the articles found before: not enforced.
    discovered = db.table("discovered")
    if "public_only" not in discovered.columns_dict:
        discovered.add_column("public_only", int, not_null_default=0)


STEPS: tuple[Callable[[Database], None], ...] = (
    m001_initial,
    m002_service,
    m003_alerts,
    m004_discovery,
    m005_scale_indexes,
    m006_canonical_url,
    m007_rules_changed,
    m008_in_flight,
    m009_database_id,
    m010_digest,
    m011_reading,
    m012_passed_over,
    m013_discovery_runs,
    m014_canonical_tracking,
    m015_public_only,
)


def applied(conn: sqlite3.Connection) -> set[str]:
    """The names of the steps applied to this database (none for a new one)."""
    try:
        rows = conn.execute(
            "select name from _sqlite_migrations where migration_set = ?", [MIGRATION_SET]
        ).fetchall()
    except sqlite3.OperationalError:  # no migrations table: a new database
        return set()
    return {row[0] for row in rows}


def up_to_date(conn: sqlite3.Connection) -> bool:
    """Whether every step has been applied."""
    return not pending(conn)


def pending(conn: sqlite3.Connection) -> list[str]:
    """The names of the steps this database still lacks, in order."""
    done = applied(conn)
    return [step.__name__ for step in STEPS if step.__name__ not in done]


def check_version(db: Database) -> None:
    """Refuse a database that a newer `monitor` has upgraded: its steps are unknown here, and
    writing to it with this version's idea of the schema could damage it."""
    unknown = applied(db.conn) - {step.__name__ for step in STEPS}
    if unknown:
        raise StoreError(
            "this database was written by a newer monitor (schema steps "
            f"{', '.join(sorted(unknown))} are unknown here): upgrade monitor, or use another one"
        )


def migrate(db: Database) -> None:
    """Apply the steps that are pending, in one transaction that holds the write lock.

    Two processes may open a fresh database at once (`monitor status` beside a `monitor run`
    that is creating it): each would find the same steps pending and the second would apply
    one again ("duplicate column name"). The lock makes the second wait (the busy timeout),
    then find them applied."""
    check_version(db)
    if up_to_date(db.conn):
        return
    from sqlite_utils import Migrations

    migrations = Migrations(MIGRATION_SET)
    for step in STEPS:
        migrations()(step)
    db.execute("BEGIN IMMEDIATE")
    try:
        check_version(db)
        if not up_to_date(db.conn):
            migrations.apply(db)  # each step a savepoint of this transaction
        db.execute("COMMIT")
    except BaseException:
        db.conn.rollback()
        raise
