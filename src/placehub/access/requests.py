"""Who a web request comes from: a bearer token, a signed-in session, or nobody."""

from __future__ import annotations

from fastapi import Request

from placehub.access.service import (
    ANONYMOUS,
    Principal,
    principal_for_token,
    principal_for_user,
)
from placehub.config import is_loopback
from placehub.db import Database

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
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        with database.connect() as conn:
            principal = principal_for_token(conn, header[7:].strip())
    elif "session" in request.scope and request.session.get("user_id"):
        with database.connect() as conn:
            principal = principal_for_user(conn, int(request.session["user_id"]))
    elif settings.anonymous_write and is_loopback(settings.host):
        principal = ANONYMOUS_WRITER
    request.state.principal = principal
    return principal
