"""A scriptable HTTP server on 127.0.0.1 for tests: each route is a function of the request."""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from monitor.demo.site import serving


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    length: int | None = None  # a Content-Length other than the body's (a short body)
    stream: Callable[[], Iterator[bytes]] | None = None  # sent without a length, then closed
    reset: bool = False  # send half the body, then reset the connection


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    hit: int  # 1 for the first request to this path


Route = Callable[[Request], Reply]


class LoopServer:
    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.scheme = "https" if tls is not None else "http"
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.streamed = 0  # bytes of streamed bodies actually written
        self.connections = 0  # TCP connections accepted
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                with outer._lock:
                    outer.connections += 1
                super().setup()

            def do_GET(self) -> None:
                path = self.path
                with outer._lock:
                    hit = sum(1 for r in outer.requests if r.path == path) + 1
                    request = Request(path, dict(self.headers), hit)
                    outer.requests.append(request)
                    route = outer.routes.get(path)
                reply = route(request) if route else Reply(404, b"not here")
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                headers = dict(reply.headers)
                if reply.stream is None:
                    length = len(reply.body) if reply.length is None else reply.length
                    headers.setdefault("Content-Length", str(length))
                else:
                    headers["Connection"] = "close"
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if reply.reset:
                    self.wfile.write(reply.body[: len(reply.body) // 2])
                    self.wfile.flush()
                    linger = struct.pack("ii", 1, 0)  # close with RST, not FIN
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                    self.connection.close()
                    self.close_connection = True
                elif reply.stream is not None:
                    self.close_connection = True
                    for chunk in reply.stream():
                        self.wfile.write(chunk)
                        outer.streamed += len(chunk)
                else:
                    self.wfile.write(reply.body)
                    if reply.length is not None:
                        self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = _quiet  # type: ignore[method-assign]
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def route(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def static(self, path: str, body: bytes | str, status: int = 200, **headers: str) -> str:
        data = body.encode() if isinstance(body, str) else body
        hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
        return self.route(path, lambda r: Reply(status, data, hdrs))

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    @contextmanager
    def running(self) -> Iterator[LoopServer]:
        with serving(self.httpd):
            yield self


def _quiet(request: object, client_address: object) -> None:
    """A client that hangs up early (a body cap, a timeout) is expected, not worth a traceback."""
