"""The composition root: builds the HTTP client, the database and the checker from settings.

Nothing else in the package constructs a client or opens a connection; commands and the service
ask this module for an `App` and pass its parts down.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from monitor.alerts.notify import Notifier
from monitor.alerts.outbox import Sender
from monitor.clock import Clock, utcnow
from monitor.config.settings import Settings
from monitor.fetch import Fetcher, build_client
from monitor.fetch.browser import BrowserFetcher
from monitor.service.check import Checker, Workers, uses_processes, worker_processes
from monitor.store.db import Store

if TYPE_CHECKING:
    from monitor.alerts.mailer import Transport
    from monitor.discover.run import Discoverer


@dataclass(frozen=True)
class App:
    settings: Settings
    fetcher: Fetcher
    store: Store
    checker: Checker
    sender: Sender
    notifier: Notifier
    clock: Clock

    @cached_property
    def discoverer(self) -> Discoverer:
        """Built when first asked for: a pass with no [[discover]] block never imports it (nor
        its feed and sitemap parsers)."""
        from monitor.discover.run import Discoverer

        return Discoverer(self.fetcher, self.store, self.clock)


@contextmanager
def open_fetcher(settings: Settings) -> Iterator[Fetcher]:
    m = settings.monitor
    client = build_client(
        timeout=m.timeout, user_agent=m.user_agent, max_connections=max(m.concurrency, 1)
    )
    try:
        yield Fetcher(client, max_body=m.max_body, retries=m.retries, backoff=m.backoff)
    finally:
        client.close()


@contextmanager
def open_browser(settings: Settings, fetcher: Fetcher | None = None) -> Iterator[BrowserFetcher]:
    """The browser for `fetch = "browser"`: Chromium starts with the first page asked for,
    so it costs nothing where no source uses it. It shares the HTTP fetcher's `cancel`."""
    m = settings.monitor
    browser = BrowserFetcher(
        timeout=m.timeout,
        user_agent=m.user_agent,
        max_body=m.max_body,
        pages=m.browser_pages,
        cancel=None if fetcher is None else fetcher.cancel,
    )
    try:
        yield browser
    finally:
        browser.close()


@contextmanager
def open_store(
    settings: Settings, *, create: bool = True, snapshot: bool = True
) -> Iterator[Store]:
    """The database; with `create` false (a command that only reads), a missing one is not
    created but read as empty; with `snapshot` false (a reader that stays open), a read-only
    one is never read as an immutable file (`Store.open`)."""
    store = Store.open(settings.monitor.database, create=create, snapshot=snapshot)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def open_workers(settings: Settings, sources: int | None) -> Iterator[Workers | None]:
    """Worker processes for a first pass over `sources` sources, if it calls for them
    (`uses_processes`), forked now: before the database opens and while this process runs no
    other thread (else `process_pool` falls back to a fork server). None otherwise."""
    m = settings.monitor
    if sources is None or not uses_processes(sources, m.per_host):
        yield None
        return
    from monitor.service.workers import process_pool

    pool, cancel = process_pool(
        worker_processes(),
        per_host=m.per_host,
        timeout=m.timeout,
        user_agent=m.user_agent,
        max_body=m.max_body,
        retries=m.retries,
        backoff=m.backoff,
        early=True,
    )
    try:
        yield pool, cancel
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        cancel.close()


@contextmanager
def open_app(
    settings: Settings,
    *,
    clock: Clock = utcnow,
    sources: int | None = None,
    create: bool = True,
) -> Iterator[App]:
    """Everything a command needs, built once. `sources`: how many sources the first pass will
    check, when the caller knows it before the database opens (see `open_workers`); `create`
    false: a command that writes nothing, which leaves a missing database uncreated."""
    with (
        open_workers(settings, sources) as workers,
        open_fetcher(settings) as fetcher,
        open_browser(settings, fetcher) as browser,
        open_store(settings, create=create) as store,
    ):
        checker = Checker(
            fetcher,
            store,
            concurrency=settings.monitor.concurrency,
            per_host=settings.monitor.per_host,
            failing_after=settings.monitor.failing_after,
            clock=clock,
            user_agent=settings.monitor.user_agent,
            timeout=settings.monitor.timeout,
            confirm_after=settings.monitor.confirm,
            browser=browser,
            workers=workers,
        )
        # Built without [[notify]] too: alerts queued for a target since removed are failed.
        notifier = Notifier(
            store, settings.notify, report_url=settings.email.report_url, clock=clock
        )
        sender = Sender(
            store, settings.email, lambda: _transport(settings), clock, notifier=notifier.deliver
        )
        yield App(settings, fetcher, store, checker, sender, notifier, clock)


def _transport(settings: Settings) -> Transport:
    from monitor.alerts.mailer import build_transport  # only when an alert is due

    return build_transport(settings.email)
