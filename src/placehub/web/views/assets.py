"""The map of assets (with the same data as a sortable table), each asset's page, and the GeoJSON
the maps draw (placehub's own: no tile server is needed)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from placehub.access.service import ANONYMOUS, Principal
from placehub.places.road_map import road_map
from placehub.web import catalogue, maps
from placehub.web.asset_snapshot import snapshot_of
from placehub.web.concerns import optional_function
from placehub.web.session import officer, viewer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)


def now() -> datetime:
    return datetime.now(UTC)


@router.get("/map")
def map_page(request: Request, principal: Principal = Depends(officer)) -> Response:
    return render(request, "map.html", **maps.map_context(request, principal, public=False))


@router.get("/map.csv")
def map_csv(request: Request, principal: Principal = Depends(officer)) -> Response:
    """The map page's whole table (same filters and order) as CSV."""
    return maps.table_csv(request, principal, public=False)


@router.get("/geo/assets.geojson")
def assets_geojson(request: Request, type: str = "", status: str = "", public: bool = False,
                   principal: Principal = Depends(viewer)) -> Response:
    """Assets the viewer may see (public ones only with ``public=true``) as compact GeoJSON."""
    view = snapshot_of(request.app).view(ANONYMOUS if public else principal)
    etag = f'W/"assets-{view.version}-{type}-{status}"'
    if etag in request.headers.get("if-none-match", ""):
        return maps.gzipped_json(request, b"", etag)
    return maps.gzipped_json(request, view.geojson_gzip(type, status), etag)


@router.get("/geo/roads.csv")
def roads_csv(request: Request, _: Principal = Depends(viewer)) -> Response:
    """The roads drawn on the map, one row per OSM way (empty until roads are loaded)."""
    roads = road_map(request.app.state.settings.road_network_file)
    return Response(roads.csv() if roads else "osm_way_id,length_m,speed_mph,one_way\n",
                    media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="roads.csv"'})


@router.get("/geo/{layer}.geojson")
def layer_geojson(request: Request, layer: str, _: Principal = Depends(viewer)) -> Response:
    """Ward or LSOA outlines, or the roads (empty until ``placehub load roads``)."""
    if layer == "roads":
        roads = road_map(request.app.state.settings.road_network_file)
        body = maps.roads_geojson_gzip(roads) if roads else gzip.compress(
            b'{"type":"FeatureCollection","features":[]}', mtime=0)
    else:
        with request.app.state.database.connect() as conn:
            body = gzip.compress(json.dumps(maps.boundary_geojson(conn, layer),
                                            separators=(",", ":")).encode(), compresslevel=5,
                                 mtime=0)
    return maps.gzipped_json(request, body, f'W/"{layer}-{hashlib.sha1(body).hexdigest()[:16]}"')


@router.get("/assets/{thing_id}")
def asset_page(request: Request, thing_id: int, ds: int | None = None, days: int = 7,
               principal: Principal = Depends(officer)) -> Response:
    days = min(max(days, 1), 366)
    with request.app.state.database.connect() as conn:
        asset = catalogue.get_asset(conn, principal, thing_id, now())
        numeric = [r for r in asset.readings.values()
                   if isinstance(r.value, int | float) and not isinstance(r.value, bool)]
        chosen = next((r for r in numeric if r.datastream_id == ds), None) or _main_reading(
            asset, numeric)
        history = (catalogue.reading_history(conn, principal, chosen.datastream_id,
                                             now() - timedelta(days=days))
                   if chosen else [])
        place = _place_of(conn, thing_id)
        forecast = _forecast_of(conn, asset)
        asset_alerts = _alerts_of(conn, principal, thing_id)
    return render(
        request, "asset.html", title=asset.name, asset=asset, numeric=numeric, chosen=chosen,
        history=history[-50:], history_count=len(history), days=days, place=place,
        forecast=forecast, asset_alerts=asset_alerts,
    )


def _main_reading(asset: catalogue.AssetSummary,
                  numeric: list[catalogue.Reading]) -> catalogue.Reading | None:
    for quantity in ("fill_level", "distance", "soil_moisture", "no2", "pm2_5", "pm10"):
        if quantity in asset.readings and asset.readings[quantity] in numeric:
            return asset.readings[quantity]
    return numeric[0] if numeric else None


def _place_of(conn: Any, thing_id: int) -> dict[str, Any] | None:
    places_of_thing = optional_function("placehub.places.assignment", "places_of_thing")
    return places_of_thing(conn, thing_id) if places_of_thing else None


def _forecast_of(conn: Any, asset: catalogue.AssetSummary) -> Any:
    forecast_asset = optional_function("placehub.rounds.forecast", "forecast_asset")
    return forecast_asset(conn, asset.id, now()) if forecast_asset else None


def _alerts_of(conn: Any, principal: Principal, thing_id: int) -> list[Any] | None:
    alerts_for_thing = optional_function("placehub.alerts.lifecycle", "alerts_for_thing")
    return alerts_for_thing(conn, principal, thing_id) if alerts_for_thing else None


def _history(request: Request, principal: Principal, thing_id: int, datastream_id: int,
             days: int) -> tuple[catalogue.AssetSummary, catalogue.Reading, list[Any]]:
    with request.app.state.database.connect() as conn:
        asset = catalogue.get_asset(conn, principal, thing_id, now())
        reading = next((r for r in asset.readings.values() if r.datastream_id == datastream_id),
                       None)
        if reading is None:
            from placehub.errors import NotFound
            raise NotFound(f"asset {thing_id} has no datastream {datastream_id}")
        rows = catalogue.reading_history(conn, principal, datastream_id,
                                         now() - timedelta(days=min(max(days, 1), 366)))
    return asset, reading, rows


@router.get("/assets/{thing_id}/history/{datastream_id}.json")
def history_json(request: Request, thing_id: int, datastream_id: int, days: int = 7,
                 principal: Principal = Depends(officer)) -> Response:
    asset, reading, rows = _history(request, principal, thing_id, datastream_id, days)
    return JSONResponse({
        "name": reading.name, "quantity": reading.quantity, "unit": reading.unit,
        "points": [{"time": t.isoformat(), "value": v} for t, v in rows],
    })


@router.get("/assets/{thing_id}/history/{datastream_id}.csv")
def history_csv(request: Request, thing_id: int, datastream_id: int, days: int = 7,
                principal: Principal = Depends(officer)) -> Response:
    asset, reading, rows = _history(request, principal, thing_id, datastream_id, days)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["asset_id", "asset", "quantity", "unit", "phenomenon_time", "value"])
    for time, value in rows:
        writer.writerow([asset.id, asset.name, reading.quantity, reading.unit, time.isoformat(),
                         value])
    filename = f"asset-{asset.id}-{reading.quantity}.csv"
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
