"""When each source is checked: one APScheduler 3 job that hands the due sources on, spread
out after a start.

The arithmetic (`spread_offset`, `first_due`, `jitter_for`, `next_grid`) is pure and
unit-tested with a fixed clock. `Scheduler` keeps each source's next due time in a heap and
wires one `BackgroundScheduler` job, the dispatcher, that runs every `tick_for` seconds and
hands every source due by then to `HostQueue`; cron schedules are worked out by APScheduler's
`CronTrigger`. One job rather than one per source: with 100,000 sources, 100,000 jobs took
seconds of CPU to add and most of the scheduler's memory. `HostQueue` runs the checks on a
pool of its own, at most `per_host` at once per host: a check waiting for a slow host's slot
waits in a queue, not in a thread, so sources on other hosts keep their schedule.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config.settings import Source

DISPATCH_JOB = "_dispatch"
HOUSEKEEPING_JOB = "_housekeeping"
ALERTS_JOB = "_alerts"
NOTIFY_JOB = "_notify"  # the [[notify]] targets' alerts, apart from email's
DISCOVERY_JOB = "_discover:"  # followed by the [[discover]] id
UPKEEP = "upkeep"  # the executor of the jobs that are not checks
MAX_JITTER = 300.0
CRON_JITTER = MAX_JITTER / 10
# The dispatcher runs every second, or more often for short intervals (a fortieth of the
# shortest): a check starts at most that late, and an idle service wakes once a second.
MAX_TICK = 1.0
MIN_TICK = 0.025


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


def next_grid(grid: float, interval: float, now: float) -> float:
    """The first time on a source's grid (`grid` + n × `interval`) after both `grid` and
    `now`: a service that fell behind (a suspended machine) checks once, not once per interval
    missed, and keeps the source's place in the interval."""
    missed = max(math.floor((now - grid) / interval), 0)
    return grid + (missed + 1) * interval


def tick_for(shortest: float) -> float:
    """How often the dispatcher runs, for the shortest interval among the sources."""
    return min(max(shortest / 40, MIN_TICK), MAX_TICK)


@dataclass(slots=True)
class _Plan:
    """A source's schedule: its interval or cron trigger, the time on its grid it is next due
    (without jitter) and the time it fires (with); `entry` tells its live heap entry."""

    key: str
    interval: float
    cron: CronTrigger | None
    grid: float
    fire: float
    entry: int


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
    """Checks each source on its schedule: one APScheduler job, the dispatcher, hands the
    sources due to a `HostQueue` that calls `run(source_id)` on a pool of `workers` threads,
    at most `per_host` at once per host (the host of a source is `host_of(source_id)`). Jobs
    added with `every` (alerts, upkeep) run on threads of their own, so a long one never delays
    a check or another."""

    def __init__(
        self,
        run: Callable[[str], object],
        *,
        workers: int,
        per_host: int | None = None,
        host_of: Callable[[str], str] | None = None,
    ) -> None:
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
                # the dispatcher only queues checks: one thread is plenty
                "default": JobExecutor(max_workers=1),
                UPKEEP: JobExecutor(max_workers=4),
            },
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self._lock = threading.Lock()  # the plans and the heap: dispatcher, sync, heartbeat
        self._dispatching = threading.Lock()
        self._plans: dict[str, _Plan] = {}
        self._heap: list[tuple[float, int, str]] = []  # (fire, entry, source id)
        self._entries = itertools.count()
        self._crons: dict[str, CronTrigger] = {}
        self._tick: float | None = None  # the dispatcher's period; None: no dispatcher
        # The sources whose due time moved since the last `due_changes`; None: every one.
        self._moved: set[str] | None = None

    def sync(
        self,
        sources: Iterable[Source],
        default_interval: float,
        last_checks: Mapping[str, datetime | None],
        now: datetime,
    ) -> tuple[list[str], list[str], list[str]]:
        """Make the schedules match `sources`; returns the ids added, removed and rescheduled.
        A source whose schedule is unchanged keeps its due time."""
        wanted = {s.id: s for s in sources}
        added: list[str] = []
        removed: list[str] = []
        rescheduled: list[str] = []
        with self._lock:
            for source_id in list(self._plans):
                if source_id not in wanted:
                    del self._plans[source_id]
                    removed.append(source_id)
            keys: dict[str, str] = {}  # one string per schedule, not one per source
            for source_id, source in wanted.items():
                key = schedule_key(source, default_interval)
                key = keys.setdefault(key, key)
                old = self._plans.get(source_id)
                if old is not None and old.key == key:
                    continue
                plan = self._plan(source, key, default_interval, now, last_checks.get(source_id))
                self._plans[source_id] = plan
                heapq.heappush(self._heap, (plan.fire, plan.entry, source_id))
                (added if old is None else rescheduled).append(source_id)
            if len(self._heap) > 2 * len(self._plans) + 1000:  # mostly entries of the past
                self._heap = [(p.fire, p.entry, i) for i, p in self._plans.items()]
                heapq.heapify(self._heap)
            self._moved = None
            intervals = {p.interval for p in self._plans.values() if p.cron is None}
            tick = None if not self._plans else tick_for(min(intervals, default=60.0))
        self._set_tick(tick)
        return added, removed, rescheduled

    def _plan(
        self,
        source: Source,
        key: str,
        default_interval: float,
        now: datetime,
        last_check: datetime | None,
    ) -> _Plan:
        entry = next(self._entries)
        if source.cron:
            cron = self._crons.get(source.cron)
            if cron is None:
                cron = self._crons[source.cron] = CronTrigger.from_crontab(
                    source.cron, timezone=UTC
                )
            grid = _cron_next(cron, now.timestamp())
            fire = grid + random.uniform(0, CRON_JITTER)
            return _Plan(key, 0.0, cron, grid, fire, entry)
        interval = source.interval or default_interval
        grid = first_due(now, last_check, interval, source.id).timestamp()
        fire = grid + random.uniform(0, jitter_for(interval))
        return _Plan(key, interval, None, grid, fire, entry)

    def _set_tick(self, tick: float | None) -> None:
        if tick == self._tick:
            return
        if tick is None:
            self.aps.remove_job(DISPATCH_JOB)
        elif self._tick is None:
            self.aps.add_job(
                self._dispatch,
                IntervalTrigger(seconds=tick, timezone=UTC),
                id=DISPATCH_JOB,
                # a second instance waits for the first and finds little: never "skipped"
                max_instances=2,
                misfire_grace_time=None,
            )
        else:
            self.aps.reschedule_job(DISPATCH_JOB, trigger=IntervalTrigger(seconds=tick))
        self._tick = tick

    def _dispatch(self) -> None:
        if self._dispatching.acquire(blocking=False):
            try:
                self.dispatch(time.time())
            finally:
                self._dispatching.release()

    def dispatch(self, now: float) -> list[str]:
        """Hand every source due by `now` (a timestamp) to the queue, work out when each is
        due next, and return their ids. What the dispatcher job does on each tick."""
        due = []
        with self._lock:
            heap, plans = self._heap, self._plans
            while heap and heap[0][0] <= now:
                _, entry, source_id = heapq.heappop(heap)
                plan = plans.get(source_id)
                if plan is None or plan.entry != entry:
                    continue  # removed or rescheduled since
                due.append(source_id)
                if plan.cron is not None:
                    plan.grid = _cron_next(plan.cron, max(plan.grid, now))
                    plan.fire = plan.grid + random.uniform(0, CRON_JITTER)
                else:
                    plan.grid = next_grid(plan.grid, plan.interval, now)
                    plan.fire = plan.grid + random.uniform(0, jitter_for(plan.interval))
                plan.entry = next(self._entries)
                heapq.heappush(heap, (plan.fire, plan.entry, source_id))
                if self._moved is not None:
                    self._moved.add(source_id)
        for source_id in due:
            self._run(source_id)
        return due

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

    def next_due(self) -> dict[str, datetime | None]:
        """When each source is due next."""
        with self._lock:
            return {i: _when(p.fire) for i, p in self._plans.items()}

    def due_changes(self) -> dict[str, datetime | None]:
        """The due times that moved since the last call: every source's after a start or a
        sync, then only those of the sources handed on since. What the heartbeat writes: an
        idle service with 100,000 sources reads and writes none of them."""
        with self._lock:
            moved, self._moved = self._moved, set()
            plans = self._plans
            ids = plans.keys() if moved is None else moved & plans.keys()
            return {i: _when(plans[i].fire) for i in ids}

    def start(self) -> None:
        self.aps.start()

    def pause(self) -> int:
        """Fire no more jobs and start no more checks; returns how many queued were dropped."""
        self.aps.pause()
        return self.queue.close()

    def shutdown(self) -> None:
        if self.aps.running:
            self.aps.shutdown(wait=False)
        self.queue.close()


def _cron_next(cron: CronTrigger, after: float) -> float:
    """The cron schedule's first time after `after` (a timestamp)."""
    start = datetime.fromtimestamp(after, UTC)
    fire = cron.get_next_fire_time(None, start + timedelta(microseconds=1))
    # A five-field cron expression always fires again; ten years is only a bound.
    return fire.timestamp() if fire is not None else after + 3650 * 86400.0


def _when(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
