"""Fixtures for places tests: the Rutland road network, parsed once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from placehub.places.roads import RoadNetwork, load_road_network


@pytest.fixture(scope="session")
def rutland_pbf(data_dir: Path) -> Path:
    """The Rutland OSM extract."""
    return data_dir / "rutland" / "roads.osm.pbf"


@pytest.fixture(scope="session")
def rutland_roads(rutland_pbf: Path, road_network_file: Path) -> RoadNetwork:
    """The Rutland road network (through the cache, as servers load it)."""
    return load_road_network(rutland_pbf, road_network_file)
