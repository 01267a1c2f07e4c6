"""`placehub area fetch/load/list/sources`, run as a user would, against the stand-in sources."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placehub.cli import app
from placehub.config import Settings
from tests.area.official import source_settings

# The areas fetched from the stand-in official sources (``fetched``) take 15-25 s to fetch in
# each test process: every test reading them runs in one.
pytestmark = pytest.mark.xdist_group("fetched")

runner = CliRunner()


def _run(*args: str, sources: dict[str, str] | None = None) -> tuple[int, str]:
    settings = [f"--set={name}={value}" for name, value in (sources or {}).items()]
    result = runner.invoke(app, [*settings, *args])
    return result.exit_code, result.output


def test_fetch_then_load_a_council_by_name(settings: Settings, official_url: str,
                                           tmp_path: Path) -> None:
    """'area fetch Sutton' writes its files with a summary; 'area load sutton' loads them."""
    sources = source_settings(official_url) | {
        "area_cache_dir": str(tmp_path / "cache"), "road_network_file": str(tmp_path / "r.npz")}
    data = str(tmp_path / "data")
    code, output = _run("--data-dir", data, "area", "fetch", "London Borough of Sutton",
                        "--only", "boundaries,postcodes", sources=sources)
    assert code == 0, output
    assert "Sutton (E09000029)" in output and "postcodes 5,167" in output
    assert "placehub area load sutton" in output
    assert sorted(p.name for p in (tmp_path / "data" / "sutton").iterdir()) == [
        "area.json", "lsoas.geojson", "postcodes.csv", "wards.geojson"]
    code, output = _run("--data-dir", data, "--database-url", settings.database_url, "area",
                        "load", "sutton", "--skip", "buildings,roads,indices", sources=sources)
    assert code == 0, output
    assert "wards" in output and "121" in output and "sutton loaded" in output
    code, output = _run("--data-dir", data, "area", "list", "--json")
    assert code == 0
    assert json.loads(output) == [{"area": "sutton", "code": "E09000029", "name": "Sutton",
                                   "sources": ["boundaries", "postcodes"], "fetched": True}]


def test_sources_are_listed_with_url_and_licence() -> None:
    """Every source shows its documented URL, licence and how often it changes."""
    code, output = _run("area", "sources", "--json")
    assert code == 0
    rows = {row["key"]: row for row in json.loads(output)}
    assert list(rows) == ["boundaries", "osm", "postcodes", "iod", "air"]
    assert rows["osm"]["licence"] == "ODbL 1.0"
    assert rows["osm"]["url"].startswith("https://download.geofabrik.de/index-v1.json")
    assert rows["boundaries"]["url"].startswith("https://services1.arcgis.com/")
    assert all(row["licence"] and row["update_cycle"] for row in rows.values())


def test_unreachable_source_stops_with_its_name(tmp_path: Path) -> None:
    """With nothing listening, the fetch stops and names the source it could not reach."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    sources = source_settings(f"http://127.0.0.1:{closed}") | {
        "area_cache_dir": str(tmp_path / "cache")}
    code, output = _run("--data-dir", str(tmp_path / "data"), "area", "fetch", "Rutland",
                        sources=sources)
    assert code == 1
    assert "ONS Open Geography Portal" in output and "unreachable" in output


def test_a_data_folder_that_cannot_be_made_is_refused(tmp_path: Path,
                                                      official_url: str) -> None:
    """Fetching where no folder can be created says to choose another data folder."""
    sources = source_settings(official_url) | {"area_cache_dir": str(tmp_path / "cache")}
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, output = _run("--data-dir", str(blocker / "data"), "area", "fetch", "Rutland",
                        sources=sources)
    assert code == 1 and "cannot create" in output and "PLACEHUB_DATA_DIR" in output
