"""`monitor run`: the long-running service.

Checks every source on its schedule through the same `Checker` as `monitor check`, writes a
heartbeat, prunes old checks, and answers signals: SIGTERM/SIGINT finish the checks in flight
and stop; SIGHUP reloads the config (an invalid one is refused and the old one keeps running).
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import IO, Protocol

from monitor.alerts.notify import Notifier
from monitor.alerts.outbox import DeliveryReport, Sender
from monitor.clock import Clock, utcnow
from monitor.config.settings import EmailSettings, Settings, Source, load_settings
from monitor.detect.reading import code_key, installed_code_key
from monitor.discover.run import Discoverer
from monitor.errors import ConfigError, DatabaseDamaged, MonitorError
from monitor.fetch.browser import installed_code, loaded_code
from monitor.service.check import Checker
from monitor.service.observe import host_key
from monitor.service.scheduler import (
    ALERTS_JOB,
    DISCOVERY_JOB,
    HOUSEKEEPING_JOB,
    NOTIFY_JOB,
    Scheduler,
)
from monitor.store import heartbeat
from monitor.store.db import Store
from monitor.store.discovered import all_sources, forget_runs, watched
from monitor.store.rows import CheckResult
from monitor.store.schema import parse_iso

HOUSEKEEPING_SECONDS = 6 * 3600.0
ALERT_SECONDS = 5.0
# After the stop timeout, checks still running are cancelled and given this long to return.
CANCEL_GRACE = 3.0
# What a database that stays locked past the busy timeout, or a full disk, raises: the service
# logs it and goes on, and the next heartbeat or check tries again.
STORE_ERRORS = (sqlite3.Error, MonitorError)
# The exit status of a service that stopped because a new version was installed under it
# (`Service._replaced`): EX_TEMPFAIL, "try again", which a supervisor restarts.
EXIT_UPGRADED = 75


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
    @property
    def discoverer(self) -> Discoverer: ...
    @property
    def notifier(self) -> Notifier: ...


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
        self.damaged: DatabaseDamaged | None = None  # set when the service stopped for it
        self._reload = False
        self._in_flight = 0
        self._upkeep = 0  # alert, housekeeping and discovery jobs running
        self._count_lock = threading.Lock()
        self._email: EmailSettings | None = None  # set by a reload, applied by the alert job
        self._app: App | None = None
        self._scheduler: Scheduler | None = None
        # Every source scheduled now, configured and discovered, by id.
        self._sources: dict[str, Source] = {}
        self._resync = False  # a discovery added or retired sources
        self._discoveries: dict[str, float] = {}  # scheduled discovery ids and their intervals
        # The reading code as this process loaded it (`_replaced`).
        self._code = (code_key(), loaded_code())
        self.upgraded = False  # stopped because a new version was installed

    # -- signals ---------------------------------------------------------------------------

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True
        app = self._app
        if app is not None and app.checker.browser is not None:
            # at once, not when the main loop wakes: a signal to the whole process group ends
            # Chromium's pages now (`BrowserFetcher.stopping`)
            app.checker.browser.stopping.set()
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
        source = self._sources.get(source_id)
        if source is None:
            return  # removed by a reload while queued
        with self._count_lock:
            if self._stopping:  # seen under the lock, so that a stop's drain counts this one
                return
            self._in_flight += 1
        try:
            result = self._app.checker.check_one(source)
            self._log_check(result)
        except DatabaseDamaged as exc:
            self._on_damage(exc)
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

    @contextmanager
    def _upkeep_job(self) -> Iterator[bool]:
        """Counts the job while it runs, so that a stop waits for it (bounded); yields False
        when the service is stopping and the job should not start."""
        with self._count_lock:
            starting = not self._stopping
            self._upkeep += starting
        if not starting:
            yield False
            return
        try:
            yield True
        finally:
            with self._count_lock:
                self._upkeep -= 1

    def _send_alerts(self) -> None:
        if self._app is None:
            return
        with self._upkeep_job() as starting:
            if not starting:
                return
            sender = self._app.sender
            if (email := self._email) is not None:
                # Swapped here, between two rounds of the only thread that delivers, never
                # under a round in progress.
                from monitor.alerts.mailer import build_transport

                sender.settings = email
                sender.transport_factory = functools.partial(build_transport, email)
                self._email = None
            try:
                report = sender.deliver_email()
            except Exception:
                self.log.exception("alert delivery crashed")
                return
        self._log_delivery(report)

    def _notify(self) -> None:
        """The `[[notify]]` targets' alerts, in a job apart from email's: a mail server that
        hangs until its timeout holds back no webhook, and a slow webhook no email."""
        if self._app is None:
            return
        with self._upkeep_job() as starting:
            if not starting:
                return
            try:
                notified = self._app.notifier.deliver()
            except Exception:
                self.log.exception("alert delivery crashed")
                return
        self._log_delivery(replace(notified, sent=0, notified=notified.sent))

    def _log_delivery(self, report: DeliveryReport) -> None:
        if report.sent or report.failed or report.deferred or report.notified:
            self.log.info(
                "alerts",
                extra={
                    "sent": report.sent,
                    "notified": report.notified,
                    "failed": report.failed,
                    "deferred": report.deferred,
                },
            )
        for error in report.errors:
            self.log.warning("alert not delivered", extra={"error": error})

    def _housekeep(self) -> None:
        if self._app is None:
            return
        cutoff = self.clock() - timedelta(seconds=self.settings.monitor.keep_checks)
        with self._upkeep_job() as starting:
            if not starting:
                return
            try:
                pruned = heartbeat.prune_checks(self._app.store, cutoff)
            except STORE_ERRORS as exc:
                self.log.error("old checks not pruned", extra={"error": str(exc)})
                return
        self.log.info("pruned old checks", extra={"deleted": pruned})

    # -- lifecycle -------------------------------------------------------------------------

    def _last_checks(self, app: App) -> dict[str, datetime | None]:
        return {k: parse_iso(v) for k, v in app.store.last_checks().items()}

    def _discover(self, discovery_id: str) -> None:
        if self._app is None or self._stopping:
            return
        discovery = next((d for d in self.settings.discover if d.id == discovery_id), None)
        if discovery is None:
            return  # removed by a reload while queued
        try:
            with self._upkeep_job() as starting:  # a stop waits for its writes
                if not starting:
                    return  # the service is stopping: no new reading begins
                report = self._app.discoverer.run(
                    discovery, self.settings.sources, [d.id for d in self.settings.discover]
                )
        except Exception:
            self.log.exception("discovery crashed", extra={"discovery": discovery_id})
            return
        fields = {
            "discovery": discovery_id,
            "listed": report.listed,
            "matched": report.matched,
            "added": ",".join(report.added),
            "retired": ",".join(report.retired),
        }
        if report.refused:
            fields["refused"] = len(report.refused)
        if report.error:
            self.log.warning("discovery", extra=fields | {"error": report.error})
        elif report.unread:
            self.log.warning("discovery", extra=fields | {"unread": "; ".join(report.unread)})
        else:
            self.log.info("discovery", extra=fields)
        if report.added or report.retired or self._scheduled_otherwise():
            self._resync = True  # the main thread schedules them
            self._wake.set()

    def _scheduled_otherwise(self) -> bool:
        """Whether the discovered sources watched now differ from those this service
        schedules: another process (a `monitor check`) found or retired some first, and
        this service's own reading then reports nothing new."""
        assert self._app is not None
        configured = {s.id for s in self.settings.sources}
        scheduled = {sid for sid in self._sources if sid not in configured}
        return {s.id for s in watched(self._app.store, self.settings)} != scheduled

    def _sync_discoveries(self, scheduler: Scheduler) -> None:
        """One job per `[[discover]]` block, first run at once, then every `interval`."""
        wanted = {d.id: d.interval for d in self.settings.discover}
        if self._app is not None:
            forget_runs(self._app.store, wanted)
        for discovery_id, interval in list(self._discoveries.items()):
            if wanted.get(discovery_id) != interval:
                scheduler.aps.remove_job(DISCOVERY_JOB + discovery_id)
                del self._discoveries[discovery_id]
        for discovery_id, interval in wanted.items():
            if discovery_id not in self._discoveries:
                scheduler.every(
                    DISCOVERY_JOB + discovery_id,
                    functools.partial(self._discover, discovery_id),
                    interval,
                    start_now=True,
                )
                self._discoveries[discovery_id] = interval

    def _sync(self, app: App, scheduler: Scheduler) -> None:
        app.store.sync_sources(((s.id, s.url) for s in self.settings.sources), self.clock())
        sources = all_sources(app.store, self.settings)
        self._sources = {s.id: s for s in sources}
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
            new = replace(new, monitor=self.settings.monitor)
        old, self.settings = self.settings, new
        if not self._try_sync(app, scheduler):
            self.settings = old
            self._reload = True  # tried again after the next heartbeat
            return
        self._sync_discoveries(scheduler)
        if new.notify != old.notify or new.email.report_url != old.email.report_url:
            # the report link of a webhook's message is [email]'s `report_url`
            app.notifier.use(new.notify, report_url=new.email.report_url)
        fields: dict[str, object] = {"sources": len(new.sources)}
        if new.email != old.email:
            self._email = new.email  # the alert job takes it before its next round
            fields["alerts_to"] = (
                f"smtp {new.email.host}:{new.email.port}"
                if new.email.host
                else f"files in {new.email.outbox}"
            )
        self.log.info("config reloaded", extra=fields)

    def _try_sync(self, app: App, scheduler: Scheduler) -> bool:
        """`_sync`, logged instead of raised when the database cannot be written."""
        try:
            self._sync(app, scheduler)
        except STORE_ERRORS as exc:
            self.log.error(
                "sources not synced with the database; trying again", extra={"error": str(exc)}
            )
            return False
        return True

    def _beat(self, app: App, scheduler: Scheduler, started: datetime) -> None:
        try:
            heartbeat.beat(
                app.store,
                pid=os.getpid(),
                host=socket.gethostname(),
                started_at=started,
                now=self.clock(),
                config=str(self.config),
                next_due=scheduler.due_changes(),
                workload=app.checker.in_flight.workload(self.settings.monitor),
            )
        except DatabaseDamaged as exc:
            self._on_damage(exc)
        except STORE_ERRORS as exc:
            # `status` sees the heartbeat go stale and says so; the next one may land.
            self.log.error("heartbeat not written", extra={"error": str(exc)})

    def _on_damage(self, exc: DatabaseDamaged) -> None:
        """A damaged database does not mend itself: stop, once, saying what to do, instead of
        failing every check for ever while the service looks up."""
        if self.damaged is None:
            self.damaged = exc
            self.log.error("database damaged: stopping", extra={"error": str(exc)})
        self._stopping = True
        self._wake.set()

    def _host_of(self, source_id: str) -> str:
        source = self._sources.get(source_id)
        return host_key(source.url) if source is not None else source_id

    def run(self) -> int:
        """Run until SIGTERM or SIGINT; returns the exit status."""
        with writer_lock(self.settings.monitor.database), self.open_app(self.settings) as app:
            self._app = app
            m = self.settings.monitor
            scheduler = Scheduler(
                self._check, workers=m.concurrency, per_host=m.per_host, host_of=self._host_of
            )
            self._scheduler = scheduler
            started = self.clock()
            self._sync(app, scheduler)
            self._sync_discoveries(scheduler)
            housekeeping = min(HOUSEKEEPING_SECONDS, self.settings.monitor.keep_checks)
            scheduler.every(HOUSEKEEPING_JOB, self._housekeep, housekeeping)
            scheduler.every(ALERTS_JOB, self._send_alerts, ALERT_SECONDS)
            scheduler.every(NOTIFY_JOB, self._notify, ALERT_SECONDS)
            with self._signals():
                scheduler.start()
                self.log.info(
                    "service started",
                    extra={"pid": os.getpid(), "sources": len(self.settings.sources)},
                )
                while not self._stopping:
                    self._beat(app, scheduler, started)
                    if self._replaced():
                        break
                    self._wake.wait(heartbeat.HEARTBEAT_SECONDS)
                    self._wake.clear()
                    if self._reload and not self._stopping:
                        self._do_reload(app, scheduler)
                    if self._resync and not self._stopping:
                        self._resync = not self._try_sync(app, scheduler)
                self.log.info(
                    "stopping: letting checks in flight finish",
                    extra={"in_flight": self._in_flight, "not_started": scheduler.queue.waiting()},
                )
                scheduler.pause()
                self._drain(app.checker.fetcher.cancel_all)
                scheduler.shutdown()
            try:
                heartbeat.stopped(app.store, self.clock())
            except STORE_ERRORS as exc:
                self.log.error("stop not recorded in the database", extra={"error": str(exc)})
            self._app = None
        self.log.info("service stopped", extra={"abandoned": self.abandoned})
        if self.upgraded:
            return EXIT_UPGRADED
        return 1 if self.damaged is not None else 0

    def _replaced(self) -> bool:
        """Whether the code that reads pages was replaced on disk (an upgrade) since this
        process loaded it. Left running, this process and the new `monitor` would read pages
        differently and each take the other's versions for another reading: every check would
        re-read its page as a new reference, and report no edit."""
        now = (installed_code_key(), installed_code())
        if now[0] is None or now == self._code:
            return False
        self.upgraded = True
        self._stopping = True
        self.log.error(
            "monitor was upgraded while this service ran: stopping, to be started again "
            "with the new version (systemd's Restart=on-failure does)",
            extra={"exit": EXIT_UPGRADED},
        )
        return True

    def _idle(self, within: float) -> bool:
        """Whether every check and upkeep job ended within `within` seconds."""
        deadline = time.monotonic() + within
        while True:
            with self._count_lock:
                if self._in_flight == 0 and self._upkeep == 0:
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def _drain(self, cancel: Callable[[], None]) -> None:
        """Let the checks in flight and the alert and upkeep jobs finish, within the stop
        timeout. A check still running then waits out a long `Retry-After` or a stalled
        server: it is cancelled (not recorded; the next start checks it again)."""
        if self._idle(self.stop_timeout):
            return
        with self._count_lock:
            cutting = self._in_flight
        if cutting:
            self.log.warning(
                "stop timeout reached: cancelling the checks in flight",
                extra={"in_flight": cutting},
            )
            cancel()
            if self._idle(CANCEL_GRACE):
                return
        with self._count_lock:
            self.abandoned = self._in_flight + self._upkeep
            fields = {"checks": self._in_flight, "upkeep": self._upkeep}
        self.log.warning("still running after the stop timeout: abandoned", extra=fields)
