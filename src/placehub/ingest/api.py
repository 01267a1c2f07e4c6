"""HTTP routes of placehub.ingest: the network-server webhooks and the devices / dead-letter API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from placehub.access.requests import current_principal
from placehub.access.service import Principal
from placehub.config import is_loopback
from placehub.errors import BadRequest, PlacehubError, Unauthorized
from placehub.ingest import deadletters
from placehub.ingest.adapters import parse_message
from placehub.ingest.devices import DeviceSpec, device_health, readable_devices, register_device
from placehub.ingest.journal import StoredOutcome
from placehub.ingest.service import IngestService
from placehub.json_input import parse_json
from placehub.lifespan import while_serving
from placehub.sta.writes import WriteEvents
from placehub.web.metrics import Metrics
from placehub.web.security import API_SECURITY_HEADERS


def service_of(app: FastAPI) -> IngestService:
    """The app's ingest service, created and started on first use."""
    service = getattr(app.state, "ingest", None)
    if service is None:
        service = IngestService(app.state.database, app.state.settings)
        app.state.ingest = service
    service.start()
    return service


def _accept(
    app: FastAPI, network: str, event: str, headers: Mapping[str, str], raw: bytes
) -> Future[StoredOutcome]:
    """Check the credentials, parse the message and hand it to the journal writer.

    Raises a PlacehubError that says what to fix when the request is not an acceptable uplink.
    """
    service = service_of(app)
    settings = app.state.settings
    if service.authenticator.check(network, headers) is None:
        has_credentials = "authorization" in headers or "x-placehub-secret" in headers
        if has_credentials or not (settings.anonymous_write and is_loopback(settings.host)):
            raise Unauthorized(
                "webhook credentials missing or wrong: send the Basic auth user and password or "
                "the X-Placehub-Secret header of an integration ('placehub ingest integrations "
                "add')"
            )
    try:
        body = parse_json(raw)
    except BadRequest as error:
        raise BadRequest(f"{error.message}; send the network server's JSON message "
                         "unchanged") from None
    entry = parse_message(network, body, event, "webhook", datetime.now(UTC))
    return service.writer.submit(entry)


def _acknowledgement(outcome: StoredOutcome) -> dict[str, Any]:
    return {
        "journal_id": outcome.journal_id,
        "duplicate": outcome.duplicate,
        "counter_reset": outcome.counter_reset,
    }


async def _webhook(request: Request, network: str, event: str) -> JSONResponse:
    stored = _accept(request.app, network, event, request.headers, await request.body())
    try:
        outcome = await asyncio.wrap_future(stored)
    except RuntimeError as error:
        # Not stored: a 5xx makes the network server (or its retry queue) try again.
        raise JournalUnavailable(f"the uplink was not stored ({error}); try again") from None
    return JSONResponse(_acknowledgement(outcome))


WEBHOOK_PATHS = {"/ingest/ttn": "tts", "/ingest/chirpstack": "chirpstack"}


class WebhookFastLane:
    """Answers well-formed webhook uplinks ahead of the web middleware.

    Network servers post thousands of small uplinks a second; sessions, CSRF, gzip and the
    page error handlers do nothing for them but cost about a third of each request (measured
    in bench/bench_ingest.py). This ASGI wrapper stores and acknowledges an uplink directly.
    Anything else, including every request it cannot accept (wrong credentials, bad JSON, a
    journal failure), goes on to the full app with its body replayed, so errors are answered
    in one place and look the same whichever way a request came in.
    """

    def __init__(self, app: ASGIApp, placehub_app: FastAPI) -> None:
        self.app = app
        self.placehub_app = placehub_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        network = WEBHOOK_PATHS.get(scope["path"]) if scope["type"] == "http" else None
        if network is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        raw, more = await _read_body(receive)
        query = parse_qs(scope["query_string"].decode("latin-1"))
        event = query.get("event", ["up"])[-1] if network == "chirpstack" else "up"
        try:
            if more:
                raise BadRequest("the request body did not arrive whole")
            outcome = await asyncio.wrap_future(
                _accept(self.placehub_app, network, event, Headers(scope=scope), raw)
            )
        except Exception:  # noqa: BLE001 - the full app answers every failure, the same way
            await self.app(scope, _replay(raw, receive), send)
            return
        body = json.dumps(_acknowledgement(outcome)).encode()
        await send({
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *API_SECURITY_HEADERS,
            ],
        })
        await send({"type": "http.response.body", "body": body})
        metrics: Metrics | None = getattr(self.placehub_app.state, "metrics", None)
        if metrics is not None:
            metrics.note("POST", scope["path"], 200, time.perf_counter() - started)


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The request body, and whether the client went away before sending all of it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(raw: bytes, receive: Receive) -> Receive:
    """A receive channel that gives the body once more, then whatever the client sends next."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return replayed


class JournalUnavailable(PlacehubError):
    """The journal could not store the uplink (database down or full)."""

    status_code = 503


def _require_writer(principal: Principal) -> None:
    if principal.is_anonymous and not principal.write_anywhere:
        raise Unauthorized("sign in or send an API token (Authorization: Bearer ...) to do this")


def _dead_letter_handler(principal: Principal) -> frozenset[int] | None:
    """The principal's dead-letter scope; only editors and admins handle dead letters."""
    _require_writer(principal)
    return deadletters.handling_scope(principal)


def outermost(app: FastAPI) -> None:
    """Put the webhook fast lane in front of every other middleware."""
    app.add_middleware(WebhookFastLane, placehub_app=app)


def register(app: FastAPI) -> None:
    """Add this concern's routes to the app, and start/stop the ingest service with it."""

    async def stop(_: Any) -> None:
        service = service_of(app)
        await service.stop_mqtt()
        service.stop()

    while_serving(app, lambda _: service_of(app).start_mqtt(), stop)

    @app.post("/ingest/ttn", tags=["ingest"], summary="The Things Stack v3 uplink webhook")
    async def ingest_ttn(request: Request) -> JSONResponse:
        """Store a TTS uplink (or join-accept) durably in the journal, then answer 200."""
        return await _webhook(request, "tts", "up")

    @app.post("/ingest/chirpstack", tags=["ingest"], summary="ChirpStack v4 HTTP integration")
    async def ingest_chirpstack(request: Request, event: str = "up") -> JSONResponse:
        """Store a ChirpStack event (up, join, status, log) in the journal, then answer 200."""
        return await _webhook(request, "chirpstack", event)

    @app.post("/api/devices", tags=["devices"], status_code=201)
    def create_device(
        body: dict[str, Any], request: Request, principal: Principal = Depends(current_principal)
    ) -> dict[str, Any]:
        """Register a LoRaWAN device: creates its Thing, Location, Sensor and Datastreams."""
        _require_writer(principal)
        fields = set(DeviceSpec.__dataclass_fields__)
        unknown = set(body) - fields
        if unknown:
            raise BadRequest(
                f"unknown field(s) {', '.join(sorted(unknown))}; "
                f"allowed: {', '.join(sorted(fields))}"
            )
        missing = [
            f for f in ("dev_eui", "name", "profile", "latitude", "longitude") if f not in body
        ]
        if missing:
            raise BadRequest(f"missing field(s): {', '.join(missing)}")
        database = request.app.state.database
        events = WriteEvents()
        with database.begin() as conn:
            device = register_device(
                conn,
                principal,
                DeviceSpec(**body),
                events,
                request.app.state.settings.ingest_profiles_dir or None,
            )
        events.publish(database)
        return device

    @app.get("/api/devices", tags=["devices"])
    def get_devices(
        request: Request, principal: Principal = Depends(current_principal)
    ) -> dict[str, Any]:
        """The registered devices whose Things the caller may read."""
        with request.app.state.database.connect() as conn:
            return {"devices": readable_devices(conn, principal)}

    @app.get("/api/devices/{dev_eui}/health", tags=["devices"])
    def get_device_health(
        dev_eui: str, request: Request, principal: Principal = Depends(current_principal)
    ) -> dict[str, Any]:
        """Last seen, battery, RSSI/SNR, frame-counter gaps and the estimated loss rate."""
        with request.app.state.database.connect() as conn:
            return device_health(conn, dev_eui, principal)

    @app.get("/api/dead-letters", tags=["ingest"])
    def get_dead_letters(
        request: Request,
        dev_eui: str | None = None,
        limit: int = 100,
        principal: Principal = Depends(current_principal),
    ) -> dict[str, Any]:
        """Uplinks that could not become Observations, newest first, with the reason."""
        scope = _dead_letter_handler(principal)
        if not 1 <= limit <= 10000:
            raise BadRequest("limit must be between 1 and 10000")
        with request.app.state.database.connect() as conn:
            return {"dead_letters": deadletters.list_dead_letters(conn, dev_eui, limit, scope)}

    @app.post("/api/dead-letters/replay", tags=["ingest"])
    def replay_dead_letters(
        request: Request, principal: Principal = Depends(current_principal)
    ) -> dict[str, Any]:
        """Re-process the dead letters the caller may handle (after registering a device or
        fixing a profile)."""
        scope = _dead_letter_handler(principal)
        settings = request.app.state.settings
        result = deadletters.replay(
            request.app.state.database,
            dead_letters=True,
            extra_profiles=settings.ingest_profiles_dir or None,
            organisations=scope,
        )
        return result
