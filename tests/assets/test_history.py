"""Reading bins and flowerbeds with their history from the SensorThings tables."""

from datetime import UTC, datetime, timedelta

import pytest

from placehub.assets.history import read_assets
from placehub.db import Database
from placehub.rounds.tables import rounds_service_events
from tests.rounds.conftest import add_asset

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
BIN = {"asset_type": "litter_bin", "empty_distance_mm": 1000, "full_distance_mm": 200,
       "capacity_litres": 240}


def test_bins_read_with_fill_from_distance(database: Database) -> None:
    """A bin's distance readings become fill fractions through its profile; others ignored."""
    with database.begin() as conn:
        bin_id = add_asset(conn, "Bin 1", -0.72, 52.67, BIN, "distance",
                           [(NOW - timedelta(days=2), 1000), (NOW - timedelta(days=1), 600),
                            (NOW + timedelta(hours=1), 200), (NOW - timedelta(days=60), 300)])
        add_asset(conn, "Bed 1", -0.73, 52.66, {"asset_type": "flowerbed"},
                  "soil_moisture", [(NOW, 25.0)], "%")
        conn.execute(rounds_service_events.insert().values(
            thing_id=bin_id, service="waste", time=NOW - timedelta(hours=3), note="",
            recorded_by="test"))
    with database.connect() as conn:
        found = read_assets(conn, "litter_bin", NOW)
    assert [a.thing_id for a in found.assets] == [bin_id]
    bin_ = found.assets[0]
    assert (bin_.lon, bin_.lat, bin_.capacity_litres, bin_.quantity) == (-0.72, 52.67, 240, "distance")
    assert [r.value for r in bin_.history.readings] == [0.0, pytest.approx(0.5)]
    assert bin_.history.services == [NOW - timedelta(hours=3)]


def test_fill_level_percent_and_flowerbeds(database: Database) -> None:
    """fill_level in percent becomes a fraction; flowerbeds keep moisture in percent."""
    with database.begin() as conn:
        add_asset(conn, "Bin 2", -0.72, 52.67, {"asset_type": "litter_bin"}, "fill_level",
                  [(NOW - timedelta(hours=1), 80.0)], "%")
        add_asset(conn, "Bed 1", -0.73, 52.66,
                  {"asset_type": "flowerbed", "watering_threshold": 18, "water_litres": 150},
                  "soil_moisture", [(NOW - timedelta(hours=1), 25.0)], "%")
    with database.connect() as conn:
        bins = read_assets(conn, "litter_bin", NOW).assets
        beds = read_assets(conn, "flowerbed", NOW).assets
    assert bins[0].history.readings[0].value == pytest.approx(0.8)
    assert beds[0].history.readings[0].value == 25.0
    assert beds[0].history.watering_threshold == 18
    assert beds[0].capacity_litres == 150


def test_asset_without_location_is_reported(database: Database) -> None:
    """A bin with no Location cannot be routed, and the reader says why."""
    from placehub.sta.tables import thing_locations

    with database.begin() as conn:
        bin_id = add_asset(conn, "Lost bin", -0.72, 52.67, BIN, "distance", [])
        conn.execute(thing_locations.delete().where(thing_locations.c.thing_id == bin_id))
    with database.connect() as conn:
        found = read_assets(conn, "litter_bin", NOW)
    assert found.assets == []
    assert found.unusable == [(bin_id, "Lost bin", "no Location with a point: add one")]


def test_unknown_asset_type_refused(database: Database) -> None:
    """Asking for an asset type the planner does not know is an error that lists the known."""
    with database.connect() as conn, pytest.raises(ValueError, match="litter_bin"):
        read_assets(conn, "lamp_post", NOW)
