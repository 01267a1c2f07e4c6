"""The savings target, shortened: the simulation on the Rutland demo bins and road network."""

from __future__ import annotations

from pathlib import Path

import pytest

from placehub.demo.district import generate_district
from placehub.places.roads import load_road_network
from placehub.rounds.demand import DemandModel, site_from_properties
from placehub.rounds.simulation import Simulation, SimulationConfig


@pytest.mark.slow
def test_placehub_policy_saves_km_on_the_demo_roads(data_dir: Path, road_network_file: Path
                                                    ) -> None:
    """On the demo's 300 bins, OSM roads and the realistic scenario (surges, sensor faults),
    placehub drives at least 10% less than fixed rounds planned as crews drive them, over 10
    days, without more overflow (the 28-day runs over ten seeds are in docs/rounds.md)."""
    network = load_road_network(data_dir / "rutland" / "roads.osm.pbf", road_network_file)
    district = generate_district(data_dir, network)
    sites = [site_from_properties(0, b.lon, b.lat, b.properties, b.name) for b in district.bins]
    config = SimulationConfig(days=10, seed=1, max_iterations=600,
                              depot=(district.depot.lon, district.depot.lat),
                              tip=(district.tip.lon, district.tip.lat))
    simulation = Simulation(sites, DemandModel(1), network, config)
    results = {k: v.as_dict() for k, v in simulation.run(("fixed", "placehub")).items()}
    fixed, placehub = results["fixed"], results["placehub"]
    assert simulation.distance.name == "road network (OpenStreetMap)"
    assert float(placehub["km"]) <= 0.9 * float(fixed["km"])  # type: ignore[arg-type]
    assert placehub["overflow_bin_days"] <= fixed["overflow_bin_days"]  # type: ignore[operator]
    # Surges make both policies overflow on about 2% of bin-days here (the 1% target is not met
    # in this scenario; docs/rounds.md), so the test holds placehub to fixed's figure.
    assert placehub["mandatory_left_out"] == 0 and placehub["routes_not_ending_at_tip"] == 0
