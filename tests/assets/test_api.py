"""GET /api/assets, /api/assets/{id}, /api/assets/thresholds and the `placehub assets` CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from placehub.access import service
from placehub.cli import app as cli_app
from placehub.db import Database
from placehub.rounds.tables import rounds_service_events
from placehub.sta.observations import NewObservation, write_observations
from tests.sta.factories import make_datastream

NOW = datetime(2026, 6, 3, 10, 0, tzinfo=UTC)
PERCENT = {"name": "percent", "symbol": "%"}


def add(database: Database, name: str, properties: dict[str, Any], quantity: str,
        series: list[tuple[float, float]], visibility: str = "public") -> int:
    """A Thing with one Datastream and readings (hours before NOW, value)."""
    with database.begin() as conn:
        ids = make_datastream(conn, name=f"{name} {quantity} stream", thing_name=name,
                              quantity=quantity, unit=PERCENT, properties=properties,
                              visibility=visibility)
        write_observations(conn, [NewObservation(ids["datastream"], NOW - timedelta(hours=h), v)
                                  for h, v in series])
    return ids["thing"]


@pytest.fixture
def assets(database: Database, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """A filling public bin, a private bin past its line, a drying bed and a silent bin."""
    monkeypatch.setattr("placehub.assets.api.now", lambda: NOW)
    filling = [(72 - 3 * k, 8.0 + 3.0 * k) for k in range(25)]  # 8% -> 80%, 24% a day
    return {
        "filling": add(database, "Bin 1", {"asset_type": "litter_bin"}, "fill_level", filling),
        "private": add(database, "Bin 2", {"asset_type": "litter_bin"}, "fill_level",
                       [(1, 101.0)], visibility="organisation"),
        "bed": add(database, "Bed 1", {"asset_type": "flowerbed", "watering_threshold": 22},
                   "soil_moisture", [(30 - 3 * k, 30.0 - 0.3 * k) for k in range(11)]),
        "silent": add(database, "Bin 3", {"asset_type": "litter_bin",
                                          "thresholds": {"silent_hours": 6}},
                      "fill_level", [(7, 40.0)]),
    }


def officer(database: Database) -> dict[str, str]:
    with database.begin() as conn:
        org = service.organisation_id(conn, "rutland")
        user = service.create_user(conn, "officer")
        service.grant_role(conn, user, org, "viewer")
        return {"Authorization": f"Bearer {service.create_token(conn, user)}"}


def test_list_shows_each_readable_asset_with_its_status(
        client: TestClient, database: Database, assets: dict[str, int]) -> None:
    """Anonymous callers see public assets; a member sees the organisation's too; status and
    level are the asset's own; a status filter narrows, an unknown one is a 400."""
    public = {a["id"]: a for a in client.get("/api/assets").json()["assets"]}
    assert assets["private"] not in public
    assert public[assets["filling"]]["status"] == "nearly-full"
    assert public[assets["filling"]]["level"]["value"] == pytest.approx(0.8)
    assert public[assets["bed"]]["status"] == "ok"
    assert public[assets["silent"]]["status"] == "silent"
    member = {a["id"]: a for a in client.get("/api/assets", headers=officer(database)).json()[
        "assets"]}
    assert member[assets["private"]]["status"] == "full"
    assert member[assets["private"]]["needs_service_now"] is True
    silent = client.get("/api/assets?status=silent").json()["assets"]
    assert [a["id"] for a in silent] == [assets["silent"]]
    wrong = client.get("/api/assets?status=overflowing")
    assert wrong.status_code == 400 and "silent" in wrong.json()["error"]["message"]


def test_one_asset_in_full(client: TestClient, database: Database,
                           assets: dict[str, int]) -> None:
    """Readings, forecast through the rounds forecaster, thresholds with their source, service
    history and tomorrow's round; another organisation's private asset is a 404."""
    with database.begin() as conn:
        conn.execute(rounds_service_events.insert().values(
            thing_id=assets["filling"], service="waste", time=NOW - timedelta(days=4),
            note="", recorded_by="crew"))
    detail = client.get(f"/api/assets/{assets['filling']}").json()
    assert detail["forecast"]["event"] == "overflow"
    assert detail["forecast"]["probability"] > 0.7  # 80% now, filling 24% a day
    assert detail["forecast"]["forecaster"] == "placehub weekday-profile forecaster"
    assert detail["thresholds"]["full"] == {
        "value": 1.0, "source": "type default", "meaning": detail["thresholds"]["full"]["meaning"]}
    assert [s["recorded_by"] for s in detail["service_history"]] == ["crew"]
    assert detail["next_round"]["day"] == "2026-06-04" and detail["next_round"]["mandatory"]
    bed = client.get(f"/api/assets/{assets['bed']}").json()
    assert bed["forecast"]["event"] == "dry" and bed["forecast"]["line"] == 22.0
    assert bed["thresholds"]["dry"]["source"] == "asset"
    assert client.get(f"/api/assets/{assets['private']}").status_code == 404
    limits = client.get("/api/assets/thresholds").json()
    assert limits["type_defaults"]["air_quality_station"]["silent_hours"] == 3.0


def test_organisation_thresholds_from_the_cli_change_the_status(
        client: TestClient, database: Database, assets: dict[str, int]) -> None:
    """`placehub assets thresholds set rutland litter_bin full 0.7` makes an 80% bin full; a
    bad value is refused in plain words; `assets show` prints the asset."""
    runner = CliRunner()
    base = ["--database-url", database.url, "assets"]
    done = runner.invoke(cli_app, [*base, "thresholds", "set", "rutland", "litter_bin",
                                   "full", "0.7"])
    assert done.exit_code == 0, done.output
    status = {a["id"]: a["status"] for a in client.get("/api/assets").json()["assets"]}
    assert status[assets["filling"]] == "full"
    refused = runner.invoke(cli_app, [*base, "thresholds", "set", "rutland", "litter_bin",
                                      "full", "3"])
    assert refused.exit_code == 1 and "outside" in refused.output
    listed = runner.invoke(cli_app, [*base, "thresholds", "list"])
    assert listed.exit_code == 0 and "0.7" in listed.output
    shown = runner.invoke(cli_app, [*base, "show", str(assets["filling"])])
    assert shown.exit_code == 0 and "Bin 1" in shown.output
