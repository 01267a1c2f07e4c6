"""SensorThings HTTP routes under /sta/v1.1 (thin: parse, call the domain, render)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool

from placehub.access.requests import current_principal
from placehub.access.service import Principal
from placehub.db import Database
from placehub.errors import BadRequest, MethodNotAllowed
from placehub.governance import read_audit
from placehub.governance.read_audit import ReadLog
from placehub.json_input import parse_json
from placehub.lifespan import while_serving
from placehub.sta import batch, data_array, mqtt, writes
from placehub.sta.conformance import conformance_uris
from placehub.sta.model import ENTITIES
from placehub.sta.options import parse_query_options
from placehub.sta.paths import ResourcePath, parse_path
from placehub.sta.query import (
    ReadContext,
    read_collection,
    read_entity,
    read_property,
    resolve,
)
from placehub.sta.serialise import Links, raw_value

PREFIX = "/sta/v1.1"
router = APIRouter(prefix=PREFIX, tags=["SensorThings"])


def service_root_url(request: Request) -> str:
    """The service root used in links: PLACEHUB_BASE_URL if set, else derived from the request."""
    configured = request.app.state.settings.base_url
    base = configured.rstrip("/") if configured else str(request.base_url).rstrip("/")
    return base + PREFIX


def _context(request: Request, conn: Any, principal: Principal,
             reads: ReadLog | None = None) -> ReadContext:
    """The read context of one request: connection, principal, links and page sizes."""
    settings = request.app.state.settings
    return ReadContext(conn, principal, Links(service_root_url(request)),
                       default_top=settings.sta_default_top, max_top=settings.sta_max_top,
                       reads=reads)


def request_context(request: Request) -> str:
    """How a read is described in the read audit: method, path and query."""
    return read_audit.describe(request.method, request.url.path, request.url.query)


def _json(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response."""
    # Compact UTF-8 JSON; FastAPI's encoder would be slower and adds nothing here.
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status_code=status_code, media_type="application/json",
                    headers=headers)


@router.get("", include_in_schema=True)
@router.get("/", include_in_schema=False)
def service_root(request: Request) -> Response:
    """The service root: entity sets and the conformance classes implemented (a web page for
    a browser that asks for HTML first)."""
    base = service_root_url(request)
    collections = [{"name": e.set_name, "url": f"{base}/{e.set_name}"} for e in ENTITIES]
    server_settings = _server_settings(request)
    from placehub.web.pages import prefers_html  # the web UI imports this module
    if prefers_html(request):
        from placehub.web.session import viewer
        from placehub.web.templating import render
        viewer(request)  # for the page header (sign in / sign out)
        return render(request, "sta_root.html", title="OGC SensorThings API", root=base,
                      collections=collections, conformance=server_settings["conformance"])
    return JSONResponse({"value": collections, "serverSettings": server_settings})


def _server_settings(request: Request) -> dict[str, Any]:
    """Conformance URIs, plus the data array and MQTT classes and the MQTT endpoint (sta-query)."""
    settings = request.app.state.settings
    endpoints = mqtt.server_settings(settings.mqtt_url, settings.mqtt_public_url)
    return {"conformance": [*conformance_uris(), *endpoints], **endpoints}


@router.api_route("", methods=["POST", "PATCH", "PUT", "DELETE"], include_in_schema=False)
@router.api_route("/", methods=["POST", "PATCH", "PUT", "DELETE"], include_in_schema=False)
def service_root_write() -> None:
    """The service root is read-only."""
    raise MethodNotAllowed("the service root cannot be changed: POST to a collection, "
                           "e.g. /sta/v1.1/Things")


@router.get("/{path:path}")
def read(path: str, request: Request,
         principal: Principal = Depends(current_principal)) -> Response:
    """Any SensorThings read: collection, entity, property, $value, navigation, $ref."""
    resource = parse_path(path)
    pairs = parse_qsl(request.url.query, keep_blank_values=True)
    database: Database = request.app.state.database
    try:
        options = parse_query_options(pairs, resource.entity)
        return _read(request, resource, options, principal, database)
    except RecursionError:
        raise BadRequest("the query options are nested too deeply (e.g. hundreds of levels "
                         "of $expand): simplify them") from None
    except DataError as error:
        # Values a $filter computes can overflow in the database (PostgreSQL raises on it).
        raise BadRequest("the query computes a value the database cannot hold "
                         f"({error.orig.__class__.__name__}): simplify $filter") from None


def _read(request: Request, resource: ResourcePath, options: Any, principal: Principal,
          database: Database) -> Response:
    reads = ReadLog() if read_audit.audited(principal) else None
    try:
        return _answer(request, resource, options, principal, database, reads)
    finally:
        if reads:
            read_audit.record_request_reads(database, principal, "sta",
                                            request_context(request), reads)


def _answer(request: Request, resource: ResourcePath, options: Any, principal: Principal,
            database: Database, reads: ReadLog | None) -> Response:
    with database.connect() as conn:
        ctx = _context(request, conn, principal, reads)
        scope = resolve(ctx, resource)
        if resource.kind == "collection":
            url = f"{ctx.links.root}/{resource.text()}"
            return _json(read_collection(ctx, scope, options, url))
        if resource.kind == "ref":
            if scope.entity_id is None:
                url = f"{ctx.links.root}/{resource.text()}/$ref"
                return _json(read_collection(ctx, scope, options, url, refs=True))
            return _json({"@iot.selfLink": ctx.links.entity(scope.entity, scope.entity_id)})
        if resource.kind == "entity":
            return _json(read_entity(ctx, scope, options))
        value = read_property(ctx, scope, resource)
    if value is None:
        return Response(status_code=204)
    if resource.kind == "value":
        return PlainTextResponse(raw_value(value))
    name = resource.subpath[-1] if resource.subpath else resource.prop.name  # type: ignore[union-attr]
    return _json({name: value})


async def _body(request: Request) -> Any:
    """The JSON request body; 400 when it is missing or not JSON."""
    raw = await request.body()
    if not raw:
        raise BadRequest("the request body is empty: send a JSON entity")
    # Results too large or text that cannot be stored are refused per Observation (a data
    # array answers "error" for that row); names and JSON columns refuse them on write.
    return parse_json(raw, strict=False)


@router.post("/$batch")
async def batch_requests(request: Request,
                         principal: Principal = Depends(current_principal)) -> Response:
    """OData 4.01 JSON batch: many requests, answered in order (atomicity groups all or none)."""
    body = await _body(request)
    result = await batch.run_batch(request.app, request.app.state.database, principal, body,
                                   request.headers.get("authorization"),
                                   service_root_url(request), request.headers.get("cookie"))
    return _json(result)


@router.post("/CreateObservations")
async def create_observations(request: Request,
                              principal: Principal = Depends(current_principal)) -> Response:
    """Data array extension: many Observations in one request, one URL or "error" per row."""
    body = await _body(request)
    database: Database = request.app.state.database

    def write() -> data_array.CreateOutcome:
        with database.begin() as conn:
            outcome = data_array.create_observations(conn, principal, body)
        # After the commit, still in the worker thread: subscribers (alert rules, MQTT) must
        # not hold up the event loop that serves every other request.
        if outcome.result.written:
            database.events.publish("observations.written", outcome.result.written)
        return outcome

    # In a worker thread: the event loop keeps serving while this request waits on its commit.
    outcome = await run_in_threadpool(write)
    urls = data_array.created_urls(Links(service_root_url(request)), outcome)
    headers = {}
    if outcome.errors:
        # The body is the spec's list of URLs and "error"s; say why in a header as well.
        first = sorted(outcome.errors.items())[:5]
        headers["X-Placehub-Row-Errors"] = "; ".join(
            f"row {i}: {message}" for i, message in first).encode("ascii", "replace").decode()
    return _json(urls, status_code=201, headers=headers)


# Writes read the body asynchronously, then do their database work in the thread pool so a
# slow transaction never blocks the event loop.


@router.post("/{path:path}")
async def create(path: str, request: Request,
                 principal: Principal = Depends(current_principal)) -> Response:
    """POST to a collection (or navigation collection, or $ref): create and link entities."""
    resource = parse_path(path)
    body = await _body(request)
    return await run_in_threadpool(_create, request, principal, resource, body)


def _create(request: Request, principal: Principal, resource: ResourcePath,
            body: Any) -> Response:
    """Create, then answer 201 with the entity and its Location (204 for a $ref link)."""
    database: Database = request.app.state.database
    links = Links(service_root_url(request))
    outcome = writes.create_from_request(database, principal, resource, body)
    if outcome.entity is None:  # a $ref link was added
        return Response(status_code=204)
    assert outcome.entity_id is not None
    location = links.entity(outcome.entity, outcome.entity_id)
    with database.connect() as conn:
        ctx = _context(request, conn, principal)
        scope = resolve(ctx, parse_path(f"{outcome.entity.set_name}({outcome.entity_id})"))
        entity_body = read_entity(ctx, scope, parse_query_options([], outcome.entity))
    return _json(entity_body, status_code=201, headers={"Location": location})


@router.patch("/{path:path}")
async def patch(path: str, request: Request,
                principal: Principal = Depends(current_principal)) -> Response:
    """PATCH: merge (application/json) or JSON Patch (application/json-patch+json)."""
    resource = parse_path(path)
    body = await _body(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    mode = "json-patch" if content_type == "application/json-patch+json" else "merge"
    return await run_in_threadpool(_update, request, principal, resource, body, mode)


@router.put("/{path:path}")
async def put(path: str, request: Request,
              principal: Principal = Depends(current_principal)) -> Response:
    """PUT: replace every updatable property of the entity."""
    resource = parse_path(path)
    body = await _body(request)
    return await run_in_threadpool(_update, request, principal, resource, body, "replace")


def _update(request: Request, principal: Principal, resource: ResourcePath, body: Any,
            mode: str) -> Response:
    """Apply an update, then answer with the entity as it now is."""
    database: Database = request.app.state.database
    entity, entity_id = writes.update_from_request(database, principal, resource, body, mode)
    with database.connect() as conn:
        ctx = _context(request, conn, principal)
        scope = resolve(ctx, parse_path(f"{entity.set_name}({entity_id})"))
        return _json(read_entity(ctx, scope, parse_query_options([], entity)))


@router.delete("/{path:path}")
def delete(path: str, request: Request,
           principal: Principal = Depends(current_principal)) -> Response:
    """DELETE an entity (with the cascades of OGC 18-088 Table 25) or a $ref link."""
    resource = parse_path(path)
    database: Database = request.app.state.database
    writes.delete_from_request(database, principal, resource)
    return Response(status_code=200)


def register(app: FastAPI) -> None:
    """Add the SensorThings routes to the app, and the MQTT bridge to its lifespan."""
    app.include_router(router)
    settings = app.state.settings
    if not settings.mqtt_url:
        return

    def start(app_: FastAPI) -> None:
        root = (settings.base_url.rstrip("/") or f"http://{settings.host}:{settings.port}")
        bridge = mqtt.MqttBridge(app_.state.database, settings.mqtt_url, root + PREFIX,
                                 settings.sta_mqtt_select_topics)
        bridge.start()
        app_.state.mqtt_bridge = bridge

    while_serving(app, start, lambda app_: app_.state.mqtt_bridge.stop())
