"""Rounds over HTTP and the CLI: plan from the database, sheets, stops done and skipped."""

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from placehub.access.service import create_token, create_user, grant_role
from placehub.access.tables import users
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


def test_plan_goes_to_the_one_organisation_owning_the_services_assets(
        client: TestClient, database: Database) -> None:
    """An editor of two organisations (the council and a care circle without bins) plans the
    waste round without naming one; with bins in both, the request must name it."""
    org, token, _ = add_bins(database, count=3)
    auth = {"Authorization": f"Bearer {token}"}
    with database.begin() as conn:
        circle = add_organisation(conn, "care-circle")
        grant_role(conn, conn.execute(select(users.c.id).where(users.c.username == "crew"))
                   .scalar_one(), circle, "editor")
    body = {"service": "waste", "date": "2026-11-23", "at": AT.isoformat(), "runtime_seconds": 1}
    plan = client.post("/api/rounds/plans", headers=auth, json=body)
    assert plan.status_code == 201 and plan.json()["organisation_id"] == org
    with database.begin() as conn:
        add_asset(conn, "Circle bin", -0.72, 52.67, BIN, "distance", [(AT, 500.0)],
                  organisation="care-circle")
    ambiguous = client.post("/api/rounds/plans", headers=auth, json=body)
    assert ambiguous.status_code == 400
    assert "organisation_id" in ambiguous.json()["error"]["message"]


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


def plan_of(client: TestClient, auth: dict[str, str], **body: object) -> dict:  # type: ignore[type-arg]
    """POST a waste plan for 2026-11-23 from the readings at AT."""
    response = client.post("/api/rounds/plans", headers=auth, json={
        "service": "waste", "date": "2026-11-23", "at": AT.isoformat(), "runtime_seconds": 0.5,
        **body})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_done_time_must_be_on_the_plans_day(client: TestClient, database: Database) -> None:
    """A stop marked done at a time outside the plan's day (Europe/London) is a 400 that says
    which day; on the day it is accepted."""
    _, token, _ = add_bins(database)
    auth = {"Authorization": f"Bearer {token}"}
    plan = plan_of(client, auth)
    stop = next(s for v in plan["vehicles"] for s in v["stops"] if s["kind"] == "asset")
    url = f"/api/rounds/plans/{plan['id']}/stops/{stop['id']}"
    for when in ("2030-01-01T10:00:00+00:00", "2026-11-22T23:59:00+00:00",
                 "2026-11-24T00:00:00+00:00"):
        refused = client.post(url, headers=auth, json={"status": "done", "at": when})
        assert refused.status_code == 400, when
        assert "2026-11-23" in refused.json()["error"]["message"]
    assert client.get(f"/api/rounds/plans/{plan['id']}", headers=auth).json()[
        "progress"]["done"] == 0
    accepted = client.post(url, headers=auth,
                           json={"status": "done", "at": "2026-11-23T23:30:00+00:00"})
    assert accepted.status_code == 200


def test_plan_runtime_is_bounded_by_a_setting(client: TestClient, database: Database) -> None:
    """Asking the solver for more than rounds_max_runtime_seconds is a 400 naming the limit."""
    _, token, _ = add_bins(database, count=3)
    auth = {"Authorization": f"Bearer {token}"}
    response = client.post("/api/rounds/plans", headers=auth, json={
        "service": "waste", "date": "2026-11-23", "at": AT.isoformat(),
        "runtime_seconds": 600})
    assert response.status_code == 400
    assert "rounds_max_runtime_seconds" in response.json()["error"]["message"]


def test_sheets_show_streets_local_times_and_why(client: TestClient,
                                                 database: Database) -> None:
    """Round sheets name the nearest street and locality, say which stops are mandatory and
    why, show fill and forecast, and print every vehicle in one page."""
    _, token, _ = add_bins(database)
    auth = {"Authorization": f"Bearer {token}"}
    plan = plan_of(client, auth)
    stops = [s for v in plan["vehicles"] for s in v["stops"] if s["kind"] == "asset"]
    assert all(s["locality"] for s in stops) and any(s["street"] for s in stops)
    assert {s["mandatory"] for s in stops} >= {True} and all(s["why"] for s in stops)
    number = next(i + 1 for i, v in enumerate(plan["vehicles"]) if v["stops"])
    lines = client.get(f"/api/rounds/plans/{plan['id']}/vehicles/{number}/sheet.csv",
                       headers=auth).text.splitlines()
    header = lines[0].split(",")
    for column in ("arrival_local", "street", "locality", "mandatory", "why", "fill_now",
                   "fill_forecast", "window"):
        assert column in header
    every = client.get(f"/api/rounds/plans/{plan['id']}/sheets.html", headers=auth)
    assert every.status_code == 200
    used = sum(1 for v in plan["vehicles"] if v["stops"])
    assert every.text.count('<section class="sheet">') == used
    assert every.text.count("<svg") == used and "Europe/London" in every.text
    assert "Mandatory:" in every.text


def test_skipped_mandatory_stop_is_requeued(client: TestClient, database: Database) -> None:
    """A mandatory stop skipped by the crew is mandatory again in the next plan, with the
    reason; once done it is not."""
    _, token, _ = add_bins(database)
    auth = {"Authorization": f"Bearer {token}"}
    plan = plan_of(client, auth)
    stop = next(s for v in plan["vehicles"] for s in v["stops"]
                if s["kind"] == "asset" and s["asset_id"] in plan["mandatory_ids"])
    url = f"/api/rounds/plans/{plan['id']}/stops/{stop['id']}"
    assert client.post(url, headers=auth, json={
        "status": "skipped", "reason": "car parked on it",
        "at": "2026-11-23T09:00:00+00:00"}).status_code == 200
    later = (AT + DAY).isoformat()
    nxt = plan_of(client, auth, date="2026-11-24", at=later)
    assert stop["asset_id"] in nxt["mandatory_ids"]
    again = next(s for v in nxt["vehicles"] for s in v["stops"]
                 if s.get("asset_id") == stop["asset_id"])
    assert "re-queued" in again["why"] and "car parked on it" in again["why"]
    assert any("re-queued" in note for note in nxt["notes"])


def test_mid_day_replan_of_remaining_stops(client: TestClient, database: Database) -> None:
    """Re-planning at noon routes only the stops not done, from where each vehicle is; the old
    plan's remaining stops are marked as moved."""
    _, token, _ = add_bins(database)
    auth = {"Authorization": f"Bearer {token}"}
    plan = plan_of(client, auth)
    route = next(v for v in plan["vehicles"] if len([s for s in v["stops"]
                                                     if s["kind"] == "asset"]) >= 2)
    first = next(s for s in route["stops"] if s["kind"] == "asset")
    url = f"/api/rounds/plans/{plan['id']}/stops/{first['id']}"
    assert client.post(url, headers=auth, json={
        "status": "done", "at": "2026-11-23T08:00:00+00:00"}).status_code == 200
    noon = "2026-11-23T12:00:00+00:00"
    response = client.post(f"/api/rounds/plans/{plan['id']}/replan", headers=auth,
                           json={"at": noon})
    assert response.status_code == 201, response.text
    new = response.json()
    assert new["replan_of"] == plan["id"] and new["date"] == "2026-11-23"
    served = {s["asset_id"] for v in new["vehicles"] for s in v["stops"] if s["kind"] == "asset"}
    remaining = {s["asset_id"] for v in plan["vehicles"] for s in v["stops"]
                 if s["kind"] == "asset"} - {first["asset_id"]}
    assert first["asset_id"] not in served
    assert remaining >= served and set(plan["mandatory_ids"]) - {first["asset_id"]} <= served
    for vehicle in new["vehicles"]:
        for stop in vehicle["stops"]:
            assert stop["arrival"] >= noon
    old = client.get(f"/api/rounds/plans/{plan['id']}", headers=auth).json()
    assert old["progress"]["planned"] == 0 and old["progress"]["done"] == 1
    moved = [s for v in old["vehicles"] for s in v["stops"] if s.get("status") == "skipped"]
    assert moved and all(f"plan {new['id']}" in s["reason"] for s in moved)


def test_planning_does_not_hold_the_write_lock(client: TestClient, database: Database,
                                               monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """While the solver runs, another connection can write (SQLite: no write transaction is
    open during the solve; on PostgreSQL the same code path is used)."""
    import sqlite3

    from placehub.places.distance import HaversineDistance
    from placehub.rounds import service

    _, token, _ = add_bins(database)
    writes: list[str] = []

    class ProbingDistance(HaversineDistance):
        def matrices(self, points):  # type: ignore[no-untyped-def]
            if database.is_sqlite:  # the solve starts here: try a write elsewhere
                path = database.url.removeprefix("sqlite:///")
                other = sqlite3.connect(path, timeout=0.5)
                try:
                    other.execute("CREATE TABLE IF NOT EXISTS lock_probe (x INTEGER)")
                    other.execute("INSERT INTO lock_probe VALUES (1)")
                    other.commit()
                    writes.append("ok")
                except sqlite3.OperationalError as error:
                    writes.append(str(error))
                finally:
                    other.close()
            else:
                writes.append("ok")
            return super().matrices(points)

    monkeypatch.setattr(service, "distance_from_settings", lambda _settings: ProbingDistance())
    plan_of(client, {"Authorization": f"Bearer {token}"})
    assert writes and all(w == "ok" for w in writes), writes


def test_plan_access_follows_the_assets_it_visits(client: TestClient, database: Database) -> None:
    """A viewer of the plan's organisation reads it without left-out assets it may not read;
    once the plan visits a restricted asset it is the editors' only (404 for the viewer, left
    out of the viewer's list); another organisation's editor never reads it."""
    from sqlalchemy import update

    from placehub.sta.tables import things

    org, token, _ids = add_bins(database)
    with database.begin() as conn:
        viewer = create_user(conn, "viewer")
        grant_role(conn, viewer, org, "viewer")
        viewer_token = create_token(conn, viewer)
        other = add_organisation(conn, "elsewhere")
        rival = create_user(conn, "rival")
        grant_role(conn, rival, other, "editor")
        rival_token = create_token(conn, rival)
    editor = {"Authorization": f"Bearer {token}"}
    reader = {"Authorization": f"Bearer {viewer_token}"}
    plan = client.post("/api/rounds/plans", headers=editor, json={
        "service": "waste", "date": "2026-11-23", "at": AT.isoformat(),
        "runtime_seconds": 0.5}).json()
    left = plan["left_out"][0]["asset_id"]
    visited = next(s["asset_id"] for v in plan["vehicles"] for s in v["stops"]
                   if s["kind"] == "asset")

    def restrict(thing_id: int) -> None:
        with database.begin() as conn:
            conn.execute(update(things).where(things.c.id == thing_id).values(
                visibility="restricted"))

    restrict(left)
    seen = client.get(f"/api/rounds/plans/{plan['id']}", headers=reader)
    assert seen.status_code == 200
    assert left not in {x["asset_id"] for x in seen.json()["left_out"]}
    assert left in {x["asset_id"] for x in client.get(
        f"/api/rounds/plans/{plan['id']}", headers=editor).json()["left_out"]}
    restrict(visited)
    for path in (f"/api/rounds/plans/{plan['id']}", f"/api/rounds/plans/{plan['id']}/sheets.html"):
        assert client.get(path, headers=reader).status_code == 404
        assert client.get(path, headers=editor).status_code == 200
        assert client.get(path, headers={
            "Authorization": f"Bearer {rival_token}"}).status_code == 404
    assert client.get("/api/rounds/plans", headers=reader).json()["plans"] == []
    needs = client.get("/api/rounds/needs", headers=reader).json()["needs"]
    assert {n["thing_id"] for n in needs}.isdisjoint({left, visited})
