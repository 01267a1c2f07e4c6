"""Rounds on the Rutland demo: plans from the demo database on the OSM road network."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import cKDTree
from sqlalchemy import insert, select
from typer.testing import CliRunner

from placehub.assets.history import read_assets
from placehub.cli import app
from placehub.config import Settings
from placehub.db import Database
from placehub.demo.build import build_demo
from placehub.places.roads import haversine_m, load_road_network
from placehub.rounds.service import service_sites
from placehub.sta.tables import datastreams, observations
from tests import db_snapshot

runner = CliRunner()


@pytest.fixture
def demo_settings(database: Database, settings: Settings, road_network_file: Path,
                  fixed_clock: datetime | None) -> Settings:
    """A small Rutland demo (12 bins, 12 beds, 6 days of history ending an hour ago, so the
    readings a test adds are the newest at any time of day) in the test database (built once
    per test process, database and clock, then restored)."""
    settings = settings.replace(road_network_file=str(road_network_file))
    db_snapshot.built_once(
        ("rounds demo", database.url, fixed_clock), database,
        lambda: build_demo(database, settings, per_type=12, history_days=6,
                           now=datetime.now(UTC) - timedelta(hours=1)))
    return settings


def _fill_some_bins(database: Database, count: int = 4) -> None:
    """Readings saying ``count`` demo bins are full now.

    The demo's simulated fill depends on the calendar day, and on some days no bin of a
    12-bin sample needs emptying tomorrow; these tests are about routes, so they make sure
    there is something to route.
    """
    now = datetime.now(UTC)
    with database.begin() as conn:
        bins = read_assets(conn, "litter_bin", now, lookback_days=7).assets[:count]
        for asset in bins:
            stream = conn.execute(
                select(datastreams.c.id).where(datastreams.c.thing_id == asset.thing_id,
                                               datastreams.c.properties["quantity"].as_string()
                                               == "distance")).scalar_one()
            latest = conn.execute(
                select(observations).where(observations.c.datastream_id == stream)
                .order_by(observations.c.phenomenon_time_start.desc()).limit(1)).one()
            full_mm = asset.properties["full_distance_mm"]
            conn.execute(insert(observations), [
                {"datastream_id": stream, "feature_of_interest_id": latest.feature_of_interest_id,
                 "phenomenon_time_start": now - timedelta(minutes=minutes),
                 "result_type": latest.result_type, "result_number": full_mm}
                for minutes in (3, 2, 1)])


def _leg_length_m(leg: list[list[float]]) -> float:
    points = np.array(leg)
    return float(haversine_m(points[:-1, 0], points[:-1, 1], points[1:, 0], points[1:, 1]).sum())


@pytest.mark.clock
def test_cli_plans_tomorrow_on_the_demo_along_roads(database: Database, demo_settings: Settings,
                                                    data_dir: Path) -> None:
    """`rounds plan --date tomorrow` on the demo routes on the road network, legs along roads."""
    _fill_some_bins(database)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    result = runner.invoke(app, [
        "--database-url", demo_settings.database_url, "--data-dir", str(data_dir),
        "--set", f"road_network_file={demo_settings.road_network_file}",
        "rounds", "plan", "--service", "waste", "--date", tomorrow, "--runtime", "1", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["distance_source"] == "road network (OpenStreetMap)"
    network = load_road_network(data_dir / "rutland" / "roads.osm.pbf",
                                demo_settings.road_network_file)
    nodes = cKDTree(np.column_stack([network.lon, network.lat]))
    long_legs = 0
    for vehicle in plan["vehicles"]:
        for leg in vehicle["geometry"]["coordinates"]:
            start, end = leg[0], leg[-1]
            straight = float(haversine_m(np.array(start[0]), np.array(start[1]),
                                         np.array(end[0]), np.array(end[1])))
            if straight < 300:
                continue
            long_legs += 1
            # A leg along roads bends with them: many vertices, never shorter than the chord,
            # and between the points snapped onto the road at each end its vertices are road
            # nodes of the network.
            assert len(leg) > 4
            assert _leg_length_m(leg) >= straight
            gaps, _ = nodes.query(np.array(leg[2:-2]))
            assert float(np.max(gaps)) < 1e-9
    assert plan["mandatory_ids"], "full bins must be collected tomorrow"
    assert long_legs >= 2, "the depot, the tip and the bins are kilometres apart"


def test_demo_things_carry_what_rounds_needs(database: Database, demo_settings: Settings) -> None:
    """Rounds reads the demo's bins with their profile and beds with their watering needs."""
    now = datetime.now(UTC)
    with database.connect() as conn:
        bins = read_assets(conn, "litter_bin", now, lookback_days=7)
        beds = read_assets(conn, "flowerbed", now, lookback_days=7)
        sites = service_sites(conn)
    assert len(bins.assets) == 12 and not bins.unusable
    for asset in bins.assets:
        assert asset.quantity == "distance"
        assert asset.properties["empty_distance_mm"] > asset.properties["full_distance_mm"] > 0
        assert asset.capacity_litres in {240.0, 360.0}
        assert asset.properties["setting"] in {"town_centre", "town", "village"}
        assert "near_park" in asset.properties
        assert asset.history.readings and all(0 <= r.value <= 1.1 for r in asset.history.readings)
    assert len(beds.assets) == 12
    assert all(b.history.watering_threshold == 22.0 and b.capacity_litres == 120
               for b in beds.assets)
    assert set(sites) == {"depot", "tip"}
