"""A pass: many sources checked, each by `observe`, and every result recorded.

The worker step (`observe`) touches no database; it runs in a thread pool under a global and a
per-host limit, or for a large pass in worker processes (`workers`). The calling thread judges
the pages that differ from the stored version and does every write: checks that finish together
share one transaction, each in a savepoint of its own, so one check's failure undoes only it.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from contextlib import nullcontext
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.clock import Clock, utcnow
from monitor.config.settings import Source
from monitor.detect.reading import reading_key
from monitor.errors import CaptureError
from monitor.fetch import Fetcher
from monitor.fetch.browser import capture_key
from monitor.service.inflight import InFlight
from monitor.service.observe import (
    Job,
    confirm,
    host_key,
    judge,
    observe,
    read_baseline,
    rebaselined,
)
from monitor.store.db import Store
from monitor.store.record import Recipients, Stale, record_checks
from monitor.store.rows import CheckResult, Known, SourceState

if TYPE_CHECKING:
    from monitor.fetch.browser import BrowserFetcher

_BATCH = 100
# The smallest unit of work the end of a pass sends to a worker process (see `check`).
_LAST = 4
_PAGE = 1000  # sources whose stored state a pass reads in one query
# What a check cancelled before its request began says (Ctrl-C, a stop).
NOT_STARTED = "not checked: cancelled before it started"
# From this many sources a pass uses worker processes; below it, starting them costs more.
PROCESS_THRESHOLD = 200


# Worker processes started before a pass (`app.open_workers`), and what cancels their requests.
Workers = tuple[Executor, Callable[[], None]]


def worker_processes() -> int:
    """How many worker processes a large pass runs: one per core. (One more, to extract while
    the others wait for their responses, was measured slower on two cores: the parent and the
    web server need the cores too.)"""
    return os.cpu_count() or 1


def uses_processes(count: int, per_host: int) -> bool:
    """Whether a pass over `count` sources checks them in worker processes.

    Each worker process checks one page at a time, so processes fit when `per_host` is about
    the number of cores (the default, 2): the pass is CPU-bound, and the per-host limit holds.
    A `per_host` above that asks for many requests in flight (slow sites): threads give that
    concurrency.
    """
    cores = os.cpu_count() or 1
    return count >= PROCESS_THRESHOLD and cores > 1 and per_host <= cores


def unit_size(size: int, left: int, units: int) -> int:
    """How many checks the next unit of work sent to a worker process holds, with `left`
    checks not yet sent and `units` units of `size` checks kept in flight: `size` while many
    are left, then fewer, down to `_LAST`. The processes then finish together, instead of one
    waiting for the other's last full unit."""
    return min(size, max(_LAST, left // units // 2))


class HostLimiter:
    """A semaphore per host, so that one site never gets more than `per_host` requests at once."""

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self._lock = threading.Lock()
        self._hosts: dict[str, threading.Semaphore] = {}

    def __call__(self, url: str) -> threading.Semaphore:
        host = host_key(url)
        with self._lock:
            if host not in self._hosts:
                self._hosts[host] = threading.Semaphore(self.per_host)
            return self._hosts[host]


class Checker:
    """Runs checks. Holds the fetcher and the store it is given; owns neither."""

    def __init__(
        self,
        fetcher: Fetcher,
        store: Store,
        *,
        concurrency: int = 16,
        per_host: int = 2,
        failing_after: int = 3,
        clock: Clock = utcnow,
        user_agent: str | None = None,
        timeout: float = 30.0,
        confirm_after: float | None = None,
        browser: BrowserFetcher | None = None,
        workers: Workers | None = None,
    ) -> None:
        self.confirm_after = confirm_after
        self.browser = browser  # for `fetch = "browser"` sources; its own limit of pages
        self.user_agent = user_agent  # set: large passes may use worker processes
        self.timeout = timeout
        self.fetcher = fetcher
        self.store = store
        self.concurrency = concurrency
        self.failing_after = failing_after
        self.limiter = HostLimiter(per_host)
        self.clock = clock
        # Worker processes started before the database opened (`app.open_app`), else None.
        self.workers = workers
        self.in_flight = InFlight(clock)  # the checks `check_one` runs now, for the heartbeat

    def _reading_key(self, source: Source) -> str:
        if source.fetch == "browser" and self.browser is not None:
            # what the browser waits for and copies into the page makes the reading too
            settle = self.browser.settle_for(source.settle)
            return reading_key(source.extract, capture_key(settle))
        return reading_key(source.extract)

    def prepare(self, source: Source, *, dry_run: bool) -> Job:
        """Read the stored state; on a first check, import the baseline (not in a dry run)."""
        key = self._reading_key(source)
        state = self.store.state(source.id)
        current = state.current
        if current is not None and _baseline_read_otherwise(source, state, key):
            # The baseline file is at hand: read again by these rules, it stays the reference
            # (taken for a new one, as any other version would be, the page's difference from
            # it would never be reported).
            try:
                again = read_baseline(source, self.fetcher)
            except CaptureError as exc:
                failed = CheckResult(source.id, "error", self.clock(), error=str(exc))
                return Job(source, None, early=failed)
            if dry_run:
                return Job(source, again, current.id, reading=key)
            self.store.reread_baseline(source.id, current.id, again, self.clock(), key)
            state = self.store.state(source.id)
        if state.current is not None:
            return _stored(source, state, key)
        if source.baseline is None:
            return Job(source, None, reading=key)
        try:
            baseline = read_baseline(source, self.fetcher)
        except CaptureError as exc:
            return Job(
                source, None, early=CheckResult(source.id, "error", self.clock(), error=str(exc))
            )
        if dry_run:
            return Job(source, baseline, reading=key)
        self.store.import_baseline(source.id, baseline, self.clock(), reading=key)
        # read back: another writer may have stored the first version meanwhile
        state = self.store.state(source.id)
        if state.current is None:  # pragma: no cover - the import above stored one
            return Job(source, baseline, reading=key)
        return _stored(source, state, key)

    def _run(self, job: Job) -> CheckResult:
        started = self.clock()
        try:
            with self.limiter(job.source.url):
                return observe(job, self.fetcher, started, self.browser)
        except Exception as exc:  # a bug in one source's check must not stop the others
            return CheckResult(job.source.id, "error", started, error=f"internal error: {exc!r}")

    def record(self, result: CheckResult, source: Source) -> CheckResult:
        return self._record_batch([result], {source.id: source})[0]

    def _record_batch(
        self, finished: list[CheckResult], by_id: dict[str, Source]
    ) -> list[CheckResult]:
        """Record checks that finished together in one transaction, each all or nothing on
        its own: one commit instead of many, and one check's failure does not undo another's.

        A check that another writer overtook (`Stale`) is compared with the version that
        writer stored and recorded again; the loop ends because each round leaves fewer.
        """
        recipients = Recipients(
            {s.id: s.recipients for s in by_id.values()},
            failing_after=self.failing_after,
            notify={s.id: s.notify for s in by_id.values() if s.notify},
        )
        # A cancelled check (Ctrl-C, a stop) says nothing about the site: not recorded, and
        # not counted toward `failing_after`.
        done = {i: r for i, r in enumerate(finished) if r.outcome == "cancelled"}
        todo = [(i, r) for i, r in enumerate(finished) if r.outcome != "cancelled"]
        for _ in range(5):
            if not todo:
                break
            try:
                stored = record_checks(self.store, [r for _, r in todo], recipients)
            except sqlite3.Error as exc:  # the commit itself failed: nothing of it is stored
                stored = [exc] * len(todo)
            again = []
            for (index, result), recorded in zip(todo, stored, strict=True):
                if isinstance(recorded, Stale):
                    # `recorded.result`: a page read by its digest alone has its regions there
                    # (the version it read as), not in `result`
                    again.append((index, self._judge_again(recorded, by_id[result.source_id])))
                elif isinstance(recorded, sqlite3.Error):
                    # Disk full, a lock held too long, an I/O error: rolled back, so the
                    # database is as it was; the check failed and the next one tries again.
                    done[index] = replace(
                        result,
                        outcome="error",
                        comparison=None,
                        change_id=None,
                        error=f"could not store the check: {recorded}",
                    )
                else:
                    done[index] = recorded
            todo = again
        for index, result in todo:
            done[index] = replace(
                result,
                outcome="error",
                comparison=None,
                error="could not store the check: "
                "other writers kept storing new versions of this source",
            )
        return [done[i] for i in range(len(finished))]

    def _judge_again(self, stale: Stale, source: Source) -> CheckResult:
        """A check whose base another writer replaced: compared with the new current version.
        A change found so is confirmed by a second request, as any change is, unless the
        check had found one already (then confirmed: two requests showed this page)."""
        current = stale.current
        confirmed = stale.result.outcome == "changed"
        result = judge(replace(stale.result, base_version_id=current.id), current.regions)
        if result.outcome != "changed" or confirmed or self.confirm_after is None:
            return result
        assert result.regions is not None
        with self.limiter(source.url):
            reason = confirm(
                source,
                self.fetcher,
                result.regions,
                current.fingerprint,
                self.confirm_after,
                self.browser,
            )
        if reason is None:
            return result
        outcome, error = reason
        return replace(result, outcome=outcome, error=error, comparison=None, regions=None)

    def check_one(self, source: Source) -> CheckResult:
        """Check and record one source; safe to call from several threads at once.

        The source's row must exist: the service syncs its sources at start and on reload.
        """
        with self.in_flight.check(source.id):
            job = replace(self.prepare(source, dry_run=False), confirm_after=self.confirm_after)
            return self.record(self._run(job), source)

    @property
    def _confirm_in_worker(self) -> float | None:
        """0 when a pass's workers confirm a change at once; None when the pass confirms
        after its pause, or not at all."""
        return 0.0 if self.confirm_after == 0 else None

    def _executor(self, count: int) -> tuple[Executor, int, Callable[[], None], bool]:
        """Threads, or for a large pass a process per core (see `workers`), how many checks
        each unit of work sent to it holds, what cancels the requests of its processes
        (threads share `self.fetcher`, cancelled by whoever cancels it), and whether the pass
        owns the executor (else it is the workers the composition root started early).
        """
        if self.user_agent is not None and uses_processes(count, self.limiter.per_host):
            processes = worker_processes()
            # Units of a few dozen checks: one round trip between processes per unit, while
            # every process still gets several units to keep it busy to the end.
            size = max(1, min(32, count // (processes * 8)))
            if self.workers is not None:
                pool, cancel = self.workers
                return pool, size, cancel, False
            from monitor.service.workers import process_pool

            pool, cancel = process_pool(
                processes,
                per_host=self.limiter.per_host,
                timeout=self.timeout,
                user_agent=self.user_agent,
                max_body=self.fetcher.max_body,
                retries=self.fetcher.retries,
                backoff=self.fetcher.backoff,
            )
            return pool, size, cancel, True
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="check")
        return pool, 1, _nothing, True

    def _jobs(self, sources: Sequence[Source], *, dry_run: bool) -> Iterator[Job]:
        """A job per source, reading the stored state of `_PAGE` sources at a time: one query
        per page, and memory that does not grow with the number of sources."""
        known: dict[str, Known] = {}
        for index, source in enumerate(sources):
            if index % _PAGE == 0:
                known = self.store.known([s.id for s in sources[index : index + _PAGE]])
            state = known.get(source.id)
            if source.baseline is None and (state is None or state.version_id is None):
                # A first check with nothing to import: `prepare` would read the same empty
                # state again, a query per source on a first pass over many.
                yield Job(
                    source,
                    None,
                    confirm_after=self._confirm_in_worker,
                    reading=self._reading_key(source),
                )
            elif state is None or state.fingerprint is None:
                yield replace(
                    self.prepare(source, dry_run=dry_run), confirm_after=self._confirm_in_worker
                )
            elif state.reading != (key := self._reading_key(source)) and source.baseline:
                # perhaps a baseline made by another reading: see `prepare`
                yield replace(
                    self.prepare(source, dry_run=dry_run), confirm_after=self._confirm_in_worker
                )
            elif state.reading != key:
                # made by another reading: see `_stored`
                yield Job(
                    source,
                    None,
                    state.version_id,
                    fingerprint=state.fingerprint,
                    confirm_after=self._confirm_in_worker,
                    reading=key,
                    reread=True,
                )
            else:
                yield Job(
                    source,
                    None,
                    state.version_id,
                    state.etag,
                    state.last_modified,
                    fingerprint=state.fingerprint,
                    digest=state.digest,
                    confirm_after=self._confirm_in_worker,
                    reading=key,
                )

    def settle(self, result: CheckResult) -> CheckResult:
        """Decide a check its worker found different from the stored fingerprint, against
        the text of the version that fingerprint is of. (If another writer has stored one
        since, recording tells which of the two readings is the newer: `record._record`.)"""
        if result.outcome != "differs":
            return result
        state = self.store.state(result.source_id)
        if state.current is None:  # pragma: no cover - the version was there when the job began
            return replace(result, outcome="new", base_version_id=None)
        base = state.current
        if result.base_version_id not in (None, base.id):
            base = self.store.version(result.base_version_id)
        reread = result.reading not in (None, state.reading)  # made by another reading
        judged = judge(replace(result, base_version_id=base.id), base.regions, reread=reread)
        return rebaselined(judged) if judged.outcome == "changed" and reread else judged

    def _run_many(self, jobs: list[Job]) -> list[CheckResult]:
        return [self._run(job) for job in jobs]

    def check(
        self,
        sources: Sequence[Source],
        *,
        dry_run: bool = False,
        on_result: Callable[[CheckResult], None] | None = None,
        keep: Callable[[CheckResult], bool] | None = None,
    ) -> list[CheckResult]:
        """Check each source once; results in the order of `sources`.

        `on_result` sees every source's result once it is recorded (those cancelled before
        they began, at the end); `keep` chooses the ones the list returned holds (all by
        default), so that a pass over 100,000 sources that shows only its changes does not
        hold 100,000 results.
        """
        if not dry_run:
            self.store.sync_sources(((s.id, s.url) for s in sources), self.clock())
        # None: recorded, and not kept
        results: dict[str, CheckResult | None] = {}
        by_id = {s.id: s for s in sources}
        # each unit of work in flight, and how many checks it holds
        pending: dict[Future[list[CheckResult]], int] = {}
        jobs = self._jobs(sources, dry_run=dry_run)
        buffer: list[CheckResult] = []
        flushed = time.monotonic()

        # Changes wait for their confirming request until the end of the pass: one pause for
        # all of them, and no worker sits idle through it.
        held: list[CheckResult] = []

        def flush(*, confirmed: bool = False) -> None:
            nonlocal flushed
            settled = [self.settle(r) for r in buffer]
            if self.confirm_after and not confirmed:  # a pause: held to the end of the pass
                held.extend(r for r in settled if r.outcome == "changed")
                settled = [r for r in settled if r.outcome != "changed"]
            done = settled if dry_run else self._record_batch(settled, by_id)
            for result in done:
                if on_result is not None:
                    on_result(result)
                # keyed by the source's own id: the worker's copy of the string would be
                # one more object per source
                source_id = by_id[result.source_id].id
                kept = keep is None or keep(result)
                results[source_id] = _recorded(result, source_id) if kept else None
            buffer.clear()
            flushed = time.monotonic()

        pool, size, cancel_workers, owned = self._executor(len(sources))
        # Worker processes have no browser: browser pages load in this one, in threads.
        in_parent = ThreadPoolExecutor(self.browser.pages if self.browser else 1, "browser")
        with pool if owned else nullcontext(), in_parent:
            processes = not isinstance(pool, ThreadPoolExecutor)
            # bounded, so memory does not grow with the source count: this many units of the
            # full size, in checks (the smaller units of the end keep as many checks in flight)
            units = worker_processes() * 2 if processes else self.concurrency * 2
            window = units * size
            exhausted = cancelled = False
            taken = 0
            while pending or not exhausted:
                if not cancelled and self.fetcher.cancel.is_set():
                    # Ctrl-C: nothing more starts, the workers' requests end (those of the
                    # last units too, sent before it), and what finished is still recorded;
                    # the rest is "cancelled" (not recorded).
                    exhausted = cancelled = True
                    cancel_workers()
                    if not owned:  # cancelled for good: a later pass starts workers of its own
                        self.workers = None
                    for future in pending:
                        future.cancel()
                while not exhausted and sum(pending.values()) < window:
                    take = unit_size(size, len(sources) - taken, units)
                    unit = list(itertools.islice(jobs, take))
                    taken += len(unit)
                    exhausted = not unit or taken >= len(sources)
                    if not unit:
                        break
                    if processes:
                        # checks that failed before fetching need no worker
                        buffer.extend(job.early for job in unit if job.early is not None)
                        unit = [job for job in unit if job.early is None]
                        if browsed := [j for j in unit if j.source.fetch == "browser"]:
                            pending[in_parent.submit(self._run_many, browsed)] = len(browsed)
                            unit = [j for j in unit if j.source.fetch != "browser"]
                        if unit:
                            pending[pool.submit(_in_process, unit, self.clock())] = len(unit)
                    else:
                        pending[pool.submit(self._run_many, unit)] = len(unit)
                if pending:
                    # with a timeout, so that a cancel is seen while long units run
                    done, _ = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                    for future in done:
                        del pending[future]
                        if not future.cancelled():
                            buffer.extend(future.result())
                # A commit costs more than the rows it writes: gather up to a hundred checks,
                # or a second's worth, into one transaction (each still all or nothing). Once
                # every job is out, a quarter of that: what is left to record when the last
                # unit returns, with nothing else to do meanwhile, is then a few dozen checks.
                batch = _BATCH // 4 if exhausted else _BATCH
                if len(buffer) >= batch or time.monotonic() - flushed > 1.0:
                    flush()
            flush()
        if held:
            buffer.extend(self._confirm_held(held, by_id))
            flush(confirmed=True)
        listed = []
        for source in sources:
            if source.id in results:
                if (result := results[source.id]) is not None:
                    listed.append(result)
                continue
            result = _not_started(source, self.clock())
            if on_result is not None:
                on_result(result)
            if keep is None or keep(result):
                listed.append(result)
        return listed

    def _confirm_held(self, held: list[CheckResult], by_id: dict[str, Source]) -> list[CheckResult]:
        """Fetch each changed page once more after the pause (see `confirm`), in parallel
        under the same limits as the pass; a change stands only if the page held."""
        assert self.confirm_after is not None
        cancelled = self.fetcher.cancel.wait(self.confirm_after)

        def again(result: CheckResult) -> CheckResult:
            assert result.regions is not None
            source = by_id[result.source_id]
            if cancelled:
                reason: tuple[str, str] | None = (
                    "cancelled",
                    "cancelled before the change could be confirmed",
                )
            else:
                with self.limiter(source.url):
                    reason = confirm(source, self.fetcher, result.regions, None, 0.0, self.browser)
            if reason is None:
                return result
            outcome, error = reason
            return replace(result, outcome=outcome, error=error, comparison=None, regions=None)

        with ThreadPoolExecutor(min(self.concurrency, len(held))) as pool:
            return list(pool.map(again, held))


def _recorded(result: CheckResult, source_id: str) -> CheckResult:
    """What a pass keeps of a check once it is recorded: its outcome, without the page's
    regions (stored now, and kilobytes a source), the comparison of a page that did not
    change, nor the response's URL and validators (stored too), so that a pass over 100,000
    sources does not hold 100,000 pages."""
    comparison = result.comparison if result.outcome == "changed" else None
    return replace(
        result,
        source_id=source_id,
        regions=None,
        comparison=comparison,
        url=None,
        etag=None,
        last_modified=None,
    )


def _baseline_read_otherwise(source: Source, state: SourceState, reading: str) -> bool:
    """Whether the source's current version is its baseline, read by other code or rules."""
    current = state.current
    return (
        source.baseline is not None
        and current is not None
        and current.origin == "baseline"
        and state.reading != reading
    )


def _stored(source: Source, state: SourceState, reading: str) -> Job:
    """A job comparing `source` with its stored current version."""
    assert state.current is not None
    current = state.current
    if state.reading != reading:
        # Made by another reading: the page is read in full, its validators not sent (a 304
        # would hold the new reading back until the publisher's next edit, then taken for
        # the new reference with it).
        return Job(source, current.regions, current.id, reading=reading, reread=True)
    return Job(
        source,
        current.regions,
        current.id,
        state.etag,
        state.last_modified,
        digest=state.digest,
        reading=reading,
    )


def _nothing() -> None:
    pass


def _not_started(source: Source, now: datetime) -> CheckResult:
    return CheckResult(source.id, "cancelled", now, error=NOT_STARTED)


def _in_process(jobs: list[Job], started_at: datetime) -> list[CheckResult]:
    from monitor.service.workers import observe_many

    return observe_many(jobs, started_at)
