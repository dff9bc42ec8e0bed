"""`monitor serve`: a small read-only web UI over the database (marking reviewed is the only write).

Starlette, Jinja2 templates shared with the report and the emails, served by uvicorn. No
script at all: the inline / side-by-side toggle is CSS, so the Content-Security-Policy can
forbid every script. On an address other than loopback, every request must carry the token.
On loopback without a token, only requests addressed to a loopback name are answered, so a
web page whose name was rebound to 127.0.0.1 cannot read or write through a visitor's browser.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from markupsafe import escape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from monitor.detect.compare import KINDS
from monitor.errors import ConfigError, NotFound, StoreError
from monitor.store import outbox
from monitor.store.db import Store
from monitor.store.discovered import discovery_runs
from monitor.views.feed import build_feed
from monitor.views.render import change_view, environment, source_summaries, stylesheet
from monitor.views.status import workers

PAGE_SIZE = 50  # rows of a page unless `?size=` asks for another number
MAX_PAGE_SIZE = 500
# Up to this many sources, the changes page offers them in a list; beyond, a text field (a
# <select> of 100,000 options would weigh megabytes on every page).
SOURCE_CHOICES = 200
TOKEN_ENV = "MONITOR_WEB_TOKEN"
SESSION_COOKIE = "monitor_session"
SESSION_MAX_AGE = 30 * 86400
# Browsers that got the token itself in a cookie from an earlier version: told to forget it.
OLD_TOKEN_COOKIE = "monitor_token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


log = logging.getLogger("monitor.web")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_binding(host: str, token: str | None) -> None:
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"--host {host}: serving beyond this machine needs a token; set {TOKEN_ENV}"
        )


def _page(template: str, **context: Any) -> HTMLResponse:
    return HTMLResponse(environment().get_template(template).render(**context))


def create_app(
    database: Path, *, token: str | None = None, report_url: str | None = None
) -> Starlette:
    state: dict[str, Store] = {}

    def store() -> Store:
        return state["store"]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # it stays open: a writer may start meanwhile (`Store.open`'s `snapshot`)
        state["store"] = Store.open(database, snapshot=False)
        try:
            yield
        finally:
            state.pop("store").close()

    def changes(request: Request) -> Response:
        q = request.query_params
        filters = {
            "source": q.get("source", ""),
            "kind": q.get("kind", ""),
            "reviewed": q.get("reviewed", ""),
        }
        source_id = filters["source"] or None
        kind = filters["kind"] if filters["kind"] in KINDS else None
        reviewed = {"yes": True, "no": False}.get(filters["reviewed"])
        total = store().count_changes(source_id=source_id, kind=kind, reviewed=reviewed)
        pager = _Pager(q, total, "/", {k: v for k, v in filters.items() if v})
        rows = store().changes(
            source_id=source_id,
            kind=kind,
            reviewed=reviewed,
            limit=pager.size,
            offset=pager.offset,
        )
        many = store().count_sources() > SOURCE_CHOICES
        return _page(
            "web_changes.html",
            rows=rows,
            total=total,
            pager=pager,
            filters=filters,
            sources=None if many else store().known_sources(),
        )

    def sources(request: Request) -> Response:
        pager = _Pager(request.query_params, store().count_sources(), "/sources", {})
        rows = store().source_rows(limit=pager.size, offset=pager.offset)
        load = workers(store(), datetime.now(UTC))  # the running service's checks in flight
        # what fails beside the sources: a feed that cannot be read, alerts given up on
        broken = [run for run in discovery_runs(store()).values() if run.last_error]
        failed, failed_at = outbox.failed_alerts(store())
        return _page(
            "web_sources.html",
            sources=rows,
            pager=pager,
            load=load,
            broken=broken,
            failed_alerts=failed,
            failed_alerts_at=failed_at,
        )

    def source(request: Request) -> Response:
        source_id = request.path_params["source_id"]
        found = source_summaries(store(), source_id)
        if not found:
            return _not_found(f"no source {source_id!r}")
        made_by = {c.to_version_id: c.id for c in reversed(store().changes(source_id=source_id))}
        return _page(
            "web_source.html",
            summary=found[0],
            versions=store().versions(source_id),
            checks=store().checks(source_id, limit=100),
            made_by=made_by,
        )

    def change(request: Request) -> Response:
        try:
            row = store().change(request.path_params["change_id"])
        except NotFound as exc:
            return _not_found(str(exc))
        return _page("web_change.html", view=change_view(store(), row, report_url))

    def review(request: Request) -> Response:
        change_id = request.path_params["change_id"]
        reviewed = request.url.path.endswith("/review")
        try:
            store().mark_reviewed(change_id, reviewed, datetime.now(UTC))
        except NotFound as exc:
            return _not_found(str(exc))
        except StoreError as exc:  # read-only here, a full disk, a lock held too long
            return HTMLResponse(
                f"<!DOCTYPE html><title>Not saved</title><p>{escape(str(exc))}</p>",
                status_code=503,
            )
        return RedirectResponse(f"/changes/{change_id}", status_code=303)

    def feed(request: Request) -> Response:
        body = build_feed(store(), now=datetime.now(UTC), report_url=report_url)
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True, "changes": store().count_changes()})

    def css(request: Request) -> Response:
        return Response(stylesheet(), media_type="text/css; charset=utf-8")

    routes = [
        Route("/", changes),
        Route("/sources", sources),
        Route("/sources/{source_id}", source),
        Route("/changes/{change_id:int}", change),
        Route("/changes/{change_id:int}/review", review, methods=["POST"]),
        Route("/changes/{change_id:int}/unreview", review, methods=["POST"]),
        Route("/feed.atom", feed),
        Route("/healthz", healthz),
        Route("/static/style.css", css),
    ]
    guard = _Guard(token)
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=guard)],
        # Only for a failure outside the guard (which answers the rest itself): Starlette's
        # own error page would go out without the security headers.
        exception_handlers={Exception: _server_error},
    )


class _Pager:
    """Which rows a page shows (`?page=`, 1 for the first, and `?size=`), and the addresses of
    the pages around it, which keep the other query parameters."""

    def __init__(
        self, query: Mapping[str, str], total: int, path: str, keep: Mapping[str, str]
    ) -> None:
        self.total = total
        self.size = min(max(1, _int(query.get("size"), PAGE_SIZE)), MAX_PAGE_SIZE)
        self.pages = max(1, math.ceil(total / self.size))
        self.page = min(max(1, _int(query.get("page"), 1)), self.pages)
        self.offset = (self.page - 1) * self.size
        self._path = path
        self._keep = dict(keep)
        if self.size != PAGE_SIZE:
            self._keep["size"] = str(self.size)

    def url(self, number: int) -> str:
        return f"{self._path}?" + urlencode({**self._keep, "page": number})

    @property
    def first_row(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last_row(self) -> int:
        return min(self.offset + self.size, self.total)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def _server_error(request: Request, exc: Exception) -> Response:
    response = Response("internal error\n", status_code=500, media_type="text/plain")
    _secure(response)
    return response


def _secure(response: Response) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"


def session_value(token: str) -> str:
    """What the session cookie holds: derived from the token, never the token itself, so the
    browser's cookie store does not hold a key to every other client, and a new token ends
    every session."""
    return hmac.new(_utf8(token), b"monitor-session", hashlib.sha256).hexdigest()


def _utf8(text: str) -> bytes:
    # compare_digest refuses str outside ASCII; every str (even one holding the surrogates of
    # undecodable bytes) has exactly one "surrogatepass" encoding, so equal bytes mean equal str.
    return text.encode("utf-8", "surrogatepass")


def _matches(offered: str | None, expected: bytes) -> bool:
    return bool(offered) and hmac.compare_digest(_utf8(offered or ""), expected)


def _arrived_on_loopback(request: Request) -> bool | None:
    """Whether the connection came in on a loopback address; None when the server gave no
    address (a test transport, a Unix socket). uvicorn gives the socket's own address."""
    server = request.scope.get("server")
    if not server or not server[0]:
        return None
    try:
        return ipaddress.ip_address(str(server[0])).is_loopback
    except ValueError:
        return None


def _loopback_hosts(request: Request) -> set[str] | None:
    """The Host values a request to this loopback server may carry; None if not on loopback."""
    server = request.scope.get("server")
    if not _arrived_on_loopback(request) or server is None:
        return None
    port = server[1]
    hosts = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    if port == 80:  # a browser leaves the default port out of Host
        hosts.update(LOOPBACK_NAMES)
    return hosts


def _netloc(url: str) -> str | None:
    try:
        return urlsplit(url).netloc.lower() or None
    except ValueError:
        return None


def _refuse(status: int, reason: str) -> Response:
    return Response(reason + "\n", status_code=status, media_type="text/plain")


def _not_found(message: str) -> Response:
    return HTMLResponse(
        f"<!DOCTYPE html><title>Not found</title><p>{escape(message)}</p>", status_code=404
    )


class _Guard:
    """Security headers on every response; the Host allow-list on loopback; the token when one
    is set; same-origin POSTs."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self.token_bytes = _utf8(token) if token else b""
        self.session = _utf8(session_value(token)) if token else b""

    async def __call__(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        try:
            response = await self._admit(request, call_next)
        except Exception:
            log.exception("error answering %s %s", request.method, request.url.path)
            response = _server_error(request, RuntimeError())
        _secure(response)
        return response

    async def _admit(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        host = request.headers.get("host", "").lower()
        if not self.token:
            # DNS rebinding: attacker.example resolved to 127.0.0.1 reaches this server with
            # the attacker's name in Host (and in Origin). Without a token, the name is all
            # there is to tell the two apart.
            allowed = _loopback_hosts(request)
            if allowed is not None and host not in allowed:
                return _refuse(403, f"unknown host {host!r}; use http://127.0.0.1 or localhost")
        if self.token:
            offered = request.query_params.get("token")
            if _matches(offered, self.token_bytes):
                # Trade the token in the address for a session cookie, and drop it from the
                # address.
                target = request.url.remove_query_params("token")
                response = RedirectResponse(str(target), status_code=303)
                response.set_cookie(
                    SESSION_COOKIE,
                    session_value(self.token),
                    max_age=SESSION_MAX_AGE,
                    path="/",
                    httponly=True,
                    samesite="strict",
                    secure=request.url.scheme == "https" or _arrived_on_loopback(request) is False,
                )
                if OLD_TOKEN_COOKIE in request.cookies:
                    response.delete_cookie(OLD_TOKEN_COOKIE)
                return response
            header = request.headers.get("authorization", "")
            bearer = header[7:] if header.lower().startswith("bearer ") else None
            if not (
                _matches(bearer, self.token_bytes)
                or _matches(request.cookies.get(SESSION_COOKIE), self.session)
            ):
                return _refuse(401, "a valid token is required")
        if request.method == "POST":
            # Referrer-Policy same-origin keeps Referer on our own forms; a POST that names
            # no origin at all cannot be told from a forged one.
            origin = request.headers.get("origin") or request.headers.get("referer")
            if not origin:
                return _refuse(403, "a POST must carry Origin or Referer")
            if _netloc(origin) != host:
                return _refuse(403, "cross-site request refused")
        return await call_next(request)
