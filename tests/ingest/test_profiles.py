"""Device profiles: loading, bin fill level, which source wins, and the profiles/decode commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placehub.cli import app
from placehub.ingest.codecs import DecodeError
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
