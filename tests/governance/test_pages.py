"""The pages and outline of responsible use: how we use algorithms, how we protect data, data
classes on asset pages, and the DPIA outline generated from the configuration."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from placehub.config import Settings
from placehub.db import Database
from placehub.governance import data_classes, retention, runs
from tests.governance.conftest import bearer

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_the_algorithms_pages_show_each_record_and_the_last_run(
        client: TestClient, database: Database) -> None:
    """/algorithms lists the four records; an index run's parameters, volumes' inputs and
    measured performance appear on its page, and the others say they have not run."""
    with database.begin() as conn:
        runs.record_run(conn, runs.RunRecord(
            runs.COMPOSITE_INDEX, AT, 2.5, {"definition": "iod2019", "ties": "min"},
            inputs=[runs.InputData("domain_ranks.csv.gz", 32844)],
            volumes={"places": 32844}, metrics={"exact_rank_share": 0.9963},
            actor="cli", reference="iod2019"))
    listing = client.get("/algorithms")
    assert listing.status_code == 200
    for record_id in ("alert-rules", "composite-index", "planning-tools", "rounds-planning"):
        assert f'href="/algorithms/{record_id}"' in listing.text
    assert listing.text.count("Not run yet") == 3
    page = client.get("/algorithms/composite-index").text
    assert "iod2019" in page and "domain_ranks.csv.gz" in page and "32,844" in page
    assert "Measured performance" in page and "0.9963" in page and "2.50 seconds" in page
    assert "has not run on this hub yet" in client.get("/algorithms/planning-tools").text
    assert client.get("/algorithms/astrology").status_code == 404


def test_the_data_protection_page_states_the_classes_and_default_periods(
        client: TestClient, settings: Settings) -> None:
    """/data-protection names the four classes, the default period of personal data and how
    long raw sensor messages are kept."""
    page = client.get("/data-protection").text
    for name in ("Public", "Organisation", "Restricted", "Personal"):
        assert f">{name}<" in page
    assert f"{settings.retention_journal_days} days" in page
    assert f"{retention.class_defaults(settings)['personal']} days" in page
    classes = client.get("/api/data-classes").json()
    assert [c["name"] for c in classes["value"]] == ["public", "organisation", "restricted",
                                                     "personal"]
    assert classes["journal_retention_days"] == settings.retention_journal_days


def test_an_asset_page_shows_each_reading_s_data_class_and_records_the_read(
        client: TestClient, database: Database, hub: dict) -> None:
    """The restricted bin's page shows its reading as Restricted to an editor and records one
    'page' read; the public bin's page records none."""
    editor = bearer(hub["tokens"]["rutland-editor"])
    page = client.get(f"/assets/{hub['restricted']['thing']}", headers=editor)
    assert page.status_code == 200, page.text
    assert ">Restricted<" in page.text
    public = client.get(f"/assets/{hub['public']['thing']}", headers=editor)
    assert public.status_code == 200 and ">Public<" in public.text
    admin = bearer(hub["tokens"]["rutland-admin"])
    reads = client.get("/api/read-audit", headers=admin).json()["value"]
    assert [(r["channel"], r["thing_id"]) for r in reads] == [
        ("page", hub["restricted"]["thing"])]
    looked = client.get(f"/read-audit?thing={hub['restricted']['thing']}", headers=admin)
    assert looked.status_code == 200 and "rutland-editor" in looked.text


def test_the_dpia_outline_is_generated_from_the_configuration(
        client: TestClient, database: Database, settings: Settings, hub: dict,
        tmp_path: Path) -> None:
    """The outline counts Datastreams per class, lists recorded purposes, the retention set
    per organisation and by default, the roles and the algorithms; the CLI writes the same
    Markdown; a viewer may not read it."""
    with database.begin() as conn:
        data_classes.set_policy(conn, "tests", hub["public"]["datastream"],
                                data_class="personal", retention_days=None,
                                purpose="Spotting a change in a resident's routine")
        retention.set_organisation_period(conn, "tests", hub["restricted"]["organisation"],
                                          "restricted", 400)
    admin = bearer(hub["tokens"]["rutland-admin"])
    response = client.get("/api/dpia.md", headers=admin)
    assert response.status_code == 200
    text = response.text
    assert "| restricted | " in text and "| personal | " in text
    counts = {line.split("|")[1].strip(): line.split("|")[3].strip()
              for line in text.split("## 2.")[1].split("###")[0].splitlines()
              if line.startswith("| ") and not line.startswith("| data class")}
    assert counts == {"public": "0", "organisation": "0", "restricted": "1", "personal": "1"}
    assert "- Spotting a change in a resident's routine (personal data)" in text
    assert "| restricted | 400 days | organisation, restricted data | 1 |" in text
    assert f"Raw LoRaWAN journal: {settings.retention_journal_days} days" in text
    for name in ("admin", "editor", "viewer"):
        assert f"| {name} | 1 |" in text
    assert "(record /algorithms/planning-tools)" in text
    assert "To complete" in text
    out = tmp_path / "dpia.md"
    written = CliRunner().invoke(
        __import__("placehub.cli", fromlist=["app"]).app,
        ["--database-url", settings.database_url, "dpia", "--out", str(out)])
    assert written.exit_code == 0, written.output
    assert out.read_text().split("\n", 3)[3] == text.split("\n", 3)[3]  # after the date line
    assert client.get("/api/dpia.md", headers=bearer(
        hub["tokens"]["rutland-viewer"])).status_code == 403
