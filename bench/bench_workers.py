"""Benchmark: ingest through NATS JetStream with 1, 2 and 4 `placehub worker` processes on
PostgreSQL, beside the raw insert rate of Observations measured in the same run.

In a scratch PostgreSQL database with 200 registered LDDS75 bins, for each worker count:

1. a real `placehub serve` with ``PLACEHUB_NATS_URL`` takes ``--uplinks`` TTS webhooks from 16
   keep-alive connections; each is answered once JetStream has stored it (the rate printed is
   uplinks acknowledged per second);
2. the server stops and N `placehub worker` processes drain that backlog from the stream's
   durable consumer; the journal and Observation counts are read every 0.2 s and the rates are
   taken between 10 % and 90 % of the backlog (worker start-up is left out).

The baseline is the database alone: Observation rows of the same shape (a dedup key each) written
with binary COPY in transactions of the size one worker batch produces, by one connection.
A warm-up uplink per device runs first (Features of Interest created, code paths warm). Each
worker count gets a stream of its own on the NATS server, deleted at the end with the database.

    PYTHONPATH=src python bench/bench_workers.py [--uplinks 6000] [--workers 1,2,4]
        [--batch 200] [--nats nats://127.0.0.1:4222] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import nats
import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from tests.ingest.server import free_port, start_server, stop_processes  # noqa: E402

from bench_ingest import EUIS, START, bodies, http_load, prepare  # noqa: E402
from placehub.db.scratch import scratch_postgres  # noqa: E402
from placehub.sta.tables import RESULT_NUMBER  # noqa: E402


def worker_env(db_url: str, nats_url: str, stream: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO / "src"), "PLACEHUB_DATABASE_URL": db_url,
            "PLACEHUB_NATS_URL": nats_url, "PLACEHUB_NATS_STREAM": stream,
            "PLACEHUB_LOG_LEVEL": "warning"}


def counts(db_url: str) -> tuple[int, int]:
    """(journal entries, Observations) in the database."""
    with psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        journal = conn.execute("SELECT count(*) FROM ingest_journal").fetchone()
        stored = conn.execute("SELECT count(*) FROM observations").fetchone()
    assert journal is not None and stored is not None
    return int(journal[0]), int(stored[0])


def on_disk(db_url: str) -> tuple[int, int]:
    """Bytes (heap, TOAST, indexes) of the journal and of the Observations."""
    with psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("CHECKPOINT")
        row = conn.execute("SELECT pg_total_relation_size('ingest_journal'), "
                           "pg_total_relation_size('observations')").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def publish(db_url: str, nats_url: str, stream: str, payloads: list[bytes]) -> tuple[float, int]:
    """Post ``payloads`` to a NATS-backed `placehub serve`: (acknowledged per second, errors)."""
    port = free_port()
    server = start_server(db_url, port, {"PLACEHUB_NATS_URL": nats_url,
                                         "PLACEHUB_NATS_STREAM": stream}, timeout=180)
    try:
        started = time.perf_counter()
        ok, _latencies, errors = asyncio.run(http_load(port, payloads, 3600.0))
        elapsed = time.perf_counter() - started
    finally:
        stop_processes([server])
    return ok / elapsed, errors


def drain(db_url: str, nats_url: str, stream: str, workers: int, batch: int,
          expected: tuple[int, int], backlog: int) -> dict[str, float]:
    """Run ``workers`` worker processes until the journal holds ``expected[0] + backlog``
    entries; uplinks and Observations per second between 10 % and 90 % of the backlog."""
    base_journal, base_observations = expected
    processes = [subprocess.Popen(
        [sys.executable, "-m", "placehub", "worker", "--batch", str(batch)],
        env=worker_env(db_url, nats_url, stream), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL) for _ in range(workers)]
    samples: list[tuple[float, int, int]] = []
    try:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            journal, stored = counts(db_url)
            samples.append((time.perf_counter(), journal - base_journal,
                            stored - base_observations))
            if journal - base_journal >= backlog:
                break
            time.sleep(0.2)
    finally:
        stop_processes(processes)
    low = next(s for s in samples if s[1] >= 0.1 * backlog)
    high = next((s for s in samples if s[1] >= 0.9 * backlog), samples[-1])
    seconds = high[0] - low[0] or float("nan")  # one batch (the warm-up): no rate
    return {"uplinks_s": (high[1] - low[1]) / seconds,
            "observations_s": (high[2] - low[2]) / seconds,
            "stored": float(samples[-1][1]), "observations": float(samples[-1][2]),
            "seconds": seconds}


def baseline_copy(db_url: str, rows: int, per_transaction: int, first: int = 0) -> float:
    """Observations per second written with binary COPY, ``per_transaction`` rows a commit
    (numbered from ``first``, so every call writes new dedup keys)."""
    url = db_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        targets = conn.execute(
            "SELECT DISTINCT ON (datastream_id) datastream_id, feature_of_interest_id "
            "FROM observations ORDER BY datastream_id").fetchall()
        assert targets, "the warm-up wrote no Observations"
        started = time.perf_counter()
        written = 0
        while written < rows:
            with conn.cursor() as cursor, cursor.copy(
                "COPY observations (datastream_id, feature_of_interest_id, "
                "phenomenon_time_start, result_time, result_type, result_number, dedup_key) "
                "FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["int4", "int4", "timestamptz", "timestamptz", "int2", "float8",
                                "varchar"])
                for n in range(first + written, first + min(rows, written + per_transaction)):
                    datastream, feature = targets[n % len(targets)]
                    at = START + timedelta(days=400, seconds=n)
                    copy.write_row((datastream, feature, at, at, RESULT_NUMBER, float(n % 100),
                                    f"baseline:{n}"))
            conn.commit()
            written = min(rows, written + per_transaction)
        return rows / (time.perf_counter() - started)


async def delete_streams(nats_url: str, names: list[str]) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for name in names:
        for stream in (name, f"{name}_DEAD"):
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(stream)
    await nc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uplinks", type=int, default=6000, help="backlog per worker count")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--nats", default=os.environ.get("PLACEHUB_NATS_URL",
                                                         "nats://127.0.0.1:4222"))
    parser.add_argument("--postgres", default=os.environ.get(
        "PLACEHUB_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test"))
    args = parser.parse_args()
    worker_counts = [int(n) for n in args.workers.split(",")]
    db_url, drop = scratch_postgres(args.postgres, "placehub_bench_workers")
    names = [f"BENCHW{os.getpid()}N{n}" for n in ["warm", *worker_counts]]
    load = [os.getloadavg()[0]]
    try:
        prepare(db_url, REPO / "src", register=True)
        # Warm-up: one uplink per device, stored by one worker.
        publish(db_url, args.nats, names[0], bodies(0, len(EUIS)))
        warm = drain(db_url, args.nats, names[0], 1, args.batch, (0, 0), len(EUIS))
        per_uplink = warm["observations"] / warm["stored"]
        per_transaction = int(args.batch * per_uplink)
        baseline = baseline_copy(db_url, 40 * per_transaction, per_transaction)
        print(f"baseline: binary COPY of Observations, {per_transaction} rows a transaction: "
              f"{baseline:9.0f} Observations/s", flush=True)
        results: dict[int, dict[str, float]] = {}
        for index, workers in enumerate(worker_counts, start=1):
            payloads = bodies(index * 1_000_000, args.uplinks)
            before, size_before = counts(db_url), on_disk(db_url)
            acked, errors = publish(db_url, args.nats, names[index], payloads)
            result = drain(db_url, args.nats, names[index], workers, args.batch, before,
                           args.uplinks)
            # What this run's rows added on disk, per row (every run writes the same rows).
            grown = [after - size for after, size in zip(on_disk(db_url), size_before,
                                                         strict=True)]
            result["journal_bytes"] = grown[0] / result["stored"]
            result["observation_bytes"] = grown[1] / result["observations"]
            result["acked_s"], result["errors"] = acked, float(errors)
            results[workers] = result
            load.append(os.getloadavg()[0])
            print(f"{workers} worker(s): webhooks acknowledged {acked:6.0f} uplinks/s "
                  f"({errors} errors); stored {result['uplinks_s']:6.0f} uplinks/s, "
                  f"{result['observations_s']:7.0f} Observations/s "
                  f"({result['stored']:.0f} uplinks, {result['observations']:.0f} Observations)",
                  flush=True)
        baseline_after = baseline_copy(db_url, 40 * per_transaction, per_transaction,
                                       first=10_000_000)
    finally:
        asyncio.run(delete_streams(args.nats, names))
        drop()
    print(f"\nmachine: {os.cpu_count()} cores, {platform.machine()}, "
          f"Python {platform.python_version()}, PostgreSQL and NATS (one node) local; "
          f"load average {', '.join(f'{v:.1f}' for v in load)}")
    print(f"{per_uplink:.1f} Observations per uplink; worker batches of {args.batch} uplinks")
    print("on disk (heap and indexes, growth per row written): " + "; ".join(
        f"{r['observation_bytes']:.0f} bytes per Observation, {r['journal_bytes']:.0f} per "
        f"journal entry" for r in results.values()))
    print(f"baseline (binary COPY, same run): {baseline:.0f} Observations/s before, "
          f"{baseline_after:.0f} after")
    one = results[worker_counts[0]]
    print("workers  acked/s  uplinks/s  Observations/s  scaling  of baseline")
    for workers, result in results.items():
        print(f"{workers:7d}  {result['acked_s']:7.0f}  {result['uplinks_s']:9.0f}  "
              f"{result['observations_s']:14.0f}  "
              f"{result['observations_s'] / one['observations_s']:7.2f}  "
              f"{result['observations_s'] / baseline:10.2f}")


if __name__ == "__main__":
    main()
