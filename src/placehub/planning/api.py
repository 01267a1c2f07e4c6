"""HTTP routes of placehub.planning: hazard areas, catchments and parking."""

from __future__ import annotations

from typing import Any

from fastapi import Body, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response

from placehub.access.requests import current_principal
from placehub.access.service import Principal
from placehub.errors import BadRequest
from placehub.planning import hazards, service

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
        area: dict[str, Any] = Body(..., description="GeoJSON Polygon, Feature or "
                                    "FeatureCollection (lon/lat), e.g. an EA flood area"),
        name: str | None = Body(None), rest_centre: str | None = Body(
            None, description="lon,lat of the rest centre"),
        format: str | None = Query(None, description="json (default), csv or geojson"),
        principal: Principal = Depends(current_principal),
    ) -> Any:
        """Homes, vulnerable sites and assets inside an area, roads closed, routes cut. Homes
        are listed for officers only; others get disclosure-controlled counts."""
        chosen = _format(format)
        found = hazards.read_area(area, name=name, source="drawn" if name is None and
                                  area.get("type") == "Polygon" else "upload")
        with request.app.state.database.connect() as conn:
            result = service.hazard_job(conn, request.app.state.settings, principal, found,
                                        service.parse_lonlat(rest_centre))
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
        with request.app.state.database.connect() as conn:
            result = service.catchment_job(conn, request.app.state.settings, principal, kind,
                                           method, close, open, facilities)
        if chosen == "csv":
            return Response(service.catchment_csv(result), media_type="text/csv", headers={
                "content-disposition": f'attachment; filename="catchments-{kind}.csv"'})
        if chosen == "geojson":
            return JSONResponse(service.catchment_geojson(result), media_type=GEOJSON)
        return result
