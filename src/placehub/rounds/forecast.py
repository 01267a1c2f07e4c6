"""Need forecasting per asset: how full a bin will be (or how dry a flowerbed) by a given time.

A ``Forecaster`` takes an asset's history (readings and service events) and two instants, ``at``
(now, from the caller's clock; forecasters never read the wall clock) and ``until`` (the next
possible visit), and answers a ``Need``: the level now, the rate, the level expected at
``until``, the probability of reaching the bin's full line (``AssetHistory.full_level``) or
falling to the bed's watering threshold by then, and when that is expected.

``PlacehubForecaster`` first screens the readings (``screen_readings``: isolated spikes are
dropped, a sensor stuck on one value or silent for too long is not trusted, implausible jumps are
kept out of the rate), then estimates an adaptive fill rate (recent days weigh more) with a
weekday profile and turns its residual variance, widened for demand shocks shared over days, into
a prediction interval and a probability. An asset whose sensor cannot be trusted is forecast from
its history and flagged (``Need.flags``). ``NaiveForecaster`` keeps the last reading and is kept
for comparison.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Protocol

import numpy as np

LITTER_BIN = "litter_bin"
FLOWERBED = "flowerbed"

# A fall of this much fill between two readings is an emptying even without a service event.
EMPTYING_DROP = 0.25
# A rise of this many moisture points between two readings is rain or watering, or of this
# many standard deviations of the difference of two readings when the sensor is noisier.
WETTING_RISE = 1.5
WETTING_NOISE_Z = 3.0
# Readings at or above this fill are saturated (the sensor cannot see an overflow): no rate.
SATURATED_FILL = 0.97
# Bins with too little history get this prior rate (fill per day) and spread.
PRIOR_FILL_RATE = 0.15
PRIOR_FILL_SD = 0.10
PRIOR_DRYING_RATE = 2.0
MEASUREMENT_SD = 0.03
DAY = timedelta(days=1)

# Sensor screening (fill fractions; flowerbeds scale these by MOISTURE_SCALE points).
# A reading this far from both neighbours, while they agree, is a spike (a hand or a bag in
# front of the sensor, a lost echo) and is dropped.
SPIKE_SIZE = 0.25
# At least this many readings over at least this many hours on one value (within the tolerance;
# a working ultrasonic sensor never repeats itself exactly) is a stuck sensor; so is one value
# read before and after a recorded emptying.
STUCK_MIN_READINGS = 4
STUCK_MIN_HOURS = 36.0
STUCK_TOLERANCE = 0.002
# No reading for this long (two readings a day expected) is a silent sensor: dead or flat battery.
SILENT_HOURS = 30.0
# A rise this large between two readings is kept as a level but not used for the rate (a bag of
# household rubbish dumped in, a sensor knocked): a rate from it would be wildly off.
IMPLAUSIBLE_RISE = 0.5
MOISTURE_SCALE = 40.0
# Flowerbeds dry at the rate of this quantile of their daily losses (see PlacehubForecaster).
DRY_SPELL_QUANTILE = 0.7
# Adaptive rate: a day's rate weighs half as much as one RATE_HALF_LIFE_DAYS more recent.
RATE_HALF_LIFE_DAYS = 5.0
# Demand shocks shared over consecutive days (weather, events, holidays) make growth over
# several days vary more than independent daily noise says: this share of the expected growth is
# added to the spread (a coefficient of variation).
SHARED_SHOCK_CV = 0.2
# A known surge day's factor is the council's estimate: this share of the extra growth it adds
# is added to the spread (a coefficient of variation).
CALENDAR_CV = 0.3
# An untrusted sensor's forecast from history is this much less certain.
UNTRUSTED_SD_FACTOR = 1.5
# The prediction interval reported with each need (two-sided, central).
INTERVAL_COVERAGE = 0.8
_INTERVAL_Z = 1.2816


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
    # Known surge days of this asset (``placehub.rounds.calendar``): day -> demand factor
    # (bank holidays, announced events). Days ahead are forecast at that many times the usual
    # rate; days behind are divided by it before the rate is estimated.
    demand_factors: Mapping[date, float] = field(default_factory=dict)

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
    # Why the sensor's latest readings were not (all) trusted, e.g. "sensor stuck at 43% since
    # 2026-11-19 06:00: forecast from history"; empty when every reading was used.
    flags: tuple[str, ...] = ()
    # Central INTERVAL_COVERAGE prediction interval of the level at ``until`` (None: not given).
    interval: tuple[float, float] | None = None
    # False when the level comes from history rather than a trusted recent reading.
    trusted: bool = True
    # The newest reading the level rests on, when that is not the newest reading: a fall
    # without a recorded emptying is not believed until a second reading confirms it.
    rests_on: datetime | None = None

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


@dataclass
class Screened:
    """Readings after screening: those to use, those kept out of the rate, and what was found."""

    readings: list[Reading]
    rate_excluded: set[datetime] = field(default_factory=set)
    flags: list[str] = field(default_factory=list)
    trusted: bool = True


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def screen_readings(readings: Sequence[Reading], services: Sequence[datetime], at: datetime,
                    scale: float = 1.0, saturated: float | None = SATURATED_FILL) -> Screened:
    """Drop spikes, detect a stuck or silent sensor and implausible jumps (readings in order).

    ``scale`` is the size of the quantity's range (1 for fill fractions, MOISTURE_SCALE for
    moisture points). A stuck or silent sensor makes the result untrusted: the readings from
    the moment it stuck are dropped, so the forecast runs on from the last trustworthy one.
    A run of readings at or above ``saturated`` is a full bin, not a stuck sensor.
    """
    kept = list(readings)
    flags: list[str] = []
    spikes = 0
    i = 1
    while i < len(kept) - 1:
        a, b, c = kept[i - 1], kept[i], kept[i + 1]
        serviced = any(a.time < s <= c.time for s in services)
        if (not serviced and abs(a.value - c.value) < SPIKE_SIZE * scale / 2
                and abs(b.value - (a.value + c.value) / 2) > SPIKE_SIZE * scale):
            del kept[i]
            spikes += 1
            continue
        i += 1
    if spikes:
        flags.append(f"{spikes} spike reading{'s' if spikes != 1 else ''} ignored")
    trusted = True
    if kept:
        last = kept[-1]
        run = [last]
        for reading in reversed(kept[:-1]):
            if abs(reading.value - last.value) > STUCK_TOLERANCE * scale:
                break
            run.append(reading)
        run.reverse()
        hours = (run[-1].time - run[0].time) / timedelta(hours=1)
        serviced = any(run[0].time < s <= run[-1].time for s in services)
        full = saturated is not None and last.value >= saturated
        # Emptied (or watered) without the reading moving: stuck, unless it reads empty.
        unmoved = serviced and len(run) >= 2 and last.value > EMPTYING_DROP * scale / 2
        # A long run on one value is stuck even across an emptying (a sensor stuck low, where
        # an emptying hardly moves it), unless it reads empty: an emptied bin clips at zero.
        empty = last.value <= STUCK_TOLERANCE * scale
        long_run = len(run) >= STUCK_MIN_READINGS and hours >= STUCK_MIN_HOURS
        if not full and (unmoved or (long_run and (not serviced or not empty))):
            kept = kept[:len(kept) - len(run)]
            trusted = False
            flags.append(f"sensor stuck at {last.value:.3g} since {_when(run[0].time)}: "
                         "forecast from history")
    latest = kept[-1].time if kept else None
    if trusted and (latest is None or (at - latest) / timedelta(hours=1) > SILENT_HOURS):
        trusted = False
        flags.append(f"no reading since {_when(latest)}: forecast from history" if latest
                     else "no readings: forecast from the prior")
    excluded = {b.time for a, b in zip(kept, kept[1:], strict=False)
                if b.value - a.value > IMPLAUSIBLE_RISE * scale
                and (b.time - a.time) <= DAY}
    if excluded:
        flags.append(f"{len(excluded)} implausible jump{'s' if len(excluded) != 1 else ''} "
                     "kept out of the rate")
    return Screened(kept, excluded, flags, trusted)


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, share: float) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] * share)])


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    return _weighted_quantile(values, weights, 0.5)


# A normal variable's standard deviation is this many times its median absolute deviation.
MAD_TO_SD = 1.4826


def _robust_mean(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """(Weighted) mean after clipping values further than 3 scaled MADs from the (weighted)
    median. The MAD is floored at a third of the median, so a real change of rate, recent and
    weighted up, is not clipped away as an outlier of the older days."""
    w = np.ones_like(values) if weights is None else weights
    median = _weighted_median(values, w)
    mad = max(MAD_TO_SD * _weighted_median(np.abs(values - median), w), abs(median) / 3)
    clipped = values if mad == 0 else np.clip(values, median - 3 * mad, median + 3 * mad)
    return float(np.average(clipped, weights=w))


def _recency_weights(days: Sequence[datetime], at: datetime) -> np.ndarray:
    """Adaptive-rate weights: halve every RATE_HALF_LIFE_DAYS back from ``at``."""
    ages = np.array([max((at - d) / DAY, 0.0) for d in days])
    return np.power(0.5, ages / RATE_HALF_LIFE_DAYS)


def _profiled_growth(rate: float, factors: Sequence[float], start: datetime,
                     end: datetime, calendar: Mapping[date, float] | None = None) -> float:
    """Growth between two instants at ``rate`` per day shaped by weekday ``factors`` and the
    known surge days' ``calendar`` factors."""
    total = 0.0
    cursor = start
    while cursor < end:
        midnight = datetime.combine(cursor.date() + DAY, datetime.min.time(), cursor.tzinfo)
        step_end = min(midnight, end)
        surge = calendar.get(cursor.date(), 1.0) if calendar else 1.0
        total += rate * factors[cursor.weekday()] * surge * (step_end - cursor) / DAY
        cursor = step_end
    return total


def _reading_noise(readings: Sequence[Reading]) -> float:
    """The standard deviation of one reading's noise, from the median absolute second
    difference (a steady trend has none; the median ignores wettings and spikes)."""
    values = np.array([r.value for r in readings])
    if len(values) < 3:
        return 0.0
    second = np.diff(values, 2)
    # A second difference of independent noise has variance 6 sigma^2.
    return float(MAD_TO_SD * np.median(np.abs(second)) / math.sqrt(6))


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


@dataclass(frozen=True)
class _BinFit:
    """A bin's fitted rate, spread and level at ``at``, before projecting to a horizon."""

    screened: Screened
    rate: float
    factors: tuple[float, ...]
    sd: float
    rate_se: float
    method: str
    level: float  # at ``since``
    since: datetime
    now_level: float
    last_service: datetime | None
    readings_used: int


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
        self._cache: tuple[tuple[object, ...], tuple[_BinFit, _BinFit | None]] | None = None

    def forecast(self, history: AssetHistory, at: datetime, until: datetime) -> Need:
        if until < at:
            raise ValueError(f"until {until} is before at {at}: ask about the future.")
        if history.asset_type == FLOWERBED:
            readings, services = self._window(history, at)
            return self._flowerbed(history, readings, services, at, until)
        main, doubt = self._fits(history, at)
        need = self._bin_need(history, main, at, until)
        # A fall without a recorded service may be an emptying reported late, or a lost echo:
        # until a second reading confirms it, take the riskier of the two readings of it.
        if doubt is not None:
            alternative = self._bin_need(history, doubt, at, until)
            if alternative.probability > need.probability:
                kept = main.screened.readings
                need = replace(alternative, rests_on=kept[-2].time, flags=(
                    *alternative.flags, f"fall to {kept[-1].value:.0%} at "
                    f"{_when(kept[-1].time)} without a recorded emptying: not yet believed"))
        return need

    def _window(self, history: AssetHistory, at: datetime
                ) -> tuple[list[Reading], list[datetime]]:
        """The readings of the lookback period before the sensor's newest reading (so a sensor
        silent for longer than the lookback still lends its asset its own rate, not the prior)
        up to ``at``, and the services up to ``at``."""
        past = [r for r in history.readings if r.time <= at]
        newest = max((r.time for r in past), default=at)
        start = min(at, newest) - self.lookback
        readings = sorted((r for r in past if start <= r.time), key=lambda r: r.time)
        return readings, sorted(s for s in history.services if s <= at)

    def _fits(self, history: AssetHistory, at: datetime) -> tuple[_BinFit, _BinFit | None]:
        """The bin's fitted rate and level at ``at`` (and the fit doubting its last fall).

        Callers ask for several horizons of one history in a row; the fit is kept for the
        last history asked about, so each horizon only projects it.
        """
        key = (id(history), history.asset_id, len(history.readings), len(history.services), at)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        readings, services = self._window(history, at)
        screened = screen_readings(readings, services, at)
        main = self._fit_bin(history, screened, services, at)
        kept = screened.readings
        doubt = None
        if (len(kept) >= 2 and kept[-1].value < kept[-2].value - EMPTYING_DROP
                and not any(kept[-2].time < s <= kept[-1].time for s in services)):
            doubt = self._fit_bin(history, Screened(kept[:-1], screened.rate_excluded,
                                                    list(screened.flags), screened.trusted),
                                  services, at)
        self._cache = (key, (main, doubt))
        return main, doubt

    def _fit_bin(self, history: AssetHistory, screened: Screened, services: list[datetime],
                 at: datetime) -> _BinFit:
        readings = screened.readings
        empties = emptyings(readings, services)
        pairs = [
            (a, b) for a, b in zip(readings, readings[1:], strict=False)
            if not any(a.time < e <= b.time for e in empties)
            and max(a.value, b.value) < SATURATED_FILL
            and b.time not in screened.rate_excluded
        ]
        # A known surge day's fill says nothing of the usual rate beyond its factor.
        known = history.demand_factors
        day_rates = {d: r / known.get(d.date(), 1.0) for d, r in _daily_rates(pairs).items()}
        rate_se = PRIOR_FILL_SD
        if len(day_rates) >= 2:
            days = list(day_rates)
            values = np.array([day_rates[d] for d in days])
            weights = _recency_weights(days, at)
            rate = max(_robust_mean(values, weights), 0.0)
            factors: Sequence[float] = self._weekday_factors(day_rates, rate)
            profiled = np.array([rate * factors[d.weekday()] for d in days])
            sd = float(np.std(values - profiled, ddof=1)) if len(values) > 2 else PRIOR_FILL_SD
            sd = max(sd, 0.02 + 0.1 * rate)
            effective = float(weights.sum() ** 2 / (weights**2).sum())
            rate_se = sd / math.sqrt(effective)
            method = "adaptive weekday profile"
        else:
            rate, factors, sd, method = PRIOR_FILL_RATE, (1.0,) * 7, PRIOR_FILL_SD, "prior rate"
        if not screened.trusted and history.readings:
            sd *= UNTRUSTED_SD_FACTOR
            method += " (from history: sensor not trusted)"
        last_service = empties[-1] if empties else None
        latest = readings[-1] if readings else None
        if latest is None or (last_service is not None and last_service > latest.time):
            level, since = 0.0, last_service
        else:
            level, since = latest.value, latest.time
        if since is None:  # no reading and no emptying: assume half full now, widely uncertain
            level, since, sd = 0.5, at, max(sd, 0.25)
        now_level = level + _profiled_growth(rate, factors, since, at, known)
        return _BinFit(screened, rate, tuple(factors), sd, rate_se, method, level, since,
                       now_level, last_service, len(readings))

    def _bin_need(self, history: AssetHistory, fit: _BinFit, at: datetime,
                  until: datetime) -> Need:
        rate, factors, sd = fit.rate, fit.factors, fit.sd
        known = history.demand_factors
        expected = fit.now_level + _profiled_growth(rate, factors, at, until, known)
        spread_days = max((until - fit.since) / DAY, 0.0)
        growth = max(expected - fit.level, 0.0)
        surge = (_profiled_growth(rate, factors, fit.since, until, known)
                 - _profiled_growth(rate, factors, fit.since, until)) if known else 0.0
        spread = math.sqrt(sd**2 * spread_days + (SHARED_SHOCK_CV * growth) ** 2
                           + (CALENDAR_CV * surge) ** 2
                           + (fit.rate_se * spread_days) ** 2 + MEASUREMENT_SD**2)
        line = history.full_level
        probability = 1.0 if fit.level >= line else _normal_sf((line - expected) / spread)
        return Need(
            asset_id=history.asset_id, asset_type=LITTER_BIN, at=at, until=until,
            level=min(fit.now_level, 1.1), rate_per_day=rate, expected_level=expected,
            probability=probability,
            due=self._due(fit.now_level, rate, factors, at, line=line, calendar=known),
            last_service=fit.last_service, readings_used=fit.readings_used, method=fit.method,
            weekday_factors=factors, flags=tuple(fit.screened.flags),
            interval=(expected - _INTERVAL_Z * spread, expected + _INTERVAL_Z * spread),
            trusted=fit.screened.trusted,
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
             max_days: int = 60, line: float = 1.0,
             calendar: Mapping[date, float] | None = None) -> datetime | None:
        """When the expected fill reaches ``line``, stepping a day at a time (None if not in
        60 days)."""
        if level >= line:
            return at
        cursor = at
        for _ in range(max_days):
            grow = rate * factors[cursor.weekday()] * (
                calendar.get(cursor.date(), 1.0) if calendar else 1.0)
            if grow > 0 and level + grow >= line:
                return cursor + (line - level) / grow * DAY
            level += grow
            cursor += DAY
        return None

    def _flowerbed(self, history: AssetHistory, readings: list[Reading],
                   services: list[datetime], at: datetime, until: datetime) -> Need:
        threshold = history.watering_threshold
        screened = screen_readings(readings, services, at, scale=MOISTURE_SCALE,
                                   saturated=None)
        readings = screened.readings
        # A rise within the sensor's noise is not a wetting: leaving such rises out (and
        # keeping the falls) would make a noisy bed seem to dry several times too fast.
        noise = _reading_noise(readings)
        rise = max(WETTING_RISE, WETTING_NOISE_Z * noise * math.sqrt(2))
        wettings = [b.time for a, b in zip(readings, readings[1:], strict=False)
                    if b.value > a.value + rise]
        wettings += list(services)
        dry_pairs = [(a, b) for a, b in zip(readings, readings[1:], strict=False)
                     if b.value <= a.value + rise
                     and not any(a.time < w <= b.time for w in wettings)]
        day_rates = _daily_rates(dry_pairs)
        if len(day_rates) >= 2:
            # Drying is a positive rate of moisture loss; recent days weigh more (the weather
            # changes through a season).
            days = list(day_rates)
            values = -np.array([day_rates[d] for d in days])
            # Showers too light to show as a wetting still slow the loss on some days; the
            # risk is a dry spell, so the rate is that of the drier days (weighted 70th
            # percentile), not the mean.
            drying = max(_weighted_quantile(values, _recency_weights(days, at),
                                            DRY_SPELL_QUANTILE), 0.0)
            sd = max(float(np.std(values, ddof=1)), 0.2) if len(values) > 2 else 1.0
            method = "adaptive drying rate"
        else:
            drying, sd, method = PRIOR_DRYING_RATE, 1.0, "prior rate"
        if not screened.trusted and history.readings:
            sd *= UNTRUSTED_SD_FACTOR
            method += " (from history: sensor not trusted)"
        latest = readings[-1] if readings else None
        level = latest.value if latest else threshold + 10.0
        since = latest.time if latest else at
        if services and services[-1] > since:  # watered after the last reading
            level, since = max(level, threshold + 15.0), services[-1]
        now_level = level - drying * (at - since) / DAY
        expected = now_level - drying * (until - at) / DAY
        loss = max(level - expected, 0.0)
        spread = math.sqrt(sd**2 * max((until - since) / DAY, 0.0)
                           + (SHARED_SHOCK_CV * loss) ** 2 + max(noise**2, 1.0))
        probability = 1.0 if now_level <= threshold else _normal_sf((expected - threshold) / spread)
        due = at if now_level <= threshold else (
            at + (now_level - threshold) / drying * DAY if drying > 0 else None)
        return Need(
            asset_id=history.asset_id, asset_type=FLOWERBED, at=at, until=until,
            level=now_level, rate_per_day=drying, expected_level=expected,
            probability=probability, due=due,
            last_service=max(wettings) if wettings else None,
            readings_used=len(readings), method=method, flags=tuple(screened.flags),
            interval=(expected - _INTERVAL_Z * spread, expected + _INTERVAL_Z * spread),
            trusted=screened.trusted,
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
