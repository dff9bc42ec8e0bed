"""Large watch lists (issue 17): `status` and the web UI show a page of sources with the counts of
all of them, and the store reads a set of sources in one query. The timings are measured by
`bench/scale.py`, never here."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import monitor.views.web as web
from monitor.app import open_app
from monitor.config.settings import Source, load_settings
from monitor.errors import StoreError
from monitor.service.scheduler import Scheduler
from monitor.store import heartbeat
from monitor.store.db import Store

from .conftest import SEED_FILES, run, write_config

N = 120  # more than a page of `status` (100) and two of the web UI (50)
WORDS = SEED_FILES[0].read_text(encoding="utf-8").split()
NOTICE = "Members-Only Content\nThis article is reserved for members. Join to read on."
EDITED = (3, 57, 88)  # the sources whose teaser is edited before the second pass
FAILING = "report-119"  # reads a file that is not there


def source_id(i: int) -> str:
    return f"report-{i:03d}"


def snapshot(i: int, edited: bool = False) -> str:
    words = WORDS[i % 50 : i % 50 + 60]
    if edited:
        words[5] = "rewritten"
    teaser = f"Report {i}. " + " ".join(words)
    return f"{teaser}\n{NOTICE}\n{teaser[:200]}\n"


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """N sources from local snapshot files, checked twice: 3 changes, 1 failing source."""
    folder = tmp_path_factory.mktemp("many")
    (folder / "pages").mkdir()
    lines = ["[monitor]", "failing_after = 1", ""]
    for i in range(N):
        if source_id(i) != FAILING:
            (folder / "pages" / f"{i}.txt").write_text(snapshot(i), encoding="utf-8")
        lines += ["[[source]]", f'id = "{source_id(i)}"', f'url = "pages/{i}.txt"', ""]
    config = write_config(folder, "\n".join(lines), seeds=False)
    assert run(config, "check").exit_code == 1  # the missing file
    for i in EDITED:
        (folder / "pages" / f"{i}.txt").write_text(snapshot(i, edited=True), encoding="utf-8")
    assert run(config, "check").exit_code == 1
    return config


@pytest.fixture
def client(many: Path) -> Iterator[TestClient]:
    with TestClient(web.create_app(many.parent / "monitor.db")) as client:
        yield client


def listed(text: str) -> list[str]:
    return re.findall(r"report-\d{3}", text)


def test_status_table_shows_a_page_and_counts_every_source(many: Path) -> None:
    first = run(many, "status")
    shown = listed(first.output.split("\n\n")[0])
    assert sorted(set(shown)) == [source_id(i) for i in range(100)]
    assert "sources 1-100 of 120, 1 failing; next: --offset 100" in first.output
    assert first.exit_code == 1
    rest = run(many, "status", "--offset", "100")
    assert sorted(set(listed(rest.output))) == [source_id(i) for i in range(100, 120)]
    assert "next:" not in rest.output and "sources 101-120 of 120" in rest.output
    every = run(many, "status", "--all")
    assert sorted(set(listed(every.output))) == [source_id(i) for i in range(N)]
    assert "--all lists every one" not in every.output


def test_status_json_lists_every_source_unless_a_page_is_asked(many: Path) -> None:
    whole = json.loads(run(many, "status", "--json").output)
    assert len(whole["sources"]) == whole["total"] == N
    page = json.loads(run(many, "status", "--json", "--limit", "5", "--offset", "10").output)
    assert [s["id"] for s in page["sources"]] == [source_id(i) for i in range(10, 15)]
    # the failing source is not on the page, and still counted
    assert (page["total"], page["failing"], page["offset"]) == (N, 1, 10)
    assert page["healthy"] is False
    assert all(s["state"] == "healthy" for s in page["sources"])


def test_web_sources_page_is_paginated(client: TestClient) -> None:
    first = client.get("/sources").text
    assert listed_links(first) == [source_id(i) for i in range(50)]
    assert 'rel="next" href="/sources?page=2"' in first and 'rel="prev"' not in first
    assert 'rel="last" href="/sources?page=3"' in first and "(120)" in first
    last = client.get("/sources?page=3").text
    assert listed_links(last) == [source_id(i) for i in range(100, 120)]
    assert 'rel="prev" href="/sources?page=2"' in last and 'rel="next"' not in last
    assert "101&ndash;120 of 120" in last
    bigger = client.get("/sources?size=100&page=2").text
    assert listed_links(bigger) == [source_id(i) for i in range(100, 120)]
    assert 'rel="prev" href="/sources?size=100&amp;page=1"' in bigger
    beyond = client.get("/sources?page=99").text  # past the end: the last page
    assert listed_links(beyond) == listed_links(last)


def listed_links(html: str) -> list[str]:
    return re.findall(r'<a href="/sources/(report-\d{3})">', html)


def test_changes_page_keeps_its_filters_across_pages(client: TestClient) -> None:
    first = client.get("/?size=2&kind=teaser_rewritten").text
    assert first.count('class="change-row"') == 2
    assert 'rel="next" href="/?kind=teaser_rewritten&amp;size=2&amp;page=2"' in first
    second = client.get("/?size=2&kind=teaser_rewritten&page=2").text
    assert second.count('class="change-row"') == 1
    shown = set(re.findall(r'data-id="(\d+)"', first + second))
    assert len(shown) == len(EDITED)


def test_changes_page_asks_for_a_source_id_when_sources_are_many(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    few = client.get("/").text
    assert '<select name="source">' in few and few.count('<option value="report-') == N
    monkeypatch.setattr(web, "SOURCE_CHOICES", N - 1)
    many = client.get("/?source=report-057").text
    assert '<select name="source">' not in many and '<option value="report-' not in many
    assert '<input type="search" name="source" value="report-057"' in many
    assert many.count('class="change-row"') == 1


def test_source_rows_reads_the_ids_or_the_page_asked(many: Path) -> None:
    store = Store.open(many.parent / "monitor.db", read_only=True)
    try:
        rows = store.source_rows(ids=[FAILING, source_id(3), "no-such-source"])
        assert [r.id for r in rows] == [source_id(3), FAILING]
        edited, failing = rows
        assert (edited.versions, edited.changes, edited.last_error) == (2, 1, None)
        assert failing.state == "failing" and "file not found" in (failing.last_error or "")
        page = store.source_rows(limit=7, offset=115)
        assert [r.id for r in page] == [source_id(i) for i in range(115, 120)]
        assert store.failing_sources() == {FAILING}
        assert store.count_sources() == N
        assert store.has_source(FAILING) and not store.has_source("no-such-source")
        known = store.known([source_id(1), source_id(2)])
        assert set(known) == {source_id(1), source_id(2)}
        assert all(k.fingerprint for k in known.values())
    finally:
        store.close()


def test_latest_check_of_a_source_is_read_through_an_index(many: Path) -> None:
    store = Store.open(many.parent / "monitor.db", read_only=True)
    try:
        plan = " ".join(
            str(row[3])
            for row in store.conn.execute(
                "explain query plan select error from checks where source_id = ?"
                " order by id desc limit 1",
                [FAILING],
            )
        )
    finally:
        store.close()
    assert "USING INDEX" in plan and "TEMP B-TREE" not in plan


def test_a_pass_returns_its_results_without_the_pages(many: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(many.parent, tmp_path / "copy")  # the other tests' stays as it is
    (folder / "pages" / "9.txt").write_text(snapshot(9, edited=True), encoding="utf-8")
    settings = load_settings(folder / "config.toml")
    with open_app(settings) as app:
        results = app.checker.check(settings.sources)
    assert len(results) == N
    assert all(r.regions is None for r in results)
    changed = [r for r in results if r.outcome == "changed"]
    assert [r.source_id for r in changed] == [source_id(9)]
    assert "teaser_rewritten" in changed[0].kinds and changed[0].change_id is not None
    assert {r.outcome for r in results} == {"changed", "unchanged", "error"}


def test_heartbeat_writes_only_the_due_times_that_moved(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "monitor.db")
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    ids = [source_id(i) for i in range(30)]
    store.sync_sources(((i, f"https://x.test/{i}") for i in ids), now)
    due = {i: now + timedelta(minutes=n) for n, i in enumerate(ids)}

    def beat(next_due: Mapping[str, datetime | None]) -> int:
        before = store.conn.total_changes
        heartbeat.beat(
            store, pid=1, host="h", started_at=now, now=now, config="c", next_due=dict(next_due)
        )
        return store.conn.total_changes - before

    try:
        beat({})  # the service's row, inserted
        service_row = beat({})  # what updating it counts
        assert beat(due) == service_row + len(ids)
        assert beat(due) == service_row  # nothing moved: no source row written
        moved = {**due, ids[4]: now + timedelta(hours=5)}
        assert beat(moved) == service_row + 1
        (row,) = store.conn.execute("select next_due_at from sources where id = ?", [ids[4]])
        assert row[0] == "2026-11-29T17:00:00Z"
    finally:
        store.close()


def test_a_due_time_given_to_a_failed_beat_is_written_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(tmp_path / "monitor.db")
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    store.sync_sources([("a", "https://x.test/a")], now)
    monkeypatch.setattr(heartbeat, "LOCK_WAIT", 0.05)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:  # another write of this process, longer than a beat waits
        with store.lock:
            held.set()
            release.wait(10)

    def beat(next_due: dict[str, datetime | None]) -> None:
        heartbeat.beat(
            store, pid=1, host="h", started_at=now, now=now, config="c", next_due=next_due
        )

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        held.wait(10)
        with pytest.raises(StoreError):
            beat({"a": now + timedelta(hours=1)})  # the service hands this time only once
        release.set()
        holder.join(10)
        beat({})
        (row,) = store.conn.execute("select next_due_at from sources where id = 'a'")
        assert row[0] == "2026-11-29T13:00:00Z"
    finally:
        release.set()
        store.close()


def test_next_due_follows_the_jobs_that_fired() -> None:
    fired = threading.Event()
    scheduler = Scheduler(lambda source_id: fired.set(), workers=1)
    now = datetime.now(UTC)
    soon = Source("soon", "https://x.test/soon", interval=1)
    later = Source("later", "https://x.test/later", interval=3600)
    # checked half a second ago: due half a second from now, then every second
    scheduler.sync([soon, later], 3600, {"soon": now - timedelta(seconds=0.5), "later": now}, now)
    scheduler.start()
    try:
        first = scheduler.next_due()
        assert scheduler.due_changes() == first  # after a start: every source
        assert set(first) == {"soon", "later"}
        assert fired.wait(10)
        moved: dict[str, datetime | None] = {}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not moved:
            moved = scheduler.due_changes()  # only the job that fired
            time.sleep(0.05)
        after = scheduler.next_due()
    finally:
        scheduler.shutdown()
    assert set(moved) == {"soon"}
    assert moved["soon"] is not None and first["soon"] is not None
    assert moved["soon"] > first["soon"]
    assert after["later"] == first["later"]


def test_changes_table_pages_with_limit_and_offset(many: Path) -> None:
    every = json.loads(run(many, "changes", "--json").output)
    ids = [c["id"] for c in every]
    assert len(ids) == len(EDITED) and ids == sorted(ids, reverse=True)
    first = run(many, "changes", "--limit", "2")
    assert "changes 1-2 of 3; next: --offset 2" in first.output
    assert listed(first.output) == [c["source"] for c in every[:2]]
    rest = run(many, "changes", "--limit", "2", "--offset", "2")
    assert listed(rest.output) == [every[2]["source"]]
    assert "changes 3-3 of 3 (--all" in rest.output
    later = json.loads(run(many, "changes", "--json", "--offset", "1").output)
    assert [c["id"] for c in later] == ids[1:]
    assert "of 3" not in run(many, "changes").output  # all fit: no pager line
