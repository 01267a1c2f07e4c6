"""Officer and public features on the demo: the round map, registering a device, importing
devices as a job with a per-row report, dead letters with replay, ward indicators and the data
credits on every page that shows data."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from placehub.db import Database
from placehub.ingest.devices import list_devices
from placehub.insight.indicators import IndicatorDefinition, IndicatorValue, replace_values
from placehub.insight.indicators import save_definition as save_indicator
from placehub.rounds import service as rounds
from placehub.sta.tables import observations
from tests.ingest.conftest import wait_processed
from tests.ingest.messages import ldds75, tts_uplink
from tests.web.conftest import csrf_of, finish_job, sign_in
from tests.web.demo import Demo

GOOD_ROW = "A84041000181E101,New bin Oakham,dragino-ldds75-bin,52.6703,-0.7301,litter_bin\n"
HEADER = "dev_eui,name,profile,latitude,longitude,asset_type\n"
TWO_BAD_ROWS = (HEADER + GOOD_ROW
                + "A84041000181E102,New bin Uppingham,dragino-ldds75-bin,north,-0.73,litter_bin\n"
                + "A84041000181E103,New bin Empingham,no-such-profile,52.66,-0.6,litter_bin\n")


def _plan(database: Database, demo: Demo) -> int:
    """Tomorrow's waste round of the demo council, planned and saved."""
    day = datetime.now(UTC).date() + timedelta(days=1)
    with database.begin() as conn:
        plan = rounds.make_plan(conn, demo.settings, rounds.PlanRequest(
            "waste", day, datetime.now(UTC), demo.organisation_id, None, None))
        return rounds.save_plan(conn, plan, demo.organisation_id, "officer", datetime.now(UTC))


@pytest.mark.clock
def test_plan_page_draws_the_routes_and_lists_the_same_stops(
        demo: Demo, demo_client: TestClient, database: Database) -> None:
    """The plan page has a map fed by routes.geojson, whose stops are the rows of the tables;
    other councils' officers and anonymous users cannot read the routes."""
    plan_id = _plan(database, demo)
    sign_in(demo_client)
    page = demo_client.get(f"/rounds/{plan_id}").text
    assert f'data-routes-url="/rounds/{plan_id}/routes.geojson"' in page
    collection = demo_client.get(f"/rounds/{plan_id}/routes.geojson").json()
    stops = [f for f in collection["features"] if f["properties"]["kind"] != "route"]
    routes = [f for f in collection["features"] if f["properties"]["kind"] == "route"]
    assert routes and all(len(r["geometry"]["coordinates"]) >= 1 for r in routes)
    table_rows = re.findall(r'<tr class="govuk-table__row" id="stop-', page)
    assert len(stops) == len(table_rows) > 0
    assert all(f"stop-{f['properties']['stop_id']}" in page for f in stops)
    demo_client.cookies.clear()
    assert demo_client.get(f"/rounds/{plan_id}/routes.geojson",
                           follow_redirects=False).status_code in (303, 401)
    sign_in(demo_client, "outsider")
    assert demo_client.get(f"/rounds/{plan_id}/routes.geojson").status_code == 404


def test_register_a_device_with_the_form(demo: Demo, demo_client: TestClient,
                                         database: Database) -> None:
    """Mistakes come back in an error summary linked to each field; a good form registers the
    device (as POST /api/devices does) and a second time says it is already registered."""
    sign_in(demo_client)
    form = demo_client.get("/devices/new").text
    token = csrf_of(form)
    fields = {"dev_eui": "A84041000181E201", "name": "Bin by the library",
              "profile": "dragino-ldds75-bin", "latitude": "52.67", "longitude": "-0.73",
              "asset_type": "", "visibility": "organisation", "description": "",
              "csrf_token": token}
    wrong = demo_client.post("/devices/new", data={**fields, "dev_eui": "XYZ",
                                                   "latitude": "north", "profile": ""})
    assert wrong.status_code == 400 and "There is a problem" in wrong.text
    for name in ("dev_eui", "latitude", "profile"):
        assert f'href="#{name}"' in wrong.text and f'id="{name}-error"' in wrong.text
    assert 'value="Bin by the library"' in wrong.text  # what was typed is kept
    done = demo_client.post("/devices/new", data=fields)
    assert done.status_code == 200 and "Device registered" in done.text
    with database.connect() as conn:
        assert "A84041000181E201" in {d["dev_eui"] for d in list_devices(conn, None)}
    again = demo_client.post("/devices/new", data=fields)
    assert again.status_code == 409 and "already registered" in again.text


def test_import_job_reports_every_bad_row_and_imports_nothing(
        demo: Demo, demo_client: TestClient, database: Database) -> None:
    """The import runs as a job; its report names each bad line, its row and why, and no
    device of the file is registered; the corrected file then imports."""
    sign_in(demo_client)
    with database.connect() as conn:
        before = len(list_devices(conn, None))
    token = csrf_of(demo_client.get("/devices").text)
    report = finish_job(demo_client, demo_client.post(
        "/devices/import", data={"csrf_token": token}, follow_redirects=False,
        files={"file": ("devices.csv", TWO_BAD_ROWS, "text/csv")}))
    assert "Nothing imported: 2 problems in 3 rows" in report.text
    table = report.text.split('id="import-report"')[1]
    assert 'id="line-3"' in table and "A84041000181E102 New bin Uppingham" in table
    assert "latitude" in table and 'id="line-4"' in table and "no-such-profile" in table
    assert 'id="line-2"' not in table
    with database.connect() as conn:
        assert len(list_devices(conn, None)) == before
    fixed = finish_job(demo_client, demo_client.post(
        "/devices/import", data={"csrf_token": token}, follow_redirects=False,
        files={"file": ("devices.csv", HEADER + GOOD_ROW, "text/csv")}))
    assert "Devices imported" in fixed.text and "A84041000181E101" in fixed.text
    with database.connect() as conn:
        assert len(list_devices(conn, None)) == before + 1


def _observations(database: Database) -> int:
    with database.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(observations)).scalar_one())


def test_dead_letters_replay_as_a_job_without_duplicates(demo: Demo, database: Database) -> None:
    """Uplinks of an unknown device are listed with the reason; after registering it, Replay
    turns them into readings once, and replaying again adds none."""
    from placehub.web.app import create_app

    eui = "A84041000181E301"
    # Webhooks without credentials, as on a loopback server with anonymous writes allowed.
    settings = demo.settings.replace(anonymous_write=True)
    with TestClient(create_app(settings, database=database)) as client:
        for f_cnt in (1, 2):
            assert client.post("/ingest/ttn", json=tts_uplink(eui, ldds75(900), f_cnt)
                               ).status_code == 200
        wait_processed(database)
        sign_in(client)
        letters = client.get("/devices/dead-letters").text
        assert eui in letters and "unknown device" in letters
        assert "2 dead letters" in client.get("/devices").text
        client.post("/devices/new", data={
            "dev_eui": eui, "name": "Late bin", "profile": "dragino-ldds75-bin",
            "latitude": "52.67", "longitude": "-0.73", "visibility": "organisation",
            "csrf_token": csrf_of(letters)})
        before = _observations(database)
        result = finish_job(client, client.post("/devices/dead-letters/replay", data={
            "csrf_token": csrf_of(letters)}, follow_redirects=False))
        assert "Dead letters replayed" in result.text
        added = _observations(database) - before
        assert added > 0 and re.search(rf">{added}</dd>", result.text)
        assert "No dead letters" in client.get("/devices/dead-letters").text
        again = finish_job(client, client.post("/devices/dead-letters/replay", data={
            "csrf_token": csrf_of(letters)}, follow_redirects=False))
        assert again.status_code == 200 and _observations(database) == before + added


def test_viewers_cannot_register_devices_or_replay(demo: Demo, demo_client: TestClient) -> None:
    """A viewer (another council's) is refused the form, the dead letters and replay."""
    sign_in(demo_client, "outsider")
    assert demo_client.get("/devices/new").status_code == 403
    assert demo_client.get("/devices/dead-letters").status_code == 403
    token = csrf_of(demo_client.get("/devices").text)
    assert demo_client.post("/devices/dead-letters/replay", data={"csrf_token": token},
                            follow_redirects=False).status_code == 403


def _first_ward(client: TestClient) -> str:
    found = re.search(r'href="/public/places/([^"]+)"', client.get("/public/places").text)
    assert found, "the demo has wards"
    return found.group(1)


@pytest.fixture
def ward_indicators(demo: Demo, demo_client: TestClient, database: Database) -> str:
    """An official indicator and one derived from all sensors (not public) for the first ward."""
    ward = _first_ward(demo_client)
    council = demo.organisation_id
    with database.begin() as conn:
        save_indicator(conn, IndicatorDefinition(
            "green_space", "Share of land that is green space", "higher_is_better",
            unit="fraction", source="Example official source", licence="OGL v3"))
        save_indicator(conn, IndicatorDefinition(
            "bin_full_all", "Full bins, all sensors", "higher_is_worse", kind="derived",
            source="Council sensor data via placehub", derivation={
                "public_only": False, "sources": [[council, "organisation"]]}))
        replace_values(conn, [IndicatorValue("green_space", "wards", ward, "2026", 0.42),
                              IndicatorValue("bin_full_all", "wards", ward, "2026", 0.37)])
    return ward


def test_ward_page_shows_indicators_and_the_lsoa_deprivation(
        demo_client: TestClient, ward_indicators: str) -> None:
    """Officers see the ward's IoD 2019 score, its LSOAs' ranks and deciles and every stored
    indicator; the public page shows the public ones only."""
    ward = ward_indicators
    public = demo_client.get(f"/public/places/{ward}").text
    assert "Indices of Deprivation" in public and re.search(r"E010\d{5}", public)
    assert "Share of land that is green space" in public and "Example official source" in public
    assert "Full bins, all sensors" not in public
    sign_in(demo_client)
    officer = demo_client.get(f"/places/{ward}").text
    assert "Full bins, all sensors" in officer and "Share of land" in officer
    lsoas = officer.split('id="ranks-iod2019"')[1].split("</table>")[0]
    ranks = [int(r.replace(",", "")) for r in re.findall(
        r'numeric">([\d,]+)</td>\s*<td class="govuk-table__cell govuk-table__cell--numeric">'
        r'\d+</td>', lsoas)]
    assert ranks and ranks == sorted(ranks)


DATA_PAGES = {
    "/public/map": ["Contains OS data", "Sensor readings:"],
    "/public/air": ["uk-air.defra.gov.uk", "Sensor readings:"],
    "/public/places": ["Contains OS data"],
}


def test_every_page_with_data_credits_its_sources(demo: Demo, demo_client: TestClient,
                                                  database: Database) -> None:
    """Data pages, public and officer, list their sources' credit lines in full; no page says
    "as above"; pages without data list none."""
    ward = _first_ward(demo_client)
    pages = {**DATA_PAGES, f"/public/places/{ward}": ["MHCLG", "Contains OS data"]}
    for path, wanted in pages.items():
        text = demo_client.get(path).text
        credits = text.split("Sources of the data on this page")[1].split("</section>")[0]
        assert all(w in credits for w in wanted), (path, credits)
        assert "as above" not in text.lower(), path
    assert "Sources of the data on this page" not in demo_client.get("/login").text
    sign_in(demo_client)
    plan_id = _plan(database, demo)
    for path, wanted in {"/map": ["Contains OS data"], f"/rounds/{plan_id}":
                         ["OpenStreetMap contributors"], "/overview": ["Sensor readings:"],
                         f"/places/{ward}": ["MHCLG"],
                         f"/assets/{demo.thing_ids['litter_bin'][0]}": ["Sensor readings:"]
                         }.items():
        text = demo_client.get(path).text
        assert all(w in text.split("Sources of the data on this page")[1] for w in wanted), path
        assert "as above" not in text.lower(), path


@pytest.mark.parametrize(("utc", "expected"), [("2026-07-14T23:30:00+00:00", "2026-07-16"),
                                               ("2026-07-14T22:30:00+00:00", "2026-07-15"),
                                               ("2026-12-14T23:30:00+00:00", "2026-12-15")])
def test_planning_form_offers_the_councils_tomorrow(client: TestClient, seeded: object, utc: str,
                                                    expected: str) -> None:
    """The planning form's date is tomorrow in the council's time zone: at 00:30 BST it is the
    day after the UTC date's tomorrow."""
    import time_machine

    with time_machine.travel(datetime.fromisoformat(utc), tick=False):
        sign_in(client)
        form = client.get("/rounds").text
    assert f'name="day" type="date" value="{expected}"' in form
