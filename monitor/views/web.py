"""`monitor serve`: a small read-only web UI over the database (marking reviewed is the only write).

Starlette, Jinja2 templates shared with the report and the emails, served by uvicorn. No
script at all: the inline / side-by-side toggle is CSS, so the Content-Security-Policy can
forbid every script. On an address other than loopback, every request must carry the token.
"""

from __future__ import annotations

import hmac
import ipaddress
import math
from collections.abc import AsyncIterator, Awaitable, Callable
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
from monitor.errors import ConfigError, NotFound
from monitor.store.db import Store
from monitor.views.feed import build_feed
from monitor.views.render import change_view, environment, source_summaries, stylesheet

PAGE_SIZE = 50
TOKEN_ENV = "MONITOR_WEB_TOKEN"
TOKEN_COOKIE = "monitor_token"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


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
        state["store"] = Store.open(database)
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
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(max(1, _int(q.get("page"), 1)), pages)
        rows = store().changes(
            source_id=source_id,
            kind=kind,
            reviewed=reviewed,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )

        def page_url(number: int) -> str:
            return "/?" + urlencode({**{k: v for k, v in filters.items() if v}, "page": number})

        return _page(
            "web_changes.html",
            rows=rows,
            total=total,
            page=page,
            pages=pages,
            page_url=page_url,
            filters=filters,
            sources=store().known_sources(),
        )

    def sources(request: Request) -> Response:
        return _page("web_sources.html", sources=source_summaries(store()))

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
    )


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def _not_found(message: str) -> Response:
    return HTMLResponse(
        f"<!DOCTYPE html><title>Not found</title><p>{escape(message)}</p>", status_code=404
    )


class _Guard:
    """Security headers on every response; the token when one is set; same-origin POSTs."""

    def __init__(self, token: str | None) -> None:
        self.token = token

    async def __call__(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await self._admit(request, call_next)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    async def _admit(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if self.token:
            offered = request.query_params.get("token")
            if offered is not None and hmac.compare_digest(offered, self.token):
                # Trade the token in the address for a cookie, and drop it from the address.
                target = request.url.remove_query_params("token")
                response = RedirectResponse(str(target), status_code=303)
                response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
                return response
            header = request.headers.get("authorization", "")
            given = header[7:] if header.lower().startswith("bearer ") else None
            given = given or request.cookies.get(TOKEN_COOKIE)
            if not given or not hmac.compare_digest(given, self.token):
                return Response(
                    "a valid token is required\n", status_code=401, media_type="text/plain"
                )
        if request.method == "POST":
            origin = request.headers.get("origin") or request.headers.get("referer")
            if origin and urlsplit(origin).netloc != request.headers.get("host"):
                return Response(
                    "cross-site request refused\n", status_code=403, media_type="text/plain"
                )
        return await call_next(request)
