"""Routine learning and change-in-routine detectors on simulated months of home events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from placehub.care.routine import (
    HomeEvents,
    day_bounds,
    detect,
    findings,
    first_movement,
    learned_first_movement,
    per_day,
    routine,
)
from placehub.care.simulate import precision_recall, score, simulate

# Four weeks across the clocks going back (25 October 2026): local days must stay right.
FIRST = date(2026, 10, 5)


def test_planted_changes_are_found_and_nothing_else() -> None:
    """Each planted change (late morning, night door, cold home) is flagged on its day and no
    other day after the learning window is flagged."""
    month = simulate(FIRST, seed=4)
    flags = detect(month.events, month.bounds)
    for name, days in month.planted.items():
        assert days and {int(d) for d in np.flatnonzero(flags[name]) if d >= 14} == days, name


def test_a_normal_week_raises_nothing() -> None:
    """Over several residents' ordinary months, the last week raises no alert at all."""
    for seed in range(6):
        month = simulate(FIRST, seed=seed, plant=False)
        assert all(counts == (0, 0, 0) for counts in score(month, from_day=21).values()), seed


def test_precision_and_recall_over_seeds() -> None:
    """Over 20 simulated months each detector finds every planted change with at most one
    false alarm in all."""
    results = precision_recall(FIRST, range(20))
    for name, figures in results.items():
        assert figures["recall"] == 1.0, name
        assert figures["false_alarms"] <= 1, name


def test_learned_first_movement_is_robust_to_one_odd_morning() -> None:
    """The median and MAD of 14 mornings barely move when one morning is four hours late."""
    bounds = day_bounds(FIRST, 15)
    mornings = bounds[:-1] + (7 * 60 + np.tile([-10, 0, 10], 5)[:15]) * 60.0
    mornings[5] += 4 * 3600
    medians, mads = learned_first_movement(first_movement(mornings, bounds))
    assert medians[-1] == 7 * 60 and mads[-1] == 10


def test_findings_now_say_what_holds() -> None:
    """At 11:00 on a day without movement, after a night door opening and with the home at
    14 °C for three hours, all three findings hold; the routine figures are reported."""
    month = simulate(FIRST, days=16, seed=2, plant=False)
    at = datetime.fromtimestamp(float(month.bounds[15]), UTC) + timedelta(hours=11)
    cut = float(month.bounds[15])
    ev = month.events
    temp_t = np.concatenate([ev.temperature_t[ev.temperature_t < cut],
                             cut + np.arange(0, 11 * 3600 + 1, 900.0)])
    temp_c = np.concatenate([ev.temperature_c[ev.temperature_t < cut],
                             np.where(np.arange(0, 11 * 3600 + 1, 900.0) >= 8 * 3600, 14.0,
                                      19.0)])
    events = HomeEvents(motion=ev.motion[ev.motion < cut],
                        front_door=np.append(ev.front_door[ev.front_door < cut], cut + 2 * 3600),
                        fridge=ev.fridge, temperature_t=temp_t, temperature_c=temp_c)
    assert [f.key for f in findings(events, at)] == ["no_movement", "night_door", "too_cold"]
    figures = routine(events, at)
    assert figures["moved_today"] is False and figures["movement_expected_by"]
    assert 3 <= figures["fridge_per_day"] <= 7
    quiet = HomeEvents(motion=ev.motion, front_door=ev.front_door[ev.front_door < cut],
                       fridge=ev.fridge, temperature_t=ev.temperature_t,
                       temperature_c=ev.temperature_c)
    assert findings(quiet, at) == []


@pytest.mark.parametrize("days", [1, 3])
def test_fridge_use_counts_local_days(days: int) -> None:
    """Openings are counted on the local day they happen, midnight to midnight."""
    bounds = day_bounds(FIRST, days)
    openings = np.concatenate([b + np.array([8, 12, 18]) * 3600.0 for b in bounds[:-1]])
    assert per_day(openings, bounds).tolist() == [3] * days
