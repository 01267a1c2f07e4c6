"""Parking from the database: demo bay sensors with a simulated week, occupancy against the
Observations read back by hand, the public availability, and "full" alerts."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select

from placehub.access.service import ANONYMOUS, Principal, ensure_organisation
from placehub.alerts.tables import alerts
from placehub.config import Settings, load_settings
from placehub.db import Database
from placehub.planning import service
from placehub.planning.parking_demo import add_parking
from placehub.sta.tables import datastreams, observations, things

NOW = datetime(2026, 3, 11, 12, 30, tzinfo=UTC)  # a Wednesday lunchtime
COUNCIL = Principal(username="test", write_anywhere=True)
PER_PARK = 4


@pytest.fixture
def settings(database: Database, data_dir: Path, road_network_file: Path) -> Settings:
    """Test settings with the Rutland extract and road network."""
    return load_settings(environ={}, database_url=database.url, data_dir=str(data_dir),
                         secret_key="test-secret", road_network_file=str(road_network_file))


@pytest.fixture
def bays(database: Database, settings: Settings) -> int:
    """Four demo bays in each of Oakham's and Uppingham's two car parks, a simulated week."""
    with database.begin() as conn:
        ensure_organisation(conn, "rutland", "Rutland County Council")
    registered, written = add_parking(database, settings, NOW, 2024, "rutland",
                                      bays_per_car_park=PER_PARK)
    assert registered == 4 * PER_PARK and written > registered * 7 * 4
    return registered


def _by_hand(database: Database, since: datetime, until: datetime) -> dict[str, float]:
    """Occupied over observed bay-seconds per car park, from the raw Observation rows."""
    with database.connect() as conn:
        rows = conn.execute(
            select(things.c.properties, observations.c.phenomenon_time_start,
                   observations.c.result_boolean)
            .join(datastreams, datastreams.c.thing_id == things.c.id)
            .join(observations, observations.c.datastream_id == datastreams.c.id)
            .order_by(observations.c.datastream_id, observations.c.phenomenon_time_start)).all()
    series: dict[tuple[str, str], list[tuple[datetime, bool]]] = defaultdict(list)
    for properties, at, value in rows:
        series[(properties["car_park"], properties["demo_key"])].append((at, value))
    occupied: dict[str, float] = defaultdict(float)
    observed: dict[str, float] = defaultdict(float)
    for (park, _), reports in series.items():
        for k, (at, value) in enumerate(reports):
            end = reports[k + 1][0] if k + 1 < len(reports) else until
            a, b = max(at, since), min(end, until)
            if b > a:
                seconds = (b - a).total_seconds()
                observed[park] += seconds
                occupied[park] += seconds if value else 0.0
    return {park: occupied[park] / observed[park] for park in observed}


def test_occupancy_from_the_database_equals_a_hand_count(
        database: Database, settings: Settings, bays: int) -> None:
    """Each car park's mean occupancy over the week equals occupied over observed time counted
    report by report, and every bay is counted in the car park it was placed in."""
    with database.connect() as conn:
        found = service.parking_job(conn, settings, COUNCIL, NOW, days=7)
    since = (NOW - timedelta(days=7)).replace(minute=0)
    # Whole hours only: the half hour under way is not in the profile.
    expected = _by_hand(database, since, since + timedelta(hours=7 * 24))
    assert {row["ref"] for row in found["car_parks"]} == set(expected)
    for row in found["car_parks"]:
        assert row["bays"] == PER_PARK
        assert row["mean_occupancy"] == pytest.approx(expected[row["ref"]], abs=6e-4)  # rounded to 3 places
    assert {z["zone"] for z in found["zones"]} == {"Oakham", "Uppingham"}
    assert found["run"]["inputs"]["bays"] == bays


def test_busy_hours_get_a_higher_suggested_tariff(database: Database, settings: Settings,
                                                  bays: int) -> None:
    """In the profile, hours above the target band get a higher price, quiet ones a lower."""
    with database.connect() as conn:
        found = service.parking_job(conn, settings, COUNCIL, NOW, days=7, price=1.20)
    for zone in found["zones"]:
        for hour in zone["hours"]:
            if hour["occupancy"] > 0.90:
                assert hour["suggested"] > 1.20
            elif hour["occupancy"] < 0.80:
                assert hour["suggested"] < 1.20
            else:
                assert hour["suggested"] == 1.20
        assert any(h["suggested"] > 1.2 for h in zone["hours"])
        assert any(h["suggested"] < 1.2 for h in zone["hours"])


def test_full_alert_opens_and_resolves(database: Database, settings: Settings, bays: int) -> None:
    """A car park reported full opens one alert (not two on a second check), and it resolves
    once spaces free up."""
    with database.connect() as conn:
        found = service.parking_job(conn, settings, COUNCIL, NOW, days=1)
    row = found["car_parks"][0]
    full = {**found, "car_parks": [{**row, "status": "full", "occupancy_now": 1.0}]}
    with database.begin() as conn:
        assert service.update_full_alerts(conn, full, NOW)["opened"] == [row["ref"]]
        assert service.update_full_alerts(conn, full, NOW)["opened"] == []
    spaces = {**found, "car_parks": [{**row, "status": "spaces"}]}
    with database.begin() as conn:
        assert service.update_full_alerts(conn, spaces, NOW)["resolved"] == [row["ref"]]
        statuses = conn.execute(select(alerts.c.status)).scalars().all()
    assert statuses == ["resolved"]


def test_public_availability_page_data(client: TestClient, bays: int) -> None:
    """Anyone can read spaces free now per car park; the tariff endpoint checks its settings."""
    with time_machine.travel(NOW, tick=False):
        body = client.get("/api/planning/parking/availability").json()
        assert len(body["car_parks"]) == 4
        assert all(row["free_now"] is not None for row in body["car_parks"])
        bad = client.get("/api/planning/parking?elasticity=0.4")
        assert bad.status_code == 400 and "negative" in bad.json()["error"]["message"]
        assert client.post("/api/planning/parking/check").status_code == 403


def test_anonymous_readers_only_see_public_sensors(database: Database, settings: Settings,
                                                   bays: int) -> None:
    """Bays made organisation-only drop out of what an anonymous reader is shown."""
    from sqlalchemy import update

    with database.begin() as conn:
        conn.execute(update(things).values(visibility="organisation"))
    with database.connect() as conn:
        assert service.parking_job(conn, settings, ANONYMOUS, NOW)["car_parks"] == []


def test_tariff_board_sets_the_current_price_per_hour(database: Database, settings: Settings,
                                                      bays: int) -> None:
    """With a board for Oakham only, Oakham's hours are priced from the board (free outside
    its band) and suggested from those prices; Uppingham keeps the single price."""
    from placehub.planning.tariffs import read_board_csv

    board = read_board_csv("zone,days,from,to,price\nOakham,Mon-Sat,08:00,18:00,2.00\n")
    with database.connect() as conn:
        found = service.parking_job(conn, settings, COUNCIL, NOW, days=7, price=1.20,
                                    board=board)
    zones = {z["zone"]: z for z in found["zones"]}
    assert zones["Oakham"]["tariff"] == "tariff board" and zones["Oakham"]["price"] is None
    assert zones["Uppingham"]["price"] == 1.20
    for hour in zones["Oakham"]["hours"]:
        # Local time: the board's hours are those of the signs in the car park.
        charged = hour["weekday"] < 6 and 8 <= hour["hour"] < 18
        assert hour["price"] == (2.00 if charged else 0.0)
        if not charged and hour["occupancy"] > 0.90:
            assert hour["suggested"] == 0.50  # a free hour above target starts charging
    assert {h["price"] for h in zones["Uppingham"]["hours"]} == {1.20}
    assert found["run"]["inputs"]["tariff_board"][0]["days"][0] == "Mon"


def test_tariff_board_over_the_api(client: TestClient, bays: int) -> None:
    """POST with a board answers its prices; a bad row is a 400 naming it."""
    with time_machine.travel(NOW, tick=False):
        board = [{"zone": "*", "days": "all", "from": "00:00", "to": "24:00", "price": 0.9}]
        body = client.post("/api/planning/parking", json={"tariffs": board, "days": 2}).json()
        assert {h["price"] for z in body["zones"] for h in z["hours"]} == {0.9}
        bad = client.post("/api/planning/parking", json={"tariffs": [{"zone": "*"}]})
        assert bad.status_code == 400 and "tariff row 1: missing days" in bad.text
