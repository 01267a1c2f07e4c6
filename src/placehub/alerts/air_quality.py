"""Air-quality statistics against the UK (England) objectives: pure NumPy, no database.

Hourly means are binned on whole UTC hours, daily means on UTC days (as Defra's AURN data is
reported in GMT). Every statistic carries its data capture, and a result whose capture is below the
threshold is flagged *indicative*. Sources: REFERENCES.md "Air quality (England)"; the Air Quality
(England) Regulations 2000/2002; Environmental Targets (Fine Particulate Matter) (England)
Regulations 2023; Defra LAQM.TG22 for the capture rules and the percentile stand-ins.
"""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

HOUR_S = 3600
DAY_HOURS = 24

# Data capture below which a result is only indicative. 75% is the objectives' own rule (and the
# rule for a valid daily mean: at least 18 of 24 hours); Defra's usual practice for annual
# statistics is 85%, so annual statistics use ANNUAL_CAPTURE_THRESHOLD unless told otherwise.
CAPTURE_THRESHOLD = 0.75
ANNUAL_CAPTURE_THRESHOLD = 0.85
DAILY_MEAN_MIN_CAPTURE = 0.75
# Below this data capture no verdict is given at all (``exceeded`` is None): Defra LAQM.TG22
# annualises means with 25-75% capture and advises against using sites below 25%.
VERDICT_CAPTURE_FLOOR = 0.25

# ppb -> µg/m³ at 20 °C and 1013 mb (Defra's conversion factors).
PPB_TO_UGM3: dict[str, float] = {"no2": 1.91, "o3": 2.00, "so2": 2.66, "no": 1.25}


@dataclass(frozen=True)
class Objective:
    """One air-quality objective or target for a pollutant."""

    pollutant: str
    name: str
    kind: str  # "annual_mean" | "hourly_exceedances" | "daily_exceedances"
    limit: float  # µg/m³
    allowed_exceedances: int | None = None  # per calendar year; None for annual means
    percentile: float | None = None  # the percentile standing in for the count (LAQM.TG22)
    source: str = ""


OBJECTIVES: tuple[Objective, ...] = (
    Objective("no2", "NO2 annual mean", "annual_mean", 40.0,
              source="Air Quality (England) Regulations 2000"),
    Objective("no2", "NO2 hourly mean", "hourly_exceedances", 200.0, 18, 99.79,
              source="Air Quality (England) Regulations 2000"),
    Objective("pm10", "PM10 annual mean", "annual_mean", 40.0,
              source="Air Quality (England) Regulations 2000"),
    Objective("pm10", "PM10 24-hour mean", "daily_exceedances", 50.0, 35, 90.41,
              source="Air Quality (England) Regulations 2000"),
    Objective("pm2_5", "PM2.5 annual mean limit", "annual_mean", 20.0,
              source="Air Quality Standards Regulations 2010 (limit value)"),
    Objective("pm2_5", "PM2.5 annual mean, interim target (January 2028)", "annual_mean", 12.0,
              source="Environmental Improvement Plan 2023 interim target"),
    Objective("pm2_5", "PM2.5 annual mean, target (2040)", "annual_mean", 10.0,
              source="Environmental Targets (Fine Particulate Matter) (England) Regulations 2023"),
)

POLLUTANTS = ("no2", "pm10", "pm2_5")

#: What a reader sees instead of the quantity codes.
POLLUTANT_NAMES: dict[str, str] = {
    "no2": "Nitrogen dioxide (NO₂)",
    "pm10": "Particulate matter (PM10)",
    "pm2_5": "Fine particulate matter (PM2.5)",
}


def pollutant_name(pollutant: str) -> str:
    """The readable name of a pollutant code (the code itself when unknown)."""
    return POLLUTANT_NAMES.get(pollutant, pollutant)


def ppb_to_ugm3(pollutant: str, values: np.ndarray | float) -> np.ndarray | float:
    """Convert ppb to µg/m³ with Defra's factor for ``pollutant``."""
    try:
        factor = PPB_TO_UGM3[pollutant]
    except KeyError:
        raise ValueError(
            f"no ppb to µg/m³ factor for {pollutant!r}: known are {', '.join(PPB_TO_UGM3)}"
        ) from None
    return values * factor


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The first instant of ``year`` and of the next year, UTC."""
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def hours_in_year(year: int) -> int:
    return (366 if calendar.isleap(year) else 365) * DAY_HOURS


def hourly_means(
    epoch_seconds: np.ndarray, values: np.ndarray, start: datetime, hours: int
) -> np.ndarray:
    """Mean of the valid values in each whole hour from ``start``; NaN for hours without data.

    ``epoch_seconds`` are the observations' (start) times. Values that are NaN do not count, nor
    do observations outside the ``hours`` hours from ``start``.
    """
    epoch_seconds = np.asarray(epoch_seconds, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    index = np.floor((epoch_seconds - start.timestamp()) / HOUR_S).astype(np.int64)
    keep = (index >= 0) & (index < hours) & ~np.isnan(values)
    sums = np.bincount(index[keep], weights=values[keep], minlength=hours)
    counts = np.bincount(index[keep], minlength=hours)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def daily_means(hourly: np.ndarray, min_capture: float = DAILY_MEAN_MIN_CAPTURE) -> np.ndarray:
    """24-hour means of whole days of ``hourly`` (starting at midnight UTC).

    A day's mean is valid only with at least ``min_capture`` of its hours (18 of 24 for 75%),
    otherwise NaN.
    """
    days = len(hourly) // DAY_HOURS
    grid = np.asarray(hourly[: days * DAY_HOURS], dtype=np.float64).reshape(days, DAY_HOURS)
    valid = (~np.isnan(grid)).sum(axis=1)
    sums = np.nansum(grid, axis=1)
    enough = valid >= int(np.ceil(min_capture * DAY_HOURS - 1e-9))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(enough, sums / np.maximum(valid, 1), np.nan)


def data_capture(series: np.ndarray) -> float:
    """Share of periods with data: valid periods / periods in the span (0 for an empty span)."""
    return float((~np.isnan(series)).sum() / len(series)) if len(series) else 0.0


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None or np.isnan(value) else round(float(value), digits)


@dataclass
class ObjectiveResult:
    """How one site did against one objective in one year."""

    objective: str
    pollutant: str
    pollutant_name: str
    kind: str
    limit: float
    value: float | None  # annual mean (µg/m³) or exceedance count
    allowed_exceedances: int | None
    exceeded: bool | None  # None: no verdict (no data, or capture below the verdict floor)
    data_capture: float
    indicative: bool  # capture below the threshold: the value is indicative only
    percentile: float | None = None  # e.g. 99.79th percentile of hourly means (µg/m³)
    percentile_exceeds: bool | None = None
    note: str = ""


@dataclass
class PollutantYear:
    """One pollutant at one site for one calendar year."""

    pollutant: str
    pollutant_name: str
    year: int
    hours_in_period: int
    hours_with_data: int
    data_capture: float
    annual_mean: float | None
    max_hourly_mean: float | None
    valid_days: int
    days_in_period: int
    daily_capture: float
    hours_above_200: int | None = None  # NO2
    days_above_50: int | None = None  # PM10
    monthly_capture: list[float] = field(default_factory=list)
    objectives: list[ObjectiveResult] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def pollutant_year(
    pollutant: str,
    year: int,
    hourly: np.ndarray,
    capture_threshold: float = ANNUAL_CAPTURE_THRESHOLD,
    capture_floor: float = VERDICT_CAPTURE_FLOOR,
) -> PollutantYear:
    """Annual statistics and objective results for ``hourly`` means covering all of ``year``.

    ``hourly`` holds one value per hour of the year (NaN where there is no valid hour).
    ``capture_threshold`` decides when annual results are only indicative (default 85%, Defra's
    practice; 0.75 is the objectives' own minimum). Below ``capture_floor`` (default 25%) no
    verdict is given: ``exceeded`` is None and the note says why.
    """
    if not 0 < capture_threshold <= 1:
        raise ValueError(f"capture threshold {capture_threshold} not understood: use 0 < t <= 1")
    if not 0 <= capture_floor <= capture_threshold:
        raise ValueError(f"capture floor {capture_floor} not understood: use 0 <= floor <= "
                         f"the capture threshold ({capture_threshold})")
    expected = hours_in_year(year)
    if len(hourly) != expected:
        raise ValueError(f"{len(hourly)} hourly values given for {year}: expected {expected}")
    hourly = np.asarray(hourly, dtype=np.float64)
    valid = ~np.isnan(hourly)
    capture = data_capture(hourly)
    daily = daily_means(hourly)
    daily_valid = ~np.isnan(daily)
    mean = float(hourly[valid].mean()) if valid.any() else None
    result = PollutantYear(
        pollutant=pollutant,
        pollutant_name=pollutant_name(pollutant),
        year=year,
        hours_in_period=expected,
        hours_with_data=int(valid.sum()),
        data_capture=round(capture, 4),
        annual_mean=_round(mean),
        max_hourly_mean=_round(float(hourly[valid].max())) if valid.any() else None,
        valid_days=int(daily_valid.sum()),
        days_in_period=len(daily),
        daily_capture=round(data_capture(daily), 4),
        monthly_capture=_monthly_capture(year, hourly),
    )
    indicative = capture < capture_threshold
    for objective in OBJECTIVES:
        if objective.pollutant != pollutant:
            continue
        if objective.kind == "annual_mean":
            outcome = ObjectiveResult(
                objective.name, pollutant, pollutant_name(pollutant), objective.kind,
                objective.limit, _round(mean), None,
                None if mean is None else mean > objective.limit,
                round(capture, 4), indicative,
                note=_capture_note(capture, capture_threshold),
            )
        elif objective.kind == "hourly_exceedances":
            count = int((hourly[valid] > objective.limit).sum())
            result.hours_above_200 = count if objective.limit == 200.0 else None
            outcome = _exceedance_result(
                objective, count, hourly[valid], capture, capture_threshold)
        else:
            count = int((daily[daily_valid] > objective.limit).sum())
            result.days_above_50 = count if objective.limit == 50.0 else None
            outcome = _exceedance_result(
                objective, count, daily[daily_valid], data_capture(daily), capture_threshold)
        # A count above the allowed number is proven whatever the capture (more data can only
        # add exceedances); anything else below the floor is no verdict.
        proven = (objective.kind != "annual_mean" and outcome.value is not None
                  and outcome.value > (objective.allowed_exceedances or 0))
        if outcome.data_capture < capture_floor and outcome.exceeded is not None and not proven:
            outcome.exceeded = None
            outcome.percentile_exceeds = None
            outcome.note = (f"no verdict: data capture {outcome.data_capture:.1%} is below the "
                            f"{capture_floor:.0%} floor for judging an objective")
        result.objectives.append(outcome)
    return result


def _exceedance_result(
    objective: Objective, count: int, valid_values: np.ndarray, capture: float, threshold: float
) -> ObjectiveResult:
    # With low capture a count can only be too small: more exceedances than allowed is a
    # failure whatever the capture, while a pass is judged on the percentile (LAQM.TG22).
    allowed = objective.allowed_exceedances or 0
    percentile = (
        float(np.percentile(valid_values, objective.percentile))
        if len(valid_values) and objective.percentile else None
    )
    indicative = capture < threshold
    exceeded: bool | None = None
    if len(valid_values):
        exceeded = count > allowed
        if indicative and not exceeded and percentile is not None:
            exceeded = percentile > objective.limit
    note = _capture_note(capture, threshold)
    if indicative and percentile is not None:
        note += f"; judged on the {objective.percentile}th percentile as capture is low"
    return ObjectiveResult(
        objective.name, objective.pollutant, pollutant_name(objective.pollutant), objective.kind,
        objective.limit, count, allowed, exceeded,
        round(capture, 4), indicative, _round(percentile),
        None if percentile is None else percentile > objective.limit, note,
    )


def _capture_note(capture: float, threshold: float) -> str:
    if capture < threshold:
        return (f"indicative only: data capture {capture:.1%} is below {threshold:.0%}")
    return f"data capture {capture:.1%}"


def _monthly_capture(year: int, hourly: np.ndarray) -> list[float]:
    captures = []
    start = 0
    for month in range(1, 13):
        hours = calendar.monthrange(year, month)[1] * DAY_HOURS
        captures.append(round(data_capture(hourly[start:start + hours]), 4))
        start += hours
    return captures
