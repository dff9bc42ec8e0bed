"""Two writers at once (`monitor check` beside another `check`, or beside `monitor run`): every
edit is recorded once, and no change leads from a version to itself."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from monitor.demo.site import Article, PageServer, render

from .conftest import SEED_FILES, run, source_block, write_config
from .server import LoopServer, Reply, Request

SOURCES = 12


def test_two_checks_at_once_record_each_edit_once(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    article = seed_articles[0]
    blocks = []
    for i in range(SOURCES):
        pages.put_article(f"/a{i}", article)
        blocks.append(source_block(f"s{i}", pages.url(f"/a{i}"), SEED_FILES[0].name))
    config = write_config(tmp_path, "".join(blocks))
    assert run(config, "check").exit_code == 0
    cmd = [sys.executable, "-m", "monitor", "--config", str(config), "check"]
    for edit in range(3):
        for i in range(SOURCES):
            pages.put_article(f"/a{i}", replace(article, teaser=f"{article.teaser} edit {edit}"))
        both = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in "ab"]
        for process in both:
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err.decode()
    with sqlite3.connect(tmp_path / "monitor.db") as conn:
        changes = conn.execute("select count(*) from changes").fetchone()[0]
        to_itself = conn.execute(
            "select count(*) from changes where from_version_id = to_version_id"
        ).fetchone()[0]
        alerts = conn.execute("select count(*) from alerts").fetchone()[0]
    assert (changes, to_itself) == (SOURCES * 3, 0)
    assert alerts == changes  # one recipient (the `from` address) per change, none doubled


# -- a response that arrives after another writer's -------------------------------------------


class _Held:
    """One article page whose requests of chosen numbers wait until the test releases them.

    `written_before`: the page is rendered when the request comes (a response written then and
    slow to arrive), else when it is released (a request that reaches a busy server late)."""

    def __init__(self, article: Article, holds: dict[int, bool]) -> None:
        self.article = article
        self.holds = holds  # request number -> written before the wait
        self.arrived = {hit: threading.Event() for hit in holds}
        self.release = {hit: threading.Event() for hit in holds}

    def __call__(self, request: Request) -> Reply:
        body = render(self.article)
        if request.hit in self.holds:
            self.arrived[request.hit].set()
            assert self.release[request.hit].wait(60), f"request {request.hit} never released"
            if not self.holds[request.hit]:
                body = render(self.article)
        return Reply(200, body.encode(), {"Content-Type": "text/html; charset=utf-8"})


def _check(config: Path, *options: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "monitor", "--config", str(config), "check", *options]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _outcome(process: subprocess.Popen[bytes]) -> str:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()
    [row] = json.loads(out)  # `check --json`
    return str(row["outcome"])


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_a_reading_written_before_another_writers_edit_is_superseded_not_alerted(
    tmp_path: Path, seed_articles: list[Article]
) -> None:
    """Check 1's response was written before an edit and arrives after check 2 recorded the
    edit: one edit is one change and one alert. Check 1 says `superseded` (it crashed here
    once, and with a rule that turns its digest off it recorded a revert to the old page)."""
    article = seed_articles[0]
    page = _Held(article, {2: True})  # request 1: the first check; 2: check 1's
    with LoopServer().running() as server:
        url = server.route("/a", page)
        config = write_config(tmp_path, source_block("s", url), seeds=False)
        assert run(config, "check").exit_code == 0
        first = _check(config)  # as a person reads it
        assert page.arrived[2].wait(60)
        time.sleep(1.1)  # check 2 begins in a later second than check 1
        page.article = replace(article, teaser=f"{article.teaser} An edit.")
        assert _outcome(_check(config, "--json")) == "changed"
        page.release[2].set()
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, err.decode()
        assert "0 changed, 0 unchanged, 1 superseded, 0 failed" in out.decode()
        assert _outcome(_check(config, "--json")) == "unchanged"
    db = tmp_path / "monitor.db"
    [(change, before, after)] = _rows(db, "select id, from_version_id, to_version_id from changes")
    assert (before, after) == (1, 2)
    assert _rows(db, "select change_id from alerts") == [(change,)]
    assert _rows(db, "select current_version_id, last_outcome from sources") == [(2, "unchanged")]


def _check_2_reads_after_check_1_recorded_b(
    tmp_path: Path, article: Article, then: Article
) -> Path:
    """Check 1 and check 2 (begun a second later) both begin with A stored; the page is B
    when check 1's request is answered, and `then` when check 2's is, after check 1 recorded
    A to B. Each change is confirmed by one request (1: the first check; 2 and 3: checks 1 and
    2, written when released; 4 and 5: their confirmations). The database's path."""
    page = _Held(article, {2: False, 3: False})
    with LoopServer().running() as server:
        url = server.route("/a", page)
        config = write_config(tmp_path, source_block("s", url), seeds=False)
        assert run(config, "check").exit_code == 0
        page.article = replace(article, teaser=f"{article.teaser} Edit B.")
        first = _check(config, "--json")
        assert page.arrived[2].wait(60)
        time.sleep(1.1)  # check 2 begins in a later second than check 1
        second = _check(config, "--json")
        assert page.arrived[3].wait(60)
        page.release[2].set()
        assert _outcome(first) == "changed"  # A to B
        page.article = then
        page.release[3].set()
        assert _outcome(second) == "changed"  # B to what check 2 read
        assert len(server.requests) == 5
    return tmp_path / "monitor.db"


def test_a_later_reading_after_another_writers_version_is_a_confirmed_change_from_it(
    tmp_path: Path, seed_articles: list[Article]
) -> None:
    """Check 2 began after check 1 but reads the page after check 1 recorded edit B, and by
    then the page shows C: a change from B to C, confirmed by a second request, not from the
    version check 2 began with."""
    article = seed_articles[0]
    edit_c = replace(article, teaser=f"{article.teaser} Edit C.")
    db = _check_2_reads_after_check_1_recorded_b(tmp_path, article, edit_c)
    changes = _rows(db, "select from_version_id, to_version_id from changes order by id")
    assert changes == [(1, 2), (2, 3)]
    assert len(_rows(db, "select id from alerts")) == 2


def test_a_later_reading_of_the_page_a_check_began_with_is_a_confirmed_revert_from_the_new_one(
    tmp_path: Path, seed_articles: list[Article]
) -> None:
    """Check 2 began after check 1 and reads the page as the version it began with (A), after
    check 1 recorded B: the page went back to A. A change from B back to A, confirmed by a
    second request, since check 2's own reading found nothing to confirm."""
    article = seed_articles[0]
    db = _check_2_reads_after_check_1_recorded_b(tmp_path, article, article)
    changes = _rows(db, "select from_version_id, to_version_id, revert_to from changes order by id")
    assert changes == [(1, 2, None), (2, 1, 1)]
