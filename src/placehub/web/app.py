"""The FastAPI application factory: wires settings, database, routes and error handling."""

from __future__ import annotations

import importlib
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse

from placehub import __version__
from placehub.config import Settings, load_settings
from placehub.db import Database
from placehub.errors import PlacehubError
from placehub.web import metrics

log = logging.getLogger(__name__)

# Modules that add routes: each has ``register(app: FastAPI) -> None``, and may have
# ``outermost(app)``, called once every module is registered, for middleware that must see
# requests before all the others do.
ROUTE_MODULES = [
    "placehub.access.api",
    "placehub.sta.api",
    "placehub.ingest.api",
    "placehub.places.api",
    "placehub.rounds.api",
    "placehub.alerts.api",
    "placehub.insight.api",
    "placehub.web.pages",
]


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
        with app.state.database.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return PlainTextResponse("ok")

    metrics.install(app)
    modules = [importlib.import_module(name) for name in ROUTE_MODULES]
    for module in modules:
        module.register(app)
    for module in modules:
        if hasattr(module, "outermost"):
            module.outermost(app)
    return app
