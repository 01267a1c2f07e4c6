"""The uplink simulator: vendor byte layouts, TTN/ChirpStack message shapes, sending."""

from __future__ import annotations

import base64
import json
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from placehub.demo.district import District
from placehub.demo.simulator import (
    DeviceState,
    Session,
    Simulator,
    chirpstack_uplink,
    encode_decentlab_pm,
    encode_dragino_ldds75,
    encode_dragino_lse01,
    encode_milesight_em310,
    encode_netvox_ra0715,
    ttn_uplink,
)


@pytest.fixture(scope="module")
def vendor_examples(data_dir: Path) -> dict[tuple[str, str], bytes]:
    """(codec, description) -> payload bytes of the vendors' own uplink examples."""
    data = json.loads((data_dir / "lorawan" / "uplink_examples.json").read_text())
    return {(e["codec"], e["description"]): bytes.fromhex(e["bytes_hex"])
            for e in data["examples"]}


def test_netvox_encoder_matches_vendor_examples(vendor_examples: dict) -> None:
    """RA0715 particulate and NO2 reports are byte for byte the vendor's examples."""
    assert encode_netvox_ra0715(1, 12.0, 100, 200, 700) == vendor_examples[
        ("netvox/ra0715", "Status report - 1")]
    assert encode_netvox_ra0715(6, 12.0, 100, 200, 700) == vendor_examples[
        ("netvox/ra0715", "Status report - 6")]


def test_dragino_ldds75_encoder_matches_vendor_example(vendor_examples: dict) -> None:
    """LDDS75 (firmware 1.1.4+): 3387 mV and 2799 mm give the vendor's example bytes."""
    assert encode_dragino_ldds75(2799, 3387) == vendor_examples[
        ("dragino/ldds75-114", "Distance Detection")]


def test_dragino_lse01_layout() -> None:
    """LSE01: 11 bytes, moisture and temperature x100 and conductivity at the vendor offsets."""
    payload = encode_dragino_lse01(19.57, 24.59, 28200, 3625)
    assert len(payload) == 11
    battery, _external, moisture, temperature, conductivity = struct.unpack(">HhHhH",
                                                                            payload[:10])
    assert (battery, moisture, temperature, conductivity) == (3625, 1957, 2459, 28200)


def test_milesight_em310_channels() -> None:
    """EM310-UDL: battery (01 75), distance little-endian (03 82), position (04 00)."""
    # 92 % = 0x5c; 1234 mm = 0x04d2, sent little-endian; tilted = 1.
    assert encode_milesight_em310(1234, 92, tilted=True) == bytes.fromhex("01755c0382d204040001")


def test_decentlab_pm_encoder_matches_vendor_example(vendor_examples: dict) -> None:
    """DL-PM protocol v2: header, battery, mass concentrations and climate words as the vendor's."""
    example = vendor_examples[("decentlab/dl-pm", "Example 1")]
    payload = encode_decentlab_pm(0x1B50, 3.109, {"pm1": 3.7, "pm2_5": 3.9, "pm4": 3.9,
                                                   "pm10": 3.9},
                                  24.35660461425781, 41.63221740722656, 968.0)
    assert len(payload) == len(example)
    words = struct.unpack(">14H", payload[5:])
    expected = struct.unpack(">14H", example[5:])
    assert payload[:5] == example[:5]
    assert words[:5] == expected[:5]        # battery and the four mass concentrations
    assert words[11:] == expected[11:]      # temperature, humidity, pressure


def test_ttn_and_chirpstack_message_shapes(district: District) -> None:
    """TTN v3 carries upper-case dev_eui, f_cnt and base64 bytes; ChirpStack lower-case devEui."""
    asset = district.bins[0]
    session = Session(f_cnt=5)
    rng = np.random.default_rng(1)
    at = datetime(2026, 11, 20, 12, tzinfo=UTC)
    ttn = ttn_uplink(asset, session, 85, b"\x01\x02", at, rng)
    assert ttn["end_device_ids"]["dev_eui"] == asset.dev_eui.upper()
    assert ttn["uplink_message"]["f_cnt"] == 5
    assert base64.b64decode(ttn["uplink_message"]["frm_payload"]) == b"\x01\x02"
    assert ttn["uplink_message"]["rx_metadata"][0]["rssi"] < 0
    chirp = chirpstack_uplink(asset, session, 2, b"\x03", at, rng)
    assert chirp["deviceInfo"]["devEui"] == asset.dev_eui.lower()
    assert chirp["fCnt"] == 5 and chirp["fPort"] == 2
    assert chirp["deduplicationId"] != chirpstack_uplink(asset, session, 2, b"\x03", at,
                                                         rng)["deduplicationId"]
    assert "fCnt" not in chirpstack_uplink(asset, Session(), 2, b"\x03", at, rng)


def test_simulator_sends_each_device_to_its_network_webhook(district: District,
                                                           data_dir: Path) -> None:
    """Due devices each send one uplink to /ingest/ttn or /ingest/chirpstack, with rising f_cnt."""
    sent: list[tuple[str, dict[str, Any]]] = []

    def post(path: str, body: dict[str, Any]) -> int:
        sent.append((path, body))
        return 200

    assets = [district.bins[0], district.bins[1], district.flowerbeds[0],
              *district.air_stations[:2]]
    simulator = Simulator("http://127.0.0.1:8000", "secret", [DeviceState(a) for a in assets],
                          data_dir, interval=60, post=post)
    simulator.due = dict.fromkeys(simulator.due, 0.0)
    assert simulator.tick() == len(assets)
    assert simulator.tick() == 0  # nobody is due again yet
    for (path, body), asset in zip(sent, assets, strict=True):
        assert path.startswith("/ingest/ttn" if asset.network == "tts" else "/ingest/chirpstack")
        count = body.get("fCnt") or body.get("uplink_message", {}).get("f_cnt")
        assert count == 1
