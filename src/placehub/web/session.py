"""Who is signed in to the web UI: the session cookie's user, and the page dependencies."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import quote

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request

from placehub.access import first_run
from placehub.access.requests import current_principal
from placehub.access.service import ANONYMOUS, Principal
from placehub.config import Settings
from placehub.db import Database
from placehub.errors import Unauthorized

log = logging.getLogger(__name__)


class SignInRequired(Exception):
    """Raised by officer pages for anonymous visitors; answered with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = quote(next_path, safe="/")


def session_secret(settings: Settings, database: Database) -> str:
    """The secret_key setting if set, else the key made once and kept in the database, so
    signed-in officers stay signed in when the server restarts.

    A database that cannot be reached at start gives a key for this run only (and a warning):
    the server still starts and answers 503 until the database is back.
    """
    if settings.secret_key:
        return str(settings.secret_key)
    try:
        with database.begin() as conn:
            return first_run.session_key(conn)
    except SQLAlchemyError as error:
        log.warning("the session key could not be read from or kept in the database (%s): "
                    "sessions end when the server restarts; set PLACEHUB_SECRET_KEY to keep "
                    "them", str(error).splitlines()[0])
        return secrets.token_urlsafe(32)


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
