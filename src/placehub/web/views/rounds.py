"""Rounds: plan a day (form → progress → routes and a table per vehicle), the printable round
sheets (one vehicle or all in one print), a phone-friendly crew page to mark stops done or
skipped, and a re-plan of the remaining stops. Built on the rounds concern's service functions.

Times are shown in the council's time zone (rounds_timezone); the clock is ``rounds.now``."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from placehub.access.service import Principal
from placehub.rounds import access, sheets
from placehub.rounds import service as rounds
from placehub.web.jobs import ProgressReporter
from placehub.web.maps import DEFAULT_BOUNDS
from placehub.web.round_map import route_features, vehicle_swatch
from placehub.web.security import checked_form
from placehub.web.session import officer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)
SERVICES = {"waste": "Waste collection", "watering": "Watering"}


@router.get("/rounds")
def rounds_page(request: Request, principal: Principal = Depends(officer)) -> Response:
    """The planning form and the plans already made."""
    return _rounds_form(request, principal)


def _rounds_form(request: Request, principal: Principal, errors: dict[str, str] | None = None,
                 service: str | None = None, day: str | None = None) -> Response:
    """The rounds page; with ``errors``, the form as sent with GOV.UK error messages (400)."""
    with request.app.state.database.connect() as conn:
        plans = access.readable_plans(conn, principal)
    tomorrow = rounds.tomorrow(request.app.state.settings, rounds.now()).isoformat()
    return render(request, "rounds.html", status_code=400 if errors else 200,
                  title=("Error: Rounds" if errors else "Rounds"), plans=plans,
                  services=SERVICES, tomorrow=tomorrow, errors=errors or {},
                  service=service or next(iter(SERVICES)),
                  day=tomorrow if day is None else day, may_plan=access.may_plan(principal))


@router.post("/rounds")
def start_planning(request: Request, form: FormData = Depends(checked_form),
                   principal: Principal = Depends(officer)) -> Response:
    """Start planning in the background and send the officer to its progress page."""
    service, day = str(form.get("service") or ""), str(form.get("day") or "").strip()
    errors = {}
    if service not in SERVICES:
        errors["service-waste"] = "Select the service to plan"
    plan_day = None
    if not day:
        errors["day"] = "Enter the day to plan"
    else:
        try:
            plan_day = date.fromisoformat(day)
        except ValueError:
            errors["day"] = "Enter the day as a real date, for example 23 11 2026 or 2026-11-23"
    if errors or plan_day is None:
        return _rounds_form(request, principal, errors, service, day)
    database, settings = request.app.state.database, request.app.state.settings
    with database.connect() as conn:
        organisation_id = access.planning_organisation(conn, principal, None, service)

    def work(report: ProgressReporter) -> str:
        report(0.1, "Forecasting which assets need a visit")
        # Read, solve, then write: the solve holds no transaction (nor SQLite's write lock).
        with database.connect() as conn:
            inputs = rounds.prepare_plan(conn, settings, rounds.PlanRequest(
                service, plan_day, rounds.now(), organisation_id, None, None))
        report(0.3, "Routing the vehicles")
        plan = rounds.solve_plan(inputs, settings)
        report(0.9, "Saving the routes")
        with database.begin() as conn:
            plan_id = rounds.save_plan(conn, plan, organisation_id, principal.username,
                                       rounds.now())
        return f"/rounds/{plan_id}"

    job = request.app.state.jobs.start(f"Planning {SERVICES[service].lower()} for {plan_day}",
                                       principal.username, work)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/rounds/{plan_id}")
def plan_page(request: Request, plan_id: int, principal: Principal = Depends(officer)) -> Response:
    """A plan: headline figures, its routes on a map, and the same stops in a table per vehicle
    with done/skipped buttons."""
    with request.app.state.database.connect() as conn:
        detail = access.readable_plan(conn, principal, plan_id)
    bbox = route_features(detail)["bbox"] or DEFAULT_BOUNDS
    swatches = [vehicle_swatch(n) for n in range(1, len(detail["vehicles"]) + 1)]
    return render(request, "round.html", title=f"Round plan {plan_id}", plan=detail,
                  service_name=SERVICES.get(detail["service"], detail["service"]),
                  bounds=",".join(f"{v:.5f}" for v in bbox), swatches=swatches,
                  may_change=access.may_change(principal, detail), **_sheet_context(request))


def _sheet_context(request: Request) -> dict[str, Any]:
    """What the rounds templates need to show times, fills and reasons as crews read them."""
    zone = str(request.app.state.settings.rounds_timezone)
    return {"zone": zone, "local_time": lambda value: sheets.local_time(value, zone),
            "percent": sheets.percent, "visit_reason": sheets.visit_reason}


@router.get("/rounds/{plan_id}/routes.geojson")
def plan_routes(request: Request, plan_id: int,
                principal: Principal = Depends(officer)) -> Response:
    """The plan's routes (road geometry per vehicle) and stops as GeoJSON, for its map."""
    with request.app.state.database.connect() as conn:
        detail = access.readable_plan(conn, principal, plan_id)
    return JSONResponse(route_features(detail), media_type="application/geo+json")


@router.get("/rounds/{plan_id}/vehicles/{number}/sheet")
def sheet_page(request: Request, plan_id: int, number: int,
               principal: Principal = Depends(officer)) -> Response:
    """The printable round sheet of one vehicle (the rounds concern's own sheet)."""
    with request.app.state.database.connect() as conn:
        detail = access.readable_plan(conn, principal, plan_id)
    vehicle = sheets.vehicle_of(detail, number)
    return render(request, "round_sheet.html", title=f"Round sheet: vehicle {vehicle['vehicle']}",
                  plan=detail, sheets=[_sheet(vehicle, number)], single=True,
                  service_name=SERVICES.get(detail["service"], detail["service"]),
                  **_sheet_context(request))


def _sheet(vehicle: dict[str, Any], number: int) -> dict[str, Any]:
    return {"vehicle": vehicle, "number": number, "rows": sheets.rows_with_breaks(vehicle),
            "map": sheets.route_svg(vehicle)}


@router.get("/rounds/{plan_id}/sheets")
def all_sheets_page(request: Request, plan_id: int,
                    principal: Principal = Depends(officer)) -> Response:
    """Every vehicle's round sheet in one print, each starting a new page."""
    with request.app.state.database.connect() as conn:
        detail = access.readable_plan(conn, principal, plan_id)
    used = [_sheet(v, n) for n, v in enumerate(detail["vehicles"], start=1) if v["stops"]]
    return render(request, "round_sheet.html", title=f"Round sheets of plan {plan_id}",
                  plan=detail, sheets=used, single=False,
                  service_name=SERVICES.get(detail["service"], detail["service"]),
                  **_sheet_context(request))


@router.get("/rounds/{plan_id}/vehicles/{number}/crew")
def crew_page(request: Request, plan_id: int, number: int,
              principal: Principal = Depends(officer)) -> Response:
    """The crew's page on a phone: the next stops in order, each with Done and Skip."""
    with request.app.state.database.connect() as conn:
        detail = access.readable_plan(conn, principal, plan_id)
    vehicle = sheets.vehicle_of(detail, number)
    return render(request, "round_crew.html", title=f"Crew: vehicle {vehicle['vehicle']}",
                  plan=detail, vehicle=vehicle, number=number,
                  rows=sheets.rows_with_breaks(vehicle),
                  service_name=SERVICES.get(detail["service"], detail["service"]),
                  may_change=access.may_change(principal, detail), **_sheet_context(request))


@router.post("/rounds/{plan_id}/replan")
def replan(request: Request, plan_id: int, form: FormData = Depends(checked_form),
           principal: Principal = Depends(officer)) -> Response:
    """Re-plan the stops not yet done from where each vehicle is, in the background."""
    database, settings = request.app.state.database, request.app.state.settings
    with database.connect() as conn:
        detail = access.writable_plan(conn, principal, plan_id, "re-planning")

    def work(report: ProgressReporter) -> str:
        at = rounds.now()
        report(0.1, "Reading what is done")
        with database.connect() as conn:
            inputs = rounds.prepare_replan(conn, settings, plan_id, at)
        report(0.3, "Routing the remaining stops")
        plan = rounds.solve_plan(inputs, settings)
        with database.begin() as conn:
            new_id = rounds.save_plan(conn, plan, detail["organisation_id"],
                                      principal.username, rounds.now())
            rounds.close_replanned(conn, plan_id, new_id, at, principal.username)
        return f"/rounds/{new_id}"

    job = request.app.state.jobs.start(f"Re-planning plan {plan_id}", principal.username, work)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.post("/rounds/{plan_id}/stops/{stop_id}")
def mark_stop(request: Request, plan_id: int, stop_id: int,
              form: FormData = Depends(checked_form),
              principal: Principal = Depends(officer)) -> Response:
    """Mark a stop done or skipped, then back to the plan."""
    status, reason = str(form.get("status") or ""), str(form.get("reason") or "").strip()
    crew = str(form.get("back") or "")
    if status == "skipped" and not reason:
        # Back to the page the crew was on, the error beside the stop's reason box.
        return _skip_reason_missing(request, principal, plan_id, stop_id, crew)
    with request.app.state.database.begin() as conn:
        access.writable_plan(conn, principal, plan_id, "marking stops")
        marked = rounds.mark_stop(conn, plan_id, stop_id, status, reason, rounds.now(),
                                  principal.username,
                                  str(request.app.state.settings.rounds_timezone))
    # A service changes the asset's status (an emptied bin is no longer full).
    request.app.state.database.events.publish("things.changed", [marked["thing_id"]])
    if crew.isdigit():  # back to the crew page of that vehicle
        return RedirectResponse(f"/rounds/{plan_id}/vehicles/{crew}/crew#stop-{stop_id}",
                                status_code=303)
    return RedirectResponse(f"/rounds/{plan_id}#stop-{stop_id}", status_code=303)


def _skip_reason_missing(request: Request, principal: Principal, plan_id: int, stop_id: int,
                         crew: str) -> Response:
    """The plan (or crew) page again, with the error summary and the error on the reason."""
    errors = {f"reason-{stop_id}": "Enter why the stop was skipped"}
    with request.app.state.database.connect() as conn:
        detail = access.writable_plan(conn, principal, plan_id, "marking stops")
    service_name = SERVICES.get(detail["service"], detail["service"])
    if crew.isdigit():
        vehicle = sheets.vehicle_of(detail, int(crew))
        return render(request, "round_crew.html", status_code=400,
                      title=f"Error: Crew: vehicle {vehicle['vehicle']}", plan=detail,
                      vehicle=vehicle, number=int(crew), rows=sheets.rows_with_breaks(vehicle),
                      service_name=service_name, errors=errors, may_change=True,
                      **_sheet_context(request))
    bbox = route_features(detail)["bbox"] or DEFAULT_BOUNDS
    swatches = [vehicle_swatch(n) for n in range(1, len(detail["vehicles"]) + 1)]
    return render(request, "round.html", status_code=400, title=f"Error: Round plan {plan_id}",
                  plan=detail, service_name=service_name, errors=errors,
                  bounds=",".join(f"{v:.5f}" for v in bbox), swatches=swatches,
                  may_change=True, **_sheet_context(request))
