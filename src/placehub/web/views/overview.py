"""The officer's overview: assets by type and status and sensor health (from the asset snapshot),
open alerts by kind, today's rounds. Each count links to the list it counts."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from placehub.access.service import Principal
from placehub.alerts.lifecycle import AlertFilter
from placehub.alerts.triage import alert_groups
from placehub.assets.status import STATUS_LABELS
from placehub.assets.thresholds import silence_rule
from placehub.rounds.service import list_plans
from placehub.web.asset_snapshot import snapshot_of
from placehub.web.session import officer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/overview")
def overview(request: Request, principal: Principal = Depends(officer)) -> Response:
    now = datetime.now(UTC)
    view = snapshot_of(request.app).view(principal)
    with request.app.state.database.connect() as conn:
        # Every kind of open alert in one line each: the list's groups, down to one alert.
        alert_kinds = alert_groups(conn, principal, AlertFilter(status="active"), group_at=1)
        rounds = [dict(plan, title=f"{plan['service'].title()} round, plan {plan['id']}")
                  for plan in list_plans(conn, set(principal.member_of),
                                         day=now.date().isoformat())]
    return render(
        request, "overview.html", title="Overview",
        by_type=view.counts(), statuses=list(STATUS_LABELS.items()),
        health=view.health(), total=len(view.assets), silent_rule=silence_rule(),
        alert_kinds=alert_kinds, rounds=rounds,
    )
