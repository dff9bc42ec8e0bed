"""Reading sources in headless Chromium (`fetch = "browser"`), for pages whose paywall a script
builds in the reader's browser.

Playwright is an optional extra (`pip install 'monitor[browser]'`) and drives the system Chromium
(Debian's `chromium`); nothing is downloaded at run time. It is imported only when the first
browser page is asked for, so the rest of monitor works without it.

Playwright's API may not be used from several threads, and checks run in a thread pool. So one
thread of this process owns Playwright and the browser, running an asyncio loop; any thread asks
for a page with `fetch`, which hands the work to that loop and waits for it. Pages load
concurrently in the one browser, at most `pages` at a time (a browser page costs far more than
a request), each in a fresh context: no cookie or storage is kept, so every check sees what a
first-time reader sees.

`fetch` returns a `Capture` of the rendered DOM, or raises `CaptureError` with a reason (timed
out, crashed, a navigation error, the page never showed an article): a failed check, never a
change. A browser that crashes or stops answering is started again for the next page.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shutil
import threading
import time
import urllib.parse
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from monitor.detect.capture import Capture, parse_content_type
from monitor.detect.rules import ExtractRules
from monitor.errors import Cancelled, CaptureError
from monitor.fetch.files import format_size, is_local, read_file
from monitor.fetch.http import is_private_host

if TYPE_CHECKING:
    import asyncio

    from playwright.async_api import Browser, Frame, Page, Playwright, Request, Route

T = TypeVar("T")
U = TypeVar("U")
V = TypeVar("V")

INSTALL_HINT = (
    "pip install 'monitor[browser]' (Playwright) and the system Chromium "
    "(Debian/Ubuntu: apt-get install chromium)"
)
# Requests a reader's page makes that never carry the teaser or the notice: blocked, so a
# browser check costs less and leaks less.
BLOCKED_TYPES = frozenset({"image", "font", "media"})
# How long the `load` event is waited for. One hung third-party script or frame (an ad server
# that never answers) holds it for ever while the article is on screen: past this, the page is
# read once its text is still (`QUIET`).
LOAD_WAIT = 5.0
# How long to wait for the network to go quiet after the load event: paywall scripts ask a
# server whether the reader may read before they cut the text. Pages that poll never go
# quiet, so this is bounded, and waiting it out is no failure.
SETTLE = 5.0
# How long the page's text must stay still before it is read (a source's `settle` overrides
# it). A script may draw the article bit by bit, fill a notice placeholder, or add or remove a
# notice on a timer, with no request the network wait would see: a page read part-way gives
# false changes ("Teaser cut moved") and misses edits to what came later.
QUIET = 2.0
# A page whose text never stays still (a ticking clock, a carousel) is read this many times
# `settle` after it showed its article or notice, and no sooner than `QUIET_FLOOR`.
QUIET_CAP = 3
QUIET_FLOOR = 6.0
# A page that shows neither an article nor a notice is read once its network has gone quiet
# and its text has been still this long (or `settle`, if longer): a soft 404, a sign-in page, a
# consent page. Extraction then says what it is, as it does over HTTP, rather than the page
# waiting out the whole timeout. With a request still open it may be fetching its article.
UNREADY_QUIET = 5.0
# How long a frame or a shadow root is given to show its text before the page is read without
# it (a frame still loading does not answer).
FRAME_WAIT = 1.0
# Closing a page, or the browser, that does not answer within this is a hung browser.
CLOSE_TIMEOUT = 5.0
# How long past `timeout` a page's load may run before it is cut whatever it waits for: time
# to copy frames (`FRAME_WAIT`) and take the page's HTML once the wait has ended.
LOAD_MARGIN = 5.0
LAUNCH_TIMEOUT = 30.0
# With no page for this long the browser is stopped; the next page starts it again.
IDLE = 60.0
_ARGS = (
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--mute-audio",
    # Every frame in the page's process, so that the page's DevTools session sees the
    # redirects of cross-site frames too (see `_Policy`).
    "--disable-site-isolation-trials",
)
# When the page's text last changed: run in every document before its own scripts, so that
# the time the page was already still counts. Changes to the document's head, and nodes that
# show no text (scripts that ad loaders add all the time, styles), are not changes; attributes
# (animations, classes) are not watched.
_WATCH = """(() => {
  if (window.__monitorQuiet) return;
  const state = { last: performance.now(), readySince: null };
  const unseen = new Set(["SCRIPT", "STYLE", "LINK", "META", "NOSCRIPT", "TEMPLATE"]);
  const shows = (n) => !(unseen.has(n.nodeName) || (n.nodeType === 3 && !n.data.trim()));
  const inHead = (n) => document.head !== null && document.head.contains(n);
  new MutationObserver((records) => {
    for (const r of records) {
      if (inHead(r.target)) continue;
      const moved = r.type === "characterData"
        ? !(r.target.parentNode && unseen.has(r.target.parentNode.nodeName))
        : [...r.addedNodes].some(shows) || [...r.removedNodes].some(shows);
      if (moved) { state.last = performance.now(); return; }
    }
  }).observe(document, { childList: true, subtree: true, characterData: true });
  Object.defineProperty(window, "__monitorQuiet", { value: state });
})();"""
# Whether to read the page now. Shown: a paywall selector matches an element with text (or a
# frame: Piano draws its offer in one), a marker is in the text, or a teaser container holds at
# least `min_words` words. Then it is read once its text has been still for `quiet` ms, or
# `cap` ms after it was first shown; a page that never shows either, once its text has been
# still for `unready` ms. Selectors are valid for selectolax; one the browser refuses is skipped.
_READY = (
    """([teaser, paywall, markers, minWords, quiet, cap, unready]) => {
  if (!window.__monitorQuiet) """
    + _WATCH
    + """
  const state = window.__monitorQuiet;
  const now = performance.now();
  const still = now - state.last;
  if (state.readySince === null) {
    // looked for until found, not at every poll: `innerText` lays out a large page
    const find = (s) => { try { return document.querySelector(s); } catch (e) { return null; } };
    const text = markers.length && document.body ? document.body.innerText : "";
    const shown = paywall.some((s) => {
        const el = find(s);
        return el !== null && (el.innerText.trim() !== "" || el.querySelector("iframe") !== null);
      })
      || markers.some((m) => text.includes(m))
      || teaser.some((s) => {
        const el = find(s);
        return el !== null && el.innerText.split(/\\s+/).filter(Boolean).length >= minWords;
      });
    if (!shown) return still >= unready;
    state.readySince = now;
  }
  return still >= quiet || now - state.readySince >= cap;
}"""
)
# Where an element stands, for `_inline`: inside an element the selectors name (a notice's
# container: `known`, those extraction finds by itself, or `more`), shown to a reader, in the
# page's header, navigation or footer, and in a layer laid over the page (fixed, over a fifth
# of the window or more: a paywall's modal).
_PLACE = """(el, [known, more]) => ({
  known: known.some((s) => {
    try { return el.closest(s) !== null; } catch (e) { return false; }
  }),
  holder: [...known, ...more].some((s) => {
    try { return el.closest(s) !== null; } catch (e) { return false; }
  }),
  shown: el.checkVisibility({ visibilityProperty: true }),
  chrome: el.closest("header, nav, footer") !== null,
  overlay: (() => {
    const screen = window.innerWidth * window.innerHeight;
    for (let a = el; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).position !== "fixed") continue;
      const r = a.getBoundingClientRect();
      if (r.width * r.height >= screen / 5) return true;
    }
    return false;
  })(),
})"""
# The open shadow roots of a document, outermost first, each with its text and that of the
# roots inside it, and its host's place (`_PLACE`); kept on the document for `_FLATTEN`.
_SHADOWS = (
    """(selectors) => {
  const place = """
    + _PLACE
    + """;
  const hosts = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) { hosts.push(el); walk(el.shadowRoot); }
    }
  };
  walk(document);
  const text = (root) => {
    let out = "";
    for (const n of root.childNodes) {
      if (n.nodeName === "STYLE" || n.nodeName === "SCRIPT") continue;
      out += " " + (n.nodeType === 1 ? n.innerText || n.textContent : n.textContent);
    }
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) out += " " + text(el.shadowRoot);
    }
    return out;
  };
  document.__monitorHosts = hosts;
  return hosts.map((h) => ({ text: text(h.shadowRoot), ...place(h, selectors) }));
}"""
)
# A copy of the shadow roots picked (by index in `_SHADOWS`' list), and of every root inside
# them, put into their hosts as plain elements: the page's HTML does not hold a shadow root.
# Innermost first, so that an outer copy holds the inner ones. Those `marked` are given the
# class `mark` (see `_inline`).
_FLATTEN = """([picked, marked, mark]) => {
  const hosts = document.__monitorHosts || [];
  const chosen = new Set(picked.map((i) => hosts[i]));
  const within = (el) => {
    for (let h = el; h; h = h.getRootNode().host) if (chosen.has(h)) return true;
    return false;
  };
  for (const host of [...hosts].reverse()) {
    if (!within(host)) continue;
    const copy = document.createElement("div");
    copy.setAttribute("data-monitor-shadow", "");
    if (marked.includes(hosts.indexOf(host))) copy.className = mark;
    for (const n of host.shadowRoot.childNodes) copy.append(n.cloneNode(true));
    host.append(copy);
  }
}"""
# Whether a frame has text that has been still for `quiet` ms (`_WATCH` runs in frames too).
_STILL = (
    """(quiet) => {
  if (!window.__monitorQuiet) """
    + _WATCH
    + """
  const text = document.body ? document.body.innerText.trim() : "";
  return text !== "" && performance.now() - window.__monitorQuiet.last >= quiet;
}"""
)
# A document's text (its shadow roots' come from `_SHADOWS`).
_TEXT = '() => document.body ? document.body.innerText : ""'
# A frame's body as HTML, without what shows no text.
_FRAME_HTML = """() => {
  if (!document.body) return "";
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll("script, style, noscript, template").forEach((n) => n.remove());
  return copy.innerHTML;
}"""
# A frame's content, put beside its element in the page that holds it (an iframe's own
# children are text to an HTML parser), with the class `mark`, if any.
_PUT_AFTER = """(el, [html, mark]) => {
  const copy = document.createElement("div");
  copy.setAttribute("data-monitor-frame", "");
  if (mark) copy.className = mark;
  copy.innerHTML = html;
  el.after(copy);
}"""

_NET_ERRORS = {
    "ERR_CONNECTION_REFUSED": "connection refused (nothing listens on that port)",
    "ERR_NAME_NOT_RESOLVED": "host name not found (DNS)",
    "ERR_NAME_RESOLUTION_FAILED": "host name lookup failed (DNS), try again later",
    "ERR_CONNECTION_RESET": "connection reset by the server",
    "ERR_CONNECTION_CLOSED": "connection closed by the server",
    "ERR_EMPTY_RESPONSE": "the server closed the connection without answering",
    "ERR_CONNECTION_TIMED_OUT": "timed out connecting",
    "ERR_TIMED_OUT": "timed out",
    "ERR_ADDRESS_UNREACHABLE": "no route to the host",
    "ERR_INTERNET_DISCONNECTED": "network unreachable",
    "ERR_TOO_MANY_REDIRECTS": "too many redirects (a redirect loop?)",
    "ERR_UNSAFE_REDIRECT": "redirected to a URL the browser refuses to follow",
    "ERR_ABORTED": "the navigation was aborted (a download, or the page stopped it)",
    "ERR_INVALID_RESPONSE": "the server's answer is not valid HTTP",
}


class BrowserUnavailable(CaptureError):
    """Playwright or Chromium is missing: every browser source fails until it is installed."""


@functools.cache
def capture_key(settle: float) -> str:
    """What a browser source's reading depends on besides the page, the detection code and its
    rules: this module's code (when it reads a page, what it copies into it) and how long the
    page's text must be still (`BrowserFetcher.settle_for`). A version read otherwise is not
    compared with a page read now (see `detect.reading`)."""
    return f"{loaded_code()}/{settle!r}"


@functools.cache
def loaded_code() -> str:
    """The hash of this module's file as this process first read it."""
    return installed_code()


def installed_code() -> str:
    """The hash of this module's file on disk now (an upgrade may have replaced it)."""
    try:
        return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    except OSError:
        return "code unknown"


def find_chromium() -> str | None:
    """The system Chromium: `MONITOR_CHROMIUM`, else `chromium` or `chromium-browser` on PATH."""
    configured = os.environ.get("MONITOR_CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def missing() -> str | None:
    """Why the browser cannot be used, naming what to install; None when both are there."""
    try:
        import playwright.async_api  # noqa: F401 - only asks whether the extra is installed
    except ImportError:
        return f'fetch = "browser" needs Playwright, which is not installed: {INSTALL_HINT}'
    if find_chromium() is None:
        where = os.environ.get("MONITOR_CHROMIUM")
        found = f"MONITOR_CHROMIUM={where} is not an executable" if where else "not on PATH"
        return f'fetch = "browser" needs Chromium ({found}): {INSTALL_HINT}'
    return None


@dataclass
class _Policy:
    """What one page may request: the SSRF rule of the HTTP fetcher, for every request the
    page makes (frames, scripts, workers) and for every redirect, not only the first request.

    Playwright's route sees each request before it is sent, but not the hops of a redirect,
    which the browser follows by itself: those are seen in the 3xx response, before the
    browser follows its Location, through the page's DevTools session (`Fetch` domain).
    """

    allow_private: bool
    verdicts: dict[str, bool] = field(default_factory=dict)  # host -> private
    refused: str | None = None  # the last request refused, and why
    leaked: str | None = None  # a request that reached a private address all the same
    tasks: set[asyncio.Future[None]] = field(default_factory=set)

    async def private(self, host: str) -> bool:
        if host not in self.verdicts:
            loop = asyncio.get_running_loop()
            # a DNS lookup: never on the loop's thread, which serves every page
            self.verdicts[host] = await loop.run_in_executor(None, is_private_host, host)
        return self.verdicts[host]

    async def refuse(self, url: str, *, redirect: bool) -> str | None:
        """Why the page may not request `url`, or None."""
        parts = urllib.parse.urlsplit(url)
        how = "redirected to" if redirect else "requested"
        if parts.scheme not in ("http", "https"):
            # data: and blob: are the page's own; the browser refuses file: to a web page
            return f"{how} {url}, which is not an http(s) URL" if redirect else None
        if not self.allow_private and await self.private(parts.hostname or ""):
            return (
                f"{how} {url}, a private or loopback address: refused "
                "(set allow_private = true on the source to allow it)"
            )
        return None

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self.tasks.discard)

    async def watch(self, page: Page) -> None:
        """Refuse redirects to private addresses on `page`, and note any that escaped."""
        from playwright.async_api import Error as PlaywrightError

        session = await page.context.new_cdp_session(page)

        async def paused(event: dict[str, Any]) -> None:
            status = event.get("responseStatusCode") or 0
            headers = event.get("responseHeaders") or ()
            location = next((h["value"] for h in headers if h["name"].lower() == "location"), "")
            target = urllib.parse.urljoin(event["request"]["url"], location)
            reason = await self.refuse(target, redirect=True) if 300 <= status < 400 else None
            with contextlib.suppress(PlaywrightError):  # the page may close meanwhile
                if reason is None:
                    await session.send("Fetch.continueRequest", {"requestId": event["requestId"]})
                    return
                self.refused = reason
                await session.send(
                    "Fetch.failRequest",
                    {"requestId": event["requestId"], "errorReason": "BlockedByClient"},
                )

        session.on("Fetch.requestPaused", lambda event: self.spawn(paused(event)))
        await session.send(
            "Fetch.enable", {"patterns": [{"urlPattern": "*", "requestStage": "Response"}]}
        )

        async def escaped(request: Request) -> None:
            # A hop that no session saw (a frame in another process): the request is made,
            # but the page is not stored.
            if request.redirected_from is not None and (
                reason := await self.refuse(request.url, redirect=True)
            ):
                self.leaked = reason

        page.context.on("request", lambda request: self.spawn(escaped(request)))


class BrowserFetcher:
    """Reads pages in headless Chromium. One per process, built by the composition root; the
    browser starts with the first page asked for and stops with `close`.

    `cancel`, shared with the HTTP fetcher, ends the waits of `fetch` at once (Ctrl-C, the
    service's stop). `stopping`, set by the service when its stop begins: a signal sent to
    the whole process group (a terminal's Ctrl-C, systemd's default) ends Chromium too, and a
    page it ends then is cancelled, not failed.
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        user_agent: str | None = None,
        max_body: int = 5 * 1024 * 1024,
        pages: int = 2,
        cancel: threading.Event | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.timeout = timeout
        self.user_agent = user_agent
        self.max_body = max_body
        self.pages = pages
        self.cancel = cancel if cancel is not None else threading.Event()
        self.stopping = threading.Event()
        self.args = args  # more Chromium switches (tests map host names to loopback)
        self.launches = 0  # browsers started so far, the first included
        self._slots = threading.BoundedSemaphore(pages)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        # Owned by the loop's thread; never touched from another.
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._launching: asyncio.Lock | None = None
        self._active = 0  # pages loading
        self._idle_since = 0.0
        self._tasks: set[asyncio.Future[None]] = set()

    # -- the calling threads -------------------------------------------------------------

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        allow_private: bool | None = None,
        rules: ExtractRules | None = None,
        settle: float | None = None,
    ) -> Capture:
        """The page at `url` as the browser renders it, read once its text has been still
        for `settle` seconds (by default `QUIET`, or a quarter of the timeout if less).
        `etag` and `last_modified` are ignored: the rendered page depends on more than the
        document they describe."""
        if is_local(url):
            return read_file(url, self.max_body)  # a saved capture runs no script
        if (reason := missing()) is not None:
            raise BrowserUnavailable(reason)
        if self.cancel.is_set():
            raise Cancelled("cancelled")
        while not self._slots.acquire(timeout=0.1):
            if self.cancel.is_set():
                raise Cancelled("cancelled")
        try:
            work = self._render(
                url, allow_private, rules or ExtractRules(), self.settle_for(settle)
            )
            return self._wait(work)
        except Cancelled:
            raise
        except CaptureError:
            if self.cancel.is_set() or self.stopping.is_set():
                # A Ctrl-C or a stop sent to the whole process group ends Chromium's pages
                # too (aborted, or the browser gone): the stop's doing, not the site's, so
                # not recorded (`Cancelled`), and counted toward no `failing_after`.
                raise Cancelled("cancelled: the browser was stopped") from None
            raise
        finally:
            self._slots.release()

    def settle_for(self, settle: float | None) -> float:
        """How long a page's text must be still: a source's `settle`, else `QUIET`, or a
        quarter of the timeout if less (a short timeout leaves time to read the page)."""
        return settle if settle is not None else min(QUIET, self.timeout / 4)

    def check(self) -> str:
        """Start the browser and render a small page: its version when usable; raises
        `CaptureError` saying why not."""
        if (reason := missing()) is not None:
            raise BrowserUnavailable(reason)
        return self._wait(self._probe())

    @property
    def running(self) -> bool:
        """Whether a browser is started (read from any thread: a snapshot)."""
        return self._browser is not None

    def close(self) -> None:
        """Stop the browser and the loop's thread; a later `fetch` starts them again."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(
                CLOSE_TIMEOUT + LAUNCH_TIMEOUT
            )
        loop.call_soon_threadsafe(loop.stop)
        thread.join(CLOSE_TIMEOUT)
        if not thread.is_alive():
            loop.close()
        # What belonged to that loop is unusable from the next one, closed or not.
        self._browser = self._playwright = self._launching = None

    def _wait(self, work: Coroutine[Any, Any, T]) -> T:
        loop = self._started()  # first: it imports asyncio
        future: Future[T] = asyncio.run_coroutine_threadsafe(work, loop)
        # The page's own deadline is enforced on the loop; this bound only catches a loop
        # that stopped answering altogether.
        ends = time.monotonic() + self.timeout + LAUNCH_TIMEOUT + 2 * CLOSE_TIMEOUT
        while True:
            try:
                return future.result(timeout=0.1)
            except TimeoutError:
                pass
            if self.cancel.is_set():
                future.cancel()
                raise Cancelled("cancelled")
            if time.monotonic() > ends:
                future.cancel()
                self.close()
                raise CaptureError(
                    "the browser stopped answering; it is restarted for the next check"
                )

    def _started(self) -> asyncio.AbstractEventLoop:
        # asyncio is imported with the first page, as Playwright is: 11-13 ms that every command
        # would pay at start, most of them with no browser source. Everything else that uses
        # it runs after this (on the loop, or once the loop exists).
        global asyncio
        import asyncio

        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="browser", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    # -- the loop's thread ---------------------------------------------------------------

    async def _browser_ready(self) -> Browser:
        if self._launching is None:
            self._launching = asyncio.Lock()
        async with self._launching:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            await self._drop_browser()
            try:
                return await asyncio.wait_for(self._launch(), LAUNCH_TIMEOUT)
            except TimeoutError:
                await self._stop_playwright()
                raise CaptureError(f"Chromium did not start within {LAUNCH_TIMEOUT:g} s") from None
            except Exception as exc:
                # A driver that died with the browser: start Playwright afresh next time.
                await self._stop_playwright()
                raise CaptureError(f"cannot start Chromium: {_first_line(exc)}") from None

    async def _launch(self) -> Browser:
        if self._playwright is None:
            from playwright.async_api import async_playwright

            self._playwright = await async_playwright().start()
        browser = await self._playwright.chromium.launch(
            executable_path=find_chromium(),
            args=[*_ARGS, *self.args],
            headless=True,
            timeout=LAUNCH_TIMEOUT * 1000,
        )
        self.launches += 1
        self._browser = browser
        return browser

    async def _drop_browser(self) -> None:
        browser, self._browser = self._browser, None
        if browser is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(browser.close(), CLOSE_TIMEOUT)

    async def _stop_playwright(self) -> None:
        self._browser = None
        playwright, self._playwright = self._playwright, None
        if playwright is not None:
            with contextlib.suppress(Exception):
                # stops the driver, and with it any browser it still runs
                await asyncio.wait_for(playwright.stop(), CLOSE_TIMEOUT)

    async def _shutdown(self) -> None:
        await self._drop_browser()
        await self._stop_playwright()

    async def _probe(self) -> str:
        browser = await self._browser_ready()
        context = await browser.new_context()
        try:
            page = await context.new_page()
            await page.set_content("<p id=ok>ok</p>", timeout=self.timeout * 1000)
            if await page.text_content("#ok") != "ok":  # pragma: no cover - a broken browser
                raise CaptureError("Chromium started but did not render a test page")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(context.close(), CLOSE_TIMEOUT)
        return f"Chromium {browser.version}"

    async def _render(
        self, url: str, allow_private: bool | None, rules: ExtractRules, settle: float
    ) -> Capture:
        self._active += 1
        try:
            return await self._render_page(url, allow_private, rules, settle)
        finally:
            self._active -= 1
            self._idle_since = time.monotonic()
            asyncio.get_running_loop().call_later(IDLE, self._when_idle)

    def _when_idle(self) -> None:
        if self._active or time.monotonic() - self._idle_since < IDLE - 0.05:
            return  # a page came since: its own end schedules the next look
        task = asyncio.ensure_future(self._stop_idle())
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._tasks.discard)

    async def _stop_idle(self) -> None:
        """A service checks hourly: no browser holds its memory between passes."""
        if self._launching is None:
            return
        async with self._launching:
            if not self._active:
                await self._shutdown()

    async def _render_page(
        self, url: str, allow_private: bool | None, rules: ExtractRules, settle: float
    ) -> Capture:
        from playwright.async_api import Error as PlaywrightError

        browser = await self._browser_ready()
        if allow_private is None:
            # As for HTTP: a source configured on a private address may stay within it; one
            # on the public internet may not reach one.
            host = urllib.parse.urlsplit(url).hostname
            allow_private = host is None or await _Policy(False).private(host)
        policy = _Policy(allow_private)
        try:
            context = await browser.new_context(
                user_agent=self.user_agent,
                service_workers="block",  # a worker's requests would escape the route below
                accept_downloads=False,
            )
        except PlaywrightError as exc:
            await self._drop_browser()
            raise CaptureError(f"the browser crashed: {_first_line(exc)}") from None
        try:
            context.set_default_timeout(self.timeout * 1000)
            await context.add_init_script(_WATCH)
            page = await context.new_page()
            await context.route("**/*", lambda route, request: self._route(route, request, policy))
            if not policy.allow_private:
                await policy.watch(page)
            # A margin over the page's own deadline (`_load`), which says what it waited for:
            # this one only catches a step that ignored it.
            return await asyncio.wait_for(
                self._load(page, url, policy, rules, settle), self.timeout + LOAD_MARGIN
            )
        except TimeoutError:
            raise CaptureError(
                f"timed out: the page did not load within {self.timeout:g} s in the browser "
                "(a script that never ends?)"
            ) from None
        except PlaywrightError as exc:
            raise self._failure(exc, url, policy, browser) from None
        finally:
            try:
                await asyncio.wait_for(context.close(), CLOSE_TIMEOUT)
            except Exception:
                # A context that will not close is a browser in trouble: start a new one.
                await self._drop_browser()

    async def _load(
        self, page: Page, url: str, policy: _Policy, rules: ExtractRules, settle: float
    ) -> Capture:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        ends = time.monotonic() + self.timeout

        def left(cap: float | None = None) -> float:
            remaining = max(0.001, ends - time.monotonic())
            return 1000 * (remaining if cap is None else min(cap, remaining))

        try:
            response = await page.goto(url, wait_until="domcontentloaded", timeout=left())
        except PlaywrightTimeout:
            raise TimeoutError from None
        if response is None:  # pragma: no cover - only for same-document navigations
            raise CaptureError("the browser received no answer for the page")
        status = response.status
        if status >= 400:
            raise CaptureError(f"HTTP {status} {response.status_text}".rstrip(), status=status)
        media_type, charset = parse_content_type(response.headers.get("content-type"))
        if media_type not in (None, "text/html", "application/xhtml+xml"):
            # no script to run: the document as served, read as the HTTP fetcher reads it
            body = await response.body()
            self._bound(len(body))
            return Capture(page.url, body, status, media_type, charset)
        # Neither wait is a failure when cut short: what they wait for may never come. With
        # no `load`, a request is still open: the network will not go quiet either.
        idle = False
        try:
            await page.wait_for_load_state("load", timeout=left(LOAD_WAIT))
            await page.wait_for_load_state("networkidle", timeout=left(SETTLE))
            idle = True
        except PlaywrightTimeout:
            pass
        cap = max(QUIET_CAP * settle, QUIET_FLOOR)
        ready = [
            list(rules.teaser),
            list(rules.paywall),
            list(rules.markers),
            rules.min_words,
            1000 * settle,
            1000 * cap,
            # A page with a request still open may be fetching its article (a slow API
            # behind a script): it is read before it shows one only at the timeout.
            1000 * max(UNREADY_QUIET, settle) if idle else float("inf"),
        ]
        try:
            await page.wait_for_function(_READY, arg=ready, polling=100, timeout=left())
        except PlaywrightTimeout:
            # A page that shows its article but never stays still within the timeout (a
            # ticking clock, a settle near the timeout) is read as it stands.
            shown = [*ready[:4], 0, 0, float("inf")]
            # a page whose script holds its thread does not answer: "a script that never ends?"
            if not await asyncio.wait_for(page.evaluate(_READY, shown), FRAME_WAIT):
                # a script that took the reader elsewhere (a sign-in page, say) is named
                moved = f" (it went on to {page.url})" if page.url != response.url else ""
                raise CaptureError(
                    f"the page never showed an article or a paywall notice within "
                    f"{self.timeout:g} s in the browser{moved}"
                ) from None
        try:
            await _inline(page, rules, settle, left(cap) / 1000)
            html = await page.content()
        except PlaywrightError as exc:
            # the page's script took the reader elsewhere while the page was read
            if page.url == response.url and "navigat" not in str(exc):
                raise
            raise CaptureError(
                f"the page went on to {page.url} while it was read in the browser"
            ) from None
        if policy.leaked:
            raise CaptureError(policy.leaked)
        body = html.encode("utf-8")
        self._bound(len(body))
        # The DOM is text already: whatever charset the document declared, it is UTF-8 now.
        return Capture(page.url, body, status, "text/html", "utf-8")

    def _bound(self, size: int) -> None:
        if size > self.max_body:
            raise CaptureError(
                f"rendered page of {format_size(size)} is over the "
                f"{format_size(self.max_body)} limit (max_body)"
            )

    async def _route(self, route: Route, request: Request, policy: _Policy) -> None:
        from playwright.async_api import Error as PlaywrightError

        with contextlib.suppress(PlaywrightError):  # the page may close meanwhile
            if request.resource_type in BLOCKED_TYPES:
                await route.abort("blockedbyclient")
            elif reason := await policy.refuse(request.url, redirect=False):
                policy.refused = reason
                await route.abort("blockedbyclient")
            else:
                await route.continue_()

    def _failure(self, exc: Exception, url: str, policy: _Policy, browser: Browser) -> CaptureError:
        text = _first_line(exc)
        if policy.refused and "net::ERR_BLOCKED_BY_CLIENT" in text:
            return CaptureError(policy.refused)
        if not browser.is_connected() or "crash" in text.lower() or "closed" in text.lower():
            return CaptureError(
                "the browser crashed while loading the page; it is restarted for the next check"
            )
        for code, words in _NET_ERRORS.items():
            if f"net::{code}" in text:
                return CaptureError(f"cannot load {url} in the browser: {words}")
        if "net::ERR_CERT" in text or "net::ERR_SSL" in text:
            code = text.split("net::", 1)[1].split()[0]
            return CaptureError(f"cannot load {url} in the browser: TLS failed ({code})")
        return CaptureError(f"cannot load {url} in the browser: {text}")


# Where paywall systems draw their offers in a frame: Piano's modal, and the systems' own hosts.
_FRAME_HOLDERS = (".tp-modal",)
_PAYWALL_HOSTS = (
    "piano.io",
    "tinypass.com",
    "poool.fr",
    "zephr.com",
    "pelcro.com",
    "laterpay.net",
    "steadyhq.com",
    "memberful.com",
)


async def _inline(page: Page, rules: ExtractRules, settle: float, left: float) -> None:
    """Put into the page's HTML what a reader sees of a notice in a frame or an open shadow
    root, which the page's HTML does not hold: Piano draws its offer in an iframe inside its
    modal, web components keep their text in a shadow root.

    Only a frame or shadow root a reader is shown that stands where a notice does: in a
    notice's container (the rules', the known systems', Piano's modal), in a layer laid over
    the page, or (a frame) served by a paywall system's host; a frame inside such a frame too.
    Of those, the ones that say a notice's words or stand in a notice's container are copied.
    An ad's frame, an embedded post or a widget that says "members-only" stands in the article
    or beside it: copied, it would make a free page read as locked, with text that may change on
    every request. A copy that says the words outside a container extraction knows is marked as
    a notice (`FOUND_NOTICE`): the browser saw it shown.

    A frame picked is first given the time it needs to load and draw its offer, within
    `left` seconds: until its text has been still for `settle` (its offer may come after the
    page's own text has settled)."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    # what extraction looks for
    from monitor.detect.notice import FOUND_NOTICE, KNOWN_NOTICES, says_notice

    def notice(text: str) -> bool:
        return says_notice(text) or any(marker in text for marker in rules.markers)

    # where extraction finds a notice by itself, and where a frame's may stand besides
    selectors = [[*rules.paywall, KNOWN_NOTICES], list(_FRAME_HOLDERS)]

    async def place(frame: Frame) -> tuple[Frame, dict[str, bool]]:
        element = await frame.frame_element()
        found: dict[str, bool] = await element.evaluate(_PLACE, selectors)
        return frame, found

    frames = [frame for frame in page.frames if frame.parent_frame is not None]
    # A frame still loading (an ad server that never answers) does not answer either: it is
    # left out after FRAME_WAIT, as is one that went away meanwhile.
    places = dict(found for found in await _each(place, frames) if found is not None)

    def stands(frame: Frame) -> bool:
        """Shown where a notice stands, or inside a frame that is."""
        where = places.get(frame)
        if where is None or not where["shown"]:
            return False
        host = urllib.parse.urlsplit(frame.url).hostname or ""
        if where["holder"] or where["overlay"] or host.endswith(_PAYWALL_HOSTS):
            return True
        parent = frame.parent_frame
        return parent is not None and parent.parent_frame is not None and stands(parent)

    candidates = [frame for frame in frames if stands(frame)]
    budget = time.monotonic() + left

    async def read(frame: Frame) -> tuple[Frame, str] | None:
        # its offer drawn: loaded, and its text still for `settle`
        wait = max(0.001, budget - time.monotonic())
        with contextlib.suppress(PlaywrightTimeout):
            await frame.wait_for_function(
                _STILL, arg=1000 * settle, polling=100, timeout=1000 * wait
            )
        shadows = await frame.evaluate(_SHADOWS, [[], []])
        text = " ".join([await frame.evaluate(_TEXT), *(s["text"] for s in shadows)])
        where = places[frame]
        said = not where["chrome"] and notice(text)
        if not (said or where["holder"]):
            return None
        return frame, FOUND_NOTICE if said and not where["known"] else ""

    picked = {
        found[0]: found[1]
        for found in await _each(read, candidates, left + FRAME_WAIT)
        if found is not None
    }
    # The frames around a frame picked carry its copy to the page.
    for frame in list(picked):
        parent = frame.parent_frame
        while parent is not None and parent.parent_frame is not None:
            picked.setdefault(parent, "")
            parent = parent.parent_frame
    # Innermost first: a frame's own frames are in its HTML before it is copied.
    for frame in sorted(picked, key=_depth, reverse=True):
        await _each(_copy_frame, [(frame, picked[frame])])
    shadows = await page.evaluate(_SHADOWS, selectors)
    chosen, marked = [], []
    for i, host in enumerate(shadows):
        if not host["shown"] or not (host["holder"] or host["overlay"]):
            continue
        said = not host["chrome"] and notice(host["text"])
        if said or host["holder"]:
            chosen.append(i)
            if said and not host["known"]:
                marked.append(i)
    if chosen:
        await page.evaluate(_FLATTEN, [chosen, marked, FOUND_NOTICE])


async def _copy_frame(job: tuple[Frame, str]) -> None:
    frame, mark = job
    element = await frame.frame_element()
    shadows = await frame.evaluate(_SHADOWS, [[], []])
    await frame.evaluate(_FLATTEN, [list(range(len(shadows))), [], ""])
    await element.evaluate(_PUT_AFTER, [await frame.evaluate(_FRAME_HTML), mark])


async def _each(
    work: Callable[[U], Coroutine[Any, Any, V]], items: list[U], within: float = FRAME_WAIT
) -> list[V | None]:
    """`work` on every item at once, each given `within` s: None for one that failed."""
    from playwright.async_api import Error as PlaywrightError

    async def bounded(item: U) -> V | None:
        try:
            return await asyncio.wait_for(work(item), within)
        except (TimeoutError, PlaywrightError):
            return None

    return list(await asyncio.gather(*(bounded(item) for item in items)))


def _depth(frame: Frame) -> int:
    depth = 0
    while (parent := frame.parent_frame) is not None:
        depth, frame = depth + 1, parent
    return depth


def _first_line(exc: Exception) -> str:
    """A Playwright error without its call log, and without the API method it came from."""
    text = (str(exc) or type(exc).__name__).strip().splitlines()[0]
    head, sep, rest = text.partition(": ")
    return rest if sep and "." in head and " " not in head else text
