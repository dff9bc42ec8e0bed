"""Recording checks: each check's row, and the version, change, event and alerts it implies.

One path for every outcome. A batch is one transaction in which each check is a savepoint of its
own, so one check's failure undoes only that check; if SQLite itself rolled the whole
transaction back (a full disk, an I/O error), nothing of the batch is stored and every check of
it says so.

Two writers (a `monitor check` beside `monitor run`, two overlapping cron jobs) are safe: the
transaction holds SQLite's write lock from its start, and a check whose page was compared with
a version that is no longer the current one is not recorded as a change from it. Found equal
to the current version, it is unchanged; found different, it comes back as `Stale`, to be
compared again with the current version and recorded then.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from sqlite_utils import Database

from monitor.detect.diff import segments_to_json, with_context
from monitor.detect.regions import Regions
from monitor.errors import NotFound
from monitor.store.db import Store, damage
from monitor.store.rows import CheckResult, StoredVersion
from monitor.store.schema import iso


@dataclass(frozen=True)
class Stale:
    """The check's page differs from a version that another writer stored meanwhile."""

    result: CheckResult
    current: StoredVersion


@dataclass(frozen=True)
class Recipients:
    """Who hears of a source's changes and health, and after how many failures."""

    by_source: Mapping[str, Sequence[str]]
    failing_after: int = 3
    # The `[[notify]]` targets of each source: (target id, kinds it takes; empty: all).
    notify: Mapping[str, Sequence[tuple[str, frozenset[str]]]] = field(default_factory=dict)


class _BatchLost(Exception):
    """SQLite rolled the whole transaction back: nothing of the batch was stored."""


def insert_version(
    db: Database, source_id: str, regions: Regions, at: datetime, origin: str
) -> int:
    return _insert(
        db,
        "versions",
        {
            "source_id": source_id,
            "fingerprint": regions.fingerprint,
            "access": regions.access,
            "teaser": regions.teaser,
            "paywall": regions.paywall,
            "description": regions.description,
            "first_seen": iso(at),
            "last_seen": iso(at),
            "origin": origin,
        },
    )


def version_of(db: Database, source_id: str, fingerprint: str) -> int | None:
    """The id of the source's stored version with this fingerprint, if there is one."""
    row = db.execute(
        "select id from versions where source_id = ? and fingerprint = ?", [source_id, fingerprint]
    ).fetchone()
    return None if row is None else int(row[0])


def record_checks(
    store: Store, results: Sequence[CheckResult], recipients: Recipients
) -> list[CheckResult | Stale | sqlite3.Error]:
    """Write checks in one transaction, each all or nothing on its own.

    Each item of the answer is the recorded result (with its change, revert and event), a
    `Stale` to compare again, or the error that kept that check from being stored.
    """
    try:
        with store.write() as db:
            try:
                # All the batch's checks first under one savepoint, which costs less than one
                # each; should any fail, each again under its own, to store all the others.
                with db.atomic():
                    recorded: list[CheckResult | Stale | sqlite3.Error] = [
                        _record(db, result, recipients) for result in results
                    ]
                    return recorded
            except sqlite3.Error as exc:
                _fail_batch(exc, db, store)
            out: list[CheckResult | Stale | sqlite3.Error] = []
            for result in results:
                try:
                    with db.atomic():
                        out.append(_record(db, result, recipients))
                except sqlite3.Error as exc:
                    _fail_batch(exc, db, store)
                    out.append(exc)
    except _BatchLost as lost:
        cause = lost.__cause__
        error = cause if isinstance(cause, sqlite3.Error) else sqlite3.Error(str(lost))
        return [error] * len(results)
    return out


def _fail_batch(exc: sqlite3.Error, db: Database, store: Store) -> None:
    """Raise if `exc`, met recording a check, is the database's failure, not the check's:
    a damaged database, or a transaction SQLite rolled back whole (`_BatchLost`)."""
    if damage(exc, store.lock.path) is not None:
        raise exc  # not this check's failure: nothing more can be stored
    if not db.conn.in_transaction:
        raise _BatchLost(exc) from exc


def _record(db: Database, result: CheckResult, recipients: Recipients) -> CheckResult | Stale:
    # Not `Table.rows_where`: its look-ups of the schema (is "sources" a view?) cost more
    # than the read itself, once per check.
    cursor = db.execute("select * from sources where id = ?", [result.source_id])
    row = cursor.fetchone()
    if row is None:
        raise NotFound(f"source {result.source_id!r} is not in the database")
    source = dict(zip((c[0] for c in cursor.description), row, strict=True))
    now = iso(result.started_at)
    current_id: int | None = source["current_version_id"]
    failed = result.outcome == "error"
    base_id = result.base_version_id
    as_base = result.digest is not None or result.outcome == "not_modified"
    if as_base and result.regions is None and base_id not in (None, current_id):
        # Read as the version the check began with (by its digest, or a 304 answering that
        # version's validators), which another writer has replaced since: that version's text
        # is what the page shows, compared below as any reading is. Versions are never
        # deleted.
        base = db.table("versions").get(base_id)
        result = replace(result, regions=StoredVersion.from_row(base).regions)
    if not failed and result.regions is not None and current_id != result.base_version_id:
        # Another writer stored a version after this check read its base.
        current = (
            StoredVersion.from_row(db.table("versions").get(current_id)) if current_id else None
        )
        if current is not None and current.fingerprint != result.regions.fingerprint:
            if current.last_seen >= now:
                # A check that began no earlier than this one read the page as `current`:
                # this reading is the older one (a response that was slow to arrive), not an
                # edit. Recorded as a change, it would alert a revert the page never made, and
                # the next check the edit again. In the same second the order is unknown: an
                # edit taken for the older reading is read by the next check, while an old
                # reading taken for an edit is two false alerts.
                return _superseded(db, result, now, current)
            return Stale(result, current)
        if current is not None:
            result = replace(result, outcome="unchanged", comparison=None)
    if result.outcome == "changed" and (source["rules_changed"] or _read_otherwise(result, source)):
        # The stored version was read by other code or rules (an upgrade, the source's rules
        # edited: `detect.reading`; `schema.m007_rules_changed`) or from the source's former
        # url (`Store.sync_sources`): the difference may be in the reading or the address,
        # not the page. The page as read now becomes the reference, with no change and no
        # alert.
        result = replace(result, outcome="rebaselined", comparison=None)
    version_id, change_id, revert_to = current_id, None, None
    inserted = False  # a version made now was written with `last_seen` already
    if result.outcome in ("new", "changed", "rebaselined") and result.regions is not None:
        found = version_of(db, result.source_id, result.regions.fingerprint)
        if found is not None:
            version_id = found
            revert_to = version_id if result.outcome == "changed" else None
        else:
            version_id = insert_version(
                db, result.source_id, result.regions, result.started_at, "check"
            )
            inserted = True
        if result.outcome == "changed" and result.comparison is not None:
            change_id = _insert_change(
                db, result, now, current_id, version_id, revert_to, recipients
            )
    if version_id is not None and not failed and not inserted:
        db.execute("update versions set last_seen = ? where id = ?", [now, version_id])
    keep_validators = failed or result.outcome == "not_modified"
    # a 304 repeats the validators the source row already holds
    _insert_check(
        db,
        result,
        now,
        validators=not keep_validators,
        version_id=None if failed else version_id,
        change_id=change_id,
    )
    updates: dict[str, Any] = {
        "current_version_id": version_id,
        "last_check_at": now,
        "last_outcome": result.outcome,
        "consecutive_failures": (source["consecutive_failures"] or 0) + 1 if failed else 0,
    }
    if not keep_validators:
        updates.update(etag=result.etag, last_modified=result.last_modified)
    if result.regions is not None and result.regions.title:
        updates["title"] = result.regions.title
    if result.regions is not None and not failed:
        updates["rules_changed"] = 0  # read by this version's rules from now on
        if result.reading is not None:
            updates["reading"] = result.reading
        # what the current version was read from, for the next check (`schema.m010_digest`)
        updates["digest"] = result.regions.digest
        updates["digest_version_id"] = version_id
    event = _transition(db, result, source, now, recipients, updates)
    _update_source(db, result.source_id, updates)
    return replace(result, change_id=change_id, revert_to=revert_to, event=event)


def _read_otherwise(result: CheckResult, source: Mapping[str, Any]) -> bool:
    """Whether the source's current version was read otherwise than this check read the page
    (a result that does not say how it was read is taken as read alike)."""
    return result.reading is not None and source["reading"] != result.reading


def _superseded(db: Database, result: CheckResult, now: str, current: StoredVersion) -> CheckResult:
    """A check whose reading is older than the version another writer stored meanwhile: its
    row only. The source keeps the newer check's version, validators and state."""
    error = (
        f"this check's reading is older than version #{current.id}, which another check "
        f"read at {current.last_seen}: not a change"
    )
    result = replace(result, outcome="superseded", error=error, comparison=None, regions=None)
    _insert_check(db, result, now, validators=False)
    return result


def _insert_check(
    db: Database,
    result: CheckResult,
    now: str,
    *,
    validators: bool,
    version_id: int | None = None,
    change_id: int | None = None,
) -> None:
    """The check's own row: `validators`, whether it keeps the response's ETag and
    Last-Modified."""
    _insert(
        db,
        "checks",
        {
            "source_id": result.source_id,
            "started_at": now,
            "duration_ms": result.duration_ms,
            "outcome": result.outcome,
            "status": result.status,
            "error": result.error,
            "etag": result.etag if validators else None,
            "last_modified": result.last_modified if validators else None,
            "url": result.url,
            "version_id": version_id,
            "change_id": change_id,
        },
    )


def _insert(db: Database, table: str, values: dict[str, Any]) -> int:
    """`Table.insert` of a row without its per-call look-ups (whether the table exists, its
    columns, the row's conversions: 25 µs against 3 for the write, once per check, version,
    change and alert); its id. The names are this module's own, the values plain."""
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    cursor = db.execute(f"insert into {table} ({names}) values ({marks})", list(values.values()))
    return cast(int, cursor.lastrowid)


def _update_source(db: Database, source_id: str, values: dict[str, Any]) -> None:
    """`Table.update` without its per-call look-ups (primary keys, columns, the row read back):
    once per check, they cost more than the write itself. The names are this module's own."""
    assignments = ", ".join(f"{name} = ?" for name in values)
    db.execute(f"update sources set {assignments} where id = ?", [*values.values(), source_id])


def _transition(
    db: Database,
    result: CheckResult,
    before: dict[str, Any],
    now: str,
    recipients: Recipients,
    updates: dict[str, Any],
) -> str | None:
    """Mark a source failing after `failing_after` failed checks in a row, healthy again on
    the next good one; each transition is an event, with one alert per recipient."""
    failed = result.outcome == "error"
    state = before["state"] or "healthy"
    if (
        failed
        and state == "healthy"
        and updates["consecutive_failures"] >= recipients.failing_after
    ):
        kind, detail, new_state = "failing", result.error, "failing"
    elif not failed and state == "failing":
        kind, detail, new_state = "recovered", result.outcome, "healthy"
    else:
        return None
    updates["state"] = new_state
    event_id = _insert(
        db, "events", {"source_id": result.source_id, "at": now, "kind": kind, "detail": detail}
    )
    _queue_alerts(db, result.source_id, now, recipients, event=kind, event_id=event_id)
    return kind


def _insert_change(
    db: Database,
    result: CheckResult,
    now: str,
    from_id: int | None,
    to_id: int | None,
    revert_to: int | None,
    recipients: Recipients,
) -> int:
    comparison = result.comparison
    assert comparison is not None
    diff = {
        name: segments_to_json(with_context(region.segments))
        for name, region in comparison.regions.items()
        if region.changed
    }
    change_id = _insert(
        db,
        "changes",
        {
            "source_id": result.source_id,
            "detected_at": now,
            "from_version_id": from_id,
            "to_version_id": to_id,
            "kinds": json.dumps(list(comparison.kinds)),
            "access_before": comparison.access_before,
            "access_after": comparison.access_after,
            "diff": json.dumps(diff),
            "revert_to": revert_to,
            "reviewed": 0,
        },
    )
    _queue_alerts(
        db,
        result.source_id,
        now,
        recipients,
        event="change",
        change_id=change_id,
        kinds=comparison.kinds,
    )
    return change_id


def _queue_alerts(
    db: Database,
    source_id: str,
    now: str,
    recipients: Recipients,
    *,
    event: str,
    change_id: int | None = None,
    event_id: int | None = None,
    kinds: Sequence[str] = (),
) -> None:
    """One pending alert per recipient and per notify target that takes this kind, in the
    transaction of what it announces."""
    wanted = {event, *kinds}
    channels = [("email", name) for name in dict.fromkeys(recipients.by_source.get(source_id, ()))]
    channels += [
        ("notify", target)
        for target, takes in recipients.notify.get(source_id, ())
        if not takes or takes & wanted
    ]
    for channel, name in channels:
        _insert(
            db,
            "alerts",
            {
                "change_id": change_id,
                "event_id": event_id,
                "source_id": source_id,
                "event": event,
                "channel": channel,
                "recipient": name,
                "status": "pending",
                "tries": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
        )
