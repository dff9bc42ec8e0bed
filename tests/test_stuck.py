"""`monitor status` tells a check stuck in flight from one never started (issue 14): a real
`monitor run` against loopback servers, with one check held past every timeout.

No server can hold a check any more (a request has a total deadline, headers included), so the
held check hangs inside the check itself, as a bug there would: `tests/hang_hook` is put on the
service's PYTHONPATH and holds every check of a `/hold` URL until the test releases it
(bounded: two minutes). Whatever holds a check, the service sees the same thing: a check that
began long ago and has not ended.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from starlette.testclient import TestClient

from monitor.demo.site import Article, render
from monitor.views.web import create_app

from .conftest import run, source_block, write_config
from .server import LoopServer, Reply
from .service_helpers import RunningService
from .store_helpers import database_before

# timeout 1 s, no retry, no confirming request: a check may take 1 s, and is stuck past 11 s
HEAD = (
    '[monitor]\ninterval = "1s"\ntimeout = "1s"\nretries = 0\nconfirm = false\n'
    "per_host = 1\nconcurrency = {workers}\n\n"
)
LIMIT = 11.0
HOOK = Path(__file__).parent / "hang_hook"


class HoldingServer:
    """A host of its own whose `/hold` checks the service's hook holds until `release()`;
    every path answers `page` at once."""

    def __init__(self, server: LoopServer, page: bytes, folder: Path) -> None:
        self.server = server
        self.page = page
        self.release_file = folder / "release"

    def url(self, path: str) -> str:
        return self.server.route(
            path, lambda r: Reply(200, self.page, {"Content-Type": "text/html"})
        )

    @property
    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": str(HOOK), "MONITOR_TEST_RELEASE": str(self.release_file)}

    def held(self) -> int:
        marks = self.release_file.with_name("release.held")
        return len(marks.read_text().splitlines()) if marks.exists() else 0

    def release(self) -> None:
        self.release_file.touch()


@pytest.fixture
def holding(seed_articles: list[Article], tmp_path: Path) -> Iterator[HoldingServer]:
    server = LoopServer()
    holder = HoldingServer(server, render(seed_articles[0]).encode(), tmp_path)
    with server.running():
        try:
            yield holder
        finally:
            holder.release()


@contextmanager
def service_of(config: Path, env: dict[str, str] | None = None) -> Iterator[RunningService]:
    service = RunningService(config, env)
    try:
        yield service
    finally:
        if service.proc.poll() is None:
            service.proc.kill()
            service.proc.wait()


def status_json(config: Path) -> tuple[int, dict[str, Any]]:
    result = run(config, "status", "--json")
    return result.exit_code, json.loads(result.output)


def by_id(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in state["sources"]}


def test_a_check_held_past_its_limit_is_stuck_and_its_host_s_other_source_overdue(
    holding: HoldingServer, http: LoopServer, seed_articles: list[Article], tmp_path: Path
) -> None:
    html = render(seed_articles[0]).encode()
    fast = http.route("/fast", lambda r: Reply(200, html, {"Content-Type": "text/html"}))
    config = write_config(
        tmp_path,
        HEAD.format(workers=2)
        + source_block("held", holding.url("/hold"))
        # the same host as `held`: with per_host = 1 it waits for the held check to end
        + source_block("late", holding.url("/late"))
        + source_block("fast", fast),
    )
    with service_of(config, holding.env) as service:

        def stuck_and_overdue() -> tuple[int, dict[str, Any]] | None:
            code, state = status_json(config)
            sources = by_id(state)
            seen = sources["held"]["state"] == "stuck" and sources["late"]["state"] == "overdue"
            return (code, state) if seen else None

        code, state = service.wait_for(stuck_and_overdue, timeout=90)
        sources = by_id(state)
        assert code == 1 and state["healthy"] is False
        assert state["stuck"] == 1 and sources["held"]["stuck"] is True
        assert sources["held"]["overdue"] is False  # counted once, as stuck
        assert state["overdue"] == 1 and sources["late"]["overdue"] is True
        assert sources["late"]["stuck"] is False  # never started: not stuck
        # another host's source is still checked: neither stuck nor overdue
        assert sources["fast"]["state"] not in ("stuck", "overdue")
        (held,) = [c for c in state["in_flight"] if c["stuck"]]
        assert held["source"] == "held"
        assert held["limit_seconds"] == LIMIT
        assert held["running_seconds"] > held["limit_seconds"]
        # one worker of two stuck: the service still works, the health check passes
        assert state["working"] is True and state["workers"] == 2
        assert run(config, "status", "--service").exit_code == 0

        text = run(config, "status")
        assert text.exit_code == 1
        assert "held: check stuck, running for" in text.output
        assert "past the 11s a check may take" in text.output

        # the web UI, which has no config, judges by the limit the service recorded
        with TestClient(create_app(tmp_path / "monitor.db")) as client:
            page = HTMLParser(client.get("/sources").text)
        notice = page.css_first("#stuck")
        assert notice is not None and "1 check stuck" in notice.text()
        assert "every worker" not in notice.text()  # one of two
        assert [a.text() for a in notice.css("a")] == ["held"]
        health = {
            row.css("a")[0].text(): row.css("td")[3].attributes["class"]
            for row in page.css("#sources tr")[1:]
        }
        assert health["held"] == "state-stuck"
        assert health["fast"] != "state-stuck"

        holding.release()
        # the held request ends: nothing is stuck any more
        service.wait_for(lambda: status_json(config)[1]["stuck"] == 0, timeout=60)
        assert service.stop() == 0


def test_every_worker_stuck_fails_the_health_check_until_one_is_free(
    holding: HoldingServer, http: LoopServer, seed_articles: list[Article], tmp_path: Path
) -> None:
    html = render(seed_articles[0]).encode()
    fast = http.route("/fast", lambda r: Reply(200, html, {"Content-Type": "text/html"}))
    config = write_config(
        tmp_path,
        HEAD.format(workers=1)
        + source_block("held", holding.url("/hold"))
        + source_block("fast", fast),
    )
    with service_of(config, holding.env) as service:

        def stalled() -> dict[str, Any] | None:
            result = run(config, "status", "--service", "--json")
            state = json.loads(result.output)
            return state if result.exit_code == 1 and state["alive"] else None

        state = service.wait_for(stalled, timeout=90)
        assert state["working"] is False
        assert state["stuck"] == 1 and state["workers"] == 1
        text = run(config, "status", "--service")
        assert text.exit_code == 1
        assert "service stalled: all 1 workers hold a stuck check" in text.output

        holding.release()
        # the worker is free again: the health check passes without a restart
        service.wait_for(lambda: run(config, "status", "--service").exit_code == 0, timeout=60)
        assert service.stop() == 0


def test_a_normal_run_with_a_check_in_flight_shows_nothing_stuck_or_overdue(
    http: LoopServer, seed_articles: list[Article], tmp_path: Path
) -> None:
    html = render(seed_articles[0]).encode()
    headers = {"Content-Type": "text/html"}
    # answers after 2 s, within its 5 s timeout: long enough for heartbeats to see it running
    slow = http.route("/slow", lambda r: Reply(200, html, headers, delay=2))
    fast = http.route("/fast", lambda r: Reply(200, html, headers))
    head = HEAD.format(workers=2).replace('timeout = "1s"', 'timeout = "5s"')
    config = write_config(tmp_path, head + source_block("slow", slow) + source_block("fast", fast))
    with service_of(config) as service:

        def slow_in_flight() -> tuple[int, dict[str, Any]] | None:
            code, state = status_json(config)
            running = [c for c in state["in_flight"] if c["source"] == "slow"]
            checked = all(s["last_check_at"] for s in state["sources"])
            return (code, state) if running and checked else None

        code, state = service.wait_for(slow_in_flight, timeout=60)
        assert code == 0 and state["healthy"] is True
        assert state["stuck"] == 0 and state["overdue"] == 0
        (running,) = [c for c in state["in_flight"] if c["source"] == "slow"]
        assert running["stuck"] is False and running["limit_seconds"] == 5 + 10
        assert {s["state"] for s in state["sources"]} == {"healthy"}
        assert run(config, "status", "--service").exit_code == 0
        assert service.stop() == 0


def test_the_in_flight_step_adds_its_columns_once_and_again_changes_nothing(
    tmp_path: Path,
) -> None:
    from monitor.store.schema import m008_in_flight, migrate

    db = database_before(tmp_path / "old.db", "m008")
    db.table("service").insert({"id": 1, "pid": 7, "heartbeat_at": "2026-01-01T00:00:00Z"})
    migrate(db)
    columns = db.table("service").columns_dict
    assert {"in_flight", "workers", "check_limit"} <= columns.keys()
    m008_in_flight(db)  # applied twice: no error, nothing changed
    assert db.table("service").columns_dict == columns
    assert [row["pid"] for row in db.table("service").rows] == [7]
