"""A PlaceDirectory over the shared Rutland boundary files, standing in for the places tables."""

from __future__ import annotations

import json
from pathlib import Path

from shapely.geometry import shape
from sqlalchemy import Connection

from placehub.insight.profiles import PlaceInfo

# Named as the places concern names boundary layers (plural).
LAYER_FILES = {"wards": ("wards.geojson", "WD13CD", "WD13NM"),
               "lsoas": ("lsoas.geojson", "LSOA11CD", "LSOA11NM")}


class GeoJSONPlaces:
    """Rutland wards and LSOAs from shared/data, with Things placed by a given mapping."""

    def __init__(self, data_dir: Path, things: dict[tuple[str, str], list[int]] | None = None):
        self.places: dict[str, dict[str, PlaceInfo]] = {}
        for layer, (name, code_key, name_key) in LAYER_FILES.items():
            features = json.loads((data_dir / "rutland" / name).read_text())["features"]
            self.places[layer] = {
                f["properties"][code_key]: PlaceInfo(layer, f["properties"][code_key],
                                                     f["properties"][name_key], f["geometry"])
                for f in features
            }
        self.things = things or {}

    def place(self, conn: Connection, layer: str, code: str) -> PlaceInfo | None:
        return self.places.get(layer, {}).get(code)

    def codes(self, conn: Connection, layer: str) -> list[str]:
        return sorted(self.places.get(layer, {}))

    def things_in(self, conn: Connection, layer: str, code: str) -> list[int]:
        return list(self.things.get((layer, code), []))

    def contained(self, conn: Connection, inner: str, outer: str, code: str) -> list[str]:
        outer_place = self.places.get(outer, {}).get(code)
        if outer_place is None:
            return []
        boundary = shape(outer_place.geometry)
        return sorted(c for c, p in self.places.get(inner, {}).items()
                      if boundary.contains(shape(p.geometry).representative_point()))
