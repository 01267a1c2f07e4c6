"""Timing shared by the benchmark scripts: the median wall time of repeated runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TypeVar

Result = TypeVar("Result")


def timed_runs(action: Callable[[int], Result], repeats: int) -> tuple[float, list[Result]]:
    """Median wall-clock seconds of ``action(0)`` ... ``action(repeats - 1)``, and their results."""
    times, results = [], []
    for run in range(repeats):
        start = time.perf_counter()
        results.append(action(run))
        times.append(time.perf_counter() - start)
    return statistics.median(times), results


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    """Median wall-clock seconds of ``repeats`` calls of ``action``."""
    return timed_runs(lambda _run: action(), repeats)[0]
