"""The tests' own process helpers: a pid that now names another process is left alone."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from . import process_helpers
from .process_helpers import HAVE_PROC, descendants, end_all, kill, running


@pytest.mark.skipif(not HAVE_PROC, reason="reads /proc")
def test_a_listed_pid_that_names_another_process_now_is_neither_running_nor_killed() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert proc.pid in descendants(os.getpid())
        assert running(proc.pid)
        # as if the process listed had ended and its pid had gone to a newer one
        listed = process_helpers._STARTED[proc.pid]
        process_helpers._STARTED[proc.pid] = str(int(listed) - 1)
        assert not running(proc.pid)
        assert not kill(proc.pid)
        assert proc.poll() is None  # still alive: not killed for the one listed
        process_helpers._STARTED[proc.pid] = listed
        assert kill(proc.pid)
        assert proc.wait(10) == -9
    finally:
        end_all(proc, set())
