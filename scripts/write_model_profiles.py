"""Write the built-in model profiles (src/placehub/ingest/profiles/<vendor>/<model>.toml).

One profile per device model a native codec decodes, named as in the LoRaWAN device repository
(``decentlab/dl-sht35``; an older firmware with another codec is ``<vendor>/<model>@<codec>``),
with a Datastream per quantity the codec gives and a field map for the network server's decoded
object (the vendor decoder's field names). Run it again after adding a codec or a model:

    .venv/bin/python scripts/write_model_profiles.py
"""

from __future__ import annotations

from pathlib import Path

import tomli_w

from placehub.ingest.codecs import decentlab, elsys, milesight
from placehub.ingest.fieldnames import VENDOR_FIELDS
from placehub.ingest.profiles import PROFILE_DIR, datastream_name

# Decentlab models whose repository codec carries the probe's parameters in its name.
DECENTLAB_MODEL = {
    "dl-dlr2-004-10": "dl-dlr2-004",
    "dl-dlr2-008-2000": "dl-dlr2-008",
    "dl-dws-232263168-302459-1370": "dl-dws",
    "dl-kl66-1538372-464859": "dl-kl66",
    "dl-pr21-1-10": "dl-pr21",
    "dl-pr26-0-1": "dl-pr26",
    "dl-pr36-8192": "dl-pr36",
    "dl-pr36ctd-8192": "dl-pr36ctd",
}
LDDS = ["battery_voltage", "distance", "temperature:external"]
LSE01 = [
    "soil_moisture",
    "soil_temperature",
    "soil_conductivity",
    "temperature:external",
    "battery_voltage",
]
NWAVE = ["occupancy", "duration:previous_state", "temperature", "battery_voltage"]
ACC = ["acceleration:x", "acceleration:y", "acceleration:z"]
CLIMATE = ["temperature", "relative_humidity"]
ROOM = [*CLIMATE, "light_level", "motion_count"]
ELSYS_KEYS = {
    "elt-2": [*CLIMATE, "pressure", *ACC],
    "elt-ultrasonic": ["distance", *CLIMATE, "pressure", *ACC],
    "ems": [*CLIMATE, *ACC, "water_leak", "pulse_count:pulse1"],
    "ems-desk": [*CLIMATE, "occupancy_level", *ACC],
    "ems-door": ["pulse_count:pulse1", "pulse_total:pulse1", *CLIMATE, *ACC],
    "ems-lite": [*CLIMATE, "water_leak"],
    "ers": ROOM,
    "ers-co2": [*ROOM, "co2"],
    "ers-co2-lite": [*CLIMATE, "co2"],
    "ers-eye": [*ROOM, "occupancy_level"],
    "ers-lite": CLIMATE,
    "ers-sound": [*ROOM, "sound_level:peak", "sound_level:average"],
    "ers-voc": [*ROOM, "tvoc"],
}
MILESIGHT_KEYS = {
    "em300-th": ["temperature", "relative_humidity", "battery_percent"],
    "em310-udl": ["distance", "tilted", "battery_percent"],
    "em500-co2": ["co2", "temperature", "relative_humidity", "pressure", "battery_percent"],
    "em500-udl": ["distance", "battery_percent"],
}


def _profiles() -> list[dict[str, object]]:
    """(profile id, name, native codec, repository codec, datastream keys)."""
    out: list[dict[str, object]] = []

    def add(pid: str, name: str, codec: str, repo_codec: str, keys: list[str]) -> None:
        out.append({"id": pid, "name": name, "codec": codec, "repo": repo_codec, "keys": keys})

    for stem, sensors in decentlab.MODELS.items():
        model = DECENTLAB_MODEL.get(stem, stem)
        keys = [
            f"{v.quantity}:{v.channel}" if v.channel else v.quantity
            for s in sensors
            for v in s.values
            if v.quantity is not None
        ]
        add(
            f"decentlab/{model}",
            f"Decentlab {model.upper()}",
            f"decentlab-{stem.removeprefix('dl-')}",
            f"decentlab/{stem}",
            keys,
        )
    for model in ("ldds75", "ldds20"):
        add(
            f"dragino/{model}",
            f"Dragino {model.upper()} (firmware 1.1.4 and later)",
            "dragino-ldds75-114",
            f"dragino/{model}-114",
            LDDS,
        )
        add(
            f"dragino/{model}@{model}",
            f"Dragino {model.upper()} (firmware before 1.1.4)",
            "dragino-ldds75",
            f"dragino/{model}",
            LDDS[:2],
        )
    add("dragino/ldds45", "Dragino LDDS45", "dragino-ldds75-114", "dragino/ldds45", LDDS)
    add(
        "dragino/lse01",
        "Dragino LSE01 (firmware 1.1.4 and later)",
        "dragino-lse01-114",
        "dragino/lse01-114",
        LSE01,
    )
    add(
        "dragino/lse01@lse01",
        "Dragino LSE01 (firmware before 1.1.4)",
        "dragino-lse01",
        "dragino/lse01",
        LSE01,
    )
    add(
        "dragino/lht65",
        "Dragino LHT65",
        "dragino-lht65",
        "dragino/lht65",
        [
            "temperature",
            "relative_humidity",
            "temperature:external",
            "illuminance",
            "battery_voltage",
        ],
    )
    add(
        "dragino/laq4",
        "Dragino LAQ4",
        "dragino-laq4",
        "dragino/laq4",
        ["co2", "tvoc", "temperature", "relative_humidity", "battery_voltage"],
    )
    add(
        "bosch/tps110-0292",
        "Bosch TPS110 parking sensor",
        "bosch-tps110",
        "bosch/tps110-0292",
        ["occupancy", "temperature"],
    )
    add(
        "nwave/nps310sm",
        "Nwave NPS310 parking sensor",
        "nwave-nps310",
        "nwave/nps310sm",
        ["occupancy"],
    )
    for model in ("nps405fm", "nps405sm"):
        add(
            f"nwave/{model}",
            f"Nwave {model.upper()} parking sensor",
            "nwave-nps405",
            "nwave/nps405",
            NWAVE,
        )
    netvox = list(dict.fromkeys(s.key for s in VENDOR_FIELDS["netvox/ra0715"].values()))
    for model in ("ra0715", "ra0715y"):
        add(
            f"netvox/{model}",
            f"Netvox {model.upper()} air and water quality",
            "netvox-ra0715",
            f"netvox/{model}",
            netvox,
        )
    add(
        "ellenex/pls2-l",
        "Ellenex PLS2-L level transmitter",
        "ellenex-pls2-l",
        "ellenex/pls2-l",
        ["water_level", "battery_voltage"],
    )
    add(
        "ellenex/pts2-l",
        "Ellenex PTS2-L pressure transmitter",
        "ellenex-pts2-l",
        "ellenex/pts2-l",
        ["gauge_pressure", "battery_voltage"],
    )
    for model, label in elsys.MODELS.items():
        add(
            f"elsys/{model}",
            f"Elsys {label}",
            f"elsys-{model}",
            f"elsys/{model}",
            [*ELSYS_KEYS[model], "battery_voltage"],
        )
    for model, label in milesight.MODELS.items():
        add(
            f"milesight-iot/{model}",
            f"Milesight {label}",
            f"milesight-{model}",
            f"milesight-iot/{model}",
            MILESIGHT_KEYS[model],
        )
    return out


def main() -> None:
    for item in _profiles():
        pid = str(item["id"])
        fields = VENDOR_FIELDS[str(item["repo"])]
        keys = list(dict.fromkeys(item["keys"]))  # type: ignore[call-overload]
        profile = {
            "id": pid,
            "name": item["name"],
            "codec": item["codec"],
            "prefer": "native",
            "asset_type": "sensor",
            "source": {"repository_codec": item["repo"]},
            "object_fields": {name: spec.as_toml() for name, spec in fields.items()},
            "datastreams": [{"key": key, "name": datastream_name(key)} for key in keys],
        }
        vendor, model = pid.split("/")
        path = PROFILE_DIR / vendor / f"{model}.toml"
        path.parent.mkdir(exist_ok=True)
        header = (
            "# Built-in model profile written by scripts/write_model_profiles.py: decoded by the "
            "native codec,\n# the field map reads the network server's decoded object.\n"
        )
        path.write_text(header + tomli_w.dumps(profile), encoding="utf-8")
        print(Path(path).relative_to(PROFILE_DIR.parent.parent.parent.parent))


if __name__ == "__main__":
    main()
