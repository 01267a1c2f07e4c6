"""Generate a large SensorThings store for the benchmarks: Things, Datastreams and Observations.

    PYTHONPATH=src python bench/generate.py postgresql://root@127.0.0.1:5432/placehub_bench
    PYTHONPATH=src python bench/generate.py sqlite:////work/benchdata/placehub.sqlite3

Defaults: 1,000 public Things (one Location, one FeatureOfInterest, one Datastream each) and
10,000,000 Observations, one every five minutes per Datastream, interleaved in time order as a
live feed would arrive. Bulk-loaded the fast way for each database (COPY on PostgreSQL,
executemany in large transactions on SQLite, secondary indexes built after the load), and the
materialised columns of every Datastream (latest Observation, time ranges, count) are set to
exactly what the rows say.
"""

from __future__ import annotations

import argparse
import io
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from placehub.access.service import ensure_organisation
from placehub.db import Database
from placehub.sta.tables import (
    RESULT_NUMBER,
    datastreams,
    features_of_interest,
    locations,
    observed_properties,
    sensors,
    thing_locations,
    things,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)
OBSERVATION_COLUMNS = (
    "id", "datastream_id", "feature_of_interest_id", "phenomenon_time_start", "result_time",
    "result_type", "result_number",
)
# Secondary indexes are built after the load: maintaining them row by row costs far more.
OBSERVATION_INDEXES = {
    "ix_observations_datastream_time":
        "CREATE INDEX ix_observations_datastream_time "
        "ON observations (datastream_id, phenomenon_time_start, id)",
    "uq_observations_datastream_dedup":
        "CREATE UNIQUE INDEX uq_observations_datastream_dedup "
        "ON observations (datastream_id, dedup_key)",
    "ix_observations_feature_of_interest_id":
        "CREATE INDEX ix_observations_feature_of_interest_id "
        "ON observations (feature_of_interest_id)",
}


def _sqlite_time(moment: datetime) -> str:
    # The storage format SQLAlchemy uses for DateTime on SQLite (naive UTC text).
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def create_things(conn: Connection, count: int, seed: int) -> list[dict[str, Any]]:
    """Create ``count`` public Things with a Location, FeatureOfInterest and Datastream each."""
    rng = random.Random(seed)
    organisation = ensure_organisation(conn, "bench", "Benchmark council")
    sensor = conn.execute(sensors.insert().values(
        name="Ultrasonic fill sensor", description="bench", encoding_type="text/html",
        metadata="https://example.org/sensor", organisation_id=organisation,
    ).returning(sensors.c.id)).scalar_one()
    observed_property = conn.execute(observed_properties.insert().values(
        name="fill_level", definition="https://example.org/fill_level", description="bench",
        organisation_id=organisation,
    ).returning(observed_properties.c.id)).scalar_one()
    created = []
    for index in range(count):
        lon, lat = -0.72 + rng.uniform(-0.12, 0.12), 52.66 + rng.uniform(-0.08, 0.08)
        point = {"type": "Point", "coordinates": [lon, lat]}
        bbox = {"min_x": lon, "min_y": lat, "max_x": lon, "max_y": lat}
        thing = conn.execute(things.insert().values(
            name=f"bin {index:04d}", description="litter bin",
            properties={"asset_type": "litter_bin", "ward": f"ward {index % 16}"},
            organisation_id=organisation, visibility="public",
        ).returning(things.c.id)).scalar_one()
        location = conn.execute(locations.insert().values(
            name=f"bin {index:04d}", description="", encoding_type="application/geo+json",
            location=point, organisation_id=organisation, **bbox,
        ).returning(locations.c.id)).scalar_one()
        conn.execute(thing_locations.insert().values(thing_id=thing, location_id=location))
        feature = conn.execute(features_of_interest.insert().values(
            name=f"bin {index:04d}", description="", encoding_type="application/geo+json",
            feature=point, organisation_id=organisation, generated_from_location_id=location,
            **bbox,
        ).returning(features_of_interest.c.id)).scalar_one()
        datastream = conn.execute(datastreams.insert().values(
            name=f"bin {index:04d} fill level", description="",
            observation_type="http://www.opengis.net/def/observationType/OGC-OM/2.0/"
                             "OM_Measurement",
            unit_of_measurement={"name": "percent", "symbol": "%", "definition": "ucum:%"},
            properties={"quantity": "fill_level"}, thing_id=thing, sensor_id=sensor,
            observed_property_id=observed_property, observation_count=0,
        ).returning(datastreams.c.id)).scalar_one()
        created.append({"datastream": datastream, "feature": feature})
    return created


def _rows(streams: list[dict[str, Any]], per_stream: int, first_id: int, sqlite: bool,
          seed: int, start_step: int, end_step: int):  # type: ignore[no-untyped-def]
    """Observation tuples for time steps [start_step, end_step), all Datastreams interleaved."""
    rng = random.Random(seed + start_step)
    width = len(streams)
    for step in range(start_step, end_step):
        moment = START + step * STEP
        stamp: Any = _sqlite_time(moment) if sqlite else moment
        base = first_id + step * width
        for index, stream in enumerate(streams):
            yield (base + index, stream["datastream"], stream["feature"], stamp, stamp,
                   RESULT_NUMBER, round(rng.uniform(0, 100), 1))


def load_observations(database: Database, streams: list[dict[str, Any]], per_stream: int,
                      first_id: int, seed: int, report: Any) -> None:
    """Bulk-load ``per_stream`` Observations into every Datastream."""
    sqlite = database.is_sqlite
    steps_per_batch = max(1, 500_000 // len(streams))
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for name in OBSERVATION_INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
        raw.commit()
        for start_step in range(0, per_stream, steps_per_batch):
            end_step = min(per_stream, start_step + steps_per_batch)
            rows = _rows(streams, per_stream, first_id, sqlite, seed, start_step, end_step)
            if sqlite:
                cursor.execute("BEGIN")  # the engine runs the driver in autocommit mode
                cursor.executemany(
                    f"INSERT INTO observations ({', '.join(OBSERVATION_COLUMNS)}) "
                    f"VALUES ({', '.join('?' for _ in OBSERVATION_COLUMNS)})", rows)
            else:
                buffer = io.StringIO()
                for row in rows:
                    buffer.write("\t".join(
                        value.isoformat() if isinstance(value, datetime) else str(value)
                        for value in row) + "\n")
                buffer.seek(0)
                with cursor.copy(  # type: ignore[attr-defined]
                    f"COPY observations ({', '.join(OBSERVATION_COLUMNS)}) FROM STDIN"
                ) as copy:
                    while chunk := buffer.read(1 << 20):
                        copy.write(chunk)
            raw.commit()
            report((end_step - start_step) * len(streams))
        for name, statement in OBSERVATION_INDEXES.items():
            report(0, f"building {name}")
            cursor.execute(statement)
            raw.commit()
        if not sqlite:
            cursor.execute("SELECT setval(pg_get_serial_sequence('observations', 'id'), "
                           "(SELECT max(id) FROM observations))")
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def set_materialised(conn: Connection, streams: list[dict[str, Any]], per_stream: int,
                     first_id: int) -> None:
    """Set each Datastream's latest Observation, time ranges and count from the generated rows."""
    width = len(streams)
    last = START + (per_stream - 1) * STEP
    for index, stream in enumerate(streams):
        conn.execute(datastreams.update().where(datastreams.c.id == stream["datastream"]).values(
            observation_count=per_stream,
            latest_observation_id=first_id + (per_stream - 1) * width + index,
            latest_phenomenon_time=last,
            phenomenon_time_start=START, phenomenon_time_end=last,
            result_time_start=START, result_time_end=last,
        ))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("--things", type=int, default=1000)
    parser.add_argument("--observations", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    database = Database(args.database_url)
    database.upgrade()
    began = time.perf_counter()
    with database.begin() as conn:
        if conn.execute(select(func.count()).select_from(things)).scalar():
            raise SystemExit(f"{args.database_url} already holds Things: use an empty database")
        streams = create_things(conn, args.things, args.seed)
    per_stream = args.observations // args.things
    first_id = 1
    loaded = 0

    def report(rows: int, message: str = "") -> None:
        nonlocal loaded
        loaded += rows
        elapsed = time.perf_counter() - began
        print(f"{elapsed:7.1f}s {loaded:>11,} observations {message}", flush=True)

    load_observations(database, streams, per_stream, first_id, args.seed, report)
    with database.begin() as conn:
        set_materialised(conn, streams, per_stream, first_id)
    report(0, "done")
    database.dispose()


if __name__ == "__main__":
    main()
