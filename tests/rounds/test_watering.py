"""The watering simulation: beds dry, rain and watering wet them, policies on the same weather."""

from datetime import date

import numpy as np

from placehub.places.distance import HaversineDistance
from placehub.rounds.demand import DemandModel
from placehub.rounds.scenarios import PERFECT
from placehub.rounds.simulation import PrecomputedDistance, spread
from placehub.rounds.watering import (
    Bed,
    WateringConfig,
    WateringSimulation,
    watering_report,
)

DEPOT = (-0.7395, 52.6745)


def beds(count: int = 12) -> list[Bed]:
    """Beds around Oakham with the demo's threshold and water."""
    rng = np.random.default_rng(4)
    return [Bed(i + 1, -0.73 + float(rng.uniform(-0.02, 0.02)),
                52.67 + float(rng.uniform(-0.01, 0.01)), f"Bed {i + 1}") for i in range(count)]


def simulation(config: WateringConfig) -> WateringSimulation:
    """A watering simulation on straight-line distances."""
    points = [config.depot] + [(b.lon, b.lat) for b in beds()]
    distance = PrecomputedDistance.from_source(HaversineDistance(), points)
    return WateringSimulation(beds(), DemandModel(config.seed), distance, config)


def test_fixed_watering_days_and_accounting() -> None:
    """Fixed rounds water every bed on Tuesdays and Fridays unless it rained the day before;
    placehub waters only on those days too; the report and its spread add up."""
    config = WateringConfig(days=7, seed=3, warmup_days=4, max_iterations=100,
                            scenario=PERFECT, start=date(2026, 6, 1))
    sim = simulation(config)
    results = sim.run()
    watering_days = [d for d in range(7)
                     if date(2026, 6, 1 + d).weekday() in (1, 4)
                     and not sim.rained(date(2026, 6, d))]
    assert results["fixed"].stops == 12 * len(watering_days)
    for result in results.values():
        assert 0 <= result.dry_bed_days <= 7 * 12
        assert result.water_litres == 120 * result.stops
    report = watering_report(results, config, "haversine", "test")
    assert report["service"] == "watering" and report["fixed_watering_days"] == [1, 4]
    summary = spread([report, watering_report(simulation(
        WateringConfig(days=7, seed=4, warmup_days=4, max_iterations=100, scenario=PERFECT,
                       start=date(2026, 6, 1))).run(), config, "haversine", "test")])
    assert len(summary["placehub_vs_fixed"]["per_seed"]) == 2


def test_beds_dry_without_water_and_recover_with_it() -> None:
    """In June without watering most beds go dry within two weeks; watering keeps them moist."""
    config = WateringConfig(days=14, seed=5, warmup_days=3, max_iterations=100,
                            scenario=PERFECT, start=date(2026, 6, 8), fixed_days=())
    dry = simulation(config).run(("fixed",))["fixed"]
    assert dry.stops == 0 and dry.dry_bed_days > 12 * 3
    watered = simulation(WateringConfig(days=14, seed=5, warmup_days=3, max_iterations=100,
                                        scenario=PERFECT, start=date(2026, 6, 8))
                         ).run(("fixed",))["fixed"]
    assert watered.dry_bed_days < dry.dry_bed_days / 2
