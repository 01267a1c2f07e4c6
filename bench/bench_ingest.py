"""Benchmark: TTS webhook ingest with 16 concurrent clients on SQLite, durable before each 2xx.

Runs a real `placehub serve` (uvicorn) on a temporary SQLite database and drives it with 16
keep-alive HTTP/1.1 connections from one asyncio client (a minimal client, so the load
generator is not the bottleneck on a 2-core machine). Beside it, in the same run, two
baselines of the journal alone: one commit per uplink (the naive way) and the group-commit
writer fed by 16 threads without HTTP.

    PYTHONPATH=src python bench/bench_ingest.py [--seconds 5] [--process]
    PYTHONPATH=src python bench/bench_ingest.py --compare main [--rounds 3] [--process]

``--compare REF`` measures the webhook path of this checkout against the code of git ref REF
(extracted with ``git archive`` into a temporary folder) in the same run: each round runs both
servers one after the other (alternating which goes first) on fresh databases prepared by their
own code, and the medians and the ratio this / REF are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
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
from tests.ingest.server import free_port, start_server, stop_processes  # noqa: E402

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


PREPARE = """
import sys
from placehub.access.requests import ANONYMOUS_WRITER
from placehub.db import Database
from placehub.ingest.devices import DeviceSpec, register_device
database = Database(sys.argv[1])
database.upgrade()
if sys.argv[2] == "register":
    with database.begin() as conn:
        for eui in sys.argv[3].split(","):
            register_device(conn, ANONYMOUS_WRITER,
                            DeviceSpec(eui, f"Bin {eui[-4:]}", "dragino-ldds75-bin", 52.67, -0.73))
database.dispose()
"""


def prepare(db_url: str, src: Path, register: bool) -> None:
    """Create (and with ``register`` fill) a database with the code under ``src``."""
    subprocess.run(
        [sys.executable, "-c", PREPARE, db_url, "register" if register else "-", ",".join(EUIS)],
        env={**os.environ, "PYTHONPATH": str(src)}, check=True,
    )


def serve_and_load(
    db_url: str, src: Path, payloads: list[bytes], seconds: float, process: bool
) -> dict[str, float]:
    """One server run: warm-up, measured load, and (with ``process``) the backlog time."""
    port = free_port()
    server = start_server(
        db_url, port, {"PLACEHUB_INGEST_PROCESS": "true" if process else "false"}, src=src)
    try:
        asyncio.run(http_load(port, payloads[:2000], 1.0))  # warm-up
        started = time.perf_counter()
        ok, latencies, errors = asyncio.run(http_load(port, payloads[2000:], seconds))
        elapsed = time.perf_counter() - started
        backlog = float("nan")
        if process:
            check = Database(db_url)
            load_end = time.perf_counter()
            while time.perf_counter() - load_end < 120:
                with check.connect() as conn:
                    pending = conn.exec_driver_sql(
                        "SELECT count(*) FROM ingest_journal WHERE status='pending'"
                    ).scalar()
                if not pending:
                    backlog = time.perf_counter() - load_end
                    break
                time.sleep(0.5)
            check.dispose()
    finally:
        stop_processes([server], timeout=20)
    return {
        "rate": ok / elapsed, "errors": float(errors),
        "median_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000, "backlog_s": backlog,
    }


def compare(ref: str, rounds: int, seconds: float, process: bool) -> None:
    """This checkout against ``ref``, alternating, on fresh databases; medians and ratios."""
    with tempfile.TemporaryDirectory() as folder:
        old_root = Path(folder) / "ref"
        old_root.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "src"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old_root)], input=archive, check=True)
        codes = {ref: old_root / "src", "this": REPO / "src"}
        payloads = bodies(0, int(seconds * 6000))
        results: dict[str, list[dict[str, float]]] = {name: [] for name in codes}
        for round_ in range(rounds):
            order = list(codes) if round_ % 2 == 0 else list(reversed(codes))
            for name in order:
                db_url = f"sqlite:///{Path(folder) / f'{name}-{round_}.sqlite3'}"
                prepare(db_url, codes[name], process)
                time.sleep(2.0)  # let the previous server's shutdown and the preparation settle
                result = serve_and_load(db_url, codes[name], payloads, seconds, process)
                results[name].append(result)
                print(f"round {round_ + 1} {name:>6}: {result['rate']:7.0f} uplinks/s, "
                      f"median {result['median_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
                      f"errors {result['errors']:.0f}"
                      + (f", backlog {result['backlog_s']:.1f} s" if process else ""),
                      flush=True)
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, "
          f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}")
    medians = {name: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
               for name, runs in results.items()}
    for name, median in medians.items():
        print(f"median {name:>6}: {median['rate']:7.0f} uplinks/s, median latency "
              f"{median['median_ms']:.1f} ms, p99 {median['p99_ms']:.1f} ms"
              + (f", backlog {median['backlog_s']:.1f} s" if process else ""))
    this, old = medians["this"], medians[ref]
    print(f"ratio of medians this / {ref}: rate {this['rate'] / old['rate']:.2f}, "
          f"p99 {this['p99_ms'] / old['p99_ms']:.2f}")
    # The machine's load drifts during a run: the ratio within each round (both servers one
    # after the other) is the steadier figure.
    paired = [t["rate"] / o["rate"] for t, o in zip(results["this"], results[ref], strict=True)]
    print(f"rate ratio within each round: {', '.join(f'{r:.2f}' for r in paired)}; "
          f"median {statistics.median(paired):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--process",
        action="store_true",
        help="also decode into Observations in the server while loading",
    )
    parser.add_argument("--compare", metavar="REF",
                        help="also measure the code of this git ref (e.g. main), same run")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.compare:
        compare(args.compare, args.rounds, args.seconds, args.process)
        return
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
            stop_processes([server], timeout=20)
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
