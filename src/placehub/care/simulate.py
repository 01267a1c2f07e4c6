"""A month of one resident's home events, with changes in routine planted on known days.

Used by the demo, the tests and ``bench/care_detectors.py`` (precision and recall of each
detector over many seeds). A normal day: waking near the resident's usual time (spread about
20 minutes), movement every few minutes while awake, a night-time trip now and then, the
fridge opened about five times, the front door once or twice in the daytime, heating on by day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from placehub.care.routine import DETECTORS, HomeEvents, Settings, day_bounds, detect

HOUR = 3600.0


@dataclass
class SimulatedMonth:
    """The events, the local-midnight bounds and the planted days per detector."""

    events: HomeEvents
    bounds: np.ndarray
    planted: dict[str, set[int]]


def simulate(first: date, days: int = 28, *, seed: int = 0, plant: bool = True,
             plant_from: int = 15) -> SimulatedMonth:
    """``days`` days of events from ``first``; with ``plant``, one late morning (no movement
    until four hours after waking), one front-door opening at night and one heating failure,
    each on its own day from ``plant_from``."""
    rng = np.random.default_rng(seed)
    bounds = day_bounds(first, days)
    wake_usual = rng.uniform(6.5, 8.5) * HOUR
    planted: dict[str, set[int]] = {name: set() for name in DETECTORS}
    if plant:
        chosen = rng.choice(np.arange(plant_from, days), size=3, replace=False)
        for name, day in zip(DETECTORS, chosen, strict=True):
            planted[name].add(int(day))
    motion, front, fridge, temp_t, temp_c = [], [], [], [], []
    for d in range(days):
        midnight = bounds[d]
        wake = wake_usual + rng.normal(0, 20 * 60)
        if d in planted["no_movement"]:
            wake += 4 * HOUR
        bed = 22 * HOUR + rng.normal(0, 30 * 60)
        steps = np.arange(wake, bed, 10 * 60)
        moving = steps[rng.random(len(steps)) < 0.7]
        motion.append(midnight + np.concatenate(([wake], moving)))
        if rng.random() < 0.3:  # a trip in the night
            motion.append(midnight + np.array([rng.uniform(1, 3.5) * HOUR]))
        fridge.append(midnight + np.sort(rng.uniform(wake + 0.5 * HOUR, bed,
                                                     rng.poisson(5))))
        front.append(midnight + np.sort(rng.uniform(9 * HOUR, 20 * HOUR,
                                                    rng.poisson(1.2))))
        if d in planted["night_door"]:
            front.append(midnight + np.array([rng.uniform(1.5, 4.5) * HOUR]))
        t = np.arange(0, 24 * HOUR, 15 * 60)
        heated = (t >= 6.5 * HOUR) & (t < 22.5 * HOUR)
        c = np.where(heated, 20.5, 17.5) + rng.normal(0, 0.3, len(t))
        if d in planted["too_cold"]:
            start = rng.uniform(9, 15) * HOUR
            c = np.where((t >= start) & (t < start + 5 * HOUR), 14.5 + rng.normal(0, 0.3, len(t)),
                         c)
        temp_t.append(midnight + t)
        temp_c.append(c)
    events = HomeEvents(
        motion=np.sort(np.concatenate(motion)), front_door=np.sort(np.concatenate(front)),
        fridge=np.sort(np.concatenate(fridge)), temperature_t=np.concatenate(temp_t),
        temperature_c=np.concatenate(temp_c))
    return SimulatedMonth(events, bounds, planted)


def score(month: SimulatedMonth, settings: Settings = Settings(),
          from_day: int = 14) -> dict[str, tuple[int, int, int]]:
    """(true positives, false positives, missed) per detector over the days from ``from_day``."""
    flags = detect(month.events, month.bounds, settings)
    scores = {}
    for name in DETECTORS:
        flagged = {int(d) for d in np.flatnonzero(flags[name]) if d >= from_day}
        planted = {d for d in month.planted[name] if d >= from_day}
        scores[name] = (len(flagged & planted), len(flagged - planted), len(planted - flagged))
    return scores


def precision_recall(first: date, seeds: range, days: int = 28
                     ) -> dict[str, dict[str, float]]:
    """Precision and recall of each detector over one simulated month per seed."""
    totals = {name: [0, 0, 0] for name in DETECTORS}
    for seed in seeds:
        for name, counts in score(simulate(first, days, seed=seed)).items():
            for i, n in enumerate(counts):
                totals[name][i] += n
    return {name: {"precision": tp / (tp + fp) if tp + fp else 1.0,
                   "recall": tp / (tp + fn) if tp + fn else 1.0,
                   "planted": float(tp + fn), "false_alarms": float(fp)}
            for name, (tp, fp, fn) in totals.items()}
