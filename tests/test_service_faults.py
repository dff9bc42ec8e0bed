"""`monitor run` under faults around it: a database locked past the busy timeout, a reload that
adds an SMTP server, a stop while an alert is being sent or a retry waits, a slow host next to a
fast one (issue 14, points 4, 6, 8 and 9)."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from monitor.demo.site import Article, render

from .conftest import SEED_FILES, run, source_block, write_config
from .server import LoopServer, Reply
from .service_helpers import RunningService
from .smtp_helpers import Mailbox, smtp_server

HEAD = '[monitor]\ninterval = "1s"\nretries = 0\ntimeout = "5s"\n\n'


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def services() -> Iterator[list[RunningService]]:
    started: list[RunningService] = []
    yield started
    for service in started:
        if service.proc.poll() is None:
            service.proc.kill()
            service.proc.wait()


def start(started: list[RunningService], config: Path) -> RunningService:
    service = RunningService(config)
    started.append(service)
    return service


def html_route(http: LoopServer, path: str, page: dict[str, str], **reply: Any) -> str:
    return http.route(
        path, lambda r: Reply(200, page["html"].encode(), {"Content-Type": "text/html"}, **reply)
    )


def edited(article: Article, old: str, new: str) -> str:
    assert old in article.teaser
    return render(replace(article, teaser=article.teaser.replace(old, new)))


def test_a_database_locked_past_the_busy_timeout_does_not_stop_the_service(
    http: LoopServer, services: list[RunningService], seed_articles: list[Article], tmp_path: Path
) -> None:
    page = {"html": render(seed_articles[0])}
    url = html_route(http, "/a", page)
    config = write_config(tmp_path, HEAD + source_block("a", url))
    service = start(services, config)
    service.wait_for(lambda: service.events("check", source="a"))
    db = tmp_path / "monitor.db"
    holder = sqlite3.connect(db, timeout=1, isolation_level=None)
    holder.execute("begin exclusive")
    try:
        # heartbeats fail (after SQLite's 30 s busy timeout, or waiting for the checks' writes
        # that wait it out), and the service goes on
        service.wait_for(lambda: service.events("heartbeat not written"), timeout=60)
        # as no heartbeat lands, the health check comes to say the service is not working
        service.wait_for(lambda: run(config, "status", "--service").exit_code == 1, timeout=30)
        # past the busy timeout: the writes that waited for it failed, and it still runs
        service.wait_for(
            lambda: any("database is locked" in line.get("error", "") for line in service.lines),
            timeout=60,
        )
    finally:
        holder.rollback()
        holder.close()
    stored = len(rows(db, "select id from checks"))
    service.wait_for(lambda: run(config, "status", "--service").exit_code == 0)
    service.wait_for(lambda: len(rows(db, "select id from checks")) > stored)
    assert service.stop() == 0


def test_sighup_that_adds_an_smtp_host_sends_the_next_alert_through_it(
    http: LoopServer, services: list[RunningService], seed_articles: list[Article], tmp_path: Path
) -> None:
    article = seed_articles[0]
    page = {"html": edited(article, "rare trip", "rare journey")}
    url = html_route(http, "/a", page)
    email = '[email]\nto = ["ed@example.org"]\n'
    config = write_config(
        tmp_path, HEAD + email + "\n" + source_block("a", url, SEED_FILES[0].name)
    )
    service = start(services, config)
    service.wait_for(lambda: service.events("alerts", sent=1))
    outbox = tmp_path / "outbox"
    assert len(list(outbox.glob("*.eml"))) == 1
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        smtp = f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        config.write_text(config.read_text().replace(email, email + smtp))
        service.signal(signal.SIGHUP)
        service.wait_for(lambda: service.events("config reloaded"))
        page["html"] = edited(article, "rare trip", "rare outing")
        service.wait_for(lambda: mailbox.to("ed@example.org"), timeout=30)
        assert service.stop() == 0
    assert len(list(outbox.glob("*.eml"))) == 1  # no second file: the change went by SMTP
    assert rows(tmp_path / "monitor.db", "select status from alerts order by id") == [
        ("sent",),
        ("sent",),
    ]


class SlowMailbox(Mailbox):
    """Takes a while to accept each message, and says when one has started arriving."""

    def __init__(self) -> None:
        super().__init__()
        self.receiving = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.receiving += 1
        await asyncio.sleep(3)
        return await super().handle_DATA(server, session, envelope)


def test_stop_waits_for_the_alert_being_sent(
    http: LoopServer, services: list[RunningService], seed_articles: list[Article], tmp_path: Path
) -> None:
    page = {"html": edited(seed_articles[0], "rare trip", "rare journey")}
    url = html_route(http, "/a", page)
    mailbox = SlowMailbox()
    with smtp_server(mailbox) as port:
        email = (
            f'[email]\nto = ["ed@example.org"]\nhost = "127.0.0.1"\nport = {port}\n'
            'security = "none"\n\n'
        )
        config = write_config(tmp_path, HEAD + email + source_block("a", url, SEED_FILES[0].name))
        service = start(services, config)
        service.wait_for(lambda: mailbox.receiving, timeout=30)
        service.signal(signal.SIGTERM)
        assert service.proc.wait(30) == 0
    assert len(mailbox.to("ed@example.org")) == 1
    # the sender marked it sent before the database was closed: it is not sent again
    assert rows(tmp_path / "monitor.db", "select status from alerts") == [("sent",)]


def test_stop_is_not_held_by_a_long_retry_after(
    http: LoopServer, services: list[RunningService], tmp_path: Path
) -> None:
    url = http.route("/busy", lambda r: Reply(503, b"busy", {"Retry-After": "50"}))
    head = HEAD.replace("retries = 0", "retries = 1").replace('"5s"', '"2s"')
    config = write_config(tmp_path, head + source_block("busy", url))
    service = start(services, config)
    service.wait_for(lambda: http.hits("/busy"))
    service.signal(signal.SIGTERM)
    assert service.proc.wait(40) == 0
    (stopped,) = service.events("service stopped")
    assert stopped["abandoned"] == 0
    # the check was cut short by the stop: not a failure of the site, so nothing is recorded
    assert rows(tmp_path / "monitor.db", "select outcome from checks") == []


def test_a_slow_host_does_not_hold_back_the_checks_of_another_host(
    http: LoopServer, services: list[RunningService], seed_articles: list[Article], tmp_path: Path
) -> None:
    html = render(seed_articles[0]).encode()
    reply = {"headers": {"Content-Type": "text/html"}}
    slow_ids = [f"slow{i}" for i in range(4)]
    fast = LoopServer()  # another port: another host for `per_host`
    with fast.running():
        blocks = [
            source_block(i, http.route(f"/{i}", lambda r: Reply(200, html, delay=8, **reply)))
            for i in slow_ids
        ]
        blocks.append(
            source_block("fast", fast.route("/fast", lambda r: Reply(200, html, **reply)))
        )
        head = HEAD.replace("[monitor]\n", "[monitor]\nconcurrency = 3\nper_host = 1\n")
        service = start(services, write_config(tmp_path, head + "".join(blocks)))
        service.wait_for(lambda: len(service.events("check", source="fast")) >= 5, timeout=40)
        slow_done = [e for e in service.events("check") if e["source"] in slow_ids]
        # five checks of the fast host while the slow one, a request at a time, answered at
        # most two: its waiting checks did not take the threads
        assert len(slow_done) <= 2
        assert service.stop() == 0


def test_status_reports_checks_that_cannot_keep_up_while_the_health_check_passes(
    http: LoopServer, services: list[RunningService], seed_articles: list[Article], tmp_path: Path
) -> None:
    html = render(seed_articles[0]).encode()
    reply = {"headers": {"Content-Type": "text/html"}}
    # twelve sources due every second, on a host answering one request at a time in 2.5 s:
    # most wait in the queue far longer than their interval and the longest check allow
    slow_ids = [f"slow{i}" for i in range(12)]
    fast = LoopServer()
    with fast.running():
        blocks = [
            source_block(i, http.route(f"/{i}", lambda r: Reply(200, html, delay=2.5, **reply)))
            for i in slow_ids
        ]
        fast_url = fast.route("/fast", lambda r: Reply(200, html, **reply))
        blocks.append(source_block("fast", fast_url))
        head = HEAD.replace('"5s"', '"3s"').replace("[monitor]\n", "[monitor]\nper_host = 1\n")
        config = write_config(tmp_path, head + "".join(blocks))
        service = start(services, config)

        def overdue() -> dict[str, Any] | None:
            result = run(config, "status", "--json")
            state = json.loads(result.output)
            return state if state["overdue"] and result.exit_code == 1 else None

        state = service.wait_for(overdue, timeout=90)
        late = {s["id"] for s in state["sources"] if s["overdue"]}
        assert late and late <= set(slow_ids)
        assert {s["state"] for s in state["sources"] if s["overdue"]} == {"overdue"}
        assert state["healthy"] is False and state["alive"] is True
        # the service itself works: the health check passes
        assert run(config, "status", "--service").exit_code == 0
        text = run(config, "status")
        assert text.exit_code == 1 and "overdue" in text.output
        assert service.stop() == 0
