"""`placehub index build` end to end on the shipped definitions and the shared data."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

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
