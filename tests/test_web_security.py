"""The web UI as an attacker meets it (issue 14, points 15-17): real HTTP to uvicorn on 127.0.0.1,
and the ASGI test client where an address other than loopback has to be played."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.testclient import TestClient

from monitor.demo.site import Article, PageServer
from monitor.views.web import CSP, SESSION_COOKIE, create_app, session_value

from .reports_helpers import fill
from .smtp_helpers import free_port

TOKEN = "t0k3n-Secret"


@pytest.fixture
def database(tmp_path: Path, pages: PageServer, seed_articles: list[Article]) -> Path:
    return fill(tmp_path, pages, seed_articles).parent / "monitor.db"


@contextmanager
def serving(app: Starlette) -> Iterator[tuple[str, int]]:
    """`app` served by a real uvicorn on 127.0.0.1, as `monitor serve` does."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}", port
    finally:
        server.should_exit = True
        thread.join(10)


def reviewed_flag(database: Path, change_id: int) -> int:
    with sqlite3.connect(database) as conn:
        row = conn.execute("select reviewed from changes where id = ?", [change_id]).fetchone()
    return int(row[0])


# -- 16: DNS rebinding and POSTs without an origin ---------------------------------------------


def test_a_rebound_name_is_refused_on_loopback(database: Path) -> None:
    with serving(create_app(database)) as (base, port), httpx.Client(base_url=base) as http:
        evil = f"attacker.example:{port}"
        read = http.get("/changes/1", headers={"Host": evil})
        assert read.status_code == 403
        assert read.headers["content-security-policy"] == CSP
        assert "journey" not in read.text
        write = http.post("/changes/1/review", headers={"Host": evil, "Origin": f"http://{evil}"})
        assert write.status_code == 403
        assert reviewed_flag(database, 1) == 0
        # the same port under another name, and a loopback name with another port
        assert http.get("/", headers={"Host": "127.0.0.1.nip.io:" + str(port)}).status_code == 403
        assert http.get("/", headers={"Host": "127.0.0.1:1"}).status_code == 403
        for name in ("127.0.0.1", "localhost", "LOCALHOST", "[::1]"):
            assert http.get("/", headers={"Host": f"{name}:{port}"}).status_code == 200, name


def test_a_post_without_origin_or_referer_is_refused(database: Path) -> None:
    with serving(create_app(database)) as (base, _), httpx.Client(base_url=base) as http:
        bare = http.post("/changes/1/review")
        assert bare.status_code == 403 and "Origin or Referer" in bare.text
        assert reviewed_flag(database, 1) == 0
        by_referer = http.post("/changes/1/review", headers={"Referer": f"{base}/changes/1"})
        assert by_referer.status_code == 303
        assert reviewed_flag(database, 1) == 1
        by_origin = http.post("/changes/1/unreview", headers={"Origin": base})
        assert by_origin.status_code == 303
        assert reviewed_flag(database, 1) == 0
        null_origin = http.post("/changes/1/review", headers={"Origin": "null"})
        assert null_origin.status_code == 403
        assert reviewed_flag(database, 1) == 0


# -- 15: hostile input never turns into a 500, and a 500 still has the policy -------------------


def test_a_token_outside_ascii_is_refused_not_a_crash(database: Path) -> None:
    with serving(create_app(database, token=TOKEN)) as (base, _), httpx.Client(base_url=base) as h:
        assert h.get("/?token=%C3%A9").status_code == 401
        assert h.get("/?token=%FF%FE").status_code == 401
        header = h.get("/", headers={"Authorization": b"Bearer \xc3\xa9"})
        assert header.status_code == 401
        cookie = h.get("/", headers={"Cookie": f"{SESSION_COOKIE}=".encode() + b"\xc3\xa9"})
        assert cookie.status_code == 401
        assert cookie.headers["content-security-policy"] == CSP
        assert h.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_an_id_beyond_sqlite_integers_is_not_found(database: Path) -> None:
    huge = "99999999999999999999"
    with serving(create_app(database)) as (base, _), httpx.Client(base_url=base) as http:
        page = http.get(f"/changes/{huge}")
        assert page.status_code == 404 and page.headers["content-security-policy"] == CSP
        post = http.post(f"/changes/{huge}/review", headers={"Origin": base})
        assert post.status_code == 404


def test_a_server_error_still_carries_the_security_headers(database: Path) -> None:
    with serving(create_app(database)) as (base, _), httpx.Client(base_url=base) as http:
        assert http.get("/sources/threat").status_code == 200
        with sqlite3.connect(database) as conn:  # the database is damaged under the server
            conn.execute("drop table checks")
        broken = http.get("/sources/threat")
    assert broken.status_code == 500
    assert broken.headers["content-security-policy"] == CSP
    assert broken.headers["x-content-type-options"] == "nosniff"
    assert "Traceback" not in broken.text and "checks" not in broken.text


# -- 17: the session cookie ----------------------------------------------------------------------


def test_the_cookie_holds_a_derived_session_not_the_token(database: Path) -> None:
    with serving(create_app(database, token=TOKEN)) as (base, _), httpx.Client(base_url=base) as h:
        traded = h.get("/changes/1?token=" + TOKEN, follow_redirects=False)
        assert traded.status_code == 303
        set_cookie = traded.headers["set-cookie"]
        assert TOKEN not in set_cookie
        assert set_cookie.startswith(f"{SESSION_COOKIE}={session_value(TOKEN)};")
        attributes = {a.strip().split("=")[0].lower() for a in set_cookie.split(";")[1:]}
        assert {"httponly", "max-age", "path", "samesite"} <= attributes
        assert "samesite=strict" in set_cookie.lower()
        assert "max-age=2592000" in set_cookie.lower()  # 30 days
        assert "secure" not in attributes  # plain http on loopback: a Secure cookie is dropped
        h.cookies.clear()
        with_session = h.get(
            "/changes/1", headers={"Cookie": f"{SESSION_COOKIE}={session_value(TOKEN)}"}
        )
        assert with_session.status_code == 200
        # the token itself in the cookie (what the old version stored) is not a session
        h.cookies.clear()
        raw = h.get("/changes/1", headers={"Cookie": f"{SESSION_COOKIE}={TOKEN}"})
        assert raw.status_code == 401
    assert session_value("another-token") != session_value(TOKEN)


@pytest.mark.parametrize("base_url", ["https://monitor.example.org", "http://192.0.2.10:8750"])
def test_the_cookie_is_secure_over_https_or_off_loopback(database: Path, base_url: str) -> None:
    with TestClient(create_app(database, token=TOKEN), base_url=base_url) as client:
        traded = client.get("/?token=" + TOKEN, follow_redirects=False)
    assert traded.status_code == 303
    attributes = [a.strip().lower() for a in traded.headers["set-cookie"].split(";")]
    assert "secure" in attributes
