"""Every vendor example in uplink_examples.json through the native codecs, compared field by field."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from placehub.ingest.codecs import REGISTRY, Decoded, DecodeError, decode
from placehub.ingest.profiles import loose_number


@dataclass(frozen=True)
class M:
    """A vendor field that is a measurement: our quantity/channel, and vendor value × factor."""

    quantity: str
    channel: str | None = None
    factor: float = 1.0
    # The vendor prints a placeholder (0, "NoSensor") where we report nothing.
    absent_when: Callable[[Any], bool] | None = None


@dataclass(frozen=True)
class A:
    """A vendor field that is a device fact (attribute), optionally transformed before comparing."""

    name: str
    transform: Callable[[Any], Any] | None = None
    default: Any = None


NO_SENSOR = lambda v: v == "NoSensor"  # noqa: E731
ZERO = lambda v: loose_number(v) == 0  # noqa: E731

# uplink_examples.json codec path -> our codec name
CODEC_OF = {
    "bosch/tps110-0292": "bosch-tps110",
    "dragino/laq4": "dragino-laq4",
    "dragino/ldds20": "dragino-ldds75",
    "dragino/ldds75": "dragino-ldds75",
    "dragino/ldds20-114": "dragino-ldds75-114",
    "dragino/ldds45": "dragino-ldds75-114",
    "dragino/ldds75-114": "dragino-ldds75-114",
    "dragino/lht65": "dragino-lht65",
    "dragino/lse01": "dragino-lse01",
    "dragino/lse01-114": "dragino-lse01-114",
    "ellenex/pls2-l": "ellenex-pls2-l",
    "ellenex/pts2-l": "ellenex-pts2-l",
    "netvox/ra0715": "netvox-ra0715",
    "netvox/ra0715y": "netvox-ra0715",
    "nwave/nps310sm": "nwave-nps310",
    "nwave/nps405": "nwave-nps405",
}


def codec_for(path: str) -> str:
    if path in CODEC_OF:
        return CODEC_OF[path]
    vendor, model = path.split("/")
    return (
        f"decentlab-{model.removeprefix('dl-')}" if vendor == "decentlab" else f"{vendor}-{model}"
    )


_LDDS = {
    "Bat": M("battery_voltage"),
    "Distance": M("distance"),
    "Interrupt_flag": A("interrupt_flag"),
    "Sensor_flag": A("sensor_flag"),
    "TempC_DS18B20": M("temperature", "external", absent_when=ZERO),
}
_LSE01 = {
    "Bat": M("battery_voltage"),
    "TempC_DS18B20": M("temperature", "external", absent_when=ZERO),
    "water_SOIL": M("soil_moisture"),
    "temp_SOIL": M("soil_temperature"),
    "conduct_SOIL": M("soil_conductivity"),
    "Hardware_flag": A("hardware_flag"),
    "Interrupt_flag": A("interrupt_flag"),
    "Sensor_flag": A("sensor_flag"),
}
_NETVOX = {
    "Device": A("device"),
    "SWver": A("software_version"),
    "HWver": A("hardware_version"),
    "Datecode": A("date_code"),
    "Cmd": A("command"),
    "Status": A("status"),
    "MinTime": A("min_time"),
    "MaxTime": A("max_time"),
    "Volt": M("battery_voltage"),
    "PM1_0": M("pm1", absent_when=NO_SENSOR),
    "PM2_5": M("pm2_5", absent_when=NO_SENSOR),
    "PM10": M("pm10", absent_when=NO_SENSOR),
    **{
        k: M("particle_count", k, absent_when=NO_SENSOR)
        for k in ("um0_3", "um0_5", "um1_0", "um2_5", "um5_0", "um10")
    },
    "O3": M("o3", absent_when=NO_SENSOR),
    "CO": M("co", absent_when=NO_SENSOR),
    "NO": M("no", absent_when=NO_SENSOR),
    "NO2": M("no2", factor=1910.0, absent_when=NO_SENSOR),  # ppm -> µg/m³
    "SO2": M("so2", absent_when=NO_SENSOR),
    "H2S": M("h2s", absent_when=NO_SENSOR),
    "CO2": M("co2", absent_when=NO_SENSOR),
    "NH3": M("nh3", absent_when=NO_SENSOR),
    "Noise": M("sound_level", absent_when=NO_SENSOR),
    "PH": M("ph", absent_when=NO_SENSOR),
    "TempPH": M("temperature", "ph_probe", absent_when=NO_SENSOR),
    "ORP": M("redox_potential", absent_when=NO_SENSOR),
    "NTU": M("turbidity", absent_when=NO_SENSOR),
    "TempNTU": M("temperature", "ntu_probe", absent_when=NO_SENSOR),
    "EC5SoildHumi": M("soil_moisture", absent_when=NO_SENSOR),
    "SoildHumi5TE": M("soil_moisture", absent_when=NO_SENSOR),
    "SoildTemp5TE": M("soil_temperature", absent_when=NO_SENSOR),
    "WaterLevel": M("water_level", factor=0.001, absent_when=NO_SENSOR),
    "EC5TE": M("soil_conductivity", factor=1000, absent_when=NO_SENSOR),
    "TempLDO": M("temperature", "ldo_probe", absent_when=NO_SENSOR),
    "LDO_DO": M("dissolved_oxygen", absent_when=NO_SENSOR),
    "LDO_Sat": M("oxygen_saturation", absent_when=NO_SENSOR),
    "Temperature": M("temperature", absent_when=NO_SENSOR),
    "Humidity": M("relative_humidity", absent_when=NO_SENSOR),
    "WindSpeed": M("wind_speed", absent_when=NO_SENSOR),
    "WindDirection": M("wind_direction", absent_when=NO_SENSOR),
    "Atomsphere": M("pressure", factor=10, absent_when=NO_SENSOR),  # kPa -> hPa
    "VOC": M("tvoc", absent_when=NO_SENSOR),
}
_ELSYS = {
    "temperature": M("temperature"),
    "humidity": M("relative_humidity"),
    "x": M("acceleration", "x"),
    "y": M("acceleration", "y"),
    "z": M("acceleration", "z"),
    "pressure": M("pressure", factor=0.01),  # vendor's "hPa" are pascals
    "distance": M("distance"),
    "pulse1": M("pulse_count", "pulse1"),
    "pulseAbs": M("pulse_total", "pulse1"),
    "waterleak": M("water_leak"),
    "occupancy": M("occupancy_level"),
    "light": M("light_level"),
    "motion": M("motion_count"),
    "co2": M("co2"),
    "soundPeak": M("sound_level", "peak"),
    "soundAvg": M("sound_level", "average"),
}
_NWAVE = {
    "type": A("type"),
    "occupied": M("occupancy"),
    "previous_state_duration": M("duration", "previous_state", factor=60),  # minutes -> s
    "previous_state_duration_error": A("previous_state_duration_error"),
    "previous_state_duration_overflow": A("previous_state_duration_overflow", default=False),
    "tag_id": A("tag_id"),
    "battery_voltage": M("battery_voltage"),
    "temperature": M("temperature"),
    "battery_health": A("battery_health"),
    "hw_health_status": A("hw_health_status"),
    "firmware_version": A("firmware_version"),
    "reset_cause": A("reset_cause"),
}
FIELD_MAPS: dict[str, dict[str, M | A]] = {
    "bosch-tps110": {
        "type": A("type"),
        "occupied": M("occupancy"),
        "temperature": M("temperature"),
        "debugCodes": A("debug_codes"),
        "firmwareVersion": A("firmware_version"),
        "resetCause": A("reset_cause"),
    },
    "dragino-laq4": {
        "Alarm_status": A("alarm", lambda v: v == "TRUE"),
        "Bat_V": M("battery_voltage"),
        "CO2_ppm": M("co2"),
        "Hum_SHT": M("relative_humidity"),
        "TVOC_ppb": M("tvoc"),
        "TempC_SHT": M("temperature"),
        "Work_mode": A("work_mode"),
    },
    "dragino-ldds75-114": _LDDS,
    "dragino-lht65": {
        "BatV": M("battery_voltage"),
        "Bat_status": A("battery_status"),
        "Ext_sensor": A("external_sensor"),
        "Hum_SHT": M("relative_humidity"),
        "TempC_DS": M("temperature", "external"),
        "TempC_SHT": M("temperature"),
    },
    "dragino-lse01": _LSE01,
    "dragino-lse01-114": _LSE01,
    "ellenex-pls2-l": {"level": M("water_level"), "batteryVoltage": M("battery_voltage")},
    "ellenex-pts2-l": {"pressure": M("gauge_pressure"), "batteryVoltage": M("battery_voltage")},
    "netvox-ra0715": _NETVOX,
    "nwave-nps310": _NWAVE,
    "nwave-nps405": _NWAVE,
}

# Decentlab: the vendor prints a unit with each value; this is how it converts to ours.
DECENTLAB_UNITS: dict[str | None, tuple[str, float]] = {
    "V": ("V", 1),
    "°C": ("Cel", 1),
    "%": ("%", 1),
    "m⋅s⁻¹": ("m/s", 1),
    "°": ("deg", 1),
    "W⋅m⁻²": ("W/m2", 1),
    "mm": ("mm", 1),
    "km": ("km", 1),
    "kPa": ("kPa", 1),
    "Pa": ("hPa", 0.01),
    "m³⋅m⁻³": ("%", 100),
    "µS⋅cm⁻¹": ("uS/cm", 1),
    "mS⋅cm⁻¹": ("uS/cm", 1000),
    "s": ("s", 1),
    "mA": ("mA", 1),
    "µm⋅m⁻¹": ("um/m", 1),
    "Hz": ("Hz", 1),
    "g": ("g", 1),
    "lx": ("lx", 1),
    "ppm": ("[ppm]", 1),
    "ppb": ("[ppb]", 1),
    "µm": ("um", 1),
    "NTU": ("[NTU]", 1),
    "mg⋅L⁻¹": ("mg/L", 1),
    "µmol⋅m⁻²⋅s⁻¹": ("umol/m2/s", 1),
    "µg⋅m⁻³": ("ug/m3", 1),
    "1⋅cm⁻³": ("/cm3", 1),
    "nm": ("nm", 1),
    "bar": ("bar", 1),
    None: ("1", 1),
}
# Decentlab values whose vendor unit is converted to a different canonical unit.
DECENTLAB_SPECIAL = {"atmospheric_pressure": ("hPa", 10.0)}

# Vendor examples whose expected output is wrong, with why and what the bytes really say.
KNOWN_WRONG = {
    ("dragino/ldds75", "0e1c0b05"): (
        "the vendor decoder only accepts 5-byte frames and reports 'No Sensor' for the 4-byte "
        "frame of the older firmware (its 5-byte branch even puts the battery into 'distance')",
        {"battery_voltage": 3.612, "distance": 2821},
    ),
    ("dragino/ldds20", "0e1c0b05"): (
        "same decoder as the old LDDS75: 'No Sensor' for a valid 4-byte frame",
        {"battery_voltage": 3.612, "distance": 2821},
    ),
}
# Vendor placeholders we deliberately leave out instead of reporting.
DECENTLAB_SENTINELS = {
    # DL-SMTP sends zero words for depths without a sensor; the vendor prints -5 and -327.68 °C.
    "decentlab/dl-smtp": {
        f"soil_{kind}_at_depth_{d}" for kind in ("moisture", "temperature") for d in (6, 7)
    },
}


def load_examples(data_dir: Path) -> list[dict[str, Any]]:
    examples = json.loads((data_dir / "lorawan" / "uplink_examples.json").read_text())["examples"]
    assert len(examples) == 161
    return examples


def example_ids(examples: list[dict[str, Any]]) -> list[str]:
    return [f"{e['codec']}:{e['fPort']}:{e['bytes_hex'][:12]}" for e in examples]


def by_key(decoded: Decoded) -> dict[tuple[str, str | None], Any]:
    """Measurements by (quantity, channel); a repeated key keeps the last value, as vendors do."""
    return {(m.quantity, m.channel): m.value for m in decoded.measurements}


def close(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return ours == theirs
    if isinstance(ours, int | float) and isinstance(theirs, int | float):
        return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-6)
    return bool(ours == theirs)


def compare_mapped(codec: str, expected: dict[str, Any], decoded: Decoded) -> list[str]:
    problems = []
    measurements = by_key(decoded)
    mapping = FIELD_MAPS.get(codec, _ELSYS if codec.startswith("elsys-") else None)
    assert mapping is not None, f"no field mapping for {codec}"
    used: set[tuple[str, str | None]] = set()
    for field, vendor_value in expected.items():
        rule = mapping.get(field)
        if rule is None:
            problems.append(f"vendor field {field} has no mapping")
        elif isinstance(rule, A):
            ours = decoded.attributes.get(rule.name, rule.default)
            theirs = rule.transform(vendor_value) if rule.transform else vendor_value
            if not close(ours, theirs):
                problems.append(f"{field}: ours {ours!r} vendor {theirs!r}")
        else:
            key = (rule.quantity, rule.channel)
            if rule.absent_when and rule.absent_when(vendor_value):
                if key in measurements:
                    problems.append(f"{field}: vendor says absent, we report {measurements[key]}")
                continue
            theirs = loose_number(vendor_value)
            if key not in measurements:
                problems.append(f"{field}: missing {key}")
                continue
            used.add(key)
            if not close(
                measurements[key], theirs * rule.factor if not isinstance(theirs, bool) else theirs
            ):
                problems.append(
                    f"{field}: ours {measurements[key]} vendor {vendor_value} × {rule.factor}"
                )
    extra = set(measurements) - used
    if extra:
        problems.append(f"we report measurements the vendor does not: {sorted(extra, key=str)}")
    return problems


def compare_decentlab(path: str, expected: dict[str, Any], decoded: Decoded) -> list[str]:
    problems = []
    sources = {m.source: m for m in decoded.measurements}
    skipped = DECENTLAB_SENTINELS.get(path, set())
    for field, item in expected.items():
        if field in ("device_id", "protocol_version"):
            if decoded.attributes.get(field) != item:
                problems.append(f"{field}: ours {decoded.attributes.get(field)} vendor {item}")
            continue
        if field in skipped:
            if field in sources:
                problems.append(f"{field}: absent-sensor placeholder should be left out")
            continue
        if field in sources:
            unit, factor = DECENTLAB_SPECIAL.get(field) or DECENTLAB_UNITS[item.get("unit")]
            ours = sources[field]
            if ours.unit != unit:
                problems.append(f"{field}: unit {ours.unit}, vendor {item.get('unit')} -> {unit}")
            if not close(ours.value, item["value"] * factor):
                problems.append(f"{field}: ours {ours.value} vendor {item['value']} × {factor}")
        elif field in decoded.attributes:
            if not close(decoded.attributes[field], item["value"]):
                problems.append(f"{field}: ours {decoded.attributes[field]} vendor {item['value']}")
        else:
            problems.append(f"{field}: missing")
    extra = {m.source for m in decoded.measurements} - set(expected)
    if extra:
        problems.append(f"we report values the vendor does not: {sorted(str(e) for e in extra)}")
    return problems


def test_every_example_decodes_like_the_vendor(data_dir: Path) -> None:
    """All 161 vendor examples give the vendor's values (through the mapping) or the vendor's error."""
    failures = []
    checked = 0
    for example in load_examples(data_dir):
        codec = codec_for(example["codec"])
        payload = bytes.fromhex(example["bytes_hex"])
        label = f"{example['codec']} fPort {example['fPort']} {example['bytes_hex']} ({example['description']})"
        expected = example["expected"]
        if "errors" in expected:
            with pytest.raises(DecodeError):
                decode(codec, example["fPort"], payload)
            checked += 1
            continue
        decoded = decode(codec, example["fPort"], payload)
        wrong = KNOWN_WRONG.get((example["codec"], example["bytes_hex"]))
        if wrong is not None:
            values = {m.quantity: m.value for m in decoded.measurements}
            for quantity, value in wrong[1].items():
                assert close(values[quantity], value), f"{label}: {quantity}"
            checked += 1
            continue
        if example["codec"].startswith("decentlab/"):
            problems = compare_decentlab(example["codec"], expected["data"], decoded)
        else:
            problems = compare_mapped(codec, expected["data"], decoded)
        if problems:
            failures.append(f"{label}: " + "; ".join(problems))
        checked += 1
    assert not failures, "\n".join(failures)
    assert checked == 161


def test_every_example_family_has_a_registered_codec(data_dir: Path) -> None:
    """Each device in the examples maps to a codec in the registry."""
    for example in load_examples(data_dir):
        assert codec_for(example["codec"]) in REGISTRY


@pytest.mark.parametrize(
    ("codec", "hex_payload", "expected"),
    [
        # Milesight documentation examples (channel id, channel type, little-endian value).
        (
            "milesight-em310-udl",
            "01756403828205040000",
            {"battery_percent": 100, "distance": 1410, "tilted": False},
        ),
        (
            "milesight-em300-th",
            "0175640367100104686e",
            {"battery_percent": 100, "temperature": 27.2, "relative_humidity": 55.0},
        ),
        (
            "milesight-em500-co2",
            "01755c03671101046882057d6c02067320 27".replace(" ", ""),
            {
                "battery_percent": 92,
                "temperature": 27.3,
                "relative_humidity": 65.0,
                "co2": 620,
                "pressure": 1001.6,
            },
        ),
        ("milesight-em500-udl", "0175550382f401", {"battery_percent": 85, "distance": 500}),
        # WS202 documentation example: battery 16%, PIR triggered, dark.
        ("milesight-ws202", "017510030001040000",
         {"battery_percent": 16, "motion_count": 1, "daylight": False}),
        # WS301: magnet open (a door contact's input 1), still on its mounting.
        ("milesight-ws301", "017564030001040000",
         {"battery_percent": 100, "digital_input": 1, "tamper": False}),
        ("milesight-ws301", "01755b030000040001",
         {"battery_percent": 91, "digital_input": 0, "tamper": True}),
    ],
)
def test_milesight_channels(codec: str, hex_payload: str, expected: dict[str, Any]) -> None:
    """Milesight channel-format payloads give battery, distance, climate and CO2 values."""
    values = {
        m.quantity: m.value for m in decode(codec, 85, bytes.fromhex(hex_payload)).measurements
    }
    assert values == pytest.approx(expected)


def test_milesight_on_off_items_mean_what_each_model_says() -> None:
    """Channel 03 type 00 is a door on a WS301 and a PIR on a WS202; a model without it says
    the channel is unknown rather than guessing."""
    payload = bytes.fromhex("030001")
    assert [m.quantity for m in decode("milesight-ws301", 85, payload).measurements] == [
        "digital_input"]
    assert [m.quantity for m in decode("milesight-ws202", 85, payload).measurements] == [
        "motion_count"]
    with pytest.raises(DecodeError, match="unknown channel 03 type 00"):
        decode("milesight-em300-th", 85, payload)


def test_milesight_device_information_is_an_attribute() -> None:
    """The ff-channel device information becomes attributes, not measurements."""
    decoded = decode(
        "milesight-em310-udl",
        85,
        bytes.fromhex("ff0bffff0101ff166136c19146020015ff090140ff0a0114ff0f00"),
    )
    assert decoded.measurements == []
    assert decoded.attributes["serial_number"] == "6136c19146020015"
    assert decoded.attributes["firmware_version"] == "1.20"


def test_decode_error_says_codec_and_fport() -> None:
    """A payload on a port the device does not use names the codec and the port."""
    with pytest.raises(DecodeError, match=r"dragino-ldds75-114: fPort 9 .*expected 2"):
        decode("dragino-ldds75-114", 9, bytes.fromhex("0d3b0aef00000001"))


ALL_CODECS = sorted(c.name for c in REGISTRY)


@pytest.mark.parametrize("name", ALL_CODECS)
@settings(max_examples=60, deadline=None)
@given(payload=st.binary(max_size=80), fport=st.integers(min_value=0, max_value=255))
def test_random_bytes_never_crash_a_codec(name: str, payload: bytes, fport: int) -> None:
    """Random bytes on every fPort give measurements or a DecodeError, never another exception."""
    codec = REGISTRY.get(name)
    ports = sorted(codec.fports) if codec.fports else [fport]
    for port in {*ports, fport}:
        if codec.fports and port not in codec.fports:
            with pytest.raises(DecodeError):
                decode(name, port, payload)
            continue
        try:
            decoded = codec.decode(port, payload)
        except DecodeError as error:
            assert name.split("-")[0] in str(error) or "elsys" in str(error)
            continue
        for measurement in decoded.measurements:
            assert not (isinstance(measurement.value, float) and math.isnan(measurement.value))
