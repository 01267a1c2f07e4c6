"""Checks on one network-server message before it may join a group commit.

Every message is judged on its own: a body too large, too deeply nested, with NUL characters
or unpaired surrogates (text no database stores), identifiers longer than their columns or
counters outside LoRaWAN's ranges is refused with a 4xx naming the field, so one bad message
never fails a batch of good ones. Times a network server cannot have meant (Go's zero time,
a clock far in the future) keep the message as a dead letter with the reason instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from placehub.errors import BadRequest, PlacehubError
from placehub.json_input import finite_float, reject_constant

DEFAULT_MAX_BODY_BYTES = 1_000_000
MAX_DEPTH = 32
# The earliest network-server time accepted: LoRaWAN networks did not exist before.
EARLIEST = datetime(2015, 1, 1, tzinfo=UTC)
DEFAULT_MAX_SKEW = timedelta(minutes=10)

# Column widths of ingest_journal (and the LoRaWAN sizes behind them).
MAX_LENGTHS = {
    "application_id": 200,
    "session_key_id": 100,
    "dedup_key": 300,
    "alt_key": 200,
}
F_CNT_MAX = 2**32 - 1  # LoRaWAN frame counters are 32 bits
F_PORT_MAX = 255
DEV_ADDR = re.compile(r"^[0-9A-Fa-f]{8}$")
# A JSON escape for NUL or for half of a surrogate pair; only then is the full walk needed.
_SUSPECT = re.compile(rb"\\u(0000|[dD][89abAB][0-9a-fA-F]{2}|[dD][c-fC-F][0-9a-fA-F]{2})")


class PayloadTooLarge(PlacehubError):
    """The request body is over the configured limit."""

    status_code = 413


@dataclass(frozen=True)
class Limits:
    """What one message may be: body size and how far its time may be ahead of ours."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_skew: timedelta = DEFAULT_MAX_SKEW


def too_large(size: int, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the body is {size:,} bytes or more, over the limit of {limit:,} bytes "
        "(PLACEHUB_INGEST_MAX_BODY_BYTES); a network-server message is a few kilobytes: "
        "check the integration sends single uplinks"
    )


def _path(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "the message"


def _bad_text(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL character (\\u0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate (invalid Unicode text)"
    return None


def _walk(value: Any) -> None:
    """Depth and text checks over the whole parsed message, without recursion."""
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise BadRequest(
                f"{_path(path[:MAX_DEPTH])} nests deeper than {MAX_DEPTH} levels: "
                "a network-server message is never this deep"
            )
        if isinstance(item, dict):
            for key, child in item.items():
                problem = _bad_text(key)
                if problem:
                    raise BadRequest(f"a field name in {_path(path)} {problem}")
                stack.append((child, [*path, key]))
        elif isinstance(item, list):
            stack.extend((child, [*path, index]) for index, child in enumerate(item))
        elif isinstance(item, str):
            problem = _bad_text(item)
            if problem:
                raise BadRequest(f"{_path(path)} {problem}: remove it from the formatter output")


# Built once: json.loads with options builds a decoder per call.
_DECODER = json.JSONDecoder(parse_constant=reject_constant, parse_float=finite_float)


def parse_body(raw: bytes) -> Any:
    """The JSON of one message, refusing what no message should contain (BadRequest)."""
    try:
        body = _DECODER.decode(raw.decode("utf-8"))
    except BadRequest:
        raise
    except RecursionError:
        raise BadRequest(
            f"the body nests deeper than {MAX_DEPTH} levels: a network-server message is "
            "never this deep"
        ) from None
    except ValueError as error:
        raise BadRequest(
            f"the body is not valid JSON ({error}); send the network server's JSON "
            "message unchanged"
        ) from None
    # Most messages need no walk: only brackets beyond the depth limit or escapes of NUL or
    # surrogates can make one unstorable.
    if raw.count(b"{") + raw.count(b"[") > MAX_DEPTH or _SUSPECT.search(raw):
        _walk(body)
    return body


def check_length(value: Any, field: str, limit: int) -> None:
    if isinstance(value, str) and len(value) > limit:
        raise BadRequest(f"{field} is {len(value)} characters long, at most {limit} are allowed")


def check_range(value: int | None, field: str, high: int) -> None:
    if value is not None and not 0 <= value <= high:
        raise BadRequest(f"{field}={value} is outside 0 to {high}")


def check_dev_addr(value: Any, field: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not DEV_ADDR.match(value):
        raise BadRequest(f"{field} must be a DevAddr of 8 hex digits, got {str(value)[:40]!r}")
    return value.upper()


def time_problem(ns_time: datetime, received_at: datetime, max_skew: timedelta) -> str | None:
    """Why a network-server time cannot be the uplink's time, or None when it is plausible."""
    if ns_time < EARLIEST:
        return (
            f"network time {ns_time.isoformat()} is before {EARLIEST.year}: the network "
            "server sent no real time (Go's zero time?); check its clock and the field mask"
        )
    if ns_time - received_at > max_skew:
        return (
            f"network time {ns_time.isoformat()} is {ns_time - received_at} ahead of "
            f"placehub's clock (more than {max_skew} allowed, "
            "PLACEHUB_INGEST_MAX_CLOCK_SKEW_SECONDS): check the network server's clock"
        )
    return None
