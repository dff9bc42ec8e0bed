"""A worker process fetches a unit's pages first, then reads them (`observe.prefetch`): each
check still gets its own response, its own failure and its whole duration."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

import monitor.service.workers as workers
from monitor.config.settings import load_settings
from monitor.demo.site import Article, render
from monitor.fetch import Fetcher, build_client
from monitor.service.observe import Job
from monitor.store.rows import CheckResult

from .conftest import source_block, write_config
from .server import LoopServer, Reply, Request


def _unit(http: LoopServer, article: Article, tmp_path: Path) -> list[Job]:
    html = render(article).encode()

    def slow(request: Request) -> Reply:
        time.sleep(0.2)
        return Reply(200, html, {"Content-Type": "text/html"})

    urls = [
        http.route("/slow", slow),
        http.static("/gone", "<html><title>Gone</title></html>", status=404),
        http.static("/fine", html, Content_Type="text/html"),
    ]
    blocks = "".join(source_block(f"s{i}", url) for i, url in enumerate(urls))
    settings = load_settings(write_config(tmp_path, "[monitor]\nretries = 0\n\n" + blocks))
    early = CheckResult("s3", "error", datetime.now(UTC), error="failed before fetching")
    jobs = [Job(source, None, reading="r") for source in settings.sources]
    return [*jobs[:2], Job(jobs[2].source, None, early=early), jobs[2]]


@pytest.mark.parametrize("ahead", [16 << 20, 0], ids=["all fetched first", "one at a time"])
def test_a_unit_fetched_ahead_gives_each_check_its_answer_and_whole_duration(
    http: LoopServer,
    seed_articles: list[Article],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ahead: int,
) -> None:
    jobs = _unit(http, seed_articles[0], tmp_path)
    client = build_client(timeout=5.0, user_agent="monitor-test/1")
    monkeypatch.setattr(workers, "_fetcher", Fetcher(client, max_body=1 << 20, retries=0))
    monkeypatch.setattr(workers, "_slots", (threading.BoundedSemaphore(2),))
    monkeypatch.setattr(workers, "PREFETCH_BYTES", ahead)
    try:
        results = workers.observe_many(jobs, datetime.now(UTC))
    finally:
        client.close()
    assert [r.outcome for r in results] == ["new", "error", "error", "new"]
    assert "404" in (results[1].error or "")
    assert results[2].error == "failed before fetching"
    assert results[0].duration_ms >= 200  # the request's time counts, fetched ahead or not
    assert len(http.hits("/fine")) == 1  # the early job sent no request of its own
