"""The simulation: Rutland bin positions, accounting, reproducibility, policy behaviour."""

import dataclasses
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from placehub.places.distance import HaversineDistance
from placehub.rounds.demand import (
    SETTINGS,
    DemandModel,
    fixed_round_weekdays,
    parse_fixed_schedule,
    villages_from_osm,
)
from placehub.rounds.planning import WASTE, WATERING, rules_for
from placehub.rounds.scenarios import PERFECT, scenario_named
from placehub.rounds.simulation import (
    Simulation,
    SimulationConfig,
    report,
    rutland_bins,
    simulation_run,
    spread,
)


@pytest.fixture(scope="module")
def rutland(data_dir):  # type: ignore[no-untyped-def]
    """120 bins on Rutland's streets and the demand model with Rutland's villages."""
    pbf = str(data_dir / "rutland" / "roads.osm.pbf")
    return rutland_bins(pbf, 120, seed=2), DemandModel(2, villages_from_osm(pbf))


def test_rutland_bins_cover_every_setting(rutland) -> None:  # type: ignore[no-untyped-def]
    """Generated bins include OSM waste baskets and every setting, inside Rutland."""
    sites, model = rutland
    assert len(sites) == 120 and len({s.id for s in sites}) == 120
    assert sum("(OSM)" in s.name for s in sites) == 11
    settings = Counter(model.setting(s) for s in sites)
    assert set(settings) == set(SETTINGS)
    assert all(-0.85 < s.lon < -0.40 and 52.50 < s.lat < 52.78 for s in sites)


def test_simulation_is_reproducible_and_accounts(rutland) -> None:  # type: ignore[no-untyped-def]
    """Same seed, same figures; fixed rounds visit exactly the bins their weekdays name (the
    perfect world misses none); every route ends at the tip."""
    sites, model = rutland
    config = SimulationConfig(days=4, seed=2, warmup_days=7, max_iterations=150,
                              scenario=PERFECT)

    def run() -> dict:
        simulation = Simulation(sites, model, HaversineDistance(), config)
        output = report(simulation.run(), config, "haversine", "test")
        for figures in output["policies"].values():
            figures.pop("solver_seconds")  # wall-clock time, the one figure that may differ
        return output

    first, second = run(), run()
    assert first == second
    fixed = first["policies"]["fixed"]
    expected_stops = sum(
        1 for offset in range(4) for s in sites
        if (config.start.weekday() + offset) % 7
        in fixed_round_weekdays(model.setting(s), s.settlement)
    )
    assert fixed["stops"] == expected_stops
    for figures in first["policies"].values():
        assert figures["bin_days"] == 4 * 120
        assert 0 <= figures["overflow_bin_days"] <= figures["bin_days"]
        assert figures["co2_kg"] == pytest.approx(figures["km"] * first["co2_kg_per_km"], abs=0.2)
        assert figures["crew_hours"] == pytest.approx(2 * figures["vehicle_hours"], abs=0.2)
    threshold = first["policies"]["threshold"]
    assert threshold["mean_fill_at_emptying"] > fixed["mean_fill_at_emptying"]
    for figures in first["policies"].values():
        assert figures["routes_not_ending_at_tip"] == 0 and figures["missed_emptyings"] == 0
    assert first["scenario"]["name"] == "perfect" and first["fleet"]["ends_at_tip"] is True


def test_fixed_schedule_is_an_option(rutland) -> None:  # type: ignore[no-untyped-def]
    """A thinner fixed schedule makes fewer stops; unknown areas or frequencies are refused."""
    sites, model = rutland
    stops = {}
    for name, text in (("default", ""), ("thin", "town_centre=3x,town=2x,village=weekly")):
        config = SimulationConfig(days=3, seed=2, warmup_days=3, max_iterations=50,
                                  scenario=PERFECT, fixed_schedule=parse_fixed_schedule(text))
        result = Simulation(sites, model, HaversineDistance(), config).run(("fixed",))
        stops[name] = result["fixed"].stops
    assert stops["thin"] < stops["default"]
    with pytest.raises(ValueError, match="frequency"):
        parse_fixed_schedule("town=hourly")
    with pytest.raises(ValueError, match="area"):
        parse_fixed_schedule("harbour=daily")


def test_realistic_world_loses_readings_and_misses_emptyings(rutland) -> None:  # type: ignore[no-untyped-def]
    """Under the realistic scenario some readings never arrive, some emptyings are missed,
    and the multi-seed spread reports placehub against fixed rounds per seed; the run record
    keeps the median saving as measured performance."""
    sites, model = rutland
    reports = []
    for seed in (3, 4):
        config = SimulationConfig(days=5, seed=seed, warmup_days=4, max_iterations=60,
                                  scenario=scenario_named("realistic", missed_share=0.2))
        simulation = Simulation(sites, model, HaversineDistance(), config)
        results = simulation.run(("fixed", "placehub"))
        assert results["fixed"].missed_emptyings > 0
        states = simulation.initial_states()
        slots = 2 * config.warmup_days * len(sites)
        assert sum(len(s.readings) for s in states.values()) < slots
        reports.append(report(results, config, "haversine", "test"))
    summary = spread(reports)
    assert summary["seeds"] == [3, 4]
    versus = summary["placehub_vs_fixed"]
    assert len(versus["per_seed"]) == 2
    assert versus["km_saving"]["min"] <= versus["km_saving"]["median"] <= versus["km_saving"]["max"]
    run = simulation_run(reports, datetime(2026, 12, 7, 9, 0, tzinfo=UTC), 12.5, "cli")
    assert run.algorithm == "rounds-simulation" and run.seed is None
    assert run.parameters["seeds"] == [3, 4] and run.parameters["scenario"] == "realistic"
    assert run.parameters["policies"] == ["fixed", "placehub"]
    assert run.metrics["placehub_km_saving_vs_fixed"] == pytest.approx(
        versus["km_saving"]["median"], abs=1e-4)
    assert run.metrics["fixed_km"] == pytest.approx(
        statistics.median(r["policies"]["fixed"]["km"] for r in reports), abs=1e-3)
    assert len(run.metrics["placehub_overflow_bin_days_vs_fixed"]) == 2
    assert run.inputs[0].rows == 120 and run.volumes == {"bins": 120, "days": 5, "seeds": 2}


def test_bad_configuration_refused() -> None:
    """Too few days or too short a warm-up fail with a message saying what is wrong."""
    with pytest.raises(ValueError, match="days"):
        SimulationConfig(days=0)
    with pytest.raises(ValueError, match="history"):
        SimulationConfig(warmup_days=1)


def test_calendar_known_to_placehub_and_fixed_rounds(rutland) -> None:  # type: ignore[no-untyped-def]
    """With the calendar, town-centre bins know Good Friday at the council's estimate, every bin
    of an event's place knows the event, and fixed rounds add those bins on the day; without
    it, nothing is known and nothing added."""
    from datetime import date

    from placehub.rounds.calendar import DEFAULT_BANK_HOLIDAY_FACTOR

    sites, model = rutland
    config = SimulationConfig(days=14, seed=2, warmup_days=7, max_iterations=50)
    simulation = Simulation(sites, model, HaversineDistance(), config)
    good_friday = date(2026, 4, 3)
    centre = [s for s in sites if simulation.settings[s.id] == "town_centre"]
    assert centre and all(simulation.known[s.id][good_friday] == DEFAULT_BANK_HOLIDAY_FACTOR
                          for s in centre)
    events = simulation.world.event_days()
    assert events, "the realistic scenario draws events over 21 days"
    day, place = events[0]
    in_place = [s for s in sites if simulation.world.places[s.id] == place]
    assert all(simulation.known[s.id][day] >= config.calendar_event_factor for s in in_place)
    states = simulation.initial_states()
    fixed_ids = {c.asset_id for c in simulation._fixed(states, good_friday)}
    assert {s.id for s in centre} <= fixed_ids
    plain = Simulation(sites, model, HaversineDistance(),
                       SimulationConfig(days=14, seed=2, warmup_days=7, calendar=False))
    assert not any(plain.known.values()) and not any(plain.extra_days.values())


def test_waste_defaults_leave_bins_fuller_than_a_long_prize_horizon(rutland) -> None:  # type: ignore[no-untyped-def]
    """With waste's defaults (a 1.5-day prize horizon, mandatory from a 20% risk) placehub
    empties fewer bins, fuller, than when every bin needing a visit within 3 days is a prize
    (the earlier rules, 30%), over the same ten realistic days."""
    sites, model = rutland
    config = SimulationConfig(days=10, seed=3, warmup_days=7, max_iterations=60)
    assert config.rules == rules_for(WASTE)
    longer = dataclasses.replace(config, rules=dataclasses.replace(
        config.rules, prize_horizon_days=3.0, mandatory_probability=0.3))
    now, before = (Simulation(sites, model, HaversineDistance(), c).run(["placehub"])["placehub"]
                   for c in (config, longer))
    assert now.stops < before.stops
    assert statistics.mean(now.fills_at_emptying) > statistics.mean(before.fills_at_emptying)


def test_oracle_knows_which_bins_overflow_before_the_next_round(rutland) -> None:  # type: ignore[no-untyped-def]
    """The oracle makes a bin mandatory exactly when, left alone, it truly overflows by the end
    of tomorrow's shift in the simulated world; its saving is reported beside placehub's."""
    sites, model = rutland
    config = SimulationConfig(days=2, seed=4, warmup_days=7, max_iterations=60)
    simulation = Simulation(sites, model, HaversineDistance(), config)
    states = simulation.initial_states()
    day = config.start
    simulation._morning(states, day)
    mandatory = {c.asset_id for c in simulation._oracle(states, day) if c.mandatory}
    left_alone = {k: v.copy() for k, v in states.items()}
    simulation._live_day(left_alone, day, {}, None)
    tomorrow = simulation.added(day + timedelta(days=1))
    shift_end = (7 + config.shift_hours) / 24
    overflowing = {bin_id for bin_id, state in left_alone.items()
                   if state.fill + tomorrow[bin_id] * shift_end > 1.0}
    assert 0 < len(mandatory) < len(sites)
    assert mandatory == overflowing
    output = report(simulation.run(["fixed", "oracle"]), config, "haversine", "test")
    assert "oracle_km_saving_vs_fixed" in output["savings"]
    summary = spread([output])
    assert summary["oracle_vs_fixed"]["per_seed"][0]["km_saving"] == \
        output["savings"]["oracle_km_saving_vs_fixed"]
    assert "placehub_vs_fixed" not in summary


def test_waste_nearby_boost_empties_fewer_bins_early_than_eight(rutland) -> None:  # type: ignore[no-untyped-def]
    """With waste's nearby boost (3) placehub empties fewer bins, fuller, than when a bin near a
    mandatory one is worth eight times its prize, over the same ten realistic days."""
    sites, model = rutland
    config = SimulationConfig(days=10, seed=3, warmup_days=7, max_iterations=60)
    assert config.rules.nearby_boost == 3.0 and rules_for(WATERING).nearby_boost == 8.0
    eager = dataclasses.replace(config, rules=dataclasses.replace(config.rules, nearby_boost=8.0))
    now, before = (Simulation(sites, model, HaversineDistance(), c).run(["placehub"])["placehub"]
                   for c in (config, eager))
    assert now.stops < before.stops
    assert statistics.mean(now.fills_at_emptying) > statistics.mean(before.fills_at_emptying)
