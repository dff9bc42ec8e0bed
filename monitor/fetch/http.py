"""Reading sources: HTTP(S) through one shared keep-alive client per process, and local captures.

The fetcher never decides what a page means; it returns a `Capture` or raises `CaptureError`
with a reason a person can act on. Transient failures are retried with backoff.
"""

from __future__ import annotations

import os
import random
import ssl
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import httpcore

from monitor.detect.capture import Capture, parse_content_type
from monitor.errors import CaptureError

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0  # a longer wait is better left to the next scheduled check
MAX_REDIRECTS = 10
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class HttpClient:
    """The one HTTP client of a process: keep-alive connection pools, default headers,
    explicit timeouts. Thread-safe.

    Built on httpcore, the connection layer of httpx, without httpx's request and response
    models: on loopback a request cost 0.49 ms of CPU through `httpx.Client` and 0.29 ms
    through httpcore alone, and a large pass is CPU-bound. The little of httpx's client a
    fetch needs, following redirects, is in `Fetcher`. No cookie is ever kept or sent: every
    check sees what a first-time reader sees (a metered paywall counts articles read in a
    cookie).
    """

    def __init__(self, *, timeout: float, user_agent: str, max_connections: int = 32) -> None:
        self.headers = [
            (b"User-Agent", user_agent.encode("ascii", "replace")),
            (b"Accept", b"text/html,text/plain;q=0.9,*/*;q=0.5"),
            (b"Accept-Encoding", b"gzip, deflate"),  # what `_Inflater` decodes with a bound
        ]
        connect = min(timeout, 10.0)
        self.extensions = {
            "timeout": {"connect": connect, "read": timeout, "write": timeout, "pool": timeout}
        }
        self._max = max_connections
        # Only http:// requests reach this pool, so its TLS context is never used; it is a
        # verifying one with no roots, so that it could not accept a certificate if it were.
        self._plain = self._pool(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
        # Loading the trust store is most of the cost of making a client (some 30 ms); a pass
        # whose sources are all plain HTTP never needs it.
        self._tls: httpcore.ConnectionPool | None = None
        self._lock = threading.Lock()

    def _pool(self, context: ssl.SSLContext) -> httpcore.ConnectionPool:
        return httpcore.ConnectionPool(
            ssl_context=context, max_connections=self._max, max_keepalive_connections=self._max
        )

    @contextmanager
    def stream(self, url: str, headers: list[tuple[bytes, bytes]]) -> Iterator[httpcore.Response]:
        """GET `url`; the response's body is read from it inside the block."""
        pool = self._plain
        if url.startswith("https:"):
            with self._lock:
                if self._tls is None:
                    self._tls = self._pool(_trust_store())
                pool = self._tls
        with pool.stream(
            "GET", url, headers=self.headers + headers, extensions=self.extensions
        ) as response:
            yield response

    def close(self) -> None:
        self._plain.close()
        if self._tls is not None:
            self._tls.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _trust_store() -> ssl.SSLContext:
    """A verifying context: `SSL_CERT_FILE` or `SSL_CERT_DIR` when set, as httpx and OpenSSL
    read them, else certifi's roots."""
    if cafile := os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=cafile)
    if capath := os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=capath)
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def build_client(*, timeout: float, user_agent: str, max_connections: int = 32) -> HttpClient:
    return HttpClient(timeout=timeout, user_agent=user_agent, max_connections=max_connections)


def _header(response: httpcore.Response, name: bytes) -> str | None:
    for key, value in response.headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _ascii_url(url: str) -> str:
    """A URL as it goes on the wire: an international host in IDNA, other text escaped."""
    if url.isascii():
        return url
    import httpx  # only for the rare URL outside ASCII: its URL model does this properly

    try:
        return str(httpx.URL(url))
    except httpx.InvalidURL as exc:
        raise CaptureError(f"invalid URL {url!r}: {exc}") from None


def is_local(url: str) -> bool:
    return not url.startswith(("http://", "https://"))


def format_size(size: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


class _Inflater:
    """Content-Encoding, decoded with a bound.

    httpcore hands over the bytes as sent, and httpx's decoders, the library one would reach
    for, expand each received chunk whole, so a few kilobytes of a gzip bomb become hundreds of
    megabytes before any cap can look at them; here no call returns more than the cap allows.
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
        client: HttpClient,
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
        headers = []
        if etag:
            headers.append((b"If-None-Match", etag.encode("latin-1", "replace")))
        if last_modified:
            headers.append((b"If-Modified-Since", last_modified.encode("latin-1", "replace")))
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

    def _get(self, url: str, headers: list[tuple[bytes, bytes]]) -> Capture:
        try:
            for _ in range(MAX_REDIRECTS + 1):
                url = _ascii_url(url)
                with self.client.stream(url, headers) as response:
                    status = response.status
                    location = _header(response, b"location")
                    if status in _REDIRECTS and location:
                        url = self._redirect(response, url, location)
                        continue
                    return self._answer(response, url)
            raise CaptureError("too many redirects (a redirect loop?)")
        except httpcore.TimeoutException as exc:
            raise _Transient(f"timed out ({type(exc).__name__})") from None
        except httpcore.ConnectError as exc:
            raise _Transient(f"cannot connect: {exc}") from None
        except (httpcore.RemoteProtocolError, httpcore.ReadError, httpcore.WriteError) as exc:
            raise _Transient(f"connection broken while reading: {exc}") from None
        except httpcore.UnsupportedProtocol as exc:
            raise CaptureError(f"cannot fetch {url}: {exc}") from None
        except (httpcore.ProtocolError, httpcore.NetworkError, httpcore.ProxyError) as exc:
            raise CaptureError(f"HTTP error: {exc}") from None
        except ValueError as exc:  # what urllib.parse says of a port that is not a number
            raise CaptureError(f"invalid URL {url!r}: {exc}") from None

    @staticmethod
    def _redirect(response: httpcore.Response, url: str, location: str) -> str:
        """The next URL; a short body is read so that the connection can be used again."""
        read = 0
        for chunk in response.iter_stream():
            read += len(chunk)
            if read > 65536:
                break  # the connection is closed instead
        target = urllib.parse.urljoin(url, location.strip())
        if not target.startswith(("http://", "https://")):
            raise CaptureError(f"redirected to {target!r}, which is not an http(s) URL")
        return target

    def _answer(self, response: httpcore.Response, url: str) -> Capture:
        status = response.status
        if status == 304:
            for _ in response.iter_stream():  # consumed, so the connection goes back to the pool
                pass
            return self._capture(response, url, b"")
        reason = response.extensions.get("reason_phrase", b"").decode("latin-1", "replace")
        if status in TRANSIENT_STATUSES:
            raise _Transient(
                f"HTTP {status} {reason}".rstrip(),
                status=status,
                wait=_retry_after(_header(response, b"retry-after")),
            )
        if status >= 400:
            raise CaptureError(f"HTTP {status} {reason}".rstrip(), status=status)
        return self._capture(response, url, self._read_capped(response))

    def _read_capped(self, response: httpcore.Response) -> bytes:
        declared = _header(response, b"content-length") or ""
        if declared.isdigit() and int(declared) > self.max_body:
            raise CaptureError(
                f"body of {format_size(int(declared))} is over the "
                f"{format_size(self.max_body)} limit (max_body)"
            )
        inflate = _Inflater(_header(response, b"content-encoding") or "", self.max_body)
        chunks: list[bytes] = []
        size = 0
        for raw in response.iter_stream():
            chunk = inflate(raw)
            size += len(chunk)
            if size > self.max_body:
                raise CaptureError(
                    f"body is over the {format_size(self.max_body)} limit (max_body)"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _capture(response: httpcore.Response, url: str, body: bytes) -> Capture:
        media_type, charset = parse_content_type(_header(response, b"content-type"))
        return Capture(
            url=url,
            body=body,
            status=response.status,
            media_type=media_type,
            charset=charset,
            etag=_header(response, b"etag"),
            last_modified=_header(response, b"last-modified"),
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
        from urllib.request import url2pathname  # 8 ms to import, for file:// URLs only

        return Path(url2pathname(parsed.path))
    return Path(url)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        from email.utils import parsedate_to_datetime  # only for a Retry-After date

        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
