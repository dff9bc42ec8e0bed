"""When each source is checked: APScheduler 3 jobs, spread out after a start.

The arithmetic (`spread_offset`, `first_due`, `jitter_for`) is pure and unit-tested with a fixed
clock; `Scheduler` wires it into a `BackgroundScheduler` with one job per source. A job only
hands its source to `HostQueue`, which runs the checks on a pool of its own, at most `per_host`
at once per host: a check waiting for a slow host's slot waits in a queue, not in a thread, so
sources on other hosts keep their schedule.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_SUBMITTED,
    JobSubmissionEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config.settings import Source

HOUSEKEEPING_JOB = "_housekeeping"
ALERTS_JOB = "_alerts"
DISCOVERY_JOB = "_discover:"  # followed by the [[discover]] id
UPKEEP = "upkeep"  # the executor of the jobs that are not checks
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


class HostQueue:
    """Runs `run(source_id)` on `workers` threads, at most `per_host` at once for one host.

    A source whose host has no free slot waits in that host's queue, and is started when one of
    the host's checks ends; a source already waiting or running is not queued again (one check
    of a source at a time, as APScheduler's `max_instances = 1` gave).
    """

    def __init__(
        self,
        run: Callable[[str], object],
        *,
        workers: int,
        per_host: int,
        host_of: Callable[[str], str],
    ) -> None:
        self._run = run
        self._host_of = host_of
        self.per_host = max(per_host, 1)
        self._pool = ThreadPoolExecutor(max(workers, 1), thread_name_prefix="check")
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}
        self._waiting: dict[str, deque[str]] = {}
        self._taken: set[str] = set()  # waiting or running
        self._closed = False

    def submit(self, source_id: str) -> bool:
        """Start or queue a check of `source_id`; False if it is queued or running already."""
        host = self._host_of(source_id)
        with self._lock:
            if self._closed or source_id in self._taken:
                return False
            self._taken.add(source_id)
            if self._running.get(host, 0) >= self.per_host:
                self._waiting.setdefault(host, deque()).append(source_id)
                return True
            self._running[host] = self._running.get(host, 0) + 1
        self._start(source_id, host)
        return True

    def waiting(self) -> int:
        with self._lock:
            return sum(len(queue) for queue in self._waiting.values())

    def _start(self, source_id: str, host: str) -> None:
        try:
            self._pool.submit(self._work, source_id, host)
        except RuntimeError:  # closed meanwhile: the check is not started
            with self._lock:
                self._taken.discard(source_id)

    def _work(self, source_id: str, host: str) -> None:
        try:
            self._run(source_id)
        finally:
            with self._lock:
                self._taken.discard(source_id)
                queue = self._waiting.get(host)
                following = queue.popleft() if queue and not self._closed else None
                if following is None:
                    self._running[host] -= 1
            if following is not None:
                self._start(following, host)  # the host's slot passes to the next in line

    def close(self) -> int:
        """Start nothing more; the checks running go on. Returns how many queued were dropped."""
        with self._lock:
            self._closed = True
            dropped = sum(len(queue) for queue in self._waiting.values())
            self._waiting.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        return dropped


class Scheduler:
    """One APScheduler job per source, handing `source_id` to a `HostQueue` that calls
    `run(source_id)` on a pool of `workers` threads, at most `per_host` at once per host (the
    host of a source is `host_of(source_id)`). Jobs added with `every` (alerts, upkeep) run on
    threads of their own, so a long one never delays a check or another."""

    def __init__(
        self,
        run: Callable[[str], object],
        *,
        workers: int,
        per_host: int | None = None,
        host_of: Callable[[str], str] | None = None,
    ) -> None:
        self._keys: dict[str, str] = {}
        self.queue = HostQueue(
            run,
            workers=workers,
            per_host=per_host or workers,
            host_of=host_of or (lambda source_id: source_id),
        )
        self._run = self.queue.submit
        self.aps = BackgroundScheduler(
            timezone=UTC,
            executors={
                # source jobs only queue a check: one thread is plenty
                "default": JobExecutor(max_workers=1),
                UPKEEP: JobExecutor(max_workers=4),
            },
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        # When each source's job fires next, kept up to date from the jobs that fired (which
        # APScheduler reschedules before it tells), so that the heartbeat's read every few
        # seconds does not walk 100,000 jobs. None: to be built again from every job.
        self._due: dict[str, datetime | None] | None = None
        self._moved: set[str] | None = None  # since the last `due_changes`; None: every one
        self._fired: set[str] = set()
        self._fired_lock = threading.Lock()
        self.aps.add_listener(self._on_fired, EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES)

    def _on_fired(self, event: JobSubmissionEvent) -> None:
        with self._fired_lock:
            self._fired.add(event.job_id)

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
        self._due = None
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

    def every(
        self, job_id: str, func: Callable[[], object], seconds: float, *, start_now: bool = False
    ) -> None:
        """A job every `seconds`; with `start_now`, a first run as soon as the scheduler runs."""
        extra = {"next_run_time": datetime.now(UTC)} if start_now else {}
        self.aps.add_job(
            func,
            IntervalTrigger(seconds=seconds, timezone=UTC),
            id=job_id,
            executor=UPKEEP,
            misfire_grace_time=int(seconds) + 1,
            **extra,
        )

    def _refresh(self) -> dict[str, datetime | None]:
        with self._fired_lock:
            fired, self._fired = self._fired, set()
        if self._due is None or not self.aps.running:
            due = {j.id: j.next_run_time for j in self.aps.get_jobs() if j.id in self._keys}
            self._due, self._moved = (due if self.aps.running else None), None
            return due
        for job_id in fired & self._keys.keys():
            job = self.aps.get_job(job_id)
            self._due[job_id] = job.next_run_time if job is not None else None
            if self._moved is not None:
                self._moved.add(job_id)
        return self._due

    def next_due(self) -> dict[str, datetime | None]:
        """When each source's job fires next (a copy)."""
        return dict(self._refresh())

    def due_changes(self) -> dict[str, datetime | None]:
        """The due times that moved since the last call: every source's after a start or a
        sync, then only those of the jobs that fired. What the heartbeat writes: an idle
        service with 100,000 sources reads and writes none of them."""
        due = self._refresh()
        moved, self._moved = self._moved, set()
        return dict(due) if moved is None else {i: due[i] for i in moved if i in due}

    def start(self) -> None:
        self.aps.start()

    def pause(self) -> int:
        """Fire no more jobs and start no more checks; returns how many queued were dropped."""
        self.aps.pause()
        return self.queue.close()

    def shutdown(self) -> None:
        self.aps.shutdown(wait=False)
        self.queue.close()
