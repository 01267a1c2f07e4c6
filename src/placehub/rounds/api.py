"""HTTP routes of placehub.rounds: plan rounds, read them, round sheets, mark stops."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from placehub.access.requests import current_principal
from placehub.access.service import Principal
from placehub.access.visibility import readable_things
from placehub.assets.forecasting import default_forecaster
from placehub.assets.history import read_assets
from placehub.errors import BadRequest, Unauthorized
from placehub.rounds import access, sheets
from placehub.rounds import service as rounds

router = APIRouter(prefix="/api/rounds", tags=["rounds"])


class PlanBody(BaseModel):
    """Ask for a plan: a service on a day; inputs as of ``at`` (default: now)."""

    service: Literal["waste", "watering"]
    date: date
    organisation_id: int | None = None
    at: datetime | None = None
    seed: int | None = Field(default=None, ge=0)
    # At most the rounds_max_runtime_seconds setting (checked when planning).
    runtime_seconds: float | None = Field(default=None, gt=0)


class StopBody(BaseModel):
    """A crew's report on a stop: done, or skipped with a reason (e.g. blocked access)."""

    status: Literal["done", "skipped"]
    reason: str = ""
    at: datetime | None = None


def _now() -> datetime:
    return rounds.now()


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return _now()
    if value.tzinfo is None:
        raise BadRequest(f"time {value.isoformat()} has no timezone: add Z or +00:00")
    return value.astimezone(UTC)


class ReplanBody(BaseModel):
    """Re-plan a plan's remaining stops from ``at`` (default: now)."""

    at: datetime | None = None


@router.post("/plans", status_code=201)
def create_plan(body: PlanBody, request: Request,
                principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    """Forecast need, choose assets and route the fleet for a day; store and return the plan."""
    database, settings = request.app.state.database, request.app.state.settings
    at = _aware(body.at)
    # Read, solve, then write: the solve (seconds to a minute) holds no transaction, so
    # webhooks and other writers are never kept waiting for SQLite's write lock.
    with database.connect() as conn:
        organisation_id = access.planning_organisation(conn, principal, body.organisation_id,
                                                          body.service)
        inputs = rounds.prepare_plan(conn, settings, rounds.PlanRequest(
            body.service, body.date, at, organisation_id, body.seed, body.runtime_seconds))
    plan = rounds.solve_plan(inputs, settings)
    with database.begin() as conn:
        plan_id = rounds.save_plan(conn, plan, organisation_id, principal.username, _now())
        return rounds.plan_detail(conn, plan_id)


@router.post("/plans/{plan_id}/replan", status_code=201)
def replan(plan_id: int, body: ReplanBody, request: Request,
           principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    """Re-plan the stops not yet done from where each vehicle is; the old plan's remaining
    stops are marked as moved to the new plan."""
    database, settings = request.app.state.database, request.app.state.settings
    at = _aware(body.at)
    with database.connect() as conn:
        detail = access.writable_plan(conn, principal, plan_id, "re-planning")
        inputs = rounds.prepare_replan(conn, settings, plan_id, at)
    plan = rounds.solve_plan(inputs, settings)
    with database.begin() as conn:
        new_id = rounds.save_plan(conn, plan, detail["organisation_id"], principal.username,
                                  _now())
        rounds.close_replanned(conn, plan_id, new_id, at, principal.username)
        return rounds.plan_detail(conn, new_id)


@router.get("/plans")
def list_plans(request: Request, service: str | None = None, date: str | None = None,
               principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    """Stored plans the principal may read, newest first (filter by service and date)."""
    with request.app.state.database.connect() as conn:
        return {"plans": access.readable_plans(conn, principal, service, date)}


@router.get("/plans/{plan_id}")
def get_plan(plan_id: int, request: Request,
             principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    """One plan: vehicles, stops with status, geometry, left-out assets and how it was made."""
    with request.app.state.database.connect() as conn:
        return access.readable_plan(conn, principal, plan_id)


@router.get("/plans/{plan_id}/vehicles/{number}/sheet.html", response_class=HTMLResponse)
def sheet_html(plan_id: int, number: int, request: Request,
               principal: Principal = Depends(current_principal)) -> HTMLResponse:
    """The printable round sheet of vehicle ``number`` (1-based)."""
    with request.app.state.database.connect() as conn:
        detail = access.readable_plan(conn, principal, plan_id)
    settings = request.app.state.settings
    # A standalone print view: its own inline stylesheet, and no scripts at all.
    return HTMLResponse(sheets.sheet_html(detail, number, settings.council_name,
                                          str(settings.rounds_timezone)), headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                   "img-src 'self' data:; frame-ancestors 'none'"})


@router.get("/plans/{plan_id}/sheets.html", response_class=HTMLResponse)
def sheets_html(plan_id: int, request: Request,
                principal: Principal = Depends(current_principal)) -> HTMLResponse:
    """Every used vehicle's round sheet in one print (a page per vehicle)."""
    with request.app.state.database.connect() as conn:
        detail = access.readable_plan(conn, principal, plan_id)
    settings = request.app.state.settings
    return HTMLResponse(sheets.sheets_html(detail, settings.council_name,
                                           str(settings.rounds_timezone)), headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                   "img-src 'self' data:; frame-ancestors 'none'"})


@router.get("/plans/{plan_id}/vehicles/{number}/sheet.csv")
def sheet_csv(plan_id: int, number: int, request: Request,
              principal: Principal = Depends(current_principal)) -> Response:
    """The round sheet as CSV."""
    with request.app.state.database.connect() as conn:
        detail = access.readable_plan(conn, principal, plan_id)
    zone = str(request.app.state.settings.rounds_timezone)
    return Response(sheets.sheet_csv(detail, number, zone), media_type="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="plan-{plan_id}-vehicle-{number}.csv"'})


@router.get("/plans/{plan_id}/vehicles/{number}/sheet.gpx")
def sheet_gpx(plan_id: int, number: int, request: Request,
              principal: Principal = Depends(current_principal)) -> Response:
    """The round as GPX (route of stops, track along roads) for navigation devices."""
    with request.app.state.database.connect() as conn:
        detail = access.readable_plan(conn, principal, plan_id)
    return Response(sheets.sheet_gpx(detail, number), media_type="application/gpx+xml",
                    headers={"Content-Disposition":
                             f'attachment; filename="plan-{plan_id}-vehicle-{number}.gpx"'})


@router.post("/plans/{plan_id}/stops/{stop_id}")
def mark_stop(plan_id: int, stop_id: int, body: StopBody, request: Request,
              principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    """Mark a stop done (records a service event, resetting the forecast) or skipped."""
    with request.app.state.database.begin() as conn:
        access.writable_plan(conn, principal, plan_id, "marking stops")
        marked = rounds.mark_stop(conn, plan_id, stop_id, body.status, body.reason,
                                  _aware(body.at), principal.username,
                                  str(request.app.state.settings.rounds_timezone))
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
        readable = readable_things(conn, principal, (a.thing_id for a in found.assets))
    items = []
    for asset in found.assets:
        if asset.thing_id not in readable:
            continue
        need = forecaster.forecast(asset.history, at, at + timedelta(days=1))
        items.append({"thing_id": asset.thing_id, "name": asset.name,
                      "lon": asset.lon, "lat": asset.lat, "level": round(need.level, 3),
                      "rate_per_day": round(need.rate_per_day, 4),
                      "probability_by_tomorrow": round(need.probability, 4),
                      "due": need.due.isoformat() if need.due else None,
                      "last_service": need.last_service.isoformat() if need.last_service
                      else None, "method": need.method, "trusted": need.trusted,
                      "flags": list(need.flags)})
    return {"at": at.isoformat(), "forecaster": forecaster.name, "needs": items}


def register(app: FastAPI) -> None:
    """Add this concern's routes to the app."""
    app.include_router(router)
