"""The map of assets (with the same data as a sortable table), each asset's page, and the GeoJSON
the maps draw (placehub's own: no tile server is needed)."""

from __future__ import annotations

import gzip
import hashlib
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.background import BackgroundTask

from placehub import csv_cells
from placehub.access.service import ANONYMOUS, Principal
from placehub.assets.detail import AssetDetail, asset_detail, thresholds_dict
from placehub.assets.forecasting import Crossing
from placehub.assets.levels import Reading
from placehub.assets.summary import AssetSummary, get_asset, history_table, reading_history
from placehub.errors import NotFound
from placehub.governance import read_audit
from placehub.governance.data_classes import classes_of
from placehub.places.road_map import road_map
from placehub.rounds.service import asset_visit
from placehub.web import asset_tiles, downloads, maps
from placehub.web.asset_snapshot import snapshot_of
from placehub.web.basemap import TILE_MEDIA_TYPE
from placehub.web.session import officer, public, viewer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)


def now() -> datetime:
    return datetime.now(UTC)


@router.get("/map")
def map_page(request: Request, principal: Principal = Depends(officer)) -> Response:
    return render(request, "map.html", **maps.map_context(request, principal, public=False))


@router.get("/map.{fmt}")
def map_download(request: Request, fmt: str, principal: Principal = Depends(officer)) -> Response:
    """The map page's whole table (same filters and order) as CSV, JSON or GeoJSON."""
    return maps.table_download(request, principal, public=False, fmt=fmt)


@router.get("/geo/assets.geojson")
def assets_geojson(request: Request, type: str = "", status: str = "", public: bool = False,
                   principal: Principal = Depends(viewer)) -> Response:
    """Assets the viewer may see (public ones only with ``public=true``) as compact GeoJSON."""
    view = snapshot_of(request.app).view(ANONYMOUS if public else principal)
    etag = f'W/"assets-{view.version}-{type}-{status}"'
    if etag in request.headers.get("if-none-match", ""):
        return maps.gzipped(request, b"", etag)  # sent (and recorded) before
    response = maps.gzipped(request, view.geojson_gzip(type, status), etag)
    if not public:  # recorded once the layer is on its way: a big map is not held up
        response.background = BackgroundTask(maps.record_asset_reads, request, principal,
                                             "api", [a for a in view.filtered(type, status)
                                                     if a.lon is not None and a.lat is not None])
    return response


@router.get("/tiles/assets/{z}/{x}/{y}.pbf")
def asset_tile(request: Request, z: int, x: int, y: int, type: str = "", status: str = "",
               public: bool = False, principal: Principal = Depends(viewer)) -> Response:
    """One vector tile of the assets the viewer may read (public ones only with
    ``public=true``): grouped per grid cell below street zoom, each asset from zoom 16. The
    big maps load these instead of ``/geo/assets.geojson``."""
    problem = asset_tiles.check_tile(z, x, y)
    if problem:
        raise NotFound(problem)
    maps.asset_status(request.query_params)  # an unknown status is a 400, not empty tiles
    view = snapshot_of(request.app).view(ANONYMOUS if public else principal)
    etag = f'W/"asset-tile-{view.version}-{type}-{status}-{z}-{x}-{y}"'
    if etag in request.headers.get("if-none-match", ""):
        return maps.gzipped(request, b"", etag, TILE_MEDIA_TYPE)  # sent (and recorded) before

    def make() -> tuple[bytes, list[AssetSummary]]:
        index = view.cached(("tile-index", type, status),
                            lambda: asset_tiles.point_index(view.filtered(type, status)))
        features, shown = asset_tiles.tile_features(index, z, x, y)
        return asset_tiles.encode_tile(features), shown

    body, shown = view.cached(("tile", type, status, z, x, y), make)
    response = maps.gzipped(request, body, etag, TILE_MEDIA_TYPE)
    if not public and shown:  # the assets drawn one by one show their status and fill
        response.background = BackgroundTask(maps.record_asset_reads, request, principal,
                                             "api", shown)
    return response


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
            body = maps.boundary_geojson_gzip(request.app, conn, layer)
    return maps.gzipped(request, body, f'W/"{layer}-{hashlib.sha1(body).hexdigest()[:16]}"')


@router.get("/assets/{thing_id}")
def asset_page(request: Request, thing_id: int, ds: int | None = None, days: int = 7,
               principal: Principal = Depends(officer)) -> Response:
    days = min(max(days, 1), 366)
    at = now()
    with request.app.state.database.connect() as conn:
        detail = asset_detail(conn, principal, thing_id, at)
        asset = detail.asset
        numeric = [r for r in asset.readings.values()
                   if isinstance(r.value, int | float) and not isinstance(r.value, bool)]
        chosen = next((r for r in numeric if r.datastream_id == ds), None) or _main_reading(
            asset, numeric)
        history = (reading_history(conn, principal, chosen.datastream_id,
                                   at - timedelta(days=days))
                   if chosen else [])
        visit = asset_visit(conn, request.app.state.settings, thing_id, at)
        data_classes = classes_of(conn, (r.datastream_id for r in asset.readings.values()))
    read_audit.record_request_reads(
        request.app.state.database, principal, "page", read_audit.describe(
            request.method, request.url.path, request.url.query),
        read_audit.ReadLog({thing_id}, set(data_classes)))
    return render(
        request, "asset.html", title=asset.name, asset=asset, detail=detail, numeric=numeric,
        chosen=chosen, history=history[-50:], history_count=len(history), days=days,
        ward=detail.place("wards"), lsoa=detail.place("lsoas"),
        level=_level_text(asset), forecast=_forecast_rows(detail.forecast), visit=visit,
        thresholds=_threshold_rows(detail), data_classes=data_classes,
        downloads=downloads.links(f"/assets/{asset.id}/history"),
        download_range={"base": f"/assets/{asset.id}/history", "id": "history",
                        "first": (at - timedelta(days=downloads.DEFAULT_DAYS - 1)).date(),
                        "last": at.date()},
    )


def _main_reading(asset: AssetSummary, numeric: list[Reading]) -> Reading | None:
    for quantity in ("fill_level", "distance", "soil_moisture", "no2", "pm2_5", "pm10"):
        if quantity in asset.readings and asset.readings[quantity] in numeric:
            return asset.readings[quantity]
    return numeric[0] if numeric else None


def _level_text(asset: AssetSummary) -> str:
    """The asset's level as a person reads it ("86% full", "soil moisture 23.4%")."""
    level = asset.level
    if level is None:
        return "Not measured"
    if asset.level_kind == "fill":
        return f"{asset.fill_percent}% full"
    if asset.level_kind == "moisture":
        return f"Soil moisture {level.value:.1f}%"
    if asset.level_kind == "no2":
        return f"NO2 {level.value:.1f} µg/m³"
    return f"{level.value:g}"


def _percent_or_moisture(crossing: Crossing, value: float) -> str:
    return (f"{min(value, 1.1) * 100:.0f}% full" if crossing.event == "overflow"
            else f"{value:.1f}% soil moisture")


def _forecast_rows(crossing: Crossing | None) -> list[dict[str, Any]]:
    """The forecast as summary-list rows: chance of crossing the line, when, how it was made."""
    if crossing is None:
        return []
    need = crossing.need
    what = ("overflowing (reaching its full line)" if crossing.event == "overflow"
            else "drying to its watering threshold")
    hours = (need.until - need.at).total_seconds() / 3600
    due = need.due.strftime("%-d %b %Y %H:%M UTC") if need.due else "not within 60 days"
    rate = (f"{need.rate_per_day * 100:.1f} points of fill a day" if crossing.event == "overflow"
            else f"drying {need.rate_per_day:.2f} points of moisture a day")
    return [
        {"key": {"text": f"Chance of {what} within {hours:.0f} h"},
         "value": {"text": f"{need.probability:.0%}"}},
        {"key": {"text": "Level now (estimated)"},
         "value": {"text": _percent_or_moisture(crossing, need.level)}},
        {"key": {"text": f"Expected in {hours:.0f} h"},
         "value": {"text": _percent_or_moisture(crossing, need.expected_level)}},
        {"key": {"text": "Expected to cross its line"}, "value": {"text": due}},
        {"key": {"text": "Rate"}, "value": {"text": rate}},
        {"key": {"text": "How"}, "value": {
            "text": f"{crossing.forecaster}, {need.method}, {need.readings_used} readings"}},
    ]


def _threshold_rows(detail: AssetDetail) -> list[list[dict[str, Any]]]:
    """The asset's thresholds and where each came from, as table rows."""
    return [[{"text": name.replace("_", " ")}, {"text": f"{entry['value']:g}"},
             {"text": entry["meaning"]}, {"text": entry["source"]}]
            for name, entry in thresholds_dict(detail.asset).items() if name != "ignored"]


def _history(request: Request, principal: Principal, thing_id: int, datastream_id: int,
             days: int) -> tuple[AssetSummary, Reading, list[Any], str]:
    with request.app.state.database.connect() as conn:
        asset = get_asset(conn, principal, thing_id, now())
        reading = next((r for r in asset.readings.values() if r.datastream_id == datastream_id),
                       None)
        if reading is None:
            raise NotFound(f"asset {thing_id} has no datastream {datastream_id}")
        rows = reading_history(conn, principal, datastream_id,
                                         now() - timedelta(days=min(max(days, 1), 366)))
        data_class = classes_of(conn, [datastream_id])[datastream_id].data_class
    read_audit.record_request_reads(
        request.app.state.database, principal, "export", read_audit.describe(
            request.method, request.url.path, request.url.query),
        read_audit.ReadLog({thing_id}, {datastream_id}))
    return asset, reading, rows, data_class


@router.get("/assets/{thing_id}/history/{datastream_id}.json")
def history_json(request: Request, thing_id: int, datastream_id: int, days: int = 7,
                 principal: Principal = Depends(officer)) -> Response:
    asset, reading, rows, data_class = _history(request, principal, thing_id, datastream_id,
                                                days)
    return JSONResponse({
        "name": reading.name, "quantity": reading.quantity, "unit": reading.unit,
        "data_class": data_class,
        "points": [{"time": t.isoformat(), "value": v} for t, v in rows],
    })


@router.get("/assets/{thing_id}/history/{datastream_id}.csv")
def history_csv(request: Request, thing_id: int, datastream_id: int, days: int = 7,
                principal: Principal = Depends(officer)) -> Response:
    asset, reading, rows, data_class = _history(request, principal, thing_id, datastream_id,
                                                days)
    out = io.StringIO()
    writer = csv_cells.writer(out)
    writer.writerow(["asset_id", "asset", "quantity", "unit", "phenomenon_time", "value",
                     "data_class"])
    for time, value in rows:
        writer.writerow([asset.id, asset.name, reading.quantity, reading.unit, time.isoformat(),
                         value, data_class])
    filename = f"asset-{asset.id}-{reading.quantity}.csv"
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "X-Data-Class": data_class})


# The most readings of one quantity a history download holds (a year of readings every
# ten minutes); a longer range is refused with a 400 asking for fewer days.
HISTORY_ROWS = 60_000


def history_download(request: Request, principal: Principal, thing_id: int, fmt: str,
                     public: bool) -> Response:
    """Every numeric reading of an asset over ``from``..``to`` (the last 7 days by default),
    one row per time and one column per quantity: an air station's pollutants side by side."""
    downloads.check_format(fmt)
    at = now()
    period = downloads.period_of(request.query_params, at.date())
    with request.app.state.database.connect() as conn:
        asset = get_asset(conn, principal, thing_id, at)
        readings, rows = history_table(conn, principal, asset, period.start, period.end,
                                       HISTORY_ROWS)
    if not public:
        read_audit.record_request_reads(
            request.app.state.database, principal, "export", read_audit.describe(
                request.method, request.url.path, request.url.query),
            read_audit.ReadLog({thing_id}, {r.datastream_id for r in readings}))
    point = (None if asset.lon is None or asset.lat is None else
             {"type": "Point", "coordinates": [round(asset.lon, 6), round(asset.lat, 6)]})
    units = ", ".join(f"{r.quantity} in {r.unit}" for r in readings if r.unit)
    return downloads.respond(request, downloads.Table(
        f"asset-{asset.id}-history-{period.first}-to-{period.last}",
        f"{asset.name}: readings from {period.first} to {period.last}",
        ["time", *(r.quantity for r in readings)], rows, public=public,
        geometry=lambda _: point, period=(period.start, period.end),
        notes=[f"Asset {asset.id}, {asset.name} ({asset.type_label}). Times in UTC."
               + (f" Units: {units}." if units else "")]), fmt)


@router.get("/assets/{thing_id}/history.{fmt}")
def asset_history_download(request: Request, thing_id: int, fmt: str,
                           principal: Principal = Depends(officer)) -> Response:
    """An asset's readings over a date range, all quantities as columns (CSV, JSON, GeoJSON)."""
    return history_download(request, principal, thing_id, fmt, public=False)


@router.get("/public/assets/{thing_id}/history.{fmt}")
def public_history_download(request: Request, thing_id: int, fmt: str,
                            principal: Principal = Depends(public)) -> Response:
    """A public asset's readings over a date range (a restricted one is not found)."""
    return history_download(request, principal, thing_id, fmt, public=True)
