"""The uplink simulator: the demo's devices keep reporting through the real ingest webhooks.

Each device's state (bin fill, soil moisture, battery) continues from its latest stored reading
and moves on with the same dynamics as the back-fill; readings are encoded in the vendor's own
byte layout and wrapped as The Things Stack v3 or ChirpStack v4 uplinks, then posted to
``/ingest/ttn`` or ``/ingest/chirpstack`` of the running server, like a network server would.
"""

from __future__ import annotations

import base64
import logging
import math
import secrets
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import Connection, select

from placehub.demo.district import AssetSpec
from placehub.demo.history import (
    BIN_DISTANCES_MM,
    HOURLY_SHARE,
    ROUND_START_HOUR,
    air_reading,
    bin_fill_added,
    emptying_days,
    soil_moisture_change,
)
from placehub.sta.tables import datastreams, observations

log = logging.getLogger(__name__)

# fPorts of each vendor's uplinks.
FPORT = {"milesight": 85, "dragino": 2, "netvox": 6, "decentlab": 1}
SECRET_HEADER = "X-Placehub-Secret"
GATEWAYS = (("rutland-gw-oakham", -0.7268, 52.6698), ("rutland-gw-uppingham", -0.7235, 52.5887),
            ("rutland-gw-ketton", -0.5540, 52.6280), ("rutland-gw-cottesmore", -0.6650, 52.7130))
NO2_UG_PER_PPM = 1910.0


# -- encoders: the vendors' byte layouts (the ingest decoders read them back) -----------------


def encode_milesight_em310(distance_mm: int, battery_percent: int, tilted: bool = False) -> bytes:
    """Milesight channel format: battery (01 75), distance (03 82, LE), position (04 00)."""
    return (bytes([0x01, 0x75, max(0, min(100, battery_percent))])
            + bytes([0x03, 0x82]) + struct.pack("<H", max(0, distance_mm))
            + bytes([0x04, 0x00, 1 if tilted else 0]))


def encode_dragino_ldds75(distance_mm: int, battery_mv: int) -> bytes:
    """LDDS75 firmware 1.1.4+: battery mV, distance mm, interrupt, DS18B20 (none), flag."""
    return struct.pack(">HHBhB", battery_mv & 0x3FFF, max(0, distance_mm), 0, 0, 1)


def encode_dragino_lse01(moisture_pct: float, soil_temp_c: float, conductivity: int,
                         battery_mv: int) -> bytes:
    """LSE01 firmware 1.1.4+: battery, DS18B20 (none), moisture and temperature x100, EC, flags."""
    return struct.pack(">HhHhHB", battery_mv & 0x3FFF, 0, round(moisture_pct * 100),
                       round(soil_temp_c * 100), max(0, min(0xFFFF, conductivity)), 0)


def encode_netvox_ra0715(report: int, battery_v: float, v1: int, v2: int, v3: int) -> bytes:
    """RA0715 status report: version, device type 5, report type, volt/10, three u16 values."""
    def word(value: int) -> int:
        return 0xFFFF if value < 0 else min(value, 0xFFFE)
    return struct.pack(">BBBBHHHB", 0x01, 0x05, report, round(battery_v * 10) & 0x7F,
                       word(v1), word(v2), word(v3), 0x00)


def encode_decentlab_pm(device_id: int, battery_v: float, pm: dict[str, float],
                        temperature: float, humidity: float, pressure_hpa: float) -> bytes:
    """Decentlab protocol v2, DL-PM: battery, 10 PM words, SHT temperature/humidity, pressure."""
    words = [round(battery_v * 1000)]
    mass = [pm.get("pm1", 0.0), pm.get("pm2_5", 0.0), pm.get("pm4", 0.0), pm.get("pm10", 0.0)]
    words += [round(value * 10) for value in mass]
    words += [400]  # typical particle size, nm
    words += [round(value * 40) for value in mass] + [round(mass[-1] * 40)]  # number concs x10
    words += [round((temperature + 46.85) * 65536 / 175.72),
              round((humidity + 6) * 65536 / 125)]
    words += [round(pressure_hpa * 100 / 2)]
    words = [max(0, min(0xFFFF, w)) for w in words]
    return struct.pack(">BHH", 2, device_id, 0x000F) + struct.pack(f">{len(words)}H", *words)


# -- message shapes ----------------------------------------------------------------------------


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _radio(asset: AssetSpec, rng: np.random.Generator) -> tuple[str, float, float]:
    """The nearest demo gateway and a plausible RSSI/SNR for the distance to it."""
    gateway, distance = min(
        ((g[0], math.hypot((g[1] - asset.lon) * 0.61, g[2] - asset.lat) * 111_195) for g in
         GATEWAYS), key=lambda item: item[1])
    rssi = -60 - 20 * math.log10(max(distance, 50) / 50) + float(rng.normal(0, 3))
    snr = 10 - distance / 1000 + float(rng.normal(0, 1.5))
    return gateway, round(max(rssi, -125), 1), round(max(min(snr, 12), -15), 1)


@dataclass
class Session:
    """A device's LoRaWAN session as the network server sees it (frame counter, addresses)."""

    session_key_id: str = field(default_factory=lambda: base64.b64encode(
        secrets.token_bytes(16)).decode())
    dev_addr: str = field(default_factory=lambda: "26" + secrets.token_hex(3).upper())
    f_cnt: int = 0


def ttn_uplink(asset: AssetSpec, session: Session, fport: int, payload: bytes, at: datetime,
               rng: np.random.Generator) -> dict[str, Any]:
    """A The Things Stack v3 uplink message (webhook body) for ``payload``."""
    gateway, rssi, snr = _radio(asset, rng)
    uplink: dict[str, Any] = {
        "session_key_id": session.session_key_id,
        "f_port": fport,
        "frm_payload": base64.b64encode(payload).decode(),
        "rx_metadata": [{"gateway_ids": {"gateway_id": gateway}, "rssi": rssi,
                         "channel_rssi": rssi, "snr": snr, "time": _iso(at)}],
        "settings": {"data_rate": {"lora": {"bandwidth": 125000, "spreading_factor": 7}},
                     "frequency": "868100000"},
        "received_at": _iso(at),
    }
    if session.f_cnt:  # TTS omits zero values
        uplink["f_cnt"] = session.f_cnt
    return {
        "end_device_ids": {
            "device_id": asset.key, "dev_eui": asset.dev_eui.upper(),
            "dev_addr": session.dev_addr,
            "application_ids": {"application_id": f"rutland-{asset.asset_type}".replace("_", "-")},
        },
        "correlation_ids": [f"as:up:{uuid.uuid4().hex}"],
        "received_at": _iso(at + timedelta(milliseconds=40)),
        "uplink_message": uplink,
    }


def chirpstack_uplink(asset: AssetSpec, session: Session, fport: int, payload: bytes,
                      at: datetime, rng: np.random.Generator) -> dict[str, Any]:
    """A ChirpStack v4 ``up`` event (HTTP integration body) for ``payload``."""
    gateway, rssi, snr = _radio(asset, rng)
    message: dict[str, Any] = {
        "deduplicationId": str(uuid.uuid4()),
        "time": _iso(at),
        "deviceInfo": {
            "tenantName": "Rutland County Council",
            "applicationName": f"rutland-{asset.asset_type}".replace("_", "-"),
            "applicationId": str(uuid.uuid5(uuid.NAMESPACE_DNS, asset.asset_type)),
            "deviceProfileName": asset.profile, "deviceName": asset.key,
            "devEui": asset.dev_eui.lower(), "tags": {"demo": "rutland"},
        },
        "devAddr": session.dev_addr.lower(),
        "dr": 5,
        "fPort": fport,
        "data": base64.b64encode(payload).decode(),
        "rxInfo": [{"gatewayId": gateway, "rssi": int(rssi), "snr": snr, "nsTime": _iso(at)}],
        "txInfo": {"frequency": 868100000, "modulation": {"lora": {
            "bandwidth": 125000, "spreadingFactor": 7, "codeRate": "CR_4_5"}}},
    }
    if session.f_cnt:
        message["fCnt"] = session.f_cnt
    return message


# -- device state ------------------------------------------------------------------------------


@dataclass
class DeviceState:
    """What a simulated device measures, carried forward between uplinks."""

    asset: AssetSpec
    fill: float = 0.2
    moisture: float = 30.0
    battery: float = 3.5
    last: datetime = field(default_factory=lambda: datetime.now(UTC))
    session: Session = field(default_factory=Session)


def advance(state: DeviceState, now: datetime, seed: int) -> None:
    """Move a device's state from its last update to ``now`` (fill, emptying, drying)."""
    hours = max(0.0, (now - state.last).total_seconds() / 3600)
    asset = state.asset
    if asset.asset_type == "litter_bin" and hours:
        state.fill += bin_fill_added(asset, now.date(), seed) * HOURLY_SHARE[now.hour] * hours
        round_time = now.replace(hour=ROUND_START_HOUR, minute=0, second=0, microsecond=0)
        if now.weekday() in emptying_days(asset) and state.last < round_time <= now:
            state.fill = 0.02
    elif asset.asset_type == "flowerbed" and hours:
        state.moisture = float(np.clip(
            state.moisture + soil_moisture_change(asset, now.date(), seed) * hours / 24, 8, 48))
    state.last = now


def uplink_for(state: DeviceState, data_dir: Path, now: datetime, seed: int,
               rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    """(webhook path, body) of the device's next uplink."""
    asset = state.asset
    vendor = asset.profile.split("-")[0]
    payload: bytes
    if asset.asset_type == "litter_bin":
        empty_mm, full_mm = BIN_DISTANCES_MM[asset.profile]
        distance = round(empty_mm - min(state.fill, 1.0) * (empty_mm - full_mm)
                         + float(rng.normal(0, 12)))
        if vendor == "milesight":
            payload = encode_milesight_em310(
                distance, round(min(100.0, max(0.0, (state.battery - 3.0) / 0.6 * 100))))
        else:
            payload = encode_dragino_ldds75(distance, round(state.battery * 1000))
    elif asset.asset_type == "flowerbed":
        temperature = 8.0 + 1.2 * math.sin(2 * math.pi * (now.hour - 9) / 24)
        payload = encode_dragino_lse01(state.moisture + float(rng.normal(0, 0.4)), temperature,
                                       round(12 * state.moisture), round(state.battery * 1000))
    else:
        readings = air_reading(data_dir, asset, now, seed)
        if vendor == "netvox":
            # Reports alternate: particulates (type 1), NO2 (type 6) and CO2 (type 7).
            kind = state.session.f_cnt % 3
            if kind == 0:
                payload = encode_netvox_ra0715(1, 12.0, round(readings.get("pm1", -1)),
                                               round(readings.get("pm2_5", -1)),
                                               round(readings.get("pm10", -1)))
            elif kind == 1:
                no2 = readings.get("no2")
                # RA0715 reports NO2 in steps of 0.1 ppm (191 µg/m³): ambient levels read 0.
                payload = encode_netvox_ra0715(
                    6, 12.0, -1 if no2 is None else round(no2 / NO2_UG_PER_PPM * 10), -1, -1)
            else:
                payload = encode_netvox_ra0715(7, 12.0, round(readings.get("co2", 420) * 10),
                                               -1, -1)
        else:
            payload = encode_decentlab_pm(
                int(asset.dev_eui[-4:], 16), 3.6, readings, readings.get("temperature", 8.0),
                readings.get("relative_humidity", 80.0), readings.get("pressure", 1013.0))
    state.session.f_cnt += 1
    if asset.network == "tts":
        return "/ingest/ttn", ttn_uplink(asset, state.session, FPORT[vendor], payload, now, rng)
    return "/ingest/chirpstack?event=up", chirpstack_uplink(
        asset, state.session, FPORT[vendor], payload, now, rng)


def states_from_database(conn: Connection, assets: list[AssetSpec], thing_ids: dict[str, int]
                         ) -> list[DeviceState]:
    """Each device's state from its latest stored readings (so live data continues history)."""
    rows = conn.execute(
        select(datastreams.c.thing_id, datastreams.c.properties,
               datastreams.c.latest_phenomenon_time, observations.c.result_number)
        .join(observations, observations.c.id == datastreams.c.latest_observation_id)
        .where(datastreams.c.thing_id.in_(list(thing_ids.values()))))
    latest: dict[int, dict[str, tuple[float, datetime]]] = {}
    for row in rows:
        quantity = (row.properties or {}).get("quantity")
        if quantity and row.result_number is not None:
            latest.setdefault(int(row.thing_id), {})[quantity] = (
                float(row.result_number), row.latest_phenomenon_time)
    states = []
    for asset in assets:
        if asset.key not in thing_ids:
            continue
        values = latest.get(thing_ids[asset.key], {})
        state = DeviceState(asset)
        if "fill_level" in values:
            state.fill = values["fill_level"][0] / 100
            state.last = values["fill_level"][1]
        if "soil_moisture" in values:
            state.moisture = values["soil_moisture"][0]
            state.last = values["soil_moisture"][1]
        if "battery_voltage" in values and values["battery_voltage"][0] < 5:
            state.battery = values["battery_voltage"][0]
        elif "battery_percent" in values:
            state.battery = 3.0 + values["battery_percent"][0] * 0.006
        states.append(state)
    return states


# -- the loop ----------------------------------------------------------------------------------


class Simulator:
    """Sends each device's uplinks every ``interval`` seconds to a placehub server."""

    def __init__(self, base_url: str, secret: str, states: list[DeviceState], data_dir: Path,
                 interval: float = 600.0, seed: int = 2024,
                 post: Callable[[str, dict[str, Any]], int] | None = None) -> None:
        if interval <= 0:
            raise ValueError(f"interval {interval} <= 0 not understood.")
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.states = states
        self.data_dir = data_dir
        self.interval = interval
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.sent = 0
        self.failed = 0
        self._stop = threading.Event()
        self._client: httpx.Client | None = None
        self._post = post or self._http_post
        # First uplinks spread over the first minute, then one per device per interval.
        now = time.monotonic()
        self.due = {s.asset.key: now + float(self.rng.uniform(1, min(60.0, interval)))
                    for s in states}

    def _http_post(self, path: str, body: dict[str, Any]) -> int:
        if self._client is None:
            self._client = httpx.Client(timeout=5.0, headers={SECRET_HEADER: self.secret})
        return self._client.post(self.base_url + path, json=body).status_code

    def tick(self) -> int:
        """Send every uplink that is due; returns how many were sent."""
        sent = 0
        clock = time.monotonic()
        for state in self.states:
            if self.due[state.asset.key] > clock:
                continue
            now = datetime.now(UTC)
            advance(state, now, self.seed)
            path, body = uplink_for(state, self.data_dir, now, self.seed, self.rng)
            try:
                status = self._post(path, body)
            except httpx.HTTPError as error:
                status = 0
                log.warning("uplink of %s not delivered: %s", state.asset.key, error)
            if 200 <= status < 300:
                self.sent += 1
                sent += 1
            else:
                self.failed += 1
                log.warning("uplink of %s answered %s", state.asset.key, status)
            self.due[state.asset.key] = clock + self.interval * float(self.rng.uniform(0.9, 1.1))
        return sent

    def run(self) -> None:
        """Tick until ``stop`` is called."""
        while not self._stop.wait(1.0):
            self.tick()
        if self._client is not None:
            self._client.close()

    def stop(self) -> None:
        self._stop.set()
