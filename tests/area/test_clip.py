"""Clipping an OSM extract with pyosmium: what is inside, whole ways, nothing else."""

from __future__ import annotations

from pathlib import Path

import osmium
import shapely
from pyproj import Geod

from placehub.area.clip import buffered, clip_extract

OAKHAM = (-0.72846, 52.66994)


def test_clip_keeps_the_inside_and_whole_ways(data_dir: Path, tmp_path: Path) -> None:
    """Nodes inside, every way touching the inside with all its nodes, and no other way."""
    source = data_dir / "rutland" / "roads.osm.pbf"
    area = buffered(shapely.Point(OAKHAM), 800.0)
    shapely.prepare(area)
    target = tmp_path / "oakham.osm.pbf"
    report = clip_extract(source, area, target)

    inside_nodes = {n.id for n in osmium.FileProcessor(str(source), osmium.osm.NODE)
                    if area.contains(shapely.Point(n.location.lon, n.location.lat))}
    touching = {w.id for w in osmium.FileProcessor(str(source), osmium.osm.WAY)
                if any(ref in inside_nodes for ref in (n.ref for n in w.nodes))}
    kept_nodes = {n.id for n in osmium.FileProcessor(str(target), osmium.osm.NODE)}
    kept_ways = {}
    for way in osmium.FileProcessor(str(target)).with_locations():
        if isinstance(way, osmium.osm.Way):
            kept_ways[way.id] = all(n.location.valid() for n in way.nodes)
    # Ways of relations with a member inside are kept too (for whole multipolygons).
    assert touching <= set(kept_ways)
    assert all(kept_ways.values())
    assert inside_nodes <= kept_nodes
    assert report.nodes_inside == len(inside_nodes) > 1000
    assert report.bytes < source.stat().st_size / 3


def test_buffer_grows_the_area_by_metres() -> None:
    """A 2 km buffer on the British National Grid adds about 2 km on every side."""
    point = shapely.Point(OAKHAM)
    grown = buffered(point.buffer(0.001), 2000.0)
    east = grown.bounds[2]
    distance = Geod(ellps="WGS84").inv(OAKHAM[0], OAKHAM[1], east, OAKHAM[1])[2]
    assert 2040 < distance < 2100  # 2 km plus the 0.001 degree (about 68 m) it started with
