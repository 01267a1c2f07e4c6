"""HTTP routes of placehub.ingest: the network-server webhooks and the devices / dead-letter API."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import Gauge
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from placehub.access.requests import current_principal
from placehub.access.service import Principal, organisation_id
from placehub.config import is_loopback
from placehub.errors import BadRequest, Forbidden, PlacehubError, Unauthorized
from placehub.ingest import deadletters
from placehub.ingest.adapters import parse_message
from placehub.ingest.devices import DeviceSpec, device_health, readable_devices, register_device
from placehub.ingest.integrations import (
    Integration,
    create_integration,
    list_integrations,
    revoke_integration,
    rotate_integration,
    stamp,
)
from placehub.ingest.processing import BacklogStatus, backlog_status
from placehub.ingest.service import IngestService
from placehub.ingest.validation import Limits, parse_body, too_large
from placehub.json_input import replay_body
from placehub.lifespan import while_serving
from placehub.sta.writes import WriteEvents
from placehub.web.metrics import Metrics
from placehub.web.security import API_SECURITY_HEADERS

log = logging.getLogger(__name__)


def service_of(app: FastAPI) -> IngestService:
    """The app's ingest service, created and started on first use."""
    service = getattr(app.state, "ingest", None)
    if service is None:
        service = IngestService(app.state.database, app.state.settings)
        app.state.ingest = service
    service.start()
    return service


def limits_of(app: FastAPI) -> Limits:
    settings = app.state.settings
    return Limits(
        max_body_bytes=settings.ingest_max_body_bytes,
        max_skew=timedelta(seconds=settings.ingest_max_clock_skew_seconds),
    )


def authenticate(app: FastAPI, network: str, headers: Mapping[str, str]) -> Integration | None:
    """The integration the request's credentials belong to (None: local anonymous writes).

    Checked before the body is read, so nobody without credentials can make the server read
    (or store) a large body.
    """
    service = service_of(app)
    settings = app.state.settings
    integration = service.authenticator.check(network, headers)
    if integration is None:
        has_credentials = "authorization" in headers or "x-placehub-secret" in headers
        if has_credentials or not (settings.anonymous_write and is_loopback(settings.host)):
            raise Unauthorized(
                "webhook credentials missing or wrong: send the Basic auth user and password or "
                "the X-Placehub-Secret header of an integration ('placehub ingest integrations "
                "add')"
            )
    return integration


def _declared_length(headers: Mapping[str, str], limit: int) -> None:
    """413 at once when the request says its body is over the limit."""
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large(int(declared), limit)


async def accept(
    app: FastAPI, network: str, event: str, raw: bytes, integration: Integration | None
) -> dict[str, Any] | None:
    """Parse one message on its own, store it (journal or JetStream) and return the
    acknowledgement.

    None when the message is of a kind that is accepted and ignored. Raises a PlacehubError
    that says what to fix when the message cannot be accepted.
    """
    service = service_of(app)
    settings = app.state.settings
    body = parse_body(raw)
    entry = parse_message(
        network, body, event, "webhook", datetime.now(UTC), limits_of(app).max_skew
    )
    if entry is None:
        return None
    stamp(entry, integration, settings.ingest_accept_simulated)
    return await service.sink.accept(entry)


async def _webhook(request: Request, network: str, event: str) -> Response:
    app = request.app
    limit = limits_of(app).max_body_bytes
    _declared_length(request.headers, limit)
    integration = authenticate(app, network, request.headers)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(size, limit)
        chunks.append(chunk)
    acknowledgement = await accept(app, network, event, b"".join(chunks), integration)
    if acknowledgement is None:
        return Response(status_code=204)
    return JSONResponse(acknowledgement)


WEBHOOK_PATHS = {"/ingest/ttn": "tts", "/ingest/chirpstack": "chirpstack"}


class WebhookFastLane:
    """Answers webhook posts ahead of the web middleware.

    Network servers post thousands of small uplinks a second; sessions, CSRF, gzip and the
    page error handlers do nothing for them but cost about a third of each request (measured
    in bench/bench_ingest.py). This ASGI wrapper checks the credentials (before reading the
    body), reads at most the body limit, stores and acknowledges the uplink, and answers any
    failure with the same JSON error body the app's handler gives.
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
        query = parse_qs(scope["query_string"].decode("latin-1"))
        event = query.get("event", ["up"])[-1] if network == "chirpstack" else "up"
        status, body, extra = 200, b"", []
        raw: bytes | None = None
        try:
            headers = Headers(scope=scope)
            limit = limits_of(self.placehub_app).max_body_bytes
            _declared_length(headers, limit)
            integration = authenticate(self.placehub_app, network, headers)
            raw = await _read_body(receive, limit)
            acknowledgement = await accept(self.placehub_app, network, event, raw, integration)
            if acknowledgement is None:
                status = 204
            else:
                body = json.dumps(acknowledgement).encode()
        except PlacehubError as error:
            status = error.status_code
            body = json.dumps({"error": {"code": status, "message": error.message}}).encode()
            extra = [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
        except Exception:  # noqa: BLE001 - the app's handlers answer the rest (database down)
            await self.app(scope, receive if raw is None else replay_body(raw, receive), send)
            return
        headers_out = [*API_SECURITY_HEADERS, *extra]
        if status != 204:
            headers_out += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
        if status == 413:
            headers_out.append((b"connection", b"close"))  # the rest of the body is not read
        await send({"type": "http.response.start", "status": status, "headers": headers_out})
        await send({"type": "http.response.body", "body": body})
        metrics: Metrics | None = getattr(self.placehub_app.state, "metrics", None)
        if metrics is not None:
            metrics.note("POST", scope["path"], status, time.perf_counter() - started)




async def _read_body(receive: Receive, limit: int) -> bytes:
    """The request body, read no further than ``limit`` bytes (413 beyond)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadRequest("the request body did not arrive whole")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(size, limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


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


def _install_metrics(app: FastAPI, metrics: Metrics) -> None:
    """Backlog, quarantine and degraded gauges on /metrics (one query per scrape)."""
    cache: dict[str, Any] = {"at": -1e9, "status": None}

    def status() -> BacklogStatus:
        if time.monotonic() - cache["at"] > 1.0:
            with app.state.database.connect() as conn:
                cache["status"] = backlog_status(
                    conn, app.state.settings.ingest_backlog_degraded_seconds
                )
            cache["at"] = time.monotonic()
        result: BacklogStatus = cache["status"]
        return result

    gauges = (
        ("placehub_ingest_backlog_entries", "LoRaWAN journal entries waiting to be processed.",
         lambda: float(status().pending)),
        ("placehub_ingest_backlog_oldest_seconds",
         "Age of the oldest LoRaWAN journal entry waiting to be processed.",
         lambda: status().oldest_pending_seconds),
        ("placehub_ingest_quarantined_entries",
         "LoRaWAN journal entries quarantined after their processing kept failing.",
         lambda: float(status().quarantined)),
        ("placehub_ingest_degraded",
         "1 when ingest is degraded (old backlog or quarantined entries), as /healthz says.",
         lambda: float(status().degraded)),
    )
    for name, description, read in gauges:
        Gauge(name, description, registry=metrics.registry).set_function(read)


def refresh_credentials(app: FastAPI) -> None:
    """Make the webhook routes read the integrations again (after one was added or changed)."""
    service = getattr(app.state, "ingest", None)
    if service is not None:
        service.authenticator.invalidate()


def register(app: FastAPI) -> None:
    """Add this concern's routes to the app, and start/stop the ingest service with it."""
    metrics = getattr(app.state, "metrics", None)
    if metrics is not None:
        _install_metrics(app, metrics)

    async def stop(_: Any) -> None:
        service = service_of(app)
        await service.stop_mqtt()
        service.stop()

    while_serving(app, lambda _: service_of(app).start_mqtt(), stop)

    @app.post("/ingest/ttn", tags=["ingest"], summary="The Things Stack v3 uplink webhook")
    async def ingest_ttn(request: Request) -> Response:
        """Store a TTS uplink (or join-accept) durably in the journal, then answer 200."""
        return await _webhook(request, "tts", "up")

    @app.post("/ingest/chirpstack", tags=["ingest"], summary="ChirpStack v4 HTTP integration")
    async def ingest_chirpstack(request: Request, event: str = "up") -> Response:
        """Store a ChirpStack event (up, join, status, log, location) in the journal, then
        answer 200; ack, txack and integration events are answered 204."""
        return await _webhook(request, "chirpstack", event)

    def admin_scope(principal: Principal) -> frozenset[int] | None:
        """Organisations whose integrations ``principal`` manages (None: all); 401/403 else."""
        _require_writer(principal)
        if principal.write_anywhere:
            return None
        scope = frozenset(o for o in principal.roles if principal.can_admin(o))
        if not scope:
            raise Forbidden("integrations are managed by an organisation's admins")
        return scope

    @app.get("/api/ingest/integrations", tags=["ingest"])
    def get_integrations(
        request: Request, principal: Principal = Depends(current_principal)
    ) -> dict[str, Any]:
        """Webhook integrations of the organisations the caller administers (no secrets)."""
        scope = admin_scope(principal)
        with request.app.state.database.connect() as conn:
            return {"integrations": list_integrations(conn, scope)}

    @app.post("/api/ingest/integrations", tags=["ingest"], status_code=201)
    def post_integration(
        body: dict[str, Any], request: Request, principal: Principal = Depends(current_principal)
    ) -> dict[str, Any]:
        """Create an integration for one organisation; the answer holds its secret, once."""
        scope = admin_scope(principal)
        allowed = {"name", "network", "organisation", "username"}
        unknown = set(body) - allowed
        if unknown:
            raise BadRequest(f"unknown field(s) {', '.join(sorted(unknown))}; "
                             f"allowed: {', '.join(sorted(allowed))}")
        missing = [f for f in ("name", "network", "organisation") if not body.get(f)]
        if missing:
            raise BadRequest(f"missing field(s): {', '.join(missing)}")
        if not all(isinstance(body.get(f), str | None) for f in allowed):
            raise BadRequest("name, network, organisation and username must be text")
        with request.app.state.database.begin() as conn:
            org = organisation_id(conn, body["organisation"])
            if scope is not None and org not in scope:
                raise Forbidden(f"you are not an admin of {body['organisation']!r}")
            secret = create_integration(
                conn, body["name"], body["network"], body.get("username") or None,
                organisation_id=org, actor=principal,
            )
        refresh_credentials(request.app)
        return {"name": body["name"], "secret": secret}

    @app.post("/api/ingest/integrations/{name}/rotate", tags=["ingest"])
    def post_rotate_integration(
        name: str, request: Request, principal: Principal = Depends(current_principal)
    ) -> dict[str, Any]:
        """A new secret for the integration (shown once); the old one stops working."""
        scope = admin_scope(principal)
        with request.app.state.database.begin() as conn:
            secret = rotate_integration(conn, name, scope, actor=principal)
        refresh_credentials(request.app)
        return {"name": name, "secret": secret}

    @app.delete("/api/ingest/integrations/{name}", tags=["ingest"], status_code=204)
    def delete_integration_route(
        name: str, request: Request, principal: Principal = Depends(current_principal)
    ) -> Response:
        """Revoke the integration: its secret opens nothing any more."""
        scope = admin_scope(principal)
        with request.app.state.database.begin() as conn:
            revoke_integration(conn, name, scope, actor=principal)
        refresh_credentials(request.app)
        return Response(status_code=204)

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
