"""Benchmark: webhook latency while people sign in and while a long round plan is solved.

Runs a real `placehub serve` (uvicorn, SQLite) on a small Rutland demo and posts TTS uplinks at
a steady rate from a few keep-alive connections, measuring each acknowledgement. Three phases
in the same run: the webhooks alone (the baseline), with a flood of sign-ins (password
guesses from ever new addresses for made-up and real usernames, so every one costs a full
scrypt hash: the case throttling cannot turn away), and while a 45 s round plan is being
solved. Target: the p99 of each loaded phase within 2x of the baseline's.

    PYTHONPATH=src python bench/bench_webhook_latency.py [--seconds 15] [--plan-seconds 45]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from tests.ingest.messages import ldds75, tts_uplink  # noqa: E402
from tests.ingest.server import free_port, start_server, stop_processes  # noqa: E402

from placehub.access import service  # noqa: E402
from placehub.config import load_settings  # noqa: E402
from placehub.db import Database  # noqa: E402
from placehub.demo.build import ORGANISATION_SLUG, build_demo  # noqa: E402

WEBHOOK_CLIENTS = 4
WEBHOOK_INTERVAL = 0.025  # seconds between one client's uplinks: 160 uplinks/s in all
FLOOD_CLIENTS = 8
PASSWORD = "correct horse battery"
START = datetime(2026, 11, 1, tzinfo=UTC)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def webhooks(port: int, seconds: float, offset: int) -> list[float]:
    """Paced uplinks from WEBHOOK_CLIENTS keep-alive connections; each acknowledgement's time."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    counter = offset

    async def client() -> None:
        nonlocal counter
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        next_at = time.perf_counter()
        while time.perf_counter() < deadline:
            counter += 1
            eui = f"A8404100FF{counter % 500:06X}"
            body = json.dumps(tts_uplink(eui, ldds75(200 + counter % 700), counter // 500 + 1,
                                         at=START + timedelta(seconds=counter))).encode()
            request = (b"POST /ingest/ttn HTTP/1.1\r\nHost: bench\r\nContent-Type: "
                       b"application/json\r\nContent-Length: " + str(len(body)).encode()
                       + b"\r\n\r\n" + body)
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"webhook answered {head[:40]!r}")
            latencies.append(time.perf_counter() - started)
            next_at += WEBHOOK_INTERVAL
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        writer.close()

    await asyncio.gather(*(client() for _ in range(WEBHOOK_CLIENTS)))
    return latencies


async def sign_in_flood(port: int, stop: asyncio.Event) -> int:
    """FLOOD_CLIENTS attackers guessing passwords of made-up and real usernames, each request
    from a different address (X-Forwarded-For through the trusted local proxy), so throttling
    by address does not turn them away and every guess costs a full scrypt hash."""
    count = 0

    async def attacker(number: int) -> None:
        nonlocal count
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            page = (await http.get("/login")).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            while not stop.is_set():
                count += 1
                address = f"10.{number}.{count // 250 % 250}.{count % 250 + 1}"
                answer = await http.post("/login", headers={"X-Forwarded-For": address}, data={
                    "username": f"user{count}" if count % 2 else "officer",
                    "password": f"guess-{count}", "csrf_token": token})
                if answer.status_code not in {400, 429}:
                    raise RuntimeError(f"sign-in answered {answer.status_code}")

    tasks = [asyncio.create_task(attacker(n)) for n in range(FLOOD_CLIENTS)]
    await stop.wait()
    await asyncio.gather(*tasks)
    return count


async def with_flood(port: int, seconds: float, offset: int) -> tuple[list[float], int]:
    stop = asyncio.Event()
    flood = asyncio.create_task(sign_in_flood(port, stop))
    await asyncio.sleep(1.0)  # the flood under way first
    latencies = await webhooks(port, seconds, offset)
    stop.set()
    return latencies, await flood


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument("--plan-seconds", type=float, default=45.0, help="solver time asked")
    parser.add_argument("--per-type", type=int, default=120, help="demo assets of each type")
    args = parser.parse_args()
    data_dir = os.environ.get("PLACEHUB_DATA_DIR", str(REPO.parent / "shared" / "data"))
    with tempfile.TemporaryDirectory() as folder:
        db_url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        roads = Path(folder) / "roads.npz"
        settings = load_settings(database_url=db_url, data_dir=data_dir,
                                 road_network_file=str(roads))
        database = Database(db_url)
        database.upgrade()
        build_demo(database, settings, per_type=args.per_type, history_days=3,
                   now=datetime.now(UTC) - timedelta(hours=1))
        with database.begin() as conn:
            council = service.organisation_id(conn, ORGANISATION_SLUG)
            officer = service.create_user(conn, "officer", password=PASSWORD)
            service.grant_role(conn, officer, council, "editor")
        database.dispose()
        port = free_port()
        server = start_server(db_url, port, {
            "PLACEHUB_DATA_DIR": data_dir, "PLACEHUB_ROAD_NETWORK_FILE": str(roads),
            "PLACEHUB_INGEST_PROCESS": "false", "PLACEHUB_ROUNDS_MAX_RUNTIME_SECONDS": "60",
            "PLACEHUB_SIGNIN_ADDRESS_ATTEMPTS": "20"})
        try:
            asyncio.run(webhooks(port, 2.0, 0))  # warm-up, the sign-in page's templates too
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=60)
            alone = asyncio.run(webhooks(port, args.seconds, 100_000))
            flooded, sign_ins = asyncio.run(with_flood(port, args.seconds, 200_000))

            plan: dict[str, object] = {}

            def plan_round() -> None:
                started = time.perf_counter()
                tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
                response = httpx.post(f"http://127.0.0.1:{port}/api/rounds/plans", json={
                    "service": "waste", "date": tomorrow, "runtime_seconds": args.plan_seconds},
                    timeout=300)
                plan.update(status=response.status_code, seconds=time.perf_counter() - started,
                            stops=sum(len(v["stops"]) for v in response.json()["vehicles"])
                            if response.status_code == 201 else response.text[:200])

            planner = threading.Thread(target=plan_round)
            planner.start()
            time.sleep(3.0)  # past reading and forecasting, into the solve
            planning = asyncio.run(webhooks(port, min(args.seconds, args.plan_seconds - 10),
                                            300_000))
            still_solving = planner.is_alive()
            planner.join()
        finally:
            stop_processes([server], timeout=30)

    def line(name: str, values: list[float]) -> str:
        p50, p99 = statistics.median(values), percentile(values, 0.99)
        return (f"{name:<34} {len(values):>6} uplinks  p50 {p50 * 1000:7.1f} ms  "
                f"p99 {p99 * 1000:7.1f} ms  p99/baseline {p99 / percentile(alone, 0.99):5.2f}x")

    print(f"webhook latency, {WEBHOOK_CLIENTS} clients x {1 / WEBHOOK_INTERVAL:.0f}/s each, "
          f"SQLite, {platform.machine()} {os.cpu_count()} cores, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(line("alone (baseline)", alone))
    print(line("with a sign-in flood", flooded))
    print(line(f"while a {args.plan_seconds:g} s plan solves", planning))
    print(f"sign-in attempts answered during the flood phase: {sign_ins} "
          f"({sign_ins / (args.seconds + 1):.1f}/s)")
    print(f"round plan: status {plan.get('status')}, {plan.get('seconds', 0):.1f} s, "
          f"stops {plan.get('stops')}; still solving when measuring ended: {still_solving}")


if __name__ == "__main__":
    main()
