"""An asset's level from its readings, in one unit per kind: a bin's fill (0 empty, 1 at its
full line), a bed's soil moisture (%), an air station's NO2 (µg/m³).

Status, the forecaster's histories and the alert rules all convert readings here, so "92% full"
means the same on the map, in a round and in an alert. A bin's fill comes from its ultrasonic
``distance`` and its profile when it has one (the raw measurement), else from ``fill_level``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from placehub.alerts.air_quality import PPB_TO_UGM3
from placehub.assets.thresholds import Thresholds
from placehub.assets.types import ASSET_TYPES
from placehub.rounds.forecast import fill_fraction

DEFAULT_EMPTY_MM = 1000.0
DEFAULT_FULL_MM = 200.0
# Quantities that measure each kind of level, the preferred first.
LEVEL_QUANTITIES: dict[str, tuple[str, ...]] = {
    "fill": ("distance", "fill_level"),
    "moisture": ("soil_moisture",),
    "no2": ("no2",),
    "occupancy": ("occupancy",),
}
_MILLIMETRES = {"mm": 1.0, "cm": 10.0, "m": 1000.0}


@dataclass
class Reading:
    """The latest value of one Datastream."""

    datastream_id: int
    name: str
    quantity: str
    unit: str
    value: Any
    time: datetime | None
    observation_count: int = 0


@dataclass(frozen=True)
class Level:
    """An asset's level and the reading it comes from."""

    value: float
    quantity: str
    time: datetime | None


def number(value: Any) -> float | None:
    """A reading's value as a float (None for booleans, text and JSON)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def bin_profile(properties: Mapping[str, Any]) -> tuple[float, float]:
    """A bin's (empty, full) ultrasonic distances in mm from its properties (or defaults)."""
    return (float(properties.get("empty_distance_mm") or DEFAULT_EMPTY_MM),
            float(properties.get("full_distance_mm") or DEFAULT_FULL_MM))


def fill_from_distance(value: float, unit: str, properties: Mapping[str, Any]) -> float:
    """A bin's fill from one distance reading (mm, cm or m) and its profile, in [0, 1.1]."""
    empty, full = bin_profile(properties)
    return fill_fraction(value * _MILLIMETRES.get(unit.strip(), 1.0), empty, full)


def fill_from_fill_level(value: float, unit: str) -> float:
    """A bin's fill from a fill_level reading: percent when its unit says so or the value is
    above 1.5 (a fraction never is), in [0, 1.1]."""
    percent = unit.strip() in {"%", "percent"} or value > 1.5
    return min(max(value / 100 if percent else value, 0.0), 1.1)


def level_value(kind: str, quantity: str, value: float, unit: str,
                properties: Mapping[str, Any]) -> float:
    """One reading of ``quantity`` as a level of ``kind`` (see the module docstring)."""
    if kind == "fill":
        if quantity == "distance":
            return fill_from_distance(value, unit, properties)
        return fill_from_fill_level(value, unit)
    if kind == "no2" and unit.strip("[] ").lower() == "ppb":
        return value * PPB_TO_UGM3["no2"]
    return value


def level_of(asset_type: str, properties: Mapping[str, Any],
             readings: Mapping[str, Reading]) -> Level | None:
    """The asset's current level from its latest readings (None: no level reading)."""
    kind = ASSET_TYPES[asset_type].level if asset_type in ASSET_TYPES else None
    if kind is None:
        return None
    for quantity in LEVEL_QUANTITIES[kind]:
        reading = readings.get(quantity)
        value = number(reading.value) if reading is not None else None
        if reading is not None and value is not None:
            return Level(level_value(kind, quantity, value, reading.unit, properties), quantity,
                         reading.time)
        if reading is not None and isinstance(reading.value, bool) and kind == "occupancy":
            return Level(1.0 if reading.value else 0.0, quantity, reading.time)
    return None


def threshold_in_units(thresholds: Thresholds, name: str, quantity: str | None,
                       unit: str) -> float | None:
    """One of an asset's thresholds in the unit of one of its Datastreams, for rules that compare
    readings as they come (a fill line on ``fill_level`` in %, the dry line on
    ``soil_moisture``); None when that Datastream does not measure it."""
    value = float(getattr(thresholds, name))
    unit = unit.strip()
    if name in ("full", "nearly_full") and quantity == "fill_level":
        return value * 100 if unit in {"%", "percent"} else value
    if name == "dry" and quantity == "soil_moisture":
        return value
    if name == "no2_hourly_limit" and quantity == "no2":
        return value / PPB_TO_UGM3["no2"] if unit.strip("[]").lower() == "ppb" else value
    return None
