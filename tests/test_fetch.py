from __future__ import annotations

import gzip
import os
import socket
import ssl
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme

from monitor.detect.capture import decode, sniff_format
from monitor.errors import Cancelled, CaptureError, ConfigError
from monitor.fetch import Fetcher, build_client
from monitor.fetch.http import is_private_host

from .fetch_helpers import fetch_in_thread
from .server import LoopServer, Reply

HTML = "<html><body><main><p>Hello</p></main></body></html>"


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    client = build_client(timeout=1.0, user_agent="monitor-test/1")
    try:
        yield Fetcher(client, max_body=1024 * 1024, retries=2, backoff=0.01)
    finally:
        client.close()


def test_user_agent_and_conditional_headers(http: LoopServer, fetcher: Fetcher) -> None:
    url = http.static(
        "/a",
        HTML,
        Content_Type="text/html",
        ETag='"v1"',
        Last_Modified="Tue, 03 Nov 2026 09:00:00 GMT",
    )
    capture = fetcher.fetch(url, etag='"v0"', last_modified="Mon, 02 Nov 2026 10:00:00 GMT")
    request = http.hits("/a")[0]
    assert request.headers["User-Agent"] == "monitor-test/1"
    assert request.headers["If-None-Match"] == '"v0"'
    assert request.headers["If-Modified-Since"] == "Mon, 02 Nov 2026 10:00:00 GMT"
    assert (capture.status, capture.etag, capture.media_type) == (200, '"v1"', "text/html")
    assert capture.last_modified == "Tue, 03 Nov 2026 09:00:00 GMT"  # the next check sends it


def test_https_is_verified_and_cookies_are_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The TLS side of the client is built on the first https:// request; it verifies."""
    ca = trustme.CA()
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_side)
    with LoopServer(tls=server_side).running() as https:
        url = https.static("/a", HTML, Content_Type="text/html", Set_Cookie="seen=1; Path=/")
        assert url.startswith("https://127.0.0.1:")
        client = build_client(timeout=2.0, user_agent="monitor-test/1")
        with client, pytest.raises(CaptureError, match="CERTIFICATE_VERIFY_FAILED"):
            Fetcher(client, max_body=1024, retries=0).fetch(url)
        ca_file = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
        client = build_client(timeout=2.0, user_agent="monitor-test/1")
        with client:
            fetcher = Fetcher(client, max_body=1024, retries=0)
            assert fetcher.fetch(url).body == HTML.encode()
            fetcher.fetch(url)
        # a metered paywall counts readers by cookie: every check is a first visit
        assert [r.headers.get("Cookie") for r in https.hits("/a")] == [None, None]


def test_304_is_not_modified(http: LoopServer, fetcher: Fetcher) -> None:
    url = http.route(
        "/a",
        lambda r: (
            Reply(304)
            if r.headers.get("If-None-Match") == '"v1"'
            else Reply(200, HTML.encode(), {"ETag": '"v1"'})
        ),
    )
    assert not fetcher.fetch(url).not_modified
    assert fetcher.fetch(url, etag='"v1"').not_modified


def test_a_304_leaves_its_connection_open_for_the_next_request(
    http: LoopServer, fetcher: Fetcher
) -> None:
    # most checks of an unchanged page end in a 304: a new connection for each would cost a
    # TCP handshake per check
    url = http.route("/a", lambda r: Reply(304, headers={"ETag": '"v1"'}))
    for _ in range(5):
        assert fetcher.fetch(url, etag='"v1"').not_modified
    assert http.connections == 1


@pytest.mark.parametrize("status", [400, 404, 410, 403])
def test_client_errors_fail_at_once(http: LoopServer, fetcher: Fetcher, status: int) -> None:
    url = http.static("/gone", "nope", status=status)
    with pytest.raises(CaptureError, match=f"HTTP {status}") as info:
        fetcher.fetch(url)
    assert info.value.status == status
    assert len(http.hits("/gone")) == 1


def test_transient_errors_are_retried_honouring_retry_after(
    http: LoopServer, fetcher: Fetcher
) -> None:
    url = http.route(
        "/flaky",
        lambda r: (
            Reply(503, b"busy", {"Retry-After": "1"})
            if r.hit < 3
            else Reply(200, HTML.encode(), {"Content-Type": "text/html"})
        ),
    )
    began = time.monotonic()
    assert fetcher.fetch(url).status == 200
    assert len(http.hits("/flaky")) == 3
    # the backoff alone (0.01 s) would be far shorter: the server's wait was honoured, twice
    assert time.monotonic() - began >= 2.0


def test_retries_give_up_with_the_reason(http: LoopServer, fetcher: Fetcher) -> None:
    url = http.static("/down", "x", status=502)
    with pytest.raises(CaptureError, match=r"^HTTP 502 Bad Gateway after 3 tries$") as info:
        fetcher.fetch(url)
    assert info.value.status == 502
    assert len(http.hits("/down")) == 3


def test_a_retry_after_date_is_a_wait_from_now() -> None:
    from email.utils import format_datetime

    from monitor.fetch.http import _retry_after

    hour = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    assert 3500 < (_retry_after(hour) or 0) <= 3600
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # past: at once
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 -0000") == 0.0  # no zone: UTC
    ahead = (datetime.now(UTC) + timedelta(hours=1)).strftime("%a, %d %b %Y %H:%M:%S")
    assert 3500 < (_retry_after(ahead) or 0) <= 3600  # no zone at all: read as UTC
    assert _retry_after("soon") is None
    assert _retry_after("120") == 120.0


def test_backoff_doubles_with_full_jitter(fetcher: Fetcher) -> None:
    import random

    random.seed(3)
    fetcher.backoff = 1.0
    for attempt in range(4):
        base = 2.0**attempt
        delays = [fetcher._delay(attempt) for _ in range(200)]
        assert base / 2 <= min(delays) < base * 0.55
        assert base * 0.95 < max(delays) <= base


def test_a_long_retry_after_is_left_to_the_next_check(http: LoopServer, fetcher: Fetcher) -> None:
    url = http.static("/slow-down", "x", status=429, Retry_After="3600")
    with pytest.raises(CaptureError, match="HTTP 429"):
        fetcher.fetch(url)
    assert len(http.hits("/slow-down")) == 1


def test_timeout(http: LoopServer, fetcher: Fetcher) -> None:
    url = http.route("/stall", lambda r: Reply(200, b"late", delay=1.5))
    fetcher.retries = 0
    with pytest.raises(CaptureError) as info:
        fetcher.fetch(url)
    # what it was waiting for, and no "after 1 tries" when there was one
    assert str(info.value) == "timed out (waiting for the server)"


def test_a_request_waits_for_a_free_connection_no_longer_than_the_timeout(
    http: LoopServer,
) -> None:
    """The client opens at most `max_connections` (the `concurrency` setting) at once."""
    stop = threading.Event()

    def trickle() -> Iterator[bytes]:
        for _ in range(100):
            if stop.wait(0.2):
                return
            yield b"x"

    http.route("/held", lambda r: Reply(200, headers={}, stream=trickle))
    fast = http.static("/fast", HTML, Content_Type="text/html")
    client = build_client(timeout=2.0, user_agent="monitor-test/1", max_connections=1)
    holder = Fetcher(client, max_body=1 << 20, retries=0, deadline=30.0)
    outcome: list[BaseException] = []

    def hold() -> None:
        try:
            holder.fetch(http.url("/held"))
        except CaptureError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        wait_for(lambda: bool(http.hits("/held")), "the first request")
        with pytest.raises(CaptureError) as info:
            Fetcher(client, max_body=1 << 20, retries=0).fetch(fast)
    finally:
        stop.set()
        thread.join()
        client.close()
    assert str(info.value) == "timed out (waiting for a free connection)"
    assert http.hits("/fast") == []


def test_a_connection_reset_mid_body_says_so(http: LoopServer, fetcher: Fetcher) -> None:
    url = http.route("/reset", lambda r: Reply(200, b"x" * 200_000, reset=True))
    fetcher.retries = 0
    with pytest.raises(CaptureError) as info:
        fetcher.fetch(url)
    assert str(info.value) == "connection broken while reading: connection reset by the server"


def test_connection_refused(fetcher: Fetcher) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(CaptureError, match="cannot connect"):
        fetcher.fetch(f"http://127.0.0.1:{port}/")


@pytest.mark.parametrize("encoding", ["", "gzip"])
def test_a_body_exactly_at_the_cap_is_read(
    http: LoopServer, fetcher: Fetcher, encoding: str
) -> None:
    fetcher.max_body = 1000
    body = b"x" * 1000
    sent = gzip.compress(body) if encoding else body
    url = http.static("/at-cap", sent, Content_Encoding=encoding or "identity")
    assert fetcher.fetch(url).body == body


def test_a_body_of_many_reads_is_kept_byte_for_byte(http: LoopServer, fetcher: Fetcher) -> None:
    body = bytes(range(256)) * 3000  # 750 KB: many reads of the socket
    url = http.static("/long", body, Content_Type="application/octet-stream")
    assert fetcher.fetch(url).body == body


def test_a_declared_length_over_the_cap_is_refused_unread(
    http: LoopServer, fetcher: Fetcher
) -> None:
    fetcher.max_body = 1000
    url = http.static("/big", "x" * 5000)
    # "body of 4.88 KiB": the Content-Length was judged, before any of the body was read
    with pytest.raises(CaptureError, match=r"body of 4\.88281 KiB is over the 1000 bytes limit"):
        fetcher.fetch(url)


def test_a_streamed_body_stops_at_the_cap(http: LoopServer, fetcher: Fetcher) -> None:
    """64 MiB sent with no Content-Length: the read stops past the 1 MiB cap, and neither the
    memory the fetch allocated nor what the server got to send comes near the whole body."""
    chunk = b"x" * (64 * 1024)
    url = http.route(
        "/endless", lambda r: Reply(200, headers={}, stream=lambda: iter([chunk] * 1024))
    )
    fetcher.max_body = 1 << 20
    fetcher.retries = 0
    tracemalloc.start()
    try:
        with pytest.raises(CaptureError, match="body is over the 1 MiB limit"):
            fetcher.fetch(url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * (1 << 20)
    assert http.streamed < 32 * (1 << 20)  # the rest was never sent: the client hung up


def test_gzip_bomb_hits_the_cap(http: LoopServer, fetcher: Fetcher) -> None:
    bomb = gzip.compress(b"\0" * (8 * 1024 * 1024))
    assert len(bomb) < 20_000
    url = http.static("/bomb", bomb, Content_Encoding="gzip", Content_Type="text/html")
    with pytest.raises(CaptureError, match="limit"):
        fetcher.fetch(url)


def test_redirects_followed_and_loops_stopped(http: LoopServer, fetcher: Fetcher) -> None:
    http.static("/final", HTML, Content_Type="text/html")
    url = http.static("/moved", "", status=301, Location="/final")
    assert fetcher.fetch(url).url.endswith("/final")
    loop = http.static("/loop", "", status=302, Location="/loop")
    with pytest.raises(CaptureError, match="redirect"):
        fetcher.fetch(loop)
    assert len(http.hits("/loop")) == 11  # the first request and ten redirects


def test_a_redirect_chain_ends_at_the_last_url(http: LoopServer, fetcher: Fetcher) -> None:
    http.static("/b%C3%BCcher/final", HTML, Content_Type="text/html", ETag='"v2"')
    http.static("/step2?from=1", "moved on", status=307, Location="/b%C3%BCcher/final")
    first = http.static("/step1", "x" * 5000, status=302, Location="step2?from=1")
    capture = fetcher.fetch(first)
    assert capture.url == http.url("/b%C3%BCcher/final")
    assert (capture.status, capture.etag, capture.body) == (200, '"v2"', HTML.encode())
    # the relative Location resolved against the redirecting URL, query kept
    assert len(http.hits("/step2?from=1")) == 1
    # a URL written with text outside ASCII goes on the wire escaped
    assert fetcher.fetch(http.url("/bücher/final")).body == HTML.encode()
    away = http.static("/away", "", status=301, Location="ftp://127.0.0.1/file")
    with pytest.raises(CaptureError, match="not an http"):
        fetcher.fetch(away)
    broken = http.static("/broken", "", status=302, Location="http://127.0.0.1:port/x")
    with pytest.raises(CaptureError, match="redirected to an invalid URL"):
        fetcher.fetch(broken)
    with pytest.raises(CaptureError, match="invalid URL"):
        fetcher.fetch("http://bad host ü/")


@pytest.mark.parametrize(
    "body, headers, expected",
    [
        ("café".encode("latin-1"), {"Content-Type": "text/html; charset=ISO-8859-1"}, "café"),
        (
            '<meta charset="windows-1252"><p>caf\xe9</p>'.encode("latin-1"),
            {"Content-Type": "text/html"},
            "café",
        ),
        ("<p>café</p>".encode("latin-1"), {"Content-Type": "text/html"}, "café"),
        ("<p>café</p>".encode(), {"Content-Type": "text/html"}, "café"),
    ],
)
def test_charset_header_then_meta_then_utf8(
    http: LoopServer, fetcher: Fetcher, body: bytes, headers: dict[str, str], expected: str
) -> None:
    url = http.route("/c", lambda r: Reply(200, body, headers))
    capture = fetcher.fetch(url)
    assert expected in decode(capture, sniff_format(capture))


def test_body_invalid_in_its_declared_charset(http: LoopServer, fetcher: Fetcher) -> None:
    url = http.static("/bad", b"<p>\xff\xfe\xfa</p>", Content_Type="text/html; charset=utf-8")
    capture = fetcher.fetch(url)
    with pytest.raises(CaptureError, match="not valid utf-8"):
        decode(capture, sniff_format(capture))


def test_binary_served_as_html(http: LoopServer, fetcher: Fetcher) -> None:
    url = http.static(
        "/png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)) * 4, Content_Type="text/html"
    )
    capture = fetcher.fetch(url)
    with pytest.raises(CaptureError, match="binary"):
        decode(capture, sniff_format(capture))


def test_local_files(tmp_path: Path, fetcher: Fetcher) -> None:
    path = tmp_path / "a b.txt"
    path.write_text("hello", encoding="utf-8")
    assert fetcher.fetch(str(path)).body == b"hello"
    assert fetcher.fetch(path.as_uri()).body == b"hello"
    with pytest.raises(CaptureError, match="not found"):
        fetcher.fetch(str(tmp_path / "missing.txt"))
    fetcher.max_body = 2
    with pytest.raises(CaptureError, match="limit"):
        fetcher.fetch(str(path))


def test_text_snapshot_must_be_utf8(tmp_path: Path, fetcher: Fetcher) -> None:
    path = tmp_path / "snap.txt"
    path.write_bytes("caf\xe9 au lait".encode("latin-1"))
    capture = fetcher.fetch(str(path))
    with pytest.raises(CaptureError, match="not valid UTF-8"):
        decode(capture, sniff_format(capture))


def test_gzip_bomb_never_expands_in_memory(http: LoopServer, fetcher: Fetcher) -> None:
    """256 MiB of zeros in 256 KiB of gzip: decoding stops at the cap, and the memory the
    fetch allocated stays a few times the cap, not the bomb's size."""
    bomb = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    body = b"".join(bomb.compress(b"\0" * (1 << 20)) for _ in range(256)) + bomb.flush()
    fetcher.max_body = 1 << 20
    url = http.static("/bomb", body, Content_Encoding="gzip", Content_Type="text/html")
    tracemalloc.start()
    try:
        with pytest.raises(CaptureError, match="over the 1 MiB limit"):
            fetcher.fetch(url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * (1 << 20)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compressed_body_cut_short_is_a_failed_fetch(
    http: LoopServer, fetcher: Fetcher, encoding: str
) -> None:
    """No Content-Length, the connection closed at 60% of the stream: not a shorter page."""
    page = ("<html><body><main>" + "<p>word " * 3000 + "</main></body></html>").encode()
    packed = gzip.compress(page) if encoding == "gzip" else zlib.compress(page)
    cut = packed[: len(packed) * 6 // 10]
    url = http.route(
        "/cut",
        lambda r: Reply(200, headers={"Content-Encoding": encoding}, stream=lambda: iter([cut])),
    )
    fetcher.retries = 0
    with pytest.raises(CaptureError, match="ends early"):
        fetcher.fetch(url)
    whole = http.route(
        "/whole",
        lambda r: Reply(200, headers={"Content-Encoding": encoding}, stream=lambda: iter([packed])),
    )
    assert fetcher.fetch(whole).body == page


def _trickling(http: LoopServer, stop: threading.Event, *, every: float) -> str:
    """A page whose body is a byte every `every` seconds, a hundred at most, until `stop`."""

    def trickle() -> Iterator[bytes]:
        for _ in range(100):
            if stop.wait(every):
                return
            yield b"x"

    return http.route("/trickle", lambda r: Reply(200, headers={}, stream=trickle))


def test_a_trickling_server_is_stopped_at_the_deadline(http: LoopServer) -> None:
    """A byte every 0.3 s never trips a 1 s read timeout; the whole response's deadline does."""
    stop = threading.Event()
    url = _trickling(http, stop, every=0.3)
    client = build_client(timeout=1.0, user_agent="monitor-test/1")
    began = time.monotonic()
    try:
        with pytest.raises(CaptureError, match="whole response took over 1 s"):
            Fetcher(client, max_body=1 << 20, retries=0).fetch(url)
    finally:
        stop.set()
        client.close()
    assert time.monotonic() - began < 10  # the trickle alone would last 30 s


def test_a_public_site_cannot_redirect_to_a_private_address(
    http: LoopServer, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen from a public host (`localhost` is taken for a public name in this test),
    a redirect into loopback is refused; a private source may redirect within its network."""
    import monitor.fetch.http as fetch_http

    real = fetch_http.is_private_host
    monkeypatch.setattr(fetch_http, "is_private_host", lambda h: h != "localhost" and real(h))
    http.static("/internal", "secret admin page", Content_Type="text/html")
    port = http.url("/").split(":")[2].split("/")[0]
    url = http.static("/to-internal", "", status=302, Location=http.url("/internal"))
    public_url = url.replace("127.0.0.1", "localhost")
    fetcher.retries = 0
    hint = r"private or loopback address: refused \(set allow_private = true on the source"
    with pytest.raises(CaptureError, match=hint):
        fetcher.fetch(public_url)
    assert http.hits("/internal") == []
    assert fetcher.fetch(url).body == b"secret admin page"  # loopback to loopback: allowed
    assert fetcher.fetch(public_url, allow_private=True).body == b"secret admin page"
    assert port.isdigit()


def test_devices_and_pipes_are_not_read(tmp_path: Path, fetcher: Fetcher) -> None:
    with pytest.raises(CaptureError, match="not a regular file"):
        fetcher.fetch("/dev/zero")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(CaptureError, match="not a regular file"):
        fetcher.fetch(f"file://{fifo}")


def test_proxy_from_the_environment_is_used(
    http: LoopServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY is honoured: the request goes to the proxy with the absolute URL."""
    http.static("http://example.org/page", HTML, Content_Type="text/html")
    monkeypatch.setenv("HTTP_PROXY", http.url(""))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = build_client(timeout=2.0, user_agent="monitor-test/1")
    with client:
        capture = Fetcher(client, max_body=1 << 20, retries=0).fetch("http://example.org/page")
    assert capture.body == HTML.encode()
    assert len(http.hits("http://example.org/page")) == 1


def test_a_host_name_is_private_when_it_resolves_to_a_private_address() -> None:
    """Names go through the system's resolver, no DNS server needed: `localhost` from
    /etc/hosts, and numbers that are not dotted quads, which the resolver reads as addresses
    (a way to write 127.0.0.1 that an address parser does not recognise)."""
    assert is_private_host("localhost")
    assert is_private_host("2130706433")  # 127.0.0.1
    assert is_private_host("0x7f000001")  # 127.0.0.1
    assert is_private_host("10.1")  # 10.0.0.1
    assert not is_private_host("134744072")  # 8.8.8.8
    # not found: not called private, the request fails with the resolver's reason
    assert not is_private_host("nothing.invalid")
    assert is_private_host("[::1]") and not is_private_host("[2001:4860:4860::8888]")


def test_a_redirect_to_loopback_written_as_a_number_is_refused(
    http: LoopServer, fetcher: Fetcher
) -> None:
    http.static("/internal", "secret admin page", Content_Type="text/html")
    url = http.static(
        "/to-number", "", status=302, Location=f"http://2130706433:{http.port}/internal"
    )
    fetcher.retries = 0
    with pytest.raises(CaptureError, match="private or loopback address: refused"):
        fetcher.fetch(url, allow_private=False)  # as from a source on the public internet
    assert http.hits("/internal") == []
    assert fetcher.fetch(url, allow_private=True).body == b"secret admin page"


def test_a_redirect_from_http_to_https_is_followed(
    http: LoopServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = trustme.CA()
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_side)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    with LoopServer(tls=server_side).running() as https:
        target = https.static("/a", HTML, Content_Type="text/html")
        url = http.static("/moved", "", status=301, Location=target)
        with build_client(timeout=2.0, user_agent="monitor-test/1") as client:
            capture = Fetcher(client, max_body=1024, retries=0).fetch(url)
    assert (capture.url, capture.body) == (target, HTML.encode())


def test_cancel_all_ends_a_read_the_server_is_holding(http: LoopServer) -> None:
    release = threading.Event()

    def held(request: object) -> Reply:
        release.wait(30)
        return Reply(200, HTML.encode())

    url = http.route("/held", held)
    client = build_client(timeout=30.0, user_agent="monitor-test/1")
    fetcher = Fetcher(client, max_body=1 << 20, retries=0)
    thread, outcome = fetch_in_thread(fetcher, url)
    try:
        wait_for(lambda: bool(http.hits("/held")), "the request")
        fetcher.cancel_all()
        thread.join(10)
        ended_while_held = not thread.is_alive()
    finally:
        release.set()
        thread.join()
        client.close()
    # the socket was shut down under the read: it did not wait for the server's answer
    assert ended_while_held
    assert [type(e) for e in outcome] == [Cancelled]


def test_a_request_that_would_start_after_a_cancel_is_never_sent(http: LoopServer) -> None:
    """The cancel comes while the first response is on its way: the redirect's new connection
    is shut down as soon as it opens, before the request is written."""
    cancel = threading.Event()
    with LoopServer().running() as other:
        final = other.static("/final", HTML, Content_Type="text/html")

        def cancel_then_redirect(request: object) -> Reply:
            cancel.set()  # as the service's stop, or Ctrl-C, would
            return Reply(302, headers={"Location": final})

        url = http.route("/go", cancel_then_redirect)
        with build_client(timeout=5.0, user_agent="monitor-test/1") as client:
            fetcher = Fetcher(client, max_body=1 << 20, retries=0, cancel=cancel)
            with pytest.raises(Cancelled):
                fetcher.fetch(url)
        assert other.hits("/final") == []


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    ends = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < ends, f"not within {seconds:g} s: {what}"
        time.sleep(0.02)


def test_the_request_asks_for_html_and_only_encodings_the_cap_can_bound(
    http: LoopServer, fetcher: Fetcher
) -> None:
    """`Inflater` decodes gzip and deflate with a bound on the output: a server must not be
    invited to send anything else (brotli, zstd), which could not be read within `max_body`."""
    url = http.static("/a", HTML, Content_Type="text/html")
    fetcher.fetch(url)
    request = http.hits("/a")[0]
    assert request.headers["Accept-Encoding"] == "gzip, deflate"
    assert request.headers["Accept"] == "text/html,text/plain;q=0.9,*/*;q=0.5"


@pytest.fixture
def bare_status() -> Iterator[Callable[[int], str]]:
    """A server whose status lines carry no reason phrase (`HTTP/1.1 503 `), as some servers
    and proxies send: `bare_status(503)` is the URL of a page answered so."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                head = conn.recv(65536).split(b"\r\n", 1)[0]  # GET /503 HTTP/1.1
                status = head.split(b" ")[1].strip(b"/")
                conn.sendall(b"HTTP/1.1 " + status + b" \r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield lambda status: f"http://127.0.0.1:{port}/{status}"
    finally:
        server.shutdown(socket.SHUT_RDWR)  # wakes the accept (closing alone would not)
        server.close()
        thread.join(5)


@pytest.mark.parametrize("status", [503, 520])
def test_a_status_without_a_reason_phrase_is_named_by_its_number(
    bare_status: Callable[[int], str], fetcher: Fetcher, status: int
) -> None:
    """520 (Cloudflare's "unknown error") has no phrase in httpx's table either: the message
    is the number alone, with no stray space."""
    fetcher.retries = 0
    with pytest.raises(CaptureError) as info:
        fetcher.fetch(bare_status(status))
    assert (str(info.value), info.value.status) == (f"HTTP {status}", status)


def test_a_body_shorter_than_its_length_is_a_broken_connection(
    http: LoopServer, fetcher: Fetcher
) -> None:
    url = http.route("/short", lambda r: Reply(200, b"<p>cut", length=100))
    fetcher.retries = 0
    with pytest.raises(CaptureError) as info:
        fetcher.fetch(url)
    assert str(info.value) == (
        "connection broken while reading: peer closed connection without sending complete"
        " message body (received 6 bytes, expected 100)"
    )


def test_a_host_in_no_proxy_is_fetched_directly(
    http: LoopServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY with NO_PROXY: httpx mounts no transport for the excepted hosts, and the
    client is still built, the excepted host read without the proxy."""
    url = http.static("/page", HTML, Content_Type="text/html")
    with LoopServer().running() as proxy:
        proxy.static(url, "from the proxy", Content_Type="text/html")
        for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url(""))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with build_client(timeout=2.0, user_agent="monitor-test/1") as client:
            capture = Fetcher(client, max_body=1 << 20, retries=0).fetch(url)
        assert proxy.requests == []
    assert capture.body == HTML.encode()
    assert len(http.hits("/page")) == 1


def test_a_proxy_that_refuses_the_tunnel_says_so(
    http: LoopServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An https:// page through HTTPS_PROXY needs a CONNECT tunnel; this proxy (the test
    server) answers CONNECT with 501: the check fails with the proxy's answer."""
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", http.url(""))
    client = build_client(timeout=2.0, user_agent="monitor-test/1")
    with client, pytest.raises(CaptureError) as info:
        Fetcher(client, max_body=1 << 20, retries=0).fetch("https://example.org/page")
    assert str(info.value) == "HTTP error: 501 Unsupported method ('CONNECT')"


def test_a_public_only_fetch_refuses_a_connection_to_a_private_address(
    http: LoopServer, fetcher: Fetcher
) -> None:
    """A name a public feed listed, resolving to loopback when the page is checked (DNS
    rebinding): the connection is refused before a request goes over it."""
    url = http.static("/admin", "secret admin page", Content_Type="text/html")
    fetcher.retries = 0
    with pytest.raises(CaptureError, match=r"now resolves to 127\.0\.0\.1, a private or loopback"):
        fetcher.fetch(url.replace("127.0.0.1", "localhost"), public_only=True)
    assert http.hits("/admin") == []
    assert fetcher.fetch(url).body == b"secret admin page"  # not public_only: as before


def test_a_public_only_refusal_names_the_host_the_address_and_the_setting_that_allows_it(
    http: LoopServer, fetcher: Fetcher
) -> None:
    """The message is the one a person reads in the check's error: what was refused, why,
    and the setting that allows it."""
    url = http.static("/admin", "secret admin page", Content_Type="text/html")
    fetcher.retries = 0
    with pytest.raises(CaptureError) as info:
        fetcher.fetch(url.replace("127.0.0.1", "localhost"), public_only=True)
    assert str(info.value) == (
        "localhost now resolves to 127.0.0.1, a private or loopback address: refused, as the"
        " feed that listed it is on the public internet (set allow_private = true on the"
        " [[discover]] to allow it)"
    )


def test_a_public_only_fetch_refuses_loopback_written_as_an_ipv4_mapped_ipv6_address(
    http: LoopServer, fetcher: Fetcher
) -> None:
    """`[::ffff:127.0.0.1]` reaches 127.0.0.1 over an IPv6 socket: the peer is named by the
    IPv4 address it maps."""
    url = http.static("/admin", "secret admin page", Content_Type="text/html")
    mapped = url.replace("127.0.0.1", "[::ffff:127.0.0.1]")
    fetcher.retries = 0
    with pytest.raises(CaptureError, match=r"now resolves to 127\.0\.0\.1, a private or loopback"):
        fetcher.fetch(mapped, public_only=True)
    assert http.hits("/admin") == []
    assert fetcher.fetch(mapped).body == b"secret admin page"  # the address does reach it


def test_a_public_only_fetch_over_a_kept_alive_connection_to_a_private_address_is_refused(
    http: LoopServer, fetcher: Fetcher
) -> None:
    """The connection was opened by an earlier request that could go to a private address
    (no new connection is made, so none is checked as it opens): its address is checked
    before the page is read."""
    url = http.static("/admin", "secret admin page", Content_Type="text/html")
    by_name = url.replace("127.0.0.1", "localhost")
    fetcher.retries = 0
    assert fetcher.fetch(by_name).body == b"secret admin page"
    with pytest.raises(CaptureError, match=r"now resolves to 127\.0\.0\.1, a private or loopback"):
        fetcher.fetch(by_name, public_only=True)
    assert http.connections == 1  # the premise: the second request went over the first's


def test_a_public_only_fetch_through_a_proxy_on_a_private_address_is_not_refused(
    http: LoopServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy is most often on the local network: the connection to it is not the page's
    host's, which the proxy resolves."""
    http.static("http://example.org/page", HTML, Content_Type="text/html")
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", http.url(""))
    with build_client(timeout=2.0, user_agent="monitor-test/1") as client:
        fetcher = Fetcher(client, max_body=1 << 20, retries=0)
        capture = fetcher.fetch("http://example.org/page", public_only=True)
    assert capture.body == HTML.encode()


def test_a_304_that_names_its_pages_content_encoding_is_an_empty_not_modified_capture(
    http: LoopServer, fetcher: Fetcher
) -> None:
    """A 304 may repeat the page's headers, `Content-Encoding: gzip` among them; it has no
    body, which is not a gzip stream cut short."""
    url = http.route(
        "/a", lambda r: Reply(304, headers={"ETag": '"v1"', "Content-Encoding": "gzip"})
    )
    capture = fetcher.fetch(url, etag='"v1"')
    assert (capture.not_modified, capture.body, capture.etag) == (True, b"", '"v1"')


def test_a_host_name_whose_port_refuses_the_connection_says_so(fetcher: Fetcher) -> None:
    """A host name is looked up and connected to in a thread of its own: its failure is the
    fetch's, in words."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fetcher.retries = 0
    with pytest.raises(CaptureError) as info:
        fetcher.fetch(f"http://localhost:{port}/")
    assert str(info.value) == (
        "cannot connect to localhost: connection refused (nothing listens on that port)"
    )


def test_a_retry_after_of_a_full_minute_is_waited_for_and_a_cancel_ends_the_wait(
    http: LoopServer,
) -> None:
    """`Retry-After: 60` is the longest wait still taken (a longer one is left to the next
    check); `cancel_all` ends it, and the fetch is cancelled, in the word the check's line
    shows."""
    url = http.static("/busy", "busy", status=503, Retry_After="60")
    client = build_client(timeout=5.0, user_agent="monitor-test/1")
    fetcher = Fetcher(client, max_body=1 << 20, retries=2, backoff=0.01)
    thread, outcome = fetch_in_thread(fetcher, url)
    try:
        wait_for(lambda: bool(http.hits("/busy")), "the first request")
        thread.join(2)
        waiting = thread.is_alive()  # not given up on at once
        fetcher.cancel_all()
        thread.join(10)
        ended_by_the_cancel = not thread.is_alive()
    finally:
        fetcher.cancel_all()
        thread.join()
        client.close()
    assert waiting and ended_by_the_cancel
    assert [(type(e), str(e)) for e in outcome] == [(Cancelled, "cancelled")]
    assert len(http.hits("/busy")) == 1


def test_a_body_still_arriving_after_a_cancel_is_not_read_on(http: LoopServer) -> None:
    """The cancel comes between two pieces of the body (the server itself sets it): the
    fetch ends at the next piece, without waiting for the body's end."""
    cancel = threading.Event()
    end_body = threading.Event()

    def body() -> Iterator[bytes]:
        yield b"<p>first</p>"
        cancel.set()
        yield b"<p>second</p>"
        end_body.wait(30)  # the body's end (the connection's close) waits for the test

    url = http.route("/a", lambda r: Reply(200, headers={}, stream=body))
    client = build_client(timeout=30.0, user_agent="monitor-test/1")
    fetcher = Fetcher(client, max_body=1 << 20, retries=0, cancel=cancel)
    try:
        with pytest.raises(Cancelled) as info:
            fetcher.fetch(url)
        body_ended = end_body.is_set()
    finally:
        end_body.set()
        client.close()
    assert (str(info.value), body_ended) == ("cancelled", False)


def test_a_cancel_that_ends_a_body_at_its_connections_close_is_not_a_short_page(
    http: LoopServer,
) -> None:
    """A body with no length ends when its connection closes; `cancel_all` shuts the socket
    down, which reads as that end: the fetch is cancelled, not the page read so far."""
    stop = threading.Event()
    url = _trickling(http, stop, every=0.2)
    client = build_client(timeout=30.0, user_agent="monitor-test/1")
    fetcher = Fetcher(client, max_body=1 << 20, retries=0)
    thread, outcome = fetch_in_thread(fetcher, url)
    try:
        wait_for(lambda: http.streamed >= 2, "part of the body")
        fetcher.cancel_all()
        thread.join(10)
    finally:
        stop.set()
        thread.join()
        client.close()
    assert [(type(o), str(o)) for o in outcome] == [(Cancelled, "cancelled")]


@pytest.fixture
def fresh_tls_preload(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process as it starts: no CA bundle loaded, none loading."""
    import monitor.fetch.http as fetch_http

    monkeypatch.setattr(fetch_http, "_preloading", None)
    fetch_http._tls_context.cache_clear()
    yield
    if fetch_http._preloading is not None:
        fetch_http._preloading.join()
    fetch_http._tls_context.cache_clear()


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the bundle is loaded ahead on 2 cores up")
@pytest.mark.usefixtures("fresh_tls_preload")
def test_the_ca_bundle_loaded_ahead_is_the_one_tls_context_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`preload_tls_context` loads the bundle `SSL_CERT_FILE` and `SSL_CERT_DIR` name, once;
    `tls_context` then finds it loaded instead of loading it again."""
    from monitor.fetch.http import _tls_context, preload_tls_context, tls_context

    ca_file = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    preload_tls_context()
    assert isinstance(tls_context(), ssl.SSLContext)
    loads = _tls_context.cache_info()
    assert (loads.misses, loads.hits) == (1, 1)


@pytest.mark.usefixtures("fresh_tls_preload")
def test_a_ca_bundle_that_fails_to_load_ahead_fails_only_where_it_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loading thread keeps its failure to itself (nothing printed as a command starts);
    `tls_context`, asked for the bundle, raises it with the fix."""
    import monitor.fetch.http as fetch_http

    failures: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", failures.append)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("not a certificate\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    fetch_http.preload_tls_context()
    if fetch_http._preloading is not None:  # (one core: nothing loads ahead)
        fetch_http._preloading.join()
    assert failures == []
    with pytest.raises(ConfigError, match=rf"^SSL_CERT_FILE={ca_file}: no CA certificates"):
        fetch_http.tls_context()
