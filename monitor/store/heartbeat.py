"""The service's heartbeat, when each source is next due, and pruning of old checks."""

from __future__ import annotations

from datetime import datetime

from monitor.store.db import Store
from monitor.store.rows import ServiceRow
from monitor.store.schema import iso

# How often `monitor run` writes its heartbeat; missing three in a row means it is gone.
HEARTBEAT_SECONDS = 5.0
STALE_AFTER = HEARTBEAT_SECONDS * 3


def beat(
    store: Store,
    *,
    pid: int,
    host: str,
    started_at: datetime,
    now: datetime,
    config: str,
    next_due: dict[str, datetime | None],
) -> None:
    """Record that the service is alive, and when each source is next due."""
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
            },
            pk="id",
        )
        db.conn.executemany(
            "update sources set next_due_at = ? where id = ?",
            [(iso(due) if due else None, source_id) for source_id, due in next_due.items()],
        )


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
