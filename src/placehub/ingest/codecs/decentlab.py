"""Decentlab protocol v2: one generic decoder plus the sensor definitions of each model.

Frame: version byte (2), device id (uint16), sensor-present flags (uint16), then for each
present sensor (lowest flag bit first) ``length`` big-endian uint16 words, converted into values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from placehub.ingest.codecs.base import Bytes, Decoded, DecodeError, register_codec

Words = Sequence[int]


@dataclass(frozen=True)
class Value:
    """One value of a sensor: vendor field, canonical quantity (None: an attribute), conversion."""

    source: str
    quantity: str | None
    unit: str
    convert: Callable[[Words], float]
    channel: str | None = None
    # Raw words meaning "no sensor here"; the value is left out rather than reported.
    absent_when: Callable[[Words], bool] | None = None


@dataclass(frozen=True)
class Sensor:
    length: int
    values: tuple[Value, ...]


def V(
    source: str,
    quantity: str | None,
    unit: str,
    convert: Callable[[Words], float],
    channel: str | None = None,
    absent_when: Callable[[Words], bool] | None = None,
) -> Value:
    return Value(source, quantity, unit, convert, channel, absent_when)


BATTERY = Sensor(1, (V("battery_voltage", "battery_voltage", "V", lambda x: x[0] / 1000),))


def _u32(x: Words, i: int) -> int:
    return x[i] + x[i + 1] * 65536


def _adc(x: Words, i: int = 0) -> float:
    """Differential 24-bit ADC reading scaled to -1..1."""
    return _u32(x, i) / 8388608 - 1


def _sht_temperature(x: Words) -> float:
    return 175 * x[0] / 65535 - 45


def _sht_humidity(x: Words) -> float:
    return 100 * x[1] / 65535


def _htu_temperature(x: Words) -> float:
    return 175.72 * x[0] / 65536 - 46.85


def _htu_humidity(x: Words) -> float:
    return 125 * x[1] / 65536 - 6


def _trs_permittivity(x: Words) -> float:
    v = x[0] / 10
    return (0.000000002887 * v**3 - 0.0000208 * v**2 + 0.05276 * v - 43.39) ** 2


def _pressure_range(pmin: float, pmax: float) -> Callable[[Words], float]:
    return lambda x: (x[0] - 16384) / 32768 * (pmax - pmin) + pmin


def _kl66(f0: float, k: float) -> Callable[[Words], float]:
    return lambda x: ((x[0] / x[1] * 32768) ** 2 - f0**2) * k / 1000000


def _ptc_temperature(r: float) -> Callable[[Words], float]:
    def convert(x: Words) -> float:
        ratio = _adc(x) / 2
        resistance = ratio * r / (1 - ratio)
        return -244.83 + 2.3419 * resistance + 0.0010664 * resistance**2

    return convert


def _smtp_moisture(depth: int) -> Callable[[Words], float]:
    return lambda x: (x[2 * depth] - 2500) / 500


def _smtp_temperature(depth: int) -> Callable[[Words], float]:
    return lambda x: (x[2 * depth + 1] - 32768) / 100


def _smtp_absent(depth: int) -> Callable[[Words], bool]:
    # Both words zero: no sensor at this depth.
    return lambda x: x[2 * depth] == 0 and x[2 * depth + 1] == 0


# Air temperature and humidity: Sensirion SHT-type and HTU-type conversions.
SHT_AIR = Sensor(
    2,
    (
        V("air_temperature", "temperature", "Cel", _sht_temperature),
        V("air_humidity", "relative_humidity", "%", _sht_humidity),
    ),
)
HTU_AIR = Sensor(
    2,
    (
        V("air_temperature", "temperature", "Cel", _htu_temperature),
        V("air_humidity", "relative_humidity", "%", _htu_humidity),
    ),
)


def _pr2x(pmin: float, pmax: float) -> tuple[Sensor, ...]:
    """DL-PR21 / DL-PR26 pressure and temperature probes, differing only in pressure range."""
    return (
        Sensor(
            2,
            (
                V("pressure", "gauge_pressure", "bar", _pressure_range(pmin, pmax)),
                V(
                    "temperature",
                    "temperature",
                    "Cel",
                    lambda x: (x[1] - 384) * 0.003125 - 50,
                    "probe",
                ),
            ),
        ),
        BATTERY,
    )


_KL66_F0, _KL66_K = 15383.72, 46.4859
_DWS_F02, _DWS_S, _DWS_M0 = 232263168, 0.000302459, 1370

# Each Decentlab model: its sensors in flag-bit order. Values in canonical units.
MODELS: dict[str, tuple[Sensor, ...]] = {
    "dl-5tm": (
        Sensor(
            2,
            (
                V("dielectric_permittivity", "dielectric_permittivity", "1", lambda x: x[0] / 50),
                V(
                    "volumetric_water_content",
                    "soil_moisture",
                    "%",
                    lambda x: (
                        100
                        * (
                            0.0000043 * (x[0] / 50) ** 3
                            - 0.00055 * (x[0] / 50) ** 2
                            + 0.0292 * (x[0] / 50)
                            - 0.053
                        )
                    ),
                ),
                V("soil_temperature", "soil_temperature", "Cel", lambda x: (x[1] - 400) / 10),
            ),
        ),
        BATTERY,
    ),
    "dl-atm22": (
        Sensor(
            8,
            (
                V("wind_speed", "wind_speed", "m/s", lambda x: (x[0] - 32768) / 100),
                V("wind_direction", "wind_direction", "deg", lambda x: (x[1] - 32768) / 10),
                V("maximum_wind_speed", "wind_speed", "m/s", lambda x: (x[2] - 32768) / 100, "max"),
                V("air_temperature", "temperature", "Cel", lambda x: (x[3] - 32768) / 10),
                V("x_orientation_angle", "tilt_angle", "deg", lambda x: (x[4] - 32768) / 10, "x"),
                V("y_orientation_angle", "tilt_angle", "deg", lambda x: (x[5] - 32768) / 10, "y"),
                V("north_wind_speed", "wind_speed", "m/s", lambda x: (x[6] - 32768) / 100, "north"),
                V("east_wind_speed", "wind_speed", "m/s", lambda x: (x[7] - 32768) / 100, "east"),
            ),
        ),
        BATTERY,
    ),
    "dl-atm41": (
        Sensor(
            17,
            (
                V("solar_radiation", "solar_radiation", "W/m2", lambda x: x[0] - 32768),
                V("precipitation", "precipitation", "mm", lambda x: (x[1] - 32768) / 1000),
                V("lightning_strike_count", "lightning_strikes", "1", lambda x: x[2] - 32768),
                V("lightning_average_distance", "lightning_distance", "km", lambda x: x[3] - 32768),
                V("wind_speed", "wind_speed", "m/s", lambda x: (x[4] - 32768) / 100),
                V("wind_direction", "wind_direction", "deg", lambda x: (x[5] - 32768) / 10),
                V("maximum_wind_speed", "wind_speed", "m/s", lambda x: (x[6] - 32768) / 100, "max"),
                V("air_temperature", "temperature", "Cel", lambda x: (x[7] - 32768) / 10),
                V("vapor_pressure", "vapour_pressure", "kPa", lambda x: (x[8] - 32768) / 100),
                V("atmospheric_pressure", "pressure", "hPa", lambda x: (x[9] - 32768) / 10),
                V("relative_humidity", "relative_humidity", "%", lambda x: (x[10] - 32768) / 10),
                V(
                    "sensor_temperature_internal",
                    "temperature",
                    "Cel",
                    lambda x: (x[11] - 32768) / 10,
                    "internal",
                ),
                V("x_orientation_angle", "tilt_angle", "deg", lambda x: (x[12] - 32768) / 10, "x"),
                V("y_orientation_angle", "tilt_angle", "deg", lambda x: (x[13] - 32768) / 10, "y"),
                V("compass_heading", "heading", "deg", lambda x: x[14] - 32768),
                V(
                    "north_wind_speed",
                    "wind_speed",
                    "m/s",
                    lambda x: (x[15] - 32768) / 100,
                    "north",
                ),
                V("east_wind_speed", "wind_speed", "m/s", lambda x: (x[16] - 32768) / 100, "east"),
            ),
        ),
        BATTERY,
    ),
    "dl-ctd10": (
        Sensor(
            4,
            (
                V("water_depth", "water_depth", "mm", lambda x: x[0] - 32768),
                V("temperature", "temperature", "Cel", lambda x: (x[1] - 32768) / 10, "water"),
                V("electrical_conductivity", "water_conductivity", "uS/cm", lambda x: x[2]),
                V("freezing_flag", None, "", lambda x: x[3]),
            ),
        ),
        BATTERY,
    ),
    "dl-dlr2-002": (
        Sensor(
            4,
            (
                V("pulse_count", "pulse_count", "1", lambda x: x[0]),
                V("pulse_interval", "interval", "s", lambda x: x[1]),
                V("cumulative_pulse_count", "pulse_total", "1", lambda x: _u32(x, 2)),
            ),
        ),
        BATTERY,
    ),
    "dl-dlr2-003": (Sensor(1, (V("input", "digital_input", "1", lambda x: x[0]),)), BATTERY),
    "dl-dlr2-004-10": (
        Sensor(
            1,
            (
                V(
                    "current",
                    "electric_current",
                    "mA",
                    lambda x: 3 * (x[0] - 32768) / 32768 / 2 / 10.0 * 1000,
                ),
            ),
        ),
        BATTERY,
    ),
    "dl-dlr2-005": (Sensor(2, (V("voltage", "voltage", "V", lambda x: 3 * _adc(x)),)), BATTERY),
    "dl-dlr2-006": (
        Sensor(2, (V("potentiometer_position", "position_fraction", "1", lambda x: _adc(x)),)),
        BATTERY,
    ),
    "dl-dlr2-008-2000": (
        Sensor(2, (V("temperature", "temperature", "Cel", _ptc_temperature(2000)),)),
        BATTERY,
    ),
    "dl-dlr2-010": (
        Sensor(
            4,
            (
                V("ch0_pulse_count", "pulse_count", "1", lambda x: x[0], "ch0"),
                V("ch0_pulse_interval", "interval", "s", lambda x: x[1], "ch0"),
                V("ch0_cumulative_pulse_count", "pulse_total", "1", lambda x: _u32(x, 2), "ch0"),
            ),
        ),
        Sensor(
            4,
            (
                V("ch1_pulse_count", "pulse_count", "1", lambda x: x[0], "ch1"),
                V("ch1_pulse_interval", "interval", "s", lambda x: x[1], "ch1"),
                V("ch1_cumulative_pulse_count", "pulse_total", "1", lambda x: _u32(x, 2), "ch1"),
            ),
        ),
        BATTERY,
    ),
    "dl-dlr2-012": (
        Sensor(
            2, (V("strain_gauge", "strain", "um/m", lambda x: _adc(x) / 64 * 4 / 2.02 * 1000000),)
        ),
        BATTERY,
    ),
    "dl-ds18": (
        Sensor(1, (V("temperature", "temperature", "Cel", lambda x: (x[0] - 32768) / 16),)),
        BATTERY,
    ),
    "dl-dws-232263168-302459-1370": (
        Sensor(
            3,
            (
                V("frequency", "frequency", "Hz", lambda x: x[0] / x[1] * 32768),
                V(
                    "weight",
                    "weight",
                    "g",
                    lambda x: ((x[0] / x[1] * 32768) ** 2 - _DWS_F02) * _DWS_S + _DWS_M0,
                ),
            ),
        ),
        BATTERY,
    ),
    "dl-iam": (
        BATTERY,
        SHT_AIR,
        Sensor(1, (V("barometric_pressure", "pressure", "hPa", lambda x: x[0] * 2 / 100),)),
        Sensor(
            2,
            (
                V(
                    "ambient_light_visible_infrared",
                    "light_level",
                    "1",
                    lambda x: x[0],
                    "visible_infrared",
                ),
                V("ambient_light_infrared", "light_level", "1", lambda x: x[1], "infrared"),
                V(
                    "illuminance",
                    "illuminance",
                    "lx",
                    lambda x: (
                        max(max(1.0 * x[0] - 1.64 * x[1], 0.59 * x[0] - 0.86 * x[1]), 0) * 1.5504
                    ),
                ),
            ),
        ),
        Sensor(
            3,
            (
                V("co2_concentration", "co2", "[ppm]", lambda x: x[0] - 32768),
                V("co2_sensor_status", None, "", lambda x: x[1]),
                V("raw_ir_reading", None, "", lambda x: x[2]),
            ),
        ),
        Sensor(1, (V("activity_counter", "motion_count", "1", lambda x: x[0]),)),
        Sensor(1, (V("total_voc", "tvoc", "[ppb]", lambda x: x[0]),)),
    ),
    "dl-itst": (
        Sensor(
            2,
            (
                V(
                    "temperature_target",
                    "temperature",
                    "Cel",
                    lambda x: (x[0] - 1000) / 10,
                    "target",
                ),
                V("temperature_head", "temperature", "Cel", lambda x: (x[1] - 1000) / 10, "head"),
            ),
        ),
        BATTERY,
    ),
    "dl-kl66-1538372-464859": (
        Sensor(
            3,
            (
                V("counter_reading", None, "", lambda x: x[0]),
                V("measurement_interval", None, "", lambda x: x[1] / 32768),
                V("frequency", "frequency", "Hz", lambda x: x[0] / x[1] * 32768),
                V("weight", "weight", "g", _kl66(_KL66_F0, _KL66_K)),
                V(
                    "elongation",
                    "displacement",
                    "um",
                    lambda x: _kl66(_KL66_F0, _KL66_K)(x) * (-1.5) / 1000 * 9.8067,
                ),
                V(
                    "strain",
                    "strain",
                    "um/m",
                    lambda x: _kl66(_KL66_F0, _KL66_K)(x) * (-1.5) / 1000 * 9.8067 / 0.066,
                ),
            ),
        ),
        BATTERY,
    ),
    "dl-lid": (
        Sensor(
            11,
            (
                V("distance_average", "distance", "mm", lambda x: x[0]),
                V("distance_minimum", "distance", "mm", lambda x: x[1], "minimum"),
                V("distance_maximum", "distance", "mm", lambda x: x[2], "maximum"),
                V("distance_median", "distance", "mm", lambda x: x[3], "median"),
                V("distance_10th_percentile", "distance", "mm", lambda x: x[4], "p10"),
                V("distance_25th_percentile", "distance", "mm", lambda x: x[5], "p25"),
                V("distance_75th_percentile", "distance", "mm", lambda x: x[6], "p75"),
                V("distance_90th_percentile", "distance", "mm", lambda x: x[7], "p90"),
                V("distance_most_frequent_value", "distance", "mm", lambda x: x[8], "mode"),
                V("number_of_samples", None, "", lambda x: x[9]),
                V("total_acquisition_time", None, "ms", lambda x: x[10] / 1.024),
            ),
        ),
        BATTERY,
    ),
    "dl-lp8p": (
        HTU_AIR,
        Sensor(
            2,
            (
                V(
                    "barometer_temperature",
                    "temperature",
                    "Cel",
                    lambda x: (x[0] - 5000) / 100,
                    "barometer",
                ),
                V("barometric_pressure", "pressure", "hPa", lambda x: x[1] * 2 / 100),
            ),
        ),
        Sensor(
            8,
            (
                V("co2_concentration", "co2", "[ppm]", lambda x: x[0] - 32768),
                V("co2_concentration_lpf", "co2", "[ppm]", lambda x: x[1] - 32768, "lpf"),
                V(
                    "co2_sensor_temperature",
                    "temperature",
                    "Cel",
                    lambda x: (x[2] - 32768) / 100,
                    "co2_sensor",
                ),
                V("capacitor_voltage_1", None, "V", lambda x: x[3] / 1000),
                V("capacitor_voltage_2", None, "V", lambda x: x[4] / 1000),
                V("co2_sensor_status", None, "", lambda x: x[5]),
                V("raw_ir_reading", None, "", lambda x: x[6]),
                V("raw_ir_reading_lpf", None, "", lambda x: x[7]),
            ),
        ),
        BATTERY,
    ),
    "dl-lws": (
        Sensor(
            2,
            (V("leaf_wetness_index", "position_fraction", "1", lambda x: _adc(x), "leaf_wetness"),),
        ),
        BATTERY,
    ),
    "dl-mbx": (
        Sensor(
            2,
            (
                V("distance", "distance", "mm", lambda x: x[0]),
                V("number_of_valid_samples", None, "", lambda x: x[1]),
            ),
        ),
        BATTERY,
    ),
    "dl-ntu": (
        Sensor(
            5,
            (
                V("status", None, "", lambda x: x[0]),
                V("temperature", "temperature", "Cel", lambda x: (x[1] - 32768) / 100, "water"),
                V("turbidity_in_ntu", "turbidity", "[NTU]", lambda x: x[2] / 10),
                V("turbidity_in_fnu", None, "FNU", lambda x: x[3] / 10),
                V("turbidity_in_mg_l", None, "mg/L", lambda x: x[4] / 10),
            ),
        ),
        BATTERY,
    ),
    "dl-optod": (
        Sensor(
            5,
            (
                V("status", None, "", lambda x: x[0]),
                V("temperature", "temperature", "Cel", lambda x: (x[1] - 32768) / 100, "water"),
                V("oxygen_saturation", "oxygen_saturation", "%", lambda x: (x[2] - 32768) / 100),
                V(
                    "oxygen_concentration",
                    "dissolved_oxygen",
                    "mg/L",
                    lambda x: (x[3] - 32768) / 100,
                ),
                V("oxygen_concentration_alt", None, "ppm", lambda x: (x[4] - 32768) / 100),
            ),
        ),
        BATTERY,
    ),
    "dl-par": (
        Sensor(
            1,
            (
                V(
                    "photosynthetically_active_radiation",
                    "par",
                    "umol/m2/s",
                    lambda x: (x[0] - 32768) / 32768 * 15000,
                ),
            ),
        ),
        BATTERY,
    ),
    "dl-pm": (
        BATTERY,
        Sensor(
            10,
            (
                V("pm1_0_mass_concentration", "pm1", "ug/m3", lambda x: x[0] / 10),
                V("pm2_5_mass_concentration", "pm2_5", "ug/m3", lambda x: x[1] / 10),
                V("pm4_mass_concentration", "pm4", "ug/m3", lambda x: x[2] / 10),
                V("pm10_mass_concentration", "pm10", "ug/m3", lambda x: x[3] / 10),
                V("typical_particle_size", "particle_size", "nm", lambda x: x[4]),
                V(
                    "pm0_5_number_concentration",
                    "particle_count",
                    "/cm3",
                    lambda x: x[5] / 10,
                    "pm0_5",
                ),
                V(
                    "pm1_0_number_concentration",
                    "particle_count",
                    "/cm3",
                    lambda x: x[6] / 10,
                    "pm1",
                ),
                V(
                    "pm2_5_number_concentration",
                    "particle_count",
                    "/cm3",
                    lambda x: x[7] / 10,
                    "pm2_5",
                ),
                V("pm4_number_concentration", "particle_count", "/cm3", lambda x: x[8] / 10, "pm4"),
                V(
                    "pm10_number_concentration",
                    "particle_count",
                    "/cm3",
                    lambda x: x[9] / 10,
                    "pm10",
                ),
            ),
        ),
        HTU_AIR,
        Sensor(1, (V("barometric_pressure", "pressure", "hPa", lambda x: x[0] * 2 / 100),)),
    ),
    "dl-pr21-1-10": _pr2x(-1.0, 10.0),
    "dl-pr26-0-1": _pr2x(0.0, 1.0),
    "dl-pr36-8192": (
        Sensor(
            2,
            (
                V("pressure", "gauge_pressure", "bar", lambda x: (x[0] - 32768) / 8192),
                V("temperature", "temperature", "Cel", lambda x: (x[1] - 32768) / 256, "probe"),
            ),
        ),
        BATTERY,
    ),
    "dl-pr36ctd-8192": (
        Sensor(
            4,
            (
                V("pressure", "gauge_pressure", "bar", lambda x: (x[0] - 32768) / 8192),
                V(
                    "temperature_electronics",
                    "temperature",
                    "Cel",
                    lambda x: (x[1] - 32768) / 256,
                    "electronics",
                ),
                V(
                    "temperature_pt1000",
                    "temperature",
                    "Cel",
                    lambda x: (x[2] - 32768) / 256,
                    "probe",
                ),
                V(
                    "electrical_conductivity",
                    "water_conductivity",
                    "uS/cm",
                    lambda x: (x[3] - 32768) / 1024 * 1000,
                ),
            ),
        ),
        BATTERY,
    ),
    "dl-pyr": (
        Sensor(
            1,
            (
                V(
                    "total_solar_radiation",
                    "solar_radiation",
                    "W/m2",
                    lambda x: (x[0] - 32768) / 32768 * 15000,
                ),
            ),
        ),
        BATTERY,
    ),
    "dl-rhc": (
        Sensor(
            4,
            (
                V("sensor_id", None, "", lambda x: _u32(x, 0)),
                V("air_humidity", "relative_humidity", "%", lambda x: x[2] / 100),
                V("air_temperature", "temperature", "Cel", lambda x: (x[3] - 32768) / 100),
            ),
        ),
        BATTERY,
    ),
    "dl-sht35": (
        SHT_AIR,
        BATTERY,
    ),
    "dl-smtp": (
        Sensor(
            16,
            tuple(
                value
                for depth in range(8)
                for value in (
                    V(
                        f"soil_moisture_at_depth_{depth}",
                        "soil_moisture_index",
                        "1",
                        _smtp_moisture(depth),
                        f"depth_{depth}",
                        absent_when=_smtp_absent(depth),
                    ),
                    V(
                        f"soil_temperature_at_depth_{depth}",
                        "soil_temperature",
                        "Cel",
                        _smtp_temperature(depth),
                        f"depth_{depth}",
                        absent_when=_smtp_absent(depth),
                    ),
                )
            ),
        ),
        BATTERY,
    ),
    "dl-tbrg-01": (
        Sensor(
            4,
            (
                V("precipitation", "precipitation", "mm", lambda x: x[0] * 0.1),
                V("precipitation_interval", "interval", "s", lambda x: x[1]),
                V(
                    "cumulative_precipitation",
                    "precipitation_total",
                    "mm",
                    lambda x: _u32(x, 2) * 0.1,
                ),
            ),
        ),
        BATTERY,
    ),
    "dl-trs11": (
        Sensor(
            2,
            (
                V("dielectric_permittivity", "dielectric_permittivity", "1", _trs_permittivity),
                V(
                    "volumetric_water_content",
                    "soil_moisture",
                    "%",
                    lambda x: 100 * (x[0] / 10 * 0.0003879 - 0.6956),
                ),
                V("soil_temperature", "soil_temperature", "Cel", lambda x: (x[1] - 32768) / 10),
            ),
        ),
        BATTERY,
    ),
    "dl-trs12": (
        Sensor(
            3,
            (
                V("dielectric_permittivity", "dielectric_permittivity", "1", _trs_permittivity),
                V(
                    "volumetric_water_content",
                    "soil_moisture",
                    "%",
                    lambda x: 100 * (x[0] / 10 * 0.0003879 - 0.6956),
                ),
                V("soil_temperature", "soil_temperature", "Cel", lambda x: (x[1] - 32768) / 10),
                V("electrical_conductivity", "soil_conductivity", "uS/cm", lambda x: x[2]),
            ),
        ),
        BATTERY,
    ),
    "dl-trs21": (
        Sensor(
            2,
            (
                V("water_potential", "soil_water_potential", "kPa", lambda x: -(x[0] / 10)),
                V("soil_temperature", "soil_temperature", "Cel", lambda x: (x[1] - 32768) / 10),
            ),
        ),
        BATTERY,
    ),
    "dl-wrm": (
        SHT_AIR,
        Sensor(
            2,
            (
                V(
                    "surface_temperature",
                    "temperature",
                    "Cel",
                    lambda x: (x[0] - 1000) / 10,
                    "surface",
                ),
                V("head_temperature", "temperature", "Cel", lambda x: (x[1] - 1000) / 10, "head"),
            ),
        ),
        BATTERY,
    ),
    "dl-zn1": (
        Sensor(
            2,
            (
                V(
                    "dendrometer_position",
                    "displacement",
                    "um",
                    lambda x: _adc(x) * 20000,
                    "dendrometer",
                ),
            ),
        ),
        BATTERY,
    ),
    "dl-zn2": (
        Sensor(
            4,
            (
                V(
                    "dendrometer_a_position",
                    "displacement",
                    "um",
                    lambda x: _adc(x) * 20000,
                    "dendrometer_a",
                ),
                V(
                    "dendrometer_b_position",
                    "displacement",
                    "um",
                    lambda x: (_u32(x, 0) / 8388608 - _u32(x, 2) / 8388608) * 20000,
                    "dendrometer_b",
                ),
            ),
        ),
        BATTERY,
    ),
}

PROTOCOL_VERSION = 2


@dataclass(frozen=True)
class DecentlabCodec:
    """The generic protocol v2 decoder bound to one model's sensor definitions."""

    model: str
    sensors: tuple[Sensor, ...]
    fports: frozenset[int] | None = field(default=frozenset({1}))

    @property
    def name(self) -> str:
        return f"decentlab-{self.model.removeprefix('dl-')}"

    @property
    def description(self) -> str:
        return f"Decentlab {self.model.upper()} (protocol v2)"

    def decode(self, fport: int, payload: bytes) -> Decoded:
        data = Bytes(self.name, payload)
        data.need(5, "the protocol v2 header")
        if payload[0] != PROTOCOL_VERSION:
            raise DecodeError(f"{self.name}: protocol version {payload[0]} is not 2")
        flags = data.u16(3)
        if flags >> len(self.sensors):
            raise DecodeError(
                f"{self.name}: sensor flags {flags:#06x} name sensors this model does not have"
            )
        decoded = Decoded(attributes={"device_id": data.u16(1), "protocol_version": 2})
        position = 5
        for index, sensor in enumerate(self.sensors):
            if not flags >> index & 1:
                continue
            words = [data.u16(position + 2 * j) for j in range(sensor.length)]
            position += 2 * sensor.length
            for value in sensor.values:
                if value.absent_when is not None and value.absent_when(words):
                    continue
                try:
                    number = value.convert(words)
                except ZeroDivisionError:
                    raise DecodeError(
                        f"{self.name}: {value.source} divides by a zero word"
                    ) from None
                if isinstance(number, float) and not math.isfinite(number):
                    raise DecodeError(f"{self.name}: {value.source} is not a finite number")
                if value.quantity is None:
                    decoded.attributes[value.source] = number
                else:
                    decoded.add(
                        value.quantity,
                        value.unit,
                        number,
                        channel=value.channel,
                        source=value.source,
                    )
        if position != len(payload):
            raise DecodeError(
                f"{self.name}: {len(payload)} bytes given but the sensor flags describe {position}"
            )
        return decoded


for _model, _sensors in MODELS.items():
    register_codec(DecentlabCodec(_model, _sensors))
