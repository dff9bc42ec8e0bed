"""Reading sources: HTTP(S) through a shared `httpx.Client`, and local captures.

The fetcher never decides what a page means; it returns a `Capture` or raises `CaptureError`
with a reason a person can act on. Transient failures are retried with backoff.
"""

from __future__ import annotations

import email.utils
import http.cookiejar
import random
import ssl
import sys
import threading
import time
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

if "httpx" not in sys.modules:
    # `import httpx` also imports httpx's own command-line client, and with it rich, pygments
    # and click: a fifth of the start-up time of a `monitor check` (encode/httpx#3547). A
    # placeholder makes httpx take its fallback for a missing CLI; the `httpx` command is a
    # separate process and unaffected.
    sys.modules.setdefault("httpx._main", ModuleType("httpx._main"))

import httpx

from .capture import Capture, parse_content_type
from .errors import CaptureError

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0  # a longer wait is better left to the next scheduled check


class _NoCookies(http.cookiejar.CookieJar):
    """A jar that keeps nothing.

    Every check should see what a first-time anonymous reader sees: a metered paywall counts
    the articles a reader opened in a cookie, and kept cookies would turn "free" into "locked"
    after a few checks. Not storing them also skips the cookie parsing of every response.
    """

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None


class _Transport(httpx.BaseTransport):
    """Plain HTTP at once, HTTPS from the first https:// request.

    Loading the trust store is most of the cost of making a client (some 30 ms), and a pass
    whose sources are all plain HTTP, or a worker process that only gets such sources, never
    needs it.
    """

    def __init__(self, limits: httpx.Limits) -> None:
        self._limits = limits
        # Only http:// requests reach this transport, so its TLS context is never used; it is a
        # verifying one with no roots, so that it could not accept a certificate if it were.
        self._plain = httpx.HTTPTransport(
            verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), limits=limits
        )
        self._tls: httpx.HTTPTransport | None = None
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "https":
            return self._plain.handle_request(request)
        with self._lock:
            if self._tls is None:
                self._tls = httpx.HTTPTransport(
                    verify=httpx.create_ssl_context(), limits=self._limits
                )
        return self._tls.handle_request(request)

    def close(self) -> None:
        self._plain.close()
        if self._tls is not None:
            self._tls.close()


def build_client(*, timeout: float, user_agent: str, max_connections: int = 32) -> httpx.Client:
    """The one HTTP client of a process: keep-alive, redirects followed, explicit timeouts,
    no cookies kept between requests."""
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    return httpx.Client(
        transport=_Transport(limits),
        cookies=_NoCookies(),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        headers={
            "User-Agent": user_agent,
            "Accept": "text/html,text/plain;q=0.9,*/*;q=0.5",
            "Accept-Encoding": "gzip, deflate",  # what `_Inflater` decodes with a bound
        },
        follow_redirects=True,
        max_redirects=10,
    )


def is_local(url: str) -> bool:
    return not url.startswith(("http://", "https://"))


def format_size(size: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


class _Inflater:
    """Content-Encoding, decoded with a bound.

    httpx's own decoders expand each received chunk whole, so a few kilobytes of a gzip bomb
    become hundreds of megabytes before any cap can look at them; here no call returns more
    than the cap allows.
    """

    def __init__(self, encoding: str, limit: int) -> None:
        encoding = encoding.strip().lower()
        self.limit = limit
        self.decoder: Any = None
        if encoding in ("gzip", "x-gzip"):
            self.decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self.decoder = zlib.decompressobj()
        elif encoding not in ("", "identity"):
            raise CaptureError(f"unsupported Content-Encoding {encoding!r}")

    def __call__(self, data: bytes) -> bytes:
        if self.decoder is None:
            return data
        try:
            out: bytes = self.decoder.decompress(data, self.limit + 1)
        except zlib.error as exc:
            raise CaptureError(f"cannot decode the compressed body: {exc}") from None
        if self.decoder.unconsumed_tail:
            # More output is waiting than the cap allows: the body is over it by definition.
            return out + b"\0"
        return out


class _Transient(CaptureError):
    """A failure worth another try: connect errors, timeouts, 429 and 5xx."""

    def __init__(self, message: str, *, status: int | None = None, wait: float | None = None):
        super().__init__(message, status=status)
        self.wait = wait


class Fetcher:
    """Reads captures. One instance per process, built by the composition root."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        max_body: int,
        retries: int = 2,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.max_body = max_body
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep

    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Capture:
        if is_local(url):
            return self.read_file(url)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for attempt in range(self.retries + 1):
            try:
                return self._get(url, headers)
            except _Transient as exc:
                wait = exc.wait if exc.wait is not None else self._delay(attempt)
                if attempt == self.retries or wait > MAX_RETRY_AFTER:
                    tries = f" after {attempt + 1} tries" if attempt else ""
                    raise CaptureError(f"{exc}{tries}", status=exc.status) from None
                self.sleep(wait)
        raise AssertionError("unreachable")

    def _delay(self, attempt: int) -> float:
        # Exponential with full jitter, so that many sources failing together do not retry in step.
        base: float = self.backoff * (2**attempt)
        return base / 2 + random.uniform(0, base / 2)

    def _get(self, url: str, headers: dict[str, str]) -> Capture:
        try:
            with self.client.stream("GET", url, headers=headers) as response:
                status = response.status_code
                if status == 304:
                    response.read()  # consumed, so the connection goes back to the pool
                    return self._capture(response, b"")
                if status in TRANSIENT_STATUSES:
                    raise _Transient(
                        f"HTTP {status} {response.reason_phrase}".rstrip(),
                        status=status,
                        wait=_retry_after(response.headers.get("Retry-After")),
                    )
                if status >= 400:
                    raise CaptureError(
                        f"HTTP {status} {response.reason_phrase}".rstrip(), status=status
                    )
                return self._capture(response, self._read_capped(response))
        except httpx.TooManyRedirects:
            raise CaptureError("too many redirects (a redirect loop?)") from None
        except httpx.TimeoutException as exc:
            raise _Transient(f"timed out ({type(exc).__name__})") from None
        except httpx.ConnectError as exc:
            raise _Transient(f"cannot connect: {exc}") from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise _Transient(f"connection broken while reading: {exc}") from None
        except httpx.DecodingError as exc:
            raise CaptureError(f"cannot decode the response body: {exc}") from None
        except httpx.HTTPError as exc:
            raise CaptureError(f"HTTP error: {exc}") from None

    def _read_capped(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            raise CaptureError(
                f"body of {format_size(int(declared))} is over the "
                f"{format_size(self.max_body)} limit (max_body)"
            )
        inflate = _Inflater(response.headers.get("Content-Encoding", ""), self.max_body)
        chunks: list[bytes] = []
        size = 0
        for raw in response.iter_raw():
            chunk = inflate(raw)
            size += len(chunk)
            if size > self.max_body:
                raise CaptureError(
                    f"body is over the {format_size(self.max_body)} limit (max_body)"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _capture(response: httpx.Response, body: bytes) -> Capture:
        media_type, charset = parse_content_type(response.headers.get("Content-Type"))
        return Capture(
            url=str(response.url),
            body=body,
            status=response.status_code,
            media_type=media_type,
            charset=charset,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            fetched_at=datetime.now(UTC),
        )

    def read_file(self, url: str) -> Capture:
        path = file_path(url)
        try:
            size = path.stat().st_size
            if size > self.max_body:
                raise CaptureError(
                    f"{path}: {format_size(size)} is over the {format_size(self.max_body)} "
                    "limit (max_body)"
                )
            body = path.read_bytes()
        except FileNotFoundError:
            raise CaptureError(f"{path}: file not found") from None
        except IsADirectoryError:
            raise CaptureError(f"{path}: is a folder, not a capture file") from None
        except OSError as exc:
            raise CaptureError(f"{path}: cannot read: {exc.strerror or exc}") from None
        return Capture(url=str(path), body=body, fetched_at=datetime.now(UTC))


def file_path(url: str) -> Path:
    if url.startswith("file://"):
        parsed = urllib.parse.urlparse(url)
        return Path(urllib.request.url2pathname(parsed.path))
    return Path(url)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
