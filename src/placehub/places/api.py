"""HTTP routes of placehub.places: layers, places (JSON or GeoJSON) and 'about the data'."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse

from placehub.access.requests import current_principal
from placehub.access.service import Principal
from placehub.errors import BadRequest
from placehub.places.about_data import about_data
from placehub.places.assign import keep_assignments_current
from placehub.places.queries import as_feature, layer_places, list_layers, place_detail
from placehub.places.roads import distance_source

GEOJSON = "application/geo+json"


def _wants_geojson(request: Request, format: str | None) -> bool:
    if format is not None:
        if format not in {"json", "geojson"}:
            raise BadRequest(f"format={format!r}: use json or geojson")
        return format == "geojson"
    return GEOJSON in request.headers.get("accept", "")


def register(app: FastAPI) -> None:
    """Add this concern's routes to the app, and keep Things' places current."""
    keep_assignments_current(app.state.database)

    @app.get("/api/places", tags=["places"])
    def get_layers(request: Request) -> dict[str, Any]:
        """The place layers, and which distance source rounds will use."""
        with request.app.state.database.connect() as conn:
            layers = list_layers(conn)
        roads = distance_source(Path(request.app.state.settings.road_network_file))
        return {"layers": layers, "distance_source": roads.name}

    @app.get("/api/places/{layer}", tags=["places"], response_model=None)
    def get_layer(
        request: Request,
        layer: str,
        format: str | None = Query(None, description="json (default) or geojson"),
        geometry: bool = Query(False, description="include boundaries in JSON"),
        principal: Principal = Depends(current_principal),
    ) -> Any:
        """The places of a layer with assets by type, latest status and property counts."""
        as_geojson = _wants_geojson(request, format)
        with request.app.state.database.connect() as conn:
            found = layer_places(conn, layer, principal, with_geometry=geometry or as_geojson)
        if as_geojson:
            return JSONResponse({
                "type": "FeatureCollection", "name": found["layer"], "title": found["title"],
                "features": [as_feature(place, layer) for place in found["places"]],
            }, media_type=GEOJSON)
        return found

    @app.get("/api/places/{layer}/{code}", tags=["places"], response_model=None)
    def get_place(
        request: Request,
        layer: str,
        code: str,
        format: str | None = Query(None, description="json (default) or geojson"),
        principal: Principal = Depends(current_principal),
    ) -> Any:
        """One place: name, boundary, assets in it by type, latest status, property count."""
        as_geojson = _wants_geojson(request, format)
        with request.app.state.database.connect() as conn:
            found = place_detail(conn, layer, code, principal)
        if as_geojson:
            return JSONResponse(as_feature(found, layer), media_type=GEOJSON)
        return found

    @app.get("/api/about-data", tags=["places"])
    def get_about_data(request: Request) -> dict[str, Any]:
        """Every data source in use and the credit its licence asks for."""
        return about_data(request.app.state.settings.data_path)
