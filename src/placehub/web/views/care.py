"""Pages for carers: the homes they care for, each home's status and alerts (raw events only
when the carer asks). Nobody outside a home's care circle sees that it exists."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from placehub.access.service import Principal
from placehub.care import api as care_api
from placehub.care import service, status
from placehub.care.service import PURPOSES
from placehub.governance import read_audit
from placehub.web.session import officer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/care")
def care_page(request: Request, principal: Principal = Depends(officer)) -> Response:
    """The homes in the signed-in carer's care circles."""
    with request.app.state.database.connect() as conn:
        rows = [status.summary(conn, r, care_api.now())
                for r in service.residents_for(conn, principal)]
    return render(request, "care.html", title="Homes you care for", rows=rows)


@router.get("/care/{reference}")
def care_home_page(reference: str, request: Request, events: bool = False,
                   principal: Principal = Depends(officer)) -> Response:
    """One home: consent, routine, alerts and break-glass accesses; events if asked."""
    database = request.app.state.database
    with database.connect() as conn:
        found = service.resident_for(conn, principal, reference)
        home = status.home_status(conn, found, care_api.now(), events=events)
        log = status.read_log(conn, found)
        looked = service.who_looked(conn, found)
    read_audit.record_request_reads(database, principal, "page", read_audit.describe(
        request.method, request.url.path, request.url.query), log)
    return render(request, "care_home.html", title=f"Home of {found.display_name}",
                  home=home, looked=looked, events=events, purposes=PURPOSES)
