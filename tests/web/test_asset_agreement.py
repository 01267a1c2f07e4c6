"""On the demo, every asset's status is the same on the map, in the API and on its page, and
whether tomorrow's round must visit it agrees with what the page and the API say."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from placehub.access import service
from placehub.db import Database
from placehub.demo.build import datastreams_by_quantity
from placehub.sta.observations import NewObservation, write_observations
from placehub.sta.tables import datastreams
from tests.web.conftest import sign_in
from tests.web.demo import Demo, fill_up

STATUS_CLASS = re.compile(r"placehub-status--([a-z-]+)")


def newest_reading(database: Database) -> datetime:
    with database.connect() as conn:
        newest = conn.execute(select(func.max(datastreams.c.latest_phenomenon_time))).scalar()
    assert newest is not None
    return newest  # type: ignore[no-any-return]


def dry_out(database: Database, bed_id: int, moisture: float, at: datetime) -> None:
    """A bed reporting ``moisture`` % now (the demo's beds are dry at 22%)."""
    with database.begin() as conn:
        stream = datastreams_by_quantity(conn, [bed_id])[bed_id]["soil_moisture"]
        write_observations(conn, [NewObservation(stream, at, moisture)])


@pytest.fixture
def pinned(demo: Demo, database: Database, monkeypatch: pytest.MonkeyPatch) -> datetime:
    """One bin past its full line and one dry bed, and every page's clock pinned to a minute
    after the newest reading (so nothing depends on when the test runs)."""
    with database.begin() as conn:
        fill_up(conn, demo.thing_ids["litter_bin"][-1:], 1.02)
    dry_out(database, demo.thing_ids["flowerbed"][0], 15.0, newest_reading(database))
    at = newest_reading(database) + timedelta(minutes=1)
    for module in ("placehub.web.asset_snapshot", "placehub.web.views.assets",
                   "placehub.assets.api"):
        monkeypatch.setattr(f"{module}.now", lambda: at)
    return at


def token_for(database: Database, username: str) -> dict[str, str]:
    with database.begin() as conn:
        return {"Authorization":
                f"Bearer {service.create_token(conn, service.user_id(conn, username))}"}


def planned_mandatory(client: TestClient, headers: dict[str, str], service_name: str,
                      at: datetime) -> set[int]:
    """The assets tomorrow's round of ``service_name`` must visit, planned as of ``at``."""
    response = client.post("/api/rounds/plans", headers=headers, json={
        "service": service_name, "date": (at.date() + timedelta(days=1)).isoformat(),
        "at": at.isoformat(), "runtime_seconds": 0.5, "seed": 1})
    assert response.status_code == 201, response.text
    return set(response.json()["mandatory_ids"])


def test_every_asset_has_one_status_and_one_answer_to_needs_a_visit(
        demo: Demo, demo_client: TestClient, database: Database, pinned: datetime) -> None:
    """Map, /api/assets, /api/assets/{id} and the asset page give each demo asset the same
    status; the page and the API say "needs a visit" exactly for the assets tomorrow's plan
    makes mandatory, which include every full bin and dry bed; bin and bed pages show a
    forecast, every page its ward and LSOA and the alert raised on it."""
    sign_in(demo_client)
    headers = token_for(database, "officer")
    on_map = {f["id"]: f["properties"]["s"]
              for f in demo_client.get("/geo/assets.geojson").json()["features"]}
    listed = {a["id"]: a for a in demo_client.get("/api/assets", headers=headers).json()[
        "assets"]}
    mandatory = (planned_mandatory(demo_client, headers, "waste", pinned)
                 | planned_mandatory(demo_client, headers, "watering", pinned))
    everything = [i for ids in demo.thing_ids.values() for i in ids]
    assert set(listed) == set(everything) and set(on_map) <= set(everything)
    seen: dict[str, int] = {}
    for thing_id in everything:
        status = listed[thing_id]["status"]
        seen[status] = seen.get(status, 0) + 1
        detail: dict[str, Any] = demo_client.get(f"/api/assets/{thing_id}",
                                                 headers=headers).json()
        page = demo_client.get(f"/assets/{thing_id}").text
        assert detail["status"] == status, thing_id
        if thing_id in on_map:
            assert on_map[thing_id] == status, thing_id
        assert STATUS_CLASS.findall(page)[:1] == [status], thing_id
        ward, lsoa = (next(p for p in detail["places"] if p["layer"] == layer)
                      for layer in ("wards", "lsoas"))
        assert ward["name"] in page and lsoa["code"] in page
        if detail["asset_type"] in ("litter_bin", "flowerbed"):
            visit = detail["next_round"]
            assert visit["mandatory"] == (thing_id in mandatory), (thing_id, visit)
            assert ("Needs a visit: " in page) == (thing_id in mandatory), thing_id
            assert detail["forecast"] is not None and "Chance of" in page
            if status in ("full", "dry"):
                assert thing_id in mandatory, (thing_id, status)
        else:
            assert detail["next_round"] is None and thing_id not in mandatory
    # The sweep met every kind of answer: past the line, nearly there, fine.
    assert {"full", "dry", "nearly-full", "ok"} <= set(seen), seen
    alerted = demo.thing_ids["litter_bin"][0]
    alert_titles = [a["title"] for a in demo_client.get(
        f"/api/assets/{alerted}", headers=headers).json()["alerts"]]
    assert alert_titles and alert_titles[0] in demo_client.get(f"/assets/{alerted}").text
