"""The FastAPI application factory: wires settings, database, routes and error handling."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse

from placehub import __version__
from placehub.access import api as access_api
from placehub.alerts import api as alerts_api
from placehub.assets import api as assets_api
from placehub.config import Settings, load_settings
from placehub.db import Database
from placehub.errors import PlacehubError
from placehub.ingest import api as ingest_api
from placehub.ingest.processing import backlog_status
from placehub.insight import api as insight_api
from placehub.places import api as places_api
from placehub.rounds import api as rounds_api
from placehub.sta import api as sta_api
from placehub.web import metrics, pages

log = logging.getLogger(__name__)

# Each concern adds its routes with ``register(app)``. The ingest concern's ``outermost`` adds
# middleware that must see requests before all the others do, so it runs once all are in.
ROUTE_REGISTRARS = [access_api.register, sta_api.register, ingest_api.register,
                    places_api.register, assets_api.register, rounds_api.register,
                    alerts_api.register, insight_api.register, pages.register]


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """A placehub app for ``settings``; pass ``database`` to share one (tests do)."""
    settings = settings or load_settings()
    app = FastAPI(
        title="placehub",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
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

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        """ "ok", or "degraded: ..." (still 200: the server answers) when the ingest backlog
        is old or journal entries were quarantined."""
        with app.state.database.connect() as conn:
            status = backlog_status(conn, app.state.settings.ingest_backlog_degraded_seconds)
        return PlainTextResponse(status.describe())

    metrics.install(app)
    for register in ROUTE_REGISTRARS:
        register(app)
    ingest_api.outermost(app)
    return app
