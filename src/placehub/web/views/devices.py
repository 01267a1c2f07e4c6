"""Devices: register one, import a CSV with a validation report, dead letters with replay.
Built on the ingest concern's device registry."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from placehub.access.service import Principal
from placehub.web.concerns import optional_module
from placehub.web.session import officer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)
DEVICES_MODULE = "placehub.ingest.devices"


@router.get("/devices")
def devices_page(request: Request, principal: Principal = Depends(officer)) -> Response:
    devices = optional_module(DEVICES_MODULE)
    return render(request, "unavailable.html", title="Devices", concern="ingest",
                  what="The device registry", available=devices is not None)
