"""The FastAPI application factory: wires settings, database, routes and error handling."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.exc import DataError, StatementError

from placehub import __version__
from placehub.access import api as access_api
from placehub.alerts import api as alerts_api
from placehub.assets import api as assets_api
from placehub.care import api as care_api
from placehub.config import Settings, load_settings
from placehub.db import Database
from placehub.db.outage import OutageLog, database_unavailable
from placehub.errors import BadRequest, PlacehubError
from placehub.governance import api as governance_api
from placehub.ingest import api as ingest_api
from placehub.ingest.processing import backlog_status
from placehub.insight import api as insight_api
from placehub.json_input import JsonBodyMiddleware
from placehub.places import api as places_api
from placehub.planning import api as planning_api
from placehub.reports import api as reports_api
from placehub.rounds import api as rounds_api
from placehub.sta import api as sta_api
from placehub.web import metrics, pages

log = logging.getLogger(__name__)
# What a 503 for an unavailable database asks clients to wait before trying again.
RETRY_AFTER_SECONDS = 5

# Each concern adds its routes with ``register(app)``. The ingest concern's ``outermost`` adds
# middleware that must see requests before all the others do, so it runs once all are in.
ROUTE_REGISTRARS = [access_api.register, sta_api.register, ingest_api.register,
                    places_api.register, assets_api.register, rounds_api.register,
                    alerts_api.register, insight_api.register, planning_api.register,
                    reports_api.register, governance_api.register, care_api.register,
                      pages.register]


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """A placehub app for ``settings``; pass ``database`` to share one (tests do)."""
    settings = settings or load_settings()
    app = FastAPI(
        title="placehub",
        version=__version__,
        openapi_url="/api/openapi.json",
        # /api/docs is a placehub page (web.views.docs): Swagger UI from its own files.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database or Database(settings.database_url)

    @app.exception_handler(PlacehubError)
    async def placehub_error(_request: Request, error: PlacehubError) -> JSONResponse:
        return JSONResponse(
            {"error": {"code": error.status_code, "message": error.message}},
            status_code=error.status_code, headers=error.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'/'.join(str(part) for part in e.get('loc', ()))}: {e.get('msg')}"
            for e in error.errors()
        ]
        return JSONResponse(
            {"error": {"code": 400, "message": "; ".join(problems) or "invalid request"}},
            status_code=400,
        )

    outages = OutageLog(interval=10.0)
    app.state.outages = outages

    async def as_placehub_error(request: Request, error: PlacehubError) -> Response:
        # Through whichever PlacehubError handler is installed last (pages answer with HTML).
        handler: Any = app.exception_handlers[PlacehubError]
        response: Response = await handler(request, error)
        return response

    @app.exception_handler(StatementError)
    async def statement_error(request: Request, error: StatementError) -> Response:
        # A column type refused a value (too long, NUL, lone surrogate): the message says which.
        if isinstance(error.orig, PlacehubError):
            return await as_placehub_error(request, error.orig)
        if database_unavailable(error):
            outages.note(error)
            return JSONResponse(
                {"error": {"code": 503, "message": "the database is not available just now: "
                                                   "try again shortly"}},
                status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        if isinstance(error, DataError):
            # PostgreSQL refused a value SQLite would have taken (out of range, bad text).
            reason = str(error.orig).strip().splitlines()[0]
            return await as_placehub_error(request, BadRequest(
                f"a value in the request cannot be stored or compared: {reason}"))
        raise error

    @app.exception_handler(OverflowError)
    async def overflow_error(request: Request, error: OverflowError) -> Response:
        # SQLite's driver refuses integers beyond 64 bits before the query runs.
        return await as_placehub_error(request, BadRequest(
            f"a number or time in the request is out of range ({error}): ids and counts are "
            "at most 9223372036854775807, times fall in the years 1-9999"))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        """ "ok", or "degraded: ..." (still 200: the server answers) when the ingest backlog
        is old or journal entries were quarantined."""
        with app.state.database.connect() as conn:
            status = backlog_status(conn, app.state.settings.ingest_backlog_degraded_seconds)
        return PlainTextResponse(status.describe())

    # Innermost of the middleware: JSON bodies are checked after sessions and before routes.
    app.add_middleware(JsonBodyMiddleware, prefixes=("/api/",))
    metrics.install(app)
    for register in ROUTE_REGISTRARS:
        register(app)
    ingest_api.outermost(app)
    return app
