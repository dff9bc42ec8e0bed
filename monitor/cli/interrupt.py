"""Ctrl-C during a check pass: stop within a second, keep what was checked, exit 130.

The pass runs in a thread of its own so that the main thread, which receives SIGINT, stays free
to cancel it with `Fetcher.cancel_all`: retry waits and body reads end, the requests in flight
have their sockets shut down (a read blocked on a stalled server does not notice an event), and
no new request starts. The pass then stops starting checks, records those that finished (the
cancelled ones are not recorded: they say nothing about the site) and returns; a second Ctrl-C,
or a pass still running after `GRACE` seconds, leaves at once (every write is transactional, so
nothing committed is lost).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Generic, TypeVar, cast

import click

from monitor.cli.common import EXIT_INTERRUPTED
from monitor.fetch import Fetcher

T = TypeVar("T")

GRACE = 5.0


class _Outcome(Generic[T]):
    def __init__(self) -> None:
        self.value: T | None = None
        self.error: BaseException | None = None


def run_interruptibly(work: Callable[[], T], fetcher: Fetcher) -> tuple[T, bool]:
    """`work()`'s result, and whether Ctrl-C interrupted it (the result is then partial).

    Raises what `work` raised; exits 130 itself when the pass does not end within `GRACE`
    seconds of Ctrl-C.
    """
    if threading.current_thread() is not threading.main_thread():
        return work(), False  # signals reach the main thread only: nothing to handle here
    outcome: _Outcome[T] = _Outcome()

    def target() -> None:
        try:
            outcome.value = work()
        except BaseException as exc:  # handed to the main thread, which raises it
            outcome.error = exc

    thread = threading.Thread(target=target, name="check-pass", daemon=True)
    interrupted_at: float | None = None

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted_at
        if interrupted_at is not None:
            _leave("stopped at once; checks in flight were abandoned")
        interrupted_at = time.monotonic()
        fetcher.cancel_all()
        click.echo(
            "\ninterrupted: stopping the checks in flight; what was checked is kept "
            "(Ctrl-C again to quit at once)",
            err=True,
        )

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        thread.start()
        while thread.is_alive():
            thread.join(0.05)
            if interrupted_at is not None and time.monotonic() - interrupted_at > GRACE:
                _leave(f"the checks in flight did not stop within {GRACE:g} s; abandoned")
    finally:
        signal.signal(signal.SIGINT, previous)
    if outcome.error is not None:
        if interrupted_at is not None:
            _leave(f"the pass ended with {outcome.error!r}")
        raise outcome.error
    return cast(T, outcome.value), interrupted_at is not None


def _leave(reason: str) -> None:
    click.echo(f"interrupted: {reason}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # Worker threads still blocked in a request would hold the interpreter's exit; every
    # write is a transaction, so leaving now loses nothing that was committed.
    os._exit(EXIT_INTERRUPTED)
