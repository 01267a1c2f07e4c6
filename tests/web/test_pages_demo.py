"""Every page renders against the real concerns on the demo data, and anonymous users see only
public data."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from placehub.db import Database
from tests.web.conftest import csrf_of, finish_job, sign_in
from tests.web.demo import Demo

OFFICER_PAGES = ["/overview", "/map", "/rounds", "/alerts", "/air", "/devices", "/places",
                 "/jobs/does-not-exist"]
PUBLIC_PAGES = ["/", "/public/map", "/public/places", "/public/air", "/about-the-data", "/login"]


def test_every_page_renders_for_an_officer(demo: Demo, demo_client: TestClient) -> None:
    """Signed in as the council's editor, no page (officer, public, asset) answers a 5xx."""
    sign_in(demo_client)
    asset_pages = [f"/assets/{ids[0]}" for ids in demo.thing_ids.values()]
    ward = re.search(r'href="/places/([^"]+)"', demo_client.get("/places").text)
    alert = re.search(r'href="/alerts/(\d+)"', demo_client.get("/alerts").text)
    assert ward and alert, "the demo has wards and an open alert"
    asset_pages += [f"/places/{ward.group(1)}", f"/public/places/{ward.group(1)}",
                    f"/alerts/{alert.group(1)}"]
    failures = {}
    for path in OFFICER_PAGES + PUBLIC_PAGES + asset_pages + ["/geo/wards.geojson"]:
        response = demo_client.get(path)
        if response.status_code >= 500 or (response.status_code != 200
                                           and not path.startswith("/jobs")):
            failures[path] = (response.status_code, response.text[:300])
    assert not failures, failures


def pin_clock_to_the_plans_day(monkeypatch: pytest.MonkeyPatch, day: str) -> None:
    """The crews' clock at noon (Europe/London) on the plan's day: a stop is done on its day."""
    from placehub.rounds import service

    noon = datetime.combine(date.fromisoformat(day), dt_time(12, 0),
                            ZoneInfo("Europe/London")).astimezone(UTC)
    monkeypatch.setattr(service, "now", lambda: noon)


@pytest.mark.clock
def test_plan_a_round_then_mark_a_stop_done(demo: Demo, demo_client: TestClient,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Planning tomorrow's waste round goes form → progress → plan; its sheet prints; a stop
    marked done on the plan's day shows as done."""
    sign_in(demo_client)
    form = demo_client.get("/rounds").text
    day = re.search(r'name="day" type="date" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    started = demo_client.post("/rounds", data={"service": "waste", "day": day,
                                                "csrf_token": csrf_of(form)},
                               follow_redirects=False)
    assert started.status_code == 303 and started.headers["location"].startswith("/jobs/")
    job_url = started.headers["location"]
    deadline = time.monotonic() + 60
    while (state := demo_client.get(job_url + ".json").json())["state"] == "running":
        assert time.monotonic() < deadline, "planning took over 60 s"
        time.sleep(0.2)
    assert state["state"] == "done", state
    plan_page = demo_client.get(state["result_url"])
    assert plan_page.status_code == 200 and "Mark done" in plan_page.text
    sheet = demo_client.get(state["result_url"] + "/vehicles/1/sheet")
    assert sheet.status_code == 200
    stop_action = re.search(r'action="(/rounds/\d+/stops/\d+)"', plan_page.text).group(1)  # type: ignore[union-attr]
    too_early = demo_client.post(stop_action, data={"status": "done",
                                                    "csrf_token": csrf_of(plan_page.text)})
    assert too_early.status_code == 400 and day in too_early.text  # planned for tomorrow
    pin_clock_to_the_plans_day(monkeypatch, day)
    marked = demo_client.post(stop_action, data={"status": "done",
                                                 "csrf_token": csrf_of(plan_page.text)})
    assert marked.status_code == 200
    assert ">Done</strong>" in marked.text and '1 done' in marked.text


def test_crew_page_all_sheets_and_replan(demo: Demo, demo_client: TestClient,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The crew page marks a stop done and comes back to itself; one page prints every
    vehicle's sheet with a map each; a re-plan routes the stops not done yet."""
    sign_in(demo_client)
    form = demo_client.get("/rounds").text
    day = re.search(r'name="day" type="date" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    planned = finish_job(demo_client, demo_client.post(
        "/rounds", data={"service": "waste", "day": day, "csrf_token": csrf_of(form)},
        follow_redirects=False))
    plan_url, plan_page = planned.url.path, planned.text
    crew_url = re.search(r'href="(/rounds/\d+/vehicles/\d+/crew)"', plan_page).group(1)  # type: ignore[union-attr]
    crew = demo_client.get(crew_url)
    assert crew.status_code == 200 and "to go" in crew.text
    action = re.search(r'action="(/rounds/\d+/stops/\d+)"', crew.text).group(1)  # type: ignore[union-attr]
    pin_clock_to_the_plans_day(monkeypatch, day)
    marked = demo_client.post(action, data={"status": "done", "back": crew_url.split("/")[4],
                                            "csrf_token": csrf_of(crew.text)},
                              follow_redirects=False)
    assert marked.status_code == 303 and marked.headers["location"].startswith(crew_url)
    assert "govuk-tag--green" in demo_client.get(crew_url).text
    sheets = demo_client.get(plan_url + "/sheets")
    used = plan_page.count("Crew page for vehicle")
    assert sheets.status_code == 200 and sheets.text.count("<svg") == used
    assert sheets.text.count("placehub-sheet\"") == used
    replanned = finish_job(demo_client, demo_client.post(
        plan_url + "/replan", data={"csrf_token": csrf_of(plan_page)}, follow_redirects=False))
    new_page = replanned.text
    assert f"re-plan of plan {plan_url.rsplit('/', 1)[1]}" in new_page


BAD_CSV = """dev_eui,name,profile,latitude,longitude,asset_type
A84041000181E001,New bin Oakham,dragino-ldds75-bin,52.6703,-0.7301,litter_bin
A84041000181E002,New bin Uppingham,dragino-ldds75-bin,north,-0.7301,litter_bin
"""


def test_device_import_reports_the_bad_row(demo: Demo, demo_client: TestClient) -> None:
    """A CSV with one bad row imports nothing and the page names the line and what to fix."""
    sign_in(demo_client)
    token = csrf_of(demo_client.get("/devices").text)
    response = finish_job(demo_client, demo_client.post(
        "/devices/import", data={"csrf_token": token},
        files={"file": ("devices.csv", BAD_CSV, "text/csv")}, follow_redirects=False))
    assert "Nothing imported: 1 problem" in response.text and "Line 3" in response.text
    assert "A84041000181E001" not in demo_client.get("/devices").text


def test_acknowledge_an_alert(demo: Demo, demo_client: TestClient) -> None:
    """Acknowledging an open alert records who did it in its history."""
    sign_in(demo_client)
    alert_id = re.search(r'href="/alerts/(\d+)"', demo_client.get("/alerts").text).group(1)  # type: ignore[union-attr]
    page = demo_client.get(f"/alerts/{alert_id}").text
    done = demo_client.post(f"/alerts/{alert_id}", data={
        "action": "acknowledge", "note": "crew on the way", "csrf_token": csrf_of(page)})
    assert done.status_code == 200
    assert "acknowledged" in done.text and "crew on the way" in done.text
    assert ">Acknowledge</button>" not in done.text


def test_forms_need_the_csrf_token(demo: Demo, demo_client: TestClient) -> None:
    """A POST without the session's CSRF token is refused and changes nothing."""
    sign_in(demo_client)
    alert_id = re.search(r'href="/alerts/(\d+)"', demo_client.get("/alerts").text).group(1)  # type: ignore[union-attr]
    refused = demo_client.post(f"/alerts/{alert_id}", data={"action": "acknowledge"})
    assert refused.status_code == 403
    assert ">Acknowledge</button>" in demo_client.get(f"/alerts/{alert_id}").text


def test_anonymous_users_see_only_public_data(demo: Demo, demo_client: TestClient,
                                              database: Database) -> None:
    """Logged out: officer pages send to sign-in, and public pages name no non-public asset."""
    from sqlalchemy import select

    from placehub.sta.tables import things

    with database.connect() as conn:
        hidden = [(row.id, row.name) for row in conn.execute(
            select(things.c.id, things.c.name, things.c.visibility)) if row.visibility != "public"]
    assert hidden, "the demo has organisation-only assets"
    for path in OFFICER_PAGES[:-1] + [f"/assets/{hidden[0][0]}"]:
        response = demo_client.get(path, follow_redirects=False)
        assert response.status_code in (303, 401, 404), path
    wards = re.findall(r'href="(/public/places/[^"]+)"', demo_client.get("/public/places").text)
    pages = PUBLIC_PAGES + wards + ["/geo/assets.geojson"]
    for path in pages:
        text = demo_client.get(path).text
        leaked = [name for _, name in hidden if name in text]
        assert not leaked, (path, leaked[:3])


@pytest.mark.clock
def test_skipping_a_stop_needs_a_reason(demo: Demo, demo_client: TestClient) -> None:
    """Skipping without a reason is refused with what to fix; with one it shows on the plan."""
    sign_in(demo_client)
    form = demo_client.get("/rounds").text
    day = re.search(r'name="day" type="date" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    job_url = demo_client.post("/rounds", data={"service": "waste", "day": day,
                                                "csrf_token": csrf_of(form)},
                               follow_redirects=False).headers["location"]
    deadline = time.monotonic() + 60
    while (state := demo_client.get(job_url + ".json").json())["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    plan = demo_client.get(state["result_url"]).text
    action = re.search(r'action="(/rounds/\d+/stops/\d+)"', plan).group(1)  # type: ignore[union-attr]
    refused = demo_client.post(action, data={"status": "skipped", "reason": " ",
                                             "csrf_token": csrf_of(plan)})
    assert refused.status_code == 400
    stop = action.rsplit("/", 1)[1]
    # On the plan page itself: the error summary links to the stop's reason, which shows it.
    assert re.search(rf'govuk-error-summary.*href="#reason-{stop}"', refused.text, re.S)
    assert f'id="reason-{stop}-error"' in refused.text
    assert "Enter why the stop was skipped" in refused.text
    skipped = demo_client.post(action, data={"status": "skipped", "reason": "blocked access",
                                             "csrf_token": csrf_of(plan)})
    assert skipped.status_code == 200 and "Skipped</strong> blocked access" in skipped.text


def test_about_the_data_lists_every_credit(client: TestClient, data_dir: Path) -> None:
    """"About the data" shows each source of ATTRIBUTION.md with its credit line, logged out."""
    from placehub.attribution import parse_attribution

    document = parse_attribution((data_dir / "ATTRIBUTION.md").read_text(encoding="utf-8"))
    page = client.get("/about-the-data")
    assert page.status_code == 200
    text = page.text.replace("&amp;", "&").replace("&#39;", "'").replace("&#34;", '"')
    for source in document["sources"]:
        assert source["licence"].split(";")[0].strip().replace('"', "") in text.replace('"', "")
    assert "© OpenStreetMap contributors" in text and "uk-air.defra.gov.uk" in text
