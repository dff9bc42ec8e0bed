"""The service's heartbeat, each source's health, and pruning of old checks.

`monitor run` writes a heartbeat row every few seconds; `monitor status` reads it with each
source's last check to answer "is it up, and is anything failing?".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.config.settings import Settings, Source
from monitor.store.db import Store
from monitor.store.schema import iso

HEARTBEAT_SECONDS = 5.0
# Missing this many heartbeats in a row means the service is gone.
STALE_AFTER = HEARTBEAT_SECONDS * 3


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


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
    with store.write():
        store.conn.execute(
            "insert into service (id, pid, host, started_at, heartbeat_at, stopped_at, config)"
            " values (1, ?, ?, ?, ?, null, ?) on conflict(id) do update set pid = excluded.pid,"
            " host = excluded.host, started_at = excluded.started_at,"
            " heartbeat_at = excluded.heartbeat_at, stopped_at = null, config = excluded.config",
            [pid, host, iso(started_at), iso(now), config],
        )
        for source_id, due in next_due.items():
            store.conn.execute(
                "update sources set next_due_at = ? where id = ?",
                [iso(due) if due else None, source_id],
            )


def stopped(store: Store, now: datetime) -> None:
    with store.write():
        store.conn.execute("update service set stopped_at = ? where id = 1", [iso(now)])


def prune_checks(store: Store, older_than: datetime) -> int:
    """Delete checks older than `older_than`; versions and changes are never pruned.

    The latest check of each source is kept whatever its age: it is what `status` shows.
    """
    with store.write():
        cursor = store.conn.execute(
            "delete from checks where started_at < ? and id not in"
            " (select max(id) from checks group by source_id)",
            [iso(older_than)],
        )
        return int(cursor.rowcount)


@dataclass(frozen=True)
class SourceStatus:
    id: str
    schedule: str
    state: str
    last_check_at: str | None
    last_outcome: str | None
    last_error: str | None
    next_due_at: str | None
    consecutive_failures: int
    versions: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Status:
    alive: bool
    pid: int | None
    host: str | None
    started_at: str | None
    heartbeat_at: str | None
    uptime_seconds: int | None
    sources: tuple[SourceStatus, ...]

    @property
    def healthy(self) -> bool:
        """Up, and no source failing: what a health check wants to know."""
        return self.alive and not any(s.state == "failing" for s in self.sources)

    def to_json(self) -> dict[str, Any]:
        return {
            "alive": self.alive,
            "healthy": self.healthy,
            "pid": self.pid,
            "host": self.host,
            "started_at": self.started_at,
            "heartbeat_at": self.heartbeat_at,
            "uptime_seconds": self.uptime_seconds,
            "sources": [s.to_json() for s in self.sources],
        }


def schedule_text(source: Source, default_interval: float) -> str:
    if source.cron:
        return f"cron {source.cron}"
    return "every " + format_seconds(source.interval or default_interval)


def format_seconds(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def status(store: Store, settings: Settings, now: datetime) -> Status:
    with store.lock:
        service = store.conn.execute(
            "select pid, host, started_at, heartbeat_at, stopped_at from service where id = 1"
        ).fetchone()
        rows = {
            row[0]: row
            for row in store.conn.execute(
                "select s.id, s.state, s.last_check_at, s.last_outcome, s.next_due_at,"
                " s.consecutive_failures, (select count(*) from versions v where v.source_id ="
                " s.id), (select error from checks c where c.source_id = s.id order by id desc"
                " limit 1) from sources s"
            ).fetchall()
        }
    alive = False
    pid = host = started = beat_at = None
    uptime = None
    if service is not None:
        pid, host, started, beat_at, stopped_at = service
        last = parse_iso(beat_at)
        alive = (
            stopped_at is None and last is not None and now - last < timedelta(seconds=STALE_AFTER)
        )
        if alive and (begun := parse_iso(started)):
            uptime = int((now - begun).total_seconds())
    sources = []
    for source in settings.sources:
        row = rows.get(source.id)
        _, state, last_at, outcome, due, failures, versions, error = row or (None,) * 8
        sources.append(
            SourceStatus(
                id=source.id,
                schedule=schedule_text(source, settings.monitor.interval),
                state=state or "unchecked",
                last_check_at=last_at,
                last_outcome=outcome,
                last_error=error if outcome == "error" else None,
                next_due_at=due if alive else None,
                consecutive_failures=failures or 0,
                versions=versions or 0,
            )
        )
    return Status(alive, pid, host, started, beat_at, uptime, tuple(sources))
