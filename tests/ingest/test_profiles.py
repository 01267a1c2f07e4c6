"""Device profiles: loading, bin fill level, which source wins, and the profiles/decode commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placehub.cli import app
from placehub.ingest.codecs import REGISTRY, DecodeError
from placehub.ingest.profiles import (
    ProfileError,
    decode_for_profile,
    get_profile,
    load_profile_file,
    load_profiles,
    loose_number,
)


def test_every_builtin_profile_loads_and_names_registered_codecs() -> None:
    """All built-in profiles parse, use registered codecs and vocabulary quantities."""
    profiles = load_profiles()
    assert len(profiles) >= 15
    assert {"litter_bin", "flowerbed", "air_quality_station", "parking_bay"} <= {
        p.asset_type for p in profiles.values()
    }
    for profile in profiles.values():
        assert profile.datastreams, profile.id


def test_bin_profile_turns_distance_into_fill_level() -> None:
    """A bin reading 575 mm from a 1000 mm (empty) / 150 mm (full) bin is 50 % full."""
    profile = get_profile("dragino-ldds75-bin")
    payload = bytes.fromhex("0d3b023f00000001")  # 0x023f = 575 mm
    values = {m.quantity: m.value for m in decode_for_profile(profile, 2, payload).measurements}
    assert values["distance"] == 575
    assert values["fill_level"] == 50.0


def test_network_server_object_is_used_when_it_wins_or_bytes_fail() -> None:
    """With prefer=native a bad payload falls back to the NS object ('2799 mm' loosely typed)."""
    profile = get_profile("dragino-ldds75-bin")
    decoded = decode_for_profile(profile, 2, b"\x01", {"Distance": "600 mm", "Bat": "3.30"})
    values = {m.quantity: m.value for m in decoded.measurements}
    assert values == {"distance": 600.0, "battery_voltage": 3.3, "fill_level": 47.1}
    with pytest.raises(DecodeError, match="needs|must be"):
        decode_for_profile(profile, 2, b"\x01", None)


def test_profile_errors_name_the_file(tmp_path: Path) -> None:
    """A profile naming an unknown codec is refused with the file name."""
    path = tmp_path / "bad.toml"
    path.write_text('id = "x"\nname = "x"\ncodec = "nope"\n[[datastreams]]\nkey = "distance"\n')
    with pytest.raises(ProfileError, match="bad.toml: codec 'nope'"):
        load_profile_file(path)


@pytest.mark.parametrize(
    ("raw", "number"),
    [("2799 mm", 2799.0), ("24.1", 24.1), (3, 3), ("TRUE", True), ("No Sensor", None)],
)
def test_loose_numbers(raw: object, number: object) -> None:
    """Vendor values written as strings with units become numbers."""
    assert loose_number(raw) == number


def test_cli_lists_profiles_and_decodes() -> None:
    """`placehub profiles list --json` and `placehub decode` print JSON a script can read."""
    runner = CliRunner()
    listed = runner.invoke(app, ["profiles", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert "milesight-em310-udl-bin" in {p["id"] for p in json.loads(listed.output)}
    decoded = runner.invoke(
        app,
        [
            "decode",
            "--profile",
            "dragino-lse01-v1-flowerbed",
            "--fport",
            "2",
            "ce2900f107a5099b6e2890",
        ],
    )
    assert decoded.exit_code == 0, decoded.output
    values = {m["quantity"]: m["value"] for m in json.loads(decoded.output)["measurements"]}
    assert values["soil_moisture"] == 19.57 and values["soil_conductivity"] == 28200
    bad = runner.invoke(
        app, ["decode", "--profile", "dragino-lse01-v1-flowerbed", "--fport", "2", "zz"]
    )
    assert bad.exit_code == 1


def test_every_model_a_native_codec_decodes_has_a_profile_named_like_the_repository(
    data_dir: Path,
) -> None:
    """Each model of the vendor examples has a built-in profile vendor/model using a native
    codec, and its Datastreams cover every measurement the codec gives for the examples."""
    from .device_repository import profile_of
    from .test_codecs import load_examples

    profiles = load_profiles()
    for example in load_examples(data_dir):
        profile = profiles[profile_of(example["codec"])]
        assert profile.codec in REGISTRY, profile.id
        try:
            decoded = decode_for_profile(
                profile, example["fPort"], bytes.fromhex(example["bytes_hex"])
            )
        except DecodeError:
            continue
        keys = {d.key for d in profile.datastreams}
        assert {m.key for m in decoded.measurements} <= keys, profile.id
    assert {"decentlab/dl-sht35", "decentlab/dl-mbx", "milesight-iot/em310-udl"} <= set(profiles)
    used = {p.codec for p in profiles.values()}
    assert {c.name for c in REGISTRY} <= used, "a native codec without a model profile"


def test_model_profiles_read_the_network_servers_object_with_vendor_names() -> None:
    """A built-in model profile maps the vendor decoder's own field names (as TTS would pass
    them in decoded_payload) when the bytes are missing."""
    profile = get_profile("decentlab/dl-sht35")
    decoded = decode_for_profile(
        profile,
        1,
        None,
        {
            "air_temperature": {"displayName": "Air temperature", "unit": "°C", "value": 23.8},
            "battery_voltage": {"displayName": "Battery voltage", "unit": "V", "value": 3.168},
            "device_id": 782,
        },
    )
    assert {m.key: m.value for m in decoded.measurements} == {
        "temperature": 23.8,
        "battery_voltage": 3.168,
    }
    assert decoded.attributes == {"device_id": 782}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('id = "x"\nname = "x"\ncodec = "none"\ndatastreams = []\n', "needs \\[object_fields\\]"),
        ('id = "Bad Id"\nname = "x"\ncodec = "none"\ndatastreams = []\n', "must be lower-case"),
        (
            'id = "x"\nname = "x"\ncodec = "javascript"\nscript = "gone.js"\ndatastreams = []\n',
            "cannot read script",
        ),
        (
            'id = "x"\nname = "x"\ncodec = "none"\ndatastreams = []\n'
            '[object_fields]\nt = { quantity = "temperature", unit = "furlongs" }\n',
            "unit 'furlongs' is not known",
        ),
    ],
)
def test_profile_files_with_mistakes_say_what_to_fix(tmp_path: Path, text: str, error: str) -> None:
    """codec none without a field map, a bad id, a missing script or unknown unit are refused."""
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(ProfileError, match=error):
        load_profile_file(path)


def test_profiles_list_piped_is_never_cut(tmp_path: Path) -> None:
    """Piped (not a terminal), the table keeps every id and Datastream whole, however wide."""
    runner = CliRunner()
    listed = runner.invoke(app, ["profiles", "list"], env={"COLUMNS": "80"})
    assert listed.exit_code == 0
    assert "decentlab/dl-dws " in listed.stdout
    assert "…" not in listed.stdout
    assert "particle_count:pm0_5, particle_count:pm1, particle_count:pm2_5" in listed.stdout
    codecs = runner.invoke(app, ["profiles", "codecs", "--json"])
    assert {"codec": "decentlab-sht35", "fports": [1], "description": "Decentlab DL-SHT35 (protocol v2)"} in json.loads(codecs.stdout)
