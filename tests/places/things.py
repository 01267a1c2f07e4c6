"""Building SensorThings rows straight in the tables, for places tests (no STA layer needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, update

from placehub.sta.tables import (
    RESULT_NUMBER,
    datastreams,
    features_of_interest,
    observations,
    observed_properties,
    sensors,
    things,
)
from tests.sta.factories import set_point_location


def add_thing(conn: Connection, organisation: int, name: str, lonlat: tuple[float, float],
              asset_type: str, visibility: str = "public") -> int:
    """A Thing with a point Location; returns the Thing id."""
    thing_id = conn.execute(insert(things).values(
        name=name, description="", properties={"asset_type": asset_type},
        organisation_id=organisation, visibility=visibility)).inserted_primary_key[0]
    move_thing(conn, thing_id, organisation, lonlat)
    return int(thing_id)


def move_thing(conn: Connection, thing_id: int, organisation: int,
               lonlat: tuple[float, float]) -> None:
    """Give a Thing a new Location (replacing the old link)."""
    set_point_location(conn, thing_id, organisation, lonlat)


def add_reading(conn: Connection, thing_id: int, organisation: int, quantity: str,
                value: float, unit: str, at: datetime | None = None) -> int:
    """A Datastream of ``quantity`` on the Thing with one Observation as its latest value."""
    at = at or datetime(2026, 11, 1, 12, tzinfo=UTC)
    sensor = conn.execute(insert(sensors).values(
        name="s", description="", encoding_type="text/plain", metadata="",
        organisation_id=organisation)).inserted_primary_key[0]
    observed = conn.execute(insert(observed_properties).values(
        name=quantity, definition=f"urn:{quantity}", description="",
        organisation_id=organisation)).inserted_primary_key[0]
    datastream = conn.execute(insert(datastreams).values(
        name=f"{quantity} of {thing_id}", description="", observation_type="OM_Measurement",
        unit_of_measurement={"name": unit, "symbol": unit, "definition": ""},
        properties={"quantity": quantity}, thing_id=thing_id, sensor_id=sensor,
        observed_property_id=observed, observation_count=1)).inserted_primary_key[0]
    feature: Any = conn.execute(insert(features_of_interest).values(
        name="f", description="", encoding_type="application/geo+json",
        feature={"type": "Point", "coordinates": [0, 0]},
        organisation_id=organisation)).inserted_primary_key[0]
    observation = conn.execute(insert(observations).values(
        datastream_id=datastream, feature_of_interest_id=feature, phenomenon_time_start=at,
        result_type=RESULT_NUMBER, result_number=value)).inserted_primary_key[0]
    conn.execute(update(datastreams).where(datastreams.c.id == datastream).values(
        latest_observation_id=observation, latest_phenomenon_time=at))
    return int(datastream)
