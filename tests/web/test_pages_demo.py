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
