"""Dragino fixed-layout payloads (LDDS75/LDDS20/LDDS45 distance, LSE01 soil, LAQ4 air, LHT65).

All on fPort 2; the battery is bytes 0-1 big-endian in mV, masked with 0x3FFF where the top
bits carry status.
"""

from __future__ import annotations

from placehub.ingest.codecs.base import Bytes, Decoded, DecodeError, codec

PORT = {2}


def _battery(data: Bytes, decoded: Decoded, masked: bool = True) -> None:
    raw = data.u16(0)
    decoded.add("battery_voltage", "V", (raw & 0x3FFF if masked else raw) / 1000, source="Bat")


def _distance(data: Bytes, decoded: Decoded, at: int) -> None:
    distance = data.u16(at)
    if distance == 0:
        # 0 means no reading from the probe (not connected or nothing in range).
        decoded.attributes["sensor_status"] = "no reading"
        return
    decoded.add("distance", "mm", distance, source="Distance")


def _ds18b20(data: Bytes, decoded: Decoded, at: int) -> None:
    raw = data.s16(at)
    if raw == 0:
        # 0x0000 is sent when no external DS18B20 probe is connected (vendor prints "0.00").
        return
    decoded.add("temperature", "Cel", raw / 10, channel="external", source="TempC_DS18B20")


@codec(
    "dragino-ldds75",
    "Dragino LDDS75 / LDDS20 ultrasonic distance, firmware before 1.1.4 "
    "(4 bytes: battery, distance)",
    PORT,
)
def decode_ldds_v1(fport: int, payload: bytes) -> Decoded:
    data = Bytes("dragino-ldds75", payload)
    data.exact(4, 5)
    decoded = Decoded()
    _battery(data, decoded)
    _distance(data, decoded, 2)
    return decoded


@codec(
    "dragino-ldds75-114",
    "Dragino LDDS75 / LDDS20 / LDDS45 distance, firmware 1.1.4 and later "
    "(8 bytes: battery, distance, interrupt, DS18B20, sensor flag)",
    PORT,
)
def decode_ldds_v114(fport: int, payload: bytes) -> Decoded:
    data = Bytes("dragino-ldds75-114", payload)
    data.exact(8)
    decoded = Decoded()
    _battery(data, decoded)
    _distance(data, decoded, 2)
    decoded.attributes["interrupt_flag"] = data.u8(4)
    _ds18b20(data, decoded, 5)
    decoded.attributes["sensor_flag"] = data.u8(7)
    return decoded


def _lse01_common(data: Bytes, decoded: Decoded) -> None:
    _battery(data, decoded)
    _ds18b20(data, decoded, 2)
    decoded.add("soil_moisture", "%", data.u16(4) / 100, source="water_SOIL")
    decoded.add("soil_temperature", "Cel", data.s16(6) / 100, source="temp_SOIL")
    decoded.add("soil_conductivity", "uS/cm", data.u16(8), source="conduct_SOIL")


@codec(
    "dragino-lse01", "Dragino LSE01 soil moisture, temperature and EC, firmware before 1.1.4", PORT
)
def decode_lse01(fport: int, payload: bytes) -> Decoded:
    data = Bytes("dragino-lse01", payload)
    data.exact(11)
    decoded = Decoded()
    _lse01_common(data, decoded)
    return decoded


@codec(
    "dragino-lse01-114",
    "Dragino LSE01 soil moisture, temperature and EC, firmware 1.1.4 and later (flags byte)",
    PORT,
)
def decode_lse01_114(fport: int, payload: bytes) -> Decoded:
    data = Bytes("dragino-lse01-114", payload)
    data.exact(11)
    decoded = Decoded()
    _lse01_common(data, decoded)
    flags = data.u8(10)
    decoded.attributes.update(
        sensor_flag=flags >> 4, interrupt_flag=flags & 0x0F, hardware_flag=(flags >> 2) & 1
    )
    return decoded


@codec("dragino-laq4", "Dragino LAQ4 air quality: CO2, TVOC, temperature, humidity", PORT)
def decode_laq4(fport: int, payload: bytes) -> Decoded:
    data = Bytes("dragino-laq4", payload)
    data.exact(11)
    mode = (data.u8(2) & 0x7C) >> 2
    decoded = Decoded()
    decoded.add("battery_voltage", "V", data.u16(0) / 1000, source="Bat_V")
    if mode == 1:
        decoded.attributes.update(work_mode="CO2", alarm=bool(data.u8(2) & 0x01))
        decoded.add("tvoc", "[ppb]", data.u16(3), source="TVOC_ppb")
        decoded.add("co2", "[ppm]", data.u16(5), source="CO2_ppm")
        decoded.add("temperature", "Cel", data.s16(7) / 10, source="TempC_SHT")
        decoded.add("relative_humidity", "%", data.u16(9) / 10, source="Hum_SHT")
    elif mode == 31:
        # Alarm-threshold report: configuration, not measurements.
        decoded.attributes.update(
            work_mode="ALARM",
            temperature_min=data.s8(3),
            temperature_max=data.s8(4),
            humidity_min=data.u8(5),
            humidity_max=data.u8(6),
            co2_min=data.u16(7),
            co2_max=data.u16(9),
        )
    else:
        raise DecodeError(f"dragino-laq4: unknown work mode {mode}")
    return decoded


_LHT65_EXT = {
    0: "none",
    1: "Temperature Sensor",
    4: "Interrupt Sensor",
    5: "Illumination Sensor",
    6: "ADC Sensor",
    7: "Interrupt Sensor count",
    8: "Interrupt Sensor count",
    9: "Temperature Sensor (datalog)",
}


@codec("dragino-lht65", "Dragino LHT65 temperature and humidity with external probe", PORT)
def decode_lht65(fport: int, payload: bytes) -> Decoded:
    data = Bytes("dragino-lht65", payload)
    data.exact(11)
    decoded = Decoded()
    raw = data.u16(0)
    decoded.add("battery_voltage", "V", (raw & 0x3FFF) / 1000, source="BatV")
    decoded.attributes["battery_status"] = raw >> 14
    decoded.add("temperature", "Cel", data.s16(2) / 100, source="TempC_SHT")
    decoded.add("relative_humidity", "%", data.u16(4) / 10, source="Hum_SHT")
    ext = data.u8(6) & 0x7F
    decoded.attributes["external_sensor"] = _LHT65_EXT.get(ext, f"type {ext}")
    if ext == 1:
        value = data.s16(7)
        # 0x7FFF means the probe is disconnected.
        if value != 0x7FFF:
            decoded.add("temperature", "Cel", value / 100, channel="external", source="TempC_DS")
    elif ext == 5:
        decoded.add("illuminance", "lx", data.u16(7), source="ILL_lx")
    return decoded
