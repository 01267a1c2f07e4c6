"""Fixtures for planning tests: the Rutland extract, its road network, buildings and features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from placehub.places.layers import building_points
from placehub.places.roads import RoadNetwork, load_road_network
from placehub.planning.features import Feature, read_osm_features
from placehub.planning.hazards import PropertySet


@pytest.fixture(scope="session")
def rutland_pbf(data_dir: Path) -> Path:
    """The Rutland OSM extract."""
    return data_dir / "rutland" / "roads.osm.pbf"


@pytest.fixture(scope="session")
def rutland_roads(rutland_pbf: Path, road_network_file: Path) -> RoadNetwork:
    """The Rutland road network (through the cache, as servers load it)."""
    return load_road_network(rutland_pbf, road_network_file)


@pytest.fixture(scope="session")
def rutland_buildings(rutland_pbf: Path) -> PropertySet:
    """Every OSM building in Rutland as a property point."""
    found = building_points(rutland_pbf)
    return PropertySet(
        np.arange(1, len(found) + 1), [p["ref"] for p in found],
        ["osm-buildings"] * len(found), np.array([p["lon"] for p in found]),
        np.array([p["lat"] for p in found]))


@pytest.fixture(scope="session")
def rutland_features(rutland_pbf: Path) -> list[Feature]:
    """Rutland's vulnerable sites, facilities and car parks from OSM."""
    return read_osm_features(rutland_pbf)
