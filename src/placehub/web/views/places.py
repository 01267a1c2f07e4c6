"""Places: the list of wards and a ward page (assets, status, indicators)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from placehub.access.service import Principal
from placehub.web.concerns import optional_module
from placehub.web.session import officer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)
PLACES_MODULE = "placehub.places.layers"


@router.get("/places")
def places_page(request: Request, principal: Principal = Depends(officer)) -> Response:
    layers = optional_module(PLACES_MODULE)
    return render(request, "unavailable.html", title="Places", concern="places",
                  what="Wards and places", available=layers is not None)
