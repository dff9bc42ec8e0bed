"""`fetch = "browser"`: pages whose paywall a script builds, read in headless Chromium (Debian's
package) through Playwright, on loopback servers started here."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.app import open_app
from monitor.config.settings import load_settings
from monitor.demo.site import Article, PageServer
from monitor.errors import CaptureError
from monitor.fetch.browser import BrowserFetcher

from .conftest import SEED_FILES, run, source_block, write_config
from .process_helpers import descendants, end_all, running
from .server import LoopServer, Reply
from .service_helpers import RunningService

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="Chromium is not installed (apt-get install chromium)",
)
PATH = "/2023/09/scripted-article"
# What the server sends for the browser to hide: the article beyond the teaser.
REST = "This paragraph is for members only and the script must never show it to a reader."
WORDS = " ".join(f"word{i}" for i in range(40))
# A page whose article alone says enough, and nothing a script changes.
ARTICLE = f"<html><body><article><p>{WORDS}</p></article></body></html>".encode()


def _config(folder: Path, url: str, *, fetch: str = "browser", timeout: str = "5s") -> Path:
    block = source_block("scripted", url, SEED_FILES[0].name, f'fetch = "{fetch}"\n')
    return write_config(
        folder,
        f'[monitor]\ntimeout = "{timeout}"\nconfirm = false\n'
        f'[email]\nto = ["desk@example.org"]\n\n{block}',
    )


def _browser_sources(http: LoopServer, route: Callable[[object], Reply], count: int) -> str:
    """`count` browser sources page-0, page-1, ... each answered by `route`."""
    return "".join(
        source_block(f"page-{i}", http.route(f"/p{i}", route), extra='fetch = "browser"')
        for i in range(count)
    )


def _held_until(released: threading.Event) -> Callable[[object], Reply]:
    """An answer held until `released` (20 s at most): a page still loading meanwhile."""

    def held(request: object) -> Reply:
        released.wait(20)
        return Reply(200, ARTICLE, {"Content-Type": "text/html"})

    return held


def _check_process(config: Path, *, session: bool = False) -> subprocess.Popen[str]:
    """`monitor check` as a process of its own, its output in pipes."""
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "check"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=session,
    )


@pytest.fixture
def scripted(pages: PageServer, seed_articles: list[Article]) -> str:
    pages.put_scripted(PATH, seed_articles[0], rest=REST)
    return pages.url(PATH)


@pytest.fixture
def browser() -> Iterator[BrowserFetcher]:
    fetcher = BrowserFetcher(timeout=5.0)
    try:
        yield fetcher
    finally:
        fetcher.close()


def _browser_pids() -> list[int]:
    """This process's Chromium browser processes: descendants of this test process running
    Chromium whose parent is not Chromium (the renderers, zygotes and utilities are)."""
    parents: dict[int, int] = {}
    chromium: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
        # Chromium rewrites its children's titles into one string with spaces, so the
        # program is the text before the first NUL or space.
        program = command.split(b"\0", 1)[0].split(b" ", 1)[0]
        if b"chromium" in program:
            chromium.add(pid)

    def ours(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 1)
            if pid == os.getpid():
                return True
        return False

    return [pid for pid in chromium if parents[pid] not in chromium and ours(pid)]


def _kill(pids: list[int]) -> list[int]:
    """The processes killed: one that has ended meanwhile (a browser an earlier test closed)
    is no longer there to kill."""
    killed = []
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        killed.append(pid)
    return killed


@needs_chromium
def test_browser_sees_the_scripted_notice_and_cut_teaser_and_a_plain_fetch_does_not(
    tmp_path: Path, scripted: str
) -> None:
    seed = str(SEED_FILES[0])
    shown = run(None, "compare", seed, scripted, "--browser", "--json")
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    # The browser's page is the seed: the same teaser, cut where it is, and the same notice.
    assert data["changed"] is False, data
    assert data["access"]["after"] == "locked"
    assert "members-only" in data["regions"]["paywall"]["after"].lower()
    assert "never show it" not in data["regions"]["teaser"]["after"]

    plain = run(None, "compare", seed, scripted, "--json")
    assert plain.exit_code == 1
    data = json.loads(plain.stdout)
    assert data["regions"]["paywall"]["after"] == ""
    assert "no article" in data["error"]


@needs_chromium
def test_script_edit_to_the_teaser_is_teaser_rewritten(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article], scripted: str
) -> None:
    config = _config(tmp_path, scripted)
    first = run(config, "check", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)[0]["outcome"] == "unchanged"  # the seed, as the browser saw

    article = seed_articles[0]
    edited = replace(article, teaser=article.teaser.replace("took a rare trip", "made a trip"))
    assert edited.teaser != article.teaser
    pages.put_scripted(PATH, edited, rest=REST)
    second = run(config, "check", "--json")
    assert second.exit_code == 0, second.output
    [result] = json.loads(second.stdout)
    assert result["outcome"] == "changed"
    assert result["kinds"] == ["teaser_rewritten"]


@needs_chromium
def test_plain_fetch_of_the_scripted_page_is_a_failed_check(tmp_path: Path, scripted: str) -> None:
    config = _config(tmp_path, scripted, fetch="http")
    result = run(config, "check", "--json")
    assert result.exit_code == 1
    [row] = json.loads(result.stdout)
    assert row["outcome"] == "error"
    assert "no article" in row["error"]


@needs_chromium
def test_service_checks_a_browser_source_and_reports_a_script_edit(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article], scripted: str
) -> None:
    block = source_block("scripted", scripted, SEED_FILES[0].name, 'fetch = "browser"\n')
    config = write_config(
        tmp_path, f'[monitor]\ninterval = "1s"\nretries = 0\ntimeout = "5s"\n\n{block}'
    )
    service = RunningService(config)
    try:
        service.wait_for(lambda: service.events("check", source="scripted", outcome="unchanged"))
        article = seed_articles[0]
        edited = article.teaser.replace("rare trip", "rare journey")
        pages.put_scripted(PATH, replace(article, teaser=edited), rest=REST)
        [line, *_] = service.wait_for(
            lambda: service.events("check", source="scripted", outcome="changed")
        )
        assert line["kinds"] == "teaser_rewritten"
        assert service.stop() == 0
    finally:
        if service.proc.poll() is None:
            service.proc.kill()
            service.proc.wait()


@needs_chromium
def test_monitor_default_fetch_applies_to_sources(tmp_path: Path, scripted: str) -> None:
    block = source_block("scripted", scripted, SEED_FILES[0].name)
    config = write_config(tmp_path, f'[monitor]\nfetch = "browser"\nconfirm = false\n\n{block}')
    result = run(config, "check", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["outcome"] == "unchanged"


@needs_chromium
def test_hanging_script_is_a_failed_check_and_the_next_check_works(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article], scripted: str
) -> None:
    hang = "<script>while (true) {}</script>"
    good = pages.get(PATH)
    assert good is not None
    pages.put(PATH, good.body.decode().replace("</body>", hang + "</body>"))
    settings = load_settings(_config(tmp_path, scripted, timeout="2s"))
    with open_app(settings) as app:
        [hung] = app.checker.check(settings.sources)
        assert hung.outcome == "error"
        assert hung.error is not None and "timed out" in hung.error
        pages.put_scripted(PATH, seed_articles[0], rest=REST)
        [after] = app.checker.check(settings.sources)
        assert after.outcome == "unchanged", after.error
        assert app.checker.browser is not None and app.checker.browser.launches == 1


@needs_chromium
def test_browser_crash_is_a_failed_check_and_the_next_check_starts_a_new_browser(
    tmp_path: Path, http: LoopServer, pages: PageServer, seed_articles: list[Article]
) -> None:
    pages.put_scripted(PATH, seed_articles[0], rest=REST)
    page = pages.get(PATH)
    assert page is not None
    killed: list[int] = []

    def crash_then_serve(request: object) -> Reply:
        # The browser dies while its page waits for this answer.
        if not killed:
            killed.extend(_kill(_browser_pids()))
        return Reply(200, page.body, {"Content-Type": "text/html; charset=utf-8"})

    url = http.route(PATH, crash_then_serve)
    http.static(
        "/wp-json/paywall/v1/access?post=2023-09-scripted-article",
        '{"granted": false}',
        Content_Type="application/json",
    )
    settings = load_settings(_config(tmp_path, url))
    with open_app(settings) as app:
        [crashed] = app.checker.check(settings.sources)
        assert killed, f"the test found no browser process to kill; the check: {crashed}"
        assert crashed.outcome == "error"
        assert crashed.error is not None and "crashed" in crashed.error
        [after] = app.checker.check(settings.sources)
        assert after.outcome == "unchanged", after.error
        assert app.checker.browser is not None and app.checker.browser.launches == 2


@needs_chromium
def test_public_page_may_not_reach_a_loopback_address(http: LoopServer) -> None:
    # Readable from any origin, so that a page that reached it could copy it into its text.
    secret = http.static("/secret", "<p>internal</p>", Access_Control_Allow_Origin="*")
    http.static("/go", "", status=302, Location=secret, Access_Control_Allow_Origin="*")
    copy = "then(r => r.text()).then(t => document.body.insertAdjacentHTML('beforeend', t))"
    http.static(
        "/page",
        f"<html><body><article><p>{WORDS}</p></article><iframe src='/go'></iframe>"
        f"<script>fetch({json.dumps(secret)}).{copy}; fetch('/go').{copy}</script></body></html>",
        Content_Type="text/html",
    )
    # Chromium reaches news.test on loopback; to monitor it is a name on the public internet.
    rules = (f"--host-resolver-rules=MAP news.test 127.0.0.1:{http.port}",)
    public = BrowserFetcher(timeout=5.0, args=rules)
    try:
        page = public.fetch(f"http://news.test:{http.port}/page")
        with pytest.raises(CaptureError, match="private or loopback address: refused"):
            public.fetch(f"http://news.test:{http.port}/go")
        assert http.hits("/secret") == []
        # The same pages with allow_private do reach it: the rule, not chance, kept it out.
        allowed = public.fetch(f"http://news.test:{http.port}/page", allow_private=True)
    finally:
        public.close()
    assert b"internal" not in page.body
    assert b"internal" in allowed.body
    assert len(http.hits("/secret")) >= 2  # the direct request and a redirect, at least


@needs_chromium
def test_images_fonts_and_media_are_not_requested(
    http: LoopServer, browser: BrowserFetcher
) -> None:
    http.static("/pic.png", b"\x89PNG", Content_Type="image/png")
    http.static("/font.woff2", b"wOF2", Content_Type="font/woff2")
    http.static("/clip.mp4", b"\0\0\0\x18ftyp", Content_Type="video/mp4")
    http.static("/style.css", "p { color: black }", Content_Type="text/css")
    url = http.static(
        "/page",
        '<html><head><link rel="stylesheet" href="/style.css"><style>@font-face '
        "{font-family: F; src: url(/font.woff2)} p {font-family: F}</style></head><body>"
        f'<article><p>{WORDS}</p><img src="/pic.png"><video src="/clip.mp4" autoplay>'
        "</video></article></body></html>",
        Content_Type="text/html",
    )
    browser.fetch(url)
    assert http.hits("/style.css"), "the page's other requests are made"
    assert [http.hits(p) for p in ("/pic.png", "/font.woff2", "/clip.mp4")] == [[], [], []]


@needs_chromium
def test_idle_browser_is_stopped_and_the_next_page_starts_it_again(
    http: LoopServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("monitor.fetch.browser.IDLE", 0.2)
    url = http.static("/page", f"<html><body><article><p>{WORDS}</p></article></body></html>")
    fetcher = BrowserFetcher(timeout=5.0)
    try:
        fetcher.fetch(url)
        assert fetcher.running
        stopped = threading.Event()
        for _ in range(200):  # up to 20 s on a busy machine
            if not fetcher.running:
                stopped.set()
                break
            stopped.wait(0.1)
        assert stopped.is_set(), "the idle browser was not stopped"
        assert b"word39" in fetcher.fetch(url).body
        assert fetcher.launches == 2
    finally:
        fetcher.close()


@needs_chromium
def test_no_cookie_is_kept_between_pages(http: LoopServer, browser: BrowserFetcher) -> None:
    url = http.static(
        "/page",
        f"<html><body><article><p>{WORDS}</p></article></body></html>",
        Content_Type="text/html",
        Set_Cookie="articles_read=1; Path=/",
    )
    browser.fetch(url)
    browser.fetch(url)
    [_, second] = http.hits("/page")
    assert "articles_read" not in {k.lower(): v for k, v in second.headers.items()}.get(
        "cookie", ""
    )


@needs_chromium
def test_browser_pages_are_limited_by_browser_pages(tmp_path: Path, http: LoopServer) -> None:
    lock = threading.Lock()
    state = {"now": 0, "most": 0}

    def slow(request: object) -> Reply:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        threading.Event().wait(0.3)
        with lock:
            state["now"] -= 1
        return Reply(200, ARTICLE, {"Content-Type": "text/html"})

    blocks = _browser_sources(http, slow, 4)
    config = write_config(
        tmp_path,
        "[monitor]\nconcurrency = 4\nper_host = 4\nbrowser_pages = 1\n\n" + blocks,
        seeds=False,
    )
    result = run(config, "check", "--json")
    assert result.exit_code == 0, result.output
    assert [r["outcome"] for r in json.loads(result.stdout)] == ["new"] * 4
    assert state["most"] == 1


def test_browser_source_without_chromium_is_a_failed_check_naming_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pages: PageServer, scripted: str
) -> None:
    monkeypatch.setenv("MONITOR_CHROMIUM", str(tmp_path / "no-chromium-here"))
    config = _config(tmp_path, scripted)
    result = run(config, "check", "--json")
    assert result.exit_code == 1
    [row] = json.loads(result.stdout)
    assert row["outcome"] == "error"
    assert "pip install 'monitor[browser]'" in row["error"]
    assert "apt-get install chromium" in row["error"]
    assert pages.hits.get(PATH, 0) == 0

    doctor = run(config, "doctor")
    assert doctor.exit_code == 1
    assert "browser: not usable" in doctor.output
    assert "needed by 1 source(s): scripted" in doctor.output


def test_without_playwright_compare_browser_exits_2_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, scripted: str
) -> None:
    monkeypatch.setitem(sys.modules, "playwright.async_api", None)  # import fails as if absent
    result = run(None, "compare", str(SEED_FILES[0]), scripted, "--browser")
    assert result.exit_code == 2
    assert "needs Playwright" in result.output
    assert "pip install 'monitor[browser]'" in result.output


@needs_chromium
def test_doctor_says_the_browser_is_usable(tmp_path: Path, scripted: str) -> None:
    result = run(_config(tmp_path, scripted), "doctor", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["browser"]["usable"] is True
    assert data["browser"]["version"].startswith("Chromium ")
    assert data["browser"]["needed_by"] == ["scripted"]


def test_unknown_fetch_value_is_refused_naming_the_key(tmp_path: Path) -> None:
    config = _config(tmp_path, "https://example.org/a", fetch="chrome")
    result = run(config, "check")
    assert result.exit_code == 2
    assert "fetch: 'chrome'" in result.output
    assert '"browser"' in result.output


@needs_chromium
def test_ctrl_c_on_a_browser_check_records_neither_the_page_loading_nor_the_one_waiting(
    tmp_path: Path, http: LoopServer
) -> None:
    """A terminal's Ctrl-C reaches Chromium too: the page it was loading and the one waiting
    for `browser_pages` are cancelled, not failed, so they count toward no `failing_after`
    (an outside review found both stored as failures, with "Source failing" alerts)."""
    released = threading.Event()
    blocks = _browser_sources(http, _held_until(released), 2)
    config = write_config(
        tmp_path,
        '[monitor]\ntimeout = "20s"\nbrowser_pages = 1\nfailing_after = 1\n'
        f'[email]\nto = ["desk@example.org"]\n\n{blocks}',
        seeds=False,
    )
    # its own process group, as a terminal gives it
    proc = _check_process(config, session=True)
    try:
        deadline = time.monotonic() + 30
        while not (http.hits("/p0") or http.hits("/p1")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert http.hits("/p0") or http.hits("/p1"), "no page was asked for"
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        released.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert sorted(line.split()[:2] for line in out.splitlines() if line.startswith("page-")) == [
        ["page-0", "cancelled"],
        ["page-1", "cancelled"],
    ], out
    db = tmp_path / "monitor.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from checks").fetchone() == (0,)
        assert conn.execute("select count(*) from events").fetchone() == (0,)
    assert not (tmp_path / "outbox").exists()


@needs_chromium
def test_sigterm_to_check_cancels_the_browser_page_and_leaves_no_browser_behind(
    tmp_path: Path, http: LoopServer
) -> None:
    """Left to SIGTERM's default, `check` ended at once and its Chromium lived on for 3 to 15 s
    (an outside review): it now stops as after Ctrl-C and closes the browser itself."""
    released = threading.Event()
    config = write_config(
        tmp_path,
        f'[monitor]\ntimeout = "20s"\n\n{_browser_sources(http, _held_until(released), 1)}',
        seeds=False,
    )
    proc = _check_process(config)
    below: set[int] = set()
    try:
        deadline = time.monotonic() + 30
        while not http.hits("/p0") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert http.hits("/p0"), "the page was not asked for"
        below = descendants(proc.pid)
        assert below, "no browser process under the check"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        left = [pid for pid in below if running(pid)]
    finally:
        released.set()
        end_all(proc, below)
    assert proc.returncode == 143, err
    assert [line.split()[:2] for line in out.splitlines() if line.startswith("page-")] == [
        ["page-0", "cancelled"]
    ], out
    assert left == [], "browser processes outlived the check"
    with sqlite3.connect(tmp_path / "monitor.db") as conn:
        assert conn.execute("select count(*) from checks").fetchone() == (0,)


@needs_chromium
def test_a_service_stopped_by_a_signal_to_its_process_group_records_no_browser_failure(
    tmp_path: Path, http: LoopServer
) -> None:
    """A terminal's Ctrl-C, or systemd's default stop, reaches Chromium too and ends the page
    a check is loading: that check is cancelled, not stored as "the browser crashed" and
    counted toward `failing_after` (an outside review)."""
    released = threading.Event()
    block = _browser_sources(http, _held_until(released), 1)
    config = write_config(
        tmp_path,
        f'[monitor]\ninterval = "2s"\ntimeout = "20s"\nfailing_after = 1\n\n{block}',
        seeds=False,
    )
    service = RunningService(config, session=True)
    try:
        service.wait_for(lambda: http.hits("/p0"))
        os.killpg(service.proc.pid, signal.SIGINT)
        assert service.proc.wait(30) == 0
    finally:
        released.set()
        if service.proc.poll() is None:
            service.proc.kill()
            service.proc.wait()
    assert service.events("service stopped")
    assert not service.events("check", source="page-0", outcome="error"), service.raw
    with sqlite3.connect(tmp_path / "monitor.db") as conn:
        assert conn.execute("select count(*) from checks").fetchone() == (0,)
        assert conn.execute("select consecutive_failures from sources").fetchall() == [(0,)]


@needs_chromium
def test_a_page_that_never_shows_an_article_says_so_and_where_its_script_went(
    http: LoopServer,
) -> None:
    """Not "a script that never ends?" (the page's own deadline and the load's raced, and the
    load's always won: an outside review); the sign-in page a script sent the reader to is
    named."""
    login = http.static("/login", "<html><body><form><input type=password></form></body></html>")
    page = http.static(
        "/article",
        f"<html><body><script>location.href = {json.dumps(login)}</script></body></html>",
    )
    fetcher = BrowserFetcher(timeout=2.0)
    try:
        with pytest.raises(CaptureError) as caught:
            fetcher.fetch(page, allow_private=True)
    finally:
        fetcher.close()
    assert str(caught.value) == (
        f"the page never showed an article or a paywall notice within 2 s in the browser "
        f"(it went on to {login})"
    )
