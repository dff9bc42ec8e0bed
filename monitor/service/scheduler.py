"""When each source is checked: APScheduler 3 jobs, spread out after a start.

The arithmetic (`spread_offset`, `first_due`, `jitter_for`) is pure and unit-tested with a fixed
clock; `Scheduler` wires it into a `BackgroundScheduler` with one job per source.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config.settings import Source

HOUSEKEEPING_JOB = "_housekeeping"
ALERTS_JOB = "_alerts"
MAX_JITTER = 300.0


def spread_offset(source_id: str, window: float) -> float:
    """A stable offset in [0, window) for a source: the same id lands at the same place."""
    digest = hashlib.sha256(source_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * window


def first_due(
    now: datetime, last_check: datetime | None, interval: float, source_id: str
) -> datetime:
    """When a source is first checked after a start.

    A source checked recently is due one interval after that check; any other is placed within
    the first interval by its id, so that a restart never fires every check at once.
    """
    if last_check is not None:
        due = last_check + timedelta(seconds=interval)
        if due > now:
            return due
    return now + timedelta(seconds=spread_offset(source_id, interval))


def jitter_for(interval: float) -> float:
    """Up to a tenth of the interval, at most five minutes, so that schedules drift apart."""
    return min(interval * 0.1, MAX_JITTER)


def schedule_key(source: Source, default_interval: float) -> str:
    """What identifies a source's schedule; a change of it means rescheduling the job."""
    return f"cron:{source.cron}" if source.cron else f"every:{source.interval or default_interval}"


def trigger_for(
    source: Source, default_interval: float, now: datetime, last_check: datetime | None
) -> BaseTrigger:
    if source.cron:
        trigger: BaseTrigger = CronTrigger.from_crontab(source.cron, timezone=UTC)
        trigger.jitter = int(MAX_JITTER / 10)
        return trigger
    interval = source.interval or default_interval
    return IntervalTrigger(
        seconds=interval,
        start_date=first_due(now, last_check, interval, source.id),
        jitter=jitter_for(interval) or None,
        timezone=UTC,
    )


class Scheduler:
    """One APScheduler job per source, calling `run(source_id)` on a pool of `workers` threads."""

    def __init__(self, run: Callable[[str], object], *, workers: int) -> None:
        self._run = run
        self._keys: dict[str, str] = {}
        self.aps = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=workers)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )

    def sync(
        self,
        sources: Iterable[Source],
        default_interval: float,
        last_checks: Mapping[str, datetime | None],
        now: datetime,
    ) -> tuple[list[str], list[str], list[str]]:
        """Make the jobs match `sources`; returns the ids added, removed and rescheduled."""
        wanted = {s.id: s for s in sources}
        added, removed, rescheduled = [], [], []
        for source_id in list(self._keys):
            if source_id not in wanted:
                self.aps.remove_job(source_id)
                del self._keys[source_id]
                removed.append(source_id)
        for source_id, source in wanted.items():
            key = schedule_key(source, default_interval)
            if self._keys.get(source_id) == key:
                continue
            trigger = trigger_for(source, default_interval, now, last_checks.get(source_id))
            grace = int(source.interval or default_interval) if not source.cron else 3600
            if source_id in self._keys:
                self.aps.reschedule_job(source_id, trigger=trigger)
                rescheduled.append(source_id)
            else:
                self.aps.add_job(
                    self._run,
                    trigger,
                    args=[source_id],
                    id=source_id,
                    name=source_id,
                    misfire_grace_time=max(grace, 1),
                )
                added.append(source_id)
            self._keys[source_id] = key
        return added, removed, rescheduled

    def every(self, job_id: str, func: Callable[[], object], seconds: float) -> None:
        self.aps.add_job(
            func,
            IntervalTrigger(seconds=seconds, timezone=UTC),
            id=job_id,
            misfire_grace_time=int(seconds) + 1,
        )

    def next_due(self) -> dict[str, datetime | None]:
        return {job.id: job.next_run_time for job in self.aps.get_jobs() if job.id in self._keys}

    def start(self) -> None:
        self.aps.start()

    def pause(self) -> None:
        self.aps.pause()

    def shutdown(self) -> None:
        self.aps.shutdown(wait=False)
