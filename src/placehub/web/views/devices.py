"""Devices: the registry, importing a CSV with a validation report, and dead letters.
Built on the ingest concern's device registry."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from placehub.access.service import Principal
from placehub.errors import BadRequest
from placehub.ingest.deadletters import list_dead_letters
from placehub.ingest.devices import CSV_OPTIONAL, CSV_REQUIRED, import_devices, list_devices
from placehub.web.security import checked_form
from placehub.web.session import officer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)


def _page(request: Request, principal: Principal, report: object = None,
          status_code: int = 200) -> Response:
    with request.app.state.database.connect() as conn:
        devices = list_devices(conn, None if principal.write_anywhere else principal.member_of)
        dead = list_dead_letters(conn, limit=20) if principal.write_anywhere or any(
            role == "admin" for role in principal.roles.values()) else None
    return render(request, "devices.html", status_code=status_code, title="Devices",
                  devices=devices, dead_letters=dead, report=report,
                  required=CSV_REQUIRED, optional=CSV_OPTIONAL)


@router.get("/devices")
def devices_page(request: Request, principal: Principal = Depends(officer)) -> Response:
    """Registered devices, the CSV import form and (for admins) recent dead letters."""
    return _page(request, principal)


@router.post("/devices/import")
def import_csv(request: Request, form: FormData = Depends(checked_form),
               principal: Principal = Depends(officer)) -> Response:
    """Check every row of an uploaded CSV; register all of them or none, and report why."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise BadRequest("choose a CSV file of devices to import")
    try:
        text = upload.file.read().decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the file is not UTF-8 text: save it as CSV UTF-8") from None
    with request.app.state.database.begin() as conn:
        report = import_devices(conn, principal, text,
                                request.app.state.settings.ingest_profiles_dir or None)
    return _page(request, principal, report, status_code=200 if report.ok else 400)
