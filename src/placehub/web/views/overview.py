"""The officer's overview: assets by type and status, open alerts, today's rounds, sensor health."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from placehub.access.service import Principal
from placehub.web import catalogue
from placehub.web.concerns import optional_function
from placehub.web.session import officer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/overview")
def overview(request: Request, principal: Principal = Depends(officer)) -> Response:
    now = datetime.now(UTC)
    open_alerts = optional_function("placehub.alerts.lifecycle", "list_alerts")
    todays_rounds = optional_function("placehub.rounds.plans", "plans_for_day")
    with request.app.state.database.connect() as conn:
        assets = catalogue.list_assets(conn, principal, now)
        alerts = open_alerts(conn, principal, state="open") if open_alerts else None
        rounds = todays_rounds(conn, now.date()) if todays_rounds else None
    return render(
        request, "overview.html", title="Overview",
        by_type=catalogue.counts_by_type_and_status(assets),
        statuses=list(catalogue.STATUS_LABELS.items()),
        health=catalogue.sensor_health(assets), total=len(assets),
        alerts=alerts, rounds=rounds,
    )
