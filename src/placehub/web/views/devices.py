"""Devices: the registry, registering one device, importing a CSV as a progress job with a
per-row validation report, and dead letters with replay. Built on the ingest concern's device
registry (the same functions as POST /api/devices and ``placehub ingest replay``)."""

from __future__ import annotations

from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from placehub.access.service import Principal
from placehub.access.tables import VISIBILITIES
from placehub.assets.summary import list_assets
from placehub.errors import BadRequest, Conflict, Forbidden
from placehub.ingest.deadletters import (
    count_dead_letters,
    dead_letter_scope,
    handling_scope,
    list_dead_letters,
    replay,
)
from placehub.ingest.devices import (
    CSV_OPTIONAL,
    CSV_REQUIRED,
    DeviceSpec,
    ImportReport,
    import_devices,
    register_device,
    search_devices,
    validate_spec,
)
from placehub.ingest.profiles import load_profiles
from placehub.sta.writes import WriteEvents
from placehub.web import downloads
from placehub.web.jobs import ProgressReporter
from placehub.web.listing import Column, Page, pagination, sortable_head, table_order
from placehub.web.security import checked_form
from placehub.web.session import officer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)
# The registration form's fields, in page order (the error summary links to them).
FORM_FIELDS = ("dev_eui", "name", "profile", "latitude", "longitude", "asset_type",
               "visibility", "description")
# What to say when a required field is left empty (GOV.UK: say what to do, not what is wrong).
WHEN_EMPTY = {
    "dev_eui": "Enter the DevEUI: 16 hexadecimal characters, like A84041000181E001",
    "name": "Enter a name that says where the device is",
    "profile": "Choose a device profile",
    "latitude": "Enter the latitude, like 52.6703",
    "longitude": "Enter the longitude, like -0.7301",
}


def may_change_devices(principal: Principal) -> bool:
    """Editors and admins register devices and handle dead letters (as in the API)."""
    return principal.is_writer


def _require_changer(principal: Principal) -> None:
    if not may_change_devices(principal):
        raise Forbidden("registering devices needs an editor or admin role")


def _profiles_dir(request: Request) -> str | None:
    return request.app.state.settings.ingest_profiles_dir or None


# The device list's columns; those with a sort key are sorted in SQL (``search_devices``).
DEVICE_COLUMNS = [
    Column("dev_eui", "DevEUI", itemgetter("dev_eui")),
    Column("name", "Name", itemgetter("name")),
    Column("asset", "Asset"),
    Column("last_seen", "Last seen", itemgetter("last_seen")),
    Column("battery", "Battery"),
    Column("signal", "Signal"),
    Column("health", "Health"),
]
DEVICES_PER_PAGE = 50
SEARCH_MAX = 200


def _search_text(params: dict[str, str]) -> str:
    """The device search the list and its download share, or a 400 when it is too long."""
    search = params.get("q", "").strip()
    if len(search) > SEARCH_MAX:
        raise BadRequest(f"search for at most {SEARCH_MAX} characters")
    return search


@router.get("/devices")
def devices_page(request: Request, principal: Principal = Depends(officer)) -> Response:
    """Registered devices, searched by DevEUI, name or asset and paged in SQL, each with its
    last uplink, battery, signal and health; links to register one, the dead letters and the
    CSV import."""
    params = dict(request.query_params)
    order = table_order(params, DEVICE_COLUMNS, "dev_eui")
    search = _search_text(params)
    with request.app.state.database.connect() as conn:
        found = search_devices(conn, principal, search, page=order.page,
                               per_page=DEVICES_PER_PAGE, sort=order.sort,
                               descending=order.direction == "desc")
        # Health is the asset's, judged once in placehub.assets for this page's assets only.
        assets = {a.id: a for a in list_assets(
            conn, principal, datetime.now(UTC),
            thing_ids=[row["thing_id"] for row in found.rows])}
        dead = (count_dead_letters(conn, dead_letter_scope(principal))
                if may_change_devices(principal) else None)
    query = {"q": search} if search else {}
    page = Page(found.rows, found.number, found.count, found.total)
    return render(request, "devices.html", title="Devices", devices=found.rows, assets=assets,
                  page=page, search=search, dead_count=dead,
                  head=sortable_head(DEVICE_COLUMNS, query, order.sort, order.direction),
                  pagination=pagination(page, {**query, "sort": order.sort,
                                               "dir": order.direction}),
                  may_change=may_change_devices(principal),
                  required=CSV_REQUIRED, optional=CSV_OPTIONAL,
                  downloads=downloads.links("/devices", {**query, "sort": order.sort,
                                                         "dir": order.direction}))


DEVICE_DOWNLOAD_COLUMNS = ["dev_eui", "name", "profile", "asset_id", "asset", "last_seen",
                           "battery_percent", "battery_voltage", "rssi", "snr", "health"]

@router.get("/devices.{fmt}")
def devices_download(request: Request, fmt: str,
                     principal: Principal = Depends(officer)) -> Response:
    """Every device the list's search finds (same search, order and access as the page, not
    paged), with its health, as CSV, JSON or GeoJSON (at its asset)."""
    downloads.check_format(fmt)
    params = dict(request.query_params)
    order = table_order(params, DEVICE_COLUMNS, "dev_eui")
    search = _search_text(params)
    with request.app.state.database.connect() as conn:
        found = search_devices(conn, principal, search, page=1,
                               per_page=downloads.ROW_LIMIT + 1, sort=order.sort,
                               descending=order.direction == "desc")
        assets = {a.id: a for a in list_assets(
            conn, principal, datetime.now(UTC),
            thing_ids=[row["thing_id"] for row in found.rows])}
    rows = []
    for device in downloads.within_limit(found.rows, "devices"):
        asset = assets.get(device["thing_id"])
        rows.append({
            "dev_eui": device["dev_eui"], "name": device["name"],
            "profile": device["profile_id"], "asset_id": device["thing_id"],
            "asset": device["asset_name"], "last_seen": device["last_seen"],
            "battery_percent": device["battery_percent"],
            "battery_voltage": device["battery_voltage"], "rssi": device["rssi"],
            "snr": device["snr"],
            "health": asset.sensor_health_label if asset else "No data",
            "longitude": asset.lon if asset else None, "latitude": asset.lat if asset else None})
    return downloads.respond(request, downloads.Table(
        "devices", "Devices", DEVICE_DOWNLOAD_COLUMNS, rows, public=False), fmt)


def _form_page(request: Request, values: dict[str, str], errors: dict[str, str],
               status_code: int = 200) -> Response:
    profiles = sorted(load_profiles(_profiles_dir(request)).values(), key=lambda p: p.name)
    return render(request, "device_new.html", status_code=status_code,
                  title=("Error: " if errors else "") + "Register a device", values=values,
                  errors=errors, profiles=profiles, visibilities=VISIBILITIES)


@router.get("/devices/new")
def new_device_form(request: Request, principal: Principal = Depends(officer)) -> Response:
    """The form to register one LoRaWAN device."""
    _require_changer(principal)
    return _form_page(request, {"visibility": "organisation"}, {})


def field_errors(problems: list[str]) -> dict[str, str]:
    """Problems like "latitude: 'x' is not a number" as {field: message}, one per field."""
    errors: dict[str, str] = {}
    for problem in problems:
        name, _, message = problem.partition(": ")
        name = name if name in FORM_FIELDS else "dev_eui"
        errors.setdefault(name, message[:1].upper() + message[1:] if message else problem)
    return {name: errors[name] for name in FORM_FIELDS if name in errors}


def _spec_from_form(values: dict[str, str]) -> tuple[DeviceSpec, dict[str, str]]:
    errors = {name: message for name, message in WHEN_EMPTY.items() if not values[name]}
    numbers: dict[str, float] = {}
    for name in ("latitude", "longitude"):
        if name in errors:
            numbers[name] = 0.0
            continue
        try:
            numbers[name] = float(values[name])
        except ValueError:
            errors[name] = (f"Enter the {name} as a number, like "
                            f"{'52.6703' if name == 'latitude' else '-0.7301'}")
            numbers[name] = 0.0
    spec = DeviceSpec(dev_eui=values["dev_eui"], name=values["name"], profile=values["profile"],
                      latitude=numbers["latitude"], longitude=numbers["longitude"],
                      asset_type=values["asset_type"] or None,
                      visibility=values["visibility"] or None,
                      description=values["description"])
    return spec, errors


@router.post("/devices/new")
def register_from_form(request: Request, form: FormData = Depends(checked_form),
                       principal: Principal = Depends(officer)) -> Response:
    """Register the device, or show the form again with every problem in an error summary."""
    _require_changer(principal)
    values = {name: str(form.get(name) or "").strip() for name in FORM_FIELDS}
    spec, errors = _spec_from_form(values)
    problems = [p for p in validate_spec(spec, _profiles_dir(request))
                if p.split(":")[0] not in errors]
    errors = field_errors([f"{k}: {v}" for k, v in errors.items()] + problems)
    if errors:
        return _form_page(request, values, errors, status_code=400)
    database, events = request.app.state.database, WriteEvents()
    try:
        with database.begin() as conn:
            device = register_device(conn, principal, spec, events, _profiles_dir(request))
    except Conflict as error:
        return _form_page(request, values, {"dev_eui": error.message[:1].upper()
                                            + error.message[1:]}, status_code=409)
    events.publish(database)
    return render(request, "device_registered.html", title="Device registered", device=device)


@router.post("/devices/import")
async def import_csv(request: Request, form: FormData = Depends(checked_form),
                     principal: Principal = Depends(officer)) -> Response:
    """Start checking and importing an uploaded CSV as a job; its page ends in the report."""
    _require_changer(principal)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise BadRequest("choose a CSV file of devices to import")
    try:
        text = (await upload.read()).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the file is not UTF-8 text: save it as CSV UTF-8") from None
    database, profiles = request.app.state.database, _profiles_dir(request)

    def work(report: ProgressReporter) -> str:
        events = WriteEvents()
        with database.begin() as conn:
            outcome = import_devices(conn, principal, text, profiles, events, progress=report)
        if outcome.ok:
            events.publish(database)
        report.keep(outcome)
        return f"/devices/imports/{report.job_id}"

    job = request.app.state.jobs.start(f"Importing devices from {upload.filename}",
                                       principal.username, work)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/devices/imports/{job_id}")
def import_report(request: Request, job_id: str,
                  principal: Principal = Depends(officer)) -> Response:
    """The import's report: every device registered, or every bad row and why (none added)."""
    job = request.app.state.jobs.get(job_id, principal.username)
    if not isinstance(job.result, ImportReport):
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)
    return render(request, "device_import.html", title=job.title, report=job.result,
                  required=CSV_REQUIRED, optional=CSV_OPTIONAL)


@router.get("/devices/dead-letters")
def dead_letters_page(request: Request, principal: Principal = Depends(officer)) -> Response:
    """Uplinks that could not become Observations, with why, and the Replay action."""
    scope = handling_scope(principal)
    with request.app.state.database.connect() as conn:
        letters = list_dead_letters(conn, limit=200, organisations=scope)
    return render(request, "dead_letters.html", title="Dead letters", letters=letters)


@router.post("/devices/dead-letters/replay")
def replay_dead_letters(request: Request, _: FormData = Depends(checked_form),
                        principal: Principal = Depends(officer)) -> Response:
    """Replay the dead letters listed to this officer as a job (replaying never duplicates an
    Observation)."""
    scope = handling_scope(principal)
    database, profiles = request.app.state.database, _profiles_dir(request)

    def work(report: ProgressReporter) -> str:
        report.keep(replay(database, dead_letters=True, extra_profiles=profiles,
                           progress=report, organisations=scope))
        return f"/devices/replays/{report.job_id}"

    job = request.app.state.jobs.start("Replaying dead letters", principal.username, work)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/devices/replays/{job_id}")
def replay_result(request: Request, job_id: str,
                  principal: Principal = Depends(officer)) -> Response:
    """What a replay did: how many entries became Observations and how many are still dead."""
    job = request.app.state.jobs.get(job_id, principal.username)
    result: Any = job.result
    if not isinstance(result, dict):
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)
    return render(request, "replay_result.html", title="Dead letters replayed", result=result)
