"""Hazard areas: reading areas, what is inside (against plain Shapely), and cut routes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, box, mapping

from placehub.errors import BadRequest
from placehub.places.distance import haversine_m
from placehub.places.roads import RoadNetwork
from placehub.planning.features import VULNERABLE_KINDS, Feature, of_kinds
from placehub.planning.hazards import (
    Asset,
    HazardArea,
    PropertySet,
    assess,
    property_rows,
    read_area,
    summary,
)

OAKHAM = (-0.7290, 52.6700)


def _oakham_area() -> HazardArea:
    """A lopsided polygon over central Oakham, about a kilometre across."""
    lon, lat = OAKHAM
    polygon = shapely.Polygon([(lon - 0.008, lat - 0.004), (lon + 0.006, lat - 0.005),
                               (lon + 0.009, lat + 0.003), (lon - 0.002, lat + 0.006),
                               (lon - 0.009, lat + 0.002)])
    return read_area(json.dumps(mapping(polygon)), name="Oakham test area", source="drawn")


def test_counts_inside_equal_an_independent_shapely_computation(
        rutland_buildings: PropertySet, rutland_features: list[Feature]) -> None:
    """Properties, vulnerable sites and assets inside a test polygon are exactly those a
    vectorised Shapely intersects over every point finds."""
    area = _oakham_area()
    sites = of_kinds(rutland_features, VULNERABLE_KINDS)
    rng = np.random.default_rng(7)
    assets = [Asset(i, f"bin {i}", "bin", float(lon), float(lat)) for i, (lon, lat) in
              enumerate(zip(rng.uniform(-0.75, -0.70, 300), rng.uniform(52.65, 52.69, 300),
                            strict=True))]
    report = assess(area, rutland_buildings, sites, assets)
    expected = np.flatnonzero(shapely.intersects_xy(
        area.geometry, rutland_buildings.lon, rutland_buildings.lat))
    assert len(expected) > 200
    assert np.array_equal(report.properties_inside, expected)
    expected_sites = [s for s in sites if area.geometry.intersects(Point(s.lon, s.lat))]
    assert expected_sites and report.sites_inside == expected_sites
    expected_assets = [a for a in assets if area.geometry.intersects(Point(a.lon, a.lat))]
    assert 0 < len(report.assets_inside) == len(expected_assets) < len(assets)
    assert summary(report, rutland_buildings)["properties"] == len(expected)


def test_roads_inside_the_area_are_closed(rutland_roads: RoadNetwork,
                                          rutland_buildings: PropertySet) -> None:
    """Every segment touching the area is closed and no other is."""
    area = _oakham_area()
    report = assess(area, rutland_buildings, [], [], rutland_roads)
    lines = shapely.linestrings(np.stack([
        np.column_stack([rutland_roads.lon[rutland_roads.tail], rutland_roads.lat[rutland_roads.tail]]),
        np.column_stack([rutland_roads.lon[rutland_roads.head], rutland_roads.lat[rutland_roads.head]]),
    ], axis=1))
    expected = np.flatnonzero(shapely.intersects(area.geometry, lines))
    assert len(expected) > 100
    assert np.array_equal(report.closed_edges, expected)


def _river_town(second_bridge: bool) -> RoadNetwork:
    """Two banks of a river (west A-B, east C-D) joined by a bridge B-C and, optionally, a second
    bridge 1.1 km upstream (B-E-F-C). 36 km/h everywhere, all two-way."""
    lat0 = 52.6
    nodes = [(-0.010, lat0), (-0.001, lat0), (0.001, lat0), (0.010, lat0),
             (-0.001, lat0 + 0.010), (0.001, lat0 + 0.010)]
    edges = [(0, 1), (1, 2), (2, 3)] + ([(1, 4), (4, 5), (5, 2)] if second_bridge else [])
    tail, head = np.array(edges).T
    lon, lat = np.array(nodes).T
    return RoadNetwork(lon, lat, tail, head, np.arange(len(edges)) + 100,
                       np.full(len(edges), 36.0), np.ones(len(edges), dtype=bool))


RIVER = box(-0.0005, 52.599, 0.0005, 52.601)       # over the first bridge only
FLOOD_PLAIN = box(-0.0005, 52.599, 0.0005, 52.611)  # over both bridges
WEST_HOMES = PropertySet(np.arange(3), ["h1", "h2", "h3"], ["test"] * 3,
                         np.array([-0.009, -0.007, -0.005]), np.full(3, 52.6002))
REST_CENTRE = (0.009, 52.6002)


def test_closing_the_bridge_lengthens_the_route_by_the_detour() -> None:
    """With the bridge flooded, west-bank homes go round by the upstream bridge: longer by exactly
    the detour (B-E-F-C instead of B-C) at 36 km/h."""
    network = _river_town(second_bridge=True)
    report = assess(HazardArea("River", RIVER), WEST_HOMES, [], [], network, REST_CENTRE)
    assert report.route is not None
    assert len(report.properties_inside) == 0 and report.closed_way_ids.tolist() == [101]
    assert report.route.longer.tolist() == [0, 1, 2] and len(report.route.cut) == 0
    lon, lat = network.lon, network.lat
    via_bridge = haversine_m(lon[1], lat[1], lon[2], lat[2])
    upstream = sum(haversine_m(lon[a], lat[a], lon[b], lat[b]) for a, b in ((1, 4), (4, 5), (5, 2)))
    detour = upstream - via_bridge
    extra = report.route.after_s - report.route.before_s
    assert extra == pytest.approx(np.full(3, detour / 10.0), rel=1e-6)


def test_closing_the_only_crossings_cuts_the_route() -> None:
    """With both bridges under water the west bank cannot reach the rest centre at all."""
    for second_bridge in (False, True):
        network = _river_town(second_bridge)
        report = assess(HazardArea("Flood plain", FLOOD_PLAIN), WEST_HOMES, [], [], network,
                        REST_CENTRE)
        assert report.route is not None
        assert report.route.cut.tolist() == [0, 1, 2]
        rows = property_rows(report, WEST_HOMES)
        assert [r["status"] for r in rows] == ["route cut"] * 3
        assert all(r["minutes_after"] == "" for r in rows)


def test_homes_inside_are_listed_as_inside_not_as_cut() -> None:
    """A home inside the area is reported inside, and the routes of the others are judged."""
    homes = PropertySet(np.arange(2), ["in", "out"], ["test"] * 2, np.array([0.0, -0.009]),
                        np.full(2, 52.6002))
    report = assess(HazardArea("Flood plain", FLOOD_PLAIN), homes, [], [],
                    _river_town(True), REST_CENTRE)
    assert [(r["ref"], r["status"]) for r in property_rows(report, homes)] == [
        ("in", "inside"), ("out", "route cut")]


def test_ea_flood_warning_area_feature_is_named_by_its_ta_name() -> None:
    """An EA flood warning area (FWS_TACODE, TA_NAME) is read with its name and code."""
    feature = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": mapping(RIVER),
        "properties": {"FWS_TACODE": "034FWFGWASH", "TA_NAME": "River Gwash at Ryhall",
                       "RIVER_SEA": "River Gwash"}}]}
    area = read_area(feature)
    assert (area.name, area.code, area.source) == (
        "River Gwash at Ryhall", "034FWFGWASH", "ea-flood-area")


@pytest.mark.parametrize("data, message", [
    ("{not json", "not valid JSON"),
    ({"type": "Point", "coordinates": [0, 52]}, "must be a Polygon"),
    ({"type": "FeatureCollection", "features": []}, "no polygon"),
    (mapping(box(450000, 300000, 451000, 301000)), "not longitude/latitude"),
    ([1, 2], "must be GeoJSON"),
])
def test_bad_areas_are_refused_with_what_to_fix(data: object, message: str) -> None:
    """Unreadable, non-polygon, empty and grid-metre areas are refused saying what to fix."""
    with pytest.raises(BadRequest, match=message):
        read_area(data if isinstance(data, str) else json.dumps(data))


@pytest.mark.parametrize("data", [
    {"type": "FeatureCollection", "features": ["not a feature"]},
    {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1]]]}},
    {"type": "Polygon", "coordinates": [[[0, 0], [float("nan"), 1], [1, 1], [0, 0]]]},
    {"type": "Feature", "geometry": mapping(RIVER), "properties": "not an object"},
])
def test_malformed_geojson_is_a_bad_request(data: dict[str, object]) -> None:
    """Features that are not objects, broken rings and NaN corners are refused as bad input
    (never an unhandled error); odd properties are ignored."""
    if data.get("properties") == "not an object":
        assert read_area(data).name == "Hazard area"
        return
    with pytest.raises(BadRequest):
        read_area(data)
