"""Realistic test data for the web UI: a council, officers, and assets (bins, flowerbeds, air
sensors) with positions in Rutland, Datastreams and a few days of readings.

Written straight into the SensorThings tables so the web tests do not depend on the ingest path;
the status shown by the UI (nearly full, silent, ...) follows from these readings.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, update

from placehub.access import service
from placehub.db import Database
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

PASSWORD = "correct horse battery"
# Oakham town centre, Rutland.
OAKHAM = (-0.7275, 52.6705)


@dataclass
class Seeded:
    organisation_id: int
    other_organisation_id: int
    officer: str = "officer"
    outsider: str = "outsider"
    things: dict[str, int] = field(default_factory=dict)


def seed(database: Database, bins: int = 24, seed_value: int = 7,
         history_hours: int = 72) -> Seeded:
    """A council with ``bins`` litter bins (varied fill), 2 flowerbeds, 2 air stations."""
    rng = random.Random(seed_value)
    now = datetime.now(UTC).replace(microsecond=0)
    with database.begin() as conn:
        council = service.create_organisation(conn, "rutland", "Rutland County Council")
        other = service.create_organisation(conn, "elsewhere", "Another Council")
        officer = service.create_user(conn, "officer", password=PASSWORD, display_name="Officer")
        service.grant_role(conn, officer, council, "editor")
        outsider = service.create_user(conn, "outsider", password=PASSWORD)
        service.grant_role(conn, outsider, other, "viewer")
        seeded = Seeded(council, other)
        sensor = conn.execute(insert(sensors).values(
            name="Milesight EM310-UDL", description="ultrasonic distance", organisation_id=council,
            encoding_type="text/html", metadata="https://www.milesight.com")).inserted_primary_key[0]
        properties: dict[str, int] = {}
        for quantity in ("distance", "battery_percent", "soil_moisture", "no2", "pm2_5", "pm10"):
            properties[quantity] = conn.execute(insert(observed_properties).values(
                name=quantity, definition=f"https://placehub.example/quantity/{quantity}",
                organisation_id=council)).inserted_primary_key[0]

        def thing(name: str, asset_type: str, visibility: str, lon: float, lat: float,
                  extra: dict[str, Any] | None = None, organisation: int = council) -> int:
            thing_id = conn.execute(insert(things).values(
                name=name, description=name, organisation_id=organisation, visibility=visibility,
                properties={"asset_type": asset_type, **(extra or {})})).inserted_primary_key[0]
            point = {"type": "Point", "coordinates": [lon, lat]}
            location_id = conn.execute(insert(locations).values(
                name=name, encoding_type="application/geo+json", location=point,
                organisation_id=organisation, min_x=lon, max_x=lon, min_y=lat, max_y=lat,
            )).inserted_primary_key[0]
            conn.execute(insert(thing_locations).values(thing_id=thing_id,
                                                        location_id=location_id))
            seeded.things[name] = thing_id
            return int(thing_id)

        def stream(thing_id: int, quantity: str, unit: str, values: list[float],
                   step: timedelta, last: datetime, organisation: int = council) -> None:
            foi = conn.execute(insert(features_of_interest).values(
                name=f"{thing_id}", encoding_type="application/geo+json",
                feature={"type": "Point", "coordinates": [0, 0]},
                organisation_id=organisation)).inserted_primary_key[0]
            datastream_id = conn.execute(insert(datastreams).values(
                name=quantity.replace("_", " ").capitalize(), description=quantity,
                observation_type="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                unit_of_measurement={"name": unit, "symbol": unit, "definition": ""},
                properties={"quantity": quantity}, thing_id=thing_id, sensor_id=sensor,
                observed_property_id=properties[quantity], observation_count=len(values),
            )).inserted_primary_key[0]
            times = [last - step * (len(values) - 1 - i) for i in range(len(values))]
            conn.execute(insert(observations), [
                {"datastream_id": datastream_id, "feature_of_interest_id": foi,
                 "phenomenon_time_start": t, "result_type": RESULT_NUMBER, "result_number": v}
                for t, v in zip(times, values, strict=True)
            ])
            latest = conn.execute(
                observations.select().where(observations.c.datastream_id == datastream_id)
                .order_by(observations.c.phenomenon_time_start.desc()).limit(1)).first()
            conn.execute(update(datastreams).where(datastreams.c.id == datastream_id).values(
                latest_observation_id=latest.id, latest_phenomenon_time=latest.phenomenon_time_start,
                phenomenon_time_start=times[0], phenomenon_time_end=times[-1]))

        hours = max(history_hours, 2)
        for index in range(bins):
            angle = index * 2.4
            radius = 0.002 + 0.0004 * index
            lon = OAKHAM[0] + radius * math.cos(angle) * 1.6
            lat = OAKHAM[1] + radius * math.sin(angle)
            # Bin 0 is nearly full (82%), bin 1 full, bin 2 silent (last reading 4 days ago).
            final_fill = [0.82, 0.95, 0.3][index] if index < 3 else rng.uniform(0.05, 0.7)
            fills = [final_fill * (h + 1) / hours for h in range(hours)]
            distances = [1000 - f * (1000 - 200) for f in fills]
            last = now - (timedelta(days=4) if index == 2 else timedelta(minutes=20))
            bin_id = thing(f"Bin {index + 1:03d} Oakham", "litter_bin",
                           "organisation" if index % 3 else "public", lon, lat,
                           {"empty_distance_mm": 1000, "full_distance_mm": 200,
                            "capacity_litres": 240, "dev_eui": f"24E1241360{index:06X}",
                            "profile": "milesight-em310-udl"})
            stream(bin_id, "distance", "mm", distances, timedelta(hours=1), last)
            stream(bin_id, "battery_percent", "%", [95 - h * 0.01 for h in range(hours)],
                   timedelta(hours=1), last)
        for index, name in enumerate(["Flowerbed Cutts Close", "Flowerbed Market Place"]):
            bed = thing(name, "flowerbed", "public", OAKHAM[0] + 0.003 * index,
                        OAKHAM[1] - 0.002, {"dev_eui": f"A84041000000{index:04X}"})
            stream(bed, "soil_moisture", "%", [40 - h * 0.3 for h in range(hours)],
                   timedelta(hours=1), now - timedelta(minutes=30))
        for index, (name, visibility) in enumerate(
                [("Air quality Oakham High Street", "public"),
                 ("Air quality Uppingham depot", "restricted")]):
            station = thing(name, "air_quality_station", visibility, OAKHAM[0] - 0.01 * index,
                            OAKHAM[1] + 0.004, {"dev_eui": f"00137A10000{index:05X}"})
            for quantity, base in (("no2", 30.0), ("pm2_5", 9.0), ("pm10", 18.0)):
                stream(station, quantity, "ug/m3",
                       [base + 5 * math.sin(h / 4) for h in range(hours)],
                       timedelta(hours=1), now - timedelta(minutes=10))
        # Another organisation's bin: members of the council must not see it.
        foreign = thing("Bin of another council", "litter_bin", "organisation", OAKHAM[0] + 0.02,
                        OAKHAM[1] + 0.02, {"empty_distance_mm": 1000, "full_distance_mm": 200},
                        organisation=other)
        stream(foreign, "distance", "mm", [300.0, 250.0], timedelta(hours=1), now, other)
    return seeded
