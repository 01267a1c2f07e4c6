"""A fleet of registered devices written straight into the tables (fast enough for thousands):
Things of Rutland's litter bins, their registry rows and the health ingest keeps for each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, update

from placehub.access import service
from placehub.db import Database
from placehub.ingest.tables import ingest_device_health, ingest_devices
from placehub.sta.tables import (
    RESULT_NUMBER,
    datastreams,
    features_of_interest,
    observations,
    things,
)
from tests.sta.factories import make_datastream

STREETS = ("Market Place", "High Street", "Mill Street", "Church Street", "Station Road",
           "Burley Road", "Northgate", "Catmose Street")


def eui_of(number: int) -> str:
    """The DevEUI of fleet device ``number``: Milesight's prefix and the number in hex."""
    return f"24E12413{number:08X}"


def make_fleet(database: Database, count: int, *, organisation: str = "rutland",
               visibility: str = "organisation") -> dict[str, int]:
    """``count`` bins with a device each; device i was last heard i minutes ago (every tenth
    never), with a battery, RSSI and SNR. Returns the organisation id and the first Thing id."""
    now = datetime.now(UTC).replace(microsecond=0)
    with database.begin() as conn:
        org = service.ensure_organisation(conn, organisation, organisation.title())
        for start in range(0, count, 1000):
            batch = range(start, min(count, start + 1000))
            conn.execute(insert(things), [
                {"name": f"Bin {i} {STREETS[i % len(STREETS)]}, Oakham", "description": "",
                 "organisation_id": org, "visibility": visibility,
                 "properties": {"asset_type": "litter_bin", "fleet": i}} for i in batch])
        ids = {int(r.properties["fleet"]): int(r.id) for r in conn.execute(
            things.select().where(things.c.organisation_id == org))
            if (r.properties or {}).get("fleet") is not None}
        first = min(ids.values()) if ids else 0
        conn.execute(insert(ingest_devices), [
            {"dev_eui": eui_of(i), "name": f"Bin {i} sensor", "profile_id":
             "milesight-em310-udl-bin", "thing_id": ids[i], "organisation_id": org,
             "datastreams": {}, "created_at": now} for i in range(count)])
        conn.execute(insert(ingest_device_health), [
            {"dev_eui": eui_of(i), "last_seen": now - timedelta(minutes=i),
             "frames_received": 100, "frames_lost": 0, "battery_percent": 90.0 - i % 80,
             "rssi": -60.0 - i % 60, "snr": 9.5 - i % 20, "updated_at": now}
            for i in range(count) if i % 10])
    return {"organisation": org, "first_thing": first}


def add_battery_reading(database: Database, thing_name: str, dev_eui: str, percent: float,
                        hours_ago: float) -> int:
    """A bin of its own with a battery Datastream whose latest reading is ``percent``, taken
    ``hours_ago``, and its registered device; returns the Thing id."""
    now = datetime.now(UTC).replace(microsecond=0)
    with database.begin() as conn:
        made = make_datastream(conn, name=f"{thing_name} battery percent", thing_name=thing_name,
                               quantity="battery_percent", visibility="organisation")
        here = conn.execute(insert(features_of_interest).values(
            name=thing_name, description="", encoding_type="application/geo+json",
            feature={"type": "Point", "coordinates": [-0.7276, 52.6703]},
            organisation_id=made["organisation"])).inserted_primary_key[0]
        observation = conn.execute(insert(observations).values(
            datastream_id=made["datastream"], feature_of_interest_id=here,
            phenomenon_time_start=now - timedelta(
                hours=hours_ago), result_type=RESULT_NUMBER, result_number=percent,
        )).inserted_primary_key[0]
        conn.execute(update(datastreams).where(datastreams.c.id == made["datastream"]).values(
            latest_observation_id=observation, observation_count=1))
        conn.execute(insert(ingest_devices).values(
            dev_eui=dev_eui, name=f"{thing_name} sensor", profile_id="milesight-em310-udl-bin",
            thing_id=made["thing"], organisation_id=made["organisation"], datastreams={},
            created_at=now))
    return int(made["thing"])
