"""What `monitor status` shows: is the service up, is anything failing, stuck or overdue?

`monitor run` writes a heartbeat row every few seconds (`store.heartbeat`), with the checks in
flight and when each began; this reads it with each source's last check. A check is **stuck**
when, at the last heartbeat, it had run longer than the longest a check may take plus a margin
(`stuck_after`): a hung worker, a blocked thread, a server that holds the request past every
timeout. A source is **overdue** when the running service has not finished a check of it by its
due time plus that same bound (`due_by`) and no check of it is stuck: checks that never started
because the service cannot keep up (the workers, or its host's `per_host` slots, are busy).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.config.settings import MonitorSettings, Settings, Source
from monitor.fetch.http import MAX_RETRY_AFTER
from monitor.store import heartbeat, outbox
from monitor.store.db import Store
from monitor.store.discovered import all_sources, discovery_runs
from monitor.store.heartbeat import STALE_AFTER
from monitor.store.rows import ServiceRow
from monitor.store.schema import iso, parse_iso


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
    discovered_by: str | None = None  # the [[discover]] id that found it
    overdue: bool = False  # no check finished by `due_by`, though the service runs
    stuck: bool = False  # a check of it has run past `stuck_after` (then not `overdue`)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class InFlightCheck:
    """A check the running service had in flight at its last heartbeat."""

    source: str
    started_at: str
    running_seconds: int  # from its start to that heartbeat
    limit_seconds: float  # the service's `stuck_after`
    stuck: bool

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class DiscoveryStatus:
    """A configured `[[discover]]` block and how its last reading went."""

    id: str
    last_run_at: str | None  # None: not read yet
    error: str | None  # the last reading's failure
    failing_since: str | None
    failures: int = 0  # readings that failed in a row
    failing: bool = False  # `failing_after` of them, as a source is

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
    sources: tuple[SourceStatus, ...]  # those of the page asked for: `offset` on
    total: int = 0  # sources watched, on every page
    failing: int = 0  # of them, marked failing, on every page
    offset: int = 0
    overdue: int = 0  # of them, overdue, on every page
    in_flight: tuple[InFlightCheck, ...] = ()  # at the last heartbeat, oldest first
    workers: int | None = None  # checks the service runs at once, as it recorded
    discoveries: tuple[DiscoveryStatus, ...] = ()
    failed_alerts: int = 0  # given up on for good (`monitor alerts --failed`)
    failed_alerts_at: str | None = None  # the newest of them was last tried then

    @property
    def stuck(self) -> int:
        """Checks stuck in flight (of any source, watched or removed since by a reload)."""
        return sum(1 for c in self.in_flight if c.stuck)

    @property
    def stalled(self) -> bool:
        """Every worker holds a stuck check: the service runs, but checks nothing."""
        return self.alive and self.workers is not None and self.stuck >= self.workers

    @property
    def working(self) -> bool:
        """What a health check asks: the service runs and can still check. A site that is down
        is someone else's outage; a stuck check that leaves other workers free is worth a look
        (`status` says so), not a restart; every worker stuck is only mended by one."""
        return self.alive and not self.stalled

    @property
    def failing_discoveries(self) -> int:
        return sum(1 for d in self.discoveries if d.failing)

    @property
    def healthy(self) -> bool:
        """Up, no source or discovery failing and no check stuck or overdue. (Alerts failed
        for good are shown, not counted: they stay failed until `monitor alerts --retry`.)"""
        return (
            self.alive
            and not self.failing
            and not self.overdue
            and not self.stuck
            and not self.failing_discoveries
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "alive": self.alive,
            "healthy": self.healthy,
            "pid": self.pid,
            "host": self.host,
            "started_at": self.started_at,
            "heartbeat_at": self.heartbeat_at,
            "uptime_seconds": self.uptime_seconds,
            "total": self.total,
            "failing": self.failing,
            "overdue": self.overdue,
            "stuck": self.stuck,
            "working": self.working,
            "stalled": self.stalled,
            "workers": self.workers,
            "in_flight": [c.to_json() for c in self.in_flight],
            "discoveries": [d.to_json() for d in self.discoveries],
            "failed_alerts": self.failed_alerts,
            "failed_alerts_at": self.failed_alerts_at,
            "offset": self.offset,
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


# Beyond the schedule and the longest check, a margin for a busy machine.
OVERDUE_SLACK = 10.0


def check_bound(m: MonitorSettings) -> float:
    """The longest one check may take: every try to its deadline, the waits between them
    (`Retry-After`, at most a minute each), and the request that confirms a change."""
    tries = (m.retries + 1) * (2 if m.confirm is not None else 1)
    return m.timeout * tries + m.retries * MAX_RETRY_AFTER + (m.confirm or 0.0)


def stuck_after(m: MonitorSettings) -> float:
    """How long a check may run before it counts as stuck: the longest it may take
    (`check_bound`) and the margin for a busy machine (the same one `due_by` allows)."""
    return check_bound(m) + OVERDUE_SLACK


def due_by(source: Source, settings: Settings, since: datetime) -> datetime:
    """When a check of `source` must have finished, if the last one (or the service's start)
    was at `since`; the jitter is the scheduler's (`service.scheduler`)."""
    if source.cron:
        from apscheduler.triggers.cron import CronTrigger

        fire = CronTrigger.from_crontab(source.cron, timezone=UTC).get_next_fire_time(None, since)
        due, jitter = (fire or since), 30.0
    else:
        interval = source.interval or settings.monitor.interval
        due, jitter = since + timedelta(seconds=interval), min(interval * 0.1, 300.0)
    return due + timedelta(seconds=jitter + check_bound(settings.monitor) + OVERDUE_SLACK)


@dataclass(frozen=True)
class Workers:
    """What the running service's workers were doing at its last heartbeat."""

    in_flight: tuple[InFlightCheck, ...] = ()  # oldest first
    workers: int | None = None  # None: no running service recorded them

    @property
    def stuck(self) -> tuple[InFlightCheck, ...]:
        return tuple(c for c in self.in_flight if c.stuck)


def workers(store: Store, now: datetime, service: ServiceRow | None = None) -> Workers:
    """The checks the service had in flight at its last heartbeat, each judged against the
    limit the service recorded (its own config, which `status` may not share: a `[monitor]`
    edited since applies only after a restart). Empty when the service is not running.
    Reads the configuration of nobody: the web UI, which has none, shows the same."""
    service = service if service is not None else heartbeat.service(store)
    if service is None or not _alive(service, now):
        return Workers()
    beat_at = parse_iso(service.heartbeat_at)
    load = heartbeat.workload(store)
    if load is None or beat_at is None:
        return Workers()
    checks = []
    for running in load.running:
        seconds = max(0, int((beat_at - running.started_at).total_seconds()))
        checks.append(
            InFlightCheck(
                source=running.source_id,
                started_at=iso(running.started_at),
                running_seconds=seconds,
                limit_seconds=load.check_limit,
                stuck=seconds > load.check_limit,
            )
        )
    return Workers(tuple(checks), load.workers)


def _alive(service: ServiceRow, now: datetime) -> bool:
    last = parse_iso(service.heartbeat_at)
    return (
        service.stopped_at is None
        and last is not None
        and now - last < timedelta(seconds=STALE_AFTER)
    )


def _overdue(
    watched: list[Source],
    settings: Settings,
    last: dict[str, str | None],
    started: datetime,
    now: datetime,
) -> set[str]:
    """The sources whose check is overdue (`due_by`), when the service started at `started`.

    A source checked before the service started had until its first interval from the start:
    it counts from `max(last check, start)`. A source on an interval is then overdue exactly
    when its last check (if any) and the start both lie before one moment, the same for every
    source of that interval. Compared as stored text (`iso` sorts), 100,000 sources cost a
    string comparison each instead of a date parsed and a deadline worked out each.
    """
    late = set()
    # interval → the text a last check must sort before (None: none can be overdue yet)
    before: dict[float, str | None] = {}
    for source in watched:
        checked = last.get(source.id)
        if source.cron:
            moment = parse_iso(checked)
            since = moment if moment is not None and moment > started else started
            if now > due_by(source, settings, since):
                late.add(source.id)
            continue
        interval = source.interval or settings.monitor.interval
        if interval not in before:
            # overdue ⇔ since < due_by's inverse at `now`; rounded up to the second, as
            # stored times are whole seconds
            limit = now - (due_by(source, settings, started) - started)
            ceiling = limit.replace(microsecond=0)
            if ceiling < limit:
                ceiling += timedelta(seconds=1)
            before[interval] = iso(ceiling) if started < limit else None
        bound = before[interval]
        if bound is not None and (checked is None or checked < bound):
            late.add(source.id)
    return late


def status(
    store: Store,
    settings: Settings,
    now: datetime,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> Status:
    """The service's state, and `limit` sources (all by default) from `offset` on; the
    counts (`total`, `failing`, `healthy`) cover every source whatever the page."""
    service = heartbeat.service(store)
    watched = all_sources(store, settings)
    page = watched[offset:] if limit is None else watched[offset : offset + limit]
    # Only the page's rows are read: with 100,000 sources, one page costs what it shows.
    ids = None if len(page) == len(watched) else [s.id for s in page]
    rows = {row.id: row for row in store.source_rows(ids=ids)}
    failing = store.failing_sources()
    if failing:
        failing &= {s.id for s in watched}
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
        alive = _alive(service, now)
        if alive and (begun := parse_iso(started)):
            uptime = int((now - begun).total_seconds())
    overdue: set[str] = set()
    load = workers(store, now, service)
    stuck = {c.source for c in load.stuck}
    if alive and (begun := parse_iso(started)):
        overdue = _overdue(watched, settings, store.last_checks(), begun, now) - stuck
    sources = []
    for source in page:
        row = rows.get(source.id)
        state = row.state if row else "unchecked"
        if source.id in stuck:
            state = "stuck"
        elif source.id in overdue and state != "failing":
            state = "overdue"
        sources.append(
            SourceStatus(
                id=source.id,
                schedule=schedule_text(source, settings.monitor.interval),
                state=state,
                last_check_at=row.last_check_at if row else None,
                last_outcome=row.last_outcome if row else None,
                last_error=row.last_error if row else None,
                next_due_at=row.next_due_at if row and alive else None,
                consecutive_failures=row.consecutive_failures if row else 0,
                versions=row.versions if row else 0,
                discovered_by=source.discovered_by,
                overdue=source.id in overdue,
                stuck=source.id in stuck,
            )
        )
    runs = discovery_runs(store) if settings.discover else {}
    discoveries = tuple(
        DiscoveryStatus(
            d.id,
            run.last_run_at if run else None,
            run.last_error if run else None,
            run.failing_since if run else None,
            run.failures if run else 0,
            bool(run and run.failures >= settings.monitor.failing_after),
        )
        for d in settings.discover
        for run in [runs.get(d.id)]
    )
    failed_alerts, failed_at = outbox.failed_alerts(store)
    return Status(
        alive,
        pid,
        host,
        started,
        beat_at,
        uptime,
        tuple(sources),
        total=len(watched),
        failing=len(failing),
        offset=offset,
        overdue=len(overdue),
        in_flight=load.in_flight,
        workers=load.workers,
        discoveries=discoveries,
        failed_alerts=failed_alerts,
        failed_alerts_at=failed_at,
    )
