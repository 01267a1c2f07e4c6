"""A small SensorThings store for $filter tests: two towns, three Things, four Datastreams.

Oakham (public): a litter bin and an NO2 station; Uppingham (organisation-only): a flowerbed.
Observations carry numbers, strings, booleans, JSON results and one interval phenomenonTime.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert

from placehub.access.service import ensure_organisation
from placehub.sta.observations import NewObservation, write_observations
from placehub.sta.tables import (
    datastreams,
    features_of_interest,
    locations,
    observed_properties,
    sensors,
    thing_locations,
    things,
)

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
OAKHAM_BIN = (-0.7282, 52.6697)
OAKHAM_STATION = (-0.7321, 52.6712)
UPPINGHAM_BED = (-0.7227, 52.5871)


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def _bbox(lon: float, lat: float) -> dict[str, float]:
    return {"min_x": lon, "min_y": lat, "max_x": lon, "max_y": lat}


def build_store(conn: Connection) -> dict[str, int]:
    """Create the store; returns ids by a readable key."""
    ids: dict[str, int] = {}
    council = ensure_organisation(conn, "rutland", "Rutland County Council")
    ids["org"] = council

    def add(table: Any, **values: Any) -> int:
        return int(conn.execute(insert(table).values(**values).returning(table.c.id)).scalar_one())

    ids["sensor"] = add(sensors, name="LDDS75", description="Dragino ultrasonic distance",
                        encoding_type="text/html", metadata="https://www.dragino.com",
                        organisation_id=council)
    ids["fill"] = add(observed_properties, name="fill_level", definition="urn:fill",
                      description="How full", organisation_id=council)
    ids["no2"] = add(observed_properties, name="NO2", definition="urn:no2",
                     description="Nitrogen dioxide", organisation_id=council)
    ids["moisture"] = add(observed_properties, name="soil_moisture", definition="urn:soil",
                          description="Soil moisture", organisation_id=council)
    things_spec = [
        ("bin", "Oakham bin 1", "Litter bin by the Market Place", "public", OAKHAM_BIN,
         {"asset_type": "litter_bin", "capacity_litres": 240, "ward": "Oakham North West",
          "tags": ["town", "market"], "active": True}),
        ("station", "Oakham AQ station", "Sensor Things air quality", "public",
         OAKHAM_STATION, {"asset_type": "air_quality_station", "ward": "Oakham South",
                          "active": False}),
        ("bed", "Uppingham flowerbed", "  Flowerbed on High Street  ", "organisation",
         UPPINGHAM_BED, {"asset_type": "flowerbed", "ward": "Uppingham", "area_m2": 12.5}),
    ]
    for key, name, description, visibility, (lon, lat), props in things_spec:
        thing = add(things, name=name, description=description, properties=props,
                    organisation_id=council, visibility=visibility)
        location = add(locations, name=name, description="", encoding_type=
                       "application/geo+json", location=_point(lon, lat),
                       organisation_id=council, **_bbox(lon, lat))
        conn.execute(insert(thing_locations).values(thing_id=thing, location_id=location))
        ids[key] = thing
        ids[f"{key}_location"] = location
        ids[f"{key}_foi"] = add(
            features_of_interest, name=name, description="", encoding_type=
            "application/geo+json", feature=_point(lon, lat), organisation_id=council,
            generated_from_location_id=location, **_bbox(lon, lat))
    # A Location with an area (Oakham's Market Place square) for polygon predicates.
    ids["square"] = add(locations, name="Market Place", description="square",
                        encoding_type="application/geo+json", location={
                            "type": "Polygon", "coordinates": [[
                                [-0.7290, 52.6690], [-0.7275, 52.6690], [-0.7275, 52.6705],
                                [-0.7290, 52.6705], [-0.7290, 52.6690]]]},
                        organisation_id=council, min_x=-0.7290, min_y=52.6690, max_x=-0.7275,
                        max_y=52.6705)
    conn.execute(insert(thing_locations).values(thing_id=ids["bin"], location_id=ids["square"]))
    unit = {"name": "percent", "symbol": "%", "definition": "ucum:%"}
    streams = [
        ("bin_fill", "bin", "fill", "Fill level", unit),
        ("station_no2", "station", "no2", "NO2 hourly",
         {"name": "microgram per cubic metre", "symbol": "ug/m3", "definition": "ucum:ug/m3"}),
        ("station_status", "station", "no2", "Station status", {"name": "status",
                                                                 "symbol": "", "definition": ""}),
        ("bed_moisture", "bed", "moisture", "Soil moisture", unit),
    ]
    for key, thing_key, prop_key, name, uom in streams:
        ids[key] = add(datastreams, name=name, description=f"{name} of {thing_key}",
                       observation_type="OM_Measurement", unit_of_measurement=uom,
                       properties={"quantity": prop_key}, thing_id=ids[thing_key],
                       sensor_id=ids["sensor"], observed_property_id=ids[prop_key],
                       observation_count=0)
    rows = [
        NewObservation(ids["bin_fill"], T0, 12.5, result_time=T0,
                       parameters={"battery_mv": 3600, "source": "ttn"}),
        NewObservation(ids["bin_fill"], T0 + timedelta(hours=1), 47.0,
                       result_time=T0 + timedelta(hours=1), parameters={"battery_mv": 3550}),
        NewObservation(ids["bin_fill"], T0 + timedelta(hours=2, minutes=30, seconds=15,
                                                       microseconds=250000), 91.5,
                       result_time=T0 + timedelta(hours=2, minutes=30, seconds=15),
                       parameters={"battery_mv": 3400, "source": "chirpstack"}),
        NewObservation(ids["station_no2"], T0, 38.0, phenomenon_time_end=T0 + timedelta(hours=1),
                       result_time=T0 + timedelta(hours=1),
                       valid_time_start=T0, valid_time_end=T0 + timedelta(days=1)),
        NewObservation(ids["station_no2"], T0 + timedelta(hours=1), 212.0,
                       phenomenon_time_end=T0 + timedelta(hours=2),
                       result_time=T0 + timedelta(hours=2)),
        NewObservation(ids["station_status"], T0, "ok", result_time=T0),
        NewObservation(ids["station_status"], T0 + timedelta(hours=1), "lidOpen",
                       result_time=T0 + timedelta(hours=1)),
        NewObservation(ids["station_status"], T0 + timedelta(hours=2), True),
        NewObservation(ids["station_status"], T0 + timedelta(hours=3),
                       {"code": 7, "text": "calibrating"}),
        NewObservation(ids["station_status"], T0 + timedelta(hours=4), None),
        NewObservation(ids["bed_moisture"], T0, 31.0, result_time=T0),
    ]
    outcome = write_observations(conn, rows)
    assert all(row.ok for row in outcome.outcomes), outcome.outcomes
    for index, row in enumerate(outcome.outcomes):
        ids[f"obs{index}"] = int(row.id)  # type: ignore[arg-type]
    return ids
