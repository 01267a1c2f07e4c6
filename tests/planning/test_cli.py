"""The `placehub plan ...` commands, run as a user would."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from shapely.geometry import box, mapping
from typer.testing import CliRunner

from placehub.cli import app
from placehub.config import Settings
from placehub.db import Database
from placehub.places.layers import load_boundaries, load_buildings

runner = CliRunner()


def test_hazard_and_catchment_commands_write_their_exports(
        settings: Settings, database: Database, data_dir: Path, road_network_file: Path,
        tmp_path: Path) -> None:
    """'plan hazard' writes the homes inside as CSV and 'plan catchments' a table per school,
    with the what-if for a closure."""
    with database.begin() as conn:
        load_boundaries(conn, data_dir / "rutland" / "wards.geojson", "wards")
        load_buildings(conn, data_dir / "rutland" / "roads.osm.pbf")
    area = tmp_path / "area.geojson"
    area.write_text(json.dumps({"type": "Feature", "geometry": mapping(
        box(-0.731, 52.667, -0.722, 52.673)), "properties": {"TA_NAME": "Oakham centre"}}))
    base = ["--database-url", settings.database_url, "--set",
            f"road_network_file={road_network_file}", "--set", f"data_dir={data_dir}"]
    result = runner.invoke(app, [*base, "plan", "hazard", str(area), "--rest-centre",
                                 "-0.70,52.66", "--csv", str(tmp_path / "homes.csv")])
    assert result.exit_code == 0, result.output
    assert "Oakham centre" in result.output and "homes inside" in result.output
    rows = list(csv.DictReader((tmp_path / "homes.csv").open()))
    assert rows and {r["status"] for r in rows} <= {"inside", "route cut", "route longer"}
    result = runner.invoke(app, [*base, "plan", "catchments", "school", "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    ref = found["facilities"][0]["ref"]
    result = runner.invoke(app, [*base, "plan", "catchments", "school", "--close", ref])
    assert result.exit_code == 0 and "homes that change facility" in result.output


def test_plan_errors_are_plain_words(settings: Settings, tmp_path: Path) -> None:
    """A missing area file or a rest centre that is not lon,lat stops with a message."""
    result = runner.invoke(app, ["--database-url", settings.database_url, "plan", "hazard",
                                 str(tmp_path / "none.geojson")])
    assert result.exit_code == 1 and "no area file" in result.output
    area = tmp_path / "area.geojson"
    area.write_text(json.dumps(mapping(box(-0.731, 52.667, -0.722, 52.673))))
    result = runner.invoke(app, ["--database-url", settings.database_url, "plan", "hazard",
                                 str(area), "--rest-centre", "the town hall"])
    assert result.exit_code == 1 and "longitude,latitude" in result.output


def test_parking_command_takes_the_tariff_board(settings: Settings, database: Database,
                                                data_dir: Path, tmp_path: Path) -> None:
    """'plan parking --tariffs board.csv' prices the zones it names from the board; a board with
    a mistake stops with the row and the fix, and a missing file says so."""
    from datetime import UTC, datetime

    from placehub.access.service import ensure_organisation
    from placehub.planning.parking_demo import add_parking

    with database.begin() as conn:
        ensure_organisation(conn, "rutland", "Rutland County Council")
    add_parking(database, settings, datetime.now(UTC), 7, "rutland", bays_per_car_park=2,
                days=2)
    board = tmp_path / "board.csv"
    board.write_text("zone,days,from,to,price\nOakham,all,07:00,19:00,1.50\n")
    base = ["--database-url", settings.database_url, "--set", f"data_dir={data_dir}"]
    result = runner.invoke(app, [*base, "plan", "parking", "--days", "2", "--tariffs",
                                 str(board), "--json"])
    assert result.exit_code == 0, result.output
    zones = {z["zone"]: z for z in json.loads(result.output)["zones"]}
    assert {h["price"] for h in zones["Oakham"]["hours"]} <= {1.50, 0.0}
    assert {h["price"] for h in zones["Uppingham"]["hours"]} == {1.20}
    board.write_text("zone,days,from,to,price\nOakham,Moonday,07:00,19:00,1.50\n")
    result = runner.invoke(app, [*base, "plan", "parking", "--tariffs", str(board)])
    assert result.exit_code == 1 and "tariff row 1" in result.output and "Mon" in result.output
    result = runner.invoke(app, [*base, "plan", "parking", "--tariffs",
                                 str(tmp_path / "none.csv")])
    assert result.exit_code == 1 and "cannot read the tariff board" in result.output
