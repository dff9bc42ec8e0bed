"""Realistic WordPress-style article pages built from a text snapshot, and a loopback server.

Used by `monitor demo`, the tests and the benchmark: the pages carry what real ones do (navigation,
a dated header, a MemberPress paywall block with a login form, `og:description`, JSON-LD, related
links, scripts with nonces, a footer), so the real extractor is exercised on them.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Where a capture glued two HTML blocks: a lower-case letter or a closing mark directly followed
# by a capital ("38 NorthRussia", "below.Jenny"), and the "***" ornament between sections. A full
# stop after a capital is an abbreviation's ("U.S.", "J.R.R."), never the end of a block.
_GLUE = re.compile(r"(?:(?<=[a-z!?”’)])|(?<=[^A-Z]\.))(?=[A-Z“‘])|\*\*\*")


@dataclass(frozen=True)
class Article:
    title: str
    teaser: str
    description: str
    heading: str = "Members-Only Content"
    notice: str = ""
    locked: bool = True
    chrome: int = 0  # changes the page chrome (date, nonce, counters, related links) only


def parse_snapshot(text: str, title: str) -> Article:
    """An `Article` from a four-line text snapshot (teaser, heading, notice, description)."""
    lines = text.splitlines()
    if len(lines) < 4:
        raise ValueError("a snapshot has four lines: teaser, heading, notice, description")
    return Article(
        title=title, teaser=lines[0], heading=lines[1], notice=lines[2], description=lines[3]
    )


def paragraphs(teaser: str) -> list[str]:
    """Split glued snapshot text back into the blocks it came from."""
    blocks: list[str] = []
    pieces = _GLUE.split(teaser)
    ornaments = _GLUE.findall(teaser)
    for i, piece in enumerate(pieces):
        if piece.strip():
            blocks.append(piece.strip())
        if i < len(ornaments) and ornaments[i] == "***":
            blocks.append("***")
    return blocks


def render(article: Article, *, script: str = "") -> str:
    """The HTML page of an article, in the markup of a WordPress site with MemberPress.

    With `script`, the page holds neither the teaser nor the notice: that script builds them in
    the reader's browser (see `render_scripted`)."""
    e = html.escape
    nonce = hashlib.sha256(f"{article.title}{article.chrome}".encode()).hexdigest()[:16]
    body = "\n".join(
        '<p class="has-text-align-center">***</p>' if p == "***" else f"<p>{e(p)}</p>"
        for p in paragraphs(article.teaser)
    )
    if script:
        body = '<p class="loading">Loading…</p>'
    paywall = ""
    if article.locked and not script:
        paywall = f"""
<div class="mepr-unauthorized-message">
  <h3>{e(article.heading)}</h3>
  <p>{e(article.notice)}</p>
  <div class="mepr-login-form-wrap"><form method="post" action="/login">
    <label>Username <input name="log"></label><label>Password <input type="password" name="pwd">
    </label><button type="submit">Log In</button></form></div>
</div>"""
    ld = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": "War on the Rocks"},
            {
                "@type": "NewsArticle",
                "headline": article.title,
                "isAccessibleForFree": not article.locked,
                **(
                    {
                        "hasPart": {
                            "@type": "WebPageElement",
                            "isAccessibleForFree": False,
                            "cssSelector": ".mepr-unauthorized-message",
                        }
                    }
                    if article.locked
                    else {}
                ),
            },
        ],
    }
    related = "".join(
        f'<li><a href="/related/{(article.chrome + i) % 97}?utm={nonce}">Related story '
        f"{(article.chrome + i) % 97}</a></li>"
        for i in range(5)
    )
    return f"""<!DOCTYPE html>
<html lang="en-US"><head>
<meta charset="UTF-8">
<title>{e(article.title)} - War on the Rocks</title>
<meta name="description" content="{e(article.description)}">
<meta property="og:title" content="{e(article.title)}">
<meta property="og:description" content="{e(article.description)}">
<meta property="article:content_tier" content="{"locked" if article.locked else "free"}">
<link rel="stylesheet" href="/wp-content/themes/wotr/style.css?ver={nonce}">
<script type="application/ld+json">{json.dumps(ld)}</script>
<script nonce="{nonce}">window.__views = {1000 + article.chrome * 7};</script>
</head><body class="post-template-default single">
<header class="site-header"><nav><ul><li><a href="/">Home</a></li>
<li><a href="/articles">Articles</a></li><li><a href="/podcasts">Podcasts</a></li>
<li><a href="/membership">Membership</a></li></ul></nav></header>
<main id="main"><article class="post type-post">
<header class="entry-header"><h1 class="entry-title">{e(article.title)}</h1>
<div class="entry-meta">Updated {article.chrome % 24} hours ago · {article.chrome * 3} comments
</div></header>
<div class="entry-content">
{body}{paywall}
<div class="sharedaddy"><h3>Share this:</h3><a href="#">Twitter</a> <a href="#">Email</a></div>
</div>
<aside class="related"><h3>Related</h3><ul>{related}</ul></aside>
</article></main>
<footer class="site-footer"><p>© War on the Rocks. Page generated {nonce}.</p></footer>
<script src="/wp-includes/js/app.js?ver={nonce}"></script>
{script}</body></html>
"""


# The paywall script of `render_scripted`, as client-side paywalls work: ask the server whether
# this reader may read, then show the whole article or its first paragraphs and the notice.
_PAYWALL_SCRIPT = """(async () => {
  const post = JSON.parse(document.getElementById("post-data").textContent);
  let granted = false;
  try { granted = (await (await fetch(post.access)).json()).granted === true; } catch (e) {}
  const content = document.querySelector(".entry-content");
  const share = content.querySelector(".sharedaddy");
  content.querySelector(".loading").remove();
  const add = (node) => content.insertBefore(node, share);
  for (const text of granted ? post.paragraphs : post.paragraphs.slice(0, post.free)) {
    const p = document.createElement("p");
    if (text === "***") p.className = "has-text-align-center";
    p.textContent = text;
    add(p);
  }
  if (granted) return;
  const box = document.createElement("div");
  box.className = "mepr-unauthorized-message";
  const heading = document.createElement("h3");
  heading.textContent = post.heading;
  const notice = document.createElement("p");
  notice.textContent = post.notice;
  box.append(heading, notice);
  add(box);
})();"""


def access_path(path: str) -> str:
    """Where the paywall script of the page at `path` asks whether the reader may read."""
    return "/wp-json/paywall/v1/access?post=" + path.strip("/").replace("/", "-")


def render_scripted(article: Article, path: str, rest: str = "") -> str:
    """The page of an article whose paywall a script builds, as Piano, Poool or a Ghost theme
    do: the HTML holds the whole article (`teaser` and the `rest`) as data for the script, and
    neither the teaser nor the notice. A plain fetch sees neither; a browser sees the teaser
    cut after its paragraphs and the notice, once the script has asked `access_path(path)`."""
    shown = paragraphs(article.teaser)
    post = {
        "access": access_path(path),
        "paragraphs": shown + paragraphs(rest),
        "free": len(shown),
        "heading": article.heading,
        "notice": article.notice,
    }
    data = json.dumps(post, ensure_ascii=False).replace("<", "\\u003c")  # no </script> inside
    script = (
        f'<script type="application/json" id="post-data">{data}</script>\n'
        f"<script>{_PAYWALL_SCRIPT}</script>\n"
    )
    return render(article, script=script)


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'


class PageServer:
    """A loopback HTTP server whose pages a caller changes while it runs."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        handler = _handler(self)
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = _quiet  # type: ignore[method-assign]
        self.port = self.httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def put(self, path: str, body: str | bytes, **kwargs: object) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        with self._lock:
            self.pages[path] = Page(data, **kwargs)  # type: ignore[arg-type]

    def put_article(self, path: str, article: Article) -> None:
        self.put(path, render(article))

    def put_scripted(self, path: str, article: Article, rest: str = "") -> None:
        """The article at `path` with its paywall built by a script (`render_scripted`),
        and the answer the script asks for: may this reader read?"""
        self.put(path, render_scripted(article, path, rest))
        self.put(
            access_path(path),
            json.dumps({"granted": not article.locked}),
            content_type="application/json",
        )

    def get(self, path: str) -> Page | None:
        with self._lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            page = self.pages.get(path)
            return None if page is None else replace(page)

    @contextmanager
    def running(self) -> Iterator[PageServer]:
        with serving(self.httpd):
            yield self


class _Server(ThreadingHTTPServer):
    # socketserver's backlog of 5 drops connections when a pass opens more at once: each
    # dropped one waits a second for its SYN to be sent again.
    request_queue_size = 128


@contextmanager
def serving(httpd: ThreadingHTTPServer) -> Iterator[None]:
    """Serve in a background thread for the length of a block, then shut down and close."""
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _handler(server: PageServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            page = server.get(self.path)
            if page is None:
                self._send(
                    404,
                    b"<html><head><title>Page not found</title></head></html>",
                    "text/html; charset=utf-8",
                )
                return
            if page.status == 200 and self.headers.get("If-None-Match") == page.etag:
                self.send_response(304)
                self.send_header("ETag", page.etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._send(page.status, page.body, page.content_type, page.etag)

        def _send(self, status: int, body: bytes, ctype: str, etag: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the demo's and the tests' output stays readable

    return Handler


def _quiet(request: object, client_address: object) -> None:
    """A client that hangs up early (a body cap, a timeout) is expected, not worth a traceback."""
