"""A webhook receiver on 127.0.0.1 for Apprise's `json://`: keeps every POST it gets and answers
with the statuses it is told to, in order, then 200."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from monitor.demo.site import serving


@dataclass
class Post:
    path: str
    body: dict[str, Any]
    status: int  # what the receiver answered


@dataclass
class Webhook:
    statuses: list[int] = field(default_factory=list)  # answers to give first
    always: int = 200  # the answer once `statuses` is used up
    posts: list[Post] = field(default_factory=list)
    port: int = 0
    # Set: each answer waits for it (10 s at most), as a service that hangs; `waiting` is set
    # while a request waits.
    hold: threading.Event | None = None
    waiting: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str = "/hook") -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    def accepted(self) -> list[Post]:
        return [p for p in list(self.posts) if 200 <= p.status < 300]


@contextmanager
def webhook(hook: Webhook) -> Iterator[Webhook]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if hook.hold is not None:
                hook.waiting.set()
                hook.hold.wait(10)
            with lock:
                status = hook.statuses.pop(0) if hook.statuses else hook.always
                hook.posts.append(Post(self.path, body, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    hook.port = httpd.server_address[1]
    with serving(httpd):
        yield hook
