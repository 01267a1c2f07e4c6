"""Benchmark: Observations partitioned by month against one table, 10 million rows, PostgreSQL.

Generates ``--things`` Datastreams with ``--per-stream`` Observations each, one every five
minutes from 2026-01-01 (defaults: 100 x 100,000 = 10 million rows over 347 days, twelve
months), bulk-loaded with ``bench/generate.py``. ``placehub.db.partitions.partition_observations``
then converts the table with ``keep_unpartitioned``, so the same rows sit in two tables of one
database: ``observations`` (by month) and ``observations_unpartitioned`` (the baseline), each
with its indexes. In the same run, alternating between the two tables:

- latest 100 of one Datastream (``ORDER BY phenomenon_time_start DESC, id DESC LIMIT 100``, as
  ``$orderby=phenomenonTime desc&$top=100`` reads them);
- one Datastream's 1-hour window (``phenomenon_time_start >= t AND < t + 1 h``);
- every Datastream's 1-hour window (no Datastream named: a dashboard's "last hour").

Each query runs ``--repeats`` times over random Datastreams and hours (same seed for both
tables); medians and the ratio partitioned / unpartitioned are printed. Then a past month is
dropped with ``placehub.db.partitions.drop_month`` (target under 1 s) beside the baseline, a
DELETE of the same month's rows from the unpartitioned table. Sizes on disk (table + indexes)
give the bytes per Observation. The scratch database is dropped at the end.

Usage: PYTHONPATH=src python bench/bench_partitions.py [--server URL] [--things 100]
       [--per-stream 100000] [--repeats 41]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta

import psycopg
from sqlalchemy import text

from generate import START, STEP, create_things, load_observations, set_materialised
from placehub.db import Database
from placehub.db.partitions import (
    drop_month,
    list_partitions,
    next_month,
    partition_observations,
)
from placehub.db.scratch import scratch_postgres

TABLES = ("observations", "observations_unpartitioned")
QUERIES = {
    "latest 100 of a Datastream":
        "SELECT id, phenomenon_time_start, result_number FROM {table} "
        "WHERE datastream_id = %(d)s ORDER BY phenomenon_time_start DESC, id DESC LIMIT 100",
    "1-hour window of a Datastream":
        "SELECT id, phenomenon_time_start, result_number FROM {table} "
        "WHERE datastream_id = %(d)s AND phenomenon_time_start >= %(t)s "
        "AND phenomenon_time_start < %(t)s + interval '1 hour' ORDER BY phenomenon_time_start",
    "1-hour window of every Datastream":
        "SELECT datastream_id, phenomenon_time_start, result_number FROM {table} "
        "WHERE phenomenon_time_start >= %(t)s "
        "AND phenomenon_time_start < %(t)s + interval '1 hour'",
}


def time_queries(raw: psycopg.Connection, streams: list[int], last: datetime, repeats: int,
                 seed: int) -> dict[str, dict[str, list[float]]]:
    """Seconds of every query on both tables; the two tables alternate run by run."""
    rng = random.Random(seed)
    span = int((last - START).total_seconds() // 3600) - 1
    params = [{"d": rng.choice(streams), "t": START + timedelta(hours=rng.randrange(span))}
              for _ in range(repeats)]
    times: dict[str, dict[str, list[float]]] = {q: {t: [] for t in TABLES} for q in QUERIES}
    for name, sql in QUERIES.items():
        for run, values in enumerate(params):
            for table in TABLES if run % 2 == 0 else reversed(TABLES):
                started = time.perf_counter()
                rows = raw.execute(sql.format(table=table), values).fetchall()
                times[name][table].append(time.perf_counter() - started)
                assert rows or name != "latest 100 of a Datastream"
    return times


def sizes(raw: psycopg.Connection) -> dict[str, int]:
    """Bytes on disk (heap, TOAST and indexes) of each table, partitions summed."""
    out = {}
    for table in TABLES:
        row = raw.execute(  # a plain table is no partition tree: its own size
            "SELECT coalesce((SELECT sum(pg_total_relation_size(relid)) "
            "FROM pg_partition_tree(%(t)s) WHERE isleaf), pg_total_relation_size(%(t)s))",
            {"t": table}).fetchone()
        assert row is not None
        out[table] = int(row[0])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default=os.environ.get(
        "PLACEHUB_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test"))
    parser.add_argument("--things", type=int, default=100)
    parser.add_argument("--per-stream", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=41)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    total = args.things * args.per_stream
    load = [os.getloadavg()[0]]
    url, drop = scratch_postgres(args.server, "placehub_bench_partitions")
    try:
        database = Database(url)
        database.upgrade()
        started = time.perf_counter()
        with database.begin() as conn:
            streams = create_things(conn, args.things, args.seed)
        load_observations(database, streams, args.per_stream, 1, args.seed,
                          lambda rows, message="": None)
        with database.begin() as conn:
            set_materialised(conn, streams, args.per_stream, 1)
        print(f"generated {total:,} Observations in {args.things} Datastreams in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        last = START + (args.per_stream - 1) * STEP
        started = time.perf_counter()
        with database.begin() as conn:
            partition_observations(conn, datetime.now(UTC), months_ahead=1,
                                   keep_unpartitioned=True)
        with database.begin() as conn:
            conn.execute(text("ANALYZE observations_unpartitioned"))
            partitions = list_partitions(conn)
        converted = time.perf_counter() - started
        print(f"partitioned into {len(partitions)} months in {converted:.0f} s", flush=True)
        load.append(os.getloadavg()[0])

        raw = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                              autocommit=True)
        ids = [s["datastream"] for s in streams]
        time_queries(raw, ids, last, 5, args.seed + 1)  # warm the caches of both tables
        times = time_queries(raw, ids, last, args.repeats, args.seed)
        on_disk = sizes(raw)
        load.append(os.getloadavg()[0])

        month = date(START.year, START.month, 1)
        end = datetime.combine(next_month(month), datetime.min.time(), UTC)
        with database.begin() as conn:
            conn.execute(text("CHECKPOINT"))
        started = time.perf_counter()
        with database.begin() as conn:
            dropped_estimate = drop_month(conn, month)
        drop_seconds = time.perf_counter() - started
        started = time.perf_counter()
        deleted = raw.execute("DELETE FROM observations_unpartitioned "
                              "WHERE phenomenon_time_start < %s", (end,)).rowcount
        delete_seconds = time.perf_counter() - started
        raw.close()
        database.dispose()
    finally:
        drop()
    load.append(os.getloadavg()[0])

    print(f"\nmachine: {os.cpu_count()} cores, {platform.machine()}, "
          f"Python {platform.python_version()}, PostgreSQL (local); load average "
          f"{', '.join(f'{v:.1f}' for v in load)}")
    print(f"{total:,} Observations, {args.things} Datastreams, {len(partitions)} month "
          f"partitions; medians of {args.repeats} runs (ms)")
    print(f"{'query':36s} {'partitioned':>12s} {'one table':>10s} {'ratio':>7s}")
    for name, by_table in times.items():
        partitioned = statistics.median(by_table[TABLES[0]]) * 1000
        single = statistics.median(by_table[TABLES[1]]) * 1000
        print(f"{name:36s} {partitioned:12.2f} {single:10.2f} {partitioned / single:7.2f}")
    print(f"drop a month ({month:%Y-%m}, ~{dropped_estimate:,} rows): {drop_seconds:.3f} s; "
          f"baseline DELETE of its {deleted:,} rows from one table: {delete_seconds:.1f} s "
          f"(ratio {drop_seconds / delete_seconds:.4f})")
    for table, size in on_disk.items():
        print(f"on disk, {table}: {size / 2**20:,.0f} MiB, {size / total:.0f} bytes per "
              "Observation (heap and indexes)")
    print(f"conversion of {total:,} rows by 'placehub db partition': {converted:.0f} s")


if __name__ == "__main__":
    main()
