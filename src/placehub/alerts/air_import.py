"""Import an hourly air-quality series (Defra AURN / openair layout) as SensorThings Observations.

The layout is the one of ``shared/data/air/marylebone_road_hourly_2015_2020.csv``: a ``date``
column (ISO 8601, the start of the hour, UTC) and one column per measurement (``ws``, ``wd``,
``air_temp``, ``nox``, ``no2``, ``o3``, ``pm2.5``, ``pm10``); empty cells are missing hours.
Each measured column becomes a Datastream of one air-quality station Thing; each value an
Observation over its hour with a dedup key, so importing the same file again adds nothing.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from placehub.access.service import Principal
from placehub.access.tables import organisations
from placehub.db import Database
from placehub.errors import BadRequest
from placehub.sta.model import ORGANISATION_ANNOTATION, VISIBILITY_ANNOTATION
from placehub.sta.observations import NewObservation, write_observations
from placehub.sta.tables import datastreams, things
from placehub.sta.writes import create_entity

UG_M3 = {"name": "microgram per cubic metre", "symbol": "µg/m³",
         "definition": "http://unitsofmeasure.org/ucum.html#ug/m3"}
PPB = {"name": "part per billion", "symbol": "ppb",
       "definition": "http://unitsofmeasure.org/ucum.html#[ppb]"}


@dataclass(frozen=True)
class Column:
    """A CSV column: the quantity it measures (ingest's vocabulary) and its unit."""

    quantity: str
    name: str
    unit: dict[str, str]
    definition: str


COLUMNS: dict[str, Column] = {
    "no2": Column("no2", "Nitrogen dioxide", UG_M3, "http://vocab.nerc.ac.uk/collection/P01/current/NDIXAIR1/"),
    "nox": Column("nox", "Nitrogen oxides as NO2", UG_M3, "https://dd.eionet.europa.eu/vocabulary/aq/pollutant/9"),
    "o3": Column("o3", "Ozone", UG_M3, "https://dd.eionet.europa.eu/vocabulary/aq/pollutant/7"),
    "pm2.5": Column("pm2_5", "PM2.5", UG_M3, "https://dd.eionet.europa.eu/vocabulary/aq/pollutant/6001"),
    "pm10": Column("pm10", "PM10", UG_M3, "https://dd.eionet.europa.eu/vocabulary/aq/pollutant/5"),
    "ws": Column("wind_speed", "Wind speed",
                 {"name": "metre per second", "symbol": "m/s",
                  "definition": "http://unitsofmeasure.org/ucum.html#m/s"},
                 "http://vocab.nerc.ac.uk/collection/P07/current/CFSN0038/"),
    "wd": Column("wind_direction", "Wind direction",
                 {"name": "degree", "symbol": "°",
                  "definition": "http://unitsofmeasure.org/ucum.html#deg"},
                 "http://vocab.nerc.ac.uk/collection/P07/current/CFSN0036/"),
    "air_temp": Column("temperature", "Air temperature",
                       {"name": "degree Celsius", "symbol": "°C",
                        "definition": "http://unitsofmeasure.org/ucum.html#Cel"},
                       "http://vocab.nerc.ac.uk/collection/P07/current/CFSN0023/"),
}

BATCH = 5000


@dataclass
class ImportReport:
    """What an import did."""

    thing_id: int
    datastreams: dict[str, int]
    rows_read: int = 0
    observations_written: int = 0
    duplicates: int = 0
    missing_values: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def parse_time(text: str, line: int) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"line {line}: date {text!r} is not ISO 8601 "
                         "(e.g. 2015-01-01T00:00:00Z)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # Defra publishes GMT
    return value.astimezone(UTC)


def read_series(path: Path, wanted: list[str] | None = None
                ) -> tuple[list[str], Iterator[tuple[int, datetime, dict[str, float | None]]]]:
    """The measurement columns of ``path`` and an iterator of (line, hour start, values)."""
    handle = path.open(newline="", encoding="utf-8-sig")
    reader = csv.reader(handle)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        handle.close()
        raise BadRequest(f"{path}: the file is empty") from None
    if not header or header[0] != "date":
        handle.close()
        raise BadRequest(f"{path}: the first column must be 'date', found {header[:1]}")
    known = [h for h in header[1:] if h in COLUMNS]
    if wanted:
        unknown = sorted(set(wanted) - set(known))
        if unknown:
            handle.close()
            raise BadRequest(f"column(s) {', '.join(unknown)} not in {path.name}: "
                             f"it has {', '.join(known)}")
        known = [h for h in known if h in wanted]
    positions = {name: header.index(name) for name in known}

    def rows() -> Iterator[tuple[int, datetime, dict[str, float | None]]]:
        with handle:
            for line, record in enumerate(reader, start=2):
                if not record or not record[0].strip():
                    continue
                values: dict[str, float | None] = {}
                for name, pos in positions.items():
                    cell = record[pos].strip() if pos < len(record) else ""
                    if cell == "" or cell.upper() in {"NA", "NAN"}:
                        values[name] = None
                        continue
                    try:
                        values[name] = float(cell)
                    except ValueError:
                        raise BadRequest(
                            f"line {line}: {name} value {cell!r} is not a number") from None
                yield line, parse_time(record[0], line), values

    return known, rows()


def find_station(conn: Connection, site: str, organisation_id: int) -> int | None:
    """The air-quality station Thing called ``site`` in the organisation, if there is one."""
    for row in conn.execute(select(things.c.id, things.c.properties).where(
            things.c.name == site, things.c.organisation_id == organisation_id)):
        if (row.properties or {}).get("asset_type") == "air_quality_station":
            return int(row.id)
    return None


def station_datastreams(conn: Connection, thing_id: int) -> dict[str, int]:
    """Datastream ids of a Thing by quantity."""
    return {
        (row.properties or {}).get("quantity", row.name): int(row.id)
        for row in conn.execute(select(datastreams.c.id, datastreams.c.name,
                                       datastreams.c.properties)
                                .where(datastreams.c.thing_id == thing_id))
    }


def ensure_station(
    conn: Connection, principal: Principal, *, site: str, latitude: float, longitude: float,
    organisation_id: int, visibility: str, columns: list[str], ppb: set[str],
    source: str = "",
) -> tuple[int, dict[str, int]]:
    """The station Thing and its Datastreams (by CSV column), created where missing."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise BadRequest(f"latitude {latitude}, longitude {longitude}: not a place on Earth")
    thing_id = find_station(conn, site, organisation_id)
    wanted = [COLUMNS[c] for c in columns]

    def stream(col: Column) -> dict[str, Any]:
        return _datastream_body(site, col, PPB if col.quantity in ppb else col.unit)

    if thing_id is None:
        point = {"type": "Point", "coordinates": [longitude, latitude]}
        thing_id = create_entity(conn, principal, "Things", {
            "name": site,
            "description": f"Air-quality station {site}" + (f" ({source})" if source else ""),
            "properties": {"asset_type": "air_quality_station", "source": source},
            ORGANISATION_ANNOTATION: _slug(conn, organisation_id),
            VISIBILITY_ANNOTATION: visibility,
            "Locations": [{"name": site, "description": f"Location of {site}",
                           "encodingType": "application/geo+json", "location": point}],
            "Datastreams": [stream(col) for col in wanted],
        })
    else:
        existing = station_datastreams(conn, thing_id)
        for col in wanted:
            if col.quantity not in existing:
                create_entity(conn, principal, "Datastreams",
                              {**stream(col), "Thing": {"@iot.id": thing_id}})
    existing = station_datastreams(conn, thing_id)
    return thing_id, {name: existing[COLUMNS[name].quantity] for name in columns}


def _slug(conn: Connection, organisation_id: int) -> str:
    return str(conn.execute(select(organisations.c.slug).where(
        organisations.c.id == organisation_id)).scalar_one())


def _datastream_body(site: str, col: Column, unit: dict[str, str]) -> dict[str, Any]:
    return {
        "name": f"{site} {col.name} hourly mean",
        "description": f"Hourly mean {col.name} at {site}",
        "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/"
                           "OM_Measurement",
        "unitOfMeasurement": unit,
        "properties": {"quantity": col.quantity, "aggregation": "PT1H mean"},
        "Sensor": {"name": f"{site} {col.name} analyser", "description": col.name,
                   "encodingType": "text/plain", "metadata": "reference analyser"},
        "ObservedProperty": {"name": col.name, "definition": col.definition,
                             "description": col.name},
    }


def import_series(
    database: Database,
    principal: Principal,
    path: Path,
    *,
    site: str,
    latitude: float,
    longitude: float,
    organisation_id: int,
    visibility: str = "public",
    columns: list[str] | None = None,
    ppb: set[str] | None = None,
    source: str = "",
    publish_events: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Load the series in ``path`` as Observations of station ``site``; safe to run again.

    Batches of ``BATCH`` rows are written through ``write_observations``, one transaction each;
    with ``publish_events`` each batch is announced on ``observations.written`` (so alert rules
    see it), otherwise a history back-fill stays quiet.
    """
    names, rows = read_series(path, columns)
    if not names:
        raise BadRequest(f"{path.name} has no known measurement column: expected some of "
                         f"{', '.join(COLUMNS)}")
    with database.begin() as conn:
        thing_id, streams = ensure_station(
            conn, principal, site=site, latitude=latitude, longitude=longitude,
            organisation_id=organisation_id, visibility=visibility, columns=names,
            ppb=ppb or set(), source=source)
    report = ImportReport(thing_id, {COLUMNS[n].quantity: streams[n] for n in names})
    batch: list[NewObservation] = []
    hour = timedelta(hours=1)

    def flush() -> None:
        with database.begin() as conn:
            result = write_observations(conn, batch)
        for i, outcome in enumerate(result.outcomes):
            if outcome.duplicate:
                report.duplicates += 1
            elif outcome.error:
                report.errors.append(f"{batch[i].phenomenon_time.isoformat()}: {outcome.error}")
        report.observations_written += len(result.written)
        if publish_events and result.written:
            database.events.publish("observations.written", result.written)
        batch.clear()

    for _line, start, values in rows:
        report.rows_read += 1
        stamp = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        for name, value in values.items():
            if value is None:
                report.missing_values += 1
                continue
            batch.append(NewObservation(
                datastream_id=streams[name], phenomenon_time=start,
                phenomenon_time_end=start + hour, result=value, result_time=start + hour,
                dedup_key=f"air:{stamp}",
            ))
        if len(batch) >= BATCH:
            flush()
            if on_progress:
                on_progress(report.rows_read)
    if batch:
        flush()
    if on_progress:
        on_progress(report.rows_read)
    return report


def count_rows(path: Path) -> int:
    """Data rows in a CSV file (for the progress bar)."""
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)
