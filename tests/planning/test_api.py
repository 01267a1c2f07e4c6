"""The planning API: hazard areas with the access rules (lists for officers, disclosed counts
for the public), exports, and plain-words errors."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import box, mapping

from placehub.access.service import create_token, create_user, ensure_organisation, grant_role
from placehub.config import Settings, load_settings
from placehub.db import Database
from placehub.places.assign import assign_points
from placehub.places.layers import building_points, load_boundaries, store_points
from tests.places.things import add_thing

OAKHAM = (-0.7268, 52.6698)
AREA = box(OAKHAM[0] - 0.004, OAKHAM[1] - 0.003, OAKHAM[0] + 0.004, OAKHAM[1] + 0.003)
REST_CENTRE = "-0.7000,52.6600"


@pytest.fixture(scope="module")
def oakham_buildings(data_dir: Path) -> list[dict[str, Any]]:
    """OSM buildings within about 1.5 km of Oakham's centre."""
    return [p for p in building_points(data_dir / "rutland" / "roads.osm.pbf")
            if abs(p["lon"] - OAKHAM[0]) < 0.02 and abs(p["lat"] - OAKHAM[1]) < 0.013]


@pytest.fixture
def settings(database: Database, data_dir: Path, road_network_file: Path) -> Settings:
    """Test settings with the Rutland road network loaded."""
    return load_settings(environ={}, database_url=database.url, data_dir=str(data_dir),
                         secret_key="test-secret", road_network_file=str(road_network_file))


@pytest.fixture
def officer_token(database: Database, data_dir: Path,
                  oakham_buildings: list[dict[str, Any]]) -> str:
    """Oakham loaded (wards, buildings, a public and a private bin); an officer's token."""
    with database.begin() as conn:
        load_boundaries(conn, data_dir / "rutland" / "wards.geojson", "wards")
        store_points(conn, "osm-buildings", oakham_buildings)
        assign_points(conn)
        council = ensure_organisation(conn, "rutland", "Rutland County Council")
        add_thing(conn, council, "Public bin", OAKHAM, "litter_bin")
        add_thing(conn, council, "Private bin", OAKHAM, "litter_bin", "organisation")
        user = create_user(conn, "officer")
        grant_role(conn, user, council, "viewer")
        return create_token(conn, user)


def test_officers_get_the_homes_and_the_public_get_disclosed_counts(
        client: TestClient, officer_token: str, oakham_buildings: list[dict[str, Any]]) -> None:
    """An officer sees every home inside (as many as Shapely counts) and both bins; the public
    see the count rounded to 5, no list, and the public bin only."""
    expected = sum(shapely.intersects_xy(AREA, p["lon"], p["lat"]) for p in oakham_buildings)
    body = {"area": mapping(AREA), "name": "Oakham centre", "rest_centre": REST_CENTRE}
    officer = client.post("/api/planning/hazards", json=body,
                          headers={"Authorization": f"Bearer {officer_token}"})
    assert officer.status_code == 200, officer.text
    found = officer.json()
    assert found["properties"] == expected > 10
    assert len([r for r in found["property_list"] if r["status"] == "inside"]) == expected
    assert found["assets"] == {"litter_bin": 2}
    assert found["roads_closed"]["segments"] > 0
    assert found["run"]["inputs"]["road_network"]["edges"] > 10_000
    assert found["run"]["versions"]["shapely"].startswith("2.")
    public = client.post("/api/planning/hazards", json=body).json()
    assert public["property_list"] is None and public["exact"] is False
    assert public["properties"] == 5 * round(expected / 5)
    assert public["assets"] == {"litter_bin": 1}


def test_csv_export_lists_homes_for_officers_and_counts_for_the_public(
        client: TestClient, officer_token: str) -> None:
    """The CSV has one row per home affected for officers and only counts for everyone else."""
    body = {"area": mapping(AREA)}
    rows = list(csv.DictReader(io.StringIO(client.post(
        "/api/planning/hazards?format=csv", json=body,
        headers={"Authorization": f"Bearer {officer_token}"}).text)))
    assert rows and {r["status"] for r in rows} == {"inside"} and rows[0]["ward"]
    public = client.post("/api/planning/hazards?format=csv", json=body).text
    assert public.startswith("measure,value\r\nhomes inside,") and "osm-buildings" not in public
    geojson = client.post("/api/planning/hazards?format=geojson", json=body).json()
    assert {f["properties"]["layer"] for f in geojson["features"]} <= {
        "area", "vulnerable site", "asset"}


@pytest.mark.parametrize("body, message", [
    ({"area": {"type": "Point", "coordinates": [0, 52]}}, "Polygon"),
    ({"area": mapping(AREA), "rest_centre": "oakham"}, "longitude,latitude"),
])
def test_bad_requests_say_what_to_fix(client: TestClient, body: dict[str, Any],
                                      message: str) -> None:
    """A point instead of an area, or a rest centre that is not lon,lat, is a 400 saying so."""
    response = client.post("/api/planning/hazards", json=body)
    assert response.status_code == 400 and message in response.json()["error"]["message"]


def test_catchments_close_a_school_and_disclose_counts_to_the_public(
        client: TestClient, officer_token: str) -> None:
    """Closing a school moves homes; officers get each home's school, the public only the
    per-school counts rounded to 5 or suppressed."""
    headers = {"Authorization": f"Bearer {officer_token}"}
    base = client.post("/api/planning/catchments", json={"kind": "school"}, headers=headers)
    assert base.status_code == 200, base.text
    found = base.json()
    busiest = max(found["facilities"], key=lambda row: row["homes"])
    assert sum(row["homes"] for row in found["facilities"]) == len(found["homes"])
    closed = client.post("/api/planning/catchments", headers=headers, json={
        "kind": "school", "close": [busiest["ref"]]}).json()
    assert closed["change"]["homes_moved"] == busiest["homes"]
    assert busiest["ref"] not in {row["ref"] for row in closed["facilities"]}
    public = client.post("/api/planning/catchments", json={"kind": "school"}).json()
    assert public["homes"] is None
    assert all(row["homes"] == "*" or row["homes"] % 5 == 0 for row in public["facilities"])
    straight = client.post("/api/planning/catchments?format=csv", json={
        "kind": "school", "method": "straight"}).text
    assert straight.startswith("ref,kind,name,lon,lat,homes")


@pytest.mark.parametrize("body, message", [
    ({"kind": "castle"}, "facility kind"),
    ({"kind": "school", "method": "helicopter"}, "use road or straight"),
    ({"kind": "school", "close": ["osm:n1"]}, "no facility osm:n1"),
    ({"kind": "school", "open": [{"name": "x"}]}, "give name, lon and lat"),
])
def test_bad_catchment_requests_say_what_to_fix(client: TestClient, body: dict[str, Any],
                                                message: str) -> None:
    """Unknown kinds, methods and facilities, and new ones without a place, are 400s."""
    response = client.post("/api/planning/catchments", json=body)
    assert response.status_code == 400 and message in response.json()["error"]["message"]


def test_a_river_sensor_alert_opens_the_area_it_watches(
        client: TestClient, database: Database, officer_token: str) -> None:
    """An alert on a river-level sensor whose Thing names the area it watches is assessed as
    that area; an alert on a sensor without one is a 400 saying what to add."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from placehub.alerts.lifecycle import NewAlert, open_alerts
    from placehub.alerts.store import create_rule, get_rule
    from placehub.sta.tables import things

    now = datetime(2026, 3, 1, tzinfo=UTC)
    with database.begin() as conn:
        council = ensure_organisation(conn, "rutland", "Rutland County Council")
        river = add_thing(conn, council, "River Gwash level", OAKHAM, "river_level")
        plain = add_thing(conn, council, "Another level", OAKHAM, "river_level")
        conn.execute(update(things).where(things.c.id == river).values(properties={
            "asset_type": "river_level", "hazard_area": {
                "type": "Feature", "geometry": mapping(AREA),
                "properties": {"name": "Oakham flood cell"}}}))
        ids = []
        for thing in (river, plain):
            rule = get_rule(conn, create_rule(
                conn, now, key=f"river-high-{thing}", name="River high", kind="threshold",
                params={"op": "above", "value": 1.5}, thing_id=thing, quantity="water_level"))
            opened = open_alerts(conn, [NewAlert(rule, "level", thing, None, "River high",
                                                 "1.8 m above 1.5 m", 1.8, now)], now)
            ids.append(next(iter(opened.values())))
    headers = {"Authorization": f"Bearer {officer_token}"}
    found = client.post("/api/planning/hazards", json={"alert_id": ids[0]}, headers=headers)
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["area"]["source"] == "alert" and "Oakham flood cell" in body["area"]["name"]
    assert body["properties"] > 10
    missing = client.post("/api/planning/hazards", json={"alert_id": ids[1]}, headers=headers)
    assert missing.status_code == 400 and "hazard_area" in missing.json()["error"]["message"]
    neither = client.post("/api/planning/hazards", json={}, headers=headers)
    assert neither.status_code == 400 and "either area" in neither.json()["error"]["message"]


def test_each_run_is_kept_with_its_inputs_and_versions(
        client: TestClient, officer_token: str, database: Database) -> None:
    """A hazard assessment and a catchment build each keep a run record in the hub: the job's
    inputs (the area's digest, the facilities' kind), the library versions and who ran it; the
    answer names the record; the public planning-tools ATRS record counts both runs."""
    from placehub.governance.runs import list_runs

    auth = {"Authorization": f"Bearer {officer_token}"}
    hazard = client.post("/api/planning/hazards", headers=auth,
                         json={"area": mapping(AREA), "rest_centre": REST_CENTRE}).json()
    catchment = client.post("/api/planning/catchments", headers=auth,
                            json={"kind": "school", "method": "straight"}).json()
    with database.connect() as conn:
        kept = {run["algorithm"]: run for run in list_runs(conn)}
    assert kept["planning-hazard"]["id"] == hazard["run"]["id"]
    assert kept["planning-hazard"]["parameters"]["area"]["digest"] == (
        hazard["run"]["inputs"]["area"]["digest"])
    assert kept["planning-hazard"]["volumes"]["property_points"] > 0
    assert "shapely" in kept["planning-hazard"]["version"]
    assert kept["planning-hazard"]["actor"] == "officer"
    assert kept["planning-catchments"]["id"] == catchment["run"]["id"]
    assert kept["planning-catchments"]["parameters"]["kind"] == "school"
    assert kept["planning-catchments"]["duration_seconds"] >= 0
    record = client.get("/api/algorithms/planning-tools").json()
    frequency = record["tier_2"]["decision_making_process"]["frequency_and_scale_measured"]
    assert frequency["runs_total"] == 2
    live = record["tier_2"]["tool_specification"]["live"]
    assert {r["algorithm"] for r in live["recent_runs"]} == {"planning-hazard",
                                                              "planning-catchments"}
    assert live["parameters"]["kind"] == "school"  # the newest run's
    assert "officer" not in str(live["recent_runs"])
    assert sorted(h["summary"] for h in record["history"] if h["source"] == "run records") == [
        "planning-catchments: first run", "planning-hazard: first run"]
