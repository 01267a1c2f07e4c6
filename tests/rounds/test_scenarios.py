"""Scenarios: the world departs from the forecaster's model the same way for every policy."""

from datetime import date, timedelta

import numpy as np
import pytest

from placehub.rounds.demand import BinSite
from placehub.rounds.scenarios import (
    BANK_HOLIDAYS_ENGLAND,
    PERFECT,
    REALISTIC,
    SCENARIOS,
    ScenarioWorld,
    scenario_named,
)

FIRST = date(2026, 3, 16)
LAST = date(2026, 4, 26)
SITES = [BinSite(i, -0.73 + 0.001 * i, 52.67, setting="town", settlement="Oakham")
         for i in range(1, 401)]


def test_perfect_world_has_nothing_wrong() -> None:
    """The perfect scenario keeps the model's demand and sends every reading on time."""
    world = ScenarioWorld(PERFECT, 1, SITES, FIRST, LAST)
    assert all(world.demand_factor(s, "town", FIRST + timedelta(days=d)) == 1.0
               for s in SITES[:20] for d in range(30))
    readings = [world.reading(s.id, FIRST + timedelta(days=d), 0, 0.5, None, 0.02)
                for s in SITES for d in range(5)]
    assert all(r.value is not None and r.delay_hours == 0 for r in readings)
    assert all(abs(r.value - 0.5) < 0.1 for r in readings if r.value is not None)
    assert not any(world.visit(s.id, FIRST).missed for s in SITES)


def test_realistic_world_draws_its_shares() -> None:
    """Faulty sensors, lost readings, missed emptyings and bank-holiday surges appear at about
    the documented rates."""
    world = ScenarioWorld(REALISTIC, 3, SITES, FIRST, LAST)
    faults = [world.fate(s.id).fault for s in SITES]
    share = (REALISTIC.dead_share + REALISTIC.stuck_share + REALISTIC.battery_death_share)
    assert abs(sum(bool(f) for f in faults) / len(SITES) - share) < 0.04
    healthy = [s for s, f in zip(SITES, faults, strict=True) if not f]
    lost = [world.reading(s.id, FIRST + timedelta(days=d), 1, 0.4, None, 0.02).value is None
            for s in healthy for d in range(10)]
    assert abs(np.mean(lost) - REALISTIC.missing_probability) < 0.02
    missed = [world.visit(s.id, FIRST + timedelta(days=d)).missed
              for s in SITES for d in range(10)]
    assert abs(np.mean(missed) - REALISTIC.missed_share) < 0.01
    easter_monday = date(2026, 4, 6)
    assert easter_monday in BANK_HOLIDAYS_ENGLAND
    weather_ratio = world.weather[(easter_monday - FIRST).days]
    busy = BinSite(999, -0.73, 52.67, near_park=True)
    assert world.demand_factor(busy, "town_centre", easter_monday) == pytest.approx(
        weather_ratio * REALISTIC.bank_holiday_factor, rel=0.5)
    assert 0.7 < float(np.mean(world.weather)) < 1.3


def test_draws_do_not_depend_on_the_order_asked() -> None:
    """Each reading and each visit is drawn from (seed, bin, time) only: every policy meets the
    same sensors and the same luck whatever it asks first."""
    first = ScenarioWorld(REALISTIC, 5, SITES, FIRST, LAST)
    second = ScenarioWorld(REALISTIC, 5, SITES, FIRST, LAST)
    day = FIRST + timedelta(days=9)
    forwards = [first.reading(s.id, day, 1, 0.3, None, 0.02) for s in SITES]
    backwards = [second.reading(s.id, day, 1, 0.3, None, 0.02) for s in reversed(SITES)]
    assert forwards == list(reversed(backwards))
    assert first.visit(7, day) == second.visit(7, day)


def test_stuck_sensor_repeats_its_value() -> None:
    """Once stuck, a sensor sends the frozen value, whatever the bin holds."""
    world = ScenarioWorld(scenario_named("sensor-faults", stuck_share=1.0, dead_share=0.0,
                                         battery_death_share=0.0, spike_probability=0.0,
                                         missing_probability=0.0), 2, SITES[:5], FIRST, LAST)
    site = SITES[0]
    since = world.fate(site.id).since
    day = FIRST + timedelta(days=int(since) + 1)
    values = {world.reading(site.id, day, slot, fill, 0.37, 0.02).value
              for slot in (0, 1) for fill in (0.1, 0.9)}
    assert values == {0.37}


def test_scenarios_are_named_and_checked() -> None:
    """Presets by name, overrides, and clear errors for unknown names or impossible shares."""
    assert set(SCENARIOS) >= {"realistic", "perfect", "sensor-faults", "demand", "operations"}
    faults = scenario_named("sensor-faults")
    assert faults.weather_sd == 0 and faults.missed_share == 0 and faults.stuck_share > 0
    assert scenario_named("perfect", missed_share=0.1).missed_share == 0.1
    with pytest.raises(ValueError, match="scenario 'sunny'"):
        scenario_named("sunny")
    with pytest.raises(ValueError, match="share"):
        scenario_named("realistic", missed_share=1.5)
    with pytest.raises(ValueError, match="unknown scenario parameter"):
        scenario_named("realistic", rain=1.0)
