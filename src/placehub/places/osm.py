"""Features read from an OSM extract: named places, amenities, green spaces and buildings.

Each reader makes one pass with pyosmium and returns plain values (lon/lat, Shapely geometries),
so the loaders and the demo never touch OSM objects themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import osmium
from shapely import Geometry, wkb

from placehub.places.distance import LonLat


@dataclass(frozen=True)
class OsmPlace:
    """A settlement node (place=town, village, hamlet ...)."""

    osm_id: int
    name: str
    kind: str
    lonlat: LonLat


@dataclass(frozen=True)
class OsmArea:
    """An area (closed way or multipolygon) with its tags, in lon/lat."""

    osm_id: str  # "w123" for a way, "r45" for a relation
    tags: dict[str, str]
    geometry: Geometry = field(compare=False)


def read_places(pbf_path: str | Path, kinds: frozenset[str] = frozenset({"town", "village"})
                ) -> list[OsmPlace]:
    """Named settlement nodes of the given kinds."""
    found: list[OsmPlace] = []
    processor = osmium.FileProcessor(str(pbf_path), osmium.osm.NODE).with_filter(
        osmium.filter.KeyFilter("place"))
    for node in processor:
        assert isinstance(node, osmium.osm.Node)
        kind = node.tags.get("place")
        name = node.tags.get("name")
        if kind in kinds and name:
            found.append(OsmPlace(node.id, name, kind, (node.location.lon, node.location.lat)))
    return found


def read_amenity_nodes(pbf_path: str | Path, amenity: str) -> list[tuple[int, LonLat]]:
    """Nodes tagged ``amenity=<amenity>`` (e.g. waste_basket), with their positions."""
    found: list[tuple[int, LonLat]] = []
    processor = osmium.FileProcessor(str(pbf_path), osmium.osm.NODE).with_filter(
        osmium.filter.TagFilter(("amenity", amenity)))
    for node in processor:
        assert isinstance(node, osmium.osm.Node)
        found.append((node.id, (node.location.lon, node.location.lat)))
    return found


def read_areas(pbf_path: str | Path, key: str, values: frozenset[str] | None = None
               ) -> list[OsmArea]:
    """Areas tagged ``key`` (any value, or one of ``values``), e.g. building or leisure=park."""
    factory = osmium.geom.WKBFactory()
    found: list[OsmArea] = []
    processor = osmium.FileProcessor(str(pbf_path)).with_areas(
        osmium.filter.KeyFilter(key)).with_filter(osmium.filter.EntityFilter(osmium.osm.AREA))
    for area in processor:
        assert isinstance(area, osmium.osm.Area)  # the EntityFilter lets areas through only
        value = area.tags.get(key)
        if value is None or (values is not None and value not in values):
            continue
        try:
            geometry = wkb.loads(factory.create_multipolygon(area), hex=True)
        except RuntimeError:
            continue  # broken rings in the extract: skip the area, not the whole load
        prefix = "w" if area.from_way() else "r"
        found.append(OsmArea(f"{prefix}{area.orig_id()}", {t.k: t.v for t in area.tags}, geometry))
    return found
