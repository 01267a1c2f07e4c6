"""Field maps: a vendor's decoded object (JavaScript codec or network server) -> measurements.

Vendor decoders name and type their fields freely: ``"Distance": "2799 mm"``, ``"Bat": 3.387``,
``"air_temperature": {"value": 23.8, "unit": "°C"}``, ``"TempC_DS18B20": "0.00"`` for "no probe".
A :class:`FieldMap` says, per field name (dotted for nested objects), which quantity it is, in
which unit the vendor gives it, a scale and a channel, and which vendor values mean "no reading".
Fields it does not map are returned as they are, so that nothing the device said is dropped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from placehub.ingest.codecs.base import Measurement
from placehub.ingest.vocabulary import QUANTITIES

_NUMBER = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def loose_number(value: Any) -> float | bool | None:
    """A number from a loosely typed vendor value ("2799 mm", "24.1", 3, True); None if absent."""
    return loose_reading(value)[0]


def loose_reading(value: Any) -> tuple[float | bool | None, str | None]:
    """The number in a vendor value and the unit written after it ("2799 mm" -> 2799.0, "mm")."""
    if isinstance(value, bool):
        return value, None
    if isinstance(value, int | float):
        return (value if math.isfinite(value) else None), None
    if isinstance(value, str):
        if value.strip().upper() == "TRUE":
            return True, None
        if value.strip().upper() == "FALSE":
            return False, None
        match = _NUMBER.match(value)
        if match is None:
            return None, None
        number = float(match.group(1))
        return (number if math.isfinite(number) else None), (match.group(2) or None)
    return None, None


# Vendor spellings of units -> the UCUM codes the vocabulary uses.
UNIT_ALIASES: dict[str, str] = {
    "°C": "Cel", "℃": "Cel", "C": "Cel", "degC": "Cel", "Cel": "Cel", "celsius": "Cel",
    "°F": "[degF]", "F": "[degF]",
    "%": "%", "%RH": "%", "% RH": "%", "percent": "%",
    "V": "V", "mV": "mV", "volt": "V",
    "mm": "mm", "cm": "cm", "m": "m", "km": "km",
    "Pa": "Pa", "hPa": "hPa", "kPa": "kPa", "mbar": "mbar", "bar": "bar",
    "ppm": "[ppm]", "ppb": "[ppb]",
    "µg/m³": "ug/m3", "µg⋅m⁻³": "ug/m3", "ug/m3": "ug/m3", "µg/m3": "ug/m3",
    "m³⋅m⁻³": "m3/m3", "m3/m3": "m3/m3",
    "µS⋅cm⁻¹": "uS/cm", "µS/cm": "uS/cm", "uS/cm": "uS/cm",
    "mS⋅cm⁻¹": "mS/cm", "mS/cm": "mS/cm", "dS/m": "dS/m",
    "m⋅s⁻¹": "m/s", "m/s": "m/s", "km/h": "km/h",
    "°": "deg", "deg": "deg", "degrees": "deg",
    "W⋅m⁻²": "W/m2", "W/m²": "W/m2", "W/m2": "W/m2",
    "lx": "lx", "lux": "lx",
    "µmol⋅m⁻²⋅s⁻¹": "umol/m2/s", "umol/m2/s": "umol/m2/s",
    "1⋅cm⁻³": "/cm3", "/cm3": "/cm3", "#/cm³": "/cm3",
    "nm": "nm", "µm": "um", "um": "um", "µm⋅m⁻¹": "um/m", "um/m": "um/m",
    "Hz": "Hz", "g": "g", "kg": "kg",
    "s": "s", "ms": "ms", "min": "min", "h": "h",
    "mA": "mA", "A": "A",
    "NTU": "[NTU]", "mg⋅L⁻¹": "mg/L", "mg/L": "mg/L", "mg/l": "mg/L",
    "dB": "dB", "dBA": "dB", "pH": "[pH]",
}  # fmt: skip

# (from, to) -> factor, for units that differ from the vocabulary's canonical one.
UNIT_FACTORS: dict[tuple[str, str], float] = {
    ("mV", "V"): 0.001,
    ("cm", "mm"): 10,
    ("m", "mm"): 1000,
    ("mm", "m"): 0.001,
    ("cm", "m"): 0.01,
    ("Pa", "hPa"): 0.01,
    ("kPa", "hPa"): 10,
    ("mbar", "hPa"): 1,
    ("bar", "hPa"): 1000,
    ("hPa", "kPa"): 0.1,
    ("Pa", "kPa"): 0.001,
    ("mbar", "bar"): 0.001,
    ("kPa", "bar"): 0.01,
    ("m3/m3", "%"): 100,
    ("mS/cm", "uS/cm"): 1000,
    ("dS/m", "uS/cm"): 1000,
    ("km/h", "m/s"): 1 / 3.6,
    ("kg", "g"): 1000,
    ("ms", "s"): 0.001,
    ("min", "s"): 60,
    ("h", "s"): 3600,
    ("A", "mA"): 1000,
    ("[ppm]", "[ppb]"): 1000,
    ("[ppb]", "[ppm]"): 0.001,
}


def canonical_unit(unit: str) -> str | None:
    """The UCUM code for a vendor's unit text, or None when it is not known."""
    return UNIT_ALIASES.get(unit.strip(), UNIT_ALIASES.get(unit.strip().lower()))


def convert(value: float, unit: str, quantity: str) -> float:
    """``value`` in the vendor ``unit`` converted to the quantity's canonical unit.

    ValueError when the unit is unknown or cannot become the canonical one.
    """
    target = QUANTITIES[quantity].unit
    source = canonical_unit(unit)
    if source is None:
        raise ValueError(f"unit {unit!r} is not known")
    if source == target:
        return value
    if source == "[degF]" and target == "Cel":
        return (value - 32) * 5 / 9
    factor = UNIT_FACTORS.get((source, target))
    if factor is None:
        raise ValueError(f"{unit} cannot be converted to {target}")
    return value * factor


@dataclass(frozen=True)
class FieldSpec:
    """How one vendor field becomes a measurement.

    ``unit`` is the unit the vendor gives the value in (None: the unit written in the value,
    such as ``{"value": .., "unit": "°C"}`` or ``"2799 mm"``, else already canonical);
    ``scale`` multiplies the value after that; ``absent`` lists vendor values meaning no reading.
    """

    quantity: str
    unit: str | None = None
    scale: float = 1.0
    channel: str | None = None
    absent: tuple[float | str, ...] = ()

    def __post_init__(self) -> None:
        if self.quantity not in QUANTITIES:
            raise ValueError(f"quantity {self.quantity!r} is not in the vocabulary")
        if self.unit is not None and canonical_unit(self.unit) is None:
            raise ValueError(f"unit {self.unit!r} is not known")

    @property
    def key(self) -> str:
        return f"{self.quantity}:{self.channel}" if self.channel else self.quantity

    def as_toml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"quantity": self.quantity}
        if self.unit is not None:
            out["unit"] = self.unit
        if self.scale != 1.0:
            out["scale"] = self.scale
        if self.channel:
            out["channel"] = self.channel
        if self.absent:
            out["absent"] = list(self.absent)
        return out

    @classmethod
    def from_toml(cls, item: Mapping[str, Any]) -> FieldSpec:
        return cls(
            quantity=item["quantity"],
            unit=item.get("unit"),
            scale=float(item.get("scale", 1.0)),
            channel=item.get("channel"),
            absent=tuple(item.get("absent", ())),
        )


def is_reading(value: Any) -> bool:
    """A vendor value written as an object holding its value (and unit, display name, ...)."""
    return isinstance(value, dict) and "value" in value and not isinstance(value["value"], dict)


def flatten(decoded: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted name, value) for every leaf of a decoded object; a reading object is one leaf."""
    for name, value in decoded.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict) and not is_reading(value) and value:
            yield from flatten(value, path + ".")
        else:
            yield path, value


def value_and_unit(value: Any) -> tuple[float | bool | None, str | None]:
    """The number of a vendor value and the unit it is written in, if it says."""
    if is_reading(value):
        number, written = loose_reading(value["value"])
        unit = value.get("unit")
        return number, unit if isinstance(unit, str) and unit else written
    return loose_reading(value)


@dataclass(frozen=True)
class Mapped:
    """What a field map made of one decoded object."""

    measurements: list[Measurement]
    unmapped: dict[str, Any]
    problems: list[str]


class FieldMap:
    """Vendor field names (dotted for nested objects) -> :class:`FieldSpec`."""

    def __init__(self, fields: Mapping[str, FieldSpec] | None = None) -> None:
        self.fields: dict[str, FieldSpec] = dict(fields or {})

    def __bool__(self) -> bool:
        return bool(self.fields)

    def __contains__(self, name: object) -> bool:
        return name in self.fields

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def keys(self) -> list[str]:
        """Measurement keys (quantity or quantity:channel) this map can produce, in order."""
        return list(dict.fromkeys(spec.key for spec in self.fields.values()))

    def apply(self, decoded: Mapping[str, Any]) -> Mapped:
        """Measurements from ``decoded``; unmapped fields come back unchanged, keyed by name."""
        measurements: list[Measurement] = []
        unmapped: dict[str, Any] = {}
        problems: list[str] = []
        for name, raw in flatten(decoded):
            spec = self.fields.get(name)
            if spec is None:
                unmapped[name] = raw
                continue
            number, written_unit = value_and_unit(raw)
            if number is None or (not isinstance(number, bool) and number in spec.absent):
                continue  # the vendor's "no reading" ("NoSensor", a placeholder value)
            if (isinstance(raw, str) and raw in spec.absent) or raw is None:
                continue
            if not isinstance(number, bool):
                unit = spec.unit or written_unit
                if unit is not None:
                    try:
                        number = convert(float(number), unit, spec.quantity)
                    except ValueError as error:
                        problems.append(f"{name}: {error}")
                        unmapped[name] = raw
                        continue
                number = number * spec.scale
                if not math.isfinite(number):
                    continue
            elif QUANTITIES[spec.quantity].observation_type.endswith("Measurement"):
                number = float(number)
            measurements.append(
                Measurement(
                    spec.quantity,
                    QUANTITIES[spec.quantity].unit,
                    number,
                    channel=spec.channel,
                    source=name,
                )
            )
        return Mapped(measurements, unmapped, problems)
