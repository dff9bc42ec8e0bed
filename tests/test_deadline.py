"""A request's deadline covers its headers too: httpx's timeouts bound each read, so a server
that sends its status line and headers a byte at a time never trips them (issue 14, point 3)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import Cancelled, CaptureError
from monitor.fetch import Fetcher, build_client

from .fetch_helpers import fetch_in_thread
from .server import LoopServer, Reply


@pytest.fixture
def header_trickler() -> Iterator[str]:
    """A server that answers every request with `HTTP/1.1 200 OK`, then one header byte every
    0.2 s, for up to a minute (ended with the test)."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            for _ in range(300):
                if stop.wait(0.2):
                    return
                try:
                    conn.sendall(b"x")
                except OSError:
                    return  # the client gave up and closed

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/slow"
    finally:
        stop.set()
        server.close()


def _failure(
    url: str, *, timeout: float, deadline: float | None = None, within: float = 10.0
) -> str:
    """The message of the `CaptureError` that fetching `url` ends with, in a thread given
    `within` seconds to end."""
    client = build_client(timeout=timeout, user_agent="monitor-test/1")
    fetcher = Fetcher(client, max_body=1 << 20, retries=0, deadline=deadline)
    try:
        worker, outcome = fetch_in_thread(fetcher, url)
        worker.join(within)
        assert not worker.is_alive(), f"the fetch was still running after {within:g} s"
    finally:
        fetcher.cancel_all()
        client.close()
    assert len(outcome) == 1 and isinstance(outcome[0], CaptureError), outcome
    return str(outcome[0])


def test_headers_sent_a_byte_at_a_time_are_cut_at_the_deadline(header_trickler: str) -> None:
    # the trickle itself would last a minute
    failure = _failure(header_trickler, timeout=1.0, within=30)
    assert "whole response took over 1 s" in failure


def test_the_deadline_is_per_request_not_per_connection(http: LoopServer) -> None:
    """Requests on one kept-alive connection, together longer than the deadline, each within
    it, all succeed: the deadline of a finished request does not carry over to the next."""
    url = http.route("/page", lambda r: Reply(200, b"<p>ok</p>", {"Content-Type": "text/html"}))
    client = build_client(timeout=0.5, user_agent="monitor-test/1")
    fetcher = Fetcher(client, max_body=1 << 20, retries=0)
    try:
        began = time.monotonic()
        bodies = []
        while time.monotonic() - began < 1.5:  # three deadlines' worth of requests
            bodies.append(fetcher.fetch(url).body)
            time.sleep(0.1)
        assert len(bodies) >= 5 and set(bodies) == {b"<p>ok</p>"}
    finally:
        client.close()


@pytest.fixture
def hanging_connect() -> Iterator[str]:
    """A URL whose TCP connect hangs, as one to a host that drops packets: the listener's
    accept queue (backlog 0) is filled by one connection never accepted, so the kernel drops
    the SYNs of the next ones."""
    server = socket.create_server(("127.0.0.1", 0), backlog=0)
    address = server.getsockname()
    filler = socket.create_connection(address)
    probe = socket.socket()
    probe.settimeout(0.2)
    try:
        with probe, pytest.raises(TimeoutError):  # the premise: a connect now hangs
            probe.connect(address)
        yield f"http://127.0.0.1:{address[1]}/page"
    finally:
        filler.close()
        server.close()


@pytest.fixture
def hanging_tls() -> Iterator[str]:
    """An https:// URL whose TCP connect succeeds (the kernel completes it) and whose TLS
    handshake never does: nothing ever accepts the connection or answers its ClientHello."""
    server = socket.create_server(("127.0.0.1", 0), backlog=1)
    try:
        yield f"https://127.0.0.1:{server.getsockname()[1]}/page"
    finally:
        server.close()


def test_a_connect_that_hangs_is_cut_at_the_deadline(hanging_connect: str) -> None:
    """The connect may wait 5 s (`timeout`); the request's deadline, 0.5 s, ends it first."""
    failure = _failure(hanging_connect, timeout=5.0, deadline=0.5)
    assert failure == "timed out (the whole response took over 0.5 s)"


def test_a_connect_that_hangs_past_its_timeout_says_so(hanging_connect: str) -> None:
    """The connect's own timeout (0.5 s, the deadline too) runs out: the message names it."""
    assert _failure(hanging_connect, timeout=0.5) == "timed out (connecting)"


def test_a_tls_handshake_that_hangs_is_cut_at_the_deadline(hanging_tls: str) -> None:
    failure = _failure(hanging_tls, timeout=5.0, deadline=0.5)
    assert failure == "timed out (the whole response took over 0.5 s)"


@dataclass
class SlowLookup:
    url: str
    server: socket.socket  # where the name resolves to: a listener that accepts nothing itself
    entered: threading.Event  # set when the lookup has begun
    release: threading.Event  # the lookup answers once this is set


@pytest.fixture
def slow_lookup(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowLookup]:
    """A URL whose host name's lookup does not answer until the test releases it, then
    resolves to a listener on 127.0.0.1. The machine's resolver cannot be made to hang from a
    test without changing its configuration, so `socket.getaddrinfo` is the one part stood in
    for, and for this name only."""
    server = socket.create_server(("127.0.0.1", 0))
    slow = SlowLookup(
        f"http://slow-lookup.test:{server.getsockname()[1]}/page",
        server,
        threading.Event(),
        threading.Event(),
    )
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "slow-lookup.test":
            slow.entered.set()
            slow.release.wait(60)
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    try:
        yield slow
    finally:
        slow.release.set()
        server.close()


def test_a_host_name_lookup_that_hangs_is_cut_at_the_deadline(slow_lookup: SlowLookup) -> None:
    failure = _failure(slow_lookup.url, timeout=5.0, deadline=0.5)
    assert failure == "timed out (the whole response took over 0.5 s)"


def test_a_host_name_lookup_that_hangs_past_the_connect_timeout_says_so(
    slow_lookup: SlowLookup,
) -> None:
    assert _failure(slow_lookup.url, timeout=0.5) == "timed out (connecting)"


def test_a_connection_made_after_the_fetch_gave_up_is_closed(slow_lookup: SlowLookup) -> None:
    _failure(slow_lookup.url, timeout=5.0, deadline=0.5)
    slow_lookup.release.set()  # the lookup answers now, and the connect completes
    slow_lookup.server.settimeout(10)
    conn, _ = slow_lookup.server.accept()
    with conn:
        conn.settimeout(10)
        assert conn.recv(1024) == b""  # closed without a request: no connection left open


def test_a_fetch_waiting_for_a_host_name_lookup_is_cancelled(slow_lookup: SlowLookup) -> None:
    client = build_client(timeout=30.0, user_agent="monitor-test/1")
    fetcher = Fetcher(client, max_body=1 << 20, retries=0)
    try:
        worker, outcome = fetch_in_thread(fetcher, slow_lookup.url)
        assert slow_lookup.entered.wait(10)
        fetcher.cancel_all()
        # within half the connect's own limit (10 s): the cancel ended the wait, not the limit;
        # the lookup itself still hangs, only the wait for it ends
        worker.join(5)
        assert not worker.is_alive() and not slow_lookup.release.is_set()
    finally:
        client.close()
    assert len(outcome) == 1 and isinstance(outcome[0], Cancelled), outcome


def test_a_host_name_lookup_slower_than_the_poll_is_waited_for(
    http: LoopServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wait for a lookup looks every 50 ms whether the fetch was cancelled or its time is
    up; neither is, and the lookup answers after 300 ms: the page is read."""
    url = http.static("/page", "<p>ok</p>", Content_Type="text/html")
    entered, release = threading.Event(), threading.Event()
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "slow-lookup.test":
            entered.set()
            release.wait(60)
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    client = build_client(timeout=10.0, user_agent="monitor-test/1")
    fetcher = Fetcher(client, max_body=1 << 20, retries=0)
    try:
        worker, outcome = fetch_in_thread(fetcher, url.replace("127.0.0.1", "slow-lookup.test"))
        assert entered.wait(10)
        time.sleep(0.3)  # several polls' worth
        release.set()
        worker.join(10)
    finally:
        release.set()
        fetcher.cancel_all()
        client.close()
    assert [getattr(item, "body", item) for item in outcome] == [b"<p>ok</p>"]


def test_a_fetch_waiting_for_a_connect_to_an_address_is_cancelled(hanging_connect: str) -> None:
    """As for a host name: an IP address's connect that hangs (its own limit is 10 s) ends
    when the fetch is cancelled (Ctrl-C, a stop), not when that limit runs out."""
    client = build_client(timeout=30.0, user_agent="monitor-test/1")
    fetcher = Fetcher(client, max_body=1 << 20, retries=0)
    try:
        worker, outcome = fetch_in_thread(fetcher, hanging_connect)
        time.sleep(0.5)  # the connect has begun (the fetch has nothing else to do first)
        fetcher.cancel_all()
        worker.join(5)  # half the connect's own limit: only the cancel can end it by then
        assert not worker.is_alive()
    finally:
        client.close()
    assert len(outcome) == 1 and isinstance(outcome[0], Cancelled), outcome


def test_a_process_whose_host_name_lookup_hangs_still_exits() -> None:
    """The fetch gives up on a lookup at the deadline; the lookup itself cannot be ended, and
    the thread it runs in must not keep the process from exiting (a command, Ctrl-C)."""
    script = """if True:
        import socket, threading
        real, hang = socket.getaddrinfo, threading.Event()

        def getaddrinfo(host, *args, **kwargs):
            if host == "slow-lookup.test":
                hang.wait(120)
            return real(host, *args, **kwargs)

        socket.getaddrinfo = getaddrinfo
        from monitor.errors import CaptureError
        from monitor.fetch import Fetcher, build_client

        client = build_client(timeout=5.0, user_agent="monitor-test/1")
        fetcher = Fetcher(client, max_body=1024, retries=0, deadline=0.5)
        try:
            fetcher.fetch("http://slow-lookup.test:9/page")
        except CaptureError as exc:
            print(exc)
    """
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=60,  # half the lookup's hang
    )
    assert (result.returncode, result.stdout) == (
        0,
        "timed out (the whole response took over 0.5 s)\n",
    ), result.stderr
