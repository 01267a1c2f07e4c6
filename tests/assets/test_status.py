"""Levels from readings and the one status judgement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from placehub.assets.levels import Level, Reading, level_of, threshold_in_units
from placehub.assets.status import past_the_line, status_of
from placehub.assets.thresholds import Thresholds

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BIN = {"empty_distance_mm": 1100, "full_distance_mm": 150}


def reading(quantity: str, value: object, unit: str, minutes_ago: float = 10) -> Reading:
    return Reading(1, quantity, quantity, unit, value, NOW - timedelta(minutes=minutes_ago))


def test_a_bins_fill_comes_from_its_distance_first() -> None:
    """Distance through the bin's profile is preferred to the fill_level it also reports."""
    readings = {"distance": reading("distance", 150.0, "mm"),
                "fill_level": reading("fill_level", 91.0, "%")}
    level = level_of("litter_bin", BIN, readings)
    assert level == Level(1.0, "distance", NOW - timedelta(minutes=10))
    only_percent = level_of("litter_bin", BIN, {"fill_level": reading("fill_level", 91.0, "%")})
    assert only_percent is not None and only_percent.value == pytest.approx(0.91)
    in_cm = level_of("litter_bin", BIN, {"distance": reading("distance", 62.5, "cm")})
    assert in_cm is not None and in_cm.value == pytest.approx(0.5)


def test_beds_and_air_stations_have_their_own_levels() -> None:
    """A bed's level is its moisture; an air station's NO2 in ppb becomes µg/m³."""
    bed = level_of("flowerbed", {}, {"soil_moisture": reading("soil_moisture", 21.5, "%")})
    assert bed is not None and bed.value == 21.5
    air = level_of("air_quality_station", {}, {"no2": reading("no2", 100.0, "ppb")})
    assert air is not None and air.value == pytest.approx(191.0)
    assert level_of("depot", {}, {}) is None


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("fill", 0.5, "ok"), ("fill", 0.75, "nearly-full"), ("fill", 0.99, "nearly-full"),
    ("fill", 1.0, "full"), ("moisture", 22.5, "ok"), ("moisture", 20.0, "dry"),
    ("no2", 200.0, "ok"), ("no2", 200.1, "exceeding"),
])
def test_status_from_the_level_and_the_lines(kind: str, value: float, expected: str) -> None:
    """Full at or above the full line, dry at or below the dry line, exceeding above 200."""
    level = Level(value, "x", NOW - timedelta(hours=1))
    assert status_of(kind, level, NOW - timedelta(hours=1), Thresholds(), NOW) == expected


def test_silence_no_data_and_a_service_since_the_reading() -> None:
    """Silent after the asset's own silent_hours; never reported is no-data; a bin emptied
    after its last reading is no longer full."""
    full = Level(1.05, "distance", NOW - timedelta(hours=5))
    assert status_of("fill", full, NOW - timedelta(hours=5), Thresholds(), NOW) == "full"
    assert status_of("fill", full, NOW - timedelta(hours=5), Thresholds(silent_hours=4),
                     NOW) == "silent"
    assert status_of("fill", None, None, Thresholds(), NOW) == "no-data"
    assert status_of("fill", full, NOW - timedelta(hours=5), Thresholds(), NOW,
                     last_service=NOW - timedelta(hours=1)) == "ok"
    assert past_the_line("full") and past_the_line("dry") and not past_the_line("nearly-full")


def test_thresholds_in_a_datastreams_unit() -> None:
    """Rules comparing raw readings get the line in the Datastream's unit, or None."""
    lines = Thresholds(full=0.9, dry=22.0)
    assert threshold_in_units(lines, "full", "fill_level", "%") == pytest.approx(90.0)
    assert threshold_in_units(lines, "full", "fill_level", "1") == pytest.approx(0.9)
    assert threshold_in_units(lines, "full", "distance", "mm") is None
    assert threshold_in_units(lines, "dry", "soil_moisture", "%") == 22.0
    assert threshold_in_units(lines, "no2_hourly_limit", "no2", "ppb") == pytest.approx(
        200 / 1.91)
