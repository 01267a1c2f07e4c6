"""Device profiles: how a device's uplinks are decoded, and which Datastreams they feed.

One TOML file per profile in ``placehub/ingest/profiles/`` (model profiles in one folder per
vendor, ``decentlab/dl-sht35.toml``) and optionally in the folder named by
PLACEHUB_INGEST_PROFILES_DIR, where ``placehub profiles import-repository`` writes the profiles
it makes from the device repository. A profile decodes with one of:

- a built-in codec (``codec = "dragino-ldds75-114"``, see ``placehub profiles codecs``);
- a vendor JavaScript codec (``codec = "javascript"``, ``script = "file.js"`` beside the profile),
  run in the QuickJS sandbox, its output mapped by the profile's field map;
- nothing (``codec = "none"``): the network server's decoded object, mapped by the field map.

The field map (``[object_fields]``) also reads the network server's decoded object when the
bytes cannot be decoded or when the profile prefers the network server's decoding.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from placehub.ingest.codecs import REGISTRY, Decoded, DecodeError, Measurement, decode
from placehub.ingest.codecs.javascript import JavaScriptCodec
from placehub.ingest.fieldmap import FieldMap, FieldSpec, loose_number
from placehub.ingest.vocabulary import QUANTITIES

__all__ = [
    "CODEC_JAVASCRIPT",
    "CODEC_NONE",
    "DatastreamSpec",
    "DeviceProfile",
    "ProfileError",
    "decode_for_profile",
    "get_profile",
    "load_profile_file",
    "load_profiles",
    "loose_number",
]

PROFILE_DIR = Path(__file__).parent / "profiles"
PREFER_CHOICES = ("native", "network_server")
CODEC_JAVASCRIPT = "javascript"
CODEC_NONE = "none"
# Ids are the repository's names: "decentlab/dl-sht35", "dragino/ldds75@ldds75", "my-bin".
PROFILE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.@-]*)?$")


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


_ACRONYMS = {
    "pm1": "PM1", "pm2_5": "PM2.5", "pm4": "PM4", "pm10": "PM10", "co2": "CO2", "no2": "NO2",
    "o3": "O3", "co": "CO", "no": "NO", "so2": "SO2", "h2s": "H2S", "nh3": "NH3", "tvoc": "TVOC",
    "ph": "pH", "par": "PAR",
}  # fmt: skip


def datastream_name(key: str) -> str:
    """A short name for measurement ``key``: "Temperature (external)", "PM2.5"."""
    quantity_name, _, channel = key.partition(":")
    label = _ACRONYMS.get(quantity_name) or quantity_name.replace("_", " ").capitalize()
    return f"{label} ({channel.replace('_', ' ')})" if channel else label


def datastream_spec(key: str, name: str = "", observed_property: str = "") -> DatastreamSpec:
    """The Datastream for measurement ``key`` with the vocabulary's unit and description."""
    quantity_name = key.split(":", 1)[0].split("@", 1)[0]
    spec = QUANTITIES[quantity_name]
    return DatastreamSpec(
        key=key,
        name=name or datastream_name(key),
        observed_property=observed_property or quantity_name.replace("_", " "),
        unit=spec.unit,
        unit_symbol=spec.symbol,
        observation_type=spec.observation_type,
        description=spec.description,
    )


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
    codec: str  # a registered codec, "javascript" or "none"
    prefer: str
    asset_type: str
    datastreams: tuple[DatastreamSpec, ...]
    object_fields: FieldMap = field(default_factory=FieldMap)
    bin: BinGeometry | None = None
    description: str = ""
    path: Path | None = None
    script: JavaScriptCodec | None = None
    # Vendor fields the importer saw but could not map: kept on Observations as parameters.
    unmapped_fields: tuple[str, ...] = ()
    source: dict[str, Any] = field(default_factory=dict)

    def datastream(self, key: str) -> DatastreamSpec | None:
        for spec in self.datastreams:
            if spec.key == key:
                return spec
        return None

    @property
    def decoder(self) -> str:
        """What decodes the bytes, in words for lists and reports."""
        if self.codec == CODEC_JAVASCRIPT and self.path is not None:
            return f"javascript ({self.source.get('script_file') or self.path.stem + '.js'})"
        return self.codec


def _parse(path: Path, raw: dict[str, Any]) -> DeviceProfile:
    where = f"profile {path.name}"

    def need(table: dict[str, Any], name: str) -> Any:
        if name not in table:
            raise ProfileError(f"{where}: missing '{name}'")
        return table[name]

    profile_id = need(raw, "id")
    if not isinstance(profile_id, str) or not PROFILE_ID.match(profile_id):
        raise ProfileError(
            f"{where}: id {profile_id!r} must be lower-case letters, digits, '-', '_' or '.', "
            "optionally 'vendor/model'"
        )
    codec = need(raw, "codec")
    if codec not in (CODEC_JAVASCRIPT, CODEC_NONE) and codec not in REGISTRY:
        raise ProfileError(
            f"{where}: codec {codec!r} is not registered (see 'placehub profiles codecs'; "
            f"or use '{CODEC_JAVASCRIPT}' with a script, or '{CODEC_NONE}' with object_fields)"
        )
    prefer = raw.get("prefer", "native")
    if prefer not in PREFER_CHOICES:
        raise ProfileError(f"{where}: prefer must be one of {', '.join(PREFER_CHOICES)}")
    datastreams = []
    for item in need(raw, "datastreams"):
        key = need(item, "key")
        if key.split(":", 1)[0] not in QUANTITIES:
            raise ProfileError(
                f"{where}: datastream key {key!r} names no quantity of the vocabulary"
            )
        datastreams.append(
            datastream_spec(key, item.get("name", ""), item.get("observed_property", ""))
        )
    fields = {}
    for name, item in raw.get("object_fields", {}).items():
        try:
            fields[name] = FieldSpec.from_toml(item)
        except (KeyError, ValueError, TypeError) as error:
            raise ProfileError(f"{where}: object field {name!r}: {error}") from None
    script = None
    if codec == CODEC_JAVASCRIPT:
        script_path = path.parent / need(raw, "script")
        try:
            source = script_path.read_text(encoding="utf-8")
        except OSError as error:
            raise ProfileError(f"{where}: cannot read script {script_path}: {error}") from None
        script = JavaScriptCodec(f"{profile_id} ({script_path.name})", source)
        raw.setdefault("source", {})["script_file"] = script_path.name
    if codec == CODEC_NONE and not fields:
        raise ProfileError(
            f"{where}: codec 'none' takes the network server's decoded object, so the profile "
            "needs [object_fields] saying which field is which quantity"
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
        object_fields=FieldMap(fields),
        bin=geometry,
        description=raw.get("description", ""),
        path=path,
        script=script,
        unmapped_fields=tuple(raw.get("unmapped_fields", ())),
        source=dict(raw.get("source", {})),
    )


def load_profile_file(path: Path) -> DeviceProfile:
    """A device profile from one TOML file; ProfileError says what is wrong with it."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"profile {path.name}: not valid TOML ({error})") from None
    return _parse(path, raw)


def _signature(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and times of a folder's profiles and scripts: changes when one changes."""
    found = []
    for root, _dirs, files in os.walk(directory):
        for name in files:
            if name.endswith((".toml", ".js")):
                stat = os.stat(os.path.join(root, name))
                found.append((os.path.join(root, name), stat.st_mtime_ns, stat.st_size))
    return tuple(sorted(found))


@lru_cache(maxsize=16)
def _load_dir(directory: str, signature: tuple[tuple[str, int, int], ...]) -> dict[str, Any]:
    profiles: dict[str, DeviceProfile] = {}
    for path in sorted(Path(directory).rglob("*.toml")):
        profile = load_profile_file(path)
        if profile.id in profiles:
            raise ProfileError(f"profile id {profile.id!r} is defined twice ({path.name})")
        profiles[profile.id] = profile
    return profiles


@cache
def _builtin() -> dict[str, DeviceProfile]:
    return _load_dir(str(PROFILE_DIR), ())


def load_profiles(extra_dir: str | Path | None = None) -> dict[str, DeviceProfile]:
    """Every profile: the built-in ones plus those in ``extra_dir`` (which may override).

    The extra folder is read again whenever a file in it changes (an import, an edit).
    """
    profiles = dict(_builtin())
    if extra_dir:
        directory = Path(extra_dir).expanduser()
        if directory.is_dir():
            profiles.update(_load_dir(str(directory), _signature(directory)))
    return profiles


def get_profile(profile_id: str, extra_dir: str | Path | None = None) -> DeviceProfile:
    """The profile ``profile_id``, built-in or from ``extra_dir``; KeyError lists the known ones."""
    profiles = load_profiles(extra_dir)
    try:
        return profiles[profile_id]
    except KeyError:
        close = [p for p in sorted(profiles) if profile_id.split("/")[-1] in p][:10]
        hint = f"similar: {', '.join(close)}; " if close else ""
        raise KeyError(
            f"unknown device profile {profile_id!r}; {hint}see 'placehub profiles list' for "
            "all of them"
        ) from None


def _from_fields(profile: DeviceProfile, decoded_object: dict[str, Any], what: str) -> Decoded:
    """Measurements from a vendor decoding through the field map; the rest as unmapped."""
    mapped = profile.object_fields.apply(decoded_object)
    decoded = Decoded(measurements=mapped.measurements, attributes=mapped.unmapped)
    if not decoded.measurements and not decoded.attributes:
        raise DecodeError(f"profile {profile.id}: {what} is empty")
    return decoded


def measurements_from_object(profile: DeviceProfile, decoded_object: dict[str, Any]) -> Decoded:
    """Measurements from a network server's decoded object, through the profile's field map."""
    decoded = _from_fields(profile, decoded_object, "the network server's decoded object")
    if not decoded.measurements:
        raise DecodeError(
            f"profile {profile.id}: the network server's decoded object has none of the fields "
            f"{', '.join(profile.object_fields)}"
        )
    return decoded


def _decode_bytes(
    profile: DeviceProfile, fport: int, payload: bytes, received_at: datetime | None
) -> Decoded:
    if profile.codec == CODEC_NONE:
        raise DecodeError(
            f"profile {profile.id} decodes nothing itself (codec 'none') and the uplink has no "
            "decoded object: set up the payload formatter (TTS) or codec (ChirpStack) of the "
            "device, or choose a profile with a codec"
        )
    if profile.script is not None:
        data = profile.script.run(fport, payload, received_at)
        return _from_fields(profile, data, "the codec's output")
    return decode(profile.codec, fport, payload)


def decode_for_profile(
    profile: DeviceProfile,
    fport: int,
    payload: bytes | None,
    decoded_object: dict[str, Any] | None = None,
    received_at: datetime | None = None,
) -> Decoded:
    """Canonical measurements for one uplink, honouring which source the profile prefers.

    The preferred source is tried first; the other is the fallback when the first fails.
    ``attributes`` of the result holds every field that is not a measurement (status and
    diagnostic fields, unmapped vendor fields). Bin profiles add ``fill_level`` from ``distance``.
    """
    use_object = bool(decoded_object) and bool(profile.object_fields)
    if profile.codec == CODEC_NONE:
        attempts = ["object"] if use_object else ["native"]
    elif profile.prefer == "network_server" and use_object:
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
                result = _decode_bytes(profile, fport, payload, received_at)
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
