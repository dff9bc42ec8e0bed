"""`monitor run` as a real process against a loopback server whose pages the tests change."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import monitor
from monitor.demo.site import Article, render

from .conftest import SEED_FILES, source_block, write_config
from .server import LoopServer, Reply
from .service_helpers import RunningService

HEAD = '[monitor]\ninterval = "1s"\nretries = 0\ntimeout = "5s"\n\n'


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def service_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    started: list[RunningService] = []

    def start(body: str, head: str = HEAD) -> RunningService:
        config = write_config(tmp_path, head + body)
        service = RunningService(config)
        started.append(service)
        return service

    yield start
    for service in started:
        if service.proc.poll() is None:
            service.proc.kill()
            service.proc.wait()


def test_changes_appear_and_sigterm_exits_0(
    http: LoopServer, service_factory, seed_articles: list[Article], tmp_path: Path
) -> None:
    page = {"html": render(seed_articles[0])}
    url = http.route(
        "/a", lambda r: Reply(200, page["html"].encode(), {"Content-Type": "text/html"})
    )
    service = service_factory(source_block("a", url, SEED_FILES[0].name))
    service.wait_for(lambda: service.events("check", source="a", outcome="unchanged"))
    edited = seed_articles[0].teaser.replace("rare trip", "rare journey")
    page["html"] = render(replace(seed_articles[0], teaser=edited))
    line = service.wait_for(lambda: service.events("check", source="a", outcome="changed"))[0]
    assert line["kinds"] == "teaser_rewritten"
    service.wait_for(lambda: service.events("alerts", sent=1))
    assert service.stop() == 0
    db = tmp_path / "monitor.db"
    assert rows(db, "select kinds from changes") == [('["teaser_rewritten"]',)]
    assert service.events("service stopped")
    # the service sent the alert (no SMTP configured: an .eml file in the outbox)
    assert rows(db, "select status from alerts") == [("sent",)]
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_sigterm_lets_a_slow_check_finish(
    http: LoopServer, service_factory, seed_articles: list[Article], tmp_path: Path
) -> None:
    body = render(seed_articles[0]).encode()
    url = http.route("/slow", lambda r: Reply(200, body, {"Content-Type": "text/html"}, delay=2))
    service = service_factory(source_block("slow", url, SEED_FILES[0].name))
    service.wait_for(lambda: http.hits("/slow"))
    service.signal(signal.SIGTERM)
    assert service.proc.wait(30) == 0
    finished = rows(tmp_path / "monitor.db", "select outcome from checks")
    assert finished == [("unchanged",)]


def test_sighup_adds_a_source_and_refuses_a_broken_config(
    http: LoopServer, service_factory, seed_articles: list[Article], tmp_path: Path
) -> None:
    html = render(seed_articles[0]).encode()
    first = http.route("/one", lambda r: Reply(200, html, {"Content-Type": "text/html"}))
    second = http.route("/two", lambda r: Reply(200, html, {"Content-Type": "text/html"}))
    service = service_factory(source_block("one", first))
    service.wait_for(lambda: service.events("check", source="one"))
    config = tmp_path / "config.toml"
    good = config.read_text()
    config.write_text(good + source_block("two", second))
    service.signal(signal.SIGHUP)
    service.wait_for(lambda: service.events("check", source="two"))
    config.write_text(good + "[[source]]\nid = 'three'\nurl = 'https://x'\ncolour = 'red'\n")
    service.signal(signal.SIGHUP)
    refused = service.wait_for(
        lambda: service.events("config reload refused; the old config keeps running")
    )
    assert "colour" in refused[0]["error"]
    before = len(http.hits("/two"))
    service.wait_for(lambda: len(http.hits("/two")) > before + 1)  # the old config runs on
    assert service.stop() == 0


def test_retries_failing_and_recovery(
    http: LoopServer, service_factory, seed_articles: list[Article], tmp_path: Path
) -> None:
    html = render(seed_articles[0]).encode()
    state = {"down": False}

    def route(request):  # type: ignore[no-untyped-def]
        if state["down"]:
            return Reply(503, b"down", {"Retry-After": "0"})
        if request.hit == 1:
            return Reply(503, b"busy", {"Retry-After": "0"})
        return Reply(200, html, {"Content-Type": "text/html"})

    url = http.route("/f", route)
    service = service_factory(source_block("f", url), HEAD.replace("retries = 0", "retries = 1"))
    config = service.config
    # 503 then 200 within one check: a retry, and a good check
    service.wait_for(lambda: service.events("check", source="f", outcome="new"))
    assert len(http.hits("/f")) >= 2
    state["down"] = True
    service.wait_for(lambda: service.events("source failing", source="f"))
    status = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "status", "--json"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    data = json.loads(status.stdout)
    assert status.returncode == 1
    assert data["alive"] is True and data["sources"][0]["state"] == "failing"
    assert "HTTP 503" in data["sources"][0]["last_error"]
    state["down"] = False
    service.wait_for(lambda: service.events("source recovered", source="f"))
    assert service.stop() == 0
    kinds = [r[0] for r in rows(tmp_path / "monitor.db", "select kind from events order by id")]
    assert kinds == ["failing", "recovered"]


def test_one_writer_and_readers_alongside(
    http: LoopServer, service_factory, seed_articles: list[Article]
) -> None:
    html = render(seed_articles[0]).encode()
    url = http.route("/a", lambda r: Reply(200, html, {"Content-Type": "text/html"}))
    service = service_factory(source_block("a", url, SEED_FILES[0].name))
    service.wait_for(lambda: service.events("check", source="a"))
    second = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(service.config), "run"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert second.returncode == 1
    assert "already using" in second.stderr
    for args in (["check", "--json"], ["history", "a"], ["changes"], ["status"]):
        result = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(service.config), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, (args, result.stderr)
    assert service.stop() == 0


def test_a_start_with_50_sources_spreads_the_first_checks(
    http: LoopServer, service_factory, seed_articles: list[Article]
) -> None:
    html = render(seed_articles[0]).encode()
    blocks = []
    for i in range(50):
        url = http.route(f"/p{i}", lambda r: Reply(200, html, {"Content-Type": "text/html"}))
        blocks.append(source_block(f"p{i}", url))
    body = "".join(blocks).replace("[[source]]", '[[source]]\ninterval = "4s"')
    service = service_factory(body)
    started = service.wait_for(lambda: service.events("service started"))[0]
    service.wait_for(lambda: len({r.path for r in http.requests}) == 50, timeout=30)
    assert service.stop() == 0
    from datetime import datetime

    t0 = datetime.fromisoformat(started["time"].replace("Z", "+00:00"))
    seconds = sorted(
        (datetime.fromisoformat(e["time"].replace("Z", "+00:00")) - t0).total_seconds()
        for e in service.events("check")
    )[:50]
    assert sum(1 for s in seconds if s < 1.0) < 25  # far from all at once
    assert seconds[-1] < 4.5 + 0.5  # and all within the first interval (plus jitter)


def test_sighup_that_removes_a_source_stops_its_checks_and_keeps_the_others(
    http: LoopServer, service_factory, seed_articles: list[Article], tmp_path: Path
) -> None:
    html = render(seed_articles[0]).encode()
    kept = http.route("/kept", lambda r: Reply(200, html, {"Content-Type": "text/html"}))
    gone = http.route("/gone", lambda r: Reply(200, html, {"Content-Type": "text/html"}))
    service = service_factory(source_block("kept", kept) + source_block("gone", gone))
    service.wait_for(lambda: len(http.hits("/gone")) >= 2 and len(http.hits("/kept")) >= 2)
    config = tmp_path / "config.toml"
    config.write_text(HEAD + source_block("kept", kept))
    service.signal(signal.SIGHUP)
    service.wait_for(lambda: service.events("sources removed", sources="gone"))
    # once the kept source has been checked twice since, no check of the removed one is in flight
    after = len(http.hits("/kept"))
    service.wait_for(lambda: len(http.hits("/kept")) >= after + 2)
    gone_hits = len(http.hits("/gone"))
    service.wait_for(lambda: len(http.hits("/kept")) >= after + 5)
    assert len(http.hits("/gone")) == gone_hits
    assert service.stop() == 0


@pytest.mark.parametrize("edited", ["detect/extract.py", "fetch/browser.py"])
def test_a_service_whose_code_is_upgraded_under_it_stops_to_be_started_again(
    tmp_path: Path, edited: str
) -> None:
    """Left running beside a newer `monitor check`, the two would take each other's readings
    for another reading's and re-read every page as a new reference, reporting no edit."""
    installed = tmp_path / "site"
    shutil.copytree(
        Path(monitor.__file__).parent,
        installed / "monitor",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    config = write_config(tmp_path, '[monitor]\ninterval = "1h"\n')
    # run elsewhere than in the checkout, whose package `python -m` would find first
    service = RunningService(config, env={"PYTHONPATH": str(installed)}, cwd=tmp_path)
    try:
        service.wait_for(lambda: service.events("service started"))
        with (installed / "monitor" / edited).open("a") as code:
            code.write("\n# a new version\n")
        assert service.proc.wait(30) == 75
    finally:
        if service.proc.poll() is None:
            service.proc.kill()
            service.proc.wait()
    upgraded = "monitor was upgraded while this service ran: stopping, to be started again"
    [line] = [e for e in service.lines if str(e.get("event", "")).startswith(upgraded)]
    assert line["exit"] == 75
    assert service.events("service stopped")
