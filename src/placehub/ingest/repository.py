"""Device profiles made from a local checkout of the LoRaWAN device repository.

The repository (TheThingsNetwork/lorawan-devices, Apache-2.0; the user clones it, placehub ships
none of it) lists vendors in ``vendor/index.yaml``, each vendor's models in
``vendor/<vendor>/index.yaml`` (``endDevices``), a model in ``vendor/<vendor>/<model>.yaml`` whose
``firmwareVersions[].profiles.<region>.codec`` names a codec, and a codec in
``vendor/<vendor>/<codec>.yaml`` (``uplinkDecoder.fileName`` and worked ``examples``).

For each model whose codec runs in the sandbox, :func:`import_repository` writes a profile
``<vendor>/<model>`` (the newest firmware's codec; an older firmware with another codec gets
``<vendor>/<model>@<codec>``) with a copy of the script, runs the codec's examples, builds the
field map from known field names (``placehub.ingest.fieldnames``) and reports the fields it
could not map. Importing again updates the profiles. YAML is read with YAML 1.2 rules, so an
unquoted ``NO`` stays a string.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from placehub.atomic_files import write_atomically
from placehub.ingest.codecs import DecodeError, JavaScriptCodec
from placehub.ingest.fieldmap import FieldSpec, convert, flatten, value_and_unit
from placehub.ingest.fieldnames import known_field
from placehub.ingest.profiles import CODEC_JAVASCRIPT, datastream_name, load_profiles

__all__ = ["ImportReport", "ImportedModel", "RepositoryError", "import_repository"]


class RepositoryError(ValueError):
    """The folder is not a device repository, or a vendor asked for is not in it."""


def _yaml() -> YAML:
    # Pure-Python safe loader: YAML 1.2 ("NO", "off" stay strings), no arbitrary objects.
    return YAML(typ="safe", pure=True)


def read_yaml(path: Path) -> Any:
    """A YAML file read with YAML 1.2 rules; RepositoryError says which file is broken."""
    try:
        return _yaml().load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError, UnicodeDecodeError) as error:
        raise RepositoryError(f"{path}: cannot read it ({error})") from None


@dataclass(frozen=True)
class Example:
    """One worked example of a codec YAML: input bytes and the vendor's expected output."""

    description: str
    fport: int
    payload: bytes
    data: dict[str, Any] | None  # None when the vendor expects errors
    errors: tuple[str, ...] = ()


@dataclass
class ImportedModel:
    """One line of the import report."""

    profile: str
    vendor: str
    model: str
    codec: str
    status: str  # imported, updated, unchanged, skipped
    reason: str = ""
    examples: int = 0
    examples_as_written: int = 0
    differences: list[str] = field(default_factory=list)
    mapped: dict[str, str] = field(default_factory=dict)  # vendor field -> measurement key
    unmapped: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "vendor": self.vendor,
            "model": self.model,
            "codec": self.codec,
            "status": self.status,
            "reason": self.reason,
            "examples": self.examples,
            "examples_as_written": self.examples_as_written,
            "differences": self.differences,
            "mapped": self.mapped,
            "unmapped": self.unmapped,
        }


@dataclass
class ImportReport:
    repository: str
    into: str
    models: list[ImportedModel] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for m in self.models if m.status == status)

    def as_json(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "into": self.into,
            "imported": self.count("imported"),
            "updated": self.count("updated"),
            "unchanged": self.count("unchanged"),
            "skipped": self.count("skipped"),
            "models": [m.as_json() for m in self.models],
        }


def _examples(codec_yaml: dict[str, Any], where: str) -> list[Example]:
    examples = []
    for item in (codec_yaml.get("uplinkDecoder") or {}).get("examples") or []:
        given = item.get("input") or {}
        output = item.get("output") or {}
        try:
            payload = bytes(int(b) & 0xFF for b in given.get("bytes") or [])
            fport = int(given.get("fPort", 1))
        except (TypeError, ValueError):
            raise RepositoryError(f"{where}: an example's input is not bytes and fPort") from None
        errors = output.get("errors")
        examples.append(
            Example(
                description=str(item.get("description", "")),
                fport=fport,
                payload=payload,
                data=None if errors else dict(output.get("data") or {}),
                errors=tuple(str(e) for e in errors or ()),
            )
        )
    return examples


def differences(expected: Any, got: Any, path: str = "") -> list[str]:
    """Where a codec's output differs from the example (numbers within 1e-9 relative)."""
    where = path or "data"
    if isinstance(expected, dict) and isinstance(got, dict):
        out = []
        for key in sorted(set(expected) | set(got), key=str):
            if key not in got:
                out.append(f"{path}{key}: missing")
            elif key not in expected:
                out.append(f"{path}{key}: not in the example")
            else:
                out.extend(differences(expected[key], got[key], f"{path}{key}."))
        return out
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        return [
            difference
            for i, (e, g) in enumerate(zip(expected, got, strict=True))
            for difference in differences(e, g, f"{path}{i}.")
        ]
    numbers = (int, float)
    if (
        isinstance(expected, numbers)
        and isinstance(got, numbers)
        and not isinstance(expected, bool)
        and not isinstance(got, bool)
    ):
        if math.isclose(expected, got, rel_tol=1e-9, abs_tol=1e-9):
            return []
    elif expected == got and type(expected) is type(got):
        return []
    return [f"{where.rstrip('.')}: example {expected!r}, codec {got!r}"]


def run_example(script: JavaScriptCodec, example: Example) -> list[str]:
    """Differences between running ``example`` and what it says (empty: as written)."""
    try:
        data = script.run(example.fport, example.payload)
    except DecodeError as error:
        if example.data is None:
            return []
        return [f"the codec failed: {error}"]
    if example.data is None:
        return [f"the example expects errors {list(example.errors)}, the codec decoded {data}"]
    return differences(example.data, data)


def field_map(
    codec: str, outputs: Iterable[dict[str, Any]]
) -> tuple[dict[str, FieldSpec], list[str], list[str]]:
    """Field map built from known names for every field seen in ``outputs``.

    Returns the map, the unmapped field names and problems (a unit that cannot be converted).
    """
    mapped: dict[str, FieldSpec] = {}
    unmapped: dict[str, None] = {}
    problems: list[str] = []
    for output in outputs:
        for name, value in flatten(output):
            if name in mapped or name in unmapped:
                continue
            spec = known_field(codec, name)
            _number, unit = value_and_unit(value)
            if spec is not None and spec.unit is None and unit:
                try:
                    convert(1.0, unit, spec.quantity)
                except ValueError as error:
                    problems.append(f"{name}: {error}; left unmapped")
                    spec = None
            if spec is None:
                unmapped[name] = None
            else:
                mapped[name] = spec
    return mapped, list(unmapped), problems


@dataclass(frozen=True)
class _Candidate:
    vendor: str
    vendor_name: str
    model: str
    model_yaml: dict[str, Any]
    codec_id: str
    firmware: str
    profile: str


def _model_codecs(model_yaml: dict[str, Any]) -> list[tuple[str, str]]:
    """(codec id, firmware version) newest firmware first, one entry per distinct codec."""
    versions = list(enumerate(model_yaml.get("firmwareVersions") or []))
    versions.sort(key=lambda item: (_numeric(item[1]), item[0]), reverse=True)
    codecs: dict[str, str] = {}
    for _index, version in versions:
        for region in (version.get("profiles") or {}).values():
            codec = (region or {}).get("codec")
            if codec and codec not in codecs:
                codecs[str(codec)] = str(version.get("version", ""))
    return list(codecs.items())


def _numeric(version: dict[str, Any]) -> float:
    try:
        return float(version.get("numeric", 0))
    except (TypeError, ValueError):
        return 0.0


def _stem(codec_id: str) -> str:
    return codec_id.removesuffix("-codec")


def candidates(root: Path, vendors: list[str] | None = None) -> list[_Candidate]:
    """Every (model, codec) of the repository at ``root`` (or of the given vendors)."""
    index_path = root / "vendor" / "index.yaml"
    if not index_path.is_file():
        raise RepositoryError(
            f"{root} is not a device repository: it has no vendor/index.yaml (clone "
            "https://github.com/TheThingsNetwork/lorawan-devices and give its folder)"
        )
    index = read_yaml(index_path) or {}
    known = {str(v["id"]): str(v.get("name", v["id"])) for v in index.get("vendors") or []}
    chosen = vendors or [v for v in known if (root / "vendor" / v / "index.yaml").is_file()]
    missing = [v for v in chosen if v not in known]
    if missing:
        raise RepositoryError(
            f"vendor {', '.join(missing)} is not in {index_path}; vendors look like: "
            + ", ".join(sorted(known)[:12])
        )
    found = []
    for vendor in chosen:
        vendor_dir = root / "vendor" / vendor
        if not (vendor_dir / "index.yaml").is_file():
            continue
        for model in (read_yaml(vendor_dir / "index.yaml") or {}).get("endDevices") or []:
            model_path = vendor_dir / f"{model}.yaml"
            if not model_path.is_file():
                continue
            model_yaml = read_yaml(model_path) or {}
            for position, (codec_id, firmware) in enumerate(_model_codecs(model_yaml)):
                profile = f"{vendor}/{model}"
                if position:
                    profile += f"@{_stem(codec_id)}"
                found.append(
                    _Candidate(
                        vendor, known[vendor], str(model), model_yaml, codec_id, firmware,
                        profile.lower(),
                    )
                )  # fmt: skip
    return found


def _write_if_changed(path: Path, text: str) -> bool:
    """Write atomically; False when the file already holds exactly ``text``."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    write_atomically(path, lambda file: file.write(text.encode("utf-8")))
    return True


def _import_one(
    root: Path, into: Path, candidate: _Candidate, include_native: bool
) -> ImportedModel:
    vendor_dir = root / "vendor" / candidate.vendor
    row = ImportedModel(
        candidate.profile, candidate.vendor, candidate.model, candidate.codec_id, "skipped"
    )
    if not include_native and candidate.profile in load_profiles():
        row.reason = (
            f"placehub decodes this model natively (built-in profile {candidate.profile}); "
            "give --include-native to use the vendor's JavaScript codec instead"
        )
        return row
    codec_path = vendor_dir / f"{candidate.codec_id}.yaml"
    if not codec_path.is_file():
        row.reason = f"codec file {codec_path.name} is missing"
        return row
    codec_yaml = read_yaml(codec_path) or {}
    decoder = codec_yaml.get("uplinkDecoder") or {}
    script_name = decoder.get("fileName")
    if not script_name:
        row.reason = f"{codec_path.name} has no uplinkDecoder"
        return row
    script_path = vendor_dir / str(script_name)
    try:
        source = script_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        row.reason = f"cannot read {script_name}: {error}"
        return row
    script = JavaScriptCodec(f"{candidate.profile} ({script_path.name})", source)
    try:
        script.check()
    except DecodeError as error:
        row.reason = str(error)
        return row
    examples = _examples(codec_yaml, str(codec_path))
    row.examples = len(examples)
    outputs = []
    failures = []
    for example in examples:
        problems = run_example(script, example)
        if problems:
            row.differences.append(f"{example.description or example.payload.hex()}: "
                                   + "; ".join(problems[:3]))  # fmt: skip
        else:
            row.examples_as_written += 1
        if example.data is not None:
            try:
                outputs.append(script.run(example.fport, example.payload))
            except DecodeError as error:
                failures.append(str(error))
    if not examples:
        row.reason = "the codec has no examples to learn its fields from: write its profile by hand"
        return row
    if not outputs:
        row.reason = (
            "the codec fails on every example: " + failures[0]
            if failures
            else "the codec has only examples of errors: write its profile by hand"
        )
        return row
    fields, unmapped, unit_problems = field_map(
        f"{candidate.vendor}/{_stem(candidate.codec_id)}", outputs
    )
    row.unmapped = unmapped
    row.differences.extend(unit_problems)
    row.mapped = {name: spec.key for name, spec in fields.items()}
    if not fields:
        row.reason = (
            "none of the codec's fields is a known quantity ("
            + ", ".join(unmapped[:8])
            + "): write its profile's object_fields by hand"
        )
        return row
    script_file = f"{_stem(candidate.codec_id)}.js"
    keys = list(dict.fromkeys(spec.key for spec in fields.values()))
    model_name = str(candidate.model_yaml.get("name") or candidate.model)
    profile: dict[str, Any] = {
        "id": candidate.profile,
        "name": f"{candidate.vendor_name} {model_name}",
        "description": str(candidate.model_yaml.get("description") or "").strip(),
        "codec": CODEC_JAVASCRIPT,
        "script": script_file,
        "prefer": "native",
        "asset_type": "sensor",
        "unmapped_fields": unmapped,
        "source": {
            "repository": str(root),
            "vendor": candidate.vendor,
            "model": candidate.model,
            "firmware": candidate.firmware,
            "codec": candidate.codec_id,
            "script": str(script_name),
            "script_sha256": hashlib.sha256(source.encode()).hexdigest(),
            "examples": row.examples,
            "examples_as_written": row.examples_as_written,
        },
        "object_fields": {name: spec.as_toml() for name, spec in fields.items()},
        "datastreams": [{"key": key, "name": datastream_name(key)} for key in keys],
    }
    text = (
        f"# Made by 'placehub profiles import-repository' from {candidate.vendor}/"
        f"{candidate.model}.yaml; importing again replaces this file.\n" + tomli_w.dumps(profile)
    )
    target_dir = into / candidate.vendor
    profile_path = target_dir / f"{candidate.profile.split('/', 1)[1]}.toml"
    existed = profile_path.is_file()
    changed = _write_if_changed(target_dir / script_file, source)
    changed = _write_if_changed(profile_path, text) or changed
    row.status = "unchanged" if not changed else "updated" if existed else "imported"
    return row


def import_repository(
    root: str | Path,
    into: str | Path,
    vendors: list[str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    include_native: bool = False,
) -> ImportReport:
    """Write a profile for every model of the repository whose codec runs; report each one.

    Models with a built-in native profile of the same id are skipped unless ``include_native``
    (an imported profile overrides the built-in one of the same id).
    """
    root_path = Path(root).expanduser().resolve()
    into_path = Path(into).expanduser()
    found = candidates(root_path, [v.lower() for v in vendors] if vendors else None)
    report = ImportReport(str(root_path), str(into_path))
    for number, candidate in enumerate(found, start=1):
        if progress is not None:
            progress(number, len(found), candidate.profile)
        report.models.append(_import_one(root_path, into_path, candidate, include_native))
    return report
