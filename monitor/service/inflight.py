"""The checks running now and when each began, for the heartbeat: a lock and a dict.

The check path enters and leaves it (`Checker.check_one`); the service's heartbeat reads it
every few seconds and writes it with its own row (`store.heartbeat`), so that `status` can tell
a check stuck in flight (begun long ago, still running) from one that never started. Nothing
here touches the database: a write per check would cost every check a transaction.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from monitor.clock import Clock, utcnow
from monitor.config.settings import MonitorSettings
from monitor.store.heartbeat import Running, Workload


class InFlight:
    """Thread-safe: entered by every worker thread, read by the heartbeat's."""

    def __init__(self, clock: Clock = utcnow) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._running: dict[int, Running] = {}
        self._keys = itertools.count()

    @contextmanager
    def check(self, source_id: str) -> Iterator[None]:
        """Counts a check of `source_id` as in flight from now until the block ends."""
        entry = Running(source_id, self.clock())
        with self._lock:
            # a key per entry, not the source id: a source removed and added again by two
            # reloads may be checked twice at once, and each check leaves only itself
            key = next(self._keys)
            self._running[key] = entry
        try:
            yield
        finally:
            with self._lock:
                del self._running[key]

    def running(self) -> tuple[Running, ...]:
        """The checks in flight, oldest first."""
        with self._lock:
            entries = list(self._running.values())
        return tuple(sorted(entries, key=lambda r: r.started_at))

    def workload(self, settings: MonitorSettings) -> Workload:
        """What the heartbeat records: the checks in flight, how many the service runs at once,
        and how long one may take before it counts as stuck."""
        # imported here: only the service beats, and `monitor check` pays for every import
        from monitor.views.status import stuck_after

        return Workload(settings.concurrency, stuck_after(settings), self.running())
