"""Back-filled history: bins fill and are emptied on the fixed rounds, beds dry and are watered,
air quality replays the Defra record."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from placehub.demo.district import District
from placehub.demo.history import (
    AIR_SCALE,
    WATERING_DAYS,
    air_history,
    air_replay_label,
    bin_fill_added,
    bin_history,
    emptying_days,
    flowerbed_history,
    soil_moisture_change,
)
from placehub.rounds.demand import (
    DemandModel,
    fixed_round_weekdays,
    site_from_properties,
    stable_id,
)

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
START = NOW - timedelta(days=56)


def _drops(times: list[datetime], values: list[float], by: float) -> list[datetime]:
    return [times[i] for i in range(1, len(values)) if values[i] < values[i - 1] - by]


def test_town_centre_bins_are_emptied_on_round_days_only(district: District) -> None:
    """A town-centre bin's big drops in fill happen on its round days, in the morning."""
    asset = next(b for b in district.bins if b.properties["setting"] == "town_centre")
    fill = bin_history(asset, START, NOW, seed=1)[0]
    drops = _drops(fill.times, fill.values, by=15)
    assert drops, "the bin is emptied at least once in eight weeks"
    for at in drops:
        assert at.weekday() in emptying_days(asset)
        assert 7 <= at.hour <= 12


def test_fill_levels_are_percentages_and_match_distances(district: District) -> None:
    """Fill level stays within 0-100 % and falls as the measured distance grows."""
    asset = district.bins[10]
    fill, distance, battery = bin_history(asset, START, NOW, seed=1)
    assert all(0 <= v <= 100 for v in fill.values)
    assert len(fill.values) == len(distance.values) == 56 * 8
    paired = sorted(zip(distance.values, fill.values, strict=True))
    assert paired[0][1] >= paired[-1][1]
    assert battery.values == sorted(battery.values, reverse=True)


def test_town_centre_bins_fill_faster_than_village_bins(district: District) -> None:
    """Summed daily fill is higher for town-centre bins than for village bins on average."""
    def mean_rise(setting: str) -> float:
        rises = []
        for asset in [b for b in district.bins if b.properties["setting"] == setting][:20]:
            values = bin_history(asset, START, NOW, seed=1)[0].values
            rises.append(sum(max(0.0, b - a) for a, b in zip(values, values[1:], strict=False)))
        return sum(rises) / len(rises)

    assert mean_rise("town_centre") > 1.5 * mean_rise("village")


def test_flowerbeds_are_watered_only_on_round_days(district: District) -> None:
    """Soil moisture jumps by watering only on Tuesdays or Fridays (or after rain)."""
    summer = datetime(2026, 8, 30, tzinfo=UTC)  # dry weather: watering is needed
    jumps = []
    for asset in district.flowerbeds[:10]:
        moisture = flowerbed_history(asset, summer - timedelta(days=56), summer, seed=3)[0]
        for i in range(1, len(moisture.values)):
            if moisture.values[i] >= 35 and moisture.values[i - 1] < 22:
                jumps.append((asset, moisture.times[i]))
    assert jumps, "some beds dry out and are watered in summer"
    # A jump on another day is a heavy shower the day before (the demand model's rain).
    assert all(at.weekday() in WATERING_DAYS
               or soil_moisture_change(asset, (at - timedelta(days=1)).date(), 3) > 10
               for asset, at in jumps)
    assert sum(at.weekday() in WATERING_DAYS for _, at in jumps) > len(jumps) / 2


def test_air_quality_replays_marylebone_road_scaled(district: District, data_dir: Path) -> None:
    """NO2 follows the Defra record of the same month/day/hour, scaled to a market town."""
    asset = next(a for a in district.air_stations if a.profile.startswith("netvox"))
    start = datetime(2026, 3, 1, tzinfo=UTC)
    series = {s.quantity: s for s in air_history(data_dir, asset, start,
                                                 start + timedelta(days=2), seed=1)}
    with (data_dir / "air" / "marylebone_road_hourly_2015_2020.csv").open() as handle:
        source = {row["date"]: row["no2"] for row in csv.DictReader(handle)
                  if row["date"].startswith("2019-03-0")}
    scale = AIR_SCALE["roadside" if asset.properties.get("roadside") else "town"]["no2"]
    for at, value in zip(series["no2"].times, series["no2"].values, strict=True):
        original = float(source[at.replace(year=2019).strftime("%Y-%m-%dT%H:00:00Z")])
        assert value == pytest.approx(original * scale, rel=0.35, abs=1.0)
    assert "Marylebone Road" in air_replay_label() and "not measured in Rutland" in \
        air_replay_label()


def test_bin_fill_and_soil_drying_are_the_shared_demand_model(district: District) -> None:
    """The demo's dynamics are placehub.rounds.demand's, for the bin as its Thing describes it."""
    model = DemandModel(5)
    bin_asset = next(b for b in district.bins if b.properties["setting"] == "town_centre")
    bed = district.flowerbeds[0]
    site = site_from_properties(0, bin_asset.lon, bin_asset.lat, bin_asset.properties)
    assert model.setting(site) == "town_centre"
    for offset in range(14):
        day = (START + timedelta(days=offset)).date()
        assert bin_fill_added(bin_asset, day, 5) == model.daily_fill(site, day)
        assert soil_moisture_change(bed, day, 5) == model.daily_drying(stable_id(bed.key), day)
    assert emptying_days(bin_asset) == fixed_round_weekdays("town_centre")


def test_demo_assets_carry_what_rounds_needs(district: District) -> None:
    """Bins carry setting, settlement and near_park; beds their watering threshold and water."""
    assert all({"setting", "settlement", "near_park"} <= set(b.properties) for b in district.bins)
    assert any(b.properties["near_park"] for b in district.bins)
    assert all(b.properties["watering_threshold"] > 0 and b.properties["water_litres"] > 0
               for b in district.flowerbeds)
