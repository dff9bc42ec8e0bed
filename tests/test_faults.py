"""Sites misbehaving on purpose: every fault is a failed check with a reason, never a change or
an alert, and the next good response is compared with the last good version."""

from __future__ import annotations

import gzip
import json
import socket
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.demo.site import Article, render

from .conftest import SEED_FILES, run, source_block, write_config
from .server import LoopServer, Reply

HTML = {"Content-Type": "text/html; charset=utf-8"}
LOGIN = (
    b"<html><head><title>Log in</title></head><body><main><h1>Log in</h1><form>"
    b"<input name=u><input type=password name=p></form></main></body></html>"
)
# The same sign-in page, its form worded as a registration wall is.
WORDED_LOGIN = LOGIN.replace(b"<form>", b"<p>Log in or create an account to continue.</p><form>")
# What an outside reviewer served with 200: WordPress's "not found" template, and the usual
# maintenance page, neither of them an article.
SOFT_404 = (
    b"<html><head><title>Page not found - War on the Rocks</title></head>"
    b'<body class="error404"><main><h1>Oops! That page can&#39;t be found.</h1><p>It looks like'
    b" nothing was found at this location. Maybe try one of the links below or a search? We are"
    b" sorry for the inconvenience and hope you find what you were looking for on our website"
    b" today.</p></main></body></html>"
)
# The page the Los Angeles Times served readers in the EU from 2018, with 200.
EU_BLOCK = (
    b"<html><head><title>Los Angeles Times</title></head><body><main><p>Unfortunately, our"
    b" website is currently unavailable in most European countries. We are engaged on the"
    b" issue and committed to looking at options that support our full range of digital"
    b" offerings to the EU market. We continue to identify technical compliance solutions that"
    b" will provide all readers with our award-winning journalism.</p></main></body></html>"
)
HOME = (
    b"<html><head><title>War on the Rocks</title></head><body><main>"
    + b"".join(
        b"<article><h2><a href='/s%d'>Story %d</a></h2><p>%s</p></article>"
        % (i, i, b" ".join([b"Words of the teaser of this story on the front page."] * 3))
        for i in range(12)
    )
    + b"</main></body></html>"
)
HOME_SAYS_SO = HOME.replace(b"<head>", b'<head><link rel="canonical" href="/">')
MAINTENANCE = (
    b"<html><head><title>War on the Rocks</title></head><body><article><h1>We&rsquo;ll be back"
    b" soon!</h1><div><p>Sorry for the inconvenience but we&rsquo;re performing some"
    b" maintenance at the moment. If you need to you can always contact us, otherwise"
    b" we&rsquo;ll be back online shortly!</p><p>&mdash; The Team</p></div></article>"
    b"</body></html>"
)


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


def _zeros() -> Iterator[bytes]:
    chunk = b"<p>" + b"x" * (64 * 1024 - 3)
    for _ in range(50 * 16):  # 50 MiB
        yield chunk


def faults(page: bytes) -> dict[str, tuple[Callable[[LoopServer], Reply], str]]:
    """Each fault: the reply that /a gives, and a word of the reason the check must record."""
    bomb = gzip.compress(b"<p>" + b"\0" * (64 * 1024 * 1024))
    broken = page.replace(b"mepr-unauthorized-message", b"gate").replace(
        b"<h3>Members-Only Content</h3>", b""
    )
    return {
        "500": (lambda s: Reply(500, b"oops"), "HTTP 500"),
        "502": (lambda s: Reply(502, b"bad gateway"), "HTTP 502"),
        # with retries = 0 here; Retry-After is honoured in test_fetch.py
        "503": (lambda s: Reply(503, b"", {"Retry-After": "0"}), "HTTP 503"),
        "429": (lambda s: Reply(429, b"slow down"), "HTTP 429"),
        "404": (lambda s: Reply(404, b"gone"), "HTTP 404"),
        "410": (lambda s: Reply(410, b"gone"), "HTTP 410"),
        "stall": (lambda s: Reply(200, page, HTML, delay=2.5), "timed out"),
        "reset mid-body": (lambda s: Reply(200, page, HTML, reset=True), "connection"),
        "short body": (lambda s: Reply(200, page[:2000], HTML, length=len(page)), "connection"),
        "50 MiB": (lambda s: Reply(200, headers=HTML, stream=_zeros), "limit"),
        "gzip bomb": (lambda s: Reply(200, bomb, {**HTML, "Content-Encoding": "gzip"}), "limit"),
        "bad charset": (
            lambda s: Reply(200, page.replace(b"rare trip", b"rare \xff\xfe trip"), HTML),
            "not valid utf-8",
        ),
        "binary": (
            lambda s: Reply(200, b"\x89PNG\r\n\x1a\n\0\0" + bytes(range(256)) * 40, HTML),
            "binary",
        ),
        "redirect loop": (lambda s: Reply(302, b"", {"Location": "/a"}), "redirect"),
        "redirect to login": (lambda s: Reply(302, b"", {"Location": "/login"}), "login wall"),
        "redirect to a login worded as a wall": (
            lambda s: Reply(302, b"", {"Location": "/login-worded"}),
            "login wall",
        ),
        "login worded as a wall 200": (lambda s: Reply(200, WORDED_LOGIN, HTML), "login wall"),
        "not found 200": (lambda s: Reply(200, SOFT_404, HTML), "error page"),
        "redirect to the home page": (
            lambda s: Reply(301, b"", {"Location": "/"}),
            "redirected to the home page",
        ),
        # the front page at its index file's address, as some servers and CMSs send it
        "redirect to the home page's index file": (
            lambda s: Reply(301, b"", {"Location": "/index.html"}),
            "redirected to the home page",
        ),
        # taken down, and the site's front page served at the article's address
        "home page at the address": (
            lambda s: Reply(200, HOME_SAYS_SO, HTML),
            "says it is the site's home page",
        ),
        "maintenance 200": (lambda s: Reply(200, MAINTENANCE, HTML), "maintenance"),
        "challenge 200": (
            lambda s: Reply(
                200, b"<html><head><title>Just a moment...</title></head><body></body></html>", HTML
            ),
            "bot challenge",
        ),
        "challenge 403": (
            lambda s: Reply(403, b"<title>Attention Required!</title>", HTML),
            "HTTP 403",
        ),
        "empty 200": (lambda s: Reply(200, b"", HTML), "no article text"),
        "paywall selector gone": (lambda s: Reply(200, broken, HTML), "regions stopped matching"),
    }


@pytest.fixture
def site(tmp_path: Path, http: LoopServer, seed_articles: list[Article]):  # type: ignore[no-untyped-def]
    page = render(seed_articles[0]).encode()
    state: dict[str, Callable[[LoopServer], Reply]] = {"a": lambda s: Reply(200, page, HTML)}
    http.route("/a", lambda r: state["a"](http))
    http.route("/login", lambda r: Reply(200, LOGIN, HTML))
    http.route("/login-worded", lambda r: Reply(200, WORDED_LOGIN, HTML))
    http.route("/", lambda r: Reply(200, HOME, HTML))
    http.route("/index.html", lambda r: Reply(200, HOME, HTML))
    body = '[monitor]\nretries = 0\ntimeout = "1s"\n\n[email]\nto = ["desk@example.org"]\n\n'
    config = write_config(tmp_path, body + source_block("a", http.url("/a"), SEED_FILES[0].name))
    return config, state, page


@pytest.mark.parametrize("name", list(faults(b"")))
def test_fault_is_a_failed_check(
    site,
    http: LoopServer,
    name: str,  # type: ignore[no-untyped-def]
    seed_articles: list[Article],
) -> None:
    config, state, page = site
    db = config.parent / "monitor.db"
    first = json.loads(run(config, "check", "--json").stdout)[0]
    assert first["outcome"] == "unchanged"
    route, reason = faults(page)[name]
    state["a"] = route
    result = run(config, "check", "--json")
    out = json.loads(result.stdout)[0]
    assert result.exit_code == 1
    assert out["outcome"] == "error" and out["change_id"] is None
    assert reason.lower() in out["error"].lower(), out["error"]
    assert count(db, "select count(*) from checks where outcome = 'error'") == 1
    assert count(db, "select count(*) from changes") == 0
    assert count(db, "select count(*) from alerts") == 0
    assert not (config.parent / "outbox").exists()
    if name == "50 MiB":
        assert http.streamed < 50 * 1024 * 1024  # the fetch stopped at the cap
    good = render(replace(seed_articles[0], chrome=7)).encode()
    state["a"] = lambda s: Reply(200, good, HTML)
    after = json.loads(run(config, "check", "--json").stdout)[0]
    assert after["outcome"] == "unchanged", after


def test_latin1_page_without_charset_is_read_as_browsers_do(site) -> None:  # type: ignore[no-untyped-def]
    """Not a failure: an undeclared legacy page is windows-1252, so the same text is the same."""
    config, state, page = site
    run(config, "check")
    text = page.decode().replace('<meta charset="UTF-8">', "")
    latin = text.replace("’", "'").replace("—", "-").encode("latin-1")
    state["a"] = lambda s: Reply(200, latin, {"Content-Type": "text/html"})
    out = json.loads(run(config, "check", "--json").stdout)[0]
    assert out["outcome"] == "unchanged"


def test_gzip_pages_decode(site, seed_articles: list[Article]) -> None:  # type: ignore[no-untyped-def]
    config, state, page = site
    state["a"] = lambda s: Reply(200, gzip.compress(page), {**HTML, "Content-Encoding": "gzip"})
    assert json.loads(run(config, "check", "--json").stdout)[0]["outcome"] == "unchanged"


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = write_config(
        tmp_path,
        "[monitor]\nretries = 0\n\n"
        + source_block("a", f"http://127.0.0.1:{port}/a", SEED_FILES[0].name),
    )
    out = json.loads(run(config, "check", "--json").stdout)[0]
    assert out["outcome"] == "error" and "cannot connect" in out["error"]
    assert count(tmp_path / "monitor.db", "select count(*) from changes") == 0


def test_regions_stopped_matching_is_reported_once(site) -> None:  # type: ignore[no-untyped-def]
    """Three checks in a row see the broken page: one "failing" event, one alert, no change."""
    config, state, page = site
    run(config, "check")
    route, _ = faults(page)["paywall selector gone"]
    state["a"] = route
    for _ in range(4):
        run(config, "check")
    db = config.parent / "monitor.db"
    assert count(db, "select count(*) from events where kind = 'failing'") == 1
    assert count(db, "select count(*) from alerts") == 1
    assert count(db, "select count(*) from changes") == 0
    (eml,) = (config.parent / "outbox").glob("*.eml")
    assert b"regions stopped matching" in eml.read_bytes()


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        ("not found", SOFT_404, "error page: 'Page not found - War on the Rocks'"),
        ("maintenance", MAINTENANCE, "maintenance, outage or country block page"),
        ("country block", EU_BLOCK, "maintenance, outage or country block page"),
        ("sign-in page", WORDED_LOGIN, "login wall"),
    ],
)
def test_a_free_article_replaced_by_a_page_that_is_none_is_a_failed_check_not_a_change(
    tmp_path: Path,
    http: LoopServer,
    seed_articles: list[Article],
    name: str,
    body: bytes,
    reason: str,
) -> None:
    """An outside reviewer's case: a free article, then a "not found", maintenance or sign-in
    page served with 200. No change, no email; `compare` of the two says NEW holds no article."""
    free = replace(seed_articles[0], locked=False)
    state = {"page": render(free).encode()}
    url = http.route("/a", lambda r: Reply(200, state["page"], HTML))
    body_lines = '[monitor]\nretries = 0\n\n[email]\nto = ["desk@example.org"]\n\n'
    config = write_config(tmp_path, body_lines + source_block("a", url), seeds=False)
    assert json.loads(run(config, "check", "--json").stdout)[0]["outcome"] == "new"
    (tmp_path / "old.html").write_bytes(state["page"])
    state["page"] = body
    result = run(config, "check", "--json")
    out = json.loads(result.stdout)[0]
    assert (result.exit_code, out["outcome"]) == (1, "error")
    assert reason in out["error"]
    db = tmp_path / "monitor.db"
    assert count(db, "select count(*) from changes") == 0
    assert not (tmp_path / "outbox").exists()
    (tmp_path / "new.html").write_bytes(body)
    compared = run(
        None, "compare", "--json", str(tmp_path / "old.html"), str(tmp_path / "new.html")
    )
    verdict = json.loads(compared.stdout)
    assert compared.exit_code == 1 and reason in verdict["error"]
    assert verdict["changed"] is False


@pytest.mark.parametrize(
    ("asked", "got", "home"),
    [
        ("https://ex.org/2024/story", "https://ex.org/", True),
        ("https://ex.org/2024/story", "https://ex.org", True),
        ("https://ex.org/?p=123", "https://ex.org/", True),  # a WordPress short link
        ("https://old.org/story", "https://new.org/", True),
        ("https://ex.org/2024/story", "https://ex.org/2024/story/", False),
        ("https://ex.org/2024/story", "https://ex.org/?s=story", False),  # a search, not home
        ("https://ex.org/", "https://ex.org/", False),
        ("https://ex.org/", "https://www.ex.org/", False),  # the source is a home page itself
        # the root's index file, by the names the page's own canonical address is judged by
        ("https://ex.org/2024/story", "https://ex.org/index.html", True),
        ("https://ex.org/2024/story", "https://ex.org/Default.aspx", True),
        ("https://ex.org/2024/story", "https://ex.org/home", True),
        ("https://ex.org/2024/story", "https://ex.org/index.php?s=story", False),  # a search
        ("https://ex.org/2024/story", "https://ex.org/2024/index.html", False),  # a section's
        ("https://ex.org/2024/story", "https://ex.org/homeland-security", False),
        ("https://ex.org/index.html", "https://ex.org/", False),  # a home page itself
        ("https://ex.org/home", "https://ex.org/index.php", False),
    ],
)
def test_a_redirect_is_to_the_home_page_only_from_an_article_to_the_site_root(
    asked: str, got: str, home: bool
) -> None:
    from monitor.service.observe import redirected_away

    reason = redirected_away(asked, got)
    assert (reason is not None) == home
    if home:
        assert (
            reason == f"redirected to the home page ({got}): the article may have been taken down"
        )


@pytest.mark.parametrize(
    ("got", "consent"),
    [
        ("https://consent.yahoo.com/v2/collectConsent?sessionId=3_cc", True),
        ("https://guce.yahoo.com/consent?brandType=nonEu", True),
        ("https://consent.google.com/ml?continue=https://news.google.com/x", True),
        ("https://news.example.org/consent-and-privacy-explained", False),
        ("https://consensus.example.org/story", False),
    ],
)
def test_a_redirect_to_a_cookie_consent_host_is_no_reading_of_the_article(
    got: str, consent: bool
) -> None:
    from monitor.service.observe import redirected_away

    reason = redirected_away("https://news.example.org/story", got)
    assert (reason is not None and "cookie consent page" in reason) == consent


def test_a_redirect_within_a_site_whose_own_host_is_named_consent_is_followed() -> None:
    from monitor.service.observe import redirected_away

    asked = "https://consent.example.org/2024/what-cookies-know"
    assert redirected_away(asked, "https://consent.example.org/2024/what-cookies-know/") is None
