"""Where a point is, in words a crew understands: the nearest named street and the locality.

Both come from the OSM extract: named highways (any class a person can find on a sign) and
settlement nodes (``place`` = town, village, hamlet, suburb, neighbourhood). One pass with
pyosmium builds a Shapely STRtree over the street segments in a local metric projection.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import osmium
from shapely import STRtree, linestrings, points

from placehub.places.distance import LonLat, metres_between

# Streets a crew finds by name: roads and pedestrian streets, not footpaths or private service
# roads (which often carry a building's name).
STREET_CLASSES = frozenset({
    "motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
    "living_street", "pedestrian", "road", "trunk_link", "primary_link", "secondary_link",
    "tertiary_link"})
LOCALITY_KINDS = frozenset({"town", "village", "hamlet", "suburb", "neighbourhood"})
# A street further than this from the point is not "its" street.
STREET_MAX_METRES = 250.0
# A settlement node further than this is not the point's locality.
LOCALITY_MAX_METRES = 3000.0


@dataclass(frozen=True)
class Whereabouts:
    """The nearest named street (may be empty) and the locality (may be empty) of a point."""

    street: str
    locality: str


class StreetIndex:
    """Nearest named street and locality for points (see the module docstring)."""

    def __init__(self, segments: Sequence[tuple[LonLat, LonLat, str]],
                 places: Sequence[tuple[str, LonLat]]) -> None:
        self.places = list(places)
        self.names = [name for _, _, name in segments]
        lats = [a[1] for a, _, _ in segments] or [52.6]
        self._lat0 = math.radians(float(np.mean(lats)))
        if segments:
            starts = np.array([self._project(a) for a, _, _ in segments])
            ends = np.array([self._project(b) for _, b, _ in segments])
            self._tree: STRtree | None = STRtree(linestrings(np.stack([starts, ends], axis=1)))
        else:
            self._tree = None

    def _project(self, point: LonLat) -> tuple[float, float]:
        radius = 6_371_008.8
        return (math.radians(point[0]) * math.cos(self._lat0) * radius,
                math.radians(point[1]) * radius)

    @classmethod
    def from_pbf(cls, pbf_path: str | Path) -> StreetIndex:
        """Named highways and settlement nodes of an OSM extract."""
        segments: list[tuple[LonLat, LonLat, str]] = []
        places: list[tuple[str, LonLat]] = []
        processor = osmium.FileProcessor(str(pbf_path)).with_locations().with_filter(
            osmium.filter.KeyFilter("highway", "place"))
        for obj in processor:
            tags = obj.tags
            if isinstance(obj, osmium.osm.Node):
                if tags.get("place") in LOCALITY_KINDS and tags.get("name"):
                    places.append((tags["name"], (obj.location.lon, obj.location.lat)))
            elif (isinstance(obj, osmium.osm.Way) and tags.get("highway") in STREET_CLASSES
                  and tags.get("name")):
                coords = [(n.location.lon, n.location.lat) for n in obj.nodes
                          if n.location.valid()]
                name = tags["name"]
                segments += [(a, b, name) for a, b in zip(coords, coords[1:], strict=False)]
        return cls(segments, places)

    def whereabouts(self, lonlats: Sequence[LonLat]) -> list[Whereabouts]:
        """The nearest named street within STREET_MAX_METRES and the nearest locality within
        LOCALITY_MAX_METRES of each point ("" when there is none)."""
        found: list[Whereabouts] = []
        streets = [""] * len(lonlats)
        if self._tree is not None and lonlats:
            query = points(np.array([self._project(p) for p in lonlats]))
            point_index, segment_index = self._tree.query_nearest(
                query, max_distance=STREET_MAX_METRES, all_matches=False)
            for i, j in zip(point_index, segment_index, strict=True):
                streets[int(i)] = self.names[int(j)]
        for lonlat, street in zip(lonlats, streets, strict=True):
            locality = ""
            if self.places:
                name, where = min(self.places, key=lambda p: metres_between(lonlat, p[1]))
                if metres_between(lonlat, where) <= LOCALITY_MAX_METRES:
                    locality = name
            found.append(Whereabouts(street, locality))
        return found
