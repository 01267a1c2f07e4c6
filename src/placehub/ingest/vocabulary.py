"""The fixed vocabulary of quantities placehub understands, each with one canonical UCUM unit.

Codecs convert vendor units into these units so that every Datastream of one quantity is
comparable across vendors (a Dragino and a Milesight bin sensor both give ``distance`` in mm).
"""

from __future__ import annotations

from dataclasses import dataclass

MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
COUNT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CountObservation"
TRUTH = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_TruthObservation"


@dataclass(frozen=True)
class Quantity:
    """A quantity: its name, canonical UCUM unit, O&M observation type and a description."""

    name: str
    unit: str
    description: str
    observation_type: str = MEASUREMENT
    symbol: str = ""

    @property
    def definition(self) -> str:
        return f"https://placehub.org/def/quantity/{self.name}"


_Q = Quantity
QUANTITIES: dict[str, Quantity] = {
    q.name: q
    for q in [
        _Q(
            "distance",
            "mm",
            "Distance from the sensor to the nearest surface (bin contents, water)",
            symbol="mm",
        ),
        _Q("fill_level", "%", "How full a container is, 0 % empty to 100 % full", symbol="%"),
        _Q("battery_voltage", "V", "Battery voltage of the device", symbol="V"),
        _Q("battery_percent", "%", "Battery charge reported by the device", symbol="%"),
        _Q("temperature", "Cel", "Air or device temperature", symbol="°C"),
        _Q("relative_humidity", "%", "Relative humidity of the air", symbol="%"),
        _Q("soil_moisture", "%", "Volumetric water content of the soil", symbol="%"),
        _Q(
            "soil_moisture_index",
            "1",
            "Soil moisture in the probe's own scaled units (Sentek profile probes)",
            symbol="",
        ),
        _Q("soil_temperature", "Cel", "Soil temperature", symbol="°C"),
        _Q("soil_conductivity", "uS/cm", "Electrical conductivity of the soil", symbol="µS/cm"),
        _Q("soil_water_potential", "kPa", "Soil water potential (suction, negative)", symbol="kPa"),
        _Q(
            "dielectric_permittivity",
            "1",
            "Relative dielectric permittivity of the soil",
            symbol="",
        ),
        _Q("pm1", "ug/m3", "Mass concentration of particles under 1 µm", symbol="µg/m³"),
        _Q("pm2_5", "ug/m3", "Mass concentration of particles under 2.5 µm", symbol="µg/m³"),
        _Q("pm4", "ug/m3", "Mass concentration of particles under 4 µm", symbol="µg/m³"),
        _Q("pm10", "ug/m3", "Mass concentration of particles under 10 µm", symbol="µg/m³"),
        _Q(
            "particle_count",
            "/cm3",
            "Number concentration of particles (channel: size class)",
            symbol="1/cm³",
        ),
        _Q("particle_size", "nm", "Typical particle size", symbol="nm"),
        _Q("co2", "[ppm]", "Carbon dioxide concentration", symbol="ppm"),
        # NO2 in µg/m³ because the English air-quality objectives are written in µg/m³;
        # codecs convert from ppb/ppm with 1 ppb = 1.91 µg/m³ (20 °C, 1013 mb).
        _Q("no2", "ug/m3", "Nitrogen dioxide concentration", symbol="µg/m³"),
        _Q("o3", "[ppm]", "Ozone concentration", symbol="ppm"),
        _Q("co", "[ppm]", "Carbon monoxide concentration", symbol="ppm"),
        _Q("no", "[ppm]", "Nitric oxide concentration", symbol="ppm"),
        _Q("so2", "[ppm]", "Sulphur dioxide concentration", symbol="ppm"),
        _Q("h2s", "[ppm]", "Hydrogen sulphide concentration", symbol="ppm"),
        _Q("nh3", "[ppm]", "Ammonia concentration", symbol="ppm"),
        _Q("tvoc", "[ppb]", "Total volatile organic compounds", symbol="ppb"),
        _Q("pressure", "hPa", "Atmospheric (barometric) pressure", symbol="hPa"),
        _Q("vapour_pressure", "kPa", "Water vapour pressure of the air", symbol="kPa"),
        _Q(
            "gauge_pressure", "bar", "Pressure of a liquid or gas measured by a probe", symbol="bar"
        ),
        _Q("water_level", "m", "Liquid level above the probe", symbol="m"),
        _Q("water_depth", "mm", "Water depth above a submerged probe", symbol="mm"),
        _Q("water_conductivity", "uS/cm", "Electrical conductivity of water", symbol="µS/cm"),
        _Q("turbidity", "[NTU]", "Turbidity of water", symbol="NTU"),
        _Q("dissolved_oxygen", "mg/L", "Dissolved oxygen concentration", symbol="mg/L"),
        _Q("oxygen_saturation", "%", "Dissolved oxygen saturation", symbol="%"),
        _Q("ph", "[pH]", "Acidity (pH)", symbol="pH"),
        _Q("redox_potential", "mV", "Oxidation-reduction potential", symbol="mV"),
        _Q("illuminance", "lx", "Illuminance", symbol="lx"),
        _Q("light_level", "1", "Light level in the sensor's own units", symbol=""),
        _Q("solar_radiation", "W/m2", "Solar irradiance", symbol="W/m²"),
        _Q("par", "umol/m2/s", "Photosynthetically active radiation", symbol="µmol/m²/s"),
        _Q("occupancy", "1", "Whether a space (parking bay, room, desk) is occupied", TRUTH),
        _Q(
            "occupancy_level",
            "1",
            "Occupancy level reported by a room sensor (0 none, 1 entering, 2 occupied)",
            COUNT,
        ),
        _Q("motion_count", "1", "Motion events counted since the last uplink", COUNT),
        _Q("pulse_count", "1", "Pulses counted in the last interval", COUNT),
        _Q("pulse_total", "1", "Cumulative pulse count", COUNT),
        _Q("interval", "s", "Length of the counting or measuring interval", symbol="s"),
        _Q("water_leak", "1", "Water leak detector level (0 dry)", COUNT),
        _Q("sound_level", "dB", "Sound level", symbol="dB"),
        _Q("wind_speed", "m/s", "Wind speed (channel: max, north, east)", symbol="m/s"),
        _Q("wind_direction", "deg", "Wind direction", symbol="°"),
        _Q("precipitation", "mm", "Precipitation in the interval", symbol="mm"),
        _Q("precipitation_total", "mm", "Cumulative precipitation", symbol="mm"),
        _Q("lightning_strikes", "1", "Lightning strikes counted", COUNT),
        _Q("lightning_distance", "km", "Average distance of lightning", symbol="km"),
        _Q("tilt_angle", "deg", "Orientation angle of the device (channel: axis)", symbol="°"),
        _Q("heading", "deg", "Compass heading of the device", symbol="°"),
        _Q(
            "acceleration",
            "1",
            "Accelerometer reading in the sensor's units (channel: axis)",
            symbol="",
        ),
        _Q("electric_current", "mA", "Electric current of a 4-20 mA loop", symbol="mA"),
        _Q("voltage", "V", "Analogue input voltage", symbol="V"),
        _Q("position_fraction", "1", "Potentiometer or leaf-wetness index, 0 to 1", symbol=""),
        _Q("strain", "um/m", "Strain", symbol="µm/m"),
        _Q("displacement", "um", "Displacement (dendrometer, elongation)", symbol="µm"),
        _Q("weight", "g", "Weight on a scale or load cell", symbol="g"),
        _Q("frequency", "Hz", "Vibrating-wire frequency", symbol="Hz"),
        _Q("digital_input", "1", "State of a digital input", COUNT),
        _Q("door_open", "1", "Whether a door or lid is open", TRUTH),
        _Q("tilted", "1", "Whether the device is tilted out of its mounting position", TRUTH),
        _Q("tamper", "1", "Whether the device was taken off its mounting (tamper switch)",
           TRUTH),
        _Q("daylight", "1", "Whether the sensor sees daylight", TRUTH),
        _Q("duration", "s", "Duration of the previous state (parking)", symbol="s"),
    ]
}


def quantity(name: str) -> Quantity:
    """The vocabulary entry for ``name``, or a KeyError naming the known quantities."""
    try:
        return QUANTITIES[name]
    except KeyError:
        raise KeyError(
            f"unknown quantity {name!r}; see docs/ingest.md for the vocabulary"
        ) from None
