"""Spatial assignment: which place of each layer a Thing or a property point lies in.

Boundaries go into a Shapely STRtree per layer; points are located in bulk. A point on the line
between two places goes to the one with the lower id, so every point has at most one place per
layer. Assignments are stored (thing_places, property_point_places) and kept current through the
database's event bus when Things or Locations change.
"""

from __future__ import annotations

import logging
import math
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from shapely import STRtree, points
from shapely.geometry import shape
from sqlalchemy import Connection, Select, delete, insert, select

from placehub.db import Database
from placehub.places.tables import (
    place_layers,
    places,
    property_point_places,
    property_points,
    thing_places,
)
from placehub.sta.tables import locations, thing_locations

log = logging.getLogger(__name__)
BATCH = 5000


@dataclass
class LayerIndex:
    """The places of one layer in an STRtree, for locating many points at once."""

    layer_id: int
    place_ids: np.ndarray
    tree: STRtree

    def locate(self, lon: Sequence[float] | np.ndarray, lat: Sequence[float] | np.ndarray
               ) -> np.ndarray:
        """The place id for each lon/lat point, or -1 where the point is in none of them."""
        found = np.full(len(lon), -1, dtype=np.int64)
        if not len(lon):
            return found
        query_points = points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        point_index, tree_index = self.tree.query(query_points, predicate="intersects")
        candidates = self.place_ids[tree_index]
        # Lowest place id first for each point, so boundary points go to one place only.
        order = np.lexsort((candidates, point_index))
        point_index, candidates = point_index[order], candidates[order]
        first = np.ones(len(point_index), dtype=bool)
        first[1:] = point_index[1:] != point_index[:-1]
        found[point_index[first]] = candidates[first]
        return found


def layer_indexes(conn: Connection, layer_ids: Iterable[int] | None = None) -> list[LayerIndex]:
    """One STRtree per layer (every layer, or the given ones)."""
    query = select(places.c.id, places.c.layer_id, places.c.geometry).order_by(places.c.id)
    if layer_ids is not None:
        query = query.where(places.c.layer_id.in_(list(layer_ids)))
    by_layer: dict[int, tuple[list[int], list[Any]]] = {}
    for row in conn.execute(query):
        ids, geometries = by_layer.setdefault(row.layer_id, ([], []))
        ids.append(row.id)
        geometries.append(shape(row.geometry))
    return [LayerIndex(layer_id, np.asarray(ids, dtype=np.int64), STRtree(geometries))
            for layer_id, (ids, geometries) in sorted(by_layer.items())]


def representative_lonlat(geojson: Any) -> tuple[float, float] | None:
    """The point that stands for a Location: itself for a Point, a point inside for areas."""
    if isinstance(geojson, dict) and geojson.get("type") == "Feature":
        geojson = geojson.get("geometry")
    point = _plain_point(geojson)
    if point is not None:
        return point
    try:
        geometry = shape(geojson)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        return None
    if geometry.is_empty:
        return None
    point = geometry if geometry.geom_type == "Point" else geometry.representative_point()
    return (point.x, point.y)


def _plain_point(geojson: Any) -> tuple[float, float] | None:
    """A GeoJSON Point's finite (lon, lat) read directly (most Locations are such points, and
    Shapely costs tens of microseconds each); None for anything else."""
    if not isinstance(geojson, dict) or geojson.get("type") != "Point":
        return None
    coordinates = geojson.get("coordinates")
    if not isinstance(coordinates, list | tuple) or len(coordinates) < 2:
        return None
    lon, lat = coordinates[0], coordinates[1]
    if (type(lon) not in (int, float) or type(lat) not in (int, float)
            or not math.isfinite(lon) or not math.isfinite(lat)):
        return None
    return (float(lon), float(lat))


def thing_positions(conn: Connection, thing_ids: Iterable[int] | Select[Any] | None = None
                    ) -> dict[int, tuple[float, float]]:
    """Each Thing's position: its Location (the newest one when it has several).

    ``thing_ids``: some Things (ids, or a query selecting them), or None for all."""
    query = (select(thing_locations.c.thing_id, locations.c.location)
             .join(locations, locations.c.id == thing_locations.c.location_id)
             .order_by(thing_locations.c.thing_id, locations.c.id))
    if isinstance(thing_ids, Select):
        query = query.where(thing_locations.c.thing_id.in_(thing_ids))
    elif thing_ids is not None:
        query = query.where(thing_locations.c.thing_id.in_(list(thing_ids)))
    found: dict[int, tuple[float, float]] = {}
    for row in conn.execute(query):
        position = representative_lonlat(row.location)
        if position is not None:
            found[row.thing_id] = position  # later (higher id) Locations win
    return found


def assign_things(conn: Connection, thing_ids: Iterable[int] | None = None,
                  layer_ids: Iterable[int] | None = None) -> int:
    """Recompute the places of the given Things (all when None) in the given layers (all)."""
    wanted = None if thing_ids is None else sorted(set(thing_ids))
    indexes = layer_indexes(conn, layer_ids)
    clear = delete(thing_places)
    if wanted is not None:
        clear = clear.where(thing_places.c.thing_id.in_(wanted))
    if layer_ids is not None:
        clear = clear.where(thing_places.c.layer_id.in_(list(layer_ids)))
    conn.execute(clear)
    positions = thing_positions(conn, wanted)
    if not positions or not indexes:
        return 0
    ids = np.fromiter(positions.keys(), dtype=np.int64)
    lonlat = np.asarray(list(positions.values()), dtype=float)
    rows: list[dict[str, int]] = []
    for index in indexes:
        located = index.locate(lonlat[:, 0], lonlat[:, 1])
        rows.extend({"thing_id": int(t), "layer_id": index.layer_id, "place_id": int(p)}
                    for t, p in zip(ids, located, strict=True) if p >= 0)
    for start in range(0, len(rows), BATCH):
        conn.execute(insert(thing_places), rows[start:start + BATCH])
    return len(rows)


def assign_points(conn: Connection, layer_ids: Iterable[int] | None = None,
                  sources: Iterable[str] | None = None) -> int:
    """Recompute the places of property points (all, or of some sources) in some layers (all)."""
    indexes = layer_indexes(conn, layer_ids)
    query = select(property_points.c.id, property_points.c.lon, property_points.c.lat)
    if sources is not None:
        query = query.where(property_points.c.source.in_(list(sources)))
    rows_in = conn.execute(query).all()
    clear = delete(property_point_places)
    if layer_ids is not None:
        clear = clear.where(property_point_places.c.layer_id.in_(list(layer_ids)))
    if sources is not None:
        clear = clear.where(property_point_places.c.point_id.in_(
            select(property_points.c.id).where(property_points.c.source.in_(list(sources)))))
    conn.execute(clear)
    if not rows_in or not indexes:
        return 0
    ids = np.asarray([r.id for r in rows_in], dtype=np.int64)
    lon = np.asarray([r.lon for r in rows_in])
    lat = np.asarray([r.lat for r in rows_in])
    total = 0
    for index in indexes:
        located = index.locate(lon, lat)
        rows = [{"point_id": int(i), "layer_id": index.layer_id, "place_id": int(p)}
                for i, p in zip(ids, located, strict=True) if p >= 0]
        for start in range(0, len(rows), BATCH):
            conn.execute(insert(property_point_places), rows[start:start + BATCH])
        total += len(rows)
    return total


def assign_everything(conn: Connection) -> tuple[int, int]:
    """Recompute every assignment: (thing assignments, property point assignments)."""
    return assign_things(conn), assign_points(conn)


def layer_ids(conn: Connection) -> list[int]:
    """Ids of every place layer."""
    return list(conn.execute(select(place_layers.c.id).order_by(place_layers.c.id)).scalars())


# Databases whose event bus already has the assignment subscriber (one per database, however
# many apps share it).
_SUBSCRIBED: weakref.WeakSet[Database] = weakref.WeakSet()


def keep_assignments_current(database: Database) -> None:
    """Reassign Things to places whenever their Location or the Thing itself changes."""
    if database in _SUBSCRIBED:
        return
    _SUBSCRIBED.add(database)
    database_ref = weakref.ref(database)

    def reassign(thing_ids: Iterable[int]) -> None:
        current = database_ref()
        ids = [int(t) for t in thing_ids or ()]
        if current is None or not ids:
            return
        with current.begin() as conn:
            # Deleted Things have no Location left; their rows went with the Thing (cascade).
            assign_things(conn, ids)

    database.events.subscribe("locations.changed", reassign)
    database.events.subscribe("things.changed", reassign)
