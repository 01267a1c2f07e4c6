"""Each message judged on its own: hostile TTS and ChirpStack messages get a 4xx naming the field
or become a dead letter with the reason, before they could reach a batch."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from placehub.errors import BadRequest
from placehub.ingest.adapters import parse_message
from placehub.ingest.validation import MAX_DEPTH, parse_body

from .messages import BASE_TIME, chirpstack_uplink, ldds75, tts_uplink

EUI = "A84041000181C0DE"
ARRIVAL = BASE_TIME + timedelta(seconds=1)


def parse(network: str, body: object, event: str = "up"):
    """Parse as the webhook does: bytes, then the adapter, arrival just after BASE_TIME."""
    raw = json.dumps(body).encode()
    return parse_message(network, parse_body(raw), event, "webhook", ARRIVAL)


def refused(network: str, body: object, event: str = "up") -> str:
    with pytest.raises(BadRequest) as caught:
        parse(network, body, event)
    return caught.value.message


def test_nul_in_a_formatters_decoded_payload_names_the_field() -> None:
    """A NUL (\\u0000) in decoded_payload, which PostgreSQL cannot store, is a 400 naming it."""
    body = tts_uplink(EUI, ldds75(500), 3, decoded={"label": "bin\u0000"})
    assert "uplink_message.decoded_payload.label contains a NUL" in refused("tts", body)


def test_unpaired_surrogate_is_refused() -> None:
    """Half a surrogate pair is text no database stores: a 400, not a failed batch."""
    raw = json.dumps(tts_uplink(EUI, ldds75(500), 3, decoded={"x": "a"})).replace(
        '"a"', '"\\ud800"'
    )
    with pytest.raises(BadRequest, match="unpaired surrogate"):
        parse_body(raw.encode())


@pytest.mark.parametrize("f_cnt", [2**63 + 5, -1, 2**32])
def test_frame_counter_outside_32_bits_is_refused(f_cnt: int) -> None:
    """f_cnt beyond LoRaWAN's 32 bits (or negative) is a 400, never an overflow in the batch."""
    body = tts_uplink(EUI, ldds75(500), 3)
    body["uplink_message"]["f_cnt"] = f_cnt
    assert "uplink_message.f_cnt" in refused("tts", body)


def test_overlong_identifiers_are_refused_by_name() -> None:
    """Overlong dev_addr, session_key_id and application_id each name their field."""
    body = tts_uplink(EUI, ldds75(500), 3)
    body["end_device_ids"]["dev_addr"] = "260B7A2C" * 5
    assert "end_device_ids.dev_addr" in refused("tts", body)
    body = tts_uplink(EUI, ldds75(500), 3, session="S" * 500)
    assert "uplink_message.session_key_id" in refused("tts", body)
    body = tts_uplink(EUI, ldds75(500), 3, app="a" * 1000)
    assert "application_id" in refused("tts", body)
    cs = chirpstack_uplink(EUI, ldds75(500), 3, dedup="d" * 400)
    assert "deduplicationId" in refused("chirpstack", cs)


def test_deep_json_is_a_400_not_a_crash() -> None:
    """100,000 nested arrays are refused with the depth limit, without a RecursionError."""
    with pytest.raises(BadRequest, match="nests deeper"):
        parse_body(b"[" * 100_000 + b"]" * 100_000)
    shallow_but_too_deep = json.dumps(
        tts_uplink(EUI, ldds75(500), 3, decoded=_nested(MAX_DEPTH + 5))
    ).encode()
    with pytest.raises(BadRequest, match="decoded_payload"):
        parse_body(shallow_but_too_deep)


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"x": value}
    return value


def test_gateway_list_of_non_objects_is_refused() -> None:
    """rx_metadata ["gw", 5] is a 400 naming the item, not a worker crash later."""
    body = tts_uplink(EUI, ldds75(500), 3)
    body["uplink_message"]["rx_metadata"] = ["gw", 5]
    assert "uplink_message.rx_metadata[0]" in refused("tts", body)


def test_go_zero_time_and_far_future_are_dead_letters_timed_at_arrival() -> None:
    """0001-01-01 and 2999 are kept as dead letters with the reason, at arrival time."""
    zero = tts_uplink(EUI, ldds75(500), 3)
    zero["uplink_message"]["received_at"] = "0001-01-01T00:00:00Z"
    entry = parse("tts", zero)
    assert entry.dead_reason and "before 2015" in entry.dead_reason
    assert entry.ns_time == ARRIVAL and entry.row()["status"] == "dead_letter"
    future = tts_uplink(EUI, ldds75(500), 3, at=BASE_TIME.replace(year=2999))
    entry = parse("tts", future)
    assert entry.dead_reason and "ahead of placehub's clock" in entry.dead_reason
    assert entry.ns_time == ARRIVAL
    slightly_ahead = tts_uplink(EUI, ldds75(500), 3, at=ARRIVAL + timedelta(minutes=2))
    assert parse("tts", slightly_ahead).dead_reason is None


def test_payload_without_port_says_to_fix_the_field_mask() -> None:
    """A field mask without f_port keeps the uplink as a dead letter saying what to add."""
    body = tts_uplink(EUI, ldds75(500), 3)
    del body["uplink_message"]["f_port"]
    entry = parse("tts", body)
    assert entry.dead_reason and "field mask" in entry.dead_reason
    cs = chirpstack_uplink(EUI, ldds75(500), 3)
    del cs["fPort"]
    assert "fPort" in (parse("chirpstack", cs).dead_reason or "")
    mac_only = tts_uplink(EUI, b"", 3)
    del mac_only["uplink_message"]["f_port"]
    assert parse("tts", mac_only).dead_reason is None


@pytest.mark.parametrize("event", ["ack", "txack", "integration"])
def test_chirpstack_events_without_readings_are_accepted_and_ignored(event: str) -> None:
    """ack, txack and integration events parse to nothing (the webhook answers 204)."""
    assert parse("chirpstack", {"deviceInfo": {"devEui": EUI.lower()}}, event) is None


def test_tts_downlink_messages_are_ignored_and_unknown_ones_refused() -> None:
    """TTS downlink events to the same webhook are ignored; a body of no known type is a 400."""
    ids = {"end_device_ids": {"dev_eui": EUI, "application_ids": {"application_id": "a"}}}
    assert parse("tts", {**ids, "downlink_ack": {}}) is None
    assert "uplink_message" in refused("tts", {**ids, "something_else": {}})


def test_numbers_json_cannot_store_are_refused() -> None:
    """NaN, Infinity and 1e999 (read as infinity) are 400s, never a failed batch."""
    for text in (b'{"a": NaN}', b'{"a": Infinity}', b'{"a": 1e999}'):
        with pytest.raises(BadRequest):
            parse_body(text)
