"""`placehub demo` without the shared data: it fetches Rutland first (or says what to get)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from placehub.config import load_settings
from placehub.db import Database
from placehub.demo.bootstrap import DemoDataMissing, ensure_demo_data
from placehub.web.app import create_app
from tests.area.official import OfficialSources, source_settings

# The areas fetched from the stand-in official sources (``fetched``) take 15-25 s to fetch in
# each test process: every test reading them runs in one.
pytestmark = pytest.mark.xdist_group("fetched")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(base: str, data: Path, work: Path) -> dict[str, str]:
    """What `make demo` would run with: only PLACEHUB_* settings, sources at ``base``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLACEHUB_")}
    env |= {f"PLACEHUB_{k.upper()}": v for k, v in source_settings(base).items()}
    env |= {"PLACEHUB_DATA_DIR": str(data),
            "PLACEHUB_DATABASE_URL": f"sqlite:///{work / 'demo.sqlite3'}",
            "PLACEHUB_AREA_CACHE_DIR": str(work / "cache"),
            "PLACEHUB_ROAD_NETWORK_FILE": str(work / "roads.npz")}
    return env


def _placehub(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "placehub", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=900)


def test_with_the_shared_data_nothing_is_fetched(data_dir: Path, tmp_path: Path) -> None:
    """The shared folder has everything the demo reads: no source is asked (none could be)."""
    settings = load_settings(environ={}, data_dir=str(data_dir),
                             area_cache_dir=str(tmp_path / "cache"),
                             **source_settings(f"http://127.0.0.1:{_closed_port()}"))
    assert ensure_demo_data(settings) == []
    assert not (tmp_path / "cache").exists()


@pytest.mark.slow
def test_an_empty_data_folder_gets_rutland_and_a_working_hub(
        official: OfficialSources, official_url: str, tmp_path: Path) -> None:
    """The demo command on an empty data folder fetches Rutland, builds it and serves a hub."""
    data = tmp_path / "data"
    data.mkdir()
    env = _environment(official_url, data, tmp_path)
    seen = len(official.requests)
    done = _placehub("demo", "--build-only", "--assets-per-type", "3", "--history-days", "2",
                     env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    said = " ".join(done.stdout.split())  # Rich wraps lines when not on a terminal
    assert "fetching Rutland's public data from the official sources" in said
    assert "Rutland County Council demo ready" in said
    asked = {r.path for r in official.requests[seen:]}
    assert "/europe/united-kingdom/england/rutland-latest.osm.pbf" in asked
    assert not any("NSPL" in path or "items" in path for path in asked)  # no postcodes needed
    for relative in ("rutland/wards.geojson", "rutland/lsoas.geojson", "rutland/roads.osm.pbf",
                     "iod2019/domain_ranks.csv.gz", "iod2019/population.csv.gz",
                     "air/marylebone_road_hourly_2015_2020.csv", "ATTRIBUTION.md"):
        assert (data / relative).exists(), relative

    settings = load_settings(environ={k: v for k, v in env.items()
                                      if k.startswith("PLACEHUB_")}, secret_key="test")
    database = Database(settings.database_url)
    try:
        with TestClient(create_app(settings, database=database)) as client:
            assert client.get("/healthz").status_code == 200
            wards = client.get("/api/places/wards").json()
            assert len(wards["places"] if isinstance(wards, dict) else wards) == 16
            things = client.get("/sta/v1.1/Things", params={"$count": "true"}).json()
            assert things["@iot.count"] >= 9  # 3 bins, 3 beds, 3 stations (+ depot and tip)
            about = client.get("/api/about-data").json()
            paths = {row["path"] for row in about["sources"]}
            assert "rutland/roads.osm.pbf" in paths
            assert client.get("/").status_code == 200
    finally:
        database.dispose()

    again = _placehub("demo", "--build-only", "--assets-per-type", "3", "--history-days", "2",
                      env=env, cwd=tmp_path)
    said = " ".join(again.stdout.split())
    assert again.returncode == 0 and "fetching" not in said and "already built" in said


def test_without_network_one_sentence_says_what_to_get(tmp_path: Path) -> None:
    """No source reachable: one sentence naming the source, the command and the folder."""
    data = tmp_path / "data"
    env = _environment(f"http://127.0.0.1:{_closed_port()}", data, tmp_path)
    done = _placehub("demo", "--build-only", env=env, cwd=tmp_path)
    assert done.returncode == 1
    message = " ".join(done.stderr.split())
    message = message[message.index("Error: "):]  # after the progress bar
    assert message.startswith("Error: ONS Open Geography Portal could not be reached")
    assert "placehub --data-dir DIR area fetch Rutland" in message
    assert f"in {data}" in message and message.count(". ") == 0


def test_an_unknown_area_without_data_names_the_fetch_command(tmp_path: Path) -> None:
    """Another area that was never fetched cannot be fetched by the demo: it says how."""
    settings = load_settings(environ={}, data_dir=str(tmp_path), area="bury",
                             area_cache_dir=str(tmp_path / "cache"))
    with pytest.raises(DemoDataMissing, match="placehub area fetch NAME"):
        ensure_demo_data(settings)
