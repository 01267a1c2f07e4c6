"""SensorThings HTTP routes under /sta/v1.1 (thin: parse, call the domain, render)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from placehub.access.requests import current_principal
from placehub.access.service import Principal
from placehub.db import Database
from placehub.errors import BadRequest, PlacehubError
from placehub.sta import writes
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


def _context(request: Request, conn: Any, principal: Principal) -> ReadContext:
    settings = request.app.state.settings
    return ReadContext(conn, principal, Links(service_root_url(request)),
                       default_top=settings.sta_default_top, max_top=settings.sta_max_top)


def _json(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    # Compact UTF-8 JSON; FastAPI's encoder would be slower and adds nothing here.
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status_code=status_code, media_type="application/json",
                    headers=headers)


@router.get("", include_in_schema=True)
@router.get("/", include_in_schema=False)
def service_root(request: Request) -> JSONResponse:
    """The service root: entity sets and the conformance classes implemented."""
    base = service_root_url(request)
    return JSONResponse({
        "value": [{"name": e.set_name, "url": f"{base}/{e.set_name}"} for e in ENTITIES],
        "serverSettings": {"conformance": conformance_uris()},
    })


class MethodNotAllowed(PlacehubError):
    status_code = 405


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
    options = parse_query_options(pairs, resource.entity)
    database: Database = request.app.state.database
    with database.connect() as conn:
        ctx = _context(request, conn, principal)
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
    raw = await request.body()
    if not raw:
        raise BadRequest("the request body is empty: send a JSON entity")
    try:
        return json.loads(raw)
    except ValueError as error:
        raise BadRequest(f"the request body is not valid JSON: {error}") from None


def _writable_path(path: str) -> ResourcePath:
    return parse_path(path)


@router.post("/{path:path}")
async def create(path: str, request: Request,
                 principal: Principal = Depends(current_principal)) -> Response:
    """POST to a collection (or navigation collection, or $ref): create and link entities."""
    resource = _writable_path(path)
    body = await _body(request)
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
    resource = _writable_path(path)
    body = await _body(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    mode = "json-patch" if content_type == "application/json-patch+json" else "merge"
    return _update(request, principal, resource, body, mode)


@router.put("/{path:path}")
async def put(path: str, request: Request,
              principal: Principal = Depends(current_principal)) -> Response:
    """PUT: replace every updatable property of the entity."""
    resource = _writable_path(path)
    body = await _body(request)
    return _update(request, principal, resource, body, "replace")


def _update(request: Request, principal: Principal, resource: ResourcePath, body: Any,
            mode: str) -> Response:
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
    resource = _writable_path(path)
    database: Database = request.app.state.database
    writes.delete_from_request(database, principal, resource)
    return Response(status_code=200)


def register(app: FastAPI) -> None:
    app.include_router(router)
