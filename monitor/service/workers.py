"""Checks on several cores: a process pool for the fetch-extract-compare step.

Extraction is CPU work and the GIL keeps threads on one core, so a pass over many sources runs
this step in worker processes (one per core), each with an HTTP client of its own built by the
pool's initializer. The parent keeps every database read and write.

A fork copies into the child the locks that the parent's other threads hold at that moment
(alert delivery, the pass itself), where they stay held for ever, and the parent's open database
files. So the workers are forked from the parent only when it asks for them early: before it
opens the database, and while it runs no other thread (checked here); `monitor check` does, and
its workers start at once, sharing the modules it has already imported. Otherwise (the service,
whose threads never stop) they are started by a fork server, else spawned, which costs a Python
start-up and the imports again. Each worker watches two things in a thread of its own: the
pool's cancel event (Ctrl-C: its requests end at once, so its unit returns what it finished) and
a pipe only the parent writes to, which ends when the parent does (killed, even by SIGKILL: the
worker exits instead of waiting for work for ever; its direct parent is the fork server, which
itself waits for the workers).
"""

from __future__ import annotations

import gc
import importlib
import multiprocessing
import os
import signal
import threading
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event, Semaphore

from monitor.fetch import Fetcher, build_client
from monitor.fetch.http import tls_context
from monitor.service.observe import Fetched, Job, host_key, observe, prefetch
from monitor.store.rows import CheckResult

# What a worker process extracts with: imported by the worker itself, not inherited.
_EXTRACTOR = "monitor.detect.extract"

# The most a worker holds of a unit's pages fetched ahead of their reading: 32 pages of a few
# hundred kilobytes; a unit of larger ones is read as it is fetched past this.
PREFETCH_BYTES = 16 << 20

# How often a worker looks whether its parent is still there.
WATCH_SECONDS = 0.2

# Hosts share this many `per_host` limits across the worker processes: two hosts whose names
# hash to the same one share its slots (fewer requests at once, never more).
STRIPES = 61

# The worker process's own fetcher, made once by `_start` when the process starts; never set
# in the parent. And the pool's per-host limits, shared by its processes.
_fetcher: Fetcher | None = None
_slots: tuple[Semaphore, ...] = ()


def _slot(url: str) -> Semaphore:
    return _slots[zlib.crc32(host_key(url).encode()) % len(_slots)]


def _start(
    timeout: float,
    user_agent: str,
    max_body: int,
    retries: int,
    backoff: float,
    cancel: Event,
    parent: Connection,
    slots: tuple[Semaphore, ...],
    own_end: Connection | None = None,
) -> None:
    global _fetcher, _slots
    _slots = slots
    if own_end is not None:
        # a forked worker holds a copy of the parent's end of the pipe: closed, so that the
        # pipe still ends when the parent does
        own_end.close()
    # Ctrl-C on a terminal reaches the whole process group: the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    client = build_client(timeout=timeout, user_agent=user_agent, max_connections=4)
    _fetcher = Fetcher(client, max_body=max_body, retries=retries, backoff=backoff)
    watch = threading.Thread(target=_watch, args=(_fetcher, cancel, parent), daemon=True)
    watch.start()
    # The extractor, which the parent does not import (see `observe`), loads now, while the
    # parent opens the database, rather than in the first unit; in a thread, because the
    # parent waits for a worker's start (`process_pool`) and not for this.
    threading.Thread(target=importlib.import_module, args=(_EXTRACTOR,), daemon=True).start()


def _watch(fetcher: Fetcher, cancel: Event, parent: Connection) -> None:
    cancelled = False
    while True:
        if not cancelled and cancel.is_set():
            fetcher.cancel_all()
            cancelled = True
        # The parent never writes: the pipe turns readable only at its end-of-file, when
        # the parent has exited (its end closed by the kernel, however it died).
        if parent.poll(WATCH_SECONDS):
            os._exit(1)


def observe_many(jobs: list[Job], started_at: datetime) -> list[CheckResult]:
    """Check a unit of jobs: fetch their pages first (up to `PREFETCH_BYTES` of them held at
    once), then read each (`observe.prefetch`)."""
    assert _fetcher is not None, "a worker process starts with _start"
    ahead: list[Fetched | None] = []
    held = 0
    for job in jobs:
        if held > PREFETCH_BYTES:
            break  # the rest are fetched as they are read
        fetched = prefetch(job, _fetcher, _slot)  # what the request raised, it holds
        ahead.append(fetched)
        if fetched is not None and fetched.capture is not None:
            held += len(fetched.capture.body)
    results = []
    for index, job in enumerate(jobs):
        try:
            fetched = ahead[index] if index < len(ahead) else None
            results.append(observe(job, _fetcher, started_at, slot=_slot, fetched=fetched))
        except Exception as exc:  # a bug in one source's check must not stop the others
            results.append(
                CheckResult(job.source.id, "error", started_at, error=f"internal error: {exc!r}")
            )
    return results


def process_pool(
    processes: int,
    *,
    per_host: int,
    timeout: float,
    user_agent: str,
    max_body: int,
    retries: int,
    backoff: float,
    early: bool = False,
) -> tuple[ProcessPoolExecutor, Cancel]:
    """A pool of `processes` processes whose requests to one host are at most `per_host` at
    any moment, and what cancels the requests of all of them (after which each unit returns
    at once, its remaining checks "cancelled").

    `early`: the caller has no database open and the workers may be forked from it now, if it
    runs no other thread (see the module's docstring); they start before this returns.
    """
    if early:
        tls_context()  # also ends its preloading thread, which a fork must not run beside
    fork = (
        early
        and threading.active_count() == 1
        and "fork" in multiprocessing.get_all_start_methods()
    )
    if fork:
        method = "fork"
    elif "forkserver" in multiprocessing.get_all_start_methods():
        method = "forkserver"
    else:
        method = "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        # imported once by the server, not by every worker
        context.set_forkserver_preload([__name__, _EXTRACTOR])
    cancel = context.Event()
    listen, alive = context.Pipe(duplex=False)
    slots = tuple(context.BoundedSemaphore(per_host) for _ in range(STRIPES))
    pool = ProcessPoolExecutor(
        max_workers=processes,
        mp_context=context,
        initializer=_start,
        initargs=(
            timeout,
            user_agent,
            max_body,
            retries,
            backoff,
            cancel,
            listen,
            slots,
            alive if fork else None,
        ),
    )
    if fork:
        # `tls_context` was loaded above: inherited by every worker and used by this process
        # Objects the parent made before the fork stay out of the children's collections,
        # which would otherwise write to (and so copy) every page that holds one.
        gc.freeze()
        try:
            # With fork, the first task starts every worker at once, before the pool's own
            # thread: no thread runs beside the forks.
            pool.submit(os.getpid).result()
        finally:
            gc.unfreeze()
    return pool, Cancel(cancel, alive)


@dataclass(frozen=True)
class Cancel:
    """Cancels the workers' requests when called; holds the only write end of the workers'
    parent pipe for as long as the pass holds it."""

    event: Event
    alive: Connection

    def __call__(self) -> None:
        self.event.set()

    def close(self) -> None:
        """After the pool's shutdown: the pipe ends, which any worker still alive sees."""
        self.alive.close()
