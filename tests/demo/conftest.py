"""Fixtures for demo tests: the Rutland road network and the demo district, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from placehub.demo.district import District, generate_district
from placehub.places.roads import RoadNetwork, load_road_network


@pytest.fixture(scope="session")
def demo_roads(data_dir: Path, road_network_file: Path) -> RoadNetwork:
    """The Rutland road network."""
    return load_road_network(data_dir / "rutland" / "roads.osm.pbf", road_network_file)


@pytest.fixture(scope="session")
def district(data_dir: Path, demo_roads: RoadNetwork) -> District:
    """The demo district for the default seed."""
    return generate_district(data_dir, demo_roads, seed=2024)
