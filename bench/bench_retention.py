"""The retention purge of 10 million Observations on PostgreSQL, beside a plain DELETE of the
same rows in the same run.

Generates 1,000 Datastreams with 11,000 Observations each (5-minute readings, COPY through
``bench/generate.py``) in a scratch database, copies it (CREATE DATABASE ... TEMPLATE), then
on one copy runs ``placehub.governance.retention.purge`` (batched DELETEs per Datastream, the
materialised columns kept true) with a period that leaves the newest 1,000 rows of each
Datastream, and on the other the baseline: one ``DELETE FROM observations WHERE
phenomenon_time_start < cutoff`` that leaves the materialised columns stale. Both scratch
databases are dropped at the end.

Usage: PYTHONPATH=src python bench/bench_retention.py [--server URL] [--per-stream N]
       [--keep N] [--things N] [--batch N]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import timedelta

import psycopg
from sqlalchemy import func, select, text

from generate import START, STEP, create_things, load_observations, set_materialised
from placehub.access.service import ensure_organisation
from placehub.config import load_settings
from placehub.db import Database
from placehub.governance import retention
from placehub.sta.tables import datastreams, observations


def _admin(server: str) -> psycopg.Connection:
    return psycopg.connect(server.replace("postgresql+psycopg://", "postgresql://"),
                           autocommit=True)


def _url(server: str, name: str) -> str:
    base = server.replace("postgresql://", "postgresql+psycopg://", 1)
    return base.rsplit("/", 1)[0] + "/" + name


def build(server: str, name: str, things: int, per_stream: int) -> float:
    """A scratch database with ``things`` Datastreams of ``per_stream`` Observations each."""
    with _admin(server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    database = Database(_url(server, name))
    database.upgrade()
    started = time.perf_counter()
    with database.begin() as conn:
        streams = create_things(conn, things, 7)
    load_observations(database, streams, per_stream, 1, 7, lambda rows, message="": None)
    with database.begin() as conn:
        set_materialised(conn, streams, per_stream, 1)
    database.dispose()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default=os.environ.get(
        "PLACEHUB_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/postgres"))
    parser.add_argument("--things", type=int, default=1000)
    parser.add_argument("--per-stream", type=int, default=11_000)
    parser.add_argument("--keep", type=int, default=1_000, help="newest rows kept per stream")
    parser.add_argument("--batch", type=int, default=50_000)
    args = parser.parse_args()
    purged_name = f"placehub_bench_retention_{os.getpid()}"
    baseline_name = purged_name + "_baseline"
    expired_per_stream = args.per_stream - args.keep
    cutoff = START + expired_per_stream * STEP
    days = 30
    now = cutoff + timedelta(days=days)
    try:
        seconds = build(args.server, purged_name, args.things, args.per_stream)
        total = args.things * args.per_stream
        print(f"generated {total:,} Observations in {args.things:,} Datastreams in "
              f"{seconds:.0f} s")
        with _admin(args.server) as admin:
            started = time.perf_counter()
            admin.execute(f'CREATE DATABASE "{baseline_name}" TEMPLATE "{purged_name}"')
            print(f"copied for the baseline in {time.perf_counter() - started:.0f} s")

        database = Database(_url(args.server, purged_name))
        with database.begin() as conn:
            organisation = ensure_organisation(conn, "bench", "Benchmark council")
            retention.set_organisation_period(conn, "bench", organisation, "*", days)
            conn.execute(text("CHECKPOINT"))
        settings = load_settings(environ={}, database_url=database.url,
                                 retention_journal_days=0, retention_class_days="")
        started = time.perf_counter()
        dry = retention.purge(database, settings, now, dry_run=True)
        dry_seconds = time.perf_counter() - started
        started = time.perf_counter()
        report = retention.purge(database, settings, now, batch=args.batch, actor="bench")
        purge_seconds = time.perf_counter() - started
        with database.connect() as conn:
            left = conn.execute(select(func.count()).select_from(observations)).scalar_one()
            stale = conn.execute(select(func.count()).select_from(datastreams).where(
                datastreams.c.observation_count != args.keep)).scalar_one()
        database.dispose()
        assert report.observations_expired == dry.observations_expired == (
            args.things * expired_per_stream), (report.observations_expired,
                                                dry.observations_expired)
        assert left == args.things * args.keep and stale == 0

        baseline = Database(_url(args.server, baseline_name))
        with baseline.begin() as conn:
            conn.execute(text("CHECKPOINT"))
        started = time.perf_counter()
        with baseline.begin() as conn:
            deleted = conn.execute(observations.delete().where(
                observations.c.phenomenon_time_start < cutoff)).rowcount
        baseline_seconds = time.perf_counter() - started
        baseline.dispose()
        assert deleted == report.observations_expired

        rate = report.observations_expired / purge_seconds
        print(f"\nmachine: {os.cpu_count()} cores, {platform.machine()}, "
              f"Python {platform.python_version()}, PostgreSQL (local)")
        print(f"rows deleted: {report.observations_expired:,} of {total:,}")
        print(f"  dry run (counts per Datastream)          {dry_seconds:8.1f} s")
        print(f"  placehub purge (batches of {args.batch:,}, "
              f"materialised kept)  {purge_seconds:8.1f} s  ({rate:,.0f} rows/s)")
        print(f"  baseline: one plain DELETE               {baseline_seconds:8.1f} s  "
              f"(purge / baseline = {purge_seconds / baseline_seconds:.2f})")
    finally:
        with _admin(args.server) as admin:
            for name in (baseline_name, purged_name):
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
