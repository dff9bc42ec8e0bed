"""Checks on several cores: a process pool for the fetch-extract-compare step.

Extraction is CPU work and the GIL keeps threads on one core, so a pass over many sources runs
this step in worker processes (forked, one per core), each with an HTTP client of its own built
by the pool's initializer. The parent keeps every database read and write.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import datetime

from monitor.fetch import Fetcher, build_client
from monitor.service.check import Job, observe
from monitor.store.rows import CheckResult

# The worker process's own fetcher, made once by `_start` when the process starts; never set
# in the parent.
_fetcher: Fetcher | None = None


def _start(timeout: float, user_agent: str, max_body: int, retries: int, backoff: float) -> None:
    global _fetcher
    client = build_client(timeout=timeout, user_agent=user_agent, max_connections=4)
    _fetcher = Fetcher(client, max_body=max_body, retries=retries, backoff=backoff)


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


def process_pool(fetcher: Fetcher, user_agent: str, timeout: float, cores: int) -> Executor | None:
    """A pool of `cores` processes, or None where processes cannot be forked."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    return ProcessPoolExecutor(
        max_workers=cores,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start,
        initargs=(timeout, user_agent, fetcher.max_body, fetcher.retries, fetcher.backoff),
    )
