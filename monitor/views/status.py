"""What `monitor status` shows: is the service up, and is anything failing?

`monitor run` writes a heartbeat row every few seconds (`store.heartbeat`); this reads it with
each source's last check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.config.settings import Settings, Source
from monitor.store import heartbeat
from monitor.store.db import Store
from monitor.store.heartbeat import STALE_AFTER
from monitor.store.schema import parse_iso


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
    service = heartbeat.service(store)
    rows = {row.id: row for row in store.source_rows()}
    alive = False
    pid = host = started = beat_at = None
    uptime = None
    if service is not None:
        pid, host, started, beat_at = (
            service.pid,
            service.host,
            service.started_at,
            service.heartbeat_at,
        )
        last = parse_iso(beat_at)
        alive = (
            service.stopped_at is None
            and last is not None
            and now - last < timedelta(seconds=STALE_AFTER)
        )
        if alive and (begun := parse_iso(started)):
            uptime = int((now - begun).total_seconds())
    sources = []
    for source in settings.sources:
        row = rows.get(source.id)
        sources.append(
            SourceStatus(
                id=source.id,
                schedule=schedule_text(source, settings.monitor.interval),
                state=row.state if row else "unchecked",
                last_check_at=row.last_check_at if row else None,
                last_outcome=row.last_outcome if row else None,
                last_error=row.last_error if row else None,
                next_due_at=row.next_due_at if row and alive else None,
                consecutive_failures=row.consecutive_failures if row else 0,
                versions=row.versions if row else 0,
            )
        )
    return Status(alive, pid, host, started, beat_at, uptime, tuple(sources))
