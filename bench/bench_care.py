"""Change-in-routine detectors on simulated months: precision and recall per detector over
many seeds, and the time to judge one home-month (the answers of two detectors are checked
against a plain Python loop over the same events).

Run: .venv/bin/python bench/bench_care.py [--seeds 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import UTC, date, datetime

import numpy as np

from placehub.care.routine import TZ, Settings, detect
from placehub.care.simulate import precision_recall, simulate

FIRST = date(2026, 10, 5)  # across the end of summer time


def loop_too_cold(t: np.ndarray, c: np.ndarray, bounds: np.ndarray, s: Settings) -> np.ndarray:
    """The too-cold detector as a plain loop over readings (the baseline)."""
    flags = np.zeros(len(bounds) - 1, dtype=bool)
    start = None
    for i in range(len(t)):
        if c[i] < s.cold_c:
            start = t[i] if start is None else start
            if t[i] - start >= s.cold_s:
                at = start + s.cold_s
                for d in range(len(bounds) - 1):
                    if bounds[d] <= at < bounds[d + 1]:
                        flags[d] = True
        else:
            start = None
    return flags


def loop_night_door(t: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    flags = np.zeros(len(bounds) - 1, dtype=bool)
    for moment in t:
        local = datetime.fromtimestamp(float(moment), UTC).astimezone(TZ)
        if local.hour >= 23 or local.hour < 6:
            for d in range(len(bounds) - 1):
                if bounds[d] <= moment < bounds[d + 1]:
                    flags[d] = True
    return flags


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=200)
    seeds = parser.parse_args().seeds
    started = time.perf_counter()
    figures = precision_recall(FIRST, range(seeds))
    print(f"{seeds} simulated 28-day months (one late morning, one night door opening, one "
          f"heating failure planted in each), {time.perf_counter() - started:.1f} s")
    for name, f in figures.items():
        print(f"  {name:12s} precision {f['precision']:.3f}  recall {f['recall']:.3f}  "
              f"(planted {f['planted']:.0f}, false alarms {f['false_alarms']:.0f})")
    month = simulate(FIRST, seed=1)
    s = Settings()
    ours = []
    for _ in range(7):
        clock = time.perf_counter()
        flags = detect(month.events, month.bounds, s)
        ours.append(time.perf_counter() - clock)
    cold = loop_too_cold(month.events.temperature_t, month.events.temperature_c, month.bounds, s)
    night = loop_night_door(month.events.front_door, month.bounds)
    assert (cold == flags["too_cold"]).all() and (night == flags["night_door"]).all()
    print(f"one home-month ({len(month.events.temperature_t)} temperatures, "
          f"{len(month.events.motion)} motion reports): all three detectors "
          f"{statistics.median(ours) * 1e3:.2f} ms (answers equal to a plain loop's)")
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python "
          f"{platform.python_version()}, NumPy {np.__version__}; medians of 7")


if __name__ == "__main__":
    main()
