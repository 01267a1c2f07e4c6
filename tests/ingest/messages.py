"""Network-server messages in their real shapes (The Things Stack v3, ChirpStack v4) for tests."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

# Before every fixed clock the suite runs under (the earliest is 2026-03-14): placehub refuses
# uplinks whose network time is ahead of its own clock.
BASE_TIME = datetime(2026, 3, 6, 8, 0, tzinfo=UTC)


def rfc3339(moment: datetime, nanos: bool = True) -> str:
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text + ("123Z" if nanos else "Z")


def tts_uplink(
    dev_eui: str,
    payload: bytes,
    f_cnt: int,
    f_port: int = 2,
    *,
    at: datetime | None = None,
    app: str = "placehub-test",
    session: str = "AXBSH1Pk6Z0G8tE=",
    gateway: str = "rutland-gw-1",
    rssi: float = -97,
    snr: float = 7.5,
    decoded: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A TTS v3 uplink webhook/MQTT body; ``f_cnt`` 0 is omitted as TTS does."""
    at = at or BASE_TIME + timedelta(minutes=f_cnt)
    up: dict[str, Any] = {
        "session_key_id": session,
        "f_port": f_port,
        "frm_payload": base64.b64encode(payload).decode(),
        "rx_metadata": [
            {
                "gateway_ids": {"gateway_id": gateway, "eui": "B827EBFFFE61F8C5"},
                "time": rfc3339(at),
                "timestamp": 2874470547,
                "rssi": rssi,
                "channel_rssi": rssi,
                "snr": snr,
                "uplink_token": "ChIKEAoOcnV0bGFuZC1ndy0xEJOtt9oKGgwIsPbZqAYQ7",
                "received_at": rfc3339(at),
            }
        ],
        "settings": {
            "data_rate": {
                "lora": {"bandwidth": 125000, "spreading_factor": 7, "coding_rate": "4/5"}
            },
            "frequency": "868100000",
            "timestamp": 2874470547,
        },
        "received_at": rfc3339(at),
        "consumed_airtime": "0.061696s",
        "network_ids": {
            "net_id": "000013",
            "tenant_id": "ttn",
            "cluster_id": "eu1",
            "cluster_address": "eu1.cloud.thethings.network",
        },
    }
    if f_cnt:
        up["f_cnt"] = f_cnt
    if decoded is not None:
        up["decoded_payload"] = decoded
    return {
        "end_device_ids": {
            "device_id": f"dev-{dev_eui.lower()}",
            "application_ids": {"application_id": app},
            "dev_eui": dev_eui.upper(),
            "join_eui": "0000000000000000",
            "dev_addr": "260B7A2C",
        },
        "correlation_ids": [f"as:up:{uuid.uuid4().hex}", f"gs:uplink:{uuid.uuid4().hex}"],
        "received_at": rfc3339(at + timedelta(milliseconds=40)),
        "uplink_message": up,
    }


def chirpstack_uplink(
    dev_eui: str,
    payload: bytes,
    f_cnt: int,
    f_port: int = 2,
    *,
    at: datetime | None = None,
    dedup: str | None = None,
    dev_addr: str = "00189440",
    gateway: str = "0016c001f153a14c",
    rssi: int = -36,
    snr: float = 10.5,
    obj: dict[str, Any] | None = None,
    application: str = "placehub-test",
) -> dict[str, Any]:
    """A ChirpStack v4 ``up`` event body (JSON of the Protobuf message: camelCase, zeros omitted)."""
    at = at or BASE_TIME + timedelta(minutes=f_cnt)
    body: dict[str, Any] = {
        "deduplicationId": dedup or str(uuid.uuid4()),
        "time": rfc3339(at, nanos=False),
        "deviceInfo": {
            "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242",
            "tenantName": "Rutland",
            "applicationId": application,
            "applicationName": "Bins",
            "deviceProfileId": "fd6f8e7a-6c1f-4b8e-9c0a-3b1d4c5e6f70",
            "deviceProfileName": "Dragino LDDS75",
            "deviceName": f"bin-{dev_eui[-4:]}",
            "devEui": dev_eui.lower(),
            "deviceClassEnabled": "CLASS_A",
            "tags": {"ward": "Oakham"},
        },
        "devAddr": dev_addr,
        "adr": True,
        "dr": 5,
        "fPort": f_port,
        "confirmed": False,
        "data": base64.b64encode(payload).decode(),
        "rxInfo": [
            {
                "gatewayId": gateway,
                "uplinkId": 4217106255,
                "nsTime": rfc3339(at, nanos=False),
                "rssi": rssi,
                "snr": snr,
                "channel": 2,
                "location": {},
                "context": "EFwMtA==",
                "metadata": {"region_config_id": "eu868"},
                "crcStatus": "CRC_OK",
            }
        ],
        "txInfo": {
            "frequency": 868500000,
            "modulation": {
                "lora": {"bandwidth": 125000, "spreadingFactor": 7, "codeRate": "CR_4_5"}
            },
        },
    }
    if f_cnt:
        body["fCnt"] = f_cnt
    if obj is not None:
        body["object"] = obj
    return body


def chirpstack_event(kind: str, dev_eui: str, at: datetime, **extra: Any) -> dict[str, Any]:
    """A ChirpStack v4 join / status / log event body."""
    body: dict[str, Any] = {
        "time": rfc3339(at, nanos=False),
        "deviceInfo": {
            "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242",
            "applicationId": "placehub-test",
            "deviceName": f"bin-{dev_eui[-4:]}",
            "devEui": dev_eui.lower(),
            "tags": {},
        },
        **extra,
    }
    if kind == "join":
        body.setdefault("deduplicationId", str(uuid.uuid4()))
        body.setdefault("devAddr", "01e2f3a4")
    return body


def ldds75(distance_mm: int, battery_mv: int = 3387) -> bytes:
    """A Dragino LDDS75 (firmware 1.1.4) payload."""
    return battery_mv.to_bytes(2, "big") + distance_mm.to_bytes(2, "big") + bytes([0, 0, 0, 1])
