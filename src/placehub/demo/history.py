"""Eight weeks of plausible history for the demo's assets, as plain time series.

- Litter bins fill at a rate set by where they stand (town centre, town, village), varying by bin,
  weekday and day, mostly in daytime; they are emptied on the council's current fixed rounds
  (town centres daily except Sunday, towns on Monday and Thursday, each village on its own day).
- Flowerbeds dry by season and get rain; the parks team waters beds that are dry on its
  fixed Tuesday and Friday rounds.
- Air quality is a replay of Defra AURN hourly data from London Marylebone Road, scaled to a
  market town and labelled as such: it is not a measurement made in Rutland.

``bin_fill_added`` and ``soil_moisture_change`` are the two dynamics functions; they are the
swap point for the fill model shared with the rounds simulation (placehub.rounds.demand).
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np

from placehub.area.files import AIR_REPLAY
from placehub.demo.district import AssetSpec
from placehub.rounds.demand import (
    BinSite,
    DemandModel,
    fixed_round_weekdays,
    site_from_properties,
    stable_id,
)

HISTORY_DAYS = 56
# Reporting intervals: bin and soil sensors every 3 hours (a common setting that keeps a
# battery going for years), air-quality stations hourly.
BIN_INTERVAL = timedelta(hours=3)
SOIL_INTERVAL = timedelta(hours=3)
AIR_INTERVAL = timedelta(hours=1)

# Bin geometry by profile: (empty distance mm, full distance mm), as the device profiles say.
BIN_DISTANCES_MM = {
    "milesight-em310-udl-bin": (1100, 150),
    "dragino-ldds75-bin": (1000, 150),
}

# Share of a day's litter by hour of day (people are out in the day and early evening).
HOURLY_SHARE = np.array([0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.5, 1.6, 1.7, 2.0, 2.4, 2.2,
                         1.9, 1.8, 1.9, 1.9, 1.6, 1.2, 0.9, 0.6, 0.4, 0.3])
HOURLY_SHARE = HOURLY_SHARE / HOURLY_SHARE.sum()

# The current fixed rounds: which weekdays (Monday = 0) each kind of bin is emptied, from 07:00.
ROUND_START_HOUR = 7

WATERING_DAYS = (1, 4)  # Tuesday and Friday
WATERED_TO = 38.0

AIR_REPLAY_YEAR = 2019
AIR_REPLAY_LABEL = (
    "Replay of Defra AURN hourly data from London Marylebone Road (site MY1), {year}, scaled to "
    "a market-town site: not measured in Rutland. © Crown copyright, Defra via "
    "uk-air.defra.gov.uk, OGL v3."
)
# Marylebone Road is one of the most polluted kerbsides in the UK: scale to a market town.
AIR_SCALE = {"roadside": {"no2": 0.45, "pm": 0.75}, "town": {"no2": 0.3, "pm": 0.65}}


@dataclass(frozen=True)
class Series:
    """A quantity's readings for one asset: times (UTC) and values."""

    quantity: str
    times: list[datetime]
    values: list[float]


def _rng(seed: int, *keys: str | int) -> np.random.Generator:
    digest = hashlib.sha256(":".join(str(k) for k in (seed, *keys)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def history_start(now: datetime, days: int = HISTORY_DAYS) -> datetime:
    """The first instant of the back-filled history: midnight ``days`` days before ``now``."""
    start = (now - timedelta(days=days)).astimezone(UTC)
    return start.replace(hour=0, minute=0, second=0, microsecond=0)


def _steps(start: datetime, end: datetime, every: timedelta, jitter_s: int) -> Iterator[datetime]:
    at = start + timedelta(seconds=jitter_s)
    while at < end:
        yield at
        at += every


# -- the dynamics (swap point for placehub.rounds.demand) --------------------------------------


@lru_cache(maxsize=8)
def demand_model(seed: int) -> DemandModel:
    """The shared demand model (placehub.rounds.demand) for the demo's seed."""
    return DemandModel(seed)


def demand_site(asset: AssetSpec) -> BinSite:
    """A demo bin as the demand model sees it: its own setting, near a park or not."""
    return site_from_properties(0, asset.lon, asset.lat, asset.properties, asset.name)


def bin_fill_added(asset: AssetSpec, day: date, seed: int) -> float:
    """Fraction of a bin's capacity filled on ``day``, from the shared demand model.

    ``DemandModel.daily_fill``: base rate by setting, a per-bin log-normal factor, the weekday
    profile and gamma day-to-day noise (see docs/rounds.md, "Demand model").
    """
    return demand_model(seed).daily_fill(demand_site(asset), day)


def soil_moisture_change(asset: AssetSpec, day: date, seed: int) -> float:
    """Change of a bed's soil moisture over ``day`` in percentage points (rain raises it)."""
    return demand_model(seed).daily_drying(stable_id(asset.key), day)


# -- bins --------------------------------------------------------------------------------------


def emptying_days(asset: AssetSpec) -> tuple[int, ...]:
    """Weekdays the bin is emptied on the fixed rounds (placehub.rounds.demand's schedule)."""
    return fixed_round_weekdays(str(asset.properties.get("setting", "village")),
                                str(asset.properties.get("settlement", "")))


def bin_history(asset: AssetSpec, start: datetime, end: datetime, seed: int,
                every: timedelta = BIN_INTERVAL) -> list[Series]:
    """Fill level (%), distance (mm) and battery of one bin from ``start`` to ``end``."""
    empty_mm, full_mm = BIN_DISTANCES_MM[asset.profile]
    rng = _rng(seed, "bin-readings", asset.key)
    round_minute = int(rng.integers(0, 180))  # where the bin comes on the round
    days = emptying_days(asset)
    fill = float(rng.uniform(0.0, 0.5))
    battery = float(rng.uniform(3.45, 3.6))
    times: list[datetime] = []
    fills: list[float] = []
    distances: list[float] = []
    battery_times: list[datetime] = []
    batteries: list[float] = []
    last = start
    fill_on: dict[date, float] = {}
    for at in _steps(start, end, every, int(rng.integers(0, 600))):
        # Add the litter since the last reading, hour by hour, and empty on round days.
        cursor = last
        while cursor < at:
            step_end = min(at, cursor.replace(minute=0, second=0, microsecond=0)
                           + timedelta(hours=1))
            hours = (step_end - cursor).total_seconds() / 3600
            day = cursor.date()
            if day not in fill_on:
                fill_on[day] = bin_fill_added(asset, day, seed)
            day_fill = fill_on[day]
            fill += day_fill * HOURLY_SHARE[cursor.hour] * hours
            emptied_at = cursor.replace(hour=ROUND_START_HOUR, minute=0, second=0,
                                        microsecond=0) + timedelta(minutes=round_minute)
            if cursor.weekday() in days and cursor <= emptied_at < step_end:
                fill = float(rng.uniform(0.0, 0.03))
            cursor = step_end
        last = at
        seen = min(fill, 1.0)
        distance = empty_mm - seen * (empty_mm - full_mm) + float(rng.normal(0, 12))
        distance = float(np.clip(round(distance), full_mm - 10, empty_mm + 30))
        times.append(at)
        distances.append(distance)
        fills.append(round(float(np.clip((empty_mm - distance) / (empty_mm - full_mm) * 100,
                                         0, 100)), 1))
        if at.hour < every.total_seconds() / 3600:  # once a day
            battery -= float(rng.uniform(0.0005, 0.0015))
            battery_times.append(at)
            batteries.append(round(battery, 3))
    battery_quantity = ("battery_percent" if asset.profile.startswith("milesight")
                        else "battery_voltage")
    if battery_quantity == "battery_percent":
        batteries = [round(min(100.0, max(0.0, (b - 3.0) / 0.6 * 100))) for b in batteries]
    return [Series("fill_level", times, fills), Series("distance", times, distances),
            Series(battery_quantity, battery_times, batteries)]


# -- flowerbeds --------------------------------------------------------------------------------


def flowerbed_history(asset: AssetSpec, start: datetime, end: datetime, seed: int,
                      every: timedelta = SOIL_INTERVAL) -> list[Series]:
    """Soil moisture (%), soil temperature (°C), conductivity (µS/cm) and battery of one bed."""
    rng = _rng(seed, "bed-readings", asset.key)
    moisture = float(rng.uniform(26, 36))
    battery = float(rng.uniform(3.5, 3.62))
    times: list[datetime] = []
    moistures: list[float] = []
    temperatures: list[float] = []
    conductivities: list[float] = []
    battery_times: list[datetime] = []
    batteries: list[float] = []
    last_day: date | None = None
    for at in _steps(start, end, every, int(rng.integers(0, 600))):
        if at.date() != last_day:
            if last_day is not None:
                moisture += soil_moisture_change(asset, last_day, seed)
            last_day = at.date()
            # The parks team's fixed watering round, morning, for beds that are dry.
            threshold = float(asset.properties.get("watering_threshold", 22.0))
            if at.weekday() in WATERING_DAYS and moisture < threshold:
                moisture = WATERED_TO + float(rng.normal(0, 1.5))
            moisture = float(np.clip(moisture, 8.0, 48.0))
            battery -= float(rng.uniform(0.0003, 0.001))
            battery_times.append(at)
            batteries.append(round(battery, 3))
        season = 11.0 - 7.0 * math.cos(2 * math.pi * (at.timetuple().tm_yday - 20) / 365)
        daily = 1.2 * math.sin(2 * math.pi * (at.hour - 9) / 24)
        times.append(at)
        moistures.append(round(moisture + float(rng.normal(0, 0.4)), 2))
        temperatures.append(round(season + daily + float(rng.normal(0, 0.2)), 2))
        conductivities.append(float(max(0, round(12 * moisture + rng.normal(0, 15)))))
    return [Series("soil_moisture", times, moistures),
            Series("soil_temperature", times, temperatures),
            Series("soil_conductivity", times, conductivities),
            Series("battery_voltage", battery_times, batteries)]


# -- air quality -------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _air_table(path: str, year: int) -> dict[tuple[int, int, int], dict[str, float]]:
    """(month, day, hour) -> readings of ``year`` from the Marylebone Road file."""
    table: dict[tuple[int, int, int], dict[str, float]] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            stamp = row["date"]
            if not stamp.startswith(str(year)):
                continue
            at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            values = {}
            for column in ("no2", "pm2.5", "pm10", "air_temp"):
                try:
                    values[column] = float(row[column])
                except (TypeError, ValueError):
                    continue  # gaps in the record stay gaps in the replay
            table[(at.month, at.day, at.hour)] = values
    return table


def air_replay_label(year: int = AIR_REPLAY_YEAR) -> str:
    """How replayed air-quality data is described wherever it is shown."""
    return AIR_REPLAY_LABEL.format(year=year)


def air_reading(data_dir: Path, asset: AssetSpec, at: datetime, seed: int,
                year: int = AIR_REPLAY_YEAR) -> dict[str, float]:
    """The replayed readings of an air station for the hour of ``at`` (quantity -> value)."""
    table = _air_table(str(data_dir / AIR_REPLAY), year)
    source = table.get((at.month, at.day if (at.month, at.day) != (2, 29) else 28, at.hour), {})
    scale = AIR_SCALE["roadside" if asset.properties.get("roadside") else "town"]
    rng = _rng(seed, "air", asset.key, int(at.timestamp()) // 3600)
    readings: dict[str, float] = {}
    if "no2" in source and asset.profile.startswith("netvox"):
        readings["no2"] = round(max(0.0, source["no2"] * scale["no2"] * rng.normal(1, 0.08)), 1)
    if "pm2.5" in source:
        pm25 = max(0.0, source["pm2.5"] * scale["pm"] * rng.normal(1, 0.08))
        readings["pm2_5"] = round(pm25, 1)
        readings["pm1"] = round(pm25 * 0.8, 1)
    if "pm10" in source:
        pm10 = max(readings.get("pm2_5", 0.0), source["pm10"] * scale["pm"] * rng.normal(1, 0.08))
        readings["pm10"] = round(pm10, 1)
        if asset.profile.startswith("decentlab") and "pm2_5" in readings:
            readings["pm4"] = round((readings["pm2_5"] + pm10) / 2, 1)
    if asset.profile.startswith("decentlab"):
        if "air_temp" in source:
            readings["temperature"] = round(source["air_temp"] - 1.5 + rng.normal(0, 0.3), 2)
        readings["relative_humidity"] = round(float(np.clip(
            82 - 10 * math.sin(2 * math.pi * (at.hour - 9) / 24) + rng.normal(0, 3), 30, 100)), 1)
        readings["pressure"] = round(1012 + 8 * math.sin(at.timestamp() / 86400 / 3)
                                     + rng.normal(0, 0.5), 1)
    else:
        readings["co2"] = round(420 + rng.normal(0, 15))
    return readings


def air_history(data_dir: Path, asset: AssetSpec, start: datetime, end: datetime, seed: int,
                every: timedelta = AIR_INTERVAL) -> list[Series]:
    """Hourly replayed air quality of one station, and its battery once a day."""
    by_quantity: dict[str, Series] = {}
    battery_times: list[datetime] = []
    batteries: list[float] = []
    at = start
    while at < end:
        for quantity, value in air_reading(data_dir, asset, at, seed).items():
            series = by_quantity.setdefault(quantity, Series(quantity, [], []))
            series.times.append(at)
            series.values.append(value)
        if at.hour == 0:
            battery_times.append(at)
            batteries.append(3.6 if asset.profile.startswith("decentlab") else 12.0)
        at += every
    return [*by_quantity.values(), Series("battery_voltage", battery_times, batteries)]


def asset_history(data_dir: Path, asset: AssetSpec, start: datetime, end: datetime,
                  seed: int) -> list[Series]:
    """The back-filled history of any demo asset."""
    if asset.asset_type == "litter_bin":
        return bin_history(asset, start, end, seed)
    if asset.asset_type == "flowerbed":
        return flowerbed_history(asset, start, end, seed)
    return air_history(data_dir, asset, start, end, seed)
