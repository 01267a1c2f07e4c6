"""Network-server adapters: The Things Stack v3 and ChirpStack v4 messages -> journal entries.

Each adapter implements the small ``NetworkAdapter`` protocol and is registered by name, so a
third network server is added the same way. Malformed messages raise BadRequest (a 4xx saying
what is wrong); nothing is guessed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from placehub.errors import BadRequest
from placehub.ingest.journal import JournalEntry, normalise_eui, payload_hash
from placehub.ingest.validation import (
    DEFAULT_MAX_SKEW,
    F_CNT_MAX,
    F_PORT_MAX,
    MAX_LENGTHS,
    check_dev_addr,
    check_length,
    check_range,
    time_problem,
)


class NetworkAdapter(Protocol):
    """Parses one network server's messages."""

    @property
    def name(self) -> str: ...

    def parse(
        self, body: Any, event: str, transport: str, received_at: datetime
    ) -> JournalEntry | None:
        """The entry to journal; None for a message type that is accepted and ignored."""
        ...


ADAPTERS: dict[str, NetworkAdapter] = {}


def register_adapter(adapter: NetworkAdapter) -> NetworkAdapter:
    ADAPTERS[adapter.name] = adapter
    return adapter


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_time(value: Any, what: str) -> datetime:
    """An RFC 3339 time (nanoseconds allowed, trailing Z) as an aware UTC datetime."""
    if not isinstance(value, str):
        raise BadRequest(f"{what} must be an RFC 3339 time string, got {value!r}")
    text = _FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadRequest(f"{what}: {value[:60]!r} is not an RFC 3339 time") from None


def _b64(value: Any, what: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{what} must be base64 text")
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        raise BadRequest(f"{what} is not valid base64: {value[:40]!r}") from None


def _int(value: Any, what: str, default: int | None = None) -> int | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest(f"{what} must be a whole number, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{what} must be a whole number, got {str(value)[:40]!r}") from None


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"{what} must be a JSON object")
    return value


def _eui(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{what} is missing: the message must name the device's DevEUI")
    try:
        return normalise_eui(value)
    except ValueError as error:
        raise BadRequest(f"{what}: {error}") from None


def _text(value: Any, what: str, limit: int) -> str | None:
    """An optional identifier: text of at most ``limit`` characters."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{what} must be text, got {str(value)[:40]!r}")
    check_length(value, what, limit)
    return value


def _gateways(value: Any, what: str) -> list[dict[str, Any]]:
    """Gateway metadata: a list of objects (empty when absent)."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise BadRequest(f"{what} must be a list of gateway objects")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise BadRequest(f"{what}[{index}] must be a gateway object, got {str(item)[:40]!r}")
    return value


def _uplink_numbers(
    f_cnt_value: Any, f_port_value: Any, has_payload: bool, names: tuple[str, str]
) -> tuple[int, int, str | None]:
    """Frame counter and port (both omitted when 0) and why the uplink cannot be used, if so.

    An uplink with application data always has an fPort; without one, the integration's field
    mask leaves out the numbers placehub needs.
    """
    f_cnt = _int(f_cnt_value, names[0], 0)
    f_port = _int(f_port_value, names[1], 0)
    check_range(f_cnt, names[0], F_CNT_MAX)
    check_range(f_port, names[1], F_PORT_MAX)
    problem = None
    if f_port_value is None and has_payload:
        problem = (
            f"the uplink has application data but no {names[1]}: the integration's field "
            f"mask leaves it out; add {names[1]} and {names[0]} to the field mask"
        )
    return f_cnt or 0, f_port or 0, problem


def _position(value: Any) -> dict[str, Any] | None:
    """latitude / longitude (and source) of a network-reported location, if it has them."""
    if not isinstance(value, dict):
        return None
    lat, lon = value.get("latitude"), value.get("longitude")
    if not (isinstance(lat, int | float) and isinstance(lon, int | float)):
        return None
    if isinstance(lat, bool) or isinstance(lon, bool):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    position: dict[str, Any] = {"latitude": float(lat), "longitude": float(lon)}
    if isinstance(value.get("source"), str):
        position["source"] = value["source"][:100]
    return position


def _body_digest(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


# Message types The Things Stack may send to the same webhook that hold nothing placehub
# stores: accepted (204) so the network server's log stays clean.
TTS_IGNORED = (
    "downlink_ack", "downlink_nack", "downlink_sent", "downlink_failed", "downlink_queued",
    "downlink_queue_invalidated", "service_data", "uplink_normalized",
)


class TheThingsStack:
    """The Things Stack v3 (TTN): webhook bodies and MQTT ``v3/{app}/devices/{id}/up`` messages."""

    name = "tts"

    def parse(
        self, body: Any, event: str, transport: str, received_at: datetime
    ) -> JournalEntry | None:
        body = _object(body, "the message")
        ids = _object(body.get("end_device_ids"), "end_device_ids")
        dev_eui = _eui(ids.get("dev_eui"), "end_device_ids.dev_eui")
        app_ids = ids.get("application_ids")
        application = _text(
            app_ids.get("application_id") if isinstance(app_ids, dict) else None,
            "end_device_ids.application_ids.application_id",
            MAX_LENGTHS["application_id"],
        )
        dev_addr = check_dev_addr(ids.get("dev_addr"), "end_device_ids.dev_addr")
        simulated = body.get("simulated") is True
        # What every journal entry of this message shares.
        entry = partial(JournalEntry, network=self.name, transport=transport, dev_eui=dev_eui,
                        received_at=received_at, body=body, application_id=application,
                        dev_addr=dev_addr, simulated=simulated)
        if "uplink_message" in body:
            up = _object(body["uplink_message"], "uplink_message")
            payload_hex = _b64(up.get("frm_payload"), "uplink_message.frm_payload")
            decoded = up.get("decoded_payload")
            f_cnt, f_port, problem = _uplink_numbers(
                up.get("f_cnt"),
                up.get("f_port"),
                payload_hex is not None or decoded is not None,
                ("uplink_message.f_cnt", "uplink_message.f_port"),
            )
            session = _text(
                up.get("session_key_id"), "uplink_message.session_key_id",
                MAX_LENGTHS["session_key_id"],
            )
            ns_time = parse_time(
                up.get("received_at") or body.get("received_at"), "uplink_message.received_at"
            )
            rx = _gateways(up.get("rx_metadata"), "uplink_message.rx_metadata")
            locations = up.get("locations")
            positions = (
                [p for p in map(_position, locations.values()) if p]
                if isinstance(locations, dict) else []
            )
            return entry(
                dedup_key=f"tts:{dev_eui}:{session or '-'}:{f_cnt}",
                event="up",
                ns_time=ns_time,
                payload_hash=payload_hash(f_port, payload_hex, decoded),
                alt_key=f"{dev_eui}:{f_cnt}",
                session_key_id=session,
                f_cnt=f_cnt,
                f_port=f_port,
                payload_hex=payload_hex,
                decoded_object=decoded,
                rx_metadata=rx,
                dead_reason=problem,
                position=positions[0] if positions else None,
            )
        if "join_accept" in body:
            join = _object(body["join_accept"], "join_accept")
            session = _text(
                join.get("session_key_id"), "join_accept.session_key_id",
                MAX_LENGTHS["session_key_id"],
            )
            ns_time = parse_time(join.get("received_at") or body.get("received_at"), "received_at")
            return entry(
                dedup_key=f"tts:{dev_eui}:join:{session or _body_digest(body)[:16]}",
                event="join",
                ns_time=ns_time,
                payload_hash=_body_digest(body),
                session_key_id=session,
            )
        if "location_solved" in body:
            solved = _object(body["location_solved"], "location_solved")
            position = _position(solved.get("location"))
            if position is None:
                raise BadRequest("location_solved.location needs latitude and longitude")
            ns_time = parse_time(body.get("received_at"), "received_at")
            return entry(
                dedup_key=f"tts:{dev_eui}:location:{_body_digest(body)[:32]}",
                event="location",
                ns_time=ns_time,
                payload_hash=_body_digest(body),
                position=position,
            )
        if any(kind in body for kind in TTS_IGNORED):
            return None
        raise BadRequest(
            "not a The Things Stack uplink, join-accept or location: the body has none of "
            "'uplink_message', 'join_accept' or 'location_solved' (enable only those message "
            "types on the webhook)"
        )


class ChirpStack:
    """ChirpStack v4 HTTP integration (``?event=...``) and MQTT events.

    ChirpStack's HTTP integration posts every event type; ``up``, ``join``, ``status``, ``log``
    and ``location`` are journaled, the others (``ack``, ``txack``, ``integration``) accepted
    and ignored.
    """

    name = "chirpstack"
    events = ("up", "join", "status", "log", "location")
    ignored = ("ack", "txack", "integration")

    def parse(
        self, body: Any, event: str, transport: str, received_at: datetime
    ) -> JournalEntry | None:
        if event in self.ignored:
            return None
        body = _object(body, "the message")
        if event not in self.events:
            raise BadRequest(
                f"event={event[:40]!r} is not a ChirpStack v4 event: expected one of "
                f"{', '.join(self.events + self.ignored)}"
            )
        info = _object(body.get("deviceInfo"), "deviceInfo")
        dev_eui = _eui(info.get("devEui"), "deviceInfo.devEui")
        application = _text(
            info.get("applicationId"), "deviceInfo.applicationId", MAX_LENGTHS["application_id"]
        )
        time_text = body.get("time")
        rx = _gateways(body.get("rxInfo"), "rxInfo")
        if time_text is None:
            ns_times = [str(g["nsTime"]) for g in rx if g.get("nsTime")]
            time_text = min(ns_times) if ns_times else None
        ns_time = parse_time(time_text, "time") if time_text else received_at
        dev_addr = check_dev_addr(body.get("devAddr"), "devAddr")
        dedup = _text(body.get("deduplicationId"), "deduplicationId", 100)
        entry = partial(JournalEntry, network=self.name, transport=transport, dev_eui=dev_eui,
                        received_at=received_at, body=body, application_id=application,
                        dev_addr=dev_addr)
        if event == "up":
            if not dedup:
                raise BadRequest("deduplicationId is missing from the ChirpStack uplink")
            payload_hex = _b64(body.get("data"), "data")
            decoded = body.get("object")
            f_cnt, f_port, problem = _uplink_numbers(
                body.get("fCnt"), body.get("fPort"),
                payload_hex is not None or decoded is not None, ("fCnt", "fPort"),
            )
            return entry(
                dedup_key=f"cs:{dedup}",
                event="up",
                ns_time=ns_time,
                payload_hash=payload_hash(f_port, payload_hex, decoded),
                alt_key=f"{dev_eui}:{f_cnt}",
                f_cnt=f_cnt,
                f_port=f_port,
                payload_hex=payload_hex,
                decoded_object=decoded,
                rx_metadata=rx,
                dead_reason=problem,
            )
        position = None
        if event == "location":
            position = _position(body.get("location"))
            if position is None:
                raise BadRequest("location needs latitude and longitude")
        # join / status / log / location: identified by their deduplicationId when present,
        # else by content.
        identity = dedup or _body_digest(body)[:32]
        return entry(
            dedup_key=f"cs:{event}:{dev_eui}:{identity}",
            event=event,
            ns_time=ns_time,
            payload_hash=_body_digest(body),
            position=position,
        )


register_adapter(TheThingsStack())
register_adapter(ChirpStack())


def parse_message(
    network: str,
    body: Any,
    event: str = "up",
    transport: str = "webhook",
    received_at: datetime | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> JournalEntry | None:
    """A journal entry from one network-server message (BadRequest when it is malformed).

    None for a message type that is accepted but holds nothing to store. A network time no
    uplink can have (before LoRaWAN, or beyond ``max_skew`` ahead of ours) keeps the entry as
    a dead letter with the reason, timed at arrival, so it never becomes a latest value.
    """
    try:
        adapter = ADAPTERS[network]
    except KeyError:
        raise BadRequest(f"unknown network server {network!r}") from None
    received_at = received_at or datetime.now(UTC)
    entry = adapter.parse(body, event, transport, received_at)
    if entry is None:
        return None
    for key in ("dedup_key", "alt_key"):
        check_length(getattr(entry, key), key, MAX_LENGTHS[key])
    problem = time_problem(entry.ns_time, received_at, max_skew)
    if problem:
        entry.dead_reason = entry.dead_reason or problem
        entry.ns_time = received_at
    return entry
