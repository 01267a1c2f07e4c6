"""HTTP routes of placehub.planning: hazard areas, catchments and parking."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from fastapi import Body, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response

from placehub.access.requests import current_principal
from placehub.access.service import ANONYMOUS, Principal
from placehub.errors import BadRequest, Forbidden
from placehub.planning import hazards, parking, service, tariffs

GEOJSON = "application/geo+json"


def _format(value: str | None, allowed: tuple[str, ...] = ("json", "csv", "geojson")) -> str:
    chosen = value or "json"
    if chosen not in allowed:
        raise BadRequest(f"format={chosen!r}: use {', '.join(allowed)}")
    return chosen


def register(app: FastAPI) -> None:
    """Add this concern's routes to the app."""

    @app.post("/api/planning/hazards", tags=["planning"], response_model=None)
    def post_hazard(
        request: Request,
        area: dict[str, Any] | None = Body(None, description="GeoJSON Polygon, Feature or "
                                           "FeatureCollection (lon/lat), e.g. an EA flood area"),
        alert_id: int | None = Body(None, description="or: the alert of a river or flood "
                                    "sensor, whose Thing names the area it watches"),
        name: str | None = Body(None), rest_centre: str | None = Body(
            None, description="lon,lat of the rest centre"),
        format: str | None = Query(None, description="json (default), csv or geojson"),
        principal: Principal = Depends(current_principal),
    ) -> Any:
        """Homes, vulnerable sites and assets inside an area, roads closed, routes cut. Homes
        are listed for officers only; others get disclosure-controlled counts."""
        chosen = _format(format)
        if (area is None) == (alert_id is None):
            raise BadRequest("give either area (GeoJSON) or alert_id")
        started = time.perf_counter()
        with request.app.state.database.connect() as conn:
            if alert_id is not None:
                found = service.area_from_alert(conn, principal, alert_id)
            else:
                assert area is not None
                found = hazards.read_area(area, name=name, source="drawn" if name is None and
                                          area.get("type") == "Polygon" else "upload")
            result = service.hazard_job(conn, request.app.state.settings, principal, found,
                                        service.parse_lonlat(rest_centre))
        service.keep_run(request.app.state.database, result, principal,
                         time.perf_counter() - started)
        if chosen == "csv":
            return Response(service.hazard_csv(result), media_type="text/csv", headers={
                "content-disposition": 'attachment; filename="hazard-area.csv"'})
        if chosen == "geojson":
            return JSONResponse(service.hazard_geojson(result), media_type=GEOJSON)
        return result

    @app.post("/api/planning/catchments", tags=["planning"], response_model=None)
    def post_catchments(
        request: Request,
        kind: str = Body("school", description="facility kind from OSM (school, library, "
                         "recycling_centre, leisure_centre, ...)"),
        method: str = Body("road", description="road (travel time) or straight (line)"),
        close: list[str] = Body([], description="refs of facilities to close"),
        open: list[dict[str, Any]] = Body([], description="new facilities: name, lon, lat"),
        facilities: dict[str, Any] | None = Body(
            None, description="a GeoJSON FeatureCollection of your own facilities"),
        format: str | None = Query(None, description="json (default), csv or geojson"),
        principal: Principal = Depends(current_principal),
    ) -> Any:
        """Catchments by road travel time or straight line: homes and people per facility,
        travel-time bands, and what changes if facilities close or open."""
        chosen = _format(format)
        started = time.perf_counter()
        with request.app.state.database.connect() as conn:
            result = service.catchment_job(conn, request.app.state.settings, principal, kind,
                                           method, close, open, facilities)
        service.keep_run(request.app.state.database, result, principal,
                         time.perf_counter() - started)
        if chosen == "csv":
            return Response(service.catchment_csv(result), media_type="text/csv", headers={
                "content-disposition": f'attachment; filename="catchments-{kind}.csv"'})
        if chosen == "geojson":
            return JSONResponse(service.catchment_geojson(result), media_type=GEOJSON)
        return result

    def _model(target: float, elasticity: float) -> parking.TariffModel:
        try:
            return parking.TariffModel(target_occupancy=target, elasticity=elasticity)
        except ValueError as error:
            raise BadRequest(str(error)) from None

    @app.get("/api/planning/parking", tags=["planning"])
    def get_parking(
        request: Request,
        days: int = Query(7, description="days of history to profile"),
        price: float = Query(1.20, description="current price per hour (£) in every zone"),
        target: float = Query(0.85, description="target occupancy (0-1)"),
        elasticity: float = Query(-0.3, description="price elasticity of parking demand"),
        principal: Principal = Depends(current_principal),
    ) -> dict[str, Any]:
        """Occupancy per car park now and by zone, weekday and hour, with suggested tariffs."""
        return _parking(request, principal, days, _model(target, elasticity), price, [])

    @app.post("/api/planning/parking", tags=["planning"])
    def post_parking(
        request: Request,
        tariffs_: list[dict[str, Any]] = Body(
            ..., alias="tariffs", description="the council's tariff board: rows of zone (a "
            "town, or * for every zone), days (Mon-Sat, Sun, all), from and to (whole hours, "
            "08:00), price (£ per hour); outside its bands parking is free"),
        days: int = Body(7, description="days of history to profile"),
        price: float = Body(1.20, description="price per hour (£) in zones the board omits"),
        target: float = Body(0.85, description="target occupancy (0-1)"),
        elasticity: float = Body(-0.3, description="price elasticity of parking demand"),
        principal: Principal = Depends(current_principal),
    ) -> dict[str, Any]:
        """As GET, with the current prices taken from the council's tariff board."""
        return _parking(request, principal, days, _model(target, elasticity), price,
                        tariffs.read_board(tariffs_))

    def _parking(request: Request, principal: Principal, days: int,
                 model: parking.TariffModel, price: float,
                 board: list[tariffs.TariffBand]) -> dict[str, Any]:
        started = time.perf_counter()
        with request.app.state.database.connect() as conn:
            result = service.parking_job(conn, request.app.state.settings, principal,
                                         datetime.now(UTC), days, model, price, board=board)
        return service.keep_run(request.app.state.database, result, principal,
                                time.perf_counter() - started)

    @app.get("/api/planning/parking/availability", tags=["planning"])
    def get_availability(request: Request) -> dict[str, Any]:
        """Spaces free now in each monitored car park (public sensors only)."""
        with request.app.state.database.connect() as conn:
            found = service.parking_job(conn, request.app.state.settings, ANONYMOUS,
                                        datetime.now(UTC), days=1)
        return {"at": found["at"], "car_parks": [
            {k: row[k] for k in ("ref", "name", "zone", "lon", "lat", "capacity",
                                 "capacity_source", "occupancy_now", "free_now", "status")}
            for row in found["car_parks"]]}

    @app.post("/api/planning/parking/check", tags=["planning"])
    def post_parking_check(request: Request, principal: Principal = Depends(current_principal)
                           ) -> dict[str, Any]:
        """Open a "full" alert for each car park at 95% or more now; resolve the others."""
        # Opening and resolving alerts is a write: editors and admins, as for other alerts.
        if not principal.is_writer:
            raise Forbidden("checking car parks for alerts is for editors and admins: sign in "
                            "with such a role")
        now = datetime.now(UTC)
        with request.app.state.database.begin() as conn:
            found = service.parking_job(conn, request.app.state.settings, principal, now, 1)
            return service.update_full_alerts(conn, found, now, principal)
