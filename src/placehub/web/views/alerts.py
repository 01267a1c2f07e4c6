"""Alerts: list, filter, acknowledge, resolve, history. Built on the alerts concern."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from placehub.access.service import Principal
from placehub.alerts import lifecycle
from placehub.errors import BadRequest
from placehub.web.security import checked_form
from placehub.web.session import officer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)
STATUSES = [("active", "Open or acknowledged"), ("open", "Open"),
            ("acknowledged", "Acknowledged"), ("resolved", "Resolved"), ("", "All")]
SEVERITIES = [("", "Any"), ("info", "Info or worse"), ("warning", "Warning or worse"),
              ("critical", "Critical")]


@router.get("/alerts")
def alerts_page(request: Request, status: str = "active", severity: str = "",
                principal: Principal = Depends(officer)) -> Response:
    """Alerts the officer may read, filtered by status and severity."""
    with request.app.state.database.connect() as conn:
        found = lifecycle.list_alerts(conn, principal, status=status or None,
                                      severity=severity or None, limit=200)
    return render(request, "alerts.html", title="Alerts", alerts=found, status=status,
                  severity=severity, statuses=STATUSES, severities=SEVERITIES)


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, alert_id: int,
               principal: Principal = Depends(officer)) -> Response:
    """One alert, its history, and the acknowledge / resolve forms."""
    with request.app.state.database.connect() as conn:
        alert = lifecycle.get_alert(conn, principal, alert_id)
    return render(request, "alert.html", title=alert["title"], alert=alert)


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
