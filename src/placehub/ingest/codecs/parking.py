"""Parking bay sensors: Nwave NPS310 / NPS405 and Bosch TPS110 (occupancy, heartbeat, startup)."""

from __future__ import annotations

from placehub.ingest.codecs.base import Bytes, Decoded, DecodeError, codec

NWAVE_310_RESETS = [None, "watchdog", "power_on", "user_request", "brownout", "other"]
NWAVE_405_RESETS = [
    "rejoining_lorawan_network",
    "watchdog",
    "power_on",
    "user_request",
    None,
    None,
    "brownout",
    "other",
]


def _reset_cause(causes: list[str | None], index: int, name: str) -> str:
    if index >= len(causes) or causes[index] is None:
        raise DecodeError(f"{name}: unknown reset cause {index}")
    return causes[index]  # type: ignore[return-value]


@codec("nwave-nps310", "Nwave NPS310 parking sensor", {1, 2, 3})
def decode_nps310(fport: int, payload: bytes) -> Decoded:
    data = Bytes("nwave-nps310", payload)
    decoded = Decoded()
    if fport in (1, 2):
        data.exact(1)
        decoded.attributes["type"] = "parking_status" if fport == 1 else "heartbeat"
        decoded.add("occupancy", "1", bool(data.u8(0) & 1), source="occupied")
    else:
        data.exact(5)
        decoded.attributes.update(
            type="startup",
            firmware_version=f"{payload[0]}.{payload[1]}.{payload[2]}",
            reset_cause=_reset_cause(NWAVE_310_RESETS, data.u8(3), "nwave-nps310"),
        )
        decoded.add("occupancy", "1", bool(data.u8(4) & 1), source="occupied")
    return decoded


def _previous_duration(compressed: int, decoded: Decoded) -> None:
    """Nwave's compressed duration of the previous state, in minutes, with its error bound."""
    if compressed < 90:
        minutes, error = compressed, 0
    elif compressed < 120:
        minutes, error = 90 + (compressed - 90) * 5, 4
    elif compressed < 127:
        minutes, error = 240 + (compressed - 120) * 60, 59
    else:
        decoded.attributes["previous_state_duration_overflow"] = True
        return
    decoded.attributes["previous_state_duration_error"] = error
    decoded.add(
        "duration", "s", minutes * 60, channel="previous_state", source="previous_state_duration"
    )


@codec("nwave-nps405", "Nwave NPS405 parking sensor", {1, 2, 3, 10})
def decode_nps405(fport: int, payload: bytes) -> Decoded:
    data = Bytes("nwave-nps405", payload)
    decoded = Decoded()
    if fport == 1:
        data.exact(1)
        decoded.attributes["type"] = "parking_status"
        decoded.add("occupancy", "1", bool(data.u8(0) >> 7), source="occupied")
        _previous_duration(data.u8(0) & 0x7F, decoded)
    elif fport == 2:
        data.exact(6)
        temperature = data.s8(2) / 2 + 10
        millivolts = 2500 + data.u8(1) * 4
        critical, low = (2900, 3000) if temperature >= -5 else (2800, 2900)
        decoded.attributes.update(
            type="heartbeat",
            hw_health_status=data.u8(0) & 0x7F,
            battery_health="normal"
            if millivolts >= low
            else "low"
            if millivolts >= critical
            else "critical",
        )
        decoded.add("occupancy", "1", bool(data.u8(0) >> 7), source="occupied")
        decoded.add("temperature", "Cel", temperature, source="temperature")
        decoded.add("battery_voltage", "V", millivolts / 1000, source="battery_voltage")
    elif fport == 3:
        data.exact(5)
        decoded.attributes.update(
            type="startup",
            firmware_version=f"{payload[0]}.{payload[1]}.{payload[2]}",
            reset_cause=_reset_cause(NWAVE_405_RESETS, data.u8(3), "nwave-nps405"),
        )
        decoded.add("occupancy", "1", bool(data.u8(4) & 1), source="occupied")
    else:
        data.exact(5)
        decoded.attributes.update(type="user_registration", tag_id=f"{data.u32(1):X}")
        if data.u8(0) >> 7:
            decoded.add("occupancy", "1", True, source="occupied")
            _previous_duration(data.u8(0) & 0x7F, decoded)
    return decoded


BOSCH_RESETS = [None, "watchdog", "power on", "system request", "other"]


@codec("bosch-tps110", "Bosch TPS110 parking sensor", {1, 2, 3})
def decode_tps110(fport: int, payload: bytes) -> Decoded:
    data = Bytes("bosch-tps110", payload)
    decoded = Decoded()
    if fport == 1:
        data.exact(1)
        decoded.attributes["type"] = "parking status"
        decoded.add("occupancy", "1", bool(data.u8(0) & 1), source="occupied")
    elif fport == 2:
        data.exact(1, 2)
        decoded.attributes["type"] = "heartbeat"
        decoded.add("occupancy", "1", bool(data.u8(0) & 1), source="occupied")
        if len(payload) == 2:
            decoded.add("temperature", "Cel", data.s8(1), source="temperature")
    else:
        data.exact(17)
        codes = [((payload[i + 1] & 0x0F) << 8) | payload[i] for i in (0, 4, 8)]
        decoded.attributes.update(
            type="startup",
            debug_codes=[c for c in codes if c],
            firmware_version=f"{payload[12]}.{payload[13]}.{payload[14]}",
            reset_cause=_reset_cause(BOSCH_RESETS, data.u8(15), "bosch-tps110"),
        )
        decoded.add("occupancy", "1", bool(data.u8(16) & 1), source="occupied")
    return decoded
