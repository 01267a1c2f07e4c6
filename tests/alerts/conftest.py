"""Fixtures for alert tests: assets with Datastreams, a fake clock and an attached engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from placehub.access.service import Principal, ensure_organisation
from placehub.alerts.air_import import station_datastreams
from placehub.alerts.clock import FakeClock
from placehub.alerts.engine import RuleEngine, attach_engine
from placehub.db import Database
from placehub.sta.observations import NewObservation, write_observations
from placehub.sta.writes import create_entity

START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
WRITER = Principal(username="test", write_anywhere=True)

UNITS = {
    "fill_level": "%", "battery_percent": "%", "battery_voltage": "V", "temperature": "°C",
    "soil_moisture": "%", "tilt_angle": "°", "tilted": "", "no2": "µg/m³", "pm10": "µg/m³",
}


def make_asset(database: Database, asset_type: str, quantities: list[str], *,
               name: str = "asset", visibility: str = "public", org: str = "rutland",
               units: dict[str, str] | None = None,
               point: tuple[float, float] = (-0.7275, 52.6698)) -> tuple[int, dict[str, int]]:
    """A Thing of ``asset_type`` with one Datastream per quantity; (thing id, {quantity: id})."""
    with database.begin() as conn:
        ensure_organisation(conn, org, org.title())
        body: dict[str, Any] = {
            "name": name, "description": name,
            "properties": {"asset_type": asset_type},
            "@placehub.organisation": org, "@placehub.visibility": visibility,
            "Locations": [{"name": name, "description": name, "encodingType": "application/geo+json",
                           "location": {"type": "Point", "coordinates": list(point)}}],
            "Datastreams": [{
                "name": f"{name} {q}", "description": q,
                "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/"
                                   "OM_Measurement",
                "unitOfMeasurement": {"name": q, "symbol": (units or UNITS).get(q, ""),
                                      "definition": ""},
                "properties": {"quantity": q},
                "Sensor": {"name": f"{name} sensor", "description": "test", "encodingType": "text/plain",
                           "metadata": "test"},
                "ObservedProperty": {"name": q, "definition": f"urn:test:{q}", "description": q},
            } for q in quantities],
        }
        thing_id = create_entity(conn, WRITER, "Things", body)
        return thing_id, station_datastreams(conn, thing_id)


@pytest.fixture
def clock() -> FakeClock:
    """A clock that stands still until a test moves it."""
    return FakeClock(START)


@pytest.fixture
def engine(database: Database, clock: FakeClock) -> Iterator[RuleEngine]:
    """A rule engine on the test database, subscribed to its events, with the fake clock."""
    rule_engine = attach_engine(database, clock)
    yield rule_engine
    rule_engine.detach()


Post = Callable[..., list[Any]]


@pytest.fixture
def post(database: Database, clock: FakeClock) -> Post:
    """Write Observations the normal way and announce them; the clock follows the newest one."""

    def write(datastream_id: int, *values: tuple[float, Any], hourly: bool = False) -> list[Any]:
        rows = []
        for minutes, value in values:
            at = START + timedelta(minutes=minutes)
            rows.append(NewObservation(
                datastream_id=datastream_id, phenomenon_time=at, result=value,
                phenomenon_time_end=at + timedelta(hours=1) if hourly else None))
            if at > clock.now():
                clock.set(at)
        with database.begin() as conn:
            result = write_observations(conn, rows)
        assert not result.errors, result.errors
        database.events.publish("observations.written", result.written)
        return result.written

    return write
