"""`monitor run`: the long-running service.

Checks every source on its schedule through the same `Checker` as `monitor check`, writes a
heartbeat, prunes old checks, and answers signals: SIGTERM/SIGINT finish the checks in flight
and stop; SIGHUP reloads the config (an invalid one is refused and the old one keeps running).
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import IO, Protocol

from monitor.alerts.outbox import Sender
from monitor.clock import Clock, utcnow
from monitor.config.settings import Settings, load_settings
from monitor.errors import ConfigError, MonitorError
from monitor.service.check import Checker
from monitor.service.scheduler import ALERTS_JOB, HOUSEKEEPING_JOB, Scheduler
from monitor.store import heartbeat
from monitor.store.db import Store
from monitor.store.rows import CheckResult
from monitor.store.schema import parse_iso

HOUSEKEEPING_SECONDS = 6 * 3600.0
ALERT_SECONDS = 5.0


class AlreadyRunning(MonitorError):
    """Another `monitor run` holds the database."""


@contextmanager
def writer_lock(database: Path) -> Iterator[None]:
    """Hold `<database>.lock` for the life of the service: one writer per database.

    An advisory `flock` is released by the kernel when the process dies, even by SIGKILL, so a
    crash never leaves a stale lock behind.
    """
    path = database.with_name(database.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise AlreadyRunning(
                f"another `monitor run` (pid {holder}) is already using {database}; "
                "stop it first, or point this one at another database"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


class App(Protocol):
    """The parts the service runs with, built by the composition root (`monitor.app`)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> Store: ...
    @property
    def checker(self) -> Checker: ...
    @property
    def sender(self) -> Sender: ...


OpenApp = Callable[[Settings], AbstractContextManager[App]]


class Service:
    """`monitor run`. It is handed `open_app`, the composition root's way of building the
    parts, and builds them again from the new settings when a reload needs it."""

    def __init__(
        self,
        config: Path,
        settings: Settings,
        *,
        open_app: OpenApp,
        log: logging.Logger,
        clock: Clock = utcnow,
        stop_timeout: float | None = None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.open_app = open_app
        self.log = log
        self.clock = clock
        m = settings.monitor
        # Long enough for a check in flight to run out its own timeouts and retries.
        self.stop_timeout = stop_timeout or m.timeout * (m.retries + 1) + m.backoff * 4
        self.abandoned = 0
        self._wake = threading.Event()
        self._stopping = False
        self._reload = False
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self._app: App | None = None
        self._scheduler: Scheduler | None = None

    # -- signals ---------------------------------------------------------------------------

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True
        self._wake.set()

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        self._reload = True
        self._wake.set()

    @contextmanager
    def _signals(self) -> Iterator[None]:
        handlers: dict[int, Callable[[int, FrameType | None], None]] = {
            signal.SIGTERM: self._on_stop,
            signal.SIGINT: self._on_stop,
            signal.SIGHUP: self._on_hup,
        }
        previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # -- jobs ------------------------------------------------------------------------------

    def _check(self, source_id: str) -> None:
        if self._stopping or self._app is None:
            return
        try:
            source = self.settings.source(source_id)
        except ConfigError:
            return  # removed by a reload while queued
        with self._count_lock:
            self._in_flight += 1
        try:
            result = self._app.checker.check_one(source)
            self._log_check(result)
        except Exception:
            self.log.exception("check crashed", extra={"source": source_id})
        finally:
            with self._count_lock:
                self._in_flight -= 1

    def _log_check(self, result: CheckResult) -> None:
        fields = {
            "source": result.source_id,
            "outcome": result.outcome,
            "duration_ms": result.duration_ms,
            "status": result.status,
        }
        if result.change_id is not None:
            fields |= {"change_id": result.change_id, "kinds": ",".join(result.kinds)}
        if result.error:
            self.log.warning("check", extra=fields | {"error": result.error})
        else:
            self.log.info("check", extra=fields)
        if result.event:
            self.log.warning(f"source {result.event}", extra={"source": result.source_id})

    def _send_alerts(self) -> None:
        if self._app is None or self._stopping:
            return
        try:
            report = self._app.sender.deliver()
        except Exception:
            self.log.exception("alert delivery crashed")
            return
        if report.sent or report.failed or report.deferred:
            self.log.info(
                "alerts",
                extra={"sent": report.sent, "failed": report.failed, "deferred": report.deferred},
            )
        for error in report.errors:
            self.log.warning("alert not delivered", extra={"error": error})

    def _housekeep(self) -> None:
        if self._app is None:
            return
        cutoff = self.clock() - timedelta(seconds=self.settings.monitor.keep_checks)
        pruned = heartbeat.prune_checks(self._app.store, cutoff)
        self.log.info("pruned old checks", extra={"deleted": pruned})

    # -- lifecycle -------------------------------------------------------------------------

    def _last_checks(self, app: App) -> dict[str, datetime | None]:
        return {k: parse_iso(v) for k, v in app.store.last_checks().items()}

    def _sync(self, app: App, scheduler: Scheduler) -> None:
        sources = self.settings.sources
        app.store.sync_sources(((s.id, s.url) for s in sources), self.clock())
        added, removed, rescheduled = scheduler.sync(
            sources, self.settings.monitor.interval, self._last_checks(app), self.clock()
        )
        for what, ids in (("added", added), ("removed", removed), ("rescheduled", rescheduled)):
            if ids:
                self.log.info(f"sources {what}", extra={"sources": ",".join(ids)})

    def _do_reload(self, app: App, scheduler: Scheduler) -> None:
        self._reload = False
        try:
            new = load_settings(self.config)
        except ConfigError as exc:
            self.log.error(
                "config reload refused; the old config keeps running", extra={"error": str(exc)}
            )
            return
        if new.monitor != self.settings.monitor:
            self.log.warning("changes to [monitor] apply after a restart")
            new = Settings(new.path, self.settings.monitor, new.email, new.sources)
        self.settings = new
        self._sync(app, scheduler)
        self.log.info("config reloaded", extra={"sources": len(new.sources)})

    def _beat(self, app: App, scheduler: Scheduler, started: datetime) -> None:
        heartbeat.beat(
            app.store,
            pid=os.getpid(),
            host=socket.gethostname(),
            started_at=started,
            now=self.clock(),
            config=str(self.config),
            next_due=scheduler.next_due(),
        )

    def run(self) -> int:
        """Run until SIGTERM or SIGINT; returns the exit status."""
        with writer_lock(self.settings.monitor.database), self.open_app(self.settings) as app:
            self._app = app
            scheduler = Scheduler(self._check, workers=self.settings.monitor.concurrency)
            self._scheduler = scheduler
            started = self.clock()
            self._sync(app, scheduler)
            housekeeping = min(HOUSEKEEPING_SECONDS, self.settings.monitor.keep_checks)
            scheduler.every(HOUSEKEEPING_JOB, self._housekeep, housekeeping)
            scheduler.every(ALERTS_JOB, self._send_alerts, ALERT_SECONDS)
            with self._signals():
                scheduler.start()
                self.log.info(
                    "service started",
                    extra={"pid": os.getpid(), "sources": len(self.settings.sources)},
                )
                while not self._stopping:
                    self._beat(app, scheduler, started)
                    self._wake.wait(heartbeat.HEARTBEAT_SECONDS)
                    self._wake.clear()
                    if self._reload and not self._stopping:
                        self._do_reload(app, scheduler)
                self.log.info(
                    "stopping: letting checks in flight finish",
                    extra={"in_flight": self._in_flight},
                )
                scheduler.pause()
                self._drain()
                scheduler.shutdown()
            heartbeat.stopped(app.store, self.clock())
            self._app = None
        self.log.info("service stopped", extra={"abandoned": self.abandoned})
        return 0

    def _drain(self) -> None:
        deadline = time.monotonic() + self.stop_timeout
        while time.monotonic() < deadline:
            with self._count_lock:
                if self._in_flight == 0:
                    return
            time.sleep(0.05)
        with self._count_lock:
            self.abandoned = self._in_flight
        self.log.warning(
            "checks still in flight after the stop timeout are abandoned",
            extra={"abandoned": self.abandoned},
        )
