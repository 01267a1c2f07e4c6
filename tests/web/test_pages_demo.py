"""Every page renders against the real concerns on the demo data, and anonymous users see only
public data."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from placehub.config import Settings
from placehub.db import Database
from tests.web.conftest import sign_in
from tests.web.demo import Demo, build_small_demo

OFFICER_PAGES = ["/overview", "/map", "/rounds", "/alerts", "/air", "/devices", "/places",
                 "/jobs/does-not-exist"]
PUBLIC_PAGES = ["/", "/public/map", "/public/places", "/public/air", "/about-the-data", "/login"]


@pytest.fixture
def demo(database: Database, settings: Settings, tmp_path: Path) -> Demo:
    """The small demo built into the test database."""
    return build_small_demo(database, settings, tmp_path)


@pytest.fixture
def demo_client(demo: Demo, database: Database) -> TestClient:
    """A client for the app on the demo data (not signed in)."""
    from placehub.web.app import create_app

    return TestClient(create_app(demo.settings, database=database), base_url="http://testserver")


def test_every_page_renders_for_an_officer(demo: Demo, demo_client: TestClient) -> None:
    """Signed in as the council's editor, no page (officer, public, asset) answers a 5xx."""
    sign_in(demo_client)
    asset_pages = [f"/assets/{ids[0]}" for ids in demo.thing_ids.values()]
    failures = {}
    for path in OFFICER_PAGES + PUBLIC_PAGES + asset_pages:
        response = demo_client.get(path)
        if response.status_code >= 500 or (response.status_code != 200
                                           and not path.startswith("/jobs")):
            failures[path] = (response.status_code, response.text[:300])
    assert not failures, failures


def test_plan_a_round_then_mark_a_stop_done(demo: Demo, demo_client: TestClient) -> None:
    """Planning tomorrow's waste round goes form → progress → plan; its sheet prints; a stop
    marked done shows as done."""
    import re
    import time

    from tests.web.conftest import csrf_of

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
    marked = demo_client.post(stop_action, data={"status": "done",
                                                 "csrf_token": csrf_of(plan_page.text)})
    assert marked.status_code == 200
    assert ">done<" in marked.text and '1 done' in marked.text
