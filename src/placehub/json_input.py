"""Reading JSON a client sent: the one parser every JSON body goes through.

Python's ``json`` accepts what storage and later readers cannot: ``NaN`` and ``Infinity``,
``1e999`` (read as infinity), integers of any size, nesting deep enough to exhaust the stack,
NUL characters (PostgreSQL text cannot hold them) and lone UTF-16 surrogates (not encodable as
UTF-8). Each is refused here with a 400 that says what to send instead.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from placehub.errors import BadRequest, PlacehubError

MAX_DEPTH = 64
MAX_INTEGER = 2**63 - 1
# Escapes that could decode to a NUL or a surrogate; the decoded value is only walked for
# them when the raw text has one (raw NULs and raw surrogates are not valid JSON or UTF-8).
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def reject_constant(name: str) -> Any:
    """json's parse_constant: NaN and Infinity are a 400."""
    raise BadRequest(f"{_WHAT} contains {name}, which JSON does not allow: send a number or "
                     "null")


_WHAT = "the request body"


def finite_float(text: str) -> float:
    """json's parse_float: a number beyond float's range (1e999) is a 400, not infinity."""
    value = float(text)
    if not math.isfinite(value):
        raise BadRequest(f"{_WHAT} contains the number {text[:40]}, too large to store: send a "
                         "finite number (at most about 1.8e308)")
    return value


def _bounded_int(text: str) -> int:
    value = int(text) if len(text) <= 20 else MAX_INTEGER + 1
    if abs(value) > MAX_INTEGER:
        raise BadRequest(f"{_WHAT} contains the integer {text[:40]}, beyond the 64-bit range "
                         f"(at most {MAX_INTEGER}): send it as a string or in exponent form")
    return value


def check_text(value: str, where: str = "text") -> str:
    """``value`` when it can be stored: no NUL characters and no lone surrogates."""
    if "\x00" in value:
        raise BadRequest(f"{where} contains a NUL character (\\u0000), which cannot be stored: "
                         "remove it")
    if _LONE_SURROGATE.search(value):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest(f"{where} contains a lone UTF-16 surrogate (such as \\ud800), "
                             "which is not a character: send valid Unicode") from None
    return value


def _check_tree(value: Any, check_strings: bool) -> None:
    """Depth at most MAX_DEPTH, and (when asked) every string and key storable."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadRequest(f"{_WHAT} is nested more than {MAX_DEPTH} levels deep: flatten it")
        if isinstance(node, dict):
            for key, item in node.items():
                if check_strings:
                    check_text(key, f"{_WHAT} (a key)")
                if isinstance(item, (dict, list)):
                    stack.append((item, depth + 1))
                elif check_strings and isinstance(item, str):
                    check_text(item, _WHAT)
        elif isinstance(node, list):
            for item in node:
                if isinstance(item, (dict, list)):
                    stack.append((item, depth + 1))
                elif check_strings and isinstance(item, str):
                    check_text(item, _WHAT)
        elif check_strings and isinstance(node, str):
            check_text(node, _WHAT)


def parse_json(raw: bytes | str, *, strict: bool = True) -> Any:
    """The JSON value of a request body; BadRequest says what is wrong with it.

    Not ``strict``: only the nesting, NaN/Infinity and malformed JSON are refused here, and
    too-large numbers and unstorable text are left to the caller, who refuses them per item
    (SensorThings data arrays answer "error" for one row and store the others).
    """
    try:
        value = json.loads(raw, parse_constant=reject_constant,
                           parse_float=finite_float if strict else float,
                           parse_int=_bounded_int if strict else int)
    except RecursionError:
        raise BadRequest(f"{_WHAT} is nested too deeply: at most {MAX_DEPTH} levels") from None
    except UnicodeDecodeError:
        raise BadRequest(f"{_WHAT} is not UTF-8 text: send JSON encoded as UTF-8") from None
    except ValueError as error:
        raise BadRequest(f"{_WHAT} is not valid JSON: {error}") from None
    encoded = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    _check_tree(value, check_strings=strict and _SUSPECT_ESCAPE.search(encoded) is not None)
    return value


def is_json_content(content_type: str) -> bool:
    """application/json or a ``+json`` type such as application/merge-patch+json."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/")
                                           and media.endswith("+json"))


class JsonBodyMiddleware:
    """Checks JSON request bodies under ``prefixes`` with ``parse_json`` before any route.

    FastAPI reads bodies with the plain ``json`` module; this answers the bodies it would
    accept but storage would not with a 400 first, in placehub's error format.
    """

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...] = ("/api/",)) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] not in {"POST", "PUT", "PATCH"}
                or not scope["path"].startswith(self.prefixes)):
            await self.app(scope, receive, send)
            return
        content_type = next((value.decode("latin-1") for name, value in scope["headers"]
                             if name == b"content-type"), "")
        if not is_json_content(content_type):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        if raw.strip():
            try:
                parse_json(raw)
            except PlacehubError as error:
                body = json.dumps({"error": {"code": error.status_code,
                                             "message": error.message}}).encode()
                await send({"type": "http.response.start", "status": error.status_code,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, replay_body(raw, receive), send)


def replay_body(raw: bytes, receive: Receive) -> Receive:
    """A receive channel that gives the body read already once more, then whatever the client
    sends next (for middleware that had to read the body before the app)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return replayed
