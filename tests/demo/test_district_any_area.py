"""The demo district of an area without a hand-made plan (Sutton, fetched from the stand-in
sources, whose OpenStreetMap is the shared Rutland extract moved onto the borough)."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest
from shapely.geometry import Point, shape

from placehub.area import AreaFiles, area_files
from placehub.config import Settings
from placehub.demo.district import (
    BIN_TARGET,
    Boundaries,
    District,
    derived_plan,
    generate_district,
)
from placehub.places.osm import read_areas
from placehub.places.roads import RoadNetwork, load_road_network

# The areas fetched from the stand-in official sources (``fetched``) take 15-25 s to fetch in
# each test process: every test reading them runs in one.
pytestmark = pytest.mark.xdist_group("fetched")


@pytest.fixture(scope="module")
def sutton(fetched: Settings) -> AreaFiles:
    return area_files(fetched, "sutton")


@pytest.fixture(scope="module")
def sutton_roads(sutton: AreaFiles, tmp_path_factory: pytest.TempPathFactory) -> RoadNetwork:
    return load_road_network(sutton.roads, tmp_path_factory.mktemp("sutton") / "roads.npz")


@pytest.fixture(scope="module")
def sutton_district(sutton: AreaFiles, sutton_roads: RoadNetwork) -> District:
    return generate_district(sutton.data_dir, sutton_roads, seed=2024, area="sutton")


def _polygons(path: Path) -> list:
    return [shape(f["geometry"]) for f in json.loads(path.read_text())["features"]]


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = math.radians(b[0] - a[0]) * math.cos(math.radians(a[1]))
    return 6_371_008.8 * math.hypot(dx, math.radians(b[1] - a[1]))


def test_every_asset_is_in_one_of_the_areas_wards_and_lsoas(sutton_district: District,
                                                            sutton: AreaFiles) -> None:
    """Bins, beds, stations, depot and tip: each in exactly one Sutton ward and LSOA."""
    wards, lsoas = _polygons(sutton.wards), _polygons(sutton.lsoas)
    spots = [(a.lon, a.lat) for a in sutton_district.assets]
    spots += [(sutton_district.depot.lon, sutton_district.depot.lat),
              (sutton_district.tip.lon, sutton_district.tip.lat)]
    for spot in spots:
        point = Point(spot)
        assert sum(p.intersects(point) for p in wards) == 1, spot
        assert sum(p.intersects(point) for p in lsoas) == 1, spot


def test_the_plan_comes_from_the_extract(sutton: AreaFiles, sutton_roads: RoadNetwork) -> None:
    """The largest settlement is the main town; stations go to the largest places."""
    plan = derived_plan(sutton.roads, Boundaries(sutton), sutton_roads)
    assert next(iter(plan.town_shares)) == "Oakham"  # the moved Oakham is the biggest place
    assert math.isclose(sum(plan.town_shares.values()), 0.64)
    assert len(plan.air_stations) == 6
    assert [s[5] for s in plan.air_stations].count(True) == 1
    assert plan.main_road_kmh >= 60


def test_bins_crowd_the_town_centre(sutton_district: District) -> None:
    """All 300 bins are placed; bins per km² near the main centre far exceed those further out."""
    bins = sutton_district.bins
    assert len(bins) == BIN_TARGET
    centre = next((b.lon, b.lat) for b in bins if b.properties["setting"] == "town_centre")
    settings = Counter(b.properties["setting"] for b in bins)
    assert settings["town_centre"] >= 30
    near = sum(_metres((b.lon, b.lat), centre) <= 400 for b in bins)
    ring = sum(400 < _metres((b.lon, b.lat), centre) <= 1500 for b in bins)
    near_density = near / (math.pi * 0.4 ** 2)
    ring_density = ring / (math.pi * (1.5 ** 2 - 0.4 ** 2))
    assert near_density > 3 * ring_density


def test_flowerbeds_are_in_parks_and_gardens(sutton_district: District,
                                             sutton: AreaFiles) -> None:
    """Every bed lies in the public park or garden it names."""
    green = {area.osm_id: area.geometry for area in read_areas(
        sutton.roads, "leisure", frozenset({"park", "garden"}))}
    beds = sutton_district.flowerbeds
    assert len(beds) >= 10
    for bed in beds:
        assert green[bed.properties["osm_area"]].buffer(1e-9).contains(Point(bed.lon, bed.lat))


def test_the_roadside_station_is_on_the_main_road(sutton_district: District,
                                                  sutton_roads: RoadNetwork,
                                                  sutton: AreaFiles) -> None:
    """The roadside station is within 10 m of a road of the plan's main-road speed."""
    plan = derived_plan(sutton.roads, Boundaries(sutton), sutton_roads)
    roadside = [s for s in sutton_district.air_stations if s.properties["roadside"]]
    assert len(roadside) == 1 and len(sutton_district.air_stations) == 6
    station = (roadside[0].lon, roadside[0].lat)
    fast = sutton_roads.speed_kmh >= plan.main_road_kmh
    gaps = [_metres(station, ((sutton_roads.lon[t] + sutton_roads.lon[h]) / 2,
                              (sutton_roads.lat[t] + sutton_roads.lat[h]) / 2))
            for t, h, ok in zip(sutton_roads.tail, sutton_roads.head, fast, strict=True) if ok]
    assert min(gaps) <= 10 + max(sutton_roads.length_m[fast]) / 2


def test_the_depot_is_the_town_hall(sutton_district: District) -> None:
    """The depot is an OSM feature (a town hall in the area); the tip is placed by a road."""
    assert sutton_district.depot.source.startswith("OpenStreetMap ")
    assert sutton_district.tip.source.startswith(("OpenStreetMap ", "placed by the demo"))
