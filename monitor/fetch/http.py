"""Reading sources over HTTP(S) through one shared `httpx.Client` per process.

httpx does the HTTP: connection pools and keep-alive, redirects, timeouts, TLS (the trust store
from `SSL_CERT_FILE` / `SSL_CERT_DIR` or certifi) and proxies from the environment
(`HTTPS_PROXY`, `NO_PROXY`). What it does not do is here: a total deadline per request, a body
cap that holds against compression bombs (`inflate`), retries of transient failures honouring
`Retry-After`, and the rule that a redirect never leads from a public site to a private address.

The fetcher never decides what a page means: it returns a `Capture` or raises `CaptureError` with
a reason a person can act on.
"""

from __future__ import annotations

import contextlib
import functools
import http.cookiejar
import ipaddress
import os
import random
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpcore
import httpx

from monitor.detect.capture import Capture, parse_content_type
from monitor.errors import Cancelled, CaptureError, ConfigError
from monitor.fetch.files import format_size, is_local, read_file
from monitor.fetch.inflate import Inflater

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0  # a longer wait is better left to the next scheduled check
MAX_REDIRECTS = 10


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """No cookie is ever kept or sent: every check sees what a first-time reader sees (a
    metered paywall counts the articles read in a cookie)."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


class _Forgetful(httpx.Cookies):
    """Cookies that take none from a response.

    httpx reads every response's cookies through urllib's machinery (a request and a
    response object of its kind, the headers as an email message) before the jar's policy
    can refuse them: a sixth of the CPU of a request. The client is still given a jar that
    refuses every cookie (`_NoCookies`): should httpx stop reading them through `cookies`,
    none is kept either."""

    def extract_cookies(self, response: httpx.Response) -> None:
        pass


class _Client(httpx.Client):
    """httpx's client, whose cookies are always the empty `_Forgetful` ones."""

    _forgetful = _Forgetful()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._forgetful

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        raise TypeError("this client keeps no cookies")


def tls_context() -> ssl.SSLContext:
    """The TLS settings the clients of this process share: loading the CA bundle costs 20 ms
    or more, so it is done once (and forked workers inherit it) rather than once a client.
    Anew if `SSL_CERT_FILE` or `SSL_CERT_DIR`, which httpx reads, have changed since. Waits
    for a load that `preload_tls_context` started."""
    if _preloading is not None:
        _preloading.join()
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


_preloading: threading.Thread | None = None


def preload_tls_context() -> None:
    """Start loading `tls_context` in a thread of its own, on a machine with cores to spare.

    OpenSSL reads the bundle without holding the GIL, so the load runs beside what the
    process does meanwhile (a command's imports and config) instead of before its first
    request. A load that fails is left for `tls_context` to raise, where it is asked for.
    """
    global _preloading
    if _preloading is not None or (os.cpu_count() or 1) < 2:
        return
    cert_file, cert_dir = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")

    def load() -> None:
        with contextlib.suppress(Exception):
            _tls_context(cert_file, cert_dir)

    _preloading = threading.Thread(target=load, name="tls-preload", daemon=True)
    _preloading.start()


@functools.cache
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    try:
        return httpx.create_ssl_context(trust_env=True)
    except OSError as exc:  # ssl.SSLError too: a file that holds no certificate
        if cert_file:
            raise ConfigError(
                f"SSL_CERT_FILE={cert_file}: no CA certificates could be read from it ({exc}); "
                "point it at a PEM file of CA certificates, or unset it to use the bundled ones"
            ) from None
        raise ConfigError(f"the CA certificates could not be loaded ({exc})") from None


def build_client(*, timeout: float, user_agent: str, max_connections: int = 32) -> httpx.Client:
    """The process's HTTP client. `timeout` bounds each phase; `Fetcher` bounds the whole."""
    client = _Client(
        verify=tls_context(),
        headers={
            "User-Agent": user_agent,
            "Accept": "text/html,text/plain;q=0.9,*/*;q=0.5",
            "Accept-Encoding": "gzip, deflate",  # what `Inflater` decodes with a bound
        },
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        # Redirects are built by httpx (`next_request`) and followed in `Fetcher`, so that
        # each target is checked and a redirect's body is never read.
        follow_redirects=False,
        cookies=http.cookiejar.CookieJar(policy=_NoCookies()),
        trust_env=True,
    )
    # httpx's timeouts bound each read, not a request: a server that sends its headers a byte
    # at a time would hold a check for ever. The one way in below httpx's per-read timeouts is
    # httpcore's network backend, which httpx builds for itself: it is wrapped here, in the
    # transport and in every proxy's (`_pool`, `_mounts`: httpx has no public way to pass one).
    for transport in (client._transport, *client._mounts.values()):
        pool = getattr(transport, "_pool", None)
        if pool is not None and hasattr(pool, "_network_backend"):
            pool._network_backend = _DeadlineBackend(pool._network_backend)
    return client


# The end (time.monotonic()) of the request this thread is making, set by `Fetcher._get`.
_deadline = threading.local()


def _left(timeout: float | None) -> float | None:
    """`timeout`, cut to what is left of this thread's request deadline."""
    ends: float | None = getattr(_deadline, "ends", None)
    if ends is None:
        return timeout
    left = ends - time.monotonic()
    # Whether a timeout now is the deadline's doing rather than one slow phase's: the wait
    # was cut to less than half its own limit (a read that waited its whole limit says what
    # it waited for).
    _deadline.cut = left <= 0 or (timeout is not None and left < timeout / 2)
    if left <= 0:
        raise httpcore.ReadTimeout("deadline")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the deadline of the request using it."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _left(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own backend, its connections made and used within the request's deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        limit = _left(timeout)

        def connect() -> httpcore.NetworkStream:
            return self._inner.connect_tcp(host, port, limit, local_address, socket_options)

        # (an address too: a cancel must end its connect, which `cancel_all` cannot reach)
        stream = _within_deadline(connect, limit)
        if host == getattr(_deadline, "public_host", None):
            # a connection to the page's own host; one to a proxy is the proxy's to resolve
            _public_peer(stream)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, _left(timeout), socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _public_peer(stream: httpcore.NetworkStream) -> None:
    """Refuse a connection made to a private or loopback address (`Fetcher.fetch`'s
    `public_only`)."""
    sock = stream.get_extra_info("socket")
    if not isinstance(sock, socket.socket):
        return
    try:
        peer = ipaddress.ip_address(str(sock.getpeername()[0]).split("%")[0])
    except (OSError, ValueError):
        return
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    if not peer.is_global:
        stream.close()
        _deadline.refused = str(peer)
        raise httpcore.ConnectError(f"{peer} is a private address: refused")


# How often a connection being made looks whether its fetcher was cancelled meanwhile.
_CONNECT_POLL = 0.05


def _within_deadline(
    connect: Callable[[], httpcore.NetworkStream], limit: float | None
) -> httpcore.NetworkStream:
    """`connect()` in a thread of its own, waited for `limit` seconds at most and only while
    the fetcher is not cancelled.

    The host name's lookup (`getaddrinfo`) has no timeout of its own and cannot be
    interrupted: a resolver that does not answer would hold a check past its deadline, and
    Ctrl-C with it. Nor can a connect be cut short by `cancel_all`, which shuts down only the
    connections already made: one to an address that drops packets would hold Ctrl-C for its
    own timeout (up to 10 s). A connection that is made after the wait gave up is closed at
    once.
    """
    ends = None if limit is None else time.monotonic() + limit
    cancel: threading.Event | None = getattr(_deadline, "cancel", None)
    lock = threading.Lock()
    outcome: list[httpcore.NetworkStream | BaseException] = []
    given_up = False
    done = threading.Event()

    def run() -> None:
        try:
            result: httpcore.NetworkStream | BaseException = connect()
        except BaseException as exc:  # handed to the waiting thread, which raises it
            result = exc
        with lock:
            if given_up:
                if not isinstance(result, BaseException):
                    result.close()
                return
            outcome.append(result)
            done.set()

    threading.Thread(target=run, name="connect", daemon=True).start()
    while True:
        wait = _CONNECT_POLL if ends is None else min(_CONNECT_POLL, ends - time.monotonic())
        if done.wait(max(wait, 0.0)):
            break
        cancelled = cancel is not None and cancel.is_set()
        if cancelled or (ends is not None and time.monotonic() >= ends):
            with lock:
                if not done.is_set():
                    given_up = True
                    # (a cancelled fetch reports itself cancelled, whatever ended its request)
                    raise httpcore.ConnectTimeout("looking up the host name or connecting")
            break
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def is_private_host(host: str) -> bool:
    """Whether `host` is, or resolves to, an address that is not on the public internet:
    loopback, link-local, private ranges, the unspecified address."""
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except OSError:
            return False  # the request itself will fail with the resolver's reason
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    return any(not a.is_global for a in addresses)


def _check_redirect(target: httpx.Request, allow_private: bool) -> None:
    """A redirect may lead to http(s) only, and a site on the public internet must not send
    the fetcher to an internal address: the page there would be stored and shown to whoever
    reads the changes (SSRF with read-back)."""
    if target.url.scheme not in ("http", "https"):
        raise CaptureError(f"redirected to {target.url}, which is not an http(s) URL")
    if not allow_private and is_private_host(target.url.host):
        raise CaptureError(
            f"redirected to {target.url}, a private or loopback address: refused "
            "(set allow_private = true on the source to allow it)"
        )


class _Transient(CaptureError):
    """A failure worth another try: connect errors, timeouts, 429 and 5xx."""

    def __init__(self, message: str, *, status: int | None = None, wait: float | None = None):
        super().__init__(message, status=status)
        self.wait = wait


class Fetcher:
    """Reads captures. One instance per process, built by the composition root.

    `cancel_all` (Ctrl-C, the service's stop) ends every request now and to come: no new one
    starts, retry waits end, and the sockets of the requests in flight are shut down, so a read
    blocked on a stalled server returns at once. Each then raises `Cancelled`.
    """

    # httpcore's trace events that hand over a connection's network stream.
    _CONNECTED = frozenset({"connection.connect_tcp.complete", "connection.start_tls.complete"})

    def __init__(
        self,
        client: httpx.Client,
        *,
        max_body: int,
        retries: int = 2,
        backoff: float = 1.0,
        deadline: float | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.client = client
        self.max_body = max_body
        self.retries = retries
        self.backoff = backoff
        timeout = client.timeout.read
        self.deadline = deadline if deadline is not None else (timeout or 30.0)
        self.cancel = cancel if cancel is not None else threading.Event()
        # Every connection this fetcher opened, to be shut down by `cancel_all`; weak, so that
        # the pool's closed connections are not kept.
        self._streams: weakref.WeakSet[Any] = weakref.WeakSet()
        self._streams_lock = threading.Lock()

    def cancel_all(self) -> None:
        """Cancel every request of this fetcher, those in flight and those to come."""
        self.cancel.set()
        with self._streams_lock:
            streams = list(self._streams)
        for stream in streams:
            _shut(stream)

    def _proxied(self, request: httpx.Request) -> bool:
        """Whether `request` goes through a proxy (whose address is not the site's)."""
        return self.client._transport_for_url(request.url) is not self.client._transport

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        """httpx's documented `trace` extension: sees each new connection's stream."""
        if event in self._CONNECTED and (stream := info.get("return_value")) is not None:
            with self._streams_lock:
                self._streams.add(stream)
            if self.cancel.is_set():  # opened just after a `cancel_all` swept the others
                _shut(stream)

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        allow_private: bool | None = None,
        public_only: bool = False,
    ) -> Capture:
        """The page at `url`. `allow_private`: whether a redirect may lead to a private
        address (None: if the URL's own host is private). `public_only`: neither may the
        connection itself, whatever the host's name resolves to now (a name a public feed
        listed, rebound to 127.0.0.1 since: DNS rebinding)."""
        if is_local(url):
            return read_file(url, self.max_body)
        if self.cancel.is_set():
            raise Cancelled("not checked: cancelled before it started")
        if public_only:
            allow_private = False
        try:
            return self._fetch(url, etag, last_modified, allow_private, public_only)
        except CaptureError as exc:
            if self.cancel.is_set() and not isinstance(exc, Cancelled):
                # a connection shut down by `cancel_all` fails as a broken read: it is not one
                raise Cancelled("cancelled") from None
            raise

    def _fetch(
        self,
        url: str,
        etag: str | None,
        last_modified: str | None,
        allow_private: bool | None,
        public_only: bool = False,
    ) -> Capture:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for attempt in range(self.retries + 1):
            try:
                return self._get(url, headers, allow_private, public_only)
            except _Transient as exc:
                wait = exc.wait if exc.wait is not None else self._delay(attempt)
                if attempt == self.retries or wait > MAX_RETRY_AFTER:
                    tries = f" after {attempt + 1} tries" if attempt else ""
                    raise CaptureError(f"{exc}{tries}", status=exc.status) from None
                if self.cancel.wait(wait):
                    raise Cancelled("cancelled") from None
        raise AssertionError("unreachable")

    def _delay(self, attempt: int) -> float:
        # Exponential with full jitter, so that many sources failing together do not retry in step.
        base: float = self.backoff * (2**attempt)
        return base / 2 + random.uniform(0, base / 2)

    def _get(
        self, url: str, headers: dict[str, str], allow_private: bool | None, public_only: bool
    ) -> Capture:
        ends = time.monotonic() + self.deadline
        _deadline.ends, _deadline.cut, _deadline.cancel = ends, False, self.cancel
        _deadline.refused = None
        try:
            request = self.client.build_request(
                "GET", url, headers=headers, extensions={"trace": self._trace}
            )
            for _ in range(MAX_REDIRECTS + 1):
                # the host whose connection `_public_peer` checks, hop by hop
                _deadline.public_host = request.url.host if public_only else None
                response = self.client.send(request, stream=True)
                try:
                    if public_only and not self._proxied(request):
                        # a kept-alive connection was made before, maybe for another request
                        # (the feed's own): its address is checked here, before the body
                        stream = response.extensions.get("network_stream")
                        if stream is not None:
                            with contextlib.suppress(httpcore.ConnectError):
                                _public_peer(stream)
                            if _deadline.refused is not None:
                                raise _refused(url, _deadline.refused)
                    target = response.next_request
                    if target is None:
                        return self._answer(response, ends)
                finally:
                    response.close()
                if allow_private is None:
                    # Decided at the first redirect, not on every fetch (it may cost a DNS
                    # lookup): a source configured on a private address may redirect within
                    # it; one on the public internet may not leave it.
                    host = _host_of(url)
                    allow_private = host is None or is_private_host(host)
                _check_redirect(target, allow_private)
                request = target
            raise CaptureError(f"more than {MAX_REDIRECTS} redirects (a redirect loop?)")
        except httpx.TimeoutException as exc:
            if _deadline.cut:
                raise _Transient(
                    f"timed out (the whole response took over {self.deadline:g} s)"
                ) from None
            raise _Transient(f"timed out ({_phase(exc)})") from None
        except httpx.ConnectError as exc:
            if _deadline.refused is not None:
                raise _refused(url, _deadline.refused) from None
            raise _Transient(f"cannot connect to {_host_of(url)}: {_reason(exc)}") from None
        except httpx.RemoteProtocolError as exc:
            if "location header" in str(exc):  # httpx could not build the redirect
                raise CaptureError(f"redirected to an invalid URL: {exc}") from None
            raise _Transient(f"connection broken while reading: {_reason(exc)}") from None
        except (httpx.ReadError, httpx.WriteError) as exc:
            raise _Transient(f"connection broken while reading: {_reason(exc)}") from None
        except httpx.UnsupportedProtocol as exc:
            raise CaptureError(f"cannot fetch {url}: {exc}") from None
        except httpx.InvalidURL as exc:
            raise CaptureError(f"invalid URL {url!r}: {exc}") from None
        except httpx.HTTPError as exc:
            raise CaptureError(f"HTTP error: {_reason(exc)}") from None
        finally:
            _deadline.ends = _deadline.cancel = _deadline.public_host = None

    def _answer(self, response: httpx.Response, ends: float) -> Capture:
        status = response.status_code
        if status == 304:
            # read the (empty) body, so that the connection goes back to the pool: closing a
            # response that was not read to its end closes its connection
            response.read()
            return self._capture(response, b"")
        if status in TRANSIENT_STATUSES:
            raise _Transient(
                f"HTTP {status} {response.reason_phrase}".rstrip(),
                status=status,
                wait=_retry_after(response.headers.get("retry-after")),
            )
        if status >= 400:
            raise CaptureError(f"HTTP {status} {response.reason_phrase}".rstrip(), status=status)
        return self._capture(response, self._read_capped(response, ends))

    def _read_capped(self, response: httpx.Response, ends: float) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            raise CaptureError(
                f"body of {format_size(int(declared))} is over the "
                f"{format_size(self.max_body)} limit (max_body)"
            )
        inflate = Inflater(response.headers.get("content-encoding", ""), self.max_body)
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
            # Each read has its own timeout; a server that sends a byte now and then would
            # otherwise hold the check for ever.
            if time.monotonic() > ends:
                raise _Transient(f"timed out (the whole response took over {self.deadline:g} s)")
            if self.cancel.is_set():
                raise Cancelled("cancelled")
        if self.cancel.is_set():
            # `cancel_all` shut the socket down: a body that ends at the connection's close
            # would look complete, though cut short
            raise Cancelled("cancelled")
        inflate.finish()
        return b"".join(chunks)

    @staticmethod
    def _capture(response: httpx.Response, body: bytes) -> Capture:
        media_type, charset = parse_content_type(response.headers.get("content-type"))
        return Capture(
            url=str(response.url),
            body=body,
            status=response.status_code,
            media_type=media_type,
            charset=charset,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )


def _refused(url: str, peer: str) -> CaptureError:
    return CaptureError(
        f"{_host_of(url)} now resolves to {peer}, a private or loopback address: refused, as "
        "the feed that listed it is on the public internet (set allow_private = true on the "
        "[[discover]] to allow it)"
    )


def _shut(stream: Any) -> None:
    """Shut a connection's socket down, so that a read blocked on it returns (closing it
    would not wake the read); `get_extra_info("socket")` is httpcore's public stream API."""
    sock = stream.get_extra_info("socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # closed already
            sock.shutdown(socket.SHUT_RDWR)


def _host_of(url: str) -> str | None:
    try:
        return httpx.URL(url).host or None
    except httpx.InvalidURL:
        return None


def _phase(exc: httpx.TimeoutException) -> str:
    return {
        httpx.ConnectTimeout: "connecting",
        httpx.ReadTimeout: "waiting for the server",
        httpx.WriteTimeout: "sending the request",
        httpx.PoolTimeout: "waiting for a free connection",
    }.get(type(exc), type(exc).__name__)


_ERRNO_WORDS = {
    "Name or service not known": "host name not found (DNS)",
    "nodename nor servname provided": "host name not found (DNS)",
    "Temporary failure in name resolution": "host name lookup failed (DNS), try again later",
    "Connection refused": "connection refused (nothing listens on that port)",
    "Network is unreachable": "network unreachable",
    "No route to host": "no route to the host",
    "Connection reset by peer": "connection reset by the server",
}


def _reason(exc: Exception) -> str:
    """The socket's reason in words, without errno numbers."""
    text = str(exc) or type(exc).__name__
    for raw, words in _ERRNO_WORDS.items():
        if raw in text:
            return words
    return text


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
