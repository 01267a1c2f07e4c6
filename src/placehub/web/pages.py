"""The web UI: middleware (session, CSRF, CSP), static files and the page routes of every view."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware

from placehub.access.signin import SignInThrottle
from placehub.errors import PlacehubError
from placehub.web import asset_snapshot, branding
from placehub.web.jobs import JobRunner
from placehub.web.security import SecurityHeadersMiddleware, TransportSecurityMiddleware
from placehub.web.session import SignInRequired, session_secret
from placehub.web.templating import render
from placehub.web.views import ROUTERS

STATIC = Path(__file__).parent / "static"
# Paths answered with JSON errors (APIs); everything else is a page and gets an HTML error page.
API_PREFIXES = ("/api/", "/sta/", "/ingest/", "/geo/", "/open311/", "/healthz", "/metrics")


log = logging.getLogger(__name__)


def is_page_request(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(API_PREFIXES) and not path.endswith((".json", ".geojson", ".csv",
                                                                    ".pbf"))


def _quality(accept: str, wanted: tuple[str, ...]) -> float:
    """The highest q the Accept header gives any of the ``wanted`` media ranges (0 if none)."""
    best = 0.0
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        if media.lower() not in wanted:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        best = max(best, q)
    return best


def prefers_html(request: Request) -> bool:
    """Whether the Accept header ranks HTML above JSON (a browser opening an API address)."""
    accept = request.headers.get("accept", "")
    return (_quality(accept, ("text/html", "application/xhtml+xml"))
            > _quality(accept, ("application/json", "application/geo+json")))


def wants_html(request: Request) -> bool:
    """Whether an error is answered with an HTML page (browsers) or JSON (API clients).

    The Accept header decides when it prefers one (a browser asks for text/html first; an API
    client for application/json); when it does not (``*/*``, or none), the path does: pages get
    HTML, API paths JSON.
    """
    accept = request.headers.get("accept", "")
    html = _quality(accept, ("text/html", "application/xhtml+xml"))
    json = _quality(accept, ("application/json", "application/geo+json"))
    if html != json:
        return html > json
    return is_page_request(request)


def register(app: FastAPI) -> None:
    """Add the page routes, static files and the web middleware to the app."""
    settings = app.state.settings
    app.state.jobs = JobRunner()
    asset_snapshot.install(app)
    # Level 6, not Starlette's 9: a 1.6 MB JSON page compresses 7x faster and 3% larger.
    app.add_middleware(GZipMiddleware, minimum_size=2000, compresslevel=6)
    app.add_middleware(
        SessionMiddleware, secret_key=session_secret(settings, app.state.database),
        session_cookie="placehub_session", same_site="lax", https_only=False, max_age=12 * 3600,
    )
    app.add_middleware(TransportSecurityMiddleware, cookie_secure=settings.cookie_secure,
                       hsts_seconds=int(settings.hsts_seconds))
    app.add_middleware(SecurityHeadersMiddleware)
    app.state.signin_throttle = SignInThrottle(
        account_free=int(settings.signin_account_attempts),
        address_free=int(settings.signin_address_attempts))
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")

    json_handler = app.exception_handlers.get(PlacehubError)

    @app.exception_handler(PlacehubError)
    async def placehub_error(request: Request, error: PlacehubError) -> Response:
        if not wants_html(request):
            if json_handler is not None:
                return await json_handler(request, error)  # type: ignore[misc]
            return JSONResponse({"error": {"code": error.status_code, "message": error.message}},
                                status_code=error.status_code)
        return render(request, "error.html", status_code=error.status_code,
                      title=_error_title(error.status_code), message=error.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        # Unknown addresses and wrong methods: a GOV.UK page for browsers, JSON for the rest.
        if not wants_html(request):
            return await http_exception_handler(request, error)
        page = _http_error_page(error.status_code)
        return render(request, "error.html", status_code=error.status_code,
                      headers=getattr(error, "headers", None), **page)

    @app.exception_handler(Exception)
    async def server_error(request: Request, error: Exception) -> Response:
        # Starlette logs the exception itself after this answer is sent.
        if not wants_html(request):
            return JSONResponse({"error": {"code": 500, "message": "placehub failed to answer "
                                           "this request; the error is logged: try again later"}},
                                status_code=500)
        try:
            return render(request, "error.html", status_code=500, **_http_error_page(500))
        except Exception:  # the page itself failed: still answer in plain words
            log.exception("the error page could not be rendered")
            return PlainTextResponse("Sorry, there is a problem with the service. Try again "
                                     "later.", status_code=500)

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, error: SignInRequired) -> Response:
        return RedirectResponse(f"/login?next={error.next_path}", status_code=303)

    @app.get("/brand.css", include_in_schema=False)
    def brand_css() -> PlainTextResponse:
        return PlainTextResponse(branding.brand_css(settings.brand_colour), media_type="text/css",
                                 headers={"Cache-Control": "no-cache"})

    for router in ROUTERS:
        app.include_router(router)


def _http_error_page(status: int) -> dict[str, Any]:
    """Title and advice of the GOV.UK error page for an HTTP status."""
    if status == 404:
        return {"title": "Page not found", "paragraphs": [
            "If you typed the web address, check it is correct.",
            "If you pasted the web address, check you copied the entire address."]}
    if status == 405:
        return {"title": "Page not found", "paragraphs": [
            "This address cannot be used that way. Go back and try again from the page you "
            "were on."]}
    if status >= 500:
        return {"title": "Sorry, there is a problem with the service", "paragraphs": [
            "Try again later.",
            "Anything you sent on the page before this one may not have been saved."]}
    return {"title": _error_title(status), "paragraphs": []}


def _error_title(status: int) -> str:
    return {400: "There is a problem", 401: "Sign in to continue", 403: "You cannot do that",
            404: "Page not found", 409: "That clashes with existing data",
            429: "Too many attempts"}.get(
        status, "There is a problem")
