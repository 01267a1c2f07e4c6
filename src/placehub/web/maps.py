"""What the map pages need: filters, the sortable table of assets, and the boundary layers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request

from placehub.access.service import ANONYMOUS, Principal
from placehub.errors import NotFound
from placehub.places.queries import as_feature, layer_places
from placehub.web import catalogue
from placehub.web.listing import Column, paginate, pagination, sort_items, sortable_head

BOUNDARY_LAYERS = ("wards", "lsoas")

COLUMNS = [
    Column("name", "Name", lambda a: a.name.lower()),
    Column("type", "Type", lambda a: a.type_label),
    Column("status", "Status", lambda a: a.status_label),
    Column("fill", "Fill (%)", lambda a: a.fill_percent, numeric=True),
    Column("seen", "Last reading", lambda a: a.last_seen),
]
# A district-sized view used before any asset has a position (Rutland).
DEFAULT_BOUNDS = [-0.83, 52.52, -0.42, 52.77]


def map_context(request: Request, principal: Principal, public: bool) -> dict[str, Any]:
    """Assets (filtered), one page of the table, the legend and the map's data URLs."""
    params = request.query_params
    asset_type = params.get("type", "")
    status = params.get("status", "")
    sort = params.get("sort", "name")
    direction = "desc" if params.get("dir") == "desc" else "asc"
    try:
        number = int(params.get("page", "1"))
    except ValueError:
        number = 1
    who = ANONYMOUS if public else principal
    with request.app.state.database.connect() as conn:
        everything = catalogue.list_assets(conn, who, datetime.now(UTC))
    types = sorted({a.asset_type for a in everything})
    shown = [a for a in everything
             if (not asset_type or a.asset_type == asset_type)
             and (not status or a.status == status)]
    rows = sort_items(shown, COLUMNS, sort, direction)
    page = paginate(rows, number)
    query = {k: v for k, v in {"type": asset_type, "status": status}.items() if v}
    geo_query = "&".join(f"{k}={v}" for k, v in query.items())
    if public:
        geo_query = "public=true" + (f"&{geo_query}" if geo_query else "")
    positioned = [a for a in shown if a.lon is not None and a.lat is not None]
    bounds = ([min(a.lon for a in positioned), min(a.lat for a in positioned),  # type: ignore[type-var]
               max(a.lon for a in positioned), max(a.lat for a in positioned)]  # type: ignore[type-var]
              if positioned else DEFAULT_BOUNDS)
    return {
        "title": "Public map of sensors" if public else "Map of assets",
        "public": public,
        "types": [(t, catalogue.asset_type_label(t)) for t in types],
        "statuses": list(catalogue.STATUS_LABELS.items()),
        "asset_type": asset_type,
        "status": status,
        "page": page,
        "head": sortable_head(COLUMNS, {**query}, sort, direction),
        "pagination": pagination(page, {**query, "sort": sort, "dir": direction}),
        "assets_url": "/geo/assets.geojson" + (f"?{geo_query}" if geo_query else ""),
        "bounds": ",".join(f"{v:.5f}" for v in bounds),
        "asset_link": not public,
        "layers_available": True,
    }


def layer_features(conn: Connection, layer: str, principal: Principal) -> dict[str, Any]:
    """A boundary layer (wards, lsoas) as GeoJSON, with the principal's asset counts per place."""
    if layer == "roads":
        # Not drawn yet: the road network is a routing graph (npz), not stored GeoJSON.
        return {"type": "FeatureCollection", "features": [], "available": False}
    if layer not in BOUNDARY_LAYERS:
        raise NotFound(f"no map layer {layer!r}: use one of {', '.join(BOUNDARY_LAYERS)}")
    found = layer_places(conn, layer, principal, with_geometry=True)
    return {"type": "FeatureCollection",
            "features": [as_feature(entry, layer) for entry in found["places"]]}
