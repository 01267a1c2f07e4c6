"""Rounds: plan a day (form → progress → routes on a map and a table per vehicle), the printable
round sheet, and marking stops done or skipped. Built on the rounds concern."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from placehub.access.service import Principal
from placehub.web.concerns import optional_module
from placehub.web.session import officer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)
ROUNDS_MODULE = "placehub.rounds.planning"


@router.get("/rounds")
def rounds_page(request: Request, principal: Principal = Depends(officer)) -> Response:
    planning = optional_module(ROUNDS_MODULE)
    return render(request, "unavailable.html", title="Rounds", concern="rounds",
                  what="Planning rounds", available=planning is not None)
