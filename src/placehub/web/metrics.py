"""Prometheus metrics at ``/metrics``: requests by route template and status, and write counts.

Per request the cost is a few label lookups and increments (a plain ASGI middleware, no
``BaseHTTPMiddleware``); everything else is counted from events or read when scraped.
Each app has its own registry, so several apps in one process (tests) do not collide. With
several worker processes each reports its own figures; scrape them separately.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from placehub import __version__
from placehub.db import Database
from placehub.lifespan import while_serving

# The `_created` series double the output and no dashboard here uses them.
disable_created_metrics()

# Label for requests no route matched: keeps the label set bounded whatever URLs are tried.
UNMATCHED = "<unmatched>"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The metrics of one app, on their own registry."""

    def __init__(self, database: Database) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.requests = Counter(
            "placehub_http_requests", "HTTP requests answered, by route template and status.",
            ["method", "route", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "placehub_http_request_duration_seconds",
            "Time to answer HTTP requests, by route template and status.",
            ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.in_progress = Gauge(
            "placehub_http_requests_in_progress", "HTTP requests being answered now.",
            registry=self.registry,
        )
        self.observations_written = Counter(
            "placehub_observations_written",
            "Observations stored by this process (all write paths).",
            registry=self.registry,
        )
        self.things_changed = Counter(
            "placehub_things_changed", "Things created, updated or deleted by this process.",
            registry=self.registry,
        )
        pool = Gauge(
            "placehub_database_connections_in_use",
            "Database connections checked out of the pool.", registry=self.registry,
        )
        pool.set_function(lambda: _checked_out(database))
        info = Gauge("placehub_build_info", "placehub version and database dialect.",
                     ["version", "database"], registry=self.registry)
        info.labels(__version__, database.dialect).set(1)

    def note(self, method: str, route: str, status: int, elapsed: float) -> None:
        """Count one answered request and its time."""
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(elapsed)

    def count_observations(self, written: Any) -> None:
        """Event subscriber for ``observations.written``."""
        self.observations_written.inc(len(written))

    def count_things(self, thing_ids: Any) -> None:
        """Event subscriber for ``things.changed``."""
        self.things_changed.inc(len(thing_ids))

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)


def _checked_out(database: Database) -> float:
    """Connections in use, where the pool can tell (0 otherwise)."""
    checked_out = getattr(database.engine.pool, "checkedout", None)
    return float(checked_out()) if callable(checked_out) else 0.0


class MetricsMiddleware:
    """Times every HTTP request and counts it by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets if the app fails before answering

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        metrics = self.metrics
        metrics.in_progress.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            elapsed = time.perf_counter() - started
            metrics.in_progress.dec()
            # The router leaves the matched route in the scope; its path is the template.
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            metrics.note(scope["method"], route, status, elapsed)


def install(app: FastAPI) -> Metrics:
    """Add the middleware, ``GET /metrics`` and the event subscriptions (for the app's life)."""
    database: Database = app.state.database
    metrics = Metrics(database)
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    # Subscribed only while the app runs, so apps sharing a Database do not pile up.
    topics = (("observations.written", metrics.count_observations),
              ("things.changed", metrics.count_things))

    def start(_: Any) -> None:
        for topic, listener in topics:
            database.events.subscribe(topic, listener)

    def stop(_: Any) -> None:
        for topic, listener in topics:
            database.events.unsubscribe(topic, listener)

    while_serving(app, start, stop)
    return metrics
