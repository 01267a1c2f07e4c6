"""`placehub index build` end to end on the shipped definitions and the shared data."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placehub.cli import app


def test_index_build_iod2019_writes_places_and_local_authorities(
    data_dir: Path, tmp_path: Path
) -> None:
    """The CSV holds every LSOA with the published rank for >= 99.6%; 317 LA rows follow."""
    out, la_out = tmp_path / "imd.csv", tmp_path / "la.csv"
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), "index", "build", "iod2019",
                                      "--out", str(out), "--la-out", str(la_out)])
    assert result.exit_code == 0, result.output
    assert "Against the published ranks" in result.output
    rows = list(csv.DictReader(out.open()))
    with gzip.open(data_dir / "iod2019" / "domain_ranks.csv.gz", "rt", encoding="utf-8-sig") as f:
        published = {r["LSOA code (2011)"]: r for r in csv.DictReader(f)}
    rank_column = "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)"
    exact = sum(r["rank"] == published[r["place"]][rank_column] for r in rows)
    assert len(rows) == 32844 and exact / len(rows) >= 0.996
    areas = list(csv.DictReader(la_out.open()))
    assert len(areas) == 317 and all(float(a["average_score"]) > 0 for a in areas)
    assert "Open Government Licence" in (tmp_path / "imd.csv.credit.txt").read_text()


def test_index_build_unknown_definition_says_what_exists(data_dir: Path, tmp_path: Path) -> None:
    """An unknown definition name fails in plain words listing the shipped ones."""
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), "index", "build", "nope",
                                      "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 1
    assert "iod2019" in result.output


def test_index_build_spi_example_runs_with_goalposts(data_dir: Path, tmp_path: Path) -> None:
    """The Social Progress-style example scores every LSOA between 0 and 100."""
    out = tmp_path / "spi.csv"
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), "index", "build",
                                      "spi_example", "--out", str(out)])
    assert result.exit_code == 0, result.output
    scores = [float(r["score"]) for r in csv.DictReader(out.open())]
    assert len(scores) == 32844 and min(scores) > 0 and max(scores) <= 100


def test_indicators_import_cli_all_or_nothing(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A good file is imported; a file with one bad row writes nothing and names the row."""
    definitions = tmp_path / "defs.csv"
    definitions.write_text("id,name,direction,unit,source,licence,period\n"
                           "green_share,Green space share,higher_is_better,share,GIS,OGL v3,2024\n")
    good = tmp_path / "good.csv"
    good.write_text("ward,green_share\nE05001806,0.4\nE05001807,0.2\n")
    base = ["--database-url", settings.database_url, "indicators", "import"]
    result = CliRunner().invoke(app, [*base, str(good), "--layer", "ward", "--place-column",
                                      "ward", "--definitions", str(definitions)])
    assert result.exit_code == 0, result.output
    assert "2 values of green_share imported" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("ward,green_share\nE05001806,0.9\nE05001807,lots\n")
    result = CliRunner().invoke(app, [*base, str(bad), "--layer", "ward", "--place-column",
                                      "ward"])
    assert result.exit_code == 1 and "line 3" in result.output
    listed = CliRunner().invoke(app, ["--database-url", settings.database_url, "indicators",
                                      "list"])
    assert "green_share" in listed.output
    from placehub.db import Database
    from placehub.insight.indicators import values_for_place

    database = Database(settings.database_url)
    with database.connect() as conn:
        assert values_for_place(conn, "ward", "E05001806")[0].value == 0.4
    database.dispose()


def test_index_build_reports_imputed_values(tmp_path: Path) -> None:
    """--missing-out lists each imputed value of a definition with mean imputation."""
    (tmp_path / "p.csv").write_text("code,a,b\nA,1,4\nB,3,\nC,2,2\n")
    (tmp_path / "d.toml").write_text(
        '[index]\nid = "t"\n[data]\nfile = "p.csv"\nplace = "code"\n'
        '[[indicator]]\nid = "a"\ncolumn = "a"\n'
        '[[indicator]]\nid = "b"\ncolumn = "b"\nimpute = "mean"\n')
    missing = tmp_path / "missing.csv"
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "index", "build",
                                      str(tmp_path / "d.toml"), "--out", str(tmp_path / "o.csv"),
                                      "--missing-out", str(missing)])
    assert result.exit_code == 0, result.output
    assert missing.read_text().splitlines()[1] == "B,b,imputed (mean),3"


def test_index_build_writes_weights_and_sobol_prints_indices(data_dir: Path,
                                                           tmp_path: Path) -> None:
    """`index build --weights-out` lists each weight used; `index sobol` prints every factor."""
    runner = CliRunner()
    weights = tmp_path / "w.csv"
    built = runner.invoke(app, ["--data-dir", str(data_dir), "index", "build", "spi_example",
                                "--out", str(tmp_path / "o.csv"), "--weights-out",
                                str(weights)])
    assert built.exit_code == 0, built.output
    rows = weights.read_text().splitlines()
    assert rows[0] == "node,child,weighting,weight"
    pca = [r.split(",") for r in rows[1:] if r.startswith("shelter_and_safety,")]
    assert len(pca) == 2 and sum(float(r[3]) for r in pca) == pytest.approx(1.0)
    assert "shelter_and_safety" in built.output  # the weights table is printed
    out = tmp_path / "sobol.csv"
    sobol = runner.invoke(app, ["--data-dir", str(data_dir), "index", "sobol", "iod2019",
                                "--samples", "4", "--seed", "2", "--out", str(out)])
    assert sobol.exit_code == 0, sobol.output
    assert "aggregation" in sobol.output and "inclusion" in sobol.output
    assert out.read_text().splitlines()[0] == ("factor,alternatives,first_order,"
                                               "first_order_interval,total,total_interval")


def test_index_build_keeps_a_run_record_for_the_transparency_record(settings,  # type: ignore[no-untyped-def]
                                                                   tmp_path: Path) -> None:
    """Building an index against a migrated database keeps a composite-index run record with
    the definition, weights, input file and volumes, shown by 'placehub algorithms show'."""
    import json

    from placehub.db import Database
    from placehub.governance.runs import COMPOSITE_INDEX, list_runs

    (tmp_path / "p.csv").write_text("code,a,b\nA,1,4\nB,3,1\nC,2,2\nD,5,3\n")
    (tmp_path / "d.toml").write_text(
        '[index]\nid = "t"\n[data]\nfile = "p.csv"\nplace = "code"\n'
        '[[indicator]]\nid = "a"\ncolumn = "a"\n'
        '[[indicator]]\nid = "b"\ncolumn = "b"\n')
    base = ["--database-url", settings.database_url, "--data-dir", str(tmp_path)]
    result = CliRunner().invoke(app, [*base, "index", "build", str(tmp_path / "d.toml"),
                                      "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 0, result.output
    assert "recorded for the transparency record composite-index" in result.output
    database = Database(settings.database_url)
    with database.connect() as conn:
        (run,) = list_runs(conn, COMPOSITE_INDEX)
    database.dispose()
    assert run["parameters"]["definition"] == "t" and run["reference"] == "t"
    assert set(run["parameters"]["weights"]) and run["actor"] == "cli"
    assert run["inputs"] == [{"name": "p.csv", "rows": 4, "first": None, "last": None}]
    assert run["volumes"] == {"places": 4, "indicators": 2, "missing_values_treated": 0}
    shown = CliRunner().invoke(app, [*base, "algorithms", "show", "composite-index"])
    assert shown.exit_code == 0, shown.output
    live = json.loads(shown.output)["tier_2"]["tool_specification"]["live"]
    assert live["parameters"] == run["parameters"] and "cli" not in str(live["recent_runs"])
