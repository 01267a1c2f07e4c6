"""Alerts: the triage list (filters, groups, paging, bulk acknowledge), one alert with its
history, acknowledge and resolve. Built on the alerts concern; the actions are offered only to
those who may take them (editors and admins of the asset's organisation)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from placehub.access.service import Principal
from placehub.alerts import lifecycle, triage
from placehub.errors import BadRequest
from placehub.places.assign import thing_positions
from placehub.web import downloads
from placehub.web.listing import Page, pagination
from placehub.web.security import checked_form
from placehub.web.session import officer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)
STATUSES = [("active", "Open or acknowledged"), ("open", "Open"),
            ("acknowledged", "Acknowledged"), ("resolved", "Resolved"), ("", "All")]
SEVERITIES = [("", "Any"), ("info", "Info or worse"), ("warning", "Warning or worse"),
              ("critical", "Critical")]
# The list's query string: filter name -> its default.
FILTERS = {"status": "active", "severity": "", "rule": "", "type": "", "ward": ""}


def _page_number(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 12 or int(value) < 1:
        raise BadRequest(f"page={value[:20]!r} not understood: use a whole number from 1")
    return int(value)


def _wanted(conn: Any, params: dict[str, str]) -> tuple[dict[str, str], Any, Any]:
    """The list's filters as chosen, the choices offered and the checked filter."""
    chosen = {name: params.get(name, default) for name, default in FILTERS.items()}
    choices = triage.filter_choices(conn)
    wanted = triage.checked_filter(choices, status=chosen["status"],
                                   severity=chosen["severity"], rule=chosen["rule"],
                                   asset_type=chosen["type"], ward=chosen["ward"])
    return chosen, choices, wanted


def _alerts_list(request: Request, principal: Principal, params: dict[str, str], *,
                 errors: dict[str, str] | None = None, note: str = "") -> Response:
    """The list for ``params`` (filters and page); with ``errors``, the bulk form as sent."""
    number = _page_number(params.get("page", "1") or "1")
    with request.app.state.database.connect() as conn:
        chosen, choices, wanted = _wanted(conn, params)
        found = triage.alert_page(conn, principal, wanted, number)
    query = {k: v for k, v in chosen.items() if v != FILTERS[k] or k == "status"}
    groups = [{"group": g, "href": "/alerts?" + urlencode(
        {**query, "rule": g.rule_key, "type": g.asset_type})} for g in found.groups]
    writable = [a for a in found.alerts if principal.can_write(int(a["organisation_id"]))]
    here = "/alerts?" + urlencode({**query, "page": found.number})
    return render(
        request, "alerts.html", status_code=400 if errors else 200,
        title="Error: Alerts" if errors else "Alerts", found=found, groups=groups,
        chosen=chosen, statuses=STATUSES, severities=SEVERITIES, choices=choices,
        may_acknowledge={a["id"] for a in writable if a["status"] == "open"},
        back=here, errors=errors or {}, note=note,
        pagination=pagination(Page(found.alerts, found.number, found.pages, found.ungrouped),
                              query),
        downloads=downloads.links("/alerts", query),
        flash=request.session.pop("flash", None))


ALERT_COLUMNS = ["id", "severity", "status", "title", "message", "rule_key", "thing_id",
                 "thing_name", "value", "opened_at", "acknowledged_at", "resolved_at",
                 "resolution"]

@router.get("/alerts.{fmt}")
def alerts_download(request: Request, fmt: str,
                    principal: Principal = Depends(officer)) -> Response:
    """Every alert the list's filters keep (not grouped, not paged), newest first; ``from`` and
    ``to`` keep those opened in that date range. CSV, JSON or GeoJSON (at each asset)."""
    downloads.check_format(fmt)
    period = downloads.optional_period(request.query_params, datetime.now(UTC).date())
    with request.app.state.database.connect() as conn:
        _, _, wanted = _wanted(conn, dict(request.query_params))
        found = triage.alert_page(conn, principal, wanted, 1, per_page=downloads.ROW_LIMIT + 1,
                                  group_at=None)
        positions = thing_positions(conn, {int(a["thing_id"]) for a in found.alerts
                                           if a["thing_id"] is not None})
    rows = downloads.within_limit(found.alerts, "alerts")
    if period is not None:
        start, end = period.start.isoformat(), period.end.isoformat()
        rows = [a for a in rows if a["opened_at"] and start <= _utc(a["opened_at"]) < end]
    return downloads.respond(request, downloads.Table(
        "alerts", "Alerts", ALERT_COLUMNS, rows, public=False,
        geometry=lambda a: _point(positions.get(a["thing_id"])),
        period=(period.start, period.end) if period else None), fmt)


def _utc(iso: str) -> str:
    """An ISO time as UTC text that sorts as time (stored times are UTC, maybe naive)."""
    value = datetime.fromisoformat(iso)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _point(lon_lat: tuple[float, float] | None) -> dict[str, Any] | None:
    return None if lon_lat is None else {"type": "Point", "coordinates": [
        round(lon_lat[0], 6), round(lon_lat[1], 6)]}


@router.get("/alerts")
def alerts_page(request: Request, principal: Principal = Depends(officer)) -> Response:
    """Alerts the officer may read: filtered, many of one kind grouped, a page at a time."""
    return _alerts_list(request, principal, dict(request.query_params))


def _back_params(back: str) -> dict[str, str]:
    """The list's query string from the form's ``back`` (only the alert list itself)."""
    path, _, query = back.partition("?")
    if path != "/alerts":
        return {}
    return {k: v for k, v in parse_qsl(query) if k in FILTERS or k == "page"}


@router.post("/alerts/acknowledge")
def acknowledge_selected(request: Request, form: FormData = Depends(checked_form),
                         principal: Principal = Depends(officer)) -> Response:
    """Acknowledge the ticked alerts with one note, then back to the same list."""
    params = _back_params(str(form.get("back") or ""))
    note = str(form.get("note") or "").strip()
    picked = [str(v) for v in form.getlist("alert")]
    if not picked:
        return _alerts_list(request, principal, params, note=note, errors={
            "alerts": "Select the alerts to acknowledge"})
    if not all(v.isascii() and v.isdigit() and len(v) <= 18 for v in picked):
        raise BadRequest("alert must be alert ids (whole numbers) from the list")
    with request.app.state.database.begin() as conn:
        done = lifecycle.acknowledge_many(conn, principal, [int(v) for v in picked],
                                          datetime.now(UTC), note or None)
    text = f"{_count(len(done.acknowledged))} acknowledged"
    if done.not_open:
        text += (f"; {_count(len(done.not_open))} left as they were: no longer open "
                 "(someone acknowledged or resolved them first)")
    request.session["flash"] = {"text": text + ".", "success": bool(done.acknowledged)}
    target = "/alerts" + ("?" + urlencode(params) if params else "")
    return RedirectResponse(target, status_code=303)


def _count(n: int) -> str:
    return f"{n:,} alert{'' if n == 1 else 's'}"


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, alert_id: int,
               principal: Principal = Depends(officer)) -> Response:
    """One alert, its history, and the acknowledge / resolve form for those who may act."""
    with request.app.state.database.connect() as conn:
        alert = lifecycle.get_alert(conn, principal, alert_id)
    return render(request, "alert.html", title=alert["title"], alert=alert,
                  may_act=_may_act(principal, alert))


def _may_act(principal: Principal, alert: dict[str, Any]) -> bool:
    return principal.can_write(int(alert["organisation_id"]))


@router.post("/alerts/{alert_id}")
def act_on_alert(request: Request, alert_id: int, form: FormData = Depends(checked_form),
                 principal: Principal = Depends(officer)) -> Response:
    """Acknowledge or resolve an alert (with an optional note), then back to it."""
    action, note = str(form.get("action") or ""), str(form.get("note") or "").strip() or None
    with request.app.state.database.begin() as conn:
        if action == "acknowledge":
            lifecycle.acknowledge(conn, principal, alert_id, datetime.now(UTC), note)
        elif action == "resolve":
            lifecycle.resolve(conn, principal, alert_id, datetime.now(UTC), note)
        else:
            raise BadRequest(f"action {action!r}: use acknowledge or resolve")
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)
