"""Milesight channel format (EM310-UDL, EM500-UDL, EM300-TH, EM500-CO2, WS301, WS202, ...).

A payload is a run of (channel id, channel type, value) items; values are little-endian.
"""

from __future__ import annotations

from collections.abc import Callable

from placehub.ingest.codecs.base import Bytes, Decoded, DecodeError, FunctionCodec, register_codec

# On/off items (type 0x00) mean something different on each model: channel -> (quantity, source).
ON_OFF_ITEMS: dict[str, dict[int, tuple[str, str]]] = {
    # EM310-UDL position: 0 normal, 1 tilted (bin lid open or sensor knocked).
    "em310-udl": {0x04: ("tilted", "position")},
    # WS301 magnetic contact: magnet 0 closed / 1 open, as a door contact's input; tamper
    # 0 installed / 1 removed.
    "ws301": {0x03: ("digital_input", "magnet_status"), 0x04: ("tamper", "tamper_status")},
    # WS202 PIR and light: a report with the PIR triggered counts one movement; daylight
    # 0 dark / 1 light.
    "ws202": {0x03: ("motion_count", "pir"), 0x04: ("daylight", "daylight")},
}
# Quantities reported as 0/1 numbers rather than booleans (what Datastreams of a door contact
# or a motion counter hold, as the Elsys codecs give them).
COUNTED = {"digital_input", "motion_count"}


def decode_channels(name: str, payload: bytes, on_off: dict[int, tuple[str, str]] | None = None
                    ) -> Decoded:
    data = Bytes(name, payload)
    if not payload:
        raise DecodeError(f"{name}: empty payload")
    decoded = Decoded()
    i = 0
    while i < len(payload):
        data.need(i + 2, "a channel header")
        channel, kind = payload[i], payload[i + 1]
        i += 2
        if channel == 0xFF:
            # Device information channel.
            if kind == 0x01:
                decoded.attributes["ipso_version"] = data.u8(i)
                i += 1
            elif kind in (0x09, 0x0A):
                decoded.attributes["hardware_version" if kind == 0x09 else "firmware_version"] = (
                    f"{data.u8(i)}.{data.u8(i + 1)}"
                )
                i += 2
            elif kind in (0x0B, 0x0F, 0xFE):
                decoded.attributes[
                    {0x0B: "power_on", 0x0F: "lorawan_class", 0xFE: "reset"}[kind]
                ] = data.u8(i)
                i += 1
            elif kind == 0x16:
                data.need(i + 8)
                decoded.attributes["serial_number"] = payload[i : i + 8].hex()
                i += 8
            elif kind == 0xFF:
                decoded.attributes["tsl_version"] = f"{data.u8(i)}.{data.u8(i + 1)}"
                i += 2
            else:
                raise DecodeError(f"{name}: unknown device-information item ff {kind:02x}")
        elif kind == 0x75:
            decoded.add("battery_percent", "%", data.u8(i), source="battery")
            i += 1
        elif kind == 0x67:
            decoded.add("temperature", "Cel", data.s16(i, little=True) / 10, source="temperature")
            i += 2
        elif kind == 0x68:
            decoded.add("relative_humidity", "%", data.u8(i) / 2, source="humidity")
            i += 1
        elif kind == 0x82:
            decoded.add("distance", "mm", data.u16(i, little=True), source="distance")
            i += 2
        elif kind == 0x7D:
            decoded.add("co2", "[ppm]", data.u16(i, little=True), source="co2")
            i += 2
        elif kind == 0x73:
            decoded.add("pressure", "hPa", data.u16(i, little=True) / 10, source="pressure")
            i += 2
        elif kind == 0x00 and on_off and channel in on_off:
            quantity, source = on_off[channel]
            state = data.u8(i) == 1
            decoded.add(quantity, "1", int(state) if quantity in COUNTED else state,
                        source=source)
            i += 1
        else:
            raise DecodeError(
                f"{name}: unknown channel {channel:02x} type {kind:02x} at byte {i - 2}"
            )
    return decoded


MODELS = {
    "em310-udl": "EM310-UDL ultrasonic bin level sensor",
    "em500-udl": "EM500-UDL ultrasonic distance sensor",
    "em300-th": "EM300-TH temperature and humidity sensor",
    "em500-co2": "EM500-CO2 CO2, temperature, humidity and pressure sensor",
    "ws301": "WS301 magnetic contact switch",
    "ws202": "WS202 PIR and light sensor",
}


def _model_decoder(model: str) -> Callable[[int, bytes], Decoded]:
    def decode(fport: int, payload: bytes) -> Decoded:
        return decode_channels(f"milesight-{model}", payload, ON_OFF_ITEMS.get(model))

    return decode


for _model, _label in MODELS.items():
    register_codec(
        FunctionCodec(
            f"milesight-{_model}",
            f"Milesight {_label} (channel format)",
            _model_decoder(_model),
            frozenset({85}),
        )
    )
