"""The service's heartbeat, when each source is next due, the checks in flight, and pruning
of old checks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from weakref import WeakKeyDictionary

from monitor.errors import StoreError
from monitor.store.db import Store
from monitor.store.rows import ServiceRow
from monitor.store.schema import iso, parse_iso

# How often `monitor run` writes its heartbeat; missing three in a row means it is gone.
HEARTBEAT_SECONDS = 5.0
STALE_AFTER = HEARTBEAT_SECONDS * 3
# How long a beat waits for this process's other writes: checks that each wait out the busy
# timeout of a database locked elsewhere would hold it back for minutes, and the service would
# not learn (nor log) that nothing lands.
LOCK_WAIT = HEARTBEAT_SECONDS

# The due times each store last committed: a beat writes only those that moved since, so an
# idle service with 100,000 sources does not rewrite 100,000 rows every five seconds. And those
# given to a beat that failed, written by the next one (the service hands each only once).
_written: WeakKeyDictionary[Store, dict[str, datetime | None]] = WeakKeyDictionary()
_unwritten: WeakKeyDictionary[Store, dict[str, datetime | None]] = WeakKeyDictionary()


@dataclass(frozen=True)
class Running:
    """A check in flight: its source and when it began."""

    source_id: str
    started_at: datetime


@dataclass(frozen=True)
class Workload:
    """What the service's workers were doing at its last heartbeat."""

    workers: int  # checks it runs at once
    check_limit: float  # seconds after which a check still running is stuck
    running: tuple[Running, ...]  # oldest first


def beat(
    store: Store,
    *,
    pid: int,
    host: str,
    started_at: datetime,
    now: datetime,
    config: str,
    next_due: dict[str, datetime | None],
    workload: Workload | None = None,
) -> None:
    """Record that the service is alive, when each source is next due, and the checks in
    flight (`workload`: a few rows' worth of JSON in the same write, never a write per check).

    Raises `StoreError` when the process's other writes hold the database past `LOCK_WAIT`,
    `sqlite3.Error` when SQLite cannot write (locked past its busy timeout, disk full).
    """
    _unwritten.setdefault(store, {}).update(next_due)  # kept until a beat commits them
    if not store.lock.acquire(timeout=LOCK_WAIT):
        raise StoreError(f"the database was busy with other writes for {LOCK_WAIT:g} s")
    try:
        _beat(store, pid, host, started_at, now, config, workload)
    finally:
        store.lock.release()


def _beat(
    store: Store,
    pid: int,
    host: str,
    started_at: datetime,
    now: datetime,
    config: str,
    workload: Workload | None,
) -> None:
    written = _written.setdefault(store, {})
    given = _unwritten.setdefault(store, {})
    moved = {
        source_id: due
        for source_id, due in given.items()
        if source_id not in written or written[source_id] != due
    }
    with store.write() as db:
        db.table("service").upsert(
            {
                "id": 1,
                "pid": pid,
                "host": host,
                "started_at": iso(started_at),
                "heartbeat_at": iso(now),
                "stopped_at": None,
                "config": config,
                "in_flight": _running_json(workload.running) if workload else None,
                "workers": workload.workers if workload else None,
                "check_limit": workload.check_limit if workload else None,
            },
            pk="id",
        )
        db.conn.executemany(
            "update sources set next_due_at = ? where id = ?",
            [(iso(due) if due else None, source_id) for source_id, due in moved.items()],
        )
    # Only once committed: after a failed beat, the next one writes the same rows again.
    written.update(moved)
    given.clear()


def stopped(store: Store, now: datetime) -> None:
    with store.write() as db:
        if db.table("service").count:
            db.table("service").update(1, {"stopped_at": iso(now)})


def service(store: Store) -> ServiceRow | None:
    with store.lock:
        rows = list(store.db.table("service").rows_where("id = 1"))
    if not rows:
        return None
    r = rows[0]
    return ServiceRow(r["pid"], r["host"], r["started_at"], r["heartbeat_at"], r["stopped_at"])


def workload(store: Store) -> Workload | None:
    """The checks in flight at the last heartbeat; None when no running service recorded
    them (none ever ran, or a database opened read-only from before they were recorded)."""
    with store.lock:
        rows = list(store.db.table("service").rows_where("id = 1"))
    if not rows:
        return None
    row = rows[0]
    if row.get("in_flight") is None or not row.get("workers") or row.get("check_limit") is None:
        return None
    running = []
    for item in json.loads(row["in_flight"]):
        started = parse_iso(item.get("started_at"))
        if isinstance(item.get("source"), str) and started is not None:
            running.append(Running(item["source"], started))
    return Workload(int(row["workers"]), float(row["check_limit"]), tuple(running))


def _running_json(running: tuple[Running, ...]) -> str:
    return json.dumps(
        [{"source": r.source_id, "started_at": iso(r.started_at)} for r in running],
        separators=(",", ":"),
    )


def prune_checks(store: Store, older_than: datetime) -> int:
    """Delete checks older than `older_than`; versions and changes are never pruned.

    The latest check of each source is kept whatever its age: it is what `status` shows.
    """
    with store.write() as db:
        cursor = db.execute(
            "delete from checks where started_at < ? and id not in"
            " (select max(id) from checks group by source_id)",
            [iso(older_than)],
        )
        return int(cursor.rowcount)
