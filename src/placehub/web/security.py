"""Security headers for every response (a Content-Security-Policy with a per-request nonce) and
CSRF tokens for every POST form (a token kept in the signed session, compared in constant time).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from placehub.errors import Forbidden

CSRF_FIELD = "csrf_token"

# Sent with every response; pages add the CSP with their nonce.
COMMON_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
# For responses that are never rendered as a page (webhook acknowledgements).
API_SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    *COMMON_SECURITY_HEADERS,
]


def content_security_policy(nonce: str) -> str:
    """The policy: only placehub's own files, plus the data and blob images MapLibre draws with.

    Styles: no inline style attributes; a chart's generated <style> element gets the nonce.
    """
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src 'self' 'nonce-{nonce}'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        # The maps use MapLibre's CSP build, whose worker is one of placehub's own files.
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


class SecurityHeadersMiddleware:
    """Adds the CSP (with a fresh nonce in ``request.state.csp_nonce``) and related headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        policy = content_security_policy(nonce).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = [(b"content-security-policy", policy), *COMMON_SECURITY_HEADERS]
                headers.extend(item for item in extra if item[0] not in names)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return str(token)


async def checked_form(request: Request) -> FormData:
    """The POSTed form, after checking its CSRF token against the session's."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get(CSRF_FIELD)
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise Forbidden(
            "this form has expired or did not come from placehub: go back, reload the page "
            "and submit it again"
        )
    return form


class TransportSecurityMiddleware:
    """Marks cookies ``Secure`` and sends HSTS when the request came over HTTPS.

    Whether it did is the ASGI scheme, which the server sets from ``X-Forwarded-Proto`` only
    for proxies it trusts (the forwarded_allow_ips setting).
    """

    def __init__(self, app: ASGIApp, cookie_secure: str = "auto", hsts_seconds: int = 0) -> None:
        if cookie_secure not in {"auto", "always", "never"}:
            raise ValueError(f"cookie_secure {cookie_secure!r}: use auto, always or never")
        self.app = app
        self.cookie_secure = cookie_secure
        self.hsts = f"max-age={hsts_seconds}".encode() if hsts_seconds > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        secure = self.cookie_secure == "always" or (self.cookie_secure == "auto" and https)

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start" and (secure or https):
                headers: list[Any] = []
                for name, value in message.get("headers", []):
                    if (secure and name.lower() == b"set-cookie"
                            and b"; secure" not in value.lower()):
                        value = value + b"; secure"
                    headers.append((name, value))
                if https and self.hsts is not None:
                    headers.append((b"strict-transport-security", self.hsts))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_secured)
