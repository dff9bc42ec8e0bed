"""`per_host` holds in a large pass's worker processes too: their requests to one host are
never more than `per_host` at once, though the processes (one per core) outnumber it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from monitor.demo.site import Article, render
from monitor.service.check import PROCESS_THRESHOLD, worker_processes

from .conftest import source_block, write_config
from .server import LoopServer, Reply, Request


class Counting:
    """Pages that take 10 ms to answer, counting how many requests were in flight at once."""

    def __init__(self, http: LoopServer, html: bytes) -> None:
        self.now = self.most = 0
        self._lock = threading.Lock()
        self.html = html
        self.urls = [http.route(f"/p{i}", self._reply) for i in range(PROCESS_THRESHOLD)]

    def _reply(self, request: Request) -> Reply:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.01)
        with self._lock:
            self.now -= 1
        return Reply(200, self.html, {"Content-Type": "text/html"})


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="worker processes need two cores")
def test_worker_processes_send_one_host_at_most_per_host_requests_at_once(
    http: LoopServer, seed_articles: list[Article], tmp_path: Path
) -> None:
    per_host = 1
    assert worker_processes() > per_host  # more processes than slots: the limit acts
    site = Counting(http, render(seed_articles[0]).encode())
    blocks = "".join(source_block(f"p{i}", url) for i, url in enumerate(site.urls))
    config = write_config(tmp_path, f"[monitor]\nretries = 0\nper_host = {per_host}\n\n" + blocks)
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "check", "--changes-only"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"checked {PROCESS_THRESHOLD} sources" in done.stdout
    # the workers' own clients: a connection each at least (one client would keep one alive)
    assert http.connections >= 2
    assert site.most == per_host
