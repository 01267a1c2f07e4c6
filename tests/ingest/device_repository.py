"""Build small device-repository folders for tests, shaped like TheThingsNetwork/lorawan-devices.

Nothing of the real repository is used: the JavaScript codecs in ``devicerepo/`` were written for
these tests from the vendors' published payload formats, and the examples of the codec YAML
files come from ``shared/data/lorawan/uplink_examples.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from placehub.ingest.profiles import load_profiles

SCRIPTS = Path(__file__).parent / "devicerepo"


def write_yaml(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    yaml = YAML()
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(data, out)


def write_vendor_index(root: Path, vendors: dict[str, str]) -> None:
    write_yaml(
        root / "vendor" / "index.yaml",
        {"vendors": [{"id": v, "name": name} for v, name in vendors.items()]},
    )


def model_yaml(name: str, codecs: list[tuple[str, str]], **extra: Any) -> dict[str, Any]:
    """A model file: one firmware version per (version, codec id), oldest first."""
    return {
        "name": name,
        "description": f"{name} for the tests",
        "firmwareVersions": [
            {
                "version": version,
                "numeric": number,
                "profiles": {
                    "EU863-870": {"id": "eu868-profile", "lorawanCertified": True, "codec": codec}
                },
            }
            for number, (version, codec) in enumerate(codecs, start=1)
        ],
        "sensors": ["battery"],
        **extra,
    }


def example_yaml(example: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    """A codec YAML example from an uplink_examples.json entry."""
    return {
        "description": description or example.get("description") or example["bytes_hex"],
        "input": {"fPort": example["fPort"], "bytes": list(bytes.fromhex(example["bytes_hex"]))},
        "output": example["expected"],
    }


@dataclass(frozen=True)
class Model:
    """A model of the built repository: vendor, model id, and its codecs oldest first."""

    vendor: str
    model: str
    codecs: tuple[str, ...]  # repository codec stems ("ldds75-114")


# uplink_examples.json codec path -> the fixture script that decodes it (Decentlab and Elsys: one
# script for every model).
SCRIPT_OF = {
    "bosch/tps110-0292": "bosch/tps110.js",
    "dragino/laq4": "dragino/laq4.js",
    "dragino/ldds20": "dragino/ldds-v1.js",
    "dragino/ldds75": "dragino/ldds-v1.js",
    "dragino/ldds20-114": "dragino/ldds-114.js",
    "dragino/ldds45": "dragino/ldds-114.js",
    "dragino/ldds75-114": "dragino/ldds-114.js",
    "dragino/lht65": "dragino/lht65.js",
    "dragino/lse01": "dragino/lse01.js",
    "dragino/lse01-114": "dragino/lse01-114.js",
    "ellenex/pls2-l": "ellenex/pls2-l.js",
    "ellenex/pts2-l": "ellenex/pts2-l.js",
    "netvox/ra0715": "netvox/ra0715.js",
    "netvox/ra0715y": "netvox/ra0715.js",
    "nwave/nps310sm": "nwave/nps310.js",
    "nwave/nps405": "nwave/nps405.js",
}
def script_source(codec_path: str) -> str:
    """The fixture JavaScript for a repository codec (Decentlab: sensor table + protocol)."""
    vendor, stem = codec_path.split("/")
    if vendor == "decentlab":
        return (
            (SCRIPTS / "decentlab" / "sensors.js").read_text()
            + f"\nvar SENSORS = DECENTLAB_SENSORS[{json.dumps(stem)}];\n"
            + (SCRIPTS / "decentlab" / "protocol.js").read_text()
        )
    if vendor == "elsys":
        return (SCRIPTS / "elsys" / "elsys.js").read_text()
    return (SCRIPTS / SCRIPT_OF[codec_path]).read_text()


def models_of(codec_path: str) -> list[str]:
    """The built-in profiles whose model uses this repository codec (their [source])."""
    return [
        p.id
        for p in load_profiles().values()
        if p.source.get("repository_codec") == codec_path
    ]


def profile_of(codec_path: str) -> str:
    """The profile id (imported and built-in) that decodes an uplink_examples codec path."""
    return models_of(codec_path)[0]


def build_from_examples(root: Path, examples: list[dict[str, Any]]) -> list[Model]:
    """A repository with a model and codec for every codec of ``examples``, named as the
    built-in model profiles are (an older firmware's codec is the @ variant)."""
    by_codec: dict[str, list[dict[str, Any]]] = {}
    for example in examples:
        by_codec.setdefault(example["codec"], []).append(example)
    vendors = sorted({path.split("/")[0] for path in by_codec})
    write_vendor_index(root, {v: v.capitalize() for v in vendors})
    codecs_of_model: dict[tuple[str, str], list[str]] = {}
    for codec_path, items in by_codec.items():
        vendor, stem = codec_path.split("/")
        vendor_dir = root / "vendor" / vendor
        script = f"{stem}.js"
        vendor_dir.mkdir(parents=True, exist_ok=True)
        (vendor_dir / script).write_text(script_source(codec_path), encoding="utf-8")
        write_yaml(
            vendor_dir / f"{stem}-codec.yaml",
            {
                "uplinkDecoder": {
                    "fileName": script,
                    "examples": [
                        example_yaml(e, f"Example {n}") for n, e in enumerate(items, start=1)
                    ],
                }
            },
        )
        for pid in models_of(codec_path):
            model, _, older = pid.split("/")[1].partition("@")
            codecs = codecs_of_model.setdefault((vendor, model), [])
            # Oldest firmware first: the @ variants are the older codecs.
            if older:
                codecs.insert(0, stem)
            else:
                codecs.append(stem)
    models = [Model(v, m, tuple(c)) for (v, m), c in codecs_of_model.items()]
    for vendor in vendors:
        chosen = sorted(m.model for m in models if m.vendor == vendor)
        write_yaml(root / "vendor" / vendor / "index.yaml", {"endDevices": chosen})
    for m in models:
        write_yaml(
            root / "vendor" / m.vendor / f"{m.model}.yaml",
            model_yaml(
                m.model.upper(), [(f"1.{n}", f"{s}-codec") for n, s in enumerate(m.codecs)]
            ),
        )
    return models

# Hand-written YAML (not dumped) so that the 1.1-versus-1.2 difference is really in the file:
# the unquoted NO of lid_open must stay the string "NO".
ACME_LEVEL_CODEC = """\
uplinkDecoder:
  fileName: level.js
  examples:
    - description: Half full, lid closed
      input:
        fPort: 1
        bytes: [0x02, 0x3F, 0x0E, 0x10, 0x15, 0x04]
      output:
        data:
          distance: {value: 575, unit: mm}
          battery_voltage: {value: 3600, unit: mV}
          temperature: 21
          lid_open: NO
          status: 2
    - description: Cold, lid open
      input:
        fPort: 1
        bytes: [0x03, 0xE8, 0x0D, 0xAC, 0xFB, 0x01]
      output:
        data:
          distance: {value: 1000, unit: mm}
          battery_voltage: {value: 3500, unit: mV}
          temperature: -5
          lid_open: YES
          status: 0
    - description: Wrong port
      input:
        fPort: 9
        bytes: [0x03, 0xE8, 0x0D, 0xAC, 0xFB, 0x01]
      output:
        errors:
          - unknown FPort 9
"""
ONE_EXAMPLE = """\
uplinkDecoder:
  fileName: {script}
  examples:
    - description: A reading
      input:
        fPort: 1
        bytes: [0x15, 0x01]
      output:
        data:
          temperature: 21
"""
ACME_MODELS = {
    "level-sensor": "level",
    "thrower": "thrower",
    "sleeper": "sleeper",
    "hog": "hog",
    "mystery": "mystery",
    "silent": None,  # a codec without examples
}


def build_small(root: Path) -> Path:
    """A small repository of vendor acme: a good (if buggy) level sensor and broken codecs."""
    write_vendor_index(root, {"acme": "Acme Sensors", "other": "Other Vendor"})
    vendor_dir = root / "vendor" / "acme"
    write_yaml(vendor_dir / "index.yaml", {"endDevices": list(ACME_MODELS)})
    for model, script in ACME_MODELS.items():
        write_yaml(vendor_dir / f"{model}.yaml", model_yaml(model.title(), [("1.0", f"{model}-codec")]))
        codec_text = ACME_LEVEL_CODEC if model == "level-sensor" else ONE_EXAMPLE
        if script is None:
            (vendor_dir / "silent.js").write_text("function decodeUplink(i) { return {data: {}}; }")
            codec_text = "uplinkDecoder:\n  fileName: silent.js\n"
        else:
            (vendor_dir / f"{script}.js").write_text((SCRIPTS / "acme" / f"{script}.js").read_text())
        (vendor_dir / f"{model}-codec.yaml").write_text(codec_text.replace("{script}", f"{script}.js"))
    # A vendor in the index whose folder has a model with no codec at all.
    other = root / "vendor" / "other"
    write_yaml(other / "index.yaml", {"endDevices": ["gadget"]})
    write_yaml(other / "gadget.yaml", {"name": "Gadget", "firmwareVersions": []})
    return root
