"""Pages for residents: "My area" by postcode, "Report a problem" (a GOV.UK form that makes an
Open311 service request), the public status of a report; and for officers, the reports of
their council with the reporter's details (editors and admins only) and closing a report."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from placehub.access.service import ANONYMOUS, Principal
from placehub.assets.summary import AssetSummary
from placehub.errors import BadRequest, NotFound
from placehub.places.distance import metres_between
from placehub.places.postcodes import PostcodePlace, find_postcode
from placehub.reports import api as reports_api
from placehub.reports import store
from placehub.reports.services import BY_CODE, SERVICES
from placehub.reports.throttle import TooManyReports
from placehub.web import downloads, maps
from placehub.web.asset_snapshot import snapshot_of
from placehub.web.security import checked_form
from placehub.web.session import officer, public
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)
# How many assets "My area" lists, and how far it looks.
NEARBY_COUNT = 8
NEARBY_METRES = 1500.0
AIR_TYPE = "air_quality_station"


def nearby_assets(assets: list[AssetSummary], lon: float, lat: float
                  ) -> list[tuple[AssetSummary, float]]:
    """The public assets nearest (lon, lat), with their distance in metres."""
    placed = [(a, metres_between((lon, lat), (a.lon, a.lat))) for a in assets
              if a.lon is not None and a.lat is not None]
    return sorted([p for p in placed if p[1] <= NEARBY_METRES], key=lambda p: p[1])


@router.get("/my-area")
def my_area(request: Request, postcode: str = "",
            principal: Principal = Depends(public)) -> Response:
    """A postcode search; for a postcode in the area, the nearest assets and their status, air
    quality nearby, the ward and links to the data."""
    if not postcode.strip():
        return render(request, "my_area.html", title="My area", postcode="", errors={},
                      place=None)
    try:
        with request.app.state.database.connect() as conn:
            place = find_postcode(conn, postcode)
    except (BadRequest, NotFound) as error:
        return render(request, "my_area.html", status_code=error.status_code,
                      title="My area", postcode=postcode, errors={"postcode": error.message},
                      place=None)
    assets, air = area_assets(request, place)
    return render(request, "my_area.html", title=f"My area: {place.postcode}",
                  postcode=place.postcode, errors={}, place=place, assets=assets, air=air,
                  ward=place.places.get("wards"),
                  downloads=downloads.links("/my-area", {"postcode": place.postcode}))


def area_assets(request: Request, place: PostcodePlace
                ) -> tuple[list[tuple[AssetSummary, float]], list[tuple[AssetSummary, float]]]:
    """The public assets "My area" lists near ``place`` (air stations apart), with metres."""
    near = nearby_assets(snapshot_of(request.app).view(ANONYMOUS).assets, place.lon, place.lat)
    return ([n for n in near if n[0].asset_type != AIR_TYPE][:NEARBY_COUNT],
            [n for n in near if n[0].asset_type == AIR_TYPE][:2])


@router.get("/my-area.{fmt}")
def my_area_download(request: Request, fmt: str, postcode: str = "",
                     principal: Principal = Depends(public)) -> Response:
    """What "My area" lists for a postcode (the same assets and air stations, their distance,
    status and latest readings) as CSV, JSON or GeoJSON."""
    downloads.check_format(fmt)
    with request.app.state.database.connect() as conn:
        place = find_postcode(conn, postcode)
    assets, air = area_assets(request, place)
    ward = place.places.get("wards") or ("", "")
    rows = [{"id": asset.id, "name": asset.name, "type": asset.type_label,
             "status": asset.status_label, "distance_m": round(metres),
             "fill_percent": asset.fill_percent,
             **{q: maps.reading_value(asset, q) for q in maps.READING_COLUMNS},
             "last_reading": asset.last_seen, "longitude": round(asset.lon or 0, 6),
             "latitude": round(asset.lat or 0, 6),
             "history": f"/public/assets/{asset.id}/history.csv"}
            for asset, metres in sorted(assets + air, key=lambda n: n[1])]
    slug = place.postcode.replace(" ", "").lower()
    return downloads.respond(request, downloads.Table(
        f"my-area-{slug}", f"Public sensors near {place.postcode}",
        ["id", "name", "type", "status", "distance_m", "fill_percent", *maps.READING_COLUMNS,
         "last_reading", "longitude", "latitude", "history"], rows, public=True,
        notes=[f"Postcode {place.postcode}, ward {ward[1] or 'unknown'} {ward[0]}; sensors "
               f"within {NEARBY_METRES:g} m ({NEARBY_COUNT} nearest and 2 air-quality "
               "stations), as the My area page lists them."]), fmt)


# --- reporting a problem -----------------------------------------------------------------------

def _report_page(request: Request, values: dict[str, str], errors: dict[str, str],
                 status_code: int = 200) -> Response:
    return render(request, "report.html", status_code=status_code, title="Report a problem",
                  services=SERVICES, values=values, errors=errors,
                  fly_tipping=BY_CODE["fly_tipping"].attributes[0],
                  max_photo_mb=int(request.app.state.settings.reports_photo_max_bytes) // 1_000_000)


@router.get("/report")
def report_form(request: Request, service: str = "", postcode: str = "", lat: str = "",
                long: str = "", principal: Principal = Depends(public)) -> Response:
    """The "Report a problem" form (``lat``/``long`` from a map, or a postcode)."""
    return _report_page(request, {"service_code": service, "postcode": postcode, "lat": lat,
                                  "long": long}, {})


def _position(conn: Any, form: FormData, errors: dict[str, str]
              ) -> tuple[float, float, str | None] | None:
    lat, lon = str(form.get("lat") or "").strip(), str(form.get("long") or "").strip()
    if lat and lon:
        try:
            return float(lat), float(lon), None
        except ValueError:
            errors["postcode"] = "The position from the map is not right: enter a postcode"
            return None
    postcode = str(form.get("postcode") or "")
    try:
        place: PostcodePlace = find_postcode(conn, postcode)
    except (BadRequest, NotFound) as error:
        errors["postcode"] = error.message
        return None
    return place.lat, place.lon, place.postcode


@router.post("/report")
async def report_submit(request: Request, principal: Principal = Depends(public)) -> Response:
    """Check the form; store the report; show its reference (or the form with its errors)."""
    form = await checked_form(request)
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    errors: dict[str, str] = {}
    code = values.get("service_code", "")
    if code not in BY_CODE:
        errors["service_code"] = "Select what the problem is"
    if not values.get("description", "").strip():
        errors["description"] = "Describe the problem"
    attributes = {}
    if code == "fly_tipping":
        if not values.get("waste_type"):
            errors["waste_type"] = "Select what has been dumped"
        attributes["waste_type"] = values.get("waste_type", "")
    settings = request.app.state.settings
    with request.app.state.database.connect() as conn:
        position = _position(conn, form, errors)
    photo = None
    try:
        photo = reports_api.read_photo(form.get("photo"), int(settings.reports_photo_max_bytes))
    except BadRequest as error:
        errors["photo"] = error.message
    try:
        email = store.check_email(values.get("email"))
    except BadRequest as error:
        errors["email"] = error.message
    if errors or position is None:
        return _report_page(request, values, errors, 400)
    lat, lon, postcode = position
    report = store.NewReport(
        service_code=code, lon=lon, lat=lat, description=values.get("description", ""),
        client="web form", postcode=postcode, address_string=postcode, email=email,
        photo=photo, attributes=attributes)
    try:
        request_id = reports_api.submit(request, report, f"address:"
                                        f"{reports_api.client_address(request)}")
    except TooManyReports as error:
        return render(request, "error.html", status_code=429, title="Too many reports",
                      message=error.message, headers=error.headers)
    except BadRequest as error:
        return _report_page(request, values, {"description": error.message}, 400)
    return RedirectResponse(f"/public/reports/{request_id}", status_code=303)


@router.get("/public/reports/{request_id}")
def public_report(request: Request, request_id: int,
                  principal: Principal = Depends(public)) -> Response:
    """A report's reference, status and what the council did (no personal data)."""
    with request.app.state.database.connect() as conn:
        item = store.public_requests(conn, [store.request_row(conn, request_id)])[0]
    return render(request, "report_status.html", title=f"Report {request_id}", item=item)


# --- officers ----------------------------------------------------------------------------------

@router.get("/reports")
def reports_page(request: Request, status: str = "open",
                 principal: Principal = Depends(officer)) -> Response:
    """Residents' reports to the officer's councils, newest first."""
    if status not in ("open", "closed", "all"):
        raise BadRequest(f"status={status!r}: use open, closed or all")
    with request.app.state.database.connect() as conn:
        items = store.officer_requests(conn, principal, reports_api.now_of(request),
                                       None if status == "all" else [status])
    today = reports_api.now_of(request).date()
    return render(request, "reports.html", title="Residents' reports", items=items,
                  status=status, downloads=downloads.links("/reports"),
                  download_range={"base": "/reports", "id": "reports", "keep": {"status": status},
                                  "first": today - timedelta(days=downloads.DEFAULT_DAYS - 1),
                                  "last": today})


REPORT_COLUMNS = ["id", "service_code", "service_name", "status", "status_notes",
                  "description", "asset", "mandatory_stop", "requested_datetime",
                  "updated_datetime", "address", "zipcode", "lat", "long"]

@router.get("/reports.{fmt}")
def reports_download(request: Request, fmt: str, status: str = "open",
                     principal: Principal = Depends(officer)) -> Response:
    """The reports list (same councils, status and access as the page) received from ``from``
    to ``to`` (the last 7 days by default), without the reporters' details, as CSV, JSON or
    GeoJSON."""
    downloads.check_format(fmt)
    if status not in ("open", "closed", "all"):
        raise BadRequest(f"status={status!r}: use open, closed or all")
    at = reports_api.now_of(request)
    period = downloads.period_of(request.query_params, at.date())
    with request.app.state.database.connect() as conn:
        items = store.officer_requests(conn, principal, at,
                                       None if status == "all" else [status],
                                       start=period.start, end=period.end,
                                       limit=downloads.ROW_LIMIT + 1)
    return downloads.respond(request, downloads.Table(
        f"reports-{period.first}-to-{period.last}", "Residents' reports", REPORT_COLUMNS,
        downloads.within_limit(items, "reports"), public=False, period=(period.start, period.end),
        geometry=lambda item: {"type": "Point", "coordinates": [item["long"], item["lat"]]},
        notes=["No reporter's details: names, e-mail addresses, phone numbers and photos are "
               "only on each report's page, for the council's editors and admins."]), fmt)


@router.get("/reports/{request_id}")
def report_page(request: Request, request_id: int,
                principal: Principal = Depends(officer)) -> Response:
    """One report: where, what, the asset and alert, and the reporter (editors, admins)."""
    with request.app.state.database.connect() as conn:
        item = store.officer_request(conn, principal, request_id)
    return render(request, "report_detail.html", title=f"Report {request_id}", item=item,
                  errors={}, can_close=principal.can_write(item["organisation_id"]))


@router.get("/reports/{request_id}/photo")
def report_photo(request: Request, request_id: int,
                 principal: Principal = Depends(officer)) -> Response:
    """The report's photo (re-encoded without metadata), for editors and admins."""
    with request.app.state.database.connect() as conn:
        data, media_type = store.photo_of(conn, principal, request_id)
    return Response(data, media_type=media_type, headers={"Cache-Control": "private, no-store"})


@router.post("/reports/{request_id}")
async def close_report(request: Request, request_id: int,
                       principal: Principal = Depends(officer)) -> Response:
    """Close a report with a note for the reporter (its alert is resolved too)."""
    form = await checked_form(request)
    note = str(form.get("status_notes") or "")
    try:
        with request.app.state.database.begin() as conn:
            store.close_request(conn, principal, request_id, reports_api.now_of(request), note)
    except BadRequest as error:
        with request.app.state.database.connect() as conn:
            item = store.officer_request(conn, principal, request_id)
        return render(request, "report_detail.html", status_code=400,
                      title=f"Report {request_id}", item=item,
                      errors={"status_notes": error.message}, can_close=True)
    return RedirectResponse(f"/reports/{request_id}", status_code=303)

