"""Fixtures for rounds tests: bins and flowerbeds inserted as SensorThings rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from placehub.access.service import create_organisation
from placehub.sta.tables import (
    RESULT_NUMBER,
    datastreams,
    features_of_interest,
    locations,
    observations,
    observed_properties,
    sensors,
    thing_locations,
    things,
)


def add_organisation(conn: Connection, slug: str = "rutland") -> int:
    """An organisation owning the test assets."""
    return create_organisation(conn, slug, slug.title())


def add_asset(
    conn: Connection,
    organisation_id: int,
    name: str,
    lon: float,
    lat: float,
    properties: dict[str, Any],
    quantity: str,
    readings: Sequence[tuple[datetime, float]],
    unit_symbol: str = "mm",
) -> int:
    """A Thing with a Location, one Datastream of ``quantity`` and its Observations."""
    thing_id = conn.execute(insert(things).values(
        name=name, description="", properties=properties, organisation_id=organisation_id,
        visibility="organisation")).inserted_primary_key[0]
    point = {"type": "Point", "coordinates": [lon, lat]}
    location_id = conn.execute(insert(locations).values(
        name=name, description="", encoding_type="application/geo+json", location=point,
        organisation_id=organisation_id, min_x=lon, min_y=lat, max_x=lon, max_y=lat,
    )).inserted_primary_key[0]
    conn.execute(insert(thing_locations).values(thing_id=thing_id, location_id=location_id))
    sensor_id = conn.execute(insert(sensors).values(
        name="sensor", description="", encoding_type="text/plain", metadata="",
        organisation_id=organisation_id)).inserted_primary_key[0]
    property_id = conn.execute(insert(observed_properties).values(
        name=quantity, definition=f"urn:placehub:{quantity}", description="",
        organisation_id=organisation_id)).inserted_primary_key[0]
    # A second, unrelated Datastream the reader must ignore.
    for q in ("battery", quantity):
        stream_id = conn.execute(insert(datastreams).values(
            name=f"{name} {q}", description="", observation_type="OM_Measurement",
            unit_of_measurement={"name": q, "symbol": unit_symbol if q == quantity else "V"},
            properties={"quantity": q}, thing_id=thing_id, sensor_id=sensor_id,
            observed_property_id=property_id, observation_count=0)).inserted_primary_key[0]
    foi_id = conn.execute(insert(features_of_interest).values(
        name=name, description="", encoding_type="application/geo+json", feature=point,
        organisation_id=organisation_id)).inserted_primary_key[0]
    if readings:
        conn.execute(insert(observations), [
            {"datastream_id": stream_id, "feature_of_interest_id": foi_id,
             "phenomenon_time_start": t, "result_type": RESULT_NUMBER, "result_number": v}
            for t, v in readings
        ])
    return int(thing_id)
