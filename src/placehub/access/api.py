"""The access JSON API: who am I, my API tokens, organisations, and the audit trail."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from placehub.access import audit, service
from placehub.access.requests import current_principal
from placehub.access.service import Principal
from placehub.db import Database
from placehub.errors import BadRequest, Forbidden, Unauthorized

router = APIRouter(prefix="/api", tags=["Access"])


def _iso(value: Any) -> Any:
    """Datetimes as ISO 8601 text; anything else unchanged."""
    return value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value


def _time(value: str | None, name: str) -> datetime | None:
    """A query parameter as a timezone-aware time; 400 saying how to write it otherwise."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "+"))
    except ValueError:
        raise BadRequest(f"{name}={value!r}: write an ISO 8601 time, e.g. "
                         "2026-01-31T09:00:00Z") from None
    if parsed.tzinfo is None:
        raise BadRequest(f"{name}={value!r}: add a timezone, e.g. 2026-01-31T09:00:00Z")
    return parsed


@router.get("/me")
def me(request: Request, principal: Principal = Depends(current_principal)) -> JSONResponse:
    """Who the request comes from: username, roles per organisation, partner data it reads."""
    database: Database = request.app.state.database
    with database.connect() as conn:
        return JSONResponse(service.describe_principal(conn, principal))


@router.post("/tokens", status_code=201)
async def create_token(request: Request,
                       principal: Principal = Depends(current_principal)) -> JSONResponse:
    """Create an API token for the caller (signed in, or holding a token). Shown once."""
    if principal.user_id is None:
        raise Unauthorized("creating a token needs a signed-in user or an API token: send "
                           "'Authorization: Bearer <token>' or sign in first")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        # Cross-site forms cannot send JSON, so this also guards signed-in (cookie) callers.
        raise BadRequest('send a JSON body with Content-Type: application/json, e.g. '
                         '{"name": "laptop"}')
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as error:
        raise BadRequest(f"the request body is not valid JSON: {error}") from None
    if not isinstance(body, dict) or not isinstance(body.get("name", ""), str):
        raise BadRequest('the body is a JSON object with an optional "name" (text)')
    name = str(body.get("name", ""))  # its column refuses more than 200 characters
    user_id = principal.user_id
    database: Database = request.app.state.database

    def write() -> str:
        with database.begin() as conn:
            return service.create_token(conn, user_id, name, actor=principal)

    token = await run_in_threadpool(write)
    return JSONResponse(
        {"token": token, "prefix": token[:10], "name": name, "username": principal.username,
         "note": "copy the token now: it is stored only as a hash and not shown again"},
        status_code=201,
    )


@router.get("/organisations")
def organisations(request: Request,
                  principal: Principal = Depends(current_principal)) -> JSONResponse:
    """Every organisation (slug and name are public), with the caller's role in each."""
    database: Database = request.app.state.database
    with database.connect() as conn:
        rows = service.list_organisations(conn)
    value = []
    for row in rows:
        item = {"slug": row["slug"], "name": row["name"],
                "role": principal.roles.get(row["id"])}
        if principal.can_admin(row["id"]):
            # Membership and sharing are for the organisation's own admins.
            item.update(members=row["members"], partners=row["partners"],
                        created_at=_iso(row["created_at"]))
        value.append(item)
    return JSONResponse({"value": value})


@router.get("/audit")
def audit_entries(
    request: Request,
    principal: Principal = Depends(current_principal),
    entity: str | None = Query(None, description="Entity type, e.g. Thing, User, ApiToken."),
    entity_id: str | None = Query(None, description="Id of one entity."),
    actor: str | None = Query(None, description="Username that made the change."),
    action: str | None = Query(None, description="create, update, delete, link, ..."),
    since: str | None = Query(None, description="Entries at or after this time (ISO 8601)."),
    until: str | None = Query(None, description="Entries before this time (ISO 8601)."),
    organisation: str | None = Query(None, description="Slug of one organisation."),
    before: int | None = Query(None, description="Page: entries older than this entry id."),
    limit: int = Query(100, description=f"Entries per page, 1 to {audit.MAX_LIMIT}."),
) -> JSONResponse:
    """The audit trail, newest first: admins read their organisations' entries."""
    audit.require_audit_reader(principal)
    database: Database = request.app.state.database
    with database.connect() as conn:
        organisation_id = None
        if organisation:
            organisation_id = service.organisation_id(conn, organisation)
            if not principal.can_admin(organisation_id):
                raise Forbidden(f"you are not an admin of {organisation!r}")
        query = audit.AuditQuery(
            entity=entity, entity_id=entity_id, actor=actor, action=action,
            since=_time(since, "since"), until=_time(until, "until"),
            organisation_id=organisation_id, before_id=before, limit=limit,
        )
        entries = audit.list_entries(conn, query, principal)
    body: dict[str, Any] = {"value": [{k: _iso(v) for k, v in e.items()} for e in entries]}
    if len(entries) == query.limit:
        body["nextLink"] = str(request.url.include_query_params(before=entries[-1]["id"]))
    return JSONResponse(body)


def register(app: FastAPI) -> None:
    """Add the access routes to the app."""
    app.include_router(router)
