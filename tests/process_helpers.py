"""The processes below a process, read from /proc (Linux): which worker processes a pass
started, and whether they are gone."""

from __future__ import annotations

import os
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


def descendants(pid: int) -> set[int]:
    """Every process below `pid`."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(entry.name)) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def running(pid: int) -> bool:
    """Whether `pid` exists and has not exited (a zombie has)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


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
