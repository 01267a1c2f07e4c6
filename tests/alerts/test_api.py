"""The alerts API and CLI: listing with filters, acknowledge and resolve, history, access."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from placehub.access.service import create_token, create_user, ensure_organisation, grant_role
from placehub.alerts.clock import FakeClock
from placehub.alerts.engine import RuleEngine
from placehub.cli import app as cli_app
from placehub.db import Database

from .conftest import Post, make_asset


def token_for(database: Database, username: str, org: str, role: str) -> dict[str, str]:
    """An Authorization header for a new user with ``role`` in ``org``."""
    with database.begin() as conn:
        organisation = ensure_organisation(conn, org, org.title())
        user = create_user(conn, username)
        grant_role(conn, user, organisation, role)
        return {"Authorization": f"Bearer {create_token(conn, user)}"}


def open_two_alerts(database: Database, post: Post) -> tuple[int, int]:
    """A full public bin and a full organisation-only bin of the same council."""
    _, public = make_asset(database, "litter_bin", ["fill_level"], name="Market Place bin")
    _, private = make_asset(database, "litter_bin", ["fill_level"], name="Depot bin",
                            visibility="organisation")
    post(public["fill_level"], (0, 100.0), (30, 101.0))
    post(private["fill_level"], (0, 100.0), (30, 101.0))
    return public["fill_level"], private["fill_level"]


def test_viewers_read_editors_act_anonymous_sees_public_only(
        database: Database, post: Post, client: TestClient) -> None:
    """Anonymous readers see alerts of public assets only; viewers cannot act; editors can."""
    open_two_alerts(database, post)
    viewer = token_for(database, "vera", "rutland", "viewer")
    editor = token_for(database, "ed", "rutland", "editor")
    outsider = token_for(database, "olga", "other", "editor")

    anonymous = client.get("/api/alerts", params={"rule": "bin_full"}).json()
    assert [a["thing_name"] for a in anonymous] == ["Market Place bin"]
    seen = client.get("/api/alerts", headers=viewer, params={"rule": "bin_full"}).json()
    assert {a["thing_name"] for a in seen} == {"Market Place bin", "Depot bin"}
    private_id = next(a["id"] for a in seen if a["thing_name"] == "Depot bin")
    assert client.get(f"/api/alerts/{private_id}").status_code == 404

    denied = client.post(f"/api/alerts/{private_id}/acknowledge", headers=viewer, json={})
    assert denied.status_code == 403
    assert client.post(f"/api/alerts/{private_id}/acknowledge", headers=outsider,
                       json={}).status_code == 404
    acked = client.post(f"/api/alerts/{private_id}/acknowledge", headers=editor,
                        json={"note": "crew on the way"})
    assert acked.status_code == 200
    body = acked.json()
    assert body["status"] == "acknowledged" and body["acknowledged_by"] == "ed"
    assert body["acknowledge_note"] == "crew on the way"
    again = client.post(f"/api/alerts/{private_id}/acknowledge", headers=editor, json={})
    assert again.status_code == 409

    resolved = client.post(f"/api/alerts/{private_id}/resolve", headers=editor,
                           json={"note": "emptied"})
    assert resolved.json()["status"] == "resolved"
    history = client.get(f"/api/alerts/{private_id}/history", headers=viewer).json()
    assert [h["action"] for h in history] == ["opened", "acknowledged", "resolved"]
    assert history[2]["actor"] == "ed" and history[2]["note"] == "emptied"


def test_filters(database: Database, post: Post, client: TestClient) -> None:
    """Alerts filter by status, severity, rule, asset type and Thing; bad filters are 400s."""
    _, bin_streams = make_asset(database, "litter_bin", ["fill_level", "tilt_angle"])
    post(bin_streams["fill_level"], (0, 100.0), (30, 101.0))
    post(bin_streams["tilt_angle"], (31, 85.0))
    everything = client.get("/api/alerts").json()
    assert {"bin_full", "bin_tilted"} <= {a["rule_key"] for a in everything}
    critical = client.get("/api/alerts", params={"severity": "critical"}).json()
    assert [a["rule_key"] for a in critical] == ["bin_tilted"]
    assert len(client.get("/api/alerts", params={"rule": "bin_full"}).json()) == 1
    assert client.get("/api/alerts", params={"asset_type": "flowerbed"}).json() == []
    assert client.get("/api/alerts", params={"status": "resolved"}).json() == []
    assert client.get("/api/alerts", params={"status": "maybe"}).status_code == 400
    assert client.get("/api/alerts", params={"severity": "loud"}).status_code == 400
    assert client.get("/api/alerts/999999").status_code == 404


def test_rules_api_lists_defaults_and_takes_overrides(
        database: Database, client: TestClient) -> None:
    """Signed-in users list rules; an editor overrides a threshold for one bin; bad input 400."""
    thing, _ = make_asset(database, "litter_bin", ["fill_level"])
    editor = token_for(database, "ed", "rutland", "editor")
    assert client.get("/api/alerts/rules").status_code == 401
    rules = client.get("/api/alerts/rules", headers=editor,
                       params={"asset_type": "litter_bin"}).json()
    assert {"bin_full", "battery_low", "silent", "bin_moved", "bin_tilted"} <= {
        r["key"] for r in rules}
    changed = client.put("/api/alerts/rules/overrides", headers=editor,
                         json={"thing_id": thing, "key": "bin_full", "params": {"value": 80}})
    assert changed.status_code == 200
    assert changed.json()["params"]["value"] == 80 and changed.json()["thing_id"] == thing
    in_force = client.get("/api/alerts/rules", headers=editor, params={"thing_id": thing}).json()
    assert next(r for r in in_force if r["key"] == "bin_full")["params"]["value"] == 80
    bad = client.put("/api/alerts/rules/overrides", headers=editor,
                     json={"thing_id": thing, "key": "bin_full", "severity": "loud"})
    assert bad.status_code == 400
    denied = client.post("/api/alerts/rules", headers=editor, json={
        "key": "x", "name": "x", "kind": "threshold", "params": {"value": 1},
        "asset_type": "litter_bin", "quantity": "fill_level"})
    assert denied.status_code == 403


def test_cli_list_ack_resolve(database: Database, engine: RuleEngine, post: Post,
                              clock: FakeClock, request: pytest.FixtureRequest) -> None:
    """`placehub alerts list|ack|resolve|rules list` work on the same alerts."""
    open_two_alerts(database, post)
    runner = CliRunner()
    base = ["--database-url", database.url, "alerts"]
    # The commands stamp acknowledgements with the system clock: from an hour after the alerts
    # opened on the engine's clock, whatever the date today.
    traveller = time_machine.travel(clock.now() + timedelta(hours=1), tick=True)
    traveller.start()
    request.addfinalizer(traveller.stop)

    def run(*args: str) -> Any:
        result = runner.invoke(cli_app, [*base, *args])
        assert result.exit_code == 0, result.output
        return result

    import json
    listed = json.loads(run("list", "--json", "--rule", "bin_full").output)
    assert len(listed) == 2
    first = str(listed[0]["id"])
    run("ack", first, "--note", "seen", "--by", "officer")
    run("resolve", first, "--by", "officer")
    shown = json.loads(run("show", first).output)
    assert [h["action"] for h in shown["history"]] == ["opened", "acknowledged", "resolved"]
    rules = json.loads(run("rules", "list", "--json", "--asset-type", "litter_bin").output)
    assert "bin_full" in {r["key"] for r in rules}
    failed = runner.invoke(cli_app, [*base, "ack", first])
    assert failed.exit_code == 1 and "only open alerts" in failed.output


def test_teams_and_notifications_api(database: Database, post: Post, client: TestClient) -> None:
    """Org admins add teams and subscriptions; members list deliveries; editors may not add."""
    admin = token_for(database, "ada", "rutland", "admin")
    editor = token_for(database, "ed", "rutland", "editor")
    with database.connect() as conn:
        from placehub.access.service import organisation_id
        org = organisation_id(conn, "rutland")
    team = {"organisation_id": org, "name": "Waste", "email": "waste@rutland.example"}
    assert client.post("/api/alerts/teams", headers=editor, json=team).status_code == 403
    created = client.post("/api/alerts/teams", headers=admin, json=team)
    assert created.status_code == 201
    team_id = created.json()["id"]
    bad = client.post(f"/api/alerts/teams/{team_id}/subscriptions", headers=admin,
                      json={"channels": ["webhook"]})
    assert bad.status_code == 400 and "no webhook" in bad.json()["error"]["message"]
    subscribed = client.post(f"/api/alerts/teams/{team_id}/subscriptions", headers=admin,
                             json={"channels": ["email"], "min_severity": "critical"})
    assert subscribed.json()["subscriptions"][0]["min_severity"] == "critical"
    _, streams = make_asset(database, "litter_bin", ["tilt_angle"])
    post(streams["tilt_angle"], (0, 85.0))
    deliveries = client.get("/api/alerts/notifications", headers=editor).json()
    assert [(d["channel"], d["status"], d["team"]) for d in deliveries] == [
        ("email", "pending", "Waste")]
    assert client.get("/api/alerts/notifications").status_code == 401
