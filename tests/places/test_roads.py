"""The road network from OSM: drivable ways, one-way streets, snapping, matrices, paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import osmium
import pytest

from placehub.places.distance import HaversineDistance, haversine_m, haversine_matrix
from placehub.places.osm import read_places
from placehub.places.roads import (
    RoadNetwork,
    file_fingerprint,
    load_road_network,
    parse_maxspeed,
    way_direction,
)

# Edge lengths are great-circle per segment and snapping uses a local projection: the two can
# differ by far less than a millimetre per kilometre, hence this tolerance on "never shorter".
RELATIVE_TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def town_points(rutland_pbf: Path) -> list[tuple[float, float]]:
    """Positions of Rutland's towns and villages as mapped in OSM."""
    return [place.lonlat for place in read_places(rutland_pbf)]


@pytest.mark.parametrize(
    "tag, kmh",
    [("30 mph", 48.28), ("50", 50.0), ("GB:nsl_single", 96.56), ("20mph", 32.19),
     ("none", None), ("", None)],
)
def test_parse_maxspeed_reads_uk_limits(tag: str, kmh: float | None) -> None:
    """maxspeed tags in mph, km/h and the UK national-limit codes give km/h; junk gives None."""
    result = parse_maxspeed(tag)
    assert result == pytest.approx(kmh, abs=0.01) if kmh is not None else result is None


@pytest.mark.parametrize(
    "tags, direction",
    [({"oneway": "yes"}, 1), ({"oneway": "-1"}, -1), ({"junction": "roundabout"}, 1),
     ({"junction": "roundabout", "oneway": "no"}, 0), ({}, 0)],
)
def test_way_direction_reads_oneway_and_roundabouts(tags: dict[str, str], direction: int) -> None:
    """oneway=yes/-1 and roundabouts make a way one-way; oneway=no overrides a roundabout."""
    assert way_direction(tags) == direction


def test_network_is_built_from_drivable_ways(rutland_roads: RoadNetwork) -> None:
    """Rutland gives a connected graph of tens of thousands of nodes, footways left out."""
    assert rutland_roads.node_count > 10_000
    assert rutland_roads.edge_count >= rutland_roads.node_count - 1
    assert rutland_roads.speed_kmh.min() >= 5 and rutland_roads.speed_kmh.max() <= 80


def test_road_distance_never_shorter_than_straight_line(
    rutland_roads: RoadNetwork, town_points: list[tuple[float, float]]
) -> None:
    """Between every pair of Rutland towns and villages the road is at least the crow's flight."""
    metres = rutland_roads.distance_matrix(town_points)
    straight = haversine_matrix(town_points)
    assert np.isfinite(metres).all()
    assert (metres >= straight * (1 - RELATIVE_TOLERANCE)).all()


def test_median_detour_ratio_on_town_pairs(
    rutland_roads: RoadNetwork, town_points: list[tuple[float, float]]
) -> None:
    """The median road/straight-line ratio between Rutland settlements lies in 1.2-1.7."""
    metres = rutland_roads.distance_matrix(town_points)
    straight = haversine_matrix(town_points)
    pairs = ~np.eye(len(town_points), dtype=bool)
    ratio = float(np.median(metres[pairs] / straight[pairs]))
    assert 1.2 <= ratio <= 1.7, ratio


def _one_way_ways(pbf: Path) -> set[int]:
    processor = osmium.FileProcessor(str(pbf), osmium.osm.WAY).with_filter(
        osmium.filter.TagFilter(("oneway", "yes")))
    return {way.id for way in processor if "highway" in way.tags}


def test_one_way_streets_are_respected(rutland_roads: RoadNetwork, rutland_pbf: Path) -> None:
    """On a real oneway=yes street, going with the traffic is shorter than coming back."""
    mapped = _one_way_ways(rutland_pbf)
    kept = set(rutland_roads.one_way_way_ids().tolist()) & mapped
    assert kept, "the Rutland extract has oneway=yes streets in the network"
    # The longest one-way segment of those ways: two points on it, 20% and 80% along.
    candidates = np.flatnonzero(np.isin(rutland_roads.way_id, list(kept)))
    edge = candidates[np.argmax(rutland_roads.length_m[candidates])]
    tail, head = rutland_roads.tail[edge], rutland_roads.head[edge]
    lon = rutland_roads.lon[[tail, head]]
    lat = rutland_roads.lat[[tail, head]]
    a = (lon[0] + 0.2 * (lon[1] - lon[0]), lat[0] + 0.2 * (lat[1] - lat[0]))
    b = (lon[0] + 0.8 * (lon[1] - lon[0]), lat[0] + 0.8 * (lat[1] - lat[0]))
    metres = rutland_roads.distance_matrix([a, b])
    seconds = rutland_roads.travel_time_matrix([a, b])
    assert metres[0, 1] == pytest.approx(0.6 * rutland_roads.length_m[edge], rel=1e-3)
    assert metres[1, 0] > metres[0, 1] + 1
    assert seconds[1, 0] > seconds[0, 1]


def test_points_snap_to_nearest_road(rutland_roads: RoadNetwork) -> None:
    """A point on a road node snaps onto it; a point off the road reports how far off it is."""
    on_road = (float(rutland_roads.lon[100]), float(rutland_roads.lat[100]))
    snap = rutland_roads.snap([on_road, (on_road[0] + 0.001, on_road[1])])
    assert snap.offset_m[0] < 0.01
    assert 0 < snap.offset_m[1] <= 70  # 0.001 degrees of longitude is about 68 m here


def test_path_follows_roads_and_matches_distance(
    rutland_roads: RoadNetwork, town_points: list[tuple[float, float]]
) -> None:
    """The drawn path runs along road nodes and its length equals the matrix distance."""
    start, end = town_points[0], town_points[1]
    line = rutland_roads.path(start, end)
    assert line[0] == start and line[-1] == end and len(line) > 4
    coords = np.asarray(line)
    length = haversine_matrix([tuple(c) for c in coords])
    along = sum(length[i, i + 1] for i in range(len(coords) - 1))
    assert along == pytest.approx(rutland_roads.distance_matrix([start, end])[0, 1], rel=1e-3)


def test_cache_round_trip_gives_same_network(rutland_pbf: Path, tmp_path: Path) -> None:
    """The .npz cache is written on first load and reused while the extract is unchanged."""
    cache = tmp_path / "roads.npz"
    parsed = load_road_network(rutland_pbf, cache)
    assert cache.exists()
    with np.load(cache) as data:
        assert str(data["fingerprint"]) == file_fingerprint(rutland_pbf)
    cached = load_road_network(rutland_pbf, cache)
    assert cached.edge_count == parsed.edge_count
    points = [(-0.7285, 52.6699), (-0.7234, 52.5887)]
    assert np.allclose(cached.distance_matrix(points), parsed.distance_matrix(points))


def test_fallback_reports_itself(
    rutland_roads: RoadNetwork, town_points: list[tuple[float, float]]
) -> None:
    """Haversine x 1.4 names itself as the fallback and gives finite matrices of the same shape."""
    fallback = HaversineDistance()
    metres, seconds = fallback.matrices(town_points)
    assert "haversine" in fallback.name and "road network" in rutland_roads.name
    assert metres.shape == rutland_roads.distance_matrix(town_points).shape
    assert np.isfinite(seconds).all()


def test_distance_source_uses_cache_or_says_it_falls_back(
    rutland_pbf: Path, tmp_path: Path
) -> None:
    """Without a cached network the source is haversine x 1.4; with one it is the road network."""
    from placehub.places.roads import distance_source

    cache = tmp_path / "roads.npz"
    assert isinstance(distance_source(cache), HaversineDistance)
    load_road_network(rutland_pbf, cache)
    assert isinstance(distance_source(cache), RoadNetwork)


def test_pairwise_haversine_agrees_with_matrix_and_a_known_distance() -> None:
    """The pairwise haversine gives a float for scalars, matches the matrix, and 1° lat ≈ 111.2 km."""
    points = [(-0.7269, 52.6709), (-0.4853, 52.5823), (-0.6000, 52.6000)]
    matrix = haversine_matrix(points)
    lon, lat = np.array(points).T
    pairwise = haversine_m(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
    assert np.allclose(pairwise, matrix, rtol=0, atol=1e-6)
    one_degree = float(haversine_m(0.0, 52.0, 0.0, 53.0))
    assert 111_100 < one_degree < 111_300
    assert float(haversine_m(*points[0], *points[1])) == pytest.approx(matrix[0, 1])
