"""Device profiles: which codec decodes a device, and which Datastreams its measurements feed.

One TOML file per profile in ``placehub/ingest/profiles/`` (and optionally in the folder named
by PLACEHUB_INGEST_PROFILES_DIR). A profile also says whether the network server's decoded
object or the native codec wins, and for bin sensors the empty/full distances and capacity.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from placehub.ingest.codecs import REGISTRY, Decoded, DecodeError, Measurement, decode
from placehub.ingest.vocabulary import QUANTITIES

PROFILE_DIR = Path(__file__).parent / "profiles"
PREFER_CHOICES = ("native", "network_server")


class ProfileError(ValueError):
    """A profile file is wrong: says which file and what to fix."""


@dataclass(frozen=True)
class DatastreamSpec:
    """A Datastream a profile creates: which measurement key feeds it and how it is described."""

    key: str  # quantity, or quantity:channel
    name: str
    observed_property: str
    unit: str
    unit_symbol: str
    observation_type: str
    description: str

    @property
    def quantity(self) -> str:
        return self.key.split(":", 1)[0]


@dataclass(frozen=True)
class ObjectField:
    """How one field of a network server's decoded object becomes a measurement."""

    quantity: str
    scale: float = 1.0
    channel: str | None = None


@dataclass(frozen=True)
class BinGeometry:
    """Bin sensor geometry: distance to the contents when empty and when full, and capacity."""

    empty_distance_mm: float
    full_distance_mm: float
    capacity_litres: float

    def fill_level(self, distance_mm: float) -> float:
        """Fill in percent from a distance reading, clipped to 0..100."""
        span = self.empty_distance_mm - self.full_distance_mm
        fraction = (self.empty_distance_mm - distance_mm) / span
        return round(min(max(fraction, 0.0), 1.0) * 100, 1)


@dataclass(frozen=True)
class DeviceProfile:
    id: str
    name: str
    codec: str
    prefer: str
    asset_type: str
    datastreams: tuple[DatastreamSpec, ...]
    object_fields: dict[str, ObjectField] = field(default_factory=dict)
    bin: BinGeometry | None = None
    description: str = ""
    path: Path | None = None

    def datastream(self, key: str) -> DatastreamSpec | None:
        for spec in self.datastreams:
            if spec.key == key:
                return spec
        return None


_NUMBER = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)")


def loose_number(value: Any) -> float | bool | None:
    """A number from a loosely typed vendor value ("2799 mm", "24.1", 3, True); None if absent."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        if value.strip().upper() == "TRUE":
            return True
        if value.strip().upper() == "FALSE":
            return False
        match = _NUMBER.match(value)
        return float(match.group(1)) if match else None
    return None


def _parse(path: Path, raw: dict[str, Any]) -> DeviceProfile:
    where = f"profile {path.name}"

    def need(table: dict[str, Any], name: str) -> Any:
        if name not in table:
            raise ProfileError(f"{where}: missing '{name}'")
        return table[name]

    profile_id = need(raw, "id")
    codec = need(raw, "codec")
    if codec not in REGISTRY:
        raise ProfileError(f"{where}: codec {codec!r} is not registered")
    prefer = raw.get("prefer", "native")
    if prefer not in PREFER_CHOICES:
        raise ProfileError(f"{where}: prefer must be one of {', '.join(PREFER_CHOICES)}")
    datastreams = []
    for item in need(raw, "datastreams"):
        key = need(item, "key")
        quantity_name = key.split(":", 1)[0]
        spec = QUANTITIES.get(quantity_name)
        if spec is None:
            raise ProfileError(
                f"{where}: datastream key {key!r} names no quantity of the vocabulary"
            )
        datastreams.append(
            DatastreamSpec(
                key=key,
                name=item.get("name", spec.description),
                observed_property=item.get("observed_property", quantity_name.replace("_", " ")),
                unit=spec.unit,
                unit_symbol=spec.symbol,
                observation_type=spec.observation_type,
                description=item.get("description", spec.description),
            )
        )
    object_fields = {}
    for name, item in raw.get("object_fields", {}).items():
        if item["quantity"] not in QUANTITIES:
            raise ProfileError(
                f"{where}: object field {name!r} names unknown quantity {item['quantity']!r}"
            )
        object_fields[name] = ObjectField(
            item["quantity"], float(item.get("scale", 1.0)), item.get("channel")
        )
    geometry = None
    if "bin" in raw:
        b = raw["bin"]
        geometry = BinGeometry(
            float(need(b, "empty_distance_mm")),
            float(need(b, "full_distance_mm")),
            float(need(b, "capacity_litres")),
        )
        if geometry.empty_distance_mm <= geometry.full_distance_mm:
            raise ProfileError(f"{where}: empty_distance_mm must be larger than full_distance_mm")
    return DeviceProfile(
        id=profile_id,
        name=need(raw, "name"),
        codec=codec,
        prefer=prefer,
        asset_type=raw.get("asset_type", "sensor"),
        datastreams=tuple(datastreams),
        object_fields=object_fields,
        bin=geometry,
        description=raw.get("description", ""),
        path=path,
    )


def load_profile_file(path: Path) -> DeviceProfile:
    """A device profile from one TOML file; ProfileError says what is wrong with it."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"profile {path.name}: not valid TOML ({error})") from None
    return _parse(path, raw)


@cache
def _load_dir(directory: str) -> dict[str, DeviceProfile]:
    profiles: dict[str, DeviceProfile] = {}
    for path in sorted(Path(directory).glob("*.toml")):
        profile = load_profile_file(path)
        if profile.id in profiles:
            raise ProfileError(f"profile id {profile.id!r} is defined twice ({path.name})")
        profiles[profile.id] = profile
    return profiles


def load_profiles(extra_dir: str | Path | None = None) -> dict[str, DeviceProfile]:
    """Every profile: the built-in ones plus those in ``extra_dir`` (which may override)."""
    profiles = dict(_load_dir(str(PROFILE_DIR)))
    if extra_dir:
        profiles.update(_load_dir(str(Path(extra_dir).expanduser())))
    return profiles


def get_profile(profile_id: str, extra_dir: str | Path | None = None) -> DeviceProfile:
    """The profile ``profile_id``, built-in or from ``extra_dir``; KeyError lists the known ones."""
    profiles = load_profiles(extra_dir)
    try:
        return profiles[profile_id]
    except KeyError:
        raise KeyError(
            f"unknown device profile {profile_id!r}; known profiles: {', '.join(sorted(profiles))} "
            "(see 'placehub profiles list')"
        ) from None


def measurements_from_object(profile: DeviceProfile, decoded_object: dict[str, Any]) -> Decoded:
    """Measurements from a network server's decoded object, through the profile's field map."""
    decoded = Decoded()
    for name, spec in profile.object_fields.items():
        if name not in decoded_object:
            continue
        value = loose_number(decoded_object[name])
        if value is None:
            continue
        if not isinstance(value, bool):
            value = value * spec.scale
        decoded.measurements.append(
            Measurement(
                spec.quantity,
                QUANTITIES[spec.quantity].unit,
                value,
                channel=spec.channel,
                source=name,
            )
        )
    if not decoded.measurements:
        raise DecodeError(
            f"profile {profile.id}: the network server's decoded object has none of the fields "
            f"{', '.join(profile.object_fields)}"
        )
    return decoded


def decode_for_profile(
    profile: DeviceProfile,
    fport: int,
    payload: bytes | None,
    decoded_object: dict[str, Any] | None = None,
) -> Decoded:
    """Canonical measurements for one uplink, honouring which source the profile prefers.

    The preferred source is tried first; the other is the fallback when the first is missing.
    Bin profiles add ``fill_level`` computed from ``distance``.
    """
    use_object = bool(decoded_object) and bool(profile.object_fields)
    attempts: list[str] = []
    if profile.prefer == "network_server" and use_object:
        attempts = ["object", "native"]
    else:
        attempts = ["native", "object"] if use_object else ["native"]
    errors: list[str] = []
    result: Decoded | None = None
    for attempt in attempts:
        try:
            if attempt == "native":
                if payload is None:
                    raise DecodeError("no payload bytes in the uplink")
                result = decode(profile.codec, fport, payload)
            else:
                result = measurements_from_object(profile, decoded_object or {})
            break
        except DecodeError as error:
            errors.append(str(error))
    if result is None:
        raise DecodeError("; ".join(errors))
    if profile.bin is not None:
        distances = [
            m for m in result.measurements if m.quantity == "distance" and m.channel is None
        ]
        if distances:
            result.measurements.append(
                Measurement(
                    "fill_level",
                    "%",
                    profile.bin.fill_level(float(distances[0].value)),
                    source="distance",
                )
            )
    return result
