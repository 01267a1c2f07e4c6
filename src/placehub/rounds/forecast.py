"""Need forecasting per asset: how full a bin will be (or how dry a flowerbed) by a given time.

A ``Forecaster`` takes an asset's history (readings and service events) and two instants, ``at``
(now, from the caller's clock; forecasters never read the wall clock) and ``until`` (the next
possible visit), and answers a ``Need``: the level now, the rate, the level expected at
``until``, the probability of reaching the bin's full line (``AssetHistory.full_level``) or
falling to the bed's watering threshold by then, and when that is expected.

``PlacehubForecaster`` estimates a fill rate with a weekday profile from the series since the
last emptyings of recent weeks and turns its residual variance into a probability;
``NaiveForecaster`` keeps the last reading and is kept for comparison.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

LITTER_BIN = "litter_bin"
FLOWERBED = "flowerbed"

# A fall of this much fill between two readings is an emptying even without a service event.
EMPTYING_DROP = 0.25
# A rise of this many moisture points between two readings is rain or watering.
WETTING_RISE = 1.5
# Readings at or above this fill are saturated (the sensor cannot see an overflow): no rate.
SATURATED_FILL = 0.97
# Bins with too little history get this prior rate (fill per day) and spread.
PRIOR_FILL_RATE = 0.15
PRIOR_FILL_SD = 0.10
PRIOR_DRYING_RATE = 2.0
MEASUREMENT_SD = 0.03
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Reading:
    """One reading: fill fraction for a bin, volumetric soil moisture (%) for a flowerbed."""

    time: datetime
    value: float


@dataclass
class AssetHistory:
    """What a forecaster knows about one asset."""

    asset_id: int
    asset_type: str
    readings: Sequence[Reading]
    services: Sequence[datetime] = ()
    watering_threshold: float = 20.0
    # The fill at which a bin counts as full (its line; 1 = the profile's full distance): the
    # level the overflow probability and the due time are about.
    full_level: float = 1.0

    def __post_init__(self) -> None:
        if self.asset_type not in (LITTER_BIN, FLOWERBED):
            raise ValueError(f"asset_type {self.asset_type!r} not understood: "
                             f"use {LITTER_BIN!r} or {FLOWERBED!r}.")


@dataclass(frozen=True)
class Need:
    """A forecast for one asset (levels are fill fractions or moisture %)."""

    asset_id: int
    asset_type: str
    at: datetime
    until: datetime
    level: float
    rate_per_day: float
    expected_level: float
    probability: float
    due: datetime | None
    last_service: datetime | None
    readings_used: int
    method: str
    weekday_factors: tuple[float, ...] = field(default=(1.0,) * 7)

    @property
    def overflow_probability(self) -> float:
        """For a bin: the probability it overflows by ``until``."""
        return self.probability


class Forecaster(Protocol):
    """Turns an asset's history into a Need; a better model can replace the built-in one."""

    name: str

    def forecast(self, history: AssetHistory, at: datetime, until: datetime) -> Need:
        """The asset's need at ``at`` and by ``until`` (``until`` >= ``at``)."""
        ...


def fill_fraction(distance_mm: float, empty_distance_mm: float, full_distance_mm: float) -> float:
    """Fill of a bin from an ultrasonic distance reading and its profile (0 empty, 1 full).

    Readings beyond the empty distance count as empty; nearer than full as a little over full
    (the sensor sees the heap, not what spilled), so the result lies in [0, 1.1].
    """
    span = empty_distance_mm - full_distance_mm
    if span <= 0:
        raise ValueError(
            f"empty distance {empty_distance_mm} mm must exceed full distance "
            f"{full_distance_mm} mm: fix the bin's profile."
        )
    return min(max((empty_distance_mm - distance_mm) / span, 0.0), 1.1)


def emptyings(readings: Sequence[Reading], services: Sequence[datetime] = ()) -> list[datetime]:
    """Times the bin was emptied: service events and sudden drops in the series, in order."""
    found = set(services)
    for before, after in zip(readings, readings[1:], strict=False):
        # A drop with a service event in between is that event; otherwise date it at the reading.
        dropped = after.value < before.value - EMPTYING_DROP
        if dropped and not any(before.time < s <= after.time for s in services):
            found.add(after.time)
    return sorted(found)


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def _robust_mean(values: np.ndarray) -> float:
    """Mean after clipping values further than 3 scaled MADs from the median."""
    median = float(np.median(values))
    mad = 1.4826 * float(np.median(np.abs(values - median)))
    if mad == 0:
        return float(np.mean(values))
    return float(np.mean(np.clip(values, median - 3 * mad, median + 3 * mad)))


def _profiled_growth(rate: float, factors: Sequence[float], start: datetime,
                     end: datetime) -> float:
    """Growth between two instants at ``rate`` per day shaped by weekday ``factors``."""
    total = 0.0
    cursor = start
    while cursor < end:
        midnight = datetime.combine(cursor.date() + DAY, datetime.min.time(), cursor.tzinfo)
        step_end = min(midnight, end)
        total += rate * factors[cursor.weekday()] * (step_end - cursor) / DAY
        cursor = step_end
    return total


def _daily_rates(pairs: list[tuple[Reading, Reading]]) -> dict[datetime, float]:
    """Rate per day for each calendar day, from consecutive reading pairs (by their midpoint)."""
    change: dict[datetime, float] = defaultdict(float)
    span: dict[datetime, float] = defaultdict(float)
    for a, b in pairs:
        days = (b.time - a.time) / DAY
        if days <= 0:
            continue
        mid = a.time + (b.time - a.time) / 2
        key = datetime.combine(mid.date(), datetime.min.time(), mid.tzinfo)
        change[key] += b.value - a.value
        span[key] += days
    return {k: change[k] / span[k] for k in change if span[k] > 0}


class PlacehubForecaster:
    """Fill rate with a weekday profile from recent weeks, and a probability from its variance.

    Parameters
    ----------
    lookback_days
        How far back readings are used for the rate.
    shrinkage_days
        Weekday factors are shrunk towards 1 as if this many days had factor 1.
    """

    name = "placehub weekday-profile forecaster"

    def __init__(self, lookback_days: int = 28, shrinkage_days: float = 2.0) -> None:
        if lookback_days < 2:
            raise ValueError(f"lookback_days {lookback_days} < 2 not understood.")
        if shrinkage_days < 0:
            raise ValueError(f"shrinkage_days {shrinkage_days} < 0 not understood.")
        self.lookback = timedelta(days=lookback_days)
        self.shrinkage_days = shrinkage_days

    def forecast(self, history: AssetHistory, at: datetime, until: datetime) -> Need:
        if until < at:
            raise ValueError(f"until {until} is before at {at}: ask about the future.")
        readings = sorted((r for r in history.readings if at - self.lookback <= r.time <= at),
                          key=lambda r: r.time)
        services = sorted(s for s in history.services if s <= at)
        if history.asset_type == FLOWERBED:
            return self._flowerbed(history, readings, at, until)
        return self._bin(history, readings, services, at, until)

    def _bin(self, history: AssetHistory, readings: list[Reading], services: list[datetime],
             at: datetime, until: datetime) -> Need:
        empties = emptyings(readings, services)
        pairs = [
            (a, b) for a, b in zip(readings, readings[1:], strict=False)
            if not any(a.time < e <= b.time for e in empties)
            and max(a.value, b.value) < SATURATED_FILL
        ]
        day_rates = _daily_rates(pairs)
        if len(day_rates) >= 2:
            values = np.array(list(day_rates.values()))
            rate = max(_robust_mean(values), 0.0)
            factors: Sequence[float] = self._weekday_factors(day_rates, rate)
            profiled = np.array([rate * factors[d.weekday()] for d in day_rates])
            sd = float(np.std(values - profiled, ddof=1)) if len(values) > 2 else PRIOR_FILL_SD
            sd = max(sd, 0.02 + 0.1 * rate)
            method = "weekday profile"
        else:
            rate, factors, sd, method = PRIOR_FILL_RATE, (1.0,) * 7, PRIOR_FILL_SD, "prior rate"

        last_service = empties[-1] if empties else None
        latest = readings[-1] if readings else None
        if latest is None or (last_service is not None and last_service > latest.time):
            level, since = 0.0, last_service
        else:
            level, since = latest.value, latest.time
        if since is None:  # no reading and no emptying: assume half full now, widely uncertain
            level, since, sd = 0.5, at, max(sd, 0.25)
        now_level = level + _profiled_growth(rate, factors, since, at)
        expected = now_level + _profiled_growth(rate, factors, at, until)
        spread_days = max((until - since) / DAY, 0.0)
        spread = math.sqrt(sd**2 * spread_days + MEASUREMENT_SD**2)
        line = history.full_level
        probability = 1.0 if level >= line else _normal_sf((line - expected) / spread)
        return Need(
            asset_id=history.asset_id, asset_type=LITTER_BIN, at=at, until=until,
            level=min(now_level, 1.1), rate_per_day=rate, expected_level=expected,
            probability=probability, due=self._due(now_level, rate, factors, at, line=line),
            last_service=last_service, readings_used=len(readings), method=method,
            weekday_factors=tuple(factors),
        )

    def _weekday_factors(self, day_rates: dict[datetime, float], rate: float) -> list[float]:
        by_weekday: dict[int, list[float]] = defaultdict(list)
        for day, value in day_rates.items():
            by_weekday[day.weekday()].append(value)
        factors = []
        for weekday in range(7):
            values = by_weekday.get(weekday, [])
            raw = (float(np.mean(values)) / rate) if values and rate > 0 else 1.0
            n = len(values)
            factors.append((n * raw + self.shrinkage_days) / (n + self.shrinkage_days)
                           if n + self.shrinkage_days > 0 else 1.0)
        return factors

    @staticmethod
    def _due(level: float, rate: float, factors: Sequence[float], at: datetime,
             max_days: int = 60, line: float = 1.0) -> datetime | None:
        """When the expected fill reaches ``line``, stepping a day at a time (None if not in
        60 days)."""
        if level >= line:
            return at
        cursor = at
        for _ in range(max_days):
            grow = rate * factors[cursor.weekday()]
            if grow > 0 and level + grow >= line:
                return cursor + (line - level) / grow * DAY
            level += grow
            cursor += DAY
        return None

    def _flowerbed(self, history: AssetHistory, readings: list[Reading], at: datetime,
                   until: datetime) -> Need:
        threshold = history.watering_threshold
        wettings = [b.time for a, b in zip(readings, readings[1:], strict=False)
                    if b.value > a.value + WETTING_RISE]
        wettings += [s for s in history.services if s <= at]
        dry_pairs = [(a, b) for a, b in zip(readings, readings[1:], strict=False)
                     if b.value <= a.value + WETTING_RISE
                     and not any(a.time < w <= b.time for w in wettings)]
        day_rates = _daily_rates(dry_pairs)
        if len(day_rates) >= 2:
            # Drying is a positive rate of moisture loss.
            values = -np.array(list(day_rates.values()))
            drying = max(_robust_mean(values), 0.0)
            sd = max(float(np.std(values, ddof=1)), 0.2) if len(values) > 2 else 1.0
            method = "drying rate"
        else:
            drying, sd, method = PRIOR_DRYING_RATE, 1.0, "prior rate"
        latest = readings[-1] if readings else None
        level = latest.value if latest else threshold + 10.0
        since = latest.time if latest else at
        now_level = level - drying * (at - since) / DAY
        expected = now_level - drying * (until - at) / DAY
        spread = math.sqrt(sd**2 * max((until - since) / DAY, 0.0) + 1.0)
        probability = 1.0 if now_level <= threshold else _normal_sf((expected - threshold) / spread)
        due = at if now_level <= threshold else (
            at + (now_level - threshold) / drying * DAY if drying > 0 else None)
        return Need(
            asset_id=history.asset_id, asset_type=FLOWERBED, at=at, until=until,
            level=now_level, rate_per_day=drying, expected_level=expected,
            probability=probability, due=due,
            last_service=max(wettings) if wettings else None,
            readings_used=len(readings), method=method,
        )


class NaiveForecaster:
    """The baseline: the last reading stays as it is; need only when already past the line."""

    name = "naive last reading"

    def forecast(self, history: AssetHistory, at: datetime, until: datetime) -> Need:
        if until < at:
            raise ValueError(f"until {until} is before at {at}: ask about the future.")
        earlier = [r for r in history.readings if r.time <= at]
        latest = max(earlier, key=lambda r: r.time) if earlier else None
        if history.asset_type == FLOWERBED:
            level = latest.value if latest else history.watering_threshold + 10.0
            crossed = level <= history.watering_threshold
        else:
            level = latest.value if latest else 0.0
            crossed = level >= history.full_level
        return Need(
            asset_id=history.asset_id, asset_type=history.asset_type, at=at, until=until,
            level=level, rate_per_day=0.0, expected_level=level,
            probability=1.0 if crossed else 0.0, due=at if crossed else None,
            last_service=None, readings_used=len(earlier), method="last reading",
        )
