"""HTTP routes of placehub.rounds: plan rounds, read them, round sheets, mark stops."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection, select

from placehub.access.requests import current_principal
from placehub.access.service import Principal
from placehub.access.tables import organisations
from placehub.assets.forecasting import default_forecaster
from placehub.assets.history import read_assets
from placehub.errors import BadRequest, Forbidden, NotFound, Unauthorized
from placehub.rounds import service as rounds
from placehub.rounds import sheets

router = APIRouter(prefix="/api/rounds", tags=["rounds"])


class PlanBody(BaseModel):
    """Ask for a plan: a service on a day; inputs as of ``at`` (default: now)."""

    service: Literal["waste", "watering"]
    date: date
    organisation_id: int | None = None
    at: datetime | None = None
    seed: int | None = Field(default=None, ge=0)
    runtime_seconds: float | None = Field(default=None, gt=0, le=600)


class StopBody(BaseModel):
    """A crew's report on a stop: done, or skipped with a reason (e.g. blocked access)."""

    status: Literal["done", "skipped"]
    reason: str = ""
    at: datetime | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return _now()
    if value.tzinfo is None:
        raise BadRequest(f"time {value.isoformat()} has no timezone: add Z or +00:00")
    return value.astimezone(UTC)


def _writable_organisation(conn: Connection, principal: Principal, requested: int | None) -> int:
    """The organisation a new plan belongs to, checked against what the principal may change."""
    if principal.is_anonymous and not principal.write_anywhere:
        raise Unauthorized("planning rounds needs a sign-in or an API token")
    if requested is not None:
        exists = conn.execute(select(organisations.c.id)
                              .where(organisations.c.id == requested)).first()
        if exists is None:
            raise NotFound(f"no organisation {requested}")
        if not principal.can_write(requested):
            raise Forbidden(f"you cannot plan rounds for organisation {requested}: an editor "
                            "or admin role there is needed")
        return requested
    writable = sorted(o for o, r in principal.roles.items() if r in {"admin", "editor"})
    if principal.write_anywhere:
        writable = [row.id for row in conn.execute(select(organisations.c.id))]
    if len(writable) != 1:
        raise BadRequest("say which organisation the plan is for: organisation_id")
    return writable[0]


def _readable_plan(conn: Connection, principal: Principal, plan_id: int) -> dict[str, Any]:
    detail = rounds.plan_detail(conn, plan_id)
    if not (principal.write_anywhere or detail["organisation_id"] in principal.member_of):
        raise NotFound(f"no round plan {plan_id}: list plans with GET /api/rounds/plans")
    return detail


@router.post("/plans", status_code=201)
def create_plan(body: PlanBody, request: Request,
                principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    """Forecast need, choose assets and route the fleet for a day; store and return the plan."""
    database = request.app.state.database
    at = _aware(body.at)
    with database.begin() as conn:
        organisation_id = _writable_organisation(conn, principal, body.organisation_id)
        plan = rounds.make_plan(conn, request.app.state.settings, rounds.PlanRequest(
            body.service, body.date, at, organisation_id, body.seed, body.runtime_seconds))
        plan_id = rounds.save_plan(conn, plan, organisation_id, principal.username, _now())
        return rounds.plan_detail(conn, plan_id)


@router.get("/plans")
def list_plans(request: Request, service: str | None = None, date: str | None = None,
               principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    """Stored plans the principal may read, newest first (filter by service and date)."""
    organisation_ids = None if principal.write_anywhere else set(principal.member_of)
    with request.app.state.database.connect() as conn:
        return {"plans": rounds.list_plans(conn, organisation_ids, service, date)}


@router.get("/plans/{plan_id}")
def get_plan(plan_id: int, request: Request,
             principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    """One plan: vehicles, stops with status, geometry, left-out assets and how it was made."""
    with request.app.state.database.connect() as conn:
        return _readable_plan(conn, principal, plan_id)


@router.get("/plans/{plan_id}/vehicles/{number}/sheet.html", response_class=HTMLResponse)
def sheet_html(plan_id: int, number: int, request: Request,
               principal: Principal = Depends(current_principal)) -> HTMLResponse:
    """The printable round sheet of vehicle ``number`` (1-based)."""
    with request.app.state.database.connect() as conn:
        detail = _readable_plan(conn, principal, plan_id)
    council = request.app.state.settings.council_name
    # A standalone print view: its own inline stylesheet, and no scripts at all.
    return HTMLResponse(sheets.sheet_html(detail, number, council), headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                   "img-src 'self' data:; frame-ancestors 'none'"})


@router.get("/plans/{plan_id}/vehicles/{number}/sheet.csv")
def sheet_csv(plan_id: int, number: int, request: Request,
              principal: Principal = Depends(current_principal)) -> Response:
    """The round sheet as CSV."""
    with request.app.state.database.connect() as conn:
        detail = _readable_plan(conn, principal, plan_id)
    return Response(sheets.sheet_csv(detail, number), media_type="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="plan-{plan_id}-vehicle-{number}.csv"'})


@router.get("/plans/{plan_id}/vehicles/{number}/sheet.gpx")
def sheet_gpx(plan_id: int, number: int, request: Request,
              principal: Principal = Depends(current_principal)) -> Response:
    """The round as GPX (route of stops, track along roads) for navigation devices."""
    with request.app.state.database.connect() as conn:
        detail = _readable_plan(conn, principal, plan_id)
    return Response(sheets.sheet_gpx(detail, number), media_type="application/gpx+xml",
                    headers={"Content-Disposition":
                             f'attachment; filename="plan-{plan_id}-vehicle-{number}.gpx"'})


@router.post("/plans/{plan_id}/stops/{stop_id}")
def mark_stop(plan_id: int, stop_id: int, body: StopBody, request: Request,
              principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    """Mark a stop done (records a service event, resetting the forecast) or skipped."""
    with request.app.state.database.begin() as conn:
        detail = _readable_plan(conn, principal, plan_id)
        if not principal.can_write(detail["organisation_id"]):
            raise Forbidden("marking stops needs an editor or admin role in the plan's "
                            "organisation")
        marked = rounds.mark_stop(conn, plan_id, stop_id, body.status, body.reason,
                                  _aware(body.at), principal.username)
    # A service changes the asset's status (an emptied bin is no longer full).
    request.app.state.database.events.publish("things.changed", [marked["thing_id"]])
    return marked


@router.get("/needs")
def needs(request: Request, service: Literal["waste", "watering"] = "waste",
          principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    """Every asset's forecast need now: level, rate, overflow (or drying) risk by tomorrow."""
    if principal.is_anonymous and not principal.write_anywhere:
        raise Unauthorized("forecasts need a sign-in or an API token")
    at = _now()
    forecaster = default_forecaster()
    with request.app.state.database.connect() as conn:
        found = read_assets(conn, rounds.ASSET_TYPE_OF_SERVICE[service], at)
    items = []
    for asset in found.assets:
        if not (principal.write_anywhere or asset.organisation_id in principal.member_of):
            continue
        need = forecaster.forecast(asset.history, at, at + timedelta(days=1))
        items.append({"thing_id": asset.thing_id, "name": asset.name,
                      "lon": asset.lon, "lat": asset.lat, "level": round(need.level, 3),
                      "rate_per_day": round(need.rate_per_day, 4),
                      "probability_by_tomorrow": round(need.probability, 4),
                      "due": need.due.isoformat() if need.due else None,
                      "last_service": need.last_service.isoformat() if need.last_service
                      else None, "method": need.method})
    return {"at": at.isoformat(), "forecaster": forecaster.name, "needs": items}


def register(app: FastAPI) -> None:
    """Add this concern's routes to the app."""
    app.include_router(router)
