"""Building the demo into a real database, re-running it, and live uplinks through the webhooks."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from placehub.care import service, status
from placehub.care.tables import care_residents
from placehub.config import Settings
from placehub.db import Database
from placehub.demo.build import build_demo, demo_summary, registered_demo_keys, sample_district
from placehub.demo.district import generate_district
from placehub.demo.simulator import SECRET_HEADER, Simulator, states_from_database
from placehub.ingest.integrations import create_integration
from placehub.places.roads import load_road_network
from placehub.places.tables import place_layers, thing_places
from placehub.sta.tables import datastreams, observations, things
from placehub.web.app import create_app

PER_TYPE = 3


@pytest.fixture
def small_demo(database: Database, settings: Settings, road_network_file: Path) -> Settings:
    """A small demo (3 assets of each type, 2 days of history) built into the test database."""
    settings = settings.replace(road_network_file=str(road_network_file))
    build_demo(database, settings, per_type=PER_TYPE, history_days=2)
    return settings


def _count(database: Database, table: Any) -> int:
    with database.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_small_demo_build(database: Database, small_demo: Settings) -> None:
    """The build registers the assets, the depot and the tip, with history on their Datastreams."""
    with database.connect() as conn:
        counts = demo_summary(conn)
        empty = conn.execute(select(func.count()).select_from(datastreams).where(
            datastreams.c.observation_count == 0,
            datastreams.c.properties["quantity"].as_string().in_(
                ["fill_level", "soil_moisture", "pm2_5"]))).scalar_one()
    assert counts == {"litter_bin": PER_TYPE, "flowerbed": PER_TYPE,
                      "air_quality_station": PER_TYPE, "depot": 1, "tip": 1,
                      "parking_bay": 4 * PER_TYPE}  # two car parks in each of two towns
    assert empty == 0
    assert _count(database, observations) > 2 * 8 * PER_TYPE * 2


def test_the_demo_has_three_homes_with_consent_and_carers(database: Database,
                                                         small_demo: Settings) -> None:
    """Three simulated residents, each with a current consent, named carers, three home
    sensors with eight days of events, and the routine learned."""
    with database.connect() as conn:
        residents = service.residents_for(conn, service.INSTALLATION)
        assert [r.reference for r in residents] == ["HS-1001", "HS-1002", "HS-1003"]
        for resident in residents:
            assert service.current_consent(conn, resident) is not None
            assert service.carers(conn, resident)
            assert len(service.home_things(conn, resident)) == 3
            home = status.home_status(conn, resident, datetime.now(UTC))
            assert home["routine"]["first_movement_median"], resident.reference


def test_every_demo_asset_is_in_one_ward_and_one_lsoa(database: Database,
                                                      small_demo: Settings) -> None:
    """Each demo Thing but the home sensors is assigned to exactly one ward and exactly one
    LSOA; the home sensors of the care circles are in none (no place figure carries them)."""
    homes = select(care_residents.c.organisation_id)
    with database.connect() as conn:
        rows = conn.execute(
            select(things.c.id, place_layers.c.name)
            .join(thing_places, thing_places.c.thing_id == things.c.id)
            .join(place_layers, place_layers.c.id == thing_places.c.layer_id)).all()
        thing_count = conn.execute(select(func.count()).select_from(things).where(
            things.c.organisation_id.not_in(homes))).scalar_one()
    per_thing: dict[int, list[str]] = {}
    for thing_id, layer in rows:
        per_thing.setdefault(thing_id, []).append(layer)
    assert len(per_thing) == thing_count
    assert all(sorted(layers) == ["lsoas", "wards"] for layers in per_thing.values())


def test_rebuilding_changes_nothing(database: Database, small_demo: Settings) -> None:
    """A second build on the same database registers nothing and writes no Observation."""
    before = (_count(database, things), _count(database, observations))
    report = build_demo(database, small_demo, per_type=PER_TYPE, history_days=2)
    assert report.registered == 0 and report.observations == 0
    assert (_count(database, things), _count(database, observations)) == before


def _poll(check: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_simulator_uplinks_become_observations(database: Database, small_demo: Settings,
                                               data_dir: Any) -> None:
    """Uplinks from the simulator, posted to the real webhooks, turn into new Observations."""
    with database.begin() as conn:
        secret = create_integration(conn, "simulator-test", "any")
    network = load_road_network(data_dir / "rutland" / "roads.osm.pbf",
                                small_demo.road_network_file)
    district = sample_district(generate_district(data_dir, network), PER_TYPE)
    with database.connect() as conn:
        states = states_from_database(conn, list(district.assets), registered_demo_keys(conn))
    assert len(states) == 3 * PER_TYPE
    # The simulator continues where the history ends.
    assert all(state.last > datetime.now(UTC) - timedelta(hours=4) for state in states)
    before = _count(database, observations)
    app = create_app(small_demo, database=database)
    with TestClient(app) as client:
        def post(path: str, body: dict[str, Any]) -> int:
            return client.post(path, json=body, headers={SECRET_HEADER: secret}).status_code

        simulator = Simulator("http://testserver", secret, states, data_dir, interval=60,
                              post=post)
        simulator.due = dict.fromkeys(simulator.due, 0.0)
        assert simulator.tick() == len(states) and simulator.failed == 0
        assert _poll(lambda: _count(database, observations) >= before + 2 * len(states))
