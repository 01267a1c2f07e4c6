"""SensorThings batch requests (OGC 18-088 section 11) in the OData 4.01 JSON batch format.

``POST /sta/v1.1/$batch`` with ``{"requests": [{"id", "method", "url", "headers", "body",
"dependsOn", "atomicityGroup"}]}`` answers ``{"responses": [{"id", "status", "headers",
"body"}]}`` in request order.

Requests outside an atomicity group run one by one through the app itself (same routes, same
access checks, each with its own transaction). The write requests of one atomicity group run in
ONE transaction: all succeed, or none is kept and each answers the error. A URL may start with
``$<id>`` to address what an earlier request created (``$1/Datastreams``); a request whose
``dependsOn`` failed answers 424.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from placehub.access.service import Principal
from placehub.db import Database
from placehub.errors import BadRequest, Conflict, PlacehubError, Unauthorized
from placehub.sta import writes
from placehub.sta.paths import parse_path
from placehub.sta.serialise import Links

MAX_REQUESTS = 1000
_METHODS = {"get", "post", "patch", "put", "delete"}


@dataclass
class BatchRequest:
    """One request of a batch, checked."""

    id: str
    method: str
    url: str  # relative to the service root, references not yet resolved
    headers: dict[str, str]
    body: Any
    depends_on: list[str]
    group: str | None


@dataclass
class BatchState:
    """What earlier requests gave: created entity URLs and which requests failed."""

    created: dict[str, str] = field(default_factory=dict)  # request id -> entity path
    failed: set[str] = field(default_factory=set)


def parse_batch(body: Any) -> list[BatchRequest]:
    """The requests of a JSON batch body; BadRequest naming the first problem."""
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise BadRequest('$batch takes {"requests": [{"id": "1", "method": "get", '
                         '"url": "Things"}, ...]} (OData 4.01 JSON batch)')
    items = body["requests"]
    if len(items) > MAX_REQUESTS:
        raise BadRequest(f"$batch: at most {MAX_REQUESTS} requests per batch")
    requests: list[BatchRequest] = []
    seen: set[str] = set()
    groups_done: set[str] = set()
    for index, item in enumerate(items):
        label = f"$batch requests[{index}]"
        if not isinstance(item, dict):
            raise BadRequest(f"{label}: expected an object")
        request_id = str(item.get("id", "")).strip()
        method = str(item.get("method", "")).lower()
        url = item.get("url")
        if not request_id or request_id in seen:
            raise BadRequest(f"{label}: every request needs a unique id")
        if method not in _METHODS:
            raise BadRequest(f"{label}: method must be one of {', '.join(sorted(_METHODS))}")
        if not isinstance(url, str) or not url.strip():
            raise BadRequest(f"{label}: url is missing")
        depends_on = item.get("dependsOn", [])
        if not isinstance(depends_on, list) or any(str(d) not in seen for d in depends_on):
            raise BadRequest(f"{label}: dependsOn may only name earlier request ids")
        group = item.get("atomicityGroup")
        group = str(group) if group is not None else None
        previous_group = requests[-1].group if requests else None
        if group is not None and group != previous_group and group in groups_done:
            raise BadRequest(f"{label}: the requests of an atomicityGroup must be adjacent")
        if previous_group is not None and previous_group != group:
            groups_done.add(previous_group)
        if group is not None and method == "get":
            raise BadRequest(f"{label}: an atomicityGroup holds changes only (no get)")
        headers = item.get("headers") or {}
        if not isinstance(headers, dict):
            raise BadRequest(f"{label}: headers must be an object")
        seen.add(request_id)
        requests.append(BatchRequest(request_id, method, url.strip(),
                                     {str(k).lower(): str(v) for k, v in headers.items()},
                                     item.get("body"), [str(d) for d in depends_on], group))
    return requests


def resolve_url(url: str, state: BatchState, service_root: str) -> str:
    """The request's path relative to the service root, with ``$<id>`` references replaced."""
    parts = urlsplit(url)
    path = parts.path
    if parts.scheme:  # an absolute URL of this service
        if not url.startswith(service_root):
            raise BadRequest(f"{url}: $batch requests must address this service")
        path = url[len(service_root):]
        parts = urlsplit(path)
        path = parts.path
    path = path.lstrip("/")
    if path.startswith("sta/v1.1/"):
        path = path[len("sta/v1.1/"):]
    if path.startswith("$"):
        reference, _, rest = path[1:].partition("/")
        if reference not in state.created:
            raise BadRequest(f"{url}: ${reference} does not name an entity created earlier "
                             "in this batch")
        path = state.created[reference] + (f"/{rest}" if rest else "")
    return path + (f"?{parts.query}" if parts.query else "")


def _response(request: BatchRequest, status: int, body: Any = None,
              headers: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": request.id, "status": status}
    if request.group is not None:
        out["atomicityGroup"] = request.group
    if headers:
        out["headers"] = headers
    if body is not None:
        out["body"] = body
    return out


def _error(request: BatchRequest, error: PlacehubError) -> dict[str, Any]:
    return _response(request, error.status_code,
                     {"error": {"code": error.status_code, "message": error.message}})


async def run_batch(app: Any, database: Database, principal: Principal, body: Any,
                    authorization: str | None, service_root: str,
                    cookie: str | None = None) -> dict[str, Any]:
    """Run a JSON batch; the responses in request order. Requests outside atomicity groups go
    through the app again with the batch's credentials (its ``authorization`` header, or the
    session ``cookie`` of a signed-in caller), so each is checked as the caller."""
    requests = parse_batch(body)
    state = BatchState()
    responses: list[dict[str, Any]] = []
    links = Links(service_root)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=service_root) as client:
        index = 0
        while index < len(requests):
            request = requests[index]
            if request.group is None:
                responses.append(await _run_one(client, request, state, authorization,
                                                service_root, cookie))
                index += 1
                continue
            end = index
            while end < len(requests) and requests[end].group == request.group:
                end += 1
            responses.extend(_run_group(database, principal, requests[index:end], state,
                                        links, service_root))
            index = end
    return {"responses": responses}


async def _run_one(client: httpx.AsyncClient, request: BatchRequest, state: BatchState,
                   authorization: str | None, service_root: str,
                   cookie: str | None = None) -> dict[str, Any]:
    if any(d in state.failed for d in request.depends_on):
        state.failed.add(request.id)
        return _response(request, 424, {"error": {"code": 424, "message":
                                                  "a request this one depends on failed"}})
    try:
        path = resolve_url(request.url, state, service_root)
    except BadRequest as error:
        state.failed.add(request.id)
        return _error(request, error)
    headers = {"content-type": "application/json"}
    if authorization and "authorization" not in request.headers:
        headers["authorization"] = authorization
    if cookie and not authorization:
        headers["cookie"] = cookie
    headers.update(request.headers)
    content = json.dumps(request.body).encode() if request.body is not None else None
    reply = await client.request(request.method.upper(), f"{service_root}/{path}",
                                 headers=headers, content=content)
    body: Any = None
    if reply.content:
        try:
            body = reply.json()
        except ValueError:
            body = reply.text
    if reply.status_code >= 400:
        state.failed.add(request.id)
    location = reply.headers.get("location")
    if location and location.startswith(service_root):
        state.created[request.id] = location[len(service_root):].lstrip("/")
    return _response(request, reply.status_code, body,
                     {"location": location} if location else None)


def _run_group(database: Database, principal: Principal, group: list[BatchRequest],
               state: BatchState, links: Links, service_root: str) -> list[dict[str, Any]]:
    """The changes of one atomicity group in one transaction: all or nothing."""
    events = writes.WriteEvents()
    results: list[tuple[int, str | None]] = []
    try:
        if any(d in state.failed for r in group for d in r.depends_on):
            raise Conflict("a request this atomicity group depends on failed")
        if principal.is_anonymous and not principal.write_anywhere:
            raise Unauthorized("writing needs an API token")
        with writes._translated_errors(), database.begin() as conn:
            writer = writes.Writer(conn, principal, events)
            for request in group:
                path = parse_path(resolve_url(request.url, state, service_root).split("?")[0])
                if request.method == "post":
                    outcome = writer.create_at(path, request.body)
                    created = None
                    if outcome.entity is not None and outcome.entity_id is not None:
                        created = f"{outcome.entity.set_name}({outcome.entity_id})"
                        state.created[request.id] = created
                    results.append((201 if created else 204, created))
                elif request.method in {"patch", "put"}:
                    if path.kind != "entity":
                        raise BadRequest(f"{request.url}: update one entity, e.g. Things(1)")
                    writer.update(path.entity, writer.resolve_id(path), request.body,
                                  "merge" if request.method == "patch" else "replace")
                    results.append((200, None))
                else:
                    if path.kind != "entity":
                        raise BadRequest(f"{request.url}: delete one entity, e.g. Things(1)")
                    writer.delete(path.entity, writer.resolve_id(path))
                    results.append((200, None))
    except PlacehubError as error:
        for request in group:
            state.failed.add(request.id)
            state.created.pop(request.id, None)
        return [_error(request, error) for request in group]
    events.publish(database)
    responses = []
    for request, (status, created) in zip(group, results, strict=True):
        headers = {"location": f"{links.root}/{created}"} if created else None
        responses.append(_response(request, status, None, headers))
    return responses
