"""What the map pages need: filters, the sortable paged table of assets (and its CSV), and the
layers drawn under the assets (ward outlines, roads), served as compact gzipped GeoJSON."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from placehub.access.service import ANONYMOUS, Principal
from placehub.assets.status import STATUS_LABELS
from placehub.assets.summary import AssetSummary
from placehub.assets.types import asset_type_label
from placehub.errors import BadRequest, NotFound
from placehub.governance import read_audit
from placehub.governance.data_classes import classes_of_things, thing_class
from placehub.places.queries import layer_outlines, layer_version, places_of_things
from placehub.places.road_map import RoadMap, road_map
from placehub.web import downloads
from placehub.web.asset_snapshot import COORDINATE_DECIMALS, snapshot_of
from placehub.web.listing import Column, paginate, pagination, sortable_head, table_order

BOUNDARY_LAYERS = ("wards", "lsoas")

COLUMNS = [
    Column("name", "Name", lambda a: a.name.lower()),
    Column("type", "Type", lambda a: a.type_label),
    Column("status", "Status", lambda a: a.status_label),
    Column("fill", "Fill (%)", lambda a: a.fill_percent, numeric=True),
    Column("seen", "Last reading", lambda a: a.last_seen),
]
# From this many assets the map loads them as vector tiles grouped below street zoom
# (web.asset_tiles) instead of one GeoJSON, so a city's street lights and bins stay quick to
# draw and to read.
CLUSTER_FROM = 5_000
# A district-sized view used before any asset has a position (Rutland).
DEFAULT_BOUNDS = [-0.83, 52.52, -0.42, 52.77]


def map_context(request: Request, principal: Principal, public: bool) -> dict[str, Any]:
    """One page of the (filtered, sorted) asset table, the legend and the map's data URLs, from
    the asset snapshot (only what ``principal``, or anonymous on public pages, may read)."""
    params = request.query_params
    asset_type, status = params.get("type", ""), asset_status(params)
    order = table_order(params, COLUMNS, "name")
    sort, direction = order.sort, order.direction
    view = snapshot_of(request.app).view(ANONYMOUS if public else principal)
    page = paginate(view.sorted(COLUMNS, sort, direction, asset_type, status), order.page)
    if not public:  # the table's rows show each asset's status, fill and last reading
        record_asset_reads(request, principal, "page", page.items)
    query = {k: v for k, v in {"type": asset_type, "status": status}.items() if v}
    geo_query = {**({"public": "true"} if public else {}), **query}
    bounds = view.bounds(asset_type, status) or DEFAULT_BOUNDS
    roads = road_map(request.app.state.settings.road_network_file)
    return {
        "title": "Public map of sensors" if public else "Map of assets",
        "public": public,
        "types": [(t, asset_type_label(t)) for t in view.types()],
        "statuses": list(STATUS_LABELS.items()),
        "asset_type": asset_type,
        "status": status,
        "page": page,
        "head": sortable_head(COLUMNS, {**query}, sort, direction),
        "pagination": pagination(page, {**query, "sort": sort, "dir": direction}),
        "assets_url": "/geo/assets.geojson" + (f"?{urlencode(geo_query)}" if geo_query else ""),
        "asset_tiles_url": "/tiles/assets/{z}/{x}/{y}.pbf" + (
            f"?{urlencode(geo_query)}" if geo_query else ""),
        "downloads": downloads.links("/public/map" if public else "/map",
                                     {**query, "sort": sort, "dir": direction}),
        "bounds": ",".join(f"{v:.5f}" for v in bounds),
        "asset_link": not public,
        "hide_roads": params.get("hide_roads") == "1",
        "cluster": page.total >= CLUSTER_FROM,
        "road_summary": roads.summary if roads else None,
        # Tooltips on the map name the type and status the compact GeoJSON gives as codes.
        "labels": {"status": STATUS_LABELS,
                   "type": {t: asset_type_label(t) for t in view.types()}},
    }


def record_asset_reads(request: Request, principal: Principal, channel: str,
                       assets: Iterable[AssetSummary]) -> int:
    """Record in the read audit the assets a map page, layer or download showed whose data
    is not public (status, fill and latest readings are the assets' data)."""
    return read_audit.record_request_reads(
        request.app.state.database, principal, channel,
        read_audit.describe(request.method, request.url.path, request.url.query),
        read_audit.ReadLog({asset.id for asset in assets}))


def asset_status(params: Mapping[str, str]) -> str:
    """The status filter of a map query ("" for every status); an unknown one is a 400."""
    status = params.get("status", "")
    if status and status not in STATUS_LABELS:
        raise BadRequest(f"status={status!r} not understood: use one of "
                         f"{', '.join(STATUS_LABELS)}, or leave it out for all.")
    return status


# Latest readings a map download gives a column each (air-quality stations' pollutants, soil
# moisture), besides a bin's fill.
READING_COLUMNS = ("no2", "pm2_5", "pm10", "soil_moisture")


def reading_value(asset: AssetSummary, quantity: str) -> Any:
    """The asset's latest numeric reading of ``quantity`` (None when it has none)."""
    reading = asset.readings.get(quantity)
    value = reading.value if reading is not None else None
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def table_download(request: Request, principal: Principal, public: bool, fmt: str) -> Response:
    """The whole asset table of the map page (same filters and order, from the same snapshot
    view) as CSV, JSON or GeoJSON, with each asset's ward, latest readings and the link to its
    history download."""
    downloads.check_format(fmt)
    params = request.query_params
    order = table_order(params, COLUMNS, "name")
    view = snapshot_of(request.app).view(ANONYMOUS if public else principal)
    assets = view.sorted(COLUMNS, order.sort, order.direction, params.get("type", ""),
                         asset_status(params))
    database = request.app.state.database
    with database.connect() as conn:
        wards = places_of_things(conn, "wards")
        streams = classes_of_things(conn, (asset.id for asset in assets))
    history = "/public/assets/{}/history.csv" if public else "/assets/{}/history.csv"
    rows = []
    for asset in assets:
        ward = wards.get(asset.id, ("", ""))
        rows.append({
            "id": asset.id, "name": asset.name, "type": asset.type_label,
            "status": asset.status_label, "ward_code": ward[0], "ward": ward[1],
            "fill_percent": asset.fill_percent,
            **{q: reading_value(asset, q) for q in READING_COLUMNS},
            "last_reading": asset.last_seen,
            "longitude": None if asset.lon is None else round(asset.lon, 6),
            "latitude": None if asset.lat is None else round(asset.lat, 6),
            "history": history.format(asset.id),
            "data_class": thing_class(streams.get(asset.id, []), asset.visibility)})
    columns = ["id", "name", "type", "status", "ward_code", "ward", "fill_percent",
               *READING_COLUMNS, "last_reading", "longitude", "latitude", "history",
               "data_class"]
    if not public:  # the latest readings of what is not public: recorded as an export
        record_asset_reads(request, principal, "export", assets)
    return downloads.respond(request, downloads.Table(
        "public-sensors" if public else "assets",
        "Public sensors: status and latest readings" if public else "Assets: status and "
        "latest readings", columns, rows, public=public,
        notes=["Readings in µg/m³ (no2, pm2_5, pm10) and % (fill_percent, soil_moisture); "
               "the history column links to each asset's readings over time."]), fmt)


def boundary_geojson(conn: Connection, layer: str) -> dict[str, Any]:
    """A boundary layer (wards, lsoas) as outlines for the map: code, name and the geometry to
    about a metre."""
    if layer not in BOUNDARY_LAYERS:
        raise NotFound(f"no map layer {layer!r}: use one of {', '.join(BOUNDARY_LAYERS)}, roads")
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": place["code"], "geometry": _rounded(place["geometry"]),
         "properties": {"code": place["code"], "name": place["name"]}}
        for place in layer_outlines(conn, layer)
    ]}


def boundary_geojson_gzip(app: Any, conn: Connection, layer: str) -> bytes:
    """``boundary_geojson`` gzipped, made once per load of the layer's boundaries (every map
    page fetches it; outlining Rutland's wards afresh took 100-500 ms on a loaded machine)."""
    if layer not in BOUNDARY_LAYERS:
        boundary_geojson(conn, layer)  # the NotFound naming the layers there are
    version = layer_version(conn, layer)
    cache: dict[str, tuple[Any, bytes]] | None = getattr(app.state, "boundary_geojson", None)
    if cache is None:
        cache = app.state.boundary_geojson = {}
    found = cache.get(layer)
    if found is None or found[0] != version:
        body = gzip.compress(json.dumps(boundary_geojson(conn, layer), separators=(",", ":"))
                             .encode(), compresslevel=5, mtime=0)
        found = cache[layer] = (version, body)
    return found[1]


def _rounded(value: Any) -> Any:
    """GeoJSON with every coordinate rounded to ``COORDINATE_DECIMALS``."""
    if isinstance(value, float):
        return round(value, COORDINATE_DECIMALS)
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    if isinstance(value, dict):
        return {key: _rounded(item) if key in {"coordinates", "geometries", "geometry"} else item
                for key, item in value.items()}
    return value


@lru_cache(maxsize=2)
def roads_geojson_gzip(roads: RoadMap) -> bytes:
    """The road lines as gzipped GeoJSON (made once per road map)."""
    return gzip.compress(json.dumps(roads.geojson(), separators=(",", ":")).encode(),
                         compresslevel=5)


def gzipped(request: Request, body: bytes, etag: str, media_type: str = "application/geo+json",
            cache_control: str = "private, no-cache") -> Response:
    """A body already gzipped (GeoJSON, a vector tile), with its ETag: 304 when the browser has
    it, gzip when it accepts it (every browser does), else plain; an empty body as it is."""
    headers = {"ETag": etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if not body:
        return Response(b"", media_type=media_type, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(body, media_type=media_type,
                        headers={**headers, "Content-Encoding": "gzip"})
    return Response(gzip.decompress(body), media_type=media_type, headers=headers)
