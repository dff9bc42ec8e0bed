"""When a browser page is read: once its text is still, whatever its load event, its timers
and its frames do (an outside review's pages, rebuilt here on a loopback server)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.detect.extract import extract
from monitor.detect.notice import FOUND_NOTICE, KNOWN_NOTICES
from monitor.detect.regions import Regions
from monitor.detect.rules import ExtractRules
from monitor.fetch.browser import BrowserFetcher

from .conftest import run, source_block, write_config
from .server import LoopServer, Reply
from .test_browser_fetch import needs_chromium


def _words(tag: str, count: int = 30) -> str:
    return " ".join(f"{tag}{i}" for i in range(count))


def _page(body: str) -> str:
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>Naval budget debate</title>"
        f"</head><body><header>Example News</header><main>{body}</main>"
        "<footer>(c) Example</footer></body></html>"
    )


def _paragraphs(*tags: str) -> str:
    return "".join(f"<p>{_words(tag)}.</p>" for tag in tags)


# Appends one paragraph to #a every `every` ms, the first after `every` ms.
def _drawn(tags: list[str], every: int) -> str:
    html = json.dumps([f"<p>{_words(tag)}.</p>" for tag in tags])
    return (
        f"<script>const parts = {html}; let i = 0; const t = setInterval(() => {{"
        "document.getElementById('a').insertAdjacentHTML('beforeend', parts[i++]);"
        f"if (i === parts.length) clearInterval(t); }}, {every});</script>"
    )


@pytest.fixture
def browser() -> Iterator[BrowserFetcher]:
    fetcher = BrowserFetcher(timeout=15.0)
    try:
        yield fetcher
    finally:
        fetcher.close()


@pytest.fixture
def released() -> Iterator[threading.Event]:
    """Set when the test ends: what a held answer waits for (20 s at most)."""
    event = threading.Event()
    yield event
    event.set()


def _read(browser: BrowserFetcher, url: str) -> Regions:
    return extract(browser.fetch(url), ExtractRules())


def _read_in(timeout: float, url: str) -> Regions:
    """`url` read by a browser of its own, with `timeout`."""
    fetcher = BrowserFetcher(timeout=timeout)
    try:
        return _read(fetcher, url)
    finally:
        fetcher.close()


def test_the_class_the_browser_gives_a_found_notice_is_a_known_notice() -> None:
    assert f".{FOUND_NOTICE}" in [part.strip() for part in KNOWN_NOTICES.split(",")]


@needs_chromium
def test_a_page_whose_load_never_ends_is_read_once_its_text_is_still(
    http: LoopServer,
    browser: BrowserFetcher,
    released: threading.Event,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An ad server that never answers holds the load event, not the reading."""
    monkeypatch.setattr("monitor.fetch.browser.LOAD_WAIT", 1.0)

    def held(request: object) -> Reply:
        released.wait(20)
        return Reply(200, b"", {"Content-Type": "text/javascript"})

    http.route("/ad.js", held)
    http.route("/ad-frame", held)
    article = f'<article class="entry-content">{_paragraphs("one", "two")}</article>'
    script = http.static("/script", _page(article + '<script async src="/ad.js"></script>'))
    frame = http.static("/frame", _page(article + '<iframe src="/ad-frame"></iframe>'))
    for url in (script, frame):
        regions = _read(browser, url)
        assert regions.access == "free", regions.error
        assert "two29" in regions.teaser
    assert http.hits("/ad.js") and http.hits("/ad-frame"), "the hung requests were made"


@needs_chromium
def test_text_drawn_bit_by_bit_is_read_whole(http: LoopServer, browser: BrowserFetcher) -> None:
    """Read at the first paragraph, the teaser would be a fragment whose length varies."""
    url = http.static(
        "/drawn",
        _page('<article class="entry-content" id="a"></article>')[: -len("</body></html>")]
        + _drawn(["one", "two", "three", "four"], 300)
        + "</body></html>",
    )
    regions = _read(browser, url)
    assert (
        regions.teaser.split()
        == f"{_words('one')}. {_words('two')}. {_words('three')}. {_words('four')}.".split()
    )


@needs_chromium
def test_a_notice_a_timer_adds_after_the_article_makes_the_page_locked(
    http: LoopServer, browser: BrowserFetcher
) -> None:
    notice = "<h3>Members-Only Content</h3><p>Subscribe to read the rest of this article.</p>"
    url = http.static(
        "/overlay",
        _page(
            f'<article class="entry-content">{_paragraphs("one", "two")}</article>'
            "<script>setTimeout(() => { const d = document.createElement('div');"
            f"d.className = 'paywall'; d.innerHTML = {json.dumps(notice)};"
            "document.body.append(d); }, 1200)</script>"
        ),
    )
    regions = _read(browser, url)
    assert regions.access == "locked"
    assert "Subscribe to read the rest" in regions.paywall


@needs_chromium
def test_a_notice_a_timer_removes_leaves_the_page_free(
    http: LoopServer, browser: BrowserFetcher
) -> None:
    url = http.static(
        "/lifted",
        _page(
            f'<article class="entry-content" id="a">{_paragraphs("one")}</article>'
            '<div class="paywall" id="w"><h3>Members-Only Content</h3>'
            "<p>Subscribe to read the rest of this article.</p></div>"
            "<script>setTimeout(() => { document.getElementById('w').remove();"
            "document.getElementById('a').insertAdjacentHTML('beforeend',"
            f"{json.dumps(_paragraphs('two'))}); }}, 700)</script>"
        ),
    )
    regions = _read(browser, url)
    assert (regions.access, regions.paywall) == ("free", "")
    assert "two29" in regions.teaser


@needs_chromium
def test_an_empty_notice_placeholder_does_not_end_the_wait(
    http: LoopServer, browser: BrowserFetcher
) -> None:
    """The article comes after the page has been still for longer than it waits once it
    shows a notice (2 s): the empty box is no notice."""
    url = http.static(
        "/placeholder",
        _page(
            '<article class="entry-content" id="a"></article><div class="paywall"></div>'
            + _drawn(["one"], 3500)
        ),
    )
    regions = _read(browser, url)
    assert regions.error is None
    assert "one29" in regions.teaser


@needs_chromium
def test_a_notice_in_a_frame_is_read_and_an_ad_frame_is_not(
    http: LoopServer, browser: BrowserFetcher
) -> None:
    """Piano draws its offer in an iframe inside `.tp-modal`; an ad's frame must bring no
    text that would change with every request."""
    http.static(
        "/offer",
        "<html><body><h3>Subscribe to continue reading</h3>"
        "<p>Get unlimited access for $1 a week.</p><script>var x = 1;</script></body></html>",
    )
    http.static("/ad", "<html><body><p>Buy shoes now at half price</p></body></html>")
    url = http.static(
        "/piano",
        _page(
            f'<article class="entry-content">{_paragraphs("one")}'
            '<iframe src="/ad"></iframe></article>'
            '<div class="tp-modal"><div class="tp-iframe-wrapper">'
            '<iframe src="/offer"></iframe></div></div>'
        ),
    )
    capture = browser.fetch(url)
    regions = extract(capture, ExtractRules())
    assert regions.access == "locked"
    assert "Get unlimited access for $1 a week." in regions.paywall
    assert "shoes" not in capture.body.decode()
    assert b"var x" not in capture.body


@needs_chromium
def test_a_notice_in_a_frame_inside_a_configured_notice_is_read(
    http: LoopServer, browser: BrowserFetcher
) -> None:
    """Wording the extractor does not know, in a frame inside what the rules call the
    notice."""
    http.static("/offer", "<html><body><p>Support us for $1 a week.</p></body></html>")
    url = http.static(
        "/offer-page",
        _page(
            f'<article class="entry-content">{_paragraphs("one")}</article>'
            '<div class="tp-modal"><iframe src="/offer"></iframe></div>'
        ),
    )
    rules = ExtractRules(paywall=(".tp-modal",))
    regions = extract(browser.fetch(url, rules=rules), rules)
    assert regions.access == "locked"
    assert regions.paywall == "Support us for $1 a week."


@needs_chromium
def test_a_notice_in_a_shadow_root_laid_over_the_page_is_read(
    http: LoopServer, browser: BrowserFetcher
) -> None:
    url = http.static(
        "/shadow",
        _page(
            f'<article class="entry-content">{_paragraphs("one")}</article>'
            # a modal laid over the page, as a paywall's is
            '<div id="host" style="position: fixed; inset: 0"></div>'
            '<script>const root = document.getElementById("host")'
            ".attachShadow({mode: 'open'}); root.innerHTML = '<style>p {color: red}</style>"
            "<h3>Subscribe to continue reading</h3><p>Get unlimited access for $1 a week.</p>'"
            "</script>"
        ),
    )
    regions = _read(browser, url)
    assert regions.access == "locked"
    assert "Get unlimited access for $1 a week." in regions.paywall
    assert "color: red" not in regions.paywall


@needs_chromium
@pytest.mark.parametrize("timeout", [15.0, 4.0])
def test_a_page_whose_text_never_stays_still_is_read(http: LoopServer, timeout: float) -> None:
    """A clock ticking in the article: read after a while (15 s: six seconds after it showed
    its article) or as the timeout comes (4 s), not failed."""
    url = http.static(
        "/clock",
        _page(
            f'<article class="entry-content">{_paragraphs("one")}<p id="clock">0</p></article>'
            "<script>let n = 0; setInterval(() => "
            "{ document.getElementById('clock').textContent = ++n; }, 100)</script>"
        ),
    )
    assert "one29" in _read_in(timeout, url).teaser


@needs_chromium
def test_a_page_a_script_sends_to_a_sign_in_form_is_a_login_wall_not_a_timeout(
    tmp_path: Path, http: LoopServer
) -> None:
    plain = http.static(
        "/plain", _page(f'<article class="entry-content">{_paragraphs("a")}</article>')
    )
    login = http.static(
        "/login",
        _page('<form><h1>Sign in</h1><input type="email"><input type="password"></form>'),
    )
    page = http.static(
        "/article",
        f"<html><body><script>location.href = {json.dumps(login)}</script></body></html>",
    )
    config = write_config(tmp_path, '[monitor]\ntimeout = "25s"\n')
    result = run(config, "compare", "--browser", plain, page)
    assert result.exit_code == 1
    assert "login wall" in result.output, result.output


@needs_chromium
def test_check_reads_a_drawn_page_the_same_every_time_and_reports_an_edit_to_its_end(
    tmp_path: Path, http: LoopServer
) -> None:
    """The review's case: read part-way, the page gave false "Teaser cut moved" alerts and
    an edit to its last paragraph was never reported."""
    last = ["four"]

    def drawn(request: object) -> Reply:
        body = _page(
            '<article class="entry-content" id="a"></article>'
            + _drawn(["one", "two", "three", *last], 250)
        )
        return Reply(200, body.encode(), {"Content-Type": "text/html"})

    url = http.route("/drawn", drawn)
    config = write_config(
        tmp_path,
        '[monitor]\ntimeout = "15s"\n\n' + source_block("drawn", url, extra='fetch = "browser"\n'),
    )
    outcomes = []
    for _ in range(2):
        result = run(config, "check", "--json")
        assert result.exit_code == 0, result.output
        outcomes.append(json.loads(result.stdout)[0]["outcome"])
    assert outcomes == ["new", "unchanged"]
    last[0] = "five"
    result = run(config, "check", "--json")
    [row] = json.loads(result.stdout)
    assert (row["outcome"], row["kinds"]) == ("changed", ["teaser_rewritten"])


@needs_chromium
def test_a_source_settle_waits_for_a_late_notice(tmp_path: Path, http: LoopServer) -> None:
    """A notice drawn 5 s after the article: read by the source that settles for 6 s, not by
    the one that keeps the default (2 s)."""
    notice = "<h3>Members-Only Content</h3><p>Subscribe to read the rest.</p>"
    body = _page(
        f'<article class="entry-content">{_paragraphs("one", "two")}</article>'
        "<script>setTimeout(() => { const d = document.createElement('div');"
        f"d.className = 'paywall'; d.innerHTML = {json.dumps(notice)};"
        "document.body.append(d); }, 5000)</script>"
    )
    config = write_config(
        tmp_path,
        '[monitor]\ntimeout = "20s"\nfetch = "browser"\n\n'
        + source_block("patient", http.static("/late", body), extra='settle = "6s"\n')
        + source_block("default", http.static("/late-too", body)),
    )
    result = run(config, "check", "--json")
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "monitor.db") as conn:
        access = dict(conn.execute("select source_id, access from versions"))
    assert access == {"patient": "locked", "default": "free"}


def test_settle_on_a_source_read_without_the_browser_is_refused(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, source_block("plain", "https://example.org/a", extra='settle = "3s"\n')
    )
    result = run(config, "check", "--dry-run")
    assert result.exit_code == 2
    assert (
        "source[1] (id 'plain').settle: only a page read in the browser waits to settle; "
        'set fetch = "browser" on this source, or remove the key' in result.output
    )


def test_settle_as_long_as_the_timeout_is_refused(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        '[monitor]\ntimeout = "10s"\n\n'
        + source_block(
            "late", "https://example.org/a", extra='fetch = "browser"\nsettle = "10s"\n'
        ),
    )
    result = run(config, "check", "--dry-run")
    assert result.exit_code == 2
    assert (
        "source[1] (id 'late').settle: '10s' is not shorter than monitor.timeout (10 s)"
        in result.output
    )


@needs_chromium
def test_an_edited_settle_takes_the_page_as_read_now_without_a_change(
    tmp_path: Path, http: LoopServer
) -> None:
    """Read after another wait, a page may read otherwise: as for edited extraction rules, the
    page read now is the new reference, with no change reported; a later edit is one."""
    teaser = ["one"]

    def article(request: object) -> Reply:
        body = _page(f'<article class="entry-content">{_paragraphs(*teaser)}</article>')
        return Reply(200, body.encode(), {"Content-Type": "text/html"})

    url = http.route("/a", article)

    def check(settle: str) -> dict[str, object]:
        block = source_block("a", url, extra=f'fetch = "browser"\nsettle = "{settle}"\n')
        config = write_config(tmp_path, f'[monitor]\ntimeout = "10s"\n\n{block}')
        result = run(config, "check", "--json")
        assert result.exit_code == 0, result.output
        [row] = json.loads(result.stdout)
        assert isinstance(row, dict)
        return row

    assert check("1s")["outcome"] == "new"
    teaser[0] = "two"
    assert (check("2s")["outcome"], check("2s")["outcome"]) == ("rebaselined", "unchanged")
    teaser[0] = "three"
    row = check("2s")
    assert (row["outcome"], row["kinds"]) == ("changed", ["teaser_rewritten"])


@needs_chromium
def test_notice_wording_in_a_hidden_frame_or_in_the_sites_header_is_no_notice(
    http: LoopServer, browser: BrowserFetcher
) -> None:
    """A modal's frame kept hidden for later, and a header widget's "Already a subscriber?"
    sign-in link: a reader of this free article sees no wall."""
    http.static(
        "/offer",
        "<html><body><h3>Subscribe to continue reading</h3><p>Only $1 a week.</p></body></html>",
    )
    url = http.static(
        "/free",
        _page(
            '<div id="login"></div>'
            f'<article class="entry-content">{_paragraphs("one", "two")}</article>'
            '<div style="display: none"><iframe src="/offer"></iframe></div>'
        ).replace(
            "<header>Example News</header>",
            '<header>Example News <span id="account"></span></header>',
        )[: -len("</body></html>")]
        + "<script>document.getElementById('account').attachShadow({mode: 'open'}).innerHTML"
        " = '<a href=\"/login\">Already a subscriber? Sign in to your account</a>'</script>"
        "</body></html>",
    )
    capture = browser.fetch(url)
    regions = extract(capture, ExtractRules())
    assert (regions.access, regions.paywall) == ("free", "")
    assert b"Only $1 a week" not in capture.body
    assert b"data-monitor-shadow" not in capture.body  # the header's widget is not copied


@needs_chromium
def test_notice_words_in_an_ad_an_embed_or_a_widget_in_the_article_are_no_notice(
    http: LoopServer, browser: BrowserFetcher
) -> None:
    """A house ad, an embedded post and a ticking widget that say "subscribe to read" or
    "members-only" stand in the article, not where a notice does: copied, they made a free
    page read as locked, differently at every request (an outside review)."""
    http.static(
        "/house-ad",
        "<html><body><p>Already a subscriber? Sign in. Subscribe to read without limits: "
        "$1 a week.</p></body></html>",
    )
    http.static(
        "/embed",
        "<html><body><p>Our members-only briefing on the naval budget is out now.</p>"
        "</body></html>",
    )
    url = http.static(
        "/free-with-embeds",
        _page(
            f'<article class="entry-content">{_paragraphs("one")}'
            '<iframe src="/house-ad"></iframe>'
            f"{_paragraphs('two')}<iframe src='/embed'></iframe>"
            '<span id="live"></span></article>'
            "<script>const r = document.getElementById('live').attachShadow({mode: 'open'});"
            "let n = 100; setInterval(() => { r.innerHTML = "
            "'<p>Members-only chat: ' + (++n) + ' readers online</p>'; }, 300)</script>"
        ),
    )
    first, second = _read(browser, url), _read(browser, url)
    assert (first.access, first.paywall) == ("free", "")
    assert first.teaser == second.teaser
    assert "Members-only" not in first.teaser and "Subscribe" not in first.teaser


@needs_chromium
@pytest.mark.parametrize(
    "holder", ['<div class="tp-modal">', '<div style="position: fixed; inset: 0">']
)
def test_a_notice_in_a_frame_inside_a_frame_in_a_modal_is_read(
    http: LoopServer, browser: BrowserFetcher, holder: str
) -> None:
    """Piano's modal, or any layer laid over the page: the outer frame, which says nothing of
    a notice itself, carries the inner one's copy to the page."""
    http.static(
        "/offer",
        "<html><body><h3>Subscribe to continue reading</h3><p>$1 a week.</p></body></html>",
    )
    http.static("/outer", "<html><body><p>Offer:</p><iframe src='/offer'></iframe></body></html>")
    url = http.static(
        "/nested",
        _page(
            f'<article class="entry-content">{_paragraphs("one")}</article>'
            f'{holder}<iframe src="/outer"></iframe></div>'
        ),
    )
    regions = _read(browser, url)
    assert regions.access == "locked"
    assert "Subscribe to continue reading" in regions.paywall and "$1 a week." in regions.paywall


@needs_chromium
def test_a_notice_frame_that_draws_its_offer_late_is_waited_for(
    http: LoopServer, browser: BrowserFetcher
) -> None:
    """Its box is on the page, empty but for the frame, well before the frame's script draws
    the offer: read once the frame's own text is still, not the page's alone (an outside
    review: locked or free by a tenth of a second)."""
    http.static(
        "/late-offer",
        "<html><body><script>setTimeout(() => { document.body.innerHTML = "
        "'<h3>Subscribe to continue reading</h3>'; }, 4000)</script></body></html>",
    )
    url = http.static(
        "/late",
        _page(
            f'<article class="entry-content">{_paragraphs("one", "two")}</article>'
            # after the network has gone quiet, as a paywall script that asked first does
            "<script>addEventListener('load', () => setTimeout(() => "
            "document.body.insertAdjacentHTML('beforeend', "
            """'<div class="paywall"><iframe src="/late-offer"></iframe></div>'), 1000))"""
            "</script>"
        ),
    )
    regions = _read(browser, url)
    assert (regions.access, regions.paywall) == ("locked", "Subscribe to continue reading")


@needs_chromium
def test_an_article_a_slow_api_sends_after_the_network_wait_is_read(
    http: LoopServer, released: threading.Event
) -> None:
    """While a request is open the page may still be fetching its article: a page that shows
    none is read early only once its network is quiet (an outside review: an article arriving
    after 5.5 s was "no article text found")."""

    def api(request: object) -> Reply:
        released.wait(7)  # past the network wait (5 s) and a quiet page's (5 s)
        return Reply(200, json.dumps(_paragraphs("one", "two")).encode(), {})

    http.route("/api", api)
    url = http.static(
        "/spa",
        _page(
            '<article class="entry-content" id="a"></article><script>fetch("/api")'
            ".then((r) => r.json()).then((html) => "
            "{ document.getElementById('a').innerHTML = html; })</script>"
        ),
    )
    regions = _read_in(25.0, url)
    assert regions.error is None
    assert "two29" in regions.teaser
