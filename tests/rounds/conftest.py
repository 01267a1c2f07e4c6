"""Fixtures for rounds tests: bins and flowerbeds inserted as SensorThings rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from placehub.access.service import create_organisation
from placehub.sta.tables import RESULT_NUMBER, datastreams, features_of_interest, observations
from tests.sta.factories import make_datastream

ORGANISATION = "rutland"


def add_organisation(conn: Connection, slug: str = ORGANISATION) -> int:
    """An organisation owning the test assets."""
    return create_organisation(conn, slug, slug.title())


def add_asset(
    conn: Connection,
    name: str,
    lon: float,
    lat: float,
    properties: dict[str, Any],
    quantity: str,
    readings: Sequence[tuple[datetime, float]],
    unit_symbol: str = "mm",
    organisation: str = ORGANISATION,
) -> int:
    """A Thing with a Location, a Datastream of ``quantity`` and its Observations.

    The Thing also gets an unrelated battery Datastream that the asset reader must ignore.
    """
    ids = make_datastream(
        conn, name=f"{name} {quantity}", thing_name=name, properties=properties,
        lon_lat=(lon, lat), visibility="organisation", organisation=organisation,
        quantity=quantity, unit={"name": quantity, "symbol": unit_symbol})
    conn.execute(insert(datastreams).values(
        name=f"{name} battery", description="", observation_type="OM_Measurement",
        unit_of_measurement={"name": "battery", "symbol": "V"}, properties={"quantity": "battery"},
        thing_id=ids["thing"], sensor_id=ids["sensor"],
        observed_property_id=ids["observed_property"], observation_count=0))
    point = {"type": "Point", "coordinates": [lon, lat]}
    foi_id = conn.execute(insert(features_of_interest).values(
        name=name, description="", encoding_type="application/geo+json", feature=point,
        organisation_id=ids["organisation"])).inserted_primary_key[0]
    if readings:
        conn.execute(insert(observations), [
            {"datastream_id": ids["datastream"], "feature_of_interest_id": foi_id,
             "phenomenon_time_start": t, "result_type": RESULT_NUMBER, "result_number": v}
            for t, v in readings
        ])
    return ids["thing"]
