"""Who is signed in to the web UI: the session cookie's user, and the page dependencies."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from starlette.requests import Request

from placehub.access.requests import current_principal
from placehub.access.service import ANONYMOUS, Principal
from placehub.config import Settings
from placehub.errors import Unauthorized


class SignInRequired(Exception):
    """Raised by officer pages for anonymous visitors; answered with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = quote(next_path, safe="/")


def session_secret(settings: Settings) -> str:
    """The secret_key setting, or a random one per run (sessions then end on restart)."""
    return str(settings.secret_key) or secrets.token_urlsafe(32)


def viewer(request: Request) -> Principal:
    """Page dependency: whoever is asking (anonymous allowed); a stale session is dropped."""
    try:
        principal = current_principal(request)
    except Unauthorized:
        request.session.pop("session_id", None)
        request.state.principal = ANONYMOUS
        return ANONYMOUS
    request.state.principal = principal
    return principal


def officer(request: Request) -> Principal:
    """Page dependency: a signed-in user, or a redirect to the sign-in page."""
    principal = viewer(request)
    if principal.is_anonymous:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return principal


def public(request: Request) -> Principal:
    """Page dependency for public pages: they always show public data only, signed in or not."""
    viewer(request)  # for the header (sign in / sign out)
    return ANONYMOUS
