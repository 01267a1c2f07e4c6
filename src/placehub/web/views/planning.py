"""Planning pages: a hazard area's homes, sites, assets and cut routes (officers), catchments
with a close/open what-if (officers), and car park spaces free now (everyone). Each map has a
table with the same data. The work is done by placehub.planning.service."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from placehub.access.service import Principal
from placehub.errors import BadRequest, NotFound
from placehub.planning import hazards, service, tariffs
from placehub.planning.features import FACILITY_KINDS
from placehub.web.basemap import basemap
from placehub.web.security import checked_form
from placehub.web.session import officer, public
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)
# Rows of homes shown on a page; the CSV has them all.
PAGE_ROWS = 500
DEFAULT_BOUNDS = "-0.83,52.52,-0.42,52.77"


def _bounds(features: list[dict[str, Any]]) -> str:
    """lon/lat bounds of the point and polygon features, for the map's first view."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords: Any) -> None:
        if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
            xs.append(float(coords[0]))
            ys.append(float(coords[1]))
        elif isinstance(coords, (list, tuple)):
            for item in coords:
                walk(item)

    for feature in features:
        walk((feature.get("geometry") or {}).get("coordinates"))
    if not xs:
        return DEFAULT_BOUNDS
    return f"{min(xs)},{min(ys)},{max(xs)},{max(ys)}"


@router.get("/planning/hazard")
def hazard_form(request: Request, principal: Principal = Depends(officer)) -> Response:
    """The form: a GeoJSON area (e.g. an EA flood warning area, or drawn on the map) and a
    rest centre."""
    return _hazard_form(request, {}, {})


def _hazard_form(request: Request, errors: dict[str, str], values: dict[str, str],
                 area_text: str = "", status_code: int = 200) -> Response:
    return render(request, "planning_hazard.html", title="Hazard area", result=None,
                  errors=errors, values=values, area_text=area_text,
                  draw_bounds=_area_bounds(request), status_code=status_code)


def _area_bounds(request: Request) -> str:
    """The area's extent for the drawing map: its street map's, else Great Britain's."""
    try:
        west, south, east, north = basemap(request.app.state.settings).bounds()
    except NotFound:
        west, south, east, north = -8.2, 49.9, 1.8, 60.9
    return f"{west},{south},{east},{north}"


async def _area_of(form: FormData) -> hazards.HazardArea:
    upload = form.get("area_file")
    text = ""
    if isinstance(upload, UploadFile) and upload.filename:
        try:
            text = (await upload.read()).decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("the area file is not UTF-8 text: save it as GeoJSON") from None
    text = text or str(form.get("area") or "")
    if not text.strip():
        raise BadRequest("give the area: choose a GeoJSON file, draw it on the map, or paste "
                         "it as GeoJSON")
    name = str(form.get("name") or "").strip() or None
    return hazards.read_area(text, name=name)


@router.post("/planning/hazard")
async def hazard_page(request: Request, form: FormData = Depends(checked_form),
                      principal: Principal = Depends(officer)) -> Response:
    """What is inside the area and whose route it cuts, as a map and tables (or the CSV)."""
    values = {"name": str(form.get("name") or ""),
              "rest_centre": str(form.get("rest_centre") or "")}
    try:
        area = await _area_of(form)
        rest_centre = service.parse_lonlat(values["rest_centre"])
    except BadRequest as error:
        upload = form.get("area_file")
        uploaded = isinstance(upload, UploadFile) and bool(upload.filename)
        field = ("rest_centre" if "longitude" in error.message
                 else "area_file" if uploaded or not str(form.get("area") or "").strip()
                 else "area")
        return _hazard_form(request, {field: error.message}, values,
                            str(form.get("area") or ""), status_code=400)
    started = time.perf_counter()
    with request.app.state.database.connect() as conn:
        result = service.hazard_job(conn, request.app.state.settings, principal, area,
                                    rest_centre)
    service.keep_run(request.app.state.database, result, principal,
                     time.perf_counter() - started)
    if form.get("download") == "csv":
        return Response(service.hazard_csv(result), media_type="text/csv", headers={
            "content-disposition": 'attachment; filename="hazard-area.csv"'})
    geojson = service.hazard_geojson(result)
    homes = result.get("property_list") or []
    return render(request, "planning_hazard.html", title=f"Hazard area: {area.name}",
                  result=result, homes=homes[:PAGE_ROWS], home_count=len(homes),
                  geojson={"type": "FeatureCollection", "features": geojson["features"]},
                  bounds=_bounds(geojson["features"][:1]), values=values, errors={},
                  area_text=json.dumps(area.as_feature()))


@router.get("/planning/catchments")
def catchments_page(request: Request, principal: Principal = Depends(officer)) -> Response:
    """Catchments of a kind of facility by road or straight line, with a closure what-if."""
    params = request.query_params
    kind = params.get("kind") or "school"
    method = params.get("method") or "road"
    close = [ref for ref in params.getlist("close") if ref]
    started = time.perf_counter()
    with request.app.state.database.connect() as conn:
        result = service.catchment_job(conn, request.app.state.settings, principal, kind,
                                       method, close)
    service.keep_run(request.app.state.database, result, principal,
                     time.perf_counter() - started)
    features = [f for f in service.catchment_geojson(result)["features"]
                if f["properties"]["layer"] == "facility"]
    if params.get("format") == "csv":
        return Response(service.catchment_csv(result), media_type="text/csv", headers={
            "content-disposition": f'attachment; filename="catchments-{kind}.csv"'})
    return render(request, "planning_catchments.html", title="Catchments", result=result,
                  kinds=FACILITY_KINDS, kind=kind, method=method, close=close,
                  geojson={"type": "FeatureCollection", "features": features},
                  bounds=_bounds(features), query=str(request.url.query))


@router.get("/public/parking")
def parking_page(request: Request, principal: Principal = Depends(public)) -> Response:
    """Spaces free now in each monitored car park (public sensors only)."""
    with request.app.state.database.connect() as conn:
        result = service.parking_job(conn, request.app.state.settings, principal,
                                     datetime.now(UTC), days=1)
    features = [{"type": "Feature", "geometry": {"type": "Point",
                                                 "coordinates": [row["lon"], row["lat"]]},
                 "properties": {"layer": row["status"], "name": row["name"],
                                "free": row["free_now"]}} for row in result["car_parks"]]
    return render(request, "parking.html", title="Car park spaces", result=result,
                  geojson={"type": "FeatureCollection", "features": features},
                  bounds=_bounds(features))


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@router.get("/planning/parking")
def parking_tariffs_page(request: Request, principal: Principal = Depends(officer)) -> Response:
    """Occupancy by zone, weekday and hour over the last week, with the suggested tariffs."""
    try:
        price = float(request.query_params.get("price") or 1.20)
    except ValueError:
        raise BadRequest("price: give pounds per hour, e.g. 1.20") from None
    return _tariffs(request, principal, price, [], {})


@router.post("/planning/parking")
async def parking_board_page(request: Request, form: FormData = Depends(checked_form),
                             principal: Principal = Depends(officer)) -> Response:
    """The same, with the current prices taken from the council's tariff board (a CSV file)."""
    upload = form.get("tariff_file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise BadRequest("choose the tariff board, a CSV file with the columns "
                             "zone,days,from,to,price")
        try:
            text = (await upload.read()).decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("the tariff board is not UTF-8 text: save it as CSV (UTF-8)"
                             ) from None
        board = tariffs.read_board_csv(text)
    except BadRequest as error:
        return _tariffs(request, principal, 1.20, [], {"tariff_file": error.message},
                        status_code=400)
    return _tariffs(request, principal, 1.20, board, {})


def _tariffs(request: Request, principal: Principal, price: float,
             board: list[tariffs.TariffBand], errors: dict[str, str],
             status_code: int = 200) -> Response:
    started = time.perf_counter()
    with request.app.state.database.connect() as conn:
        result = service.parking_job(conn, request.app.state.settings, principal,
                                     datetime.now(UTC), days=7, price=price, board=board)
    service.keep_run(request.app.state.database, result, principal,
                     time.perf_counter() - started)
    grids = []
    for zone in result["zones"]:
        cells = {(h["weekday"], h["hour"]): h for h in zone["hours"]}
        hours = sorted({h for _, h in cells})
        grids.append({"zone": zone["zone"], "price": zone["price"], "rows": [
            {"hour": hour, "cells": [cells.get((day, hour)) for day in range(7)]}
            for hour in hours]})
    return render(request, "planning_parking.html", title="Parking occupancy and tariffs",
                  result=result, grids=grids, weekdays=WEEKDAYS, price=price,
                  board=tariffs.as_rows(board), example=tariffs.EXAMPLE, errors=errors,
                  status_code=status_code)
