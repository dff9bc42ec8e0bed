"""The HTML report, the Atom feed and the web app over HTTP (the browser tests are separate)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from starlette.testclient import TestClient

from monitor.demo.site import Article, PageServer
from monitor.views.web import CSP, create_app

from .conftest import run
from .reports_helpers import fill


@pytest.fixture
def filled(tmp_path: Path, pages: PageServer, seed_articles: list[Article]) -> Path:
    return fill(tmp_path, pages, seed_articles)


@pytest.fixture
def client(filled: Path) -> Iterator[TestClient]:
    with TestClient(create_app(filled.parent / "monitor.db")) as client:
        yield client


def test_report_file_is_self_contained(filled: Path) -> None:
    out = filled.parent / "report.html"
    assert run(filled, "report", "--output", str(out)).exit_code == 0
    html = out.read_text()
    assert "<script" not in html.replace("&lt;script", "")
    assert "<link" not in html and "src=" not in html.replace("src=x", "")
    assert html.count('<section class="change"') == 3
    assert ">trip</del>" in html and ">journey</ins>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "side by side" in html and "inline" in html
    assert '<table class="grid" id="sources">' in html
    only = run(filled, "report", "--output", "-", "--source", "allies").output
    assert only.count('<section class="change"') == 1
    later = run(filled, "report", "-o", "-", "--since", "2999-01-01").output
    assert "No changes." in later


def test_feed_parses_and_matches_the_changes(filled: Path) -> None:
    result = run(filled, "feed")
    feed = feedparser.parse(result.stdout_bytes)
    assert not feed.bozo, feed.bozo_exception
    with sqlite3.connect(filled.parent / "monitor.db") as conn:
        ids = [r[0] for r in conn.execute("select id from changes order by id desc")]
    assert len(feed.entries) == len(ids) == 3
    assert [e.id.split("/")[1] for e in feed.entries] == [str(i) for i in ids]
    assert feed.entries[1].title.startswith("Paywall lifted")
    assert [t.term for t in feed.entries[1].tags] == ["access_changed", "teaser_length_changed"]
    hostile = feed.entries[0].content[0].value  # unescaped once by the reader: HTML again
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile and "<del" in hostile
    assert "<script" not in hostile
    again = feedparser.parse(run(filled, "feed").stdout_bytes)
    assert [e.id for e in again.entries] == [e.id for e in feed.entries]  # stable ids


def test_web_pages_and_headers(client: TestClient) -> None:
    index = client.get("/")
    assert index.status_code == 200
    assert index.headers["content-security-policy"] == CSP
    assert index.text.count('class="change-row"') == 3
    change = client.get("/changes/1")
    assert ">trip</del>" in change.text and "Mark reviewed" in change.text
    hostile = client.get("/changes/3").text
    assert "<script>" not in hostile and "<img src=x" not in hostile
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile
    assert "{{ 7*7 }}" in hostile  # page text is never a template
    assert client.get("/sources/threat").status_code == 200
    assert client.get("/sources").status_code == 200
    assert client.get("/changes/99").status_code == 404
    assert client.get("/healthz").json() == {"ok": True, "changes": 3}
    feed = client.get("/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert "text/css" in client.get("/static/style.css").headers["content-type"]


def test_web_filters_review_and_cross_site_posts(client: TestClient) -> None:
    assert client.get("/?kind=access_changed").text.count('class="change-row"') == 1
    assert client.get("/?source=threat").text.count('class="change-row"') == 2
    # a form posted from the page itself carries its origin; one with neither Origin nor
    # Referer is refused (a forged request)
    assert client.post("/changes/2/review", follow_redirects=False).status_code == 403
    same_site = {"Origin": str(client.base_url).rstrip("/")}
    posted = client.post("/changes/2/review", headers=same_site, follow_redirects=False)
    assert posted.status_code == 303
    assert client.get("/?reviewed=yes").text.count('class="change-row"') == 1
    assert client.get("/?reviewed=no").text.count('class="change-row"') == 2
    refused = client.post("/changes/1/review", headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403
    assert client.get("/?reviewed=yes").text.count('class="change-row"') == 1


def test_token_required_when_set(filled: Path) -> None:
    app = create_app(filled.parent / "monitor.db", token="t0k3n")
    with TestClient(app) as client:
        assert client.get("/").status_code == 401
        assert client.get("/healthz").status_code == 401
        assert client.get("/", headers={"Authorization": "Bearer t0k3n"}).status_code == 200
        assert client.get("/", headers={"Authorization": "Bearer nope"}).status_code == 401
        # a token in the address is traded for a cookie, then every request carries it
        first = client.get("/changes/1?token=t0k3n", follow_redirects=False)
        assert first.status_code == 303 and "token" not in first.headers["location"]
        assert client.get("/changes/1").status_code == 200


def test_serving_beyond_loopback_needs_a_token(
    filled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MONITOR_WEB_TOKEN", raising=False)
    result = run(filled, "serve", "--host", "0.0.0.0")
    assert result.exit_code == 2
    assert "MONITOR_WEB_TOKEN" in result.output


def test_pagination_with_many_changes(filled: Path) -> None:
    db = filled.parent / "monitor.db"
    with sqlite3.connect(db) as conn:
        row = conn.execute("select * from changes where id = 1").fetchone()
        cols = [d[0] for d in conn.execute("select * from changes").description]
        copy = dict(zip(cols, row, strict=True))
        copy.pop("id")
        names = ", ".join(copy)
        marks = ", ".join("?" for _ in copy)
        conn.executemany(
            f"insert into changes ({names}) values ({marks})", [list(copy.values())] * 117
        )
    with TestClient(create_app(db)) as client:
        first = client.get("/")
        assert first.text.count('class="change-row"') == 50 and "page 1 of 3" in first.text
        last = client.get("/?page=3")
        assert last.text.count('class="change-row"') == 20
        assert 'rel="prev"' in last.text and 'rel="next"' not in last.text


def test_a_review_that_cannot_be_saved_is_refused_with_the_reason_not_an_error_500(
    filled: Path, client: TestClient
) -> None:
    # every write to the changes fails, as on a full disk or a database locked too long
    with sqlite3.connect(filled.parent / "monitor.db") as conn:
        conn.execute(
            "create trigger no_writes before update on changes"
            " begin select raise(fail, 'disk I/O error (simulated)'); end"
        )
    same_site = {"Origin": str(client.base_url).rstrip("/")}
    posted = client.post("/changes/2/review", headers=same_site, follow_redirects=False)
    assert posted.status_code == 503
    assert "cannot mark change #2: disk I/O error (simulated)" in posted.text
    assert client.get("/?reviewed=yes").text.count('class="change-row"') == 0
