"""What the planning jobs read from the database: property points and visible assets."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import Connection, select

from placehub.access.service import Principal
from placehub.access.visibility import visible_clause
from placehub.places.tables import place_layers, places, property_point_places, property_points
from placehub.planning.hazards import Asset, PropertySet
from placehub.sta.tables import locations, thing_locations, things


def may_list_properties(principal: Principal) -> bool:
    """Property-level lists are for council officers (a signed-in member of an organisation)."""
    return principal.write_anywhere or bool(principal.roles)


def load_properties(conn: Connection, sources: list[str] | None = None,
                    ward_layer: str = "wards") -> PropertySet:
    """Every property point (optionally of some sources), with its ward's name when assigned."""
    ward_layer_id = conn.execute(select(place_layers.c.id).where(
        place_layers.c.name == ward_layer)).scalar()
    query = select(property_points.c.id, property_points.c.ref, property_points.c.source,
                   property_points.c.lon, property_points.c.lat, places.c.name.label("ward"))
    query = query.outerjoin(property_point_places, (
        property_point_places.c.point_id == property_points.c.id)
        & (property_point_places.c.layer_id == ward_layer_id)).outerjoin(
        places, places.c.id == property_point_places.c.place_id)
    if sources:
        query = query.where(property_points.c.source.in_(sources))
    rows = conn.execute(query.order_by(property_points.c.id)).all()
    return PropertySet(
        np.array([r.id for r in rows], dtype=np.int64), [r.ref for r in rows],
        [r.source for r in rows], np.array([r.lon for r in rows], dtype=float),
        np.array([r.lat for r in rows], dtype=float), [r.ward or "" for r in rows])


def _point_of(location: Any) -> tuple[float, float] | None:
    if isinstance(location, dict) and location.get("type") == "Point":
        coords = location.get("coordinates") or []
        if len(coords) >= 2:
            return float(coords[0]), float(coords[1])
    return None


def load_assets(conn: Connection, principal: Principal,
                asset_types: list[str] | None = None) -> list[Asset]:
    """Things with a point Location that ``principal`` may read, with their asset type."""
    visible = visible_clause(principal, things.c.organisation_id, things.c.visibility)
    rows = conn.execute(
        select(things.c.id, things.c.name, things.c.properties, locations.c.location)
        .join(thing_locations, thing_locations.c.thing_id == things.c.id)
        .join(locations, locations.c.id == thing_locations.c.location_id)
        .where(visible).order_by(things.c.id))
    found: dict[int, Asset] = {}
    for row in rows:
        point = _point_of(row.location)
        properties = row.properties if isinstance(row.properties, dict) else {}
        kind = str(properties.get("asset_type") or "other")
        if point is None or row.id in found or (asset_types and kind not in asset_types):
            continue
        found[row.id] = Asset(row.id, row.name, kind, point[0], point[1])
    return list(found.values())
