"""Importing the Marylebone Road series and reporting it against the objectives, end to end."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from placehub.access.service import Principal
from placehub.alerts import air_report
from placehub.cli import app as cli_app
from placehub.db import Database

MARYLEBONE = ("air", "marylebone_road_hourly_2015_2020.csv")
YEARS = range(2015, 2021)


def independent_statistics(path: Path) -> dict[int, dict[str, float]]:
    """Annual NO2/PM10 figures from the CSV with plain Python (no placehub code)."""
    no2: dict[int, list[float]] = defaultdict(list)
    pm10: dict[int, list[float]] = defaultdict(list)
    pm10_days: dict[str, list[float]] = defaultdict(list)
    hours: dict[int, int] = defaultdict(int)
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            year = int(row["date"][:4])
            hours[year] += 1
            if row["no2"] != "":
                no2[year].append(float(row["no2"]))
            if row["pm10"] != "":
                pm10[year].append(float(row["pm10"]))
                pm10_days[row["date"][:10]].append(float(row["pm10"]))
    stats: dict[int, dict[str, float]] = {}
    for year in YEARS:
        day_means = [sum(v) / len(v) for day, v in pm10_days.items()
                     if day.startswith(str(year)) and len(v) >= 18]
        stats[year] = {
            "no2_mean": sum(no2[year]) / len(no2[year]),
            "no2_hours_above_200": sum(1 for v in no2[year] if v > 200),
            "no2_capture": len(no2[year]) / hours[year],
            "pm10_mean": sum(pm10[year]) / len(pm10[year]),
            "pm10_days_above_50": sum(1 for m in day_means if m > 50),
            "pm10_capture": len(pm10[year]) / hours[year],
        }
    return stats


@pytest.mark.slow
def test_marylebone_road_annual_statistics_match_an_independent_computation(
    database: Database, data_dir: Path, client: TestClient
) -> None:
    """Imported Marylebone Road data gives the NO2 means, hours > 200, PM10 days > 50 and capture
    of 2015-2020 computed independently from the CSV; a re-import adds nothing."""
    path = data_dir.joinpath(*MARYLEBONE)
    runner = CliRunner()
    args = ["--database-url", database.url, "air", "import", str(path),
            "--site", "London Marylebone Road", "--latitude", "51.52253",
            "--longitude", "-0.15461", "--columns", "no2,pm10"]
    first = runner.invoke(cli_app, args)
    assert first.exit_code == 0, first.output
    assert "0 already there" in first.output

    expected = independent_statistics(path)
    principal = Principal(username="test", write_anywhere=True)
    with database.connect() as conn:
        for year in YEARS:
            (site,) = air_report.annual_report(conn, principal, year)["sites"]
            no2, pm10 = site["pollutants"]["no2"], site["pollutants"]["pm10"]
            want = expected[year]
            assert no2["annual_mean"] == pytest.approx(want["no2_mean"], abs=0.006)
            assert no2["hours_above_200"] == want["no2_hours_above_200"]
            assert no2["data_capture"] == pytest.approx(want["no2_capture"], abs=1e-4)
            assert pm10["annual_mean"] == pytest.approx(want["pm10_mean"], abs=0.006)
            assert pm10["days_above_50"] == want["pm10_days_above_50"]
            assert pm10["data_capture"] == pytest.approx(want["pm10_capture"], abs=1e-4)
            annual = next(o for o in no2["objectives"] if o["kind"] == "annual_mean")
            assert annual["exceeded"] == (want["no2_mean"] > 40)
            assert annual["indicative"] == (want["no2_capture"] < 0.85)

    again = runner.invoke(cli_app, args)
    assert again.exit_code == 0, again.output
    assert " 0 observations written" in again.output.replace("\n", " ")

    response = client.get("/api/air/report", params={"year": 2016})
    assert response.status_code == 200
    printed = runner.invoke(cli_app, ["--database-url", database.url, "air", "report",
                                      "--year", "2016", "--json"])
    assert printed.exit_code == 0, printed.output
    # One shape for both: the CLI prints exactly what the API returns.
    assert json.loads(printed.output) == response.json()
    assert set(response.json()) == {"year", "capture_threshold", "capture_floor", "sites"}
    (site,) = response.json()["sites"]
    assert site["pollutants"]["no2"]["hours_above_200"] == expected[2016]["no2_hours_above_200"]
    csv_text = client.get("/api/air/report", params={"year": 2016, "format": "csv"}).text
    rows = list(csv.DictReader(csv_text.splitlines()))
    assert {r["objective"] for r in rows} == {"NO2 annual mean", "NO2 hourly mean",
                                              "PM10 annual mean", "PM10 24-hour mean"}
    assert {r["pollutant_name"] for r in rows} == {"Nitrogen dioxide (NO₂)",
                                                   "Particulate matter (PM10)"}
    sites = client.get("/api/air/sites").json()
    assert sites[0]["name"] == "London Marylebone Road"
    assert set(sites[0]["datastreams"]) == {"no2", "pm10"}


def test_air_report_rejects_bad_input(client: TestClient) -> None:
    """A bad year or format is a 400 with a message, never a 500."""
    assert client.get("/api/air/report", params={"year": "abc"}).status_code == 400
    response = client.get("/api/air/report", params={"year": 2020, "format": "xml"})
    assert response.status_code == 400
    assert "csv" in response.json()["error"]["message"]
    assert client.get("/api/air/report", params={"year": 2020, "site": "nowhere"}
                      ).status_code == 404


def test_import_refuses_a_file_without_a_date_column(tmp_path: Path, database: Database) -> None:
    """A CSV in the wrong layout is refused with a message naming the problem."""
    bad = tmp_path / "bad.csv"
    bad.write_text("time,no2\n2020-01-01T00:00:00Z,5\n")
    result = CliRunner().invoke(cli_app, [
        "--database-url", database.url, "air", "import", str(bad), "--site", "X",
        "--latitude", "52.6", "--longitude", "-0.7"])
    assert result.exit_code == 1
    assert "first column must be 'date'" in result.output
