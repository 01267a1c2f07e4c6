"""The retention purge of 10 million Observations, beside a plain DELETE of the same rows in
the same run, on PostgreSQL (default) or SQLite (``--sqlite``).

Generates 1,000 Datastreams with 11,000 Observations each (5-minute readings, COPY or batched
INSERTs through ``bench/generate.py``) in a scratch database used as a template. Each repeat
makes two copies of it (PostgreSQL: CREATE DATABASE ... TEMPLATE; SQLite: a file copy); on one
it runs ``placehub.governance.retention.purge`` (a dry run first, then batched DELETEs per
Datastream, the materialised columns kept true) with a period that leaves the newest 1,000 rows
of each Datastream, and on the other the baseline: one ``DELETE FROM observations WHERE
phenomenon_time_start < cutoff`` that leaves the materialised columns stale. Prints each
repeat and the medians. Every scratch database is dropped at the end.

Usage: PYTHONPATH=src python bench/bench_retention.py [--server URL | --sqlite DIR]
       [--per-stream N] [--keep N] [--things N] [--batch N] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import time
from datetime import datetime, timedelta
from pathlib import Path

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


class Scratch:
    """The template database and its copies, on one PostgreSQL server or in one directory."""

    def __init__(self, server: str | None, directory: Path | None, name: str) -> None:
        self.server, self.directory, self.name = server, directory, name
        self.made: list[str] = []

    def url(self, name: str) -> str:
        if self.directory is not None:
            return f"sqlite:///{self.directory / (name + '.sqlite3')}"
        assert self.server is not None
        return _url(self.server, name)

    def create_empty(self, name: str) -> str:
        self.made.append(name)
        if self.directory is None:
            assert self.server is not None
            with _admin(self.server) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def copy(self, name: str) -> str:
        """A copy of the template."""
        self.made.append(name)
        if self.directory is None:
            assert self.server is not None
            with _admin(self.server) as admin:
                admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        else:
            shutil.copyfile(self.directory / f"{self.name}.sqlite3",
                            self.directory / f"{name}.sqlite3")
        return self.url(name)

    def drop(self, name: str) -> None:
        if self.directory is None:
            assert self.server is not None
            with _admin(self.server) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            for suffix in ("", "-wal", "-shm", "-journal"):
                (self.directory / f"{name}.sqlite3{suffix}").unlink(missing_ok=True)

    def drop_all(self) -> None:
        for name in reversed(self.made):
            self.drop(name)


def build(scratch: Scratch, things: int, per_stream: int) -> float:
    """The template: ``things`` Datastreams of ``per_stream`` Observations each."""
    database = Database(scratch.create_empty(scratch.name))
    database.upgrade()
    started = time.perf_counter()
    with database.begin() as conn:
        streams = create_things(conn, things, 7)
    load_observations(database, streams, per_stream, 1, 7, lambda rows, message="": None)
    with database.begin() as conn:
        set_materialised(conn, streams, per_stream, 1)
        organisation = ensure_organisation(conn, "bench", "Benchmark council")
        retention.set_organisation_period(conn, "bench", organisation, "*", DAYS)
    database.dispose()
    return time.perf_counter() - started


def _settle(database: Database) -> None:
    """Start from a clean slate: PostgreSQL's dirty pages written, SQLite's WAL folded in."""
    if database.is_sqlite:  # outside a transaction
        with database.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    with database.begin() as conn:
        conn.execute(text("CHECKPOINT"))


def one_repeat(scratch: Scratch, n: int, args: argparse.Namespace, cutoff: datetime,
               now: datetime) -> tuple[float, float, float]:
    """Dry run, purge and baseline on fresh copies: their seconds."""
    expired_per_stream = args.per_stream - args.keep
    database = Database(scratch.copy(f"{scratch.name}_p{n}"))
    _settle(database)
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
    scratch.drop(f"{scratch.name}_p{n}")
    assert report.observations_expired == dry.observations_expired == (
        args.things * expired_per_stream), (report.observations_expired,
                                            dry.observations_expired)
    assert left == args.things * args.keep and stale == 0

    baseline = Database(scratch.copy(f"{scratch.name}_b{n}"))
    _settle(baseline)
    started = time.perf_counter()
    with baseline.begin() as conn:
        deleted = conn.execute(observations.delete().where(
            observations.c.phenomenon_time_start < cutoff)).rowcount
    baseline_seconds = time.perf_counter() - started
    baseline.dispose()
    scratch.drop(f"{scratch.name}_b{n}")
    assert deleted == report.observations_expired
    return dry_seconds, purge_seconds, baseline_seconds


DAYS = 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default=os.environ.get(
        "PLACEHUB_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/postgres"))
    parser.add_argument("--sqlite", type=Path, default=None, metavar="DIR",
                        help="run on SQLite files in DIR instead of PostgreSQL")
    parser.add_argument("--things", type=int, default=1000)
    parser.add_argument("--per-stream", type=int, default=11_000)
    parser.add_argument("--keep", type=int, default=1_000, help="newest rows kept per stream")
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=1, help="purge and baseline pairs")
    args = parser.parse_args()
    if args.sqlite is not None:
        args.sqlite.mkdir(parents=True, exist_ok=True)
    scratch = Scratch(None if args.sqlite else args.server, args.sqlite,
                      f"placehub_bench_retention_{os.getpid()}")
    cutoff = START + (args.per_stream - args.keep) * STEP
    now = cutoff + timedelta(days=DAYS)
    total = args.things * args.per_stream
    expired = args.things * (args.per_stream - args.keep)
    try:
        seconds = build(scratch, args.things, args.per_stream)
        print(f"generated {total:,} Observations in {args.things:,} Datastreams in "
              f"{seconds:.0f} s", flush=True)
        results = []
        for n in range(args.repeat):
            dry, purged, base = one_repeat(scratch, n, args, cutoff, now)
            results.append((dry, purged, base))
            print(f"repeat {n + 1}: dry run {dry:.1f} s, purge {purged:.1f} s, baseline "
                  f"{base:.1f} s (purge / baseline = {purged / base:.2f})", flush=True)
    finally:
        scratch.drop_all()
    dry, purged, base = (statistics.median(r[i] for r in results) for i in range(3))
    backend = "SQLite (file)" if args.sqlite else "PostgreSQL (local)"
    print(f"\nmachine: {os.cpu_count()} cores, {platform.machine()}, "
          f"Python {platform.python_version()}, {backend}")
    print(f"rows deleted: {expired:,} of {total:,}; medians of {len(results)} repeat(s)")
    print(f"  dry run (counts per Datastream)          {dry:8.1f} s")
    print(f"  placehub purge (batches of {args.batch:,}, "
          f"materialised kept)  {purged:8.1f} s  ({expired / purged:,.0f} rows/s)")
    print(f"  baseline: one plain DELETE               {base:8.1f} s  "
          f"(purge / baseline = {purged / base:.2f})")


if __name__ == "__main__":
    main()
