"""Checks on several cores: a process pool for the fetch-extract-compare step.

Extraction is CPU work and the GIL keeps threads on one core, so a pass over many sources runs
this step in worker processes (one per core), each with an HTTP client of its own built by the
pool's initializer. The parent keeps every database read and write.

The workers are started by a fork server (else spawned), never forked from the parent: the
parent runs threads (alert delivery, the pass itself, the HTTP pool), and a fork copies the locks
they hold into a child that has none of them, where they stay held for ever; it would copy the
parent's open database as well. Each worker watches two things in a thread of its own: the
pool's cancel event (Ctrl-C: its requests end at once, so its unit returns what it finished) and
a pipe only the parent writes to, which ends when the parent does (killed, even by SIGKILL: the
worker exits instead of waiting for work for ever; its direct parent is the fork server, which
itself waits for the workers).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event

from monitor.fetch import Fetcher, build_client
from monitor.service.check import Job, observe
from monitor.store.rows import CheckResult

# How often a worker looks whether its parent is still there.
WATCH_SECONDS = 0.2

# The worker process's own fetcher, made once by `_start` when the process starts; never set
# in the parent.
_fetcher: Fetcher | None = None


def _start(
    timeout: float,
    user_agent: str,
    max_body: int,
    retries: int,
    backoff: float,
    cancel: Event,
    parent: Connection,
) -> None:
    global _fetcher
    # Ctrl-C on a terminal reaches the whole process group: the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    client = build_client(timeout=timeout, user_agent=user_agent, max_connections=4)
    _fetcher = Fetcher(client, max_body=max_body, retries=retries, backoff=backoff)
    watch = threading.Thread(target=_watch, args=(_fetcher, cancel, parent), daemon=True)
    watch.start()


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
    assert _fetcher is not None, "a worker process starts with _start"
    results = []
    for job in jobs:
        try:
            results.append(observe(job, _fetcher, started_at))
        except Exception as exc:  # a bug in one source's check must not stop the others
            results.append(
                CheckResult(job.source.id, "error", started_at, error=f"internal error: {exc!r}")
            )
    return results


def process_pool(
    fetcher: Fetcher, user_agent: str, timeout: float, cores: int
) -> tuple[Executor, Callable[[], None]]:
    """A pool of `cores` processes, and the function that cancels the requests of all of
    them (after which each unit returns at once, its remaining checks "cancelled")."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        # imported once by the server, not by every worker
        context.set_forkserver_preload([__name__])
    cancel = context.Event()
    listen, alive = context.Pipe(duplex=False)
    pool = ProcessPoolExecutor(
        max_workers=cores,
        mp_context=context,
        initializer=_start,
        initargs=(
            timeout,
            user_agent,
            fetcher.max_body,
            fetcher.retries,
            fetcher.backoff,
            cancel,
            listen,
        ),
    )
    return pool, _Cancel(cancel, alive)


@dataclass(frozen=True)
class _Cancel:
    """Cancels the workers' requests when called; holds the only write end of the workers'
    parent pipe for as long as the pass holds it."""

    event: Event
    alive: Connection

    def __call__(self) -> None:
        self.event.set()
