"""HTTP routes of home sensors for independent living: the carers' view of each home, and
break-glass access for council admins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel

from placehub.access.requests import current_principal
from placehub.access.service import Principal
from placehub.care import service, status
from placehub.errors import NotFound, Unauthorized
from placehub.governance import read_audit

router = APIRouter(prefix="/api/care", tags=["Home sensors"])


def now() -> datetime:
    """The clock of status and break-glass (tests pin it)."""
    return datetime.now(UTC)


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


def _signed_in(principal: Principal) -> None:
    if principal.is_anonymous:
        raise Unauthorized("sign in or send an API token to see the homes you care for")


@router.get("/residents")
def residents(request: Request, principal: Principal = Depends(current_principal)
              ) -> dict[str, Any]:
    """The residents whose care circle you belong to, with their status in one line."""
    _signed_in(principal)
    database = request.app.state.database
    with database.connect() as conn:
        found = service.residents_for(conn, principal)
        rows = [status.summary(conn, r, now()) for r in found]
        log = read_audit.ReadLog()
        for resident in found:
            part = status.read_log(conn, resident)
            log.note_things(part.thing_ids)
    read_audit.record_request_reads(database, principal, "api", read_audit.describe(
        request.method, request.url.path, request.url.query), log)
    return {"value": _json(rows)}


@router.get("/residents/{reference}")
def resident(reference: str, request: Request, events: bool = False,
             principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    """One home's status: consent, carers, learned routine, alerts, break-glass accesses;
    the last 48 hours of events with ``?events=true``."""
    _signed_in(principal)
    database = request.app.state.database
    with database.connect() as conn:
        found = service.resident_for(conn, principal, reference)
        body = status.home_status(conn, found, now(), events=events)
        log = status.read_log(conn, found)
    read_audit.record_request_reads(database, principal, "api", read_audit.describe(
        request.method, request.url.path, request.url.query), log)
    return _json(body)


class BreakGlass(BaseModel):
    """Why the resident's data must be read now (recorded and shown to the carers)."""

    reason: str


@router.post("/residents/{reference}/break-glass", status_code=201)
def break_glass(reference: str, body: BreakGlass, request: Request,
                principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    """Four hours of access to a resident's home data for an admin of their council, with a
    reason; audited and listed for the carers."""
    _signed_in(principal)
    hidden = NotFound(f"no resident {reference!r} in a council you administer")
    with request.app.state.database.begin() as conn:
        try:
            found = service.get_resident(conn, reference)
        except NotFound:
            raise hidden from None
        if not principal.can_admin(found.council_id):
            raise hidden  # the same answer: whether the reference exists is not told
        opened = service.open_break_glass(conn, found, principal.username, body.reason,
                                          at=now(), actor=principal)
    return _json(opened)


def register(app: FastAPI) -> None:
    """Add this concern's routes to the app."""
    app.include_router(router)
