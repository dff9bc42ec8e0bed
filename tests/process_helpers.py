"""The processes below a process, read from /proc (Linux): which worker processes a pass
started, whether they are gone, and how to kill the ones left after a failed test.

A pid names a process only while it lives: the machine's 32,768 pids wrap within a test
run that starts thousands of browsers and workers, and a pid listed earlier may name another
test's process by the time it is looked at again. So each process listed here is known by its
pid and its start time, and one whose pid now names another process is neither running nor
killed for it (a browser of another test, killed so, failed that test as a crash).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HAVE_PROC = Path("/proc/self/stat").exists()


def _stat(pid: int | str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()  # the name in brackets may hold spaces


# When each process listed by `descendants` started (/proc's `starttime`), by pid.
_STARTED: dict[int, str] = {}
_START_TIME = 19  # `starttime`, the stat file's 22nd field, after the pid and the name


def descendants(pid: int) -> set[int]:
    """Every process below `pid`."""
    children: dict[int, list[int]] = {}
    started: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(entry.name)) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            started[int(entry.name)] = fields[_START_TIME]
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                _STARTED[child] = started[child]
                todo.append(child)
    return found


def running(pid: int) -> bool:
    """Whether `pid` exists and has not exited (a zombie has), and is the process that
    `descendants` listed under it, if it listed one."""
    fields = _stat(pid)
    if fields is None or fields[0] == "Z":
        return False
    return _STARTED.get(pid, fields[_START_TIME]) == fields[_START_TIME]


def kill(pid: int) -> bool:
    """SIGKILL `pid` if it is still the process listed under it; whether it was sent."""
    try:
        handle = os.pidfd_open(pid)  # names this process, whatever its pid comes to name
    except OSError:  # gone
        return False
    try:
        if not running(pid):
            return False
        signal.pidfd_send_signal(handle, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False
    finally:
        os.close(handle)


def end_all(proc: subprocess.Popen[bytes] | subprocess.Popen[str], below: set[int]) -> None:
    """Kill what is left of `proc` and of the processes listed below it, then reap `proc`
    (`Popen.kill` knows whether its own pid is still its own)."""
    for pid in below:
        kill(pid)
    if proc.poll() is None:
        proc.kill()
    proc.wait()


@contextmanager
def watching_children() -> Iterator[set[int]]:
    """The processes that appeared below this one while the block ran (sampled)."""
    before = descendants(os.getpid())
    seen: set[int] = set()
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            seen.update(descendants(os.getpid()) - before)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join()
