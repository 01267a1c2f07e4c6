"""Alerts: list, filter, acknowledge, resolve, history. Built on the alerts concern."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from placehub.access.service import Principal
from placehub.web.concerns import optional_module
from placehub.web.session import officer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)
ALERTS_MODULE = "placehub.alerts.lifecycle"


@router.get("/alerts")
def alerts_page(request: Request, principal: Principal = Depends(officer)) -> Response:
    lifecycle = optional_module(ALERTS_MODULE)
    return render(request, "unavailable.html", title="Alerts", concern="alerts",
                  what="Alerts", available=lifecycle is not None)
