"""Writing checks: each check's row, and the version, change, event and alerts it implies.

Functions over a `Store`'s connection, run under its lock and inside its write transaction
(`Store.record_check`, `Store.record_many`). A batch is one transaction in which each check is a
savepoint of its own, so one check's failure undoes only that check.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from monitor.detect.compare import Comparison
from monitor.detect.diff import segments_to_json, with_context
from monitor.detect.extract import Regions
from monitor.errors import NotFound
from monitor.store.schema import iso

if TYPE_CHECKING:
    from monitor.store.db import Store


@dataclass(frozen=True)
class CheckRecord:
    """Everything one check writes, handed to `Store.record_check` in one piece."""

    source_id: str
    started_at: datetime
    duration_ms: int
    outcome: str  # new | changed | unchanged | not_modified | error
    status: int | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    url: str | None = None
    regions: Regions | None = None
    comparison: Comparison | None = None
    recipients: Sequence[str] = ()
    failing_after: int = 3


@dataclass(frozen=True)
class Recorded:
    check_id: int | None  # None for checks written in bulk
    version_id: int | None
    change_id: int | None
    revert_to: int | None
    event: str | None = None  # "failing" or "recovered" when the source's health turned


def insert_version(
    conn: sqlite3.Connection, source_id: str, regions: Regions, at: datetime, origin: str
) -> int:
    cursor = conn.execute(
        "insert into versions (source_id, fingerprint, access, teaser, paywall, description,"
        " first_seen, last_seen, origin) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            source_id,
            regions.fingerprint,
            regions.access,
            regions.teaser,
            regions.paywall,
            regions.description,
            iso(at),
            iso(at),
            origin,
        ],
    )
    return cast(int, cursor.lastrowid)


def record_many(store: Store, records: Sequence[CheckRecord]) -> list[Recorded | sqlite3.Error]:
    """Write several checks in one transaction; each is all or nothing on its own.

    The common cases, a healthy source found unchanged or not modified, or checked for the
    first time, write no change and no alert: those are written in bulk. Every other check
    goes through `record_check` in a savepoint of its own.
    """
    results: list[Recorded | sqlite3.Error] = []
    conn = store.conn
    with store.write():
        ids = [r.source_id for r in records]
        marks = ",".join("?" * len(ids))
        state = {
            row[0]: row[1:]
            for row in conn.execute(
                f"select id, state, current_version_id from sources where id in ({marks})", ids
            ).fetchall()
        }
        quiet = [
            r
            for r in records
            if r.outcome in ("unchanged", "not_modified")
            and state.get(r.source_id, ("", None))[0] == "healthy"
            and state[r.source_id][1] is not None
        ]
        first = [
            r
            for r in records
            if r.outcome == "new"
            and r.regions is not None
            and state.get(r.source_id, ("", 0)) == ("healthy", None)
        ]
        _record_quiet(conn, quiet, state)
        versions = {r.source_id: state[r.source_id][1] for r in quiet}
        versions.update(_record_first(conn, first))
        done = {id(r) for r in quiet} | {id(r) for r in first}
        for record in records:
            if id(record) in done:
                results.append(Recorded(None, versions[record.source_id], None, None))
                continue
            try:
                results.append(record_check(store, record))
            except sqlite3.Error as exc:
                results.append(exc)
    return results


def _record_quiet(
    conn: sqlite3.Connection, records: Sequence[CheckRecord], state: dict[str, Any]
) -> None:
    if not records:
        return
    _insert_checks(conn, records, {r.source_id: state[r.source_id][1] for r in records})
    conn.executemany(
        "update sources set last_check_at = ?, last_outcome = ?, consecutive_failures = 0,"
        " title = coalesce(nullif(?, ''), title),"
        " etag = case when ? then etag else ? end,"
        " last_modified = case when ? then last_modified else ? end where id = ?",
        [
            (
                iso(r.started_at),
                r.outcome,
                r.regions.title if r.regions else None,
                r.outcome == "not_modified",
                r.etag,
                r.outcome == "not_modified",
                r.last_modified,
                r.source_id,
            )
            for r in records
        ],
    )
    conn.executemany(
        "update versions set last_seen = ? where id = ?",
        [(iso(r.started_at), state[r.source_id][1]) for r in records],
    )


def _insert_checks(
    conn: sqlite3.Connection, records: Sequence[CheckRecord], versions: dict[str, int]
) -> None:
    """Check rows in bulk, each pointing at the version it found (`versions` by source)."""
    conn.executemany(
        "insert into checks (source_id, started_at, duration_ms, outcome, status, etag,"
        " last_modified, url, version_id) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            # a 304 repeats the validators the source row already holds: not stored again
            (
                r.source_id,
                iso(r.started_at),
                r.duration_ms,
                r.outcome,
                r.status,
                None if r.outcome == "not_modified" else r.etag,
                None if r.outcome == "not_modified" else r.last_modified,
                r.url,
                versions[r.source_id],
            )
            for r in records
        ],
    )


def _record_first(conn: sqlite3.Connection, records: Sequence[CheckRecord]) -> dict[str, int]:
    """First checks of healthy sources with no version yet: a version each, in bulk."""
    versions: dict[str, int] = {}
    for r in records:
        assert r.regions is not None
        versions[r.source_id] = insert_version(conn, r.source_id, r.regions, r.started_at, "check")
    _insert_checks(conn, records, versions)
    conn.executemany(
        "update sources set current_version_id = ?, last_check_at = ?, last_outcome = ?,"
        " consecutive_failures = 0, etag = ?, last_modified = ?,"
        " title = coalesce(nullif(?, ''), title) where id = ?",
        [
            (
                versions[r.source_id],
                iso(r.started_at),
                r.outcome,
                r.etag,
                r.last_modified,
                r.regions.title if r.regions else None,
                r.source_id,
            )
            for r in records
        ],
    )
    return versions


def record_check(store: Store, record: CheckRecord) -> Recorded:
    """Write one check, and the version, change and alerts it implies, atomically."""
    now = iso(record.started_at)
    conn = store.conn
    with store.write():
        state = _one(conn, "select * from sources where id = ?", [record.source_id])
        if state is None:
            raise NotFound(f"source {record.source_id!r} is not in the database")
        current_id: int | None = state["current_version_id"]
        version_id, change_id, revert_to = current_id, None, None
        if record.outcome in ("new", "changed") and record.regions is not None:
            found = _one(
                conn,
                "select id from versions where source_id = ? and fingerprint = ?",
                [record.source_id, record.regions.fingerprint],
            )
            if found:
                version_id = found["id"]
                revert_to = version_id if record.outcome == "changed" else None
            else:
                version_id = insert_version(
                    conn, record.source_id, record.regions, record.started_at, "check"
                )
            if record.outcome == "changed" and record.comparison is not None:
                change_id = _insert_change(conn, record, now, current_id, version_id, revert_to)
        if version_id is not None and record.outcome != "error":
            conn.execute("update versions set last_seen = ? where id = ?", [now, version_id])
        failed = record.outcome == "error"
        cursor = conn.execute(
            "insert into checks (source_id, started_at, duration_ms, outcome, status, error,"
            " etag, last_modified, url, version_id, change_id)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                record.source_id,
                now,
                record.duration_ms,
                record.outcome,
                record.status,
                record.error,
                record.etag,
                record.last_modified,
                record.url,
                None if failed else version_id,
                change_id,
            ],
        )
        conn.execute(
            "update sources set current_version_id = ?, last_check_at = ?, last_outcome = ?,"
            " consecutive_failures = case when ? then consecutive_failures + 1 else 0 end,"
            " etag = case when ? then etag else ? end,"
            " last_modified = case when ? then last_modified else ? end where id = ?",
            [
                version_id,
                now,
                record.outcome,
                failed,
                failed or record.outcome == "not_modified",
                record.etag,
                failed or record.outcome == "not_modified",
                record.last_modified,
                record.source_id,
            ],
        )
        if record.regions is not None and record.regions.title:
            conn.execute(
                "update sources set title = ? where id = ?",
                [record.regions.title, record.source_id],
            )
        event = _transition(conn, record, state, now)
        return Recorded(cast(int, cursor.lastrowid), version_id, change_id, revert_to, event)


def _transition(
    conn: sqlite3.Connection, record: CheckRecord, before: dict[str, Any], now: str
) -> str | None:
    """Mark a source failing after `failing_after` failed checks in a row, healthy again on
    the next good one; each transition is an event, with one alert per recipient."""
    failed = record.outcome == "error"
    failures = (before["consecutive_failures"] or 0) + 1 if failed else 0
    state = before["state"] or "healthy"
    if failed and state == "healthy" and failures >= record.failing_after:
        kind, detail, new_state = "failing", record.error, "failing"
    elif not failed and state == "failing":
        kind, detail, new_state = "recovered", record.outcome, "healthy"
    else:
        return None
    conn.execute("update sources set state = ? where id = ?", [new_state, record.source_id])
    cursor = conn.execute(
        "insert into events (source_id, at, kind, detail) values (?, ?, ?, ?)",
        [record.source_id, now, kind, detail],
    )
    for recipient in dict.fromkeys(record.recipients):
        conn.execute(
            "insert into alerts (event_id, source_id, event, recipient, status, tries,"
            " next_attempt_at, created_at) values (?, ?, ?, ?, 'pending', 0, ?, ?)",
            [cursor.lastrowid, record.source_id, kind, recipient, now, now],
        )
    return kind


def _insert_change(
    conn: sqlite3.Connection,
    record: CheckRecord,
    now: str,
    from_id: int | None,
    to_id: int | None,
    revert_to: int | None,
) -> int:
    comparison = record.comparison
    assert comparison is not None
    diff = {
        name: segments_to_json(with_context(region.segments))
        for name, region in comparison.regions.items()
        if region.changed
    }
    cursor = conn.execute(
        "insert into changes (source_id, detected_at, from_version_id, to_version_id, kinds,"
        " access_before, access_after, diff, revert_to, reviewed)"
        " values (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
        [
            record.source_id,
            now,
            from_id,
            to_id,
            json.dumps(list(comparison.kinds)),
            comparison.access_before,
            comparison.access_after,
            json.dumps(diff),
            revert_to,
        ],
    )
    change_id = cast(int, cursor.lastrowid)
    for recipient in dict.fromkeys(record.recipients):
        conn.execute(
            "insert into alerts (change_id, source_id, event, recipient, status, tries,"
            " next_attempt_at, created_at) values (?, ?, 'change', ?, 'pending', 0, ?, ?)",
            [change_id, record.source_id, recipient, now, now],
        )
    return change_id


def _one(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> dict[str, Any] | None:
    cursor = conn.execute(sql, params)
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([c[0] for c in cursor.description], row, strict=True))
