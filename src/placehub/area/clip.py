"""Cutting an OpenStreetMap extract down to an area, with pyosmium.

The "complete ways" strategy of ``osmium extract``: every node inside the polygon, every way
with a node inside (with all its nodes, so roads crossing the edge stay whole), every relation
with a member inside, and what those reference (``IdTracker.complete_backward_references``).
Objects are written in the order of the source file, as osmium expects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import osmium
import shapely
from pyproj import Transformer
from shapely import Geometry

# Nodes are tested against the polygon in batches (Shapely's vectorised contains_xy).
BATCH = 200_000


@dataclass(frozen=True)
class ClipReport:
    """How much of the source extract the clipped one kept."""

    nodes_inside: int
    ways: int
    relations: int
    bytes: int


def buffered(area: Geometry, metres: float) -> Geometry:
    """``area`` (lon/lat) grown by ``metres``, buffered on the British National Grid."""
    if metres <= 0:
        return area
    to_grid = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    to_lonlat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    grid = shapely.transform(area, lambda xy: np.column_stack(to_grid.transform(*xy.T)))
    grown = grid.buffer(metres)
    return shapely.transform(grown, lambda xy: np.column_stack(to_lonlat.transform(*xy.T)))


def clip_extract(source: str | Path, area: Geometry, target: str | Path,
                 progress: Callable[[str, int, int | None], None] | None = None) -> ClipReport:
    """Write the part of ``source`` (.osm.pbf) inside ``area`` (lon/lat) to ``target``."""
    source, target = str(source), Path(target)
    report = progress or (lambda _what, _done, _total: None)
    shapely.prepare(area)
    minx, miny, maxx, maxy = area.bounds
    inside = osmium.IdTracker()  # nodes inside the area
    keep = osmium.IdTracker()  # everything written
    ids: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    nodes_inside = 0

    def flush() -> None:
        nonlocal nodes_inside
        if not ids:
            return
        mask = shapely.contains_xy(area, np.asarray(lons), np.asarray(lats))
        for node_id in np.asarray(ids, dtype=np.int64)[mask]:
            inside.add_node(int(node_id))
            keep.add_node(int(node_id))
        nodes_inside += int(mask.sum())
        ids.clear()
        lons.clear()
        lats.clear()

    for seen, node in enumerate(osmium.FileProcessor(source, osmium.osm.NODE), start=1):
        assert isinstance(node, osmium.osm.Node)  # the entity filter passes nodes only
        location = node.location
        if location.valid():
            lon, lat = location.lon, location.lat
            if minx <= lon <= maxx and miny <= lat <= maxy:
                ids.append(node.id)
                lons.append(lon)
                lats.append(lat)
                if len(ids) >= BATCH:
                    flush()
        if seen % 500_000 == 0:
            report("OpenStreetMap: nodes read", seen, None)
    flush()
    report("OpenStreetMap: nodes inside the area", nodes_inside, nodes_inside)

    ways = 0
    for way in osmium.FileProcessor(source, osmium.osm.WAY):
        if inside.contains_any_references(way):
            keep.add_way(way.id)
            ways += 1
    relations = 0
    for relation in osmium.FileProcessor(source, osmium.osm.RELATION):
        if keep.contains_any_references(relation):
            keep.add_relation(relation.id)
            relations += 1
    report("OpenStreetMap: ways and relations kept", ways + relations, ways + relations)
    keep.complete_backward_references(source, relation_depth=0)

    # Written beside the target and moved into place, so a failed clip leaves no half file.
    partial = target.with_name(f".partial-{target.name}")
    partial.unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    with osmium.SimpleWriter(str(partial)) as writer:
        for item in osmium.FileProcessor(source).with_filter(keep.id_filter()):
            writer.add(item)
    partial.replace(target)
    return ClipReport(nodes_inside, ways, relations, target.stat().st_size)
