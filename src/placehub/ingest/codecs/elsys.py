"""Elsys TLV payloads (ERS, ERS CO2, ERS Eye, ERS Sound, EMS, ELT ...): type byte, then value."""

from __future__ import annotations

from collections.abc import Callable

from placehub.ingest.codecs.base import Bytes, Decoded, DecodeError, FunctionCodec, register_codec


def _temperature(d: Bytes, at: int, out: Decoded) -> None:
    out.add("temperature", "Cel", d.s16(at) / 10, source="temperature")


def _humidity(d: Bytes, at: int, out: Decoded) -> None:
    out.add("relative_humidity", "%", d.u8(at), source="humidity")


def _acceleration(d: Bytes, at: int, out: Decoded) -> None:
    for offset, axis in enumerate("xyz"):
        out.add("acceleration", "1", d.s8(at + offset), channel=axis, source=axis)


def _light(d: Bytes, at: int, out: Decoded) -> None:
    out.add("light_level", "1", d.u16(at), source="light")


def _motion(d: Bytes, at: int, out: Decoded) -> None:
    out.add("motion_count", "1", d.u8(at), source="motion")


def _co2(d: Bytes, at: int, out: Decoded) -> None:
    out.add("co2", "[ppm]", d.u16(at), source="co2")


def _vdd(d: Bytes, at: int, out: Decoded) -> None:
    out.add("battery_voltage", "V", d.u16(at) / 1000, source="vdd")


def _analog(d: Bytes, at: int, out: Decoded) -> None:
    out.add("voltage", "V", d.u16(at) / 1000, channel="analog1", source="analog1")


def _gps(d: Bytes, at: int, out: Decoded) -> None:
    d.need(at + 6)
    out.attributes["gps"] = d.data[at : at + 6].hex()


def _pulse1(d: Bytes, at: int, out: Decoded) -> None:
    out.add("pulse_count", "1", d.u16(at), channel="pulse1", source="pulse1")


def _pulse1_abs(d: Bytes, at: int, out: Decoded) -> None:
    out.add("pulse_total", "1", d.u32(at), channel="pulse1", source="pulseAbs")


def _external_temperature(d: Bytes, at: int, out: Decoded) -> None:
    out.add("temperature", "Cel", d.s16(at) / 10, channel="external", source="externalTemperature")


def _digital(d: Bytes, at: int, out: Decoded) -> None:
    out.add("digital_input", "1", d.u8(at), source="digital")


def _distance(d: Bytes, at: int, out: Decoded) -> None:
    out.add("distance", "mm", d.u16(at), source="distance")


def _acc_motion(d: Bytes, at: int, out: Decoded) -> None:
    out.add("motion_count", "1", d.u8(at), channel="accelerometer", source="accMotion")


def _ir_temperature(d: Bytes, at: int, out: Decoded) -> None:
    out.add(
        "temperature", "Cel", d.s16(at) / 10, channel="ir_internal", source="irInternalTemperature"
    )
    out.add(
        "temperature",
        "Cel",
        d.s16(at + 2) / 10,
        channel="ir_external",
        source="irExternalTemperature",
    )


def _occupancy(d: Bytes, at: int, out: Decoded) -> None:
    out.add("occupancy_level", "1", d.u8(at), source="occupancy")


def _waterleak(d: Bytes, at: int, out: Decoded) -> None:
    out.add("water_leak", "1", d.u8(at), source="waterleak")


def _grideye(d: Bytes, at: int, out: Decoded) -> None:
    d.need(at + 65)
    out.attributes["grideye_reference"] = d.u8(at)


def _pressure(d: Bytes, at: int, out: Decoded) -> None:
    # Elsys sends pressure/1000 labelled hPa, but real readings (about 100,000) are in pascals.
    out.add("pressure", "hPa", d.u32(at) / 1000 / 100, source="pressure")


def _sound(d: Bytes, at: int, out: Decoded) -> None:
    out.add("sound_level", "dB", d.u8(at), channel="peak", source="soundPeak")
    out.add("sound_level", "dB", d.u8(at + 1), channel="average", source="soundAvg")


def _pulse2(d: Bytes, at: int, out: Decoded) -> None:
    out.add("pulse_count", "1", d.u16(at), channel="pulse2", source="pulse2")


def _pulse2_abs(d: Bytes, at: int, out: Decoded) -> None:
    out.add("pulse_total", "1", d.u32(at), channel="pulse2", source="pulseAbs2")


def _analog2(d: Bytes, at: int, out: Decoded) -> None:
    out.add("voltage", "V", d.u16(at) / 1000, channel="analog2", source="analog2")


def _external_temperature2(d: Bytes, at: int, out: Decoded) -> None:
    out.add(
        "temperature", "Cel", d.s16(at) / 10, channel="external2", source="externalTemperature2"
    )


def _digital2(d: Bytes, at: int, out: Decoded) -> None:
    out.add("digital_input", "1", d.u8(at), channel="digital2", source="digital2")


def _analog_uv(d: Bytes, at: int, out: Decoded) -> None:
    out.add("voltage", "V", d.s32(at) / 1_000_000, channel="analog_uv", source="analogUv")


def _tvoc(d: Bytes, at: int, out: Decoded) -> None:
    out.add("tvoc", "[ppb]", d.u16(at), source="tvoc")


def _debug(d: Bytes, at: int, out: Decoded) -> None:
    out.attributes["debug"] = d.u32(at)


Reader = Callable[[Bytes, int, Decoded], None]
# type byte -> (value length, reader)
TYPES: dict[int, tuple[int, Reader]] = {
    0x01: (2, _temperature),
    0x02: (1, _humidity),
    0x03: (3, _acceleration),
    0x04: (2, _light),
    0x05: (1, _motion),
    0x06: (2, _co2),
    0x07: (2, _vdd),
    0x08: (2, _analog),
    0x09: (6, _gps),
    0x0A: (2, _pulse1),
    0x0B: (4, _pulse1_abs),
    0x0C: (2, _external_temperature),
    0x0D: (1, _digital),
    0x0E: (2, _distance),
    0x0F: (1, _acc_motion),
    0x10: (4, _ir_temperature),
    0x11: (1, _occupancy),
    0x12: (1, _waterleak),
    0x13: (65, _grideye),
    0x14: (4, _pressure),
    0x15: (2, _sound),
    0x16: (2, _pulse2),
    0x17: (4, _pulse2_abs),
    0x18: (2, _analog2),
    0x19: (2, _external_temperature2),
    0x1A: (1, _digital2),
    0x1B: (4, _analog_uv),
    0x1C: (2, _tvoc),
    0x3D: (4, _debug),
}


def decode_elsys(fport: int, payload: bytes) -> Decoded:
    data = Bytes("elsys", payload)
    if not payload:
        raise DecodeError("elsys: empty payload")
    decoded = Decoded()
    position = 0
    while position < len(payload):
        kind = payload[position]
        if kind == 0x3E:
            # Settings report: a length byte then that many bytes of configuration.
            length = data.u8(position + 1)
            data.need(position + 2 + length, "settings report")
            decoded.attributes["settings"] = payload[position + 2 : position + 2 + length].hex()
            position += 2 + length
            continue
        if kind not in TYPES:
            raise DecodeError(f"elsys: unknown data type {kind:#04x} at byte {position}")
        length, reader = TYPES[kind]
        data.need(position + 1 + length, f"type {kind:#04x}")
        reader(data, position + 1, decoded)
        position += 1 + length
    return decoded


# One TLV format for every Elsys model; each model gets its own codec name for profiles.
MODELS = {
    "elt-2": "ELT-2",
    "elt-ultrasonic": "ELT Ultrasonic",
    "ems": "EMS",
    "ems-desk": "EMS Desk",
    "ems-door": "EMS Door",
    "ems-lite": "EMS Lite",
    "ers": "ERS",
    "ers-co2": "ERS CO2",
    "ers-co2-lite": "ERS CO2 Lite",
    "ers-eye": "ERS Eye",
    "ers-lite": "ERS Lite",
    "ers-sound": "ERS Sound",
    "ers-voc": "ERS VOC",
}
for _model, _label in MODELS.items():
    register_codec(FunctionCodec(f"elsys-{_model}", f"Elsys {_label} (Elsys TLV)", decode_elsys))
