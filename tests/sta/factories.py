"""Small realistic SensorThings rows inserted directly, for tests below the HTTP layer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert

from placehub.access import service
from placehub.sta.tables import (
    datastreams,
    locations,
    observed_properties,
    sensors,
    thing_locations,
    things,
)

OAKHAM_MARKET_PLACE = (-0.7276, 52.6703)


def make_datastream(
    conn: Connection,
    *,
    name: str = "Bin 17 fill level",
    lon_lat: tuple[float, float] | None = OAKHAM_MARKET_PLACE,
    visibility: str = "public",
    organisation: str = "rutland",
    quantity: str = "fill_level",
    unit: dict[str, Any] | None = None,
    thing_name: str | None = None,
    properties: dict[str, Any] | None = None,
) -> dict[str, int]:
    """A Thing (with a Location unless lon_lat is None), Sensor, ObservedProperty, Datastream.

    The Thing is named ``thing_name`` (default: ``name`` without its last two words) and has
    ``properties`` (default: a litter bin).
    """
    org = service.ensure_organisation(conn, organisation, organisation.title())
    thing = conn.execute(insert(things).values(
        name=thing_name or name.rsplit(" ", 2)[0], description="Litter bin",
        organisation_id=org, visibility=visibility,
        properties=properties or {"asset_type": "litter_bin"},
    )).inserted_primary_key[0]
    ids = {"organisation": org, "thing": thing}
    if lon_lat is not None:
        ids["location"] = set_point_location(conn, thing, org, lon_lat, "Market Place, Oakham")
    sensor = conn.execute(insert(sensors).values(
        name="Milesight EM310-UDL", description="Ultrasonic distance sensor",
        encoding_type="application/pdf", metadata="https://www.milesight.com/",
        organisation_id=org,
    )).inserted_primary_key[0]
    observed = conn.execute(insert(observed_properties).values(
        name=quantity, definition=f"https://placehub.example/quantities/{quantity}",
        description="", organisation_id=org,
    )).inserted_primary_key[0]
    ids["sensor"], ids["observed_property"] = sensor, observed
    ids["datastream"] = conn.execute(insert(datastreams).values(
        name=name, description="",
        observation_type="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        unit_of_measurement=unit or {"name": "percent", "symbol": "%", "definition": "ucum:%"},
        thing_id=thing, sensor_id=sensor, observed_property_id=observed,
        properties={"quantity": quantity}, observation_count=0,
    )).inserted_primary_key[0]
    return ids


def set_point_location(conn: Connection, thing_id: int, organisation: int,
                       lon_lat: tuple[float, float], name: str = "here") -> int:
    """Give a Thing a point Location, replacing any earlier link; returns the Location id."""
    lon, lat = lon_lat
    location = conn.execute(insert(locations).values(
        name=name, description="", organisation_id=organisation,
        encoding_type="application/geo+json",
        location={"type": "Point", "coordinates": [lon, lat]},
        min_x=lon, min_y=lat, max_x=lon, max_y=lat,
    )).inserted_primary_key[0]
    conn.execute(thing_locations.delete().where(thing_locations.c.thing_id == thing_id))
    conn.execute(insert(thing_locations).values(thing_id=thing_id, location_id=location))
    return int(location)


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A UTC time in March 2024."""
    return datetime(2024, 3, day, hour, minute, tzinfo=UTC)
