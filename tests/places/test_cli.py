"""The `placehub load ...` and `placehub places ...` commands, run as a user would."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from placehub.cli import app
from placehub.config import Settings

runner = CliRunner()


def _run(settings: Settings, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--database-url", settings.database_url, *args])
    return result.exit_code, result.output


def test_load_commands_are_rerunnable(settings: Settings, data_dir: Path, tmp_path: Path) -> None:
    """Loading wards, postcodes and roads twice reports the same counts and lists one layer."""
    wards = str(data_dir / "sutton" / "wards.geojson")
    postcodes = str(data_dir / "sutton" / "postcodes.csv")
    for _ in range(2):
        code, output = _run(settings, "load", "boundaries", wards, "--layer", "wards")
        assert code == 0 and "18 loaded" in output
        code, output = _run(settings, "load", "points", postcodes, "--source", "sm")
        assert code == 0 and "4355 loaded" in output
    code, output = _run(settings, "--set", f"road_network_file={tmp_path / 'roads.npz'}",
                        "load", "roads", str(data_dir / "rutland" / "roads.osm.pbf"))
    assert code == 0 and "one-way" in output and (tmp_path / "roads.npz").exists()
    code, output = _run(settings, "places", "list")
    assert code == 0 and "wards" in output and "4355 property points" in output


def test_load_errors_are_plain_words(settings: Settings, data_dir: Path) -> None:
    """A missing file or a wrong property name stops with a message saying what to do."""
    code, output = _run(settings, "load", "boundaries", "/nonexistent.geojson", "--layer", "x")
    assert code == 1 and "no GeoJSON file" in output
    code, output = _run(settings, "load", "boundaries", str(data_dir / "sutton" / "lsoas.geojson"),
                        "--layer", "lsoas", "--code-property", "CODE")
    assert code == 1 and "LSOA11CD" in output
