"""Parking: occupancy from bay reports against an independent computation, profiles, capacity,
bays matched to car parks, and the tariff suggestion's direction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from shapely.geometry import box

from placehub.planning.features import Feature
from placehub.planning.parking import (
    BayHistory,
    TariffModel,
    capacity_of,
    current,
    hourly_occupancy,
    match_bays,
    suggest_price,
    tariff_table,
    weekly_profile,
)
from placehub.planning.parking_sim import demand, simulate_car_park

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, before the clocks change


def _occupied_seconds_by_hand(history: BayHistory, lo: float, hi: float) -> tuple[float, float]:
    """Occupied and observed seconds of a bay in [lo, hi), walking its reports one by one."""
    occupied = observed = 0.0
    times = list(history.times) + [float("inf")]
    for k, state in enumerate(history.states):
        a, b = max(times[k], lo), min(times[k + 1], hi)
        if b > a:
            observed += b - a
            occupied += (b - a) if state else 0.0
    return occupied, observed


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_hourly_occupancy_equals_an_independent_computation(seed: int) -> None:
    """Per car park and hour, occupancy equals occupied over observed bay-seconds summed by
    hand from every report, including a bay that starts reporting mid-week."""
    histories = simulate_car_park("osm:w1", 12, START, 7, seed)
    late = simulate_car_park("osm:w1", 1, START + timedelta(days=3, minutes=17), 4, seed + 100)
    histories += [BayHistory(99, "osm:w1", late[0].times, late[0].states)]
    occupancy = hourly_occupancy(histories, START, 7 * 24)
    assert occupancy.bays["osm:w1"] == 13
    base = START.timestamp()
    for h in range(0, 7 * 24, 5):
        parts = [_occupied_seconds_by_hand(b, base + 3600 * h, base + 3600 * (h + 1))
                 for b in histories]
        occupied, observed = sum(p[0] for p in parts), sum(p[1] for p in parts)
        assert occupancy.observed["osm:w1"][h] == pytest.approx(observed)
        assert occupancy.rate("osm:w1")[h] == pytest.approx(occupied / observed)


@pytest.mark.parametrize("seed", [4, 5])
def test_weekly_profile_follows_the_simulated_demand(seed: int) -> None:
    """Over a week of 40 bays the profile tracks the demand curve it was simulated from:
    weekday middays busy, nights quiet (the simulation is noisy, so a loose tolerance)."""
    occupancy = hourly_occupancy(simulate_car_park("p", 40, START, 7, seed), START, 7 * 24)
    profile = weekly_profile(occupancy, ["p"], "UTC")
    middays = [profile[(d, 12)] for d in range(5)]
    nights = [profile[(d, 3)] for d in range(7)]
    assert np.mean(middays) == pytest.approx(demand(0, 12), abs=0.12)
    assert np.mean(nights) < 0.2 < 0.8 < np.mean(middays)


def test_current_counts_the_last_state_of_each_bay() -> None:
    """Now is each bay's last report; bays not yet reporting are not counted as monitored."""
    t0 = START.timestamp()
    histories = [
        BayHistory(1, "a", np.array([t0, t0 + 60]), np.array([True, False])),
        BayHistory(2, "a", np.array([t0]), np.array([True])),
        BayHistory(3, "a", np.array([t0 + 7200]), np.array([True])),
    ]
    assert current(histories, START + timedelta(minutes=30)) == {"a": (1, 2)}


@pytest.mark.parametrize("occupancy, direction", [
    (0.98, 1), (0.95, 1), (0.91, 1), (0.85, 0), (0.82, 0), (0.75, -1), (0.5, -1), (0.1, -1)])
@pytest.mark.parametrize("price", [0.8, 1.2, 3.0])
def test_tariff_moves_up_above_target_and_down_below(occupancy: float, direction: int,
                                                      price: float) -> None:
    """Above the target band the price rises, below it falls, inside it stays; never by more
    than the step allowed."""
    model = TariffModel()
    suggested = suggest_price(price, occupancy, model)
    assert np.sign(round(suggested - price, 2)) == direction
    assert abs(suggested - price) <= price * model.max_step + model.round_to / 2 + 1e-9


def test_tariff_follows_the_constant_elasticity_model() -> None:
    """Within the step limit the new price is p x (target/occupancy)^(1/elasticity), to 10p."""
    model = TariffModel(max_step=0.9, round_to=0.01)
    assert suggest_price(2.0, 0.95, model) == pytest.approx(
        2.0 * (0.85 / 0.95) ** (1 / -0.3), abs=0.006)
    assert suggest_price(0.0, 0.97, model) == model.starting_price
    assert suggest_price(0.0, 0.3, model) == 0.0


def test_tariff_settings_are_checked() -> None:
    """A positive elasticity or a target outside 0-1 is refused with what to give."""
    with pytest.raises(ValueError, match="must be negative"):
        TariffModel(elasticity=0.3)
    with pytest.raises(ValueError, match="between 0 and 1"):
        TariffModel(target_occupancy=85)


def test_tariff_table_has_a_row_per_hour() -> None:
    """The table pairs each profile hour with its price and the suggestion."""
    rows = tariff_table({(0, 12): 0.97, (0, 3): 0.1}, {(-1, -1): 1.0}, TariffModel())
    assert [(r["hour"], r["suggested"] > 1.0, r["suggested"] < 1.0) for r in rows] == [
        (3, False, True), (12, True, False)]


def test_capacity_from_tag_or_area() -> None:
    """The capacity tag wins; otherwise 25 m2 a space of the mapped outline; else unknown."""
    tagged = Feature("osm:w1", "car_park", "A", -0.72, 52.67, {"capacity": "120"})
    assert capacity_of(tagged) == (120, "osm tag")
    # About 100 m x 50 m at Oakham's latitude: 5,000 m2, so some 200 spaces.
    outline = box(-0.72, 52.67, -0.72 + 100 / 67_600, 52.67 + 50 / 111_195)
    drawn = Feature("osm:w2", "car_park", "B", -0.72, 52.67, {}, outline)
    spaces, source = capacity_of(drawn)
    assert source == "estimated from area" and 195 <= (spaces or 0) <= 201
    assert capacity_of(Feature("osm:n3", "car_park", "C", -0.72, 52.67)) == (None, "unknown")


def test_bays_are_matched_to_the_car_park_they_are_in() -> None:
    """A bay inside an outline, one just outside it, and one far away on-street."""
    outline = box(-0.7200, 52.6700, -0.7190, 52.6705)
    parks = [Feature("osm:w1", "car_park", "A", -0.7195, 52.67025, {}, outline),
             Feature("osm:n2", "car_park", "B", -0.7000, 52.6600)]
    bays = np.array([(-0.7195, 52.6702), (-0.71885, 52.6702), (-0.7100, 52.6650),
                     (-0.70001, 52.66001)])
    assert match_bays(parks, bays).tolist() == [0, 0, -1, 1]
