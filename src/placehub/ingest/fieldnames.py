"""Known vendor field names: how the device repository's decoders name what they measure.

Used to build the field map of a profile imported from the device repository and of the
built-in model profiles. Two layers: the exact names of the vendor decoders placehub also
decodes natively (keyed by the repository's codec, ``vendor/codec``; their channels and
placeholders agree with the native codecs, so both give the same canonical measurements), and
common names any vendor may use (``temperature``, ``humidity``, ``battery_voltage``, ...).
"""

from __future__ import annotations

import re

from placehub.ingest.codecs import decentlab
from placehub.ingest.fieldmap import FieldSpec

F = FieldSpec
NO_SENSOR = "NoSensor"

_LDDS = {
    "Bat": F("battery_voltage"),
    "Distance": F("distance", absent=(0,)),
    # 0.00 means no DS18B20 probe is connected.
    "TempC_DS18B20": F("temperature", channel="external", absent=(0,)),
}
_LSE01 = {
    "Bat": F("battery_voltage"),
    "TempC_DS18B20": F("temperature", channel="external", absent=(0,)),
    "water_SOIL": F("soil_moisture"),
    "temp_SOIL": F("soil_temperature"),
    "conduct_SOIL": F("soil_conductivity"),
}


def _netvox() -> dict[str, FieldSpec]:
    def n(quantity: str, channel: str | None = None, scale: float = 1.0) -> FieldSpec:
        return F(quantity, channel=channel, scale=scale, absent=(NO_SENSOR,))

    return {
        "Volt": F("battery_voltage"),
        "PM1_0": n("pm1"),
        "PM2_5": n("pm2_5"),
        "PM10": n("pm10"),
        **{k: n("particle_count", k) for k in ("um0_3", "um0_5", "um1_0", "um2_5", "um5_0")},
        "um10": n("particle_count", "um10"),
        "O3": n("o3"),
        "CO": n("co"),
        "NO": n("no"),
        # The vendor reports NO2 in ppm; the vocabulary (and the English objectives) use µg/m³.
        "NO2": n("no2", scale=1910.0),
        "SO2": n("so2"),
        "H2S": n("h2s"),
        "CO2": n("co2"),
        "NH3": n("nh3"),
        "Noise": n("sound_level"),
        "PH": n("ph"),
        "TempPH": n("temperature", "ph_probe"),
        "ORP": n("redox_potential"),
        "NTU": n("turbidity"),
        "TempNTU": n("temperature", "ntu_probe"),
        "EC5SoildHumi": n("soil_moisture"),
        "SoildHumi5TE": n("soil_moisture"),
        "SoildTemp5TE": n("soil_temperature"),
        "WaterLevel": F("water_level", unit="mm", absent=(NO_SENSOR,)),
        "EC5TE": F("soil_conductivity", unit="dS/m", absent=(NO_SENSOR,)),
        "TempLDO": n("temperature", "ldo_probe"),
        "LDO_DO": n("dissolved_oxygen"),
        "LDO_Sat": n("oxygen_saturation"),
        "Temperature": n("temperature"),
        "Humidity": n("relative_humidity"),
        "WindSpeed": n("wind_speed"),
        "WindDirection": n("wind_direction"),
        "Atomsphere": F("pressure", unit="kPa", absent=(NO_SENSOR,)),
        "VOC": n("tvoc"),
    }


_ELSYS = {
    "temperature": F("temperature"),
    "humidity": F("relative_humidity"),
    "x": F("acceleration", channel="x"),
    "y": F("acceleration", channel="y"),
    "z": F("acceleration", channel="z"),
    # Elsys labels pressure hPa, but the values (about 100,000) are pascals.
    "pressure": F("pressure", unit="Pa"),
    "distance": F("distance"),
    "pulse1": F("pulse_count", channel="pulse1"),
    "pulseAbs": F("pulse_total", channel="pulse1"),
    "pulse2": F("pulse_count", channel="pulse2"),
    "pulseAbs2": F("pulse_total", channel="pulse2"),
    "waterleak": F("water_leak"),
    "occupancy": F("occupancy_level"),
    "light": F("light_level"),
    "motion": F("motion_count"),
    "accMotion": F("motion_count", channel="accelerometer"),
    "co2": F("co2"),
    "tvoc": F("tvoc"),
    "soundPeak": F("sound_level", channel="peak"),
    "soundAvg": F("sound_level", channel="average"),
    "vdd": F("battery_voltage", unit="mV"),
    "externalTemperature": F("temperature", channel="external"),
    "externalTemperature2": F("temperature", channel="external2"),
    "irInternalTemperature": F("temperature", channel="ir_internal"),
    "irExternalTemperature": F("temperature", channel="ir_external"),
    "digital": F("digital_input"),
    "digital2": F("digital_input", channel="digital2"),
    "analog1": F("voltage", unit="mV", channel="analog1"),
    "analog2": F("voltage", unit="mV", channel="analog2"),
}
_NWAVE = {
    "occupied": F("occupancy"),
    # Minutes in the vendor's output, seconds in the vocabulary.
    "previous_state_duration": F("duration", unit="min", channel="previous_state"),
    "battery_voltage": F("battery_voltage"),
    "temperature": F("temperature"),
}
_MILESIGHT = {
    "battery": F("battery_percent"),
    "temperature": F("temperature"),
    "humidity": F("relative_humidity"),
    "distance": F("distance"),
    "co2": F("co2"),
    "pressure": F("pressure"),
}


def _decentlab() -> dict[str, dict[str, FieldSpec]]:
    """Decentlab's names from the native decoder's sensor table; units come with each value."""
    codecs: dict[str, dict[str, FieldSpec]] = {}
    for model, sensors in decentlab.MODELS.items():
        fields: dict[str, FieldSpec] = {}
        for sensor in sensors:
            for value in sensor.values:
                if value.quantity is None:
                    continue  # a status or diagnostic word: kept as an unmapped field
                absent: tuple[float, ...] = ()
                if value.absent_when is not None:
                    # The vendor prints what the zero words convert to; placehub leaves it out.
                    absent = (round(value.convert([0] * sensor.length), 9),)
                fields[value.source] = F(value.quantity, channel=value.channel, absent=absent)
        codecs[f"decentlab/{model}"] = fields
    return codecs


# Repository codec ("vendor/codec", without "-codec") -> its decoder's field names.
VENDOR_FIELDS: dict[str, dict[str, FieldSpec]] = {
    **_decentlab(),
    "bosch/tps110-0292": {"occupied": F("occupancy"), "temperature": F("temperature")},
    "dragino/laq4": {
        "Bat_V": F("battery_voltage"),
        "CO2_ppm": F("co2"),
        "Hum_SHT": F("relative_humidity"),
        "TVOC_ppb": F("tvoc"),
        "TempC_SHT": F("temperature"),
    },
    **{f"dragino/{c}": _LDDS for c in ("ldds75", "ldds75-114", "ldds20", "ldds20-114", "ldds45")},
    "dragino/lht65": {
        "BatV": F("battery_voltage"),
        "Hum_SHT": F("relative_humidity"),
        "TempC_DS": F("temperature", channel="external", absent=(327.67,)),
        "TempC_SHT": F("temperature"),
        "ILL_lx": F("illuminance"),
    },
    "dragino/lse01": _LSE01,
    "dragino/lse01-114": _LSE01,
    "ellenex/pls2-l": {"level": F("water_level"), "batteryVoltage": F("battery_voltage")},
    "ellenex/pts2-l": {"pressure": F("gauge_pressure"), "batteryVoltage": F("battery_voltage")},
    "netvox/ra0715": _netvox(),
    "netvox/ra0715y": _netvox(),
    "nwave/nps310sm": _NWAVE,
    "nwave/nps405": _NWAVE,
    **{
        f"elsys/{m}": _ELSYS
        for m in (
            "elt-2",
            "elt-ultrasonic",
            "ems",
            "ems-desk",
            "ems-door",
            "ems-lite",
            "ers",
            "ers-co2",
            "ers-co2-lite",
            "ers-eye",
            "ers-lite",
            "ers-sound",
            "ers-voc",
        )
    },  # fmt: skip
    **{
        f"milesight-iot/{m}": _MILESIGHT
        for m in ("em300-th", "em310-udl", "em500-co2", "em500-udl")
    },
}


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


# Names many vendors use, normalised (lower case, non-alphanumerics as "_").
COMMON_FIELDS: dict[str, FieldSpec] = {
    **{n: F("temperature") for n in ("temperature", "temp", "air_temperature", "tempc",
                                     "temperature_c", "ambient_temperature", "tempc_sht")},
    **{n: F("relative_humidity") for n in ("humidity", "relative_humidity", "air_humidity",
                                           "rh", "hum", "hum_sht")},
    **{n: F("battery_voltage") for n in ("battery_voltage", "batv", "bat_v", "battery_v",
                                         "voltage_battery", "batteryvoltage")},
    **{n: F("battery_percent") for n in ("battery_percent", "battery_level", "batterylevel",
                                         "battery_percentage")},
    **{n: F("distance") for n in ("distance", "distance_mm", "range")},
    **{n: F("co2") for n in ("co2", "co2_ppm", "co2_concentration")},
    **{n: F("tvoc") for n in ("tvoc", "tvoc_ppb", "voc")},
    **{n: F("pressure") for n in ("pressure", "barometric_pressure", "atmospheric_pressure",
                                  "air_pressure")},
    **{n: F("illuminance") for n in ("illuminance", "lux", "light_lux")},
    **{n: F("pm1") for n in ("pm1", "pm1_0", "pm_1")},
    **{n: F("pm2_5") for n in ("pm2_5", "pm25", "pm_2_5")},
    **{n: F("pm10") for n in ("pm10", "pm_10")},
    **{n: F("soil_moisture") for n in ("soil_moisture", "volumetric_water_content", "vwc")},
    **{n: F("soil_temperature") for n in ("soil_temperature", "temp_soil")},
    **{n: F("soil_conductivity") for n in ("soil_conductivity", "conduct_soil", "ec")},
    **{n: F("occupancy") for n in ("occupied", "occupancy_status", "parking_occupied")},
    **{n: F("wind_speed") for n in ("wind_speed", "windspeed")},
    **{n: F("wind_direction") for n in ("wind_direction", "winddirection")},
    "no2": F("no2"),
    "sound_level": F("sound_level"),
    "noise": F("sound_level"),
    "water_level": F("water_level"),
    "precipitation": F("precipitation"),
    "rainfall": F("precipitation"),
    "solar_radiation": F("solar_radiation"),
    "fill_level": F("fill_level"),
    "door_open": F("door_open"),
}  # fmt: skip


def known_field(codec: str, name: str) -> FieldSpec | None:
    """The known meaning of field ``name`` of the repository codec ``vendor/codec``, if any."""
    exact = VENDOR_FIELDS.get(codec)
    if exact is not None:
        return exact.get(name)
    return COMMON_FIELDS.get(_normal(name))
