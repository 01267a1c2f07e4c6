"""Creating an air-quality station's SensorThings entities through the core's deep insert.

``placehub.sta.writes.create_entity`` (sta-core) is used when present; until it is on main a
minimal stand-in with the same call creates the Thing, its Location and its Datastreams directly,
so callers never change. Observations always go through ``placehub.sta.observations``.
"""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import Connection, insert, select

from placehub.access.service import Principal
from placehub.sta.tables import (
    datastreams,
    locations,
    observed_properties,
    sensors,
    thing_locations,
    things,
)


def _core(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def create_entity(conn: Connection, principal: Principal, set_name: str, body: dict) -> int:
    """Deep-insert a SensorThings entity through the core (or the stand-in for Things)."""
    core = _core("placehub.sta.writes", "create_entity")
    if core is not None:
        return int(core(conn, principal, set_name, body))
    if set_name == "Things":
        return _standin_create_thing(conn, body)
    if set_name == "Datastreams":
        thing_id = int(body["Thing"]["@iot.id"])
        org = conn.execute(select(things.c.organisation_id).where(things.c.id == thing_id)
                           ).scalar_one()
        return _standin_create_datastream(conn, int(org), thing_id, body)
    raise NotImplementedError(f"the stand-in creates Things and Datastreams, not {set_name}")


# --- stand-in, removed once placehub.sta.writes is on main -----------------------------------

def _standin_create_thing(conn: Connection, body: dict) -> int:
    org = int(body["organisation_id"])
    thing_id = int(conn.execute(insert(things).values(
        name=body["name"], description=body.get("description", ""),
        properties=body.get("properties"), organisation_id=org,
        visibility=body.get("visibility", "organisation"),
    )).inserted_primary_key[0])  # type: ignore[index]
    for loc in body.get("Locations", []):
        lon, lat = loc["location"]["coordinates"][:2]
        loc_id = conn.execute(insert(locations).values(
            name=loc["name"], description=loc.get("description", ""),
            encoding_type=loc["encodingType"], location=loc["location"],
            organisation_id=org, min_x=lon, max_x=lon, min_y=lat, max_y=lat,
        )).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(insert(thing_locations).values(thing_id=thing_id, location_id=loc_id))
    for ds in body.get("Datastreams", []):
        _standin_create_datastream(conn, org, thing_id, ds)
    return thing_id


def _standin_create_datastream(conn: Connection, org: int, thing_id: int, ds: dict) -> int:
    sensor = ds["Sensor"]
    sensor_id = conn.execute(insert(sensors).values(
        name=sensor["name"], description=sensor.get("description", ""),
        encoding_type=sensor["encodingType"], metadata=sensor["metadata"],
        organisation_id=org)).inserted_primary_key[0]  # type: ignore[index]
    prop = ds["ObservedProperty"]
    prop_id = conn.execute(insert(observed_properties).values(
        name=prop["name"], definition=prop["definition"],
        description=prop.get("description", ""),
        organisation_id=org)).inserted_primary_key[0]  # type: ignore[index]
    return int(conn.execute(insert(datastreams).values(
        name=ds["name"], description=ds.get("description", ""),
        observation_type=ds["observationType"],
        unit_of_measurement=ds["unitOfMeasurement"], properties=ds.get("properties"),
        thing_id=thing_id, sensor_id=sensor_id, observed_property_id=prop_id,
        observation_count=0,
    )).inserted_primary_key[0])  # type: ignore[index]
