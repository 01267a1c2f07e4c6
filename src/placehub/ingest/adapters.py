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
from datetime import UTC, datetime
from typing import Any, Protocol

from placehub.errors import BadRequest
from placehub.ingest.journal import JournalEntry, normalise_eui, payload_hash


class NetworkAdapter(Protocol):
    """Parses one network server's messages."""

    @property
    def name(self) -> str: ...

    def parse(
        self, body: Any, event: str, transport: str, received_at: datetime
    ) -> JournalEntry: ...


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
    except ValueError:
        raise BadRequest(f"{what}: {value!r} is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


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
        raise BadRequest(f"{what} must be a whole number, got {value!r}") from None


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


def _body_digest(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


class TheThingsStack:
    """The Things Stack v3 (TTN): webhook bodies and MQTT ``v3/{app}/devices/{id}/up`` messages."""

    name = "tts"

    def parse(self, body: Any, event: str, transport: str, received_at: datetime) -> JournalEntry:
        body = _object(body, "the message")
        ids = _object(body.get("end_device_ids"), "end_device_ids")
        dev_eui = _eui(ids.get("dev_eui"), "end_device_ids.dev_eui")
        application = (ids.get("application_ids") or {}).get("application_id")
        if "uplink_message" in body:
            up = _object(body["uplink_message"], "uplink_message")
            f_cnt = _int(up.get("f_cnt"), "uplink_message.f_cnt", 0)  # omitted when 0
            f_port = _int(up.get("f_port"), "uplink_message.f_port", 0)
            payload_hex = _b64(up.get("frm_payload"), "uplink_message.frm_payload")
            session = up.get("session_key_id")
            ns_time = parse_time(
                up.get("received_at") or body.get("received_at"), "uplink_message.received_at"
            )
            decoded = up.get("decoded_payload")
            rx = up.get("rx_metadata") or []
            if not isinstance(rx, list):
                raise BadRequest("uplink_message.rx_metadata must be a list")
            return JournalEntry(
                dedup_key=f"tts:{dev_eui}:{session or '-'}:{f_cnt}",
                network=self.name,
                transport=transport,
                event="up",
                dev_eui=dev_eui,
                ns_time=ns_time,
                received_at=received_at,
                body=body,
                payload_hash=payload_hash(f_port, payload_hex, decoded),
                application_id=application,
                dev_addr=ids.get("dev_addr"),
                session_key_id=session,
                f_cnt=f_cnt,
                f_port=f_port,
                payload_hex=payload_hex,
                decoded_object=decoded,
                rx_metadata=rx,
            )
        if "join_accept" in body:
            join = _object(body["join_accept"], "join_accept")
            session = join.get("session_key_id")
            ns_time = parse_time(join.get("received_at") or body.get("received_at"), "received_at")
            return JournalEntry(
                dedup_key=f"tts:{dev_eui}:join:{session or _body_digest(body)[:16]}",
                network=self.name,
                transport=transport,
                event="join",
                dev_eui=dev_eui,
                ns_time=ns_time,
                received_at=received_at,
                body=body,
                payload_hash=_body_digest(body),
                application_id=application,
                dev_addr=ids.get("dev_addr"),
                session_key_id=session,
            )
        raise BadRequest(
            "not a The Things Stack uplink or join-accept: the body has neither "
            "'uplink_message' nor 'join_accept' (enable only those message types on the webhook)"
        )


class ChirpStack:
    """ChirpStack v4 HTTP integration (``?event=up|join|status|log``) and MQTT events."""

    name = "chirpstack"
    events = ("up", "join", "status", "log")

    def parse(self, body: Any, event: str, transport: str, received_at: datetime) -> JournalEntry:
        body = _object(body, "the message")
        if event not in self.events:
            raise BadRequest(f"event={event!r} is not handled: use one of {', '.join(self.events)}")
        info = _object(body.get("deviceInfo"), "deviceInfo")
        dev_eui = _eui(info.get("devEui"), "deviceInfo.devEui")
        application = info.get("applicationId")
        time_text = body.get("time")
        rx = body.get("rxInfo") or []
        if not isinstance(rx, list):
            raise BadRequest("rxInfo must be a list")
        if time_text is None:
            ns_times = [str(g["nsTime"]) for g in rx if isinstance(g, dict) and g.get("nsTime")]
            time_text = min(ns_times) if ns_times else None
        ns_time = parse_time(time_text, "time") if time_text else received_at
        dev_addr = body.get("devAddr")
        if event == "up":
            dedup = body.get("deduplicationId")
            if not isinstance(dedup, str) or not dedup:
                raise BadRequest("deduplicationId is missing from the ChirpStack uplink")
            f_cnt = _int(body.get("fCnt"), "fCnt", 0)
            f_port = _int(body.get("fPort"), "fPort", 0)
            payload_hex = _b64(body.get("data"), "data")
            decoded = body.get("object")
            return JournalEntry(
                dedup_key=f"cs:{dedup}",
                network=self.name,
                transport=transport,
                event="up",
                dev_eui=dev_eui,
                ns_time=ns_time,
                received_at=received_at,
                body=body,
                payload_hash=payload_hash(f_port, payload_hex, decoded),
                alt_key=f"{dev_eui}:{(dev_addr or '').upper()}:{f_cnt}" if dev_addr else None,
                application_id=application,
                dev_addr=dev_addr,
                f_cnt=f_cnt,
                f_port=f_port,
                payload_hex=payload_hex,
                decoded_object=decoded,
                rx_metadata=rx,
            )
        # join / status / log: identified by their deduplicationId when present, else content.
        identity = body.get("deduplicationId") or _body_digest(body)[:32]
        return JournalEntry(
            dedup_key=f"cs:{event}:{dev_eui}:{identity}",
            network=self.name,
            transport=transport,
            event=event,
            dev_eui=dev_eui,
            ns_time=ns_time,
            received_at=received_at,
            body=body,
            payload_hash=_body_digest(body),
            application_id=application,
            dev_addr=dev_addr,
        )


register_adapter(TheThingsStack())
register_adapter(ChirpStack())


def parse_message(
    network: str,
    body: Any,
    event: str = "up",
    transport: str = "webhook",
    received_at: datetime | None = None,
) -> JournalEntry:
    """A journal entry from one network-server message (BadRequest when it is malformed)."""
    try:
        adapter = ADAPTERS[network]
    except KeyError:
        raise BadRequest(f"unknown network server {network!r}") from None
    return adapter.parse(body, event, transport, received_at or datetime.now(UTC))
