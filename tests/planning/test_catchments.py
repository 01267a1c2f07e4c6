"""Catchments by road and straight line: complete, equal to brute force, and what-if changes."""

from __future__ import annotations

import numpy as np
import pytest

from placehub.places.distance import haversine_m
from placehub.places.roads import RoadNetwork
from placehub.planning.catchments import (
    band_of,
    bands_total,
    by_road,
    by_straight_line,
    table,
    what_if,
)
from placehub.planning.features import Feature, of_kinds
from placehub.planning.hazards import PropertySet
from placehub.planning.routing import attach, cost_to_each


@pytest.fixture(scope="module")
def schools(rutland_features: list[Feature]) -> list[Feature]:
    """Rutland's schools as mapped in OSM."""
    found = of_kinds(rutland_features, ["school"])
    assert len(found) >= 10
    return found


def test_every_home_is_in_exactly_one_catchment(
        rutland_roads: RoadNetwork, rutland_buildings: PropertySet, schools: list[Feature]) -> None:
    """Each building gets one school it can reach, and the per-school counts add up to all."""
    catchments = by_road(rutland_roads, rutland_buildings, schools)
    assert catchments.facility.shape == (len(rutland_buildings),)
    assert ((catchments.facility >= 0) & (catchments.facility < len(schools))).all()
    assert np.isfinite(catchments.minutes).all()
    rows = table(catchments, rutland_buildings)
    assert sum(r["homes"] for r in rows) == len(rutland_buildings)
    assert sum(bands_total(catchments).values()) == len(rutland_buildings)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_road_catchment_equals_brute_force_nearest_by_road(
        rutland_roads: RoadNetwork, rutland_buildings: PropertySet, schools: list[Feature],
        seed: int) -> None:
    """On a sample of homes, the catchment's school is the one with the least time in the road
    network's own travel-time matrix (every pair computed), and the minutes agree."""
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(rutland_buildings), 150, replace=False)
    catchments = by_road(rutland_roads, rutland_buildings, schools)
    everyone = np.vstack([rutland_buildings.lonlat[sample], [(s.lon, s.lat) for s in schools]])
    matrix = rutland_roads.travel_time_matrix(everyone)[:len(sample), len(sample):]
    assert np.array_equal(catchments.facility[sample], matrix.argmin(axis=1))
    assert catchments.minutes[sample] == pytest.approx(matrix.min(axis=1) / 60, rel=1e-6)


def test_straight_line_catchment_equals_brute_force_nearest(
        rutland_buildings: PropertySet, schools: list[Feature]) -> None:
    """The straight-line catchment is the nearest school by great-circle distance."""
    catchments = by_straight_line(rutland_buildings, schools)
    distances = haversine_m(rutland_buildings.lon[:, None], rutland_buildings.lat[:, None],
                            np.array([s.lon for s in schools])[None, :],
                            np.array([s.lat for s in schools])[None, :])
    assert (catchments.facility == distances.argmin(axis=1)).mean() > 0.999


def test_closing_a_school_moves_its_homes_to_the_next_nearest(
        rutland_roads: RoadNetwork, rutland_buildings: PropertySet, schools: list[Feature]) -> None:
    """Closing the busiest school moves exactly its homes, each to its second-fastest school by
    an independent one-Dijkstra-per-school computation, and no one else moves."""
    catchments = by_road(rutland_roads, rutland_buildings, schools)
    busiest = int(np.bincount(catchments.facility).argmax())
    change = what_if(rutland_buildings, schools, rutland_roads, close=[schools[busiest].ref])
    assert np.array_equal(change["moved"], np.flatnonzero(catchments.facility == busiest))
    every = cost_to_each(rutland_roads, attach(rutland_roads, rutland_buildings.lonlat),
                         attach(rutland_roads, [(s.lon, s.lat) for s in schools]))
    every[:, busiest] = np.inf
    after_refs = [schools[j].ref for j in every.argmin(axis=1)[change["moved"]]]
    kept = [s for s in schools if s.ref != schools[busiest].ref]
    assert [kept[j].ref for j in change["after"].facility[change["moved"]]] == after_refs
    assert (change["delta_minutes"][change["moved"]] >= -1e-9).all()
    assert sum(f["homes"] for f in change["flows"]) == len(change["moved"])


def test_opening_a_school_takes_only_homes_it_is_faster_for(
        rutland_roads: RoadNetwork, rutland_buildings: PropertySet, schools: list[Feature]) -> None:
    """A new school takes homes, every one of which is now quicker, and nobody else moves."""
    new = Feature("new:1", "school", "New school", -0.6500, 52.6300)
    change = what_if(rutland_buildings, schools, rutland_roads, open_=[new])
    assert len(change["moved"]) > 0
    assert all(f["to"] == "new:1" for f in change["flows"])
    assert (change["delta_minutes"][change["moved"]] < 0).all()


def test_bands_label_travel_times() -> None:
    """Minutes fall into the bands by their upper bounds; unreachable is named."""
    assert band_of(np.array([0.0, 4.9, 5.0, 29.0, 45.0, np.inf])) == [
        "0-5 min", "0-5 min", "5-10 min", "20-30 min", "30+ min", "unreachable"]


def test_closing_an_unknown_facility_is_refused(rutland_buildings: PropertySet,
                                                schools: list[Feature]) -> None:
    """A close list naming no facility says which names are unknown."""
    with pytest.raises(ValueError, match="no facility osm:nope"):
        what_if(rutland_buildings, schools, None, close=["osm:nope"], method="straight")
