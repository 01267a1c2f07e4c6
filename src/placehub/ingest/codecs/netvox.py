"""Netvox RA0715 / RA0715Y air and water quality (fPort 6 reports, fPort 7 config replies)."""

from __future__ import annotations

from placehub.ingest.codecs.base import Bytes, Decoded, DecodeError, FunctionCodec, register_codec

DEVICES = {5: "RA07Series", 9: "R726Series", 13: "RA07**YSeries", 87: "R718PA", 88: "R718PB"}
# NO2 reported in ppm -> µg/m³ (1 ppb = 1.91 µg/m³ at 20 °C, 1013 mb).
NO2_UG_PER_PPM = 1910.0


def _present(value: int, width: int = 2) -> bool:
    return value != (1 << (8 * width)) - 1


def _signed(value: int) -> int:
    return value - 0x10000 if value & 0x8000 else value


def decode_ra0715(fport: int, payload: bytes) -> Decoded:
    data = Bytes("netvox-ra0715", payload)
    data.exact(11)
    decoded = Decoded(attributes={"device": DEVICES.get(data.u8(1), f"type {data.u8(1)}")})
    if fport == 7:
        command = data.u8(0)
        if command == 0x81:
            decoded.attributes.update(
                command="ConfigReportRsp", status="Success" if data.u8(2) == 0 else "Failure"
            )
        elif command == 0x82:
            decoded.attributes.update(
                command="ReadConfigReportRsp", min_time=data.u16(2), max_time=data.u16(4)
            )
        else:
            raise DecodeError(f"netvox-ra0715: unknown configuration command {command:#04x}")
        return decoded
    report = data.u8(2)
    if report == 0:
        decoded.attributes.update(
            software_version=data.u8(3) / 10,
            hardware_version=data.u8(4),
            date_code="".join(f"{b:02x}" for b in payload[5:9]),
        )
        return decoded
    volt = data.u8(3)
    if volt & 0x80:
        decoded.attributes["low_battery"] = True
    decoded.add("battery_voltage", "V", (volt & 0x7F) / 10, source="Volt")
    v1, v2, v3 = data.u16(4), data.u16(6), data.u16(8)

    def put(
        raw: int,
        quantity: str,
        unit: str,
        scale: float,
        source: str,
        channel: str | None = None,
        signed: bool = False,
    ) -> None:
        if not _present(raw):
            return
        decoded.add(
            quantity,
            unit,
            (_signed(raw) if signed else raw) * scale,
            channel=channel,
            source=source,
        )

    if report in (1, 2):
        put(v1, "pm1", "ug/m3", 1, "PM1_0")
        put(v2, "pm2_5", "ug/m3", 1, "PM2_5")
        put(v3, "pm10", "ug/m3", 1, "PM10")
    elif report == 3:
        put(v1, "particle_count", "/cm3", 1, "um0_3", "um0_3")
        put(v2, "particle_count", "/cm3", 1, "um0_5", "um0_5")
        put(v3, "particle_count", "/cm3", 1, "um1_0", "um1_0")
    elif report == 4:
        put(v1, "particle_count", "/cm3", 1, "um2_5", "um2_5")
        put(v2, "particle_count", "/cm3", 1, "um5_0", "um5_0")
        put(v3, "particle_count", "/cm3", 1, "um10", "um10")
    elif report == 5:
        put(v1, "o3", "[ppm]", 0.1, "O3")
        put(v2, "co", "[ppm]", 0.1, "CO")
        put(v3, "no", "[ppm]", 0.1, "NO")
    elif report == 6:
        put(v1, "no2", "ug/m3", 0.1 * NO2_UG_PER_PPM, "NO2")
        put(v2, "so2", "[ppm]", 0.1, "SO2")
        put(v3, "h2s", "[ppm]", 0.1, "H2S")
    elif report == 7:
        put(v1, "co2", "[ppm]", 0.1, "CO2")
        put(v2, "nh3", "[ppm]", 0.1, "NH3")
        put(v3, "sound_level", "dB", 0.1, "Noise")
    elif report == 8:
        put(v1, "ph", "[pH]", 0.01, "PH")
        put(v2, "temperature", "Cel", 0.01, "TempPH", "ph_probe", signed=True)
        put(v3, "redox_potential", "mV", 1, "ORP", signed=True)
    elif report == 9:
        put(v1, "turbidity", "[NTU]", 0.1, "NTU")
        put(v2, "temperature", "Cel", 0.01, "TempNTU", "ntu_probe", signed=True)
        put(v3, "soil_moisture", "%", 0.01, "EC5SoildHumi")
    elif report == 10:
        put(v1, "soil_moisture", "%", 0.01, "SoildHumi5TE")
        put(v2, "soil_temperature", "Cel", 0.01, "SoildTemp5TE", signed=True)
        if _present(v3):
            decoded.add("water_level", "m", v3 / 1000, source="WaterLevel")
        ec = data.u8(10)
        if _present(ec, 1):
            # dS/m -> µS/cm
            decoded.add("soil_conductivity", "uS/cm", ec / 10 * 1000, source="EC5TE")
    elif report == 11:
        put(v1, "temperature", "Cel", 0.01, "TempLDO", "ldo_probe", signed=True)
        put(v2, "dissolved_oxygen", "mg/L", 0.01, "LDO_DO")
        put(v3, "oxygen_saturation", "%", 0.1, "LDO_Sat")
    elif report == 12:
        put(v1, "temperature", "Cel", 0.01, "Temperature", signed=True)
        put(v2, "relative_humidity", "%", 0.01, "Humidity")
        put(v3, "wind_speed", "m/s", 0.01, "WindSpeed")
    elif report == 13:
        put(v1, "wind_direction", "deg", 1, "WindDirection")
        atmosphere = data.u32(6)
        if atmosphere != 0xFFFFFFFF:
            # Netvox reports kPa with two decimals.
            decoded.add("pressure", "hPa", atmosphere / 100 * 10, source="Atomsphere")
    elif report == 14:
        put(v1, "tvoc", "[ppb]", 0.1, "VOC")
    else:
        raise DecodeError(f"netvox-ra0715: unknown report type {report}")
    return decoded


register_codec(
    FunctionCodec(
        "netvox-ra0715",
        "Netvox RA0715 / RA0715Y / R72615 multi-sensor",
        decode_ra0715,
        frozenset({6, 7}),
    )
)
