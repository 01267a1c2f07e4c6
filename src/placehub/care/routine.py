"""Routine learning and "change in routine" detectors on a home's event streams (plain NumPy).

Events are epoch seconds (UTC); days are the home's local days (Europe/London), cut at local
midnight. Learned figures are robust: the median and the MAD of the last 14 days, so one odd
morning does not move the routine.

Detectors, each flagging local days:
- ``no_movement``: no movement by the learned first-movement time plus a margin;
- ``night_door``: the front door opened between 23:00 and 06:00;
- ``too_cold``: the home below 16 °C for 2 hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

TZ = ZoneInfo("Europe/London")
DETECTORS = ("no_movement", "night_door", "too_cold")
Floats = NDArray[np.float64]
Flags = NDArray[np.bool_]


@dataclass(frozen=True)
class Settings:
    """The detectors' parameters (documented in docs/care.md)."""

    window_days: int = 14
    min_days: int = 7  # fewer learned mornings than this: no no-movement alert yet
    day_start_min: float = 4 * 60  # movement before 04:00 is the night, not the morning
    margin_min: float = 60.0
    mad_k: float = 3.0
    night_start_min: float = 23 * 60
    night_end_min: float = 6 * 60
    cold_c: float = 16.0
    cold_s: float = 2 * 3600.0


@dataclass
class HomeEvents:
    """A home's events: motion reports, front-door and fridge-door openings, temperatures."""

    motion: Floats = field(default_factory=lambda: np.zeros(0))
    front_door: Floats = field(default_factory=lambda: np.zeros(0))
    fridge: Floats = field(default_factory=lambda: np.zeros(0))
    temperature_t: Floats = field(default_factory=lambda: np.zeros(0))
    temperature_c: Floats = field(default_factory=lambda: np.zeros(0))


def day_bounds(first: date, days: int, tz: ZoneInfo = TZ) -> Floats:
    """Epoch seconds of the local midnights starting ``days`` days from ``first`` (days + 1)."""
    return np.array([datetime.combine(first + timedelta(days=n), time(), tz).timestamp()
                     for n in range(days + 1)], dtype=np.float64)


def _day_and_minute(t: Floats, bounds: Floats) -> tuple[NDArray[np.int64], Floats]:
    day = np.searchsorted(bounds, t, side="right").astype(np.int64) - 1
    inside = (day >= 0) & (day < len(bounds) - 1)
    minute = np.full(t.shape, np.nan)
    minute[inside] = (t[inside] - bounds[day[inside]]) / 60.0
    return np.where(inside, day, -1), minute


def first_movement(motion: Floats, bounds: Floats, settings: Settings = Settings()) -> Floats:
    """Minutes after local midnight of each day's first movement (after the day starts);
    NaN on a day without movement."""
    days = len(bounds) - 1
    day, minute = _day_and_minute(np.sort(motion), bounds)
    keep = (day >= 0) & (minute >= settings.day_start_min)
    firsts = np.full(days, np.inf)
    np.minimum.at(firsts, day[keep], minute[keep])
    firsts[np.isinf(firsts)] = np.nan
    return firsts


def learned_first_movement(firsts: Floats, settings: Settings = Settings()
                           ) -> tuple[Floats, Floats]:
    """For each day, the median and MAD of the first movement over the window of days before
    it (NaN where fewer than ``min_days`` mornings are known)."""
    medians = np.full(len(firsts), np.nan)
    mads = np.full(len(firsts), np.nan)
    for d in range(len(firsts)):
        window = firsts[max(0, d - settings.window_days):d]
        window = window[~np.isnan(window)]
        if len(window) >= settings.min_days:
            medians[d] = np.median(window)
            mads[d] = np.median(np.abs(window - medians[d]))
    return medians, mads


def latest_expected(medians: Floats, mads: Floats, settings: Settings = Settings()) -> Floats:
    """The time (minutes after midnight) by which movement is expected: the learned median plus
    the larger of the margin and k robust standard deviations (1.4826 MAD)."""
    return medians + np.maximum(settings.margin_min, settings.mad_k * 1.4826 * mads)


def no_movement(motion: Floats, bounds: Floats, settings: Settings = Settings()) -> Flags:
    """Days whose first movement came after the expected time, or never."""
    firsts = first_movement(motion, bounds, settings)
    expected = latest_expected(*learned_first_movement(firsts, settings), settings)
    late = np.isnan(firsts) | (firsts > expected)
    return np.asarray(~np.isnan(expected) & late)


def per_day(t: Floats, bounds: Floats) -> NDArray[np.int64]:
    """How many events fall on each local day (fridge use per day)."""
    day, _ = _day_and_minute(t, bounds)
    return np.bincount(day[day >= 0], minlength=len(bounds) - 1).astype(np.int64)


def night_door(front_door: Floats, bounds: Floats, settings: Settings = Settings()) -> Flags:
    """Days with a front-door opening in the night hours (before 06:00 or from 23:00)."""
    day, minute = _day_and_minute(front_door, bounds)
    night = (day >= 0) & ((minute < settings.night_end_min)
                          | (minute >= settings.night_start_min))
    flags = np.zeros(len(bounds) - 1, dtype=bool)
    flags[day[night]] = True
    return flags


def cold_spells(t: Floats, c: Floats, settings: Settings = Settings()) -> list[tuple[float, float]]:
    """(start, last reading) of each run of consecutive readings below the limit."""
    order = np.argsort(t)
    t, below = t[order], c[order] < settings.cold_c
    edges = np.diff(np.concatenate(([0], below.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [(float(t[s]), float(t[e])) for s, e in zip(starts, ends, strict=True)]


def too_cold(t: Floats, c: Floats, bounds: Floats, settings: Settings = Settings()) -> Flags:
    """Days on which the home had been below the limit for the whole of ``cold_s``."""
    flags = np.zeros(len(bounds) - 1, dtype=bool)
    for start, last in cold_spells(t, c, settings):
        if last - start >= settings.cold_s:
            day, _ = _day_and_minute(np.array([start + settings.cold_s]), bounds)
            if day[0] >= 0:
                flags[day[0]] = True
    return flags


def detect(events: HomeEvents, bounds: Floats, settings: Settings = Settings()
           ) -> dict[str, Flags]:
    """Every detector's flags per day."""
    return {
        "no_movement": no_movement(events.motion, bounds, settings),
        "night_door": night_door(events.front_door, bounds, settings),
        "too_cold": too_cold(events.temperature_t, events.temperature_c, bounds, settings),
    }


# --- now: what the alerts say ---------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    """A change in routine that holds now."""

    key: str
    title: str
    message: str
    since: datetime
    value: float | None = None


def _clock(minutes: float) -> str:
    whole = int(round(minutes))
    return f"{whole // 60:02d}:{whole % 60:02d}"


def routine(events: HomeEvents, at: datetime, settings: Settings = Settings()
            ) -> dict[str, Any]:
    """The learned routine as of ``at``: typical first movement (median, MAD, expected by),
    fridge use per day and night openings over the window, last movement."""
    today = at.astimezone(TZ).date()
    bounds = day_bounds(today - timedelta(days=settings.window_days), settings.window_days + 1)
    firsts = first_movement(events.motion, bounds, settings)
    medians, mads = learned_first_movement(firsts, settings)
    expected = latest_expected(medians, mads, settings)[-1]
    fridge = per_day(events.fridge, bounds)[:-1]
    motion = events.motion[events.motion <= at.timestamp()]
    return {
        "first_movement_median": None if np.isnan(medians[-1]) else _clock(medians[-1]),
        "first_movement_mad_min": None if np.isnan(mads[-1]) else round(float(mads[-1])),
        "movement_expected_by": None if np.isnan(expected) else _clock(expected),
        "fridge_per_day": float(np.median(fridge)) if len(fridge) else None,
        "night_door_openings": int(night_door(events.front_door, bounds, settings)[:-1].sum()),
        "last_movement": (datetime.fromtimestamp(float(motion.max()), UTC)
                          if len(motion) else None),
        "moved_today": not np.isnan(firsts[-1]),
    }


def findings(events: HomeEvents, at: datetime, settings: Settings = Settings()
             ) -> list[Finding]:
    """The changes in routine that hold at ``at`` (each one alert while it holds)."""
    found: list[Finding] = []
    now = at.timestamp()
    local = at.astimezone(TZ)
    today = local.date()
    bounds = day_bounds(today - timedelta(days=settings.window_days), settings.window_days + 1)
    firsts = first_movement(events.motion[events.motion <= now], bounds, settings)
    medians, mads = learned_first_movement(firsts, settings)
    expected = latest_expected(medians, mads, settings)[-1]
    minute_now = (now - bounds[-2]) / 60.0
    if not np.isnan(expected) and np.isnan(firsts[-1]) and minute_now > expected:
        found.append(Finding(
            "no_movement", "No movement this morning",
            f"No movement seen today by {_clock(expected)} (usually first movement about "
            f"{_clock(medians[-1])})", datetime.fromtimestamp(bounds[-2] + expected * 60, UTC)))
    recent = events.front_door[(events.front_door <= now) & (events.front_door > now - 12 * 3600)]
    day, minute = _day_and_minute(recent, bounds)
    night = recent[(day >= 0) & ((minute < settings.night_end_min)
                                 | (minute >= settings.night_start_min))]
    if len(night):
        first = datetime.fromtimestamp(float(night.min()), UTC)
        found.append(Finding(
            "night_door", "Front door opened at night",
            f"The front door opened at {first.astimezone(TZ):%H:%M} ({len(night)} "
            f"time{'s' if len(night) > 1 else ''} tonight)", first, float(len(night))))
    seen = events.temperature_t <= now
    spells = cold_spells(events.temperature_t[seen], events.temperature_c[seen], settings)
    if spells:
        start, last = spells[-1]
        latest = float(events.temperature_t[seen].max())
        if last == latest and last - start >= settings.cold_s and now - last < 3 * 3600:
            value = float(events.temperature_c[seen][np.argmax(events.temperature_t[seen])])
            found.append(Finding(
                "too_cold", "Home too cold",
                f"Below {settings.cold_c:g} °C since "
                f"{datetime.fromtimestamp(start, UTC).astimezone(TZ):%H:%M} (now "
                f"{value:.1f} °C)", datetime.fromtimestamp(start, UTC), value))
    return found
