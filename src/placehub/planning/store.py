"""What the planning jobs read from the database: property points and visible assets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, func, or_, select

from placehub.access.service import Principal
from placehub.access.visibility import visible_clause
from placehub.places.tables import place_layers, places, property_point_places, property_points
from placehub.planning.hazards import Asset, PropertySet
from placehub.sta.tables import (
    RESULT_BOOLEAN,
    RESULT_NUMBER,
    datastreams,
    locations,
    observations,
    thing_locations,
    things,
)


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


PARKING_BAY = "parking_bay"


def load_bays(conn: Connection, principal: Principal, since: datetime, until: datetime
              ) -> list[dict[str, Any]]:
    """Parking bay sensors the reader may see: id, name, position, the car park they are in
    (``car_park`` property, if set), and their occupancy reports from ``since`` to ``until``
    (plus the last one before ``since``, which holds at the start)."""
    visible = visible_clause(principal, things.c.organisation_id, things.c.visibility)
    bays: dict[int, dict[str, Any]] = {}
    for row in conn.execute(
            select(things.c.id, things.c.name, things.c.properties, locations.c.location)
            .join(thing_locations, thing_locations.c.thing_id == things.c.id)
            .join(locations, locations.c.id == thing_locations.c.location_id)
            .where(visible).order_by(things.c.id)):
        properties = row.properties if isinstance(row.properties, dict) else {}
        point = _point_of(row.location)
        if properties.get("asset_type") != PARKING_BAY or point is None or row.id in bays:
            continue
        bays[row.id] = {"id": row.id, "name": row.name, "lon": point[0], "lat": point[1],
                        "car_park": properties.get("car_park"), "times": [], "states": []}
    if not bays:
        return []
    streams: dict[int, int] = {}
    for stream in conn.execute(select(datastreams.c.id, datastreams.c.thing_id,
                                      datastreams.c.properties)
                               .where(datastreams.c.thing_id.in_(list(bays)))):
        properties = stream.properties if isinstance(stream.properties, dict) else {}
        if properties.get("quantity") == "occupancy":
            streams[int(stream.id)] = int(stream.thing_id)
    if not streams:
        return list(bays.values())
    value = func.coalesce(observations.c.result_boolean,
                          observations.c.result_number != 0).label("value")
    # The report in force at ``since``: the latest before it, per Datastream.
    before = (select(observations.c.datastream_id,
                     func.max(observations.c.phenomenon_time_start).label("at"))
              .where(observations.c.datastream_id.in_(list(streams)),
                     observations.c.phenomenon_time_start < since)
              .group_by(observations.c.datastream_id).subquery())
    rows = conn.execute(
        select(observations.c.datastream_id, observations.c.phenomenon_time_start, value)
        .where(observations.c.datastream_id.in_(list(streams)),
               observations.c.result_type.in_([RESULT_BOOLEAN, RESULT_NUMBER]),
               or_(and_(observations.c.phenomenon_time_start >= since,
                        observations.c.phenomenon_time_start <= until),
                   observations.c.phenomenon_time_start == select(before.c.at).where(
                       before.c.datastream_id == observations.c.datastream_id
                   ).scalar_subquery()))
        .order_by(observations.c.datastream_id, observations.c.phenomenon_time_start,
                  observations.c.id))
    for report in rows:
        if report.value is None:
            continue
        bay = bays[streams[report.datastream_id]]
        at = report.phenomenon_time_start
        bay["times"].append(max(at, since).timestamp())
        bay["states"].append(bool(report.value))
    return list(bays.values())
