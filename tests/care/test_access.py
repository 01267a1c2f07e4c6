"""Home sensors over every route: nobody but the named carers reads anything of a resident's
home (not another council's admin, not this council's editor or admin, not anonymous callers);
break-glass access works for four hours, and the carers see it reported."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select

from placehub.access import service as access
from placehub.care import service
from placehub.care.demo import write_events
from placehub.care.simulate import simulate
from placehub.db import Database
from placehub.governance.tables import read_audit

NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
NAME = "Winifred Armitage"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def home(database: Database) -> dict:
    """Rutland (admin, editor) with one resident's home (three sensors, ten days of events, a
    named carer) and Sutton's admin."""
    with time_machine.travel(NOW, tick=False), database.begin() as conn:
        rutland = access.create_organisation(conn, "rutland", "Rutland County Council")
        sutton = access.create_organisation(conn, "sutton", "London Borough of Sutton")
        tokens = {}
        for name, org, role in (("rutland-admin", rutland, "admin"),
                                ("rutland-editor", rutland, "editor"),
                                ("sutton-admin", sutton, "admin"), ("carer-jo", None, None)):
            user = access.create_user(conn, name)
            if org is not None:
                access.grant_role(conn, user, org, str(role))
            tokens[name] = access.create_token(conn, user)
        resident = service.create_resident(conn, "HS-2001", NAME, rutland)
        service.record_consent(conn, resident, given_by=NAME, capacity="resident",
                               purposes=["routine_alerts", "carer_view"],
                               agreed_at=NOW - timedelta(days=20))
        service.add_carer(conn, resident, "carer-jo")
        devices = [service.add_home_sensor(conn, resident, kind, f"A84041CA0009000{n}",
                                           latitude=52.66 + n / 1000, longitude=-0.73)
                   for n, kind in enumerate(service.HOME_SENSORS, start=1)]
        month = simulate((NOW - timedelta(days=10)).date(), days=10, seed=1, plant=False)
        write_events(conn, resident, month.events)
    things = [d["thing_id"] for d in devices]
    streams = [s for d in devices for s in d["datastreams"].values()]
    return {"tokens": tokens, "things": things, "streams": streams, "resident": resident}


def _routes(home: dict) -> list[str]:
    thing, stream = home["things"][0], home["streams"][0]
    return [
        "/sta/v1.1/Things", "/sta/v1.1/Datastreams", "/sta/v1.1/Observations?$top=50",
        f"/sta/v1.1/Things({thing})", f"/sta/v1.1/Datastreams({stream})/Observations",
        "/sta/v1.1/Locations", "/api/assets", f"/api/assets/{thing}", "/map.csv",
        "/geo/assets.geojson", f"/assets/{thing}/history/{stream}.csv?days=30",
        f"/assets/{thing}", "/assets", "/api/care/residents", "/api/care/residents/HS-2001",
        "/care", "/care/HS-2001", "/api/alerts", "/api/devices",
        # The street-zoom map tiles over the home (where its sensors would be drawn by name).
        *{_street_tile(-0.73, 52.66 + n / 1000) for n in range(1, 6)},
    ]


def _street_tile(lon: float, lat: float) -> str:
    """The zoom-16 asset tile holding a position (OSM's tile formula)."""
    n = 2**16
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return f"/tiles/assets/16/{int((lon + 180) / 360 * n)}/{int(y)}.pbf"


def _reads_anything(client: TestClient, path: str, headers: dict[str, str]) -> str | None:
    """What of the home a response shows, or None."""
    response = client.get(path, headers=headers, follow_redirects=False)
    text = response.text
    for secret in (NAME, "HS-2001", "A84041CA0009"):
        if secret in text and response.status_code < 300:
            return f"{path}: {secret} in a {response.status_code}"
    return None


def test_nobody_but_the_carers_reads_the_home_and_break_glass_is_reported(
        client: TestClient, database: Database, home: dict) -> None:
    """Sutton's admin, Rutland's editor and admin and anonymous callers read nothing of the
    home over STA, the APIs, pages and exports; the carer reads it all; a Rutland admin's
    break-glass access works for four hours, is audited and is reported to the carers."""
    outsiders = {"anonymous": {}, **{name: bearer(home["tokens"][name]) for name in
                                     ("sutton-admin", "rutland-editor", "rutland-admin")}}
    with time_machine.travel(NOW, tick=False):
        for who, headers in outsiders.items():
            leaks = [leak for path in _routes(home)
                     if (leak := _reads_anything(client, path, headers))]
            assert leaks == [], who
            for path in ("/sta/v1.1/Things", "/map.csv", "/api/assets"):
                assert client.get(path, headers=headers).status_code == 200, (who, path)
            assert client.get("/api/care/residents/HS-2001", headers=headers
                              ).status_code in {401, 404}
        carer = bearer(home["tokens"]["carer-jo"])
        status = client.get("/api/care/residents/HS-2001", headers=carer).json()
        assert status["display_name"] == NAME and status["collecting"] is True
        assert status["routine"]["first_movement_median"] and "events" not in status
        assert "events" in client.get("/api/care/residents/HS-2001?events=true",
                                      headers=carer).json()
        names = {t["name"] for t in client.get("/sta/v1.1/Things", headers=carer
                                               ).json()["value"]}
        assert {"HS-2001 Front door", "HS-2001 Fridge door"} <= names
        observations = client.get(f"/sta/v1.1/Datastreams({home['streams'][0]})/Observations",
                                  headers=carer).json()["value"]
        assert observations
        assert NAME in client.get("/care/HS-2001", headers=carer).text
        assert client.get(f"/assets/{home['things'][1]}/history/{home['streams'][3]}.csv"
                          "?days=30", headers=carer).headers["x-data-class"] == "personal"

        admin = bearer(home["tokens"]["rutland-admin"])
        assert client.post("/api/care/residents/HS-2001/break-glass", headers=admin,
                           json={"reason": "x"}).status_code == 400
        assert client.post("/api/care/residents/HS-2001/break-glass",
                           headers=bearer(home["tokens"]["sutton-admin"]),
                           json={"reason": "No answer at the door, ambulance called"}
                           ).status_code == 404
        opened = client.post("/api/care/residents/HS-2001/break-glass", headers=admin,
                             json={"reason": "No answer at the door, ambulance called"})
        assert opened.status_code == 201, opened.text
        assert client.get("/api/care/residents/HS-2001", headers=admin).json()[
            "display_name"] == NAME
        report = client.get("/api/care/residents/HS-2001", headers=carer).json()["break_glass"]
        assert [(r["username"], r["reason"]) for r in report] == [
            ("rutland-admin", "No answer at the door, ambulance called")]
        page = client.get("/care/HS-2001", headers=carer).text
        assert "ambulance called" in page and "rutland-admin" in page
    with database.connect() as conn:
        actors = {r.actor for r in conn.execute(select(read_audit.c.actor))}
    assert {"carer-jo", "rutland-admin"} <= actors
    with time_machine.travel(NOW + timedelta(hours=4, minutes=1), tick=False):
        assert client.get("/api/care/residents/HS-2001", headers=admin).status_code == 404
        assert _reads_anything(client, "/sta/v1.1/Things", admin) is None
        assert client.get("/api/care/residents/HS-2001", headers=carer).status_code == 200
