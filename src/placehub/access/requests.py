"""Who a web request comes from: an API token (Bearer, or HTTP Basic with the token as the
password), a signed-in session, or nobody."""

from __future__ import annotations

import base64
import binascii

from fastapi import Request

from placehub.access.service import (
    ANONYMOUS,
    Principal,
    principal_for_token,
)
from placehub.access.signin import principal_for_session
from placehub.config import is_loopback
from placehub.db import Database
from placehub.errors import Unauthorized, UnsupportedMediaType
from placehub.json_input import is_json_content

# Local testing only (refused off loopback by `serve`): anonymous requests may write anywhere.
ANONYMOUS_WRITER = Principal(username="anonymous-writer", write_anywhere=True)


def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the principal making this request."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return,unused-ignore]
    database: Database = request.app.state.database
    settings = request.app.state.settings
    principal = ANONYMOUS
    scheme, _, credentials = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() in {"bearer", "basic"}:
        token = credentials.strip() if scheme.lower() == "bearer" else basic_token(credentials)
        with database.connect() as conn:
            principal = principal_for_token(conn, token)
    elif "session" in request.scope and request.session.get("session_id"):
        with database.connect() as conn:
            principal = principal_for_session(conn, str(request.session["session_id"]))
        refuse_form_shaped_write(request)
    elif settings.anonymous_write and is_loopback(settings.host):
        principal = ANONYMOUS_WRITER
    request.state.principal = principal
    return principal


def basic_token(credentials: str) -> str:
    """The API token sent as the password of HTTP Basic credentials (RFC 7617).

    Clients that only speak Basic (frost-sta-client's ``AuthHandler(username, password)``,
    QGIS, curl ``-u``) send a token this way; the user name is not checked, as the token alone
    names its user.
    """
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("the Basic credentials are not base64 of 'user:password'; send an "
                           "API token as the password (create one with 'placehub tokens "
                           "create')") from None
    _user, colon, password = decoded.partition(":")
    if not colon or not password:
        raise Unauthorized("HTTP Basic needs an API token as the password (any user name); "
                           "create one with 'placehub tokens create'")
    return password


# Where a signed-in browser may only write JSON. A cross-site form can send text/plain or a
# form encoding without a preflight, never application/json: refusing the others stops it.
# DELETE carries no body (and no form can send it cross-site), so the access rule alone answers.
JSON_ONLY_PREFIXES = ("/api/", "/sta/")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})


def refuse_form_shaped_write(request: Request) -> None:
    """415 for a cookie-authenticated write to the APIs whose body is not declared JSON."""
    if request.method not in WRITE_METHODS or not request.url.path.startswith(JSON_ONLY_PREFIXES):
        return
    if not is_json_content(request.headers.get("content-type", "")):
        raise UnsupportedMediaType(
            "a signed-in browser may only send JSON here: send the body with "
            "'Content-Type: application/json' (API clients: use an API token)")
