"""Ctrl-C or SIGTERM during a check pass: stop within a second, keep what was checked, exit
130 (143 for SIGTERM).

The pass runs in a thread of its own so that the main thread, which receives SIGINT, stays free
to cancel it with `Fetcher.cancel_all`: retry waits and body reads end, the requests in flight
have their sockets shut down (a read blocked on a stalled server does not notice an event), and
no new request starts. The pass then stops starting checks, records those that finished (the
cancelled ones are not recorded: they say nothing about the site) and returns; a second Ctrl-C,
or a pass still running after `GRACE` seconds, leaves at once (every write is transactional, so
nothing committed is lost).

SIGTERM (a `timeout` command, a service manager) stops the pass the same way: left to its
default, it ended the process at once, and the browser of a browser check, whose driver learns
of its end only when its pipe closes, lived on for 3 to 15 s.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import BrokenExecutor
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


def run_interruptibly(work: Callable[[], T], fetcher: Fetcher) -> tuple[T, int | None]:
    """`work()`'s result, and the exit status the signal that interrupted it asks for (the
    result is then partial), or None.

    Raises what `work` raised; exits itself when the pass does not end within `GRACE`
    seconds of the signal.
    """
    if threading.current_thread() is not threading.main_thread():
        return work(), None  # signals reach the main thread only: nothing to handle here
    outcome: _Outcome[T] = _Outcome()

    def target() -> None:
        try:
            outcome.value = work()
        except BaseException as exc:  # handed to the main thread, which raises it
            outcome.error = exc

    thread = threading.Thread(target=target, name="check-pass", daemon=True)
    interrupted_at: float | None = None
    status = EXIT_INTERRUPTED

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted_at, status
        if interrupted_at is not None:
            _leave("stopped at once; checks in flight were abandoned", status)
        interrupted_at = time.monotonic()
        status = 128 + signum  # as a shell reports a process the signal ended
        fetcher.cancel_all()
        again = "Ctrl-C" if signum == signal.SIGINT else "the signal"
        click.echo(
            "\ninterrupted: stopping the checks in flight; what was checked is kept "
            f"({again} again to quit at once)",
            err=True,
        )

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        thread.start()
        while thread.is_alive():
            thread.join(0.05)
            if interrupted_at is not None and time.monotonic() - interrupted_at > GRACE:
                _leave(f"the checks in flight did not stop within {GRACE:g} s; abandoned", status)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if outcome.error is not None:
        if interrupted_at is not None and isinstance(outcome.error, BrokenExecutor):
            # a signal to the whole process group (`timeout`, systemd) ends the workers too
            _leave(
                "the worker processes were stopped by the signal too; what was checked is kept",
                status,
            )
        if interrupted_at is not None:
            _leave(f"the pass ended with {outcome.error!r}", status)
        raise outcome.error
    return cast(T, outcome.value), (status if interrupted_at is not None else None)


def _leave(reason: str, status: int) -> None:
    click.echo(f"interrupted: {reason}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # Worker threads still blocked in a request would hold the interpreter's exit; every
    # write is a transaction, so leaving now loses nothing that was committed.
    os._exit(status)
