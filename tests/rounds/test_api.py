"""Rounds over HTTP and the CLI: plan from the database, sheets, stops done and skipped."""

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import numpy as np
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from placehub.access.service import create_token, create_user, grant_role
from placehub.assets.history import read_assets
from placehub.db import Database
from placehub.rounds.forecast import PlacehubForecaster
from placehub.rounds.planning import check_plan
from tests.rounds.conftest import add_asset, add_organisation

AT = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
DAY = timedelta(days=1)
BIN = {"asset_type": "litter_bin", "empty_distance_mm": 1000, "full_distance_mm": 200,
       "capacity_litres": 120}


def add_bins(database: Database, count: int = 24) -> tuple[int, str, list[int]]:
    """Bins around Oakham filling at different rates (read twice a day), an editor and a token."""
    rng = np.random.default_rng(3)
    ids = []
    with database.begin() as conn:
        org = add_organisation(conn)
        for i in range(count):
            rate = 0.05 + 0.3 * (i % 4) / 3  # fill per day
            start_fill = rng.uniform(0, 0.3)
            readings = []
            for half_days in range(15):
                t = AT - 7 * DAY + half_days * DAY / 2
                fill = min(start_fill + rate * half_days / 2, 1.0)
                readings.append((t, 1000 - 800 * fill))
            ids.append(add_asset(conn, f"Bin {i}", -0.74 + rng.uniform(0, 0.03),
                                 52.66 + rng.uniform(0, 0.02), BIN, "distance", readings))
        user = create_user(conn, "crew")
        grant_role(conn, user, org, "editor")
        token = create_token(conn, user)
    return org, token, ids


def test_plan_sheets_and_stops(client: TestClient, database: Database) -> None:
    """POST a plan, read it, print its sheets, mark stops; a done stop resets the forecast."""
    org, token, ids = add_bins(database)
    auth = {"Authorization": f"Bearer {token}"}
    response = client.post("/api/rounds/plans", headers=auth, json={
        "service": "waste", "date": "2026-11-23", "at": AT.isoformat(), "runtime_seconds": 0.5})
    assert response.status_code == 201, response.text
    plan = response.json()
    assert plan["organisation_id"] == org and plan["solver"]["name"] == "PyVRP"
    assert plan["solver"]["parameters"]["restarts"] == 3  # the rounds_restarts setting
    assert plan["snapshot_time"].startswith("2026-11-22T18:00")
    stops = [s for v in plan["vehicles"] for s in v["stops"] if s["kind"] == "asset"]
    served = {s["asset_id"] for s in stops}
    left = {x["asset_id"] for x in plan["left_out"]}
    assert served | left == set(ids) and not served & left
    assert set(plan["mandatory_ids"]) <= served
    assert plan["progress"] == {"planned": len(stops), "done": 0, "skipped": 0}

    assert client.get(f"/api/rounds/plans/{plan['id']}", headers=auth).json()["id"] == plan["id"]
    assert [p["id"] for p in client.get("/api/rounds/plans?service=waste",
                                        headers=auth).json()["plans"]] == [plan["id"]]
    number = next(i + 1 for i, v in enumerate(plan["vehicles"]) if v["stops"])
    base = f"/api/rounds/plans/{plan['id']}/vehicles/{number}"
    html = client.get(f"{base}/sheet.html", headers=auth)
    assert html.status_code == 200 and "Round sheet" in html.text
    # Its own stylesheet is allowed (it prints styled) while scripts stay forbidden.
    policy = html.headers["content-security-policy"]
    assert "style-src 'unsafe-inline'" in policy and "default-src 'none'" in policy
    csv_lines = client.get(f"{base}/sheet.csv", headers=auth).text.splitlines()
    assert csv_lines[0].startswith("sequence,arrival")
    assert len(csv_lines) == 1 + len(plan["vehicles"][number - 1]["stops"])
    gpx = ElementTree.fromstring(client.get(f"{base}/sheet.gpx", headers=auth).content)
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    assert len(gpx.findall("g:rte/g:rtept", ns)) == len(plan["vehicles"][number - 1]["stops"])
    assert gpx.findall("g:trk/g:trkseg/g:trkpt", ns)
    assert client.get(f"/api/rounds/plans/{plan['id']}/vehicles/99/sheet.csv",
                      headers=auth).status_code == 404

    done, skipped = stops[0], stops[1]
    at = (AT + DAY / 2).isoformat()
    url = f"/api/rounds/plans/{plan['id']}/stops"
    assert client.post(f"{url}/{skipped['id']}", headers=auth,
                       json={"status": "skipped"}).status_code == 400
    assert client.post(f"{url}/{skipped['id']}", headers=auth,
                       json={"status": "skipped", "reason": "blocked access"}).status_code == 200
    assert client.post(f"{url}/{done['id']}", headers=auth,
                       json={"status": "done", "at": at}).status_code == 200
    assert client.post(f"{url}/{done['id']}", headers=auth,
                       json={"status": "done", "at": at}).status_code == 409
    after = client.get(f"/api/rounds/plans/{plan['id']}", headers=auth).json()
    assert after["progress"]["done"] == 1 and after["progress"]["skipped"] == 1

    with database.connect() as conn:
        bins = {a.thing_id: a for a in read_assets(conn, "litter_bin", AT + DAY).assets}
    need = PlacehubForecaster().forecast(bins[done["asset_id"]].history, AT + DAY, AT + 2 * DAY)
    assert need.last_service is not None and need.level < 0.4


def test_plan_refusals(client: TestClient, database: Database) -> None:
    """Anonymous planning, bad input and unknown plans get 4xx with a message."""
    _, token, _ = add_bins(database, count=3)
    auth = {"Authorization": f"Bearer {token}"}
    body = {"service": "waste", "date": "2026-11-23", "at": AT.isoformat()}
    assert client.post("/api/rounds/plans", json=body).status_code == 401
    bad = client.post("/api/rounds/plans", headers=auth, json={**body, "service": "gritting"})
    assert bad.status_code == 400 and "service" in bad.json()["error"]["message"]
    naive = client.post("/api/rounds/plans", headers=auth,
                        json={**body, "at": "2026-11-22T18:00:00"})
    assert naive.status_code == 400 and "timezone" in naive.json()["error"]["message"]
    assert client.get("/api/rounds/plans/12345", headers=auth).status_code == 404
    water = client.post("/api/rounds/plans", headers=auth, json={**body, "service": "watering"})
    assert water.status_code == 404 and "flowerbed" in water.json()["error"]["message"]


def test_cli_plan_and_sheet(settings, database: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`placehub rounds plan` stores a feasible plan and `rounds sheet` writes its GPX."""
    from placehub.cli import app
    from placehub.rounds.service import plan_detail

    add_bins(database)
    runner = CliRunner()
    env = {"PLACEHUB_DATABASE_URL": database.url, "PLACEHUB_DATA_DIR": str(settings.data_dir),
           "PLACEHUB_ROUNDS_RUNTIME_SECONDS": "0.5"}
    result = runner.invoke(app, ["rounds", "plan", "--service", "waste", "--date", "2026-11-23",
                                 "--at", AT.isoformat()], env=env)
    assert result.exit_code == 0, result.output
    assert "Plan 1" in result.output
    with database.connect() as conn:
        detail = plan_detail(conn, 1)
    assert detail["summary"]["feasible"]
    out = tmp_path / "round.gpx"
    result = runner.invoke(app, ["rounds", "sheet", "1", "--format", "gpx", "-o", str(out)],
                           env=env)
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("<?xml")
    bad = runner.invoke(app, ["rounds", "plan", "--service", "waste", "--date", "23/11/2026"],
                        env=env)
    assert bad.exit_code == 1 and "YYYY-MM-DD" in bad.output


def test_stored_plan_passes_checks(database: Database, settings) -> None:  # type: ignore[no-untyped-def]
    """A plan made from the database passes the feasibility checks."""
    from datetime import date

    from placehub.rounds.service import PlanRequest, make_plan

    add_bins(database)
    with database.connect() as conn:
        plan = make_plan(conn, settings.replace(rounds_runtime_seconds=0.5),
                         PlanRequest("waste", date(2026, 11, 23), AT))
    assert check_plan(plan) == []
    assert plan.solver["forecaster"].startswith("placehub")
