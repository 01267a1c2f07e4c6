"""Benchmark: Observations partitioned by month against one table, 10 million rows, PostgreSQL.

Generates ``--things`` Datastreams with ``--per-stream`` Observations each, one every five
minutes from 2026-01-01 (defaults: 100 x 100,000 = 10 million rows over 347 days, twelve
months), bulk-loaded with ``bench/generate.py``, then copies that database (PostgreSQL's
``CREATE DATABASE ... TEMPLATE``). ``placehub.db.partitions.partition_observations`` converts
the first one with ``keep_unpartitioned``, so it holds the rows twice: ``observations`` (by
month) and ``observations_unpartitioned``; the copy keeps one table and is the baseline.

Reads, the two sides alternating run by run, random Datastreams and hours (same seed for both):

- **as SQL** on the two tables of the first database, in the shape placehub's SensorThings layer
  sends them: the latest 100 of one Datastream (``$orderby=phenomenonTime desc&$top=100``; on
  the partitioned table from the month of the Datastream's latest reading first, as a literal,
  and from every month only when that month holds fewer); one Datastream's 1-hour window (the
  two bounds as parameters, as a ``$filter`` on phenomenonTime compiles); every Datastream's
  1-hour window (a dashboard's "last hour");
- **through the SensorThings API** (FastAPI's TestClient, the whole request) on the
  partitioned database against the copy: ``Datastreams(id)/Observations?$top=100&$orderby=
  phenomenonTime desc`` and the same Datastream's 1-hour ``$filter``.

Medians and the ratio partitioned / one table are printed. Then a past month is dropped with
``placehub.db.partitions.drop_month`` (target under 1 s) beside the baseline, a DELETE of the
same month's rows from the unpartitioned table. Sizes on disk (table + indexes) give the bytes
per Observation. The scratch databases are dropped at the end.

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
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import text

from generate import START, STEP, create_things, load_observations, set_materialised
from placehub.config import load_settings
from placehub.db import Database
from placehub.db.partitions import (
    drop_month,
    list_partitions,
    next_month,
    partition_observations,
)
from placehub.db.scratch import scratch_postgres
from placehub.web.app import create_app

TABLES = ("observations", "observations_unpartitioned")
_COLUMNS = "SELECT id, phenomenon_time_start, result_number FROM {table} "
_NEWEST_FIRST = " ORDER BY phenomenon_time_start DESC, id DESC LIMIT 101"
QUERIES = {
    "latest 100 of a Datastream":
        _COLUMNS + "WHERE datastream_id = %(d)s{month}" + _NEWEST_FIRST,
    "1-hour window of a Datastream":
        _COLUMNS + "WHERE datastream_id = %(d)s AND phenomenon_time_start >= %(t)s "
        "AND phenomenon_time_start < %(u)s ORDER BY phenomenon_time_start, id LIMIT 101",
    "1-hour window of every Datastream":
        "SELECT datastream_id, phenomenon_time_start, result_number FROM {table} "
        "WHERE phenomenon_time_start >= %(t)s AND phenomenon_time_start < %(u)s",
}
API_QUERIES = {
    "API: latest 100 of a Datastream":
        "Datastreams({d})/Observations?$top=100&$orderby=phenomenonTime desc",
    "API: 1-hour window of a Datastream":
        "Datastreams({d})/Observations?$filter=phenomenonTime ge {t} and phenomenonTime lt {u}",
}


def _read(raw: psycopg.Connection, name: str, table: str, values: dict[str, Any],
          newest_month: dict[int, datetime]) -> list[Any]:
    """One query as placehub sends it to ``table`` (month first on the partitioned one)."""
    sql = QUERIES[name]
    if name.startswith("latest") and table == TABLES[0]:
        month = f" AND phenomenon_time_start >= '{newest_month[values['d']].isoformat()}'"
        rows = raw.execute(sql.format(table=table, month=month), values).fetchall()
        if len(rows) > 100:
            return rows
    return raw.execute(sql.format(table=table, month=""), values).fetchall()


def _params(streams: list[int], last: datetime, repeats: int, seed: int
            ) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    span = int((last - START).total_seconds() // 3600) - 1
    out = []
    for _ in range(repeats):
        hour = START + timedelta(hours=rng.randrange(span))
        out.append({"d": rng.choice(streams), "t": hour, "u": hour + timedelta(hours=1)})
    return out


def time_queries(raw: psycopg.Connection, streams: list[int], last: datetime, repeats: int,
                 seed: int) -> dict[str, dict[str, list[float]]]:
    """Seconds of every query on both tables; the two tables alternate run by run."""
    newest_month = {d: datetime(m.year, m.month, 1, tzinfo=UTC) for d, m in raw.execute(
        "SELECT id, latest_phenomenon_time FROM datastreams WHERE id = ANY(%s)",
        (streams,)).fetchall()}
    times: dict[str, dict[str, list[float]]] = {q: {t: [] for t in TABLES} for q in QUERIES}
    for name in QUERIES:
        for run, values in enumerate(_params(streams, last, repeats, seed)):
            for table in TABLES if run % 2 == 0 else reversed(TABLES):
                started = time.perf_counter()
                rows = _read(raw, name, table, values, newest_month)
                times[name][table].append(time.perf_counter() - started)
                assert rows or name != "latest 100 of a Datastream"
    return times


def time_api(partitioned: TestClient, single: TestClient, streams: list[int], last: datetime,
             repeats: int, seed: int) -> dict[str, dict[str, list[float]]]:
    """Seconds of each SensorThings request on the partitioned database and on the copy."""
    sides = {TABLES[0]: partitioned, TABLES[1]: single}
    times: dict[str, dict[str, list[float]]] = {q: {t: [] for t in TABLES} for q in API_QUERIES}
    for name, path in API_QUERIES.items():
        for run, values in enumerate(_params(streams, last, repeats, seed)):
            url = "/sta/v1.1/" + path.format(
                d=values["d"], t=f"{values['t']:%Y-%m-%dT%H:%M:%SZ}",
                u=f"{values['u']:%Y-%m-%dT%H:%M:%SZ}")
            answers = []
            for side in TABLES if run % 2 == 0 else tuple(reversed(TABLES)):
                started = time.perf_counter()
                answer = sides[side].get(url)
                times[name][side].append(time.perf_counter() - started)
                assert answer.status_code == 200, answer.text
                answers.append(answer.json()["value"])
            assert answers[0] == answers[1], f"{url} answered differently"
    return times


def _app(database: Database) -> Any:
    return create_app(load_settings(environ={}, database_url=database.url, secret_key="bench"),
                      database=database)


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
    drops = [drop]
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
        database.dispose()
        copy_url, drop_copy = scratch_postgres(args.server, "placehub_bench_one_table",
                                               template=url)
        drops.append(drop_copy)
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
        copy = Database(copy_url)
        with copy.begin() as conn:
            conn.execute(text("ANALYZE observations"))
        load.append(os.getloadavg()[0])

        raw = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                              autocommit=True)
        ids = [s["datastream"] for s in streams]
        time_queries(raw, ids, last, 5, args.seed + 1)  # warm the caches of both tables
        times = time_queries(raw, ids, last, args.repeats, args.seed)
        with (TestClient(_app(database)) as partitioned,
              TestClient(_app(copy)) as single):
            time_api(partitioned, single, ids, last, 5, args.seed + 1)
            times |= time_api(partitioned, single, ids, last, args.repeats, args.seed)
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
        copy.dispose()
    finally:
        for dropper in reversed(drops):
            dropper()
    load.append(os.getloadavg()[0])

    print(f"\nmachine: {os.cpu_count()} cores, {platform.machine()}, "
          f"Python {platform.python_version()}, PostgreSQL (local); load average "
          f"{', '.join(f'{v:.1f}' for v in load)}")
    print(f"{total:,} Observations, {args.things} Datastreams, {len(partitions)} month "
          f"partitions; medians of {args.repeats} runs (ms)")
    print(f"{'query':36s} {'partitioned':>12s} {'one table':>10s} {'ratio':>7s} "
          f"{'quartiles partitioned / one table':>36s}")
    for name, by_table in times.items():
        partitioned = statistics.median(by_table[TABLES[0]]) * 1000
        single = statistics.median(by_table[TABLES[1]]) * 1000
        spread = " / ".join(
            "-".join(f"{q * 1000:.2f}" for q in statistics.quantiles(by_table[t], n=4)[::2])
            for t in TABLES)
        print(f"{name:36s} {partitioned:12.2f} {single:10.2f} {partitioned / single:7.2f} "
              f"{spread:>36s}")
    print(f"drop a month ({month:%Y-%m}, ~{dropped_estimate:,} rows): {drop_seconds:.3f} s; "
          f"baseline DELETE of its {deleted:,} rows from one table: {delete_seconds:.1f} s "
          f"(ratio {drop_seconds / delete_seconds:.4f})")
    for table, size in on_disk.items():
        print(f"on disk, {table}: {size / 2**20:,.0f} MiB, {size / total:.0f} bytes per "
              "Observation (heap and indexes)")
    print(f"conversion of {total:,} rows by 'placehub db partition': {converted:.0f} s")


if __name__ == "__main__":
    main()
