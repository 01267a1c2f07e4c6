"""What the audit trail and /metrics cost per operation, each beside a baseline in the same run.

- metrics: the ASGI middleware around a trivial app (a 200 with a short body) against the bare
  app, and GET /healthz through the whole placehub app with and without the middleware;
- audit: a transaction that renames a Thing, with and without ``audit.record`` (what every
  SensorThings write now adds), on a throwaway SQLite file (WAL, synchronous commits).

Usage: python bench/bench_access.py [REQUESTS] [TRANSACTIONS]
"""

from __future__ import annotations

import asyncio
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, update

from placehub.access import audit, service
from placehub.config import load_settings
from placehub.db import Database
from placehub.sta.tables import things
from placehub.web.app import create_app
from placehub.web.metrics import Metrics, MetricsMiddleware


async def trivial_app(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app answering 200 "ok" at once, with a matched route in the scope."""
    scope["route"] = type("Route", (), {"path": "/healthz"})()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def time_asgi(app: Any, count: int) -> float:
    """Median microseconds per request of ``app`` over 5 runs of ``count`` requests."""

    async def run() -> float:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(_message: Any) -> None:
            return None

        started = time.perf_counter()
        for _ in range(count):
            await app({"type": "http", "method": "GET", "path": "/healthz"}, receive, send)
        return (time.perf_counter() - started) / count * 1e6

    return statistics.median(asyncio.run(run()) for _ in range(5))


def time_requests(clients: list[TestClient], count: int) -> list[float]:
    """Median microseconds per GET /healthz through each client; runs alternate between the
    clients (7 rounds) so load on the machine hits both alike."""
    runs: list[list[float]] = [[] for _ in clients]
    for _ in range(7):
        for index, client in enumerate(clients):
            started = time.perf_counter()
            for _ in range(count):
                client.get("/healthz")
            runs[index].append((time.perf_counter() - started) / count * 1e6)
    return [statistics.median(r) for r in runs]


def time_transactions(database: Database, thing: int, count: int,
                      variants: list[Callable[[Any, int], None]]) -> list[float]:
    """Median milliseconds per committed rename of a Thing plus each variant's extra work;
    7 alternating rounds."""
    runs: list[list[float]] = [[] for _ in variants]
    for _ in range(7):
        for index, extra in enumerate(variants):
            started = time.perf_counter()
            for n in range(count):
                with database.begin() as conn:
                    conn.execute(update(things).where(things.c.id == thing)
                                 .values(name=f"bin {n}"))
                    extra(conn, n)
            runs[index].append((time.perf_counter() - started) / count * 1e3)
    return [statistics.median(r) for r in runs]


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    transactions = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        database.upgrade()
        settings = load_settings(environ={}, database_url=database.url, secret_key="bench")

        bare = time_asgi(trivial_app, requests * 10)
        wrapped = time_asgi(MetricsMiddleware(trivial_app, Metrics(database)), requests * 10)

        plain_app = create_app(settings, database=database)
        plain_app.user_middleware = [m for m in plain_app.user_middleware
                                     if m.cls is not MetricsMiddleware]
        with TestClient(create_app(settings, database=database)) as measured, \
                TestClient(plain_app) as plain_client:
            with_metrics, without_metrics = time_requests([measured, plain_client], requests)

        with database.begin() as conn:
            org = service.create_organisation(conn, "rutland", "Rutland County Council")
            thing = conn.execute(insert(things).values(
                name="bin", description="litter bin", organisation_id=org,
                visibility="public", properties={})).inserted_primary_key[0]

        def no_audit(_conn: Any, _n: int) -> None:
            return None

        def with_audit(conn: Any, n: int) -> None:
            audit.record(conn, "bench", "update", "Thing", thing, {"members": ["name"]},
                         organisation_id=org)

        audited, plain = time_transactions(database, thing, transactions,
                                           [with_audit, no_audit])
        database.dispose()

    print(f"machine: {platform.machine()}, Python {platform.python_version()}, SQLite")
    print("| what | placehub | baseline | ratio |")
    print("|---|---|---|---|")
    print(f"| metrics middleware, trivial ASGI app (µs/request) | {wrapped:.1f} | {bare:.1f} "
          f"| {wrapped / bare:.2f} |")
    print(f"| GET /healthz through the app (µs/request) | {with_metrics:.0f} | "
          f"{without_metrics:.0f} | {with_metrics / without_metrics:.2f} |")
    print(f"| rename a Thing + commit (ms/transaction) | {audited:.2f} | {plain:.2f} | "
          f"{audited / plain:.2f} |")


if __name__ == "__main__":
    main()
