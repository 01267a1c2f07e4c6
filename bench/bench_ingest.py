"""Benchmark: TTS webhook ingest with 16 concurrent clients on SQLite, durable before each 2xx.

Runs a real `placehub serve` (uvicorn) on a temporary SQLite database and drives it with 16
keep-alive HTTP/1.1 connections from one asyncio client (a minimal client, so the load
generator is not the bottleneck on a 2-core machine). Beside it, in the same run, two
baselines of the journal alone: one commit per uplink (the naive way) and the group-commit
writer fed by 16 threads without HTTP.

    PYTHONPATH=src python bench/bench_ingest.py [--seconds 5] [--process]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from tests.ingest.messages import ldds75, tts_uplink  # noqa: E402
from tests.ingest.server import free_port, start_server  # noqa: E402

from placehub.access.requests import ANONYMOUS_WRITER  # noqa: E402
from placehub.db import Database  # noqa: E402
from placehub.ingest.adapters import parse_message  # noqa: E402
from placehub.ingest.devices import DeviceSpec, register_device  # noqa: E402
from placehub.ingest.journal import JournalWriter, write_entries  # noqa: E402

CLIENTS = 16
DEVICES = 200
EUIS = [f"A840410001{i:06X}" for i in range(DEVICES)]
START = datetime(2026, 11, 1, tzinfo=UTC)


def bodies(offset: int, count: int) -> list[bytes]:
    """Distinct uplinks (device round-robin, increasing f_cnt) as JSON bytes."""
    out = []
    for n in range(offset, offset + count):
        eui = EUIS[n % DEVICES]
        f_cnt = n // DEVICES + 1
        out.append(
            json.dumps(
                tts_uplink(eui, ldds75(200 + n % 700), f_cnt, at=START + timedelta(seconds=n))
            ).encode()
        )
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def http_load(
    port: int, payloads: list[bytes], seconds: float
) -> tuple[int, list[float], int]:
    """16 keep-alive connections posting until time is up; returns (ok, latencies, errors)."""
    latencies: list[float] = []
    ok = errors = 0
    next_index = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal ok, errors, next_index
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline and next_index < len(payloads):
            body = payloads[next_index]
            next_index += 1
            request = (
                b"POST /ingest/ttn HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if head.startswith(b"HTTP/1.1 200"):
                ok += 1
            else:
                errors += 1
        writer.close()

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return ok, latencies, errors


def baseline_one_commit_each(db_url: str, count: int) -> float:
    """Uplinks per second storing each in its own transaction."""
    database = Database(db_url)
    entries = [
        parse_message("tts", json.loads(b), transport="baseline") for b in bodies(10_000_000, count)
    ]
    started = time.perf_counter()
    for entry in entries:
        with database.begin() as conn:
            write_entries(conn, [entry])
    elapsed = time.perf_counter() - started
    database.dispose()
    return count / elapsed


def baseline_group_commit(db_url: str, count: int) -> float:
    """Uplinks per second through the group-commit writer, 16 submitting threads, no HTTP."""
    database = Database(db_url)
    writer = JournalWriter(database)
    entries = [
        parse_message("tts", json.loads(b), transport="baseline") for b in bodies(20_000_000, count)
    ]
    chunks = [entries[i::CLIENTS] for i in range(CLIENTS)]

    def submit(chunk: list) -> None:  # type: ignore[type-arg]
        for entry in chunk:
            writer.submit(entry).result()

    threads = [threading.Thread(target=submit, args=(c,)) for c in chunks]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    writer.stop()
    database.dispose()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--process",
        action="store_true",
        help="also decode into Observations in the server while loading",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db_url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        database = Database(db_url)
        database.upgrade()
        if args.process:
            with database.begin() as conn:
                for eui in EUIS:
                    register_device(
                        conn,
                        ANONYMOUS_WRITER,
                        DeviceSpec(eui, f"Bin {eui[-4:]}", "dragino-ldds75-bin", 52.67, -0.73),
                    )
        database.dispose()
        # Baselines in a database of their own, so the server's worker has only the webhook
        # uplinks to process.
        baseline_url = f"sqlite:///{Path(folder) / 'baseline.sqlite3'}"
        Database(baseline_url).upgrade()
        naive = baseline_one_commit_each(baseline_url, 2000)
        grouped = baseline_group_commit(baseline_url, 20000)
        payloads = bodies(0, int(args.seconds * 6000))
        port = free_port()
        server = start_server(
            db_url, port, {"PLACEHUB_INGEST_PROCESS": "true" if args.process else "false"})
        try:
            asyncio.run(http_load(port, payloads[:2000], 1.0))  # warm-up
            started = time.perf_counter()
            ok, latencies, errors = asyncio.run(http_load(port, payloads[2000:], args.seconds))
            elapsed = time.perf_counter() - started
            backlog_seconds = None
            if args.process:
                # How long the in-process worker needs to turn the backlog into Observations.
                check = Database(db_url)
                load_end = time.perf_counter()
                while time.perf_counter() - load_end < 120:
                    with check.connect() as conn:
                        pending = conn.exec_driver_sql(
                            "SELECT count(*) FROM ingest_journal WHERE status='pending'"
                        ).scalar()
                    if not pending:
                        backlog_seconds = time.perf_counter() - load_end
                        break
                    time.sleep(1.0)
                check.dispose()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=20)
        database = Database(db_url)
        with database.connect() as conn:
            stored = conn.exec_driver_sql("SELECT count(*) FROM ingest_journal").scalar()
        database.dispose()
    rate = ok / elapsed
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    )
    print(f"baseline, one commit per uplink (journal only):   {naive:8.0f} uplinks/s")
    print(f"baseline, group commit, 16 threads (no HTTP):    {grouped:8.0f} uplinks/s")
    print(
        f"webhook, 16 clients, uvicorn, processing {'on ' if args.process else 'off'}:  "
        f"{rate:8.0f} uplinks/s "
        f"({ok} ok, {errors} errors, {stored} in the journal incl. warm-up)"
    )
    print(
        f"latency: median {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )
    if args.process:
        print(
            f"backlog turned into Observations {backlog_seconds:.1f} s after the load stopped"
            if backlog_seconds is not None
            else "backlog not processed within 120 s"
        )
    print(
        f"ratios: webhook / naive = {rate / naive:.1f}x, "
        f"webhook / group-commit ceiling = {rate / grouped:.2f}"
    )


if __name__ == "__main__":
    main()
