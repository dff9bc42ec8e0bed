"""The benchmark's pages and servers: N realistic article pages on 127.0.0.1.

Pages are served by nginx (Debian's `nginx-light`) when it is installed: it sends ETag and
Last-Modified and answers 304s, and for the rotating-chrome variant its SSI puts a new nonce,
date, view counter and related-links list in every response, with no validators. Without nginx
an asyncio server does the same (slower: it can be the bottleneck, and RESULTS.md says which
server ran). The latency variant always uses the asyncio server, waiting 100 ms before every
response.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import random
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from monitor.demo.site import Article, parse_snapshot, render

ROOT = Path(__file__).resolve().parent.parent
SEED = (ROOT / "seeds" / "000_c860228f409f0487.txt").read_text(encoding="utf-8")
WORDS = SEED.split()

# Chrome a real page carries: a large stylesheet, a menu, scripts. ~35 KB with the article.
_STYLE = (
    "<style>"
    + "".join(f".c{i}{{margin:{i % 7}px;padding:{i % 5}px}}" for i in range(500))
    + "</style>"
)
_MENU = (
    "<nav class='mega'>"
    + "".join(f"<a href='/topic/{i}'>Topic {i}</a>" for i in range(300))
    + "</nav>"
)
_SCRIPT = (
    "<script>" + "var t=[" + ",".join(str(i * 7919 % 10007) for i in range(1500)) + "];</script>"
)


def article(i: int, version: int = 0) -> Article:
    """Page i: a ~1,500-character teaser of its own, a paywall, a description."""
    rng = random.Random(i)
    start = rng.randrange(0, len(WORDS) - 260)
    words = WORDS[start : start + 240]
    teaser = f"Report {i}. " + " ".join(words)
    if version:
        teaser = teaser.replace(" the ", f" the edited{version} ", 1) + f" Update {version}."
    base = parse_snapshot(SEED, f"In Brief number {i}")
    return replace(base, teaser=teaser[:1600], description=teaser[:300], chrome=i)


def page(i: int, version: int = 0, rotating: bool = False) -> str:
    html = render(article(i, version))
    chrome = _STYLE + _MENU + _SCRIPT
    if rotating:
        chrome += (
            '<div class="ticker">Generated <!--# echo var="msec" --> nonce '
            '<!--# echo var="request_id" --> views <!--# echo var="connection_requests" --></div>'
            '<!--# if expr="$request_id = /^[0-7]/" --><ul class="rel"><li>Alpha</li><li>Beta</li>'
            '</ul><!--# else --><ul class="rel"><li>Gamma</li><li>Delta</li></ul><!--# endif -->'
        )
    return html.replace("</head>", chrome + "</head>", 1)


class Site:
    """N pages in a folder; `mutate` edits the teaser of a fraction of them."""

    def __init__(self, n: int, folder: Path) -> None:
        self.n = n
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.versions = [0] * n
        for sub in ("static", "rotating"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            self._write(i)

    def _write(self, i: int) -> None:
        for sub, rotating in (("static", False), ("rotating", True)):
            target = self.folder / sub / f"p{i}.html"
            temporary = target.with_suffix(".tmp")
            temporary.write_text(page(i, self.versions[i], rotating), encoding="utf-8")
            temporary.replace(target)

    def mutate(self, fraction: float, seed: int) -> set[int]:
        chosen = set(random.Random(seed).sample(range(self.n), int(self.n * fraction)))
        for i in chosen:
            self.versions[i] += 1
            self._write(i)
        return chosen

    def size(self) -> int:
        return sum(p.stat().st_size for p in (self.folder / "static").glob("*.html")) // self.n


class Nginx:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
        conf = self.dir / "nginx.conf"
        conf.write_text(f"""
worker_processes 1;
user root;  # the pages live in a private temporary folder
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  default_type text/html;
  types {{ text/html html; }}
  client_body_temp_path {self.dir}; proxy_temp_path {self.dir};
  fastcgi_temp_path {self.dir}; uwsgi_temp_path {self.dir}; scgi_temp_path {self.dir};
  keepalive_requests 100000;
  server {{
    listen 127.0.0.1:{self.port};
    root {root};
    charset utf-8;
    location ~ /rotating/ {{ ssi on; }}
  }}
}}
""")
        self.proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(self.dir)])
        _wait_port(self.port)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class PythonServer:
    """The pages served by asyncio in a thread: the fallback where nginx is not installed, and
    the latency variant's server (a fixed delay before every response costs no CPU).

    Static pages carry an ETag and Last-Modified and get a 304 when either matches; rotating
    pages have their SSI directives filled in as nginx would, and carry no validators.
    """

    def __init__(self, root: Path, delay: float = 0.0) -> None:
        self.root, self.delay = root, delay
        self.port = _free_port()
        self.served = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        _wait_port(self.port)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", self.port, backlog=1024)
        )
        self.loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(self._answer(head))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _answer(self, head: bytes) -> bytes:
        self.served += 1
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1]
        asked = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        file = self.root / path.lstrip("/")
        if ".." in path or not file.is_file():
            return _response(b"404 Not Found", b"not found", {})
        body = file.read_bytes()
        if "/rotating/" in path:
            return _response(b"200 OK", _ssi(body, self.served), {})
        etag = '"' + hashlib.md5(body).hexdigest() + '"'
        modified = email.utils.formatdate(file.stat().st_mtime, usegmt=True)
        headers = {"ETag": etag, "Last-Modified": modified}
        if asked.get("if-none-match") == etag or asked.get("if-modified-since") == modified:
            return _response(b"304 Not Modified", b"", headers)
        return _response(b"200 OK", body, headers)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def _response(status: bytes, body: bytes, headers: dict[str, str]) -> bytes:
    length = 0 if status.startswith(b"304") else len(body)
    lines = [f"Content-Type: text/html; charset=utf-8\r\nContent-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return b"HTTP/1.1 " + status + ("\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode() + body


_SSI_IF = re.compile(
    rb'<!--# if expr="\$request_id = /\^\[0-7\]/" -->(.*?)<!--# else -->(.*?)<!--# endif -->', re.S
)


def _ssi(body: bytes, served: int) -> bytes:
    """The rotating page's nginx SSI, done the same way: a time, a nonce, a counter, and one of
    two related-links lists chosen by the nonce."""
    nonce = secrets.token_hex(16).encode()
    body = body.replace(b'<!--# echo var="msec" -->', f"{time.time():.3f}".encode())
    body = body.replace(b'<!--# echo var="request_id" -->', nonce)
    body = body.replace(b'<!--# echo var="connection_requests" -->', str(served).encode())
    return _SSI_IF.sub(lambda m: m.group(1) if nonce[:1] in b"01234567" else m.group(2), body)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")
