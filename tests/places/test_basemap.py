"""The street map's vector tiles from the Rutland extract: what each zoom shows, names on
roads and places, clipping to the tile, the cache file, and empty tiles outside the area."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import mapbox_vector_tile
import pytest

from placehub.places.basemap import (
    EXTENT,
    Basemap,
    area_min_zoom,
    load_basemap,
    load_basemap_cache,
)
from placehub.places.roads import file_fingerprint

OAKHAM_HIGH_STREET = (-0.7268, 52.6698)


def tile_of(lon: float, lat: float, zoom: int) -> tuple[int, int, int]:
    """The z/x/y of the tile holding a point (the slippy-map formula)."""
    n = 2**zoom
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return zoom, int((lon + 180) / 360 * n), int(y)


@pytest.fixture(scope="module")
def rutland_map(rutland_pbf: Path, basemap_file: Path) -> Basemap:
    """Rutland's street map, through the cache file as the server reads it."""
    return load_basemap(rutland_pbf, basemap_file)


def decoded(basemap: Basemap, zoom: int, x: int, y: int) -> dict:
    """A tile as the map gets it (gzipped), decoded to layers of features."""
    return mapbox_vector_tile.decode(gzip.decompress(basemap.tile(zoom, x, y)))


def test_street_tile_in_oakham_names_its_streets_and_the_town(rutland_map: Basemap) -> None:
    """The zoom-14 tile over Oakham's High Street holds its named streets, the town's name, and
    only coordinates within the tile and its buffer."""
    layers = decoded(rutland_map, *tile_of(*OAKHAM_HIGH_STREET, 14))
    streets = {f["properties"].get("name") for f in layers["roads"]["features"]}
    assert {"High Street", "Church Street", "Northgate"} <= streets
    assert {"kind": "town", "name": "Oakham"} in [f["properties"]
                                                  for f in layers["places"]["features"]]
    assert {"minor", "service", "path"} <= {f["properties"]["kind"]
                                            for f in layers["roads"]["features"]}
    for feature in layers["roads"]["features"]:
        coordinates = feature["geometry"]["coordinates"]
        flat = coordinates if feature["geometry"]["type"] == "LineString" else [
            point for line in coordinates for point in line]
        assert all(-128 <= c <= EXTENT + 128 for point in flat for c in point), feature


def test_district_tile_keeps_main_roads_and_towns_only(rutland_map: Basemap) -> None:
    """At zoom 9 the tile holds the A-roads and towns but no residential street or hamlet."""
    layers = decoded(rutland_map, *tile_of(*OAKHAM_HIGH_STREET, 9))
    kinds = {f["properties"]["kind"] for f in layers["roads"]["features"]}
    assert "major" in kinds and not kinds & {"minor", "service", "path"}
    refs = {f["properties"].get("ref") for f in layers["roads"]["features"]}
    assert "A606" in refs  # Oakham to Stamford
    places = {f["properties"]["kind"] for f in layers["places"]["features"]}
    assert "town" in places and not places & {"hamlet", "village"}


def test_rutland_water_is_drawn_from_district_zoom(rutland_map: Basemap) -> None:
    """Rutland Water, a large reservoir, is in the water layer of the zoom-10 tile over it."""
    layers = decoded(rutland_map, *tile_of(-0.63, 52.65, 10))
    assert any(f["geometry"]["type"] in {"Polygon", "MultiPolygon"}
               for f in layers["water"]["features"])


def test_tile_outside_the_area_is_empty_and_tiles_are_made_once(rutland_map: Basemap) -> None:
    """A tile in the Atlantic is empty; asking twice for a tile returns the same stored bytes."""
    assert gzip.decompress(rutland_map.tile(*tile_of(-30.0, 45.0, 12))) == b""
    first = rutland_map.tile(*tile_of(*OAKHAM_HIGH_STREET, 13))
    assert rutland_map.tile(*tile_of(*OAKHAM_HIGH_STREET, 13)) is first


def test_cache_file_matches_its_extract_only(rutland_map: Basemap, rutland_pbf: Path,
                                             basemap_file: Path) -> None:
    """The cache file gives back the same features for the same extract, and nothing for
    another version of it."""
    cached = load_basemap_cache(basemap_file, file_fingerprint(rutland_pbf))
    assert cached is not None
    assert {name: len(layer) for name, layer in cached.layers.items()} == {
        name: len(layer) for name, layer in rutland_map.layers.items()}
    assert cached.encode(*tile_of(*OAKHAM_HIGH_STREET, 14)) == rutland_map.encode(
        *tile_of(*OAKHAM_HIGH_STREET, 14))
    assert load_basemap_cache(basemap_file, "another-extract") is None
    assert rutland_map.bounds()[0] < OAKHAM_HIGH_STREET[0] < rutland_map.bounds()[2]


def test_bigger_areas_appear_at_lower_zooms() -> None:
    """A reservoir of 12 km² shows from a lower zoom than a 1-hectare wood, and a point-sized
    area only at the closest zoom."""
    assert area_min_zoom(12e6 * 2.7) < area_min_zoom(1e4 * 2.7) < area_min_zoom(0.0) == 14
