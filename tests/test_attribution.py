"""The shared ATTRIBUTION.md parser behind 'About the data' and the credits on exports."""

from __future__ import annotations

from pathlib import Path

from placehub.attribution import ATTRIBUTION_FILE, credits_for, load_credits, parse_attribution


def test_export_credits_match_the_about_data_sources(data_dir: Path) -> None:
    """Each credit line for a data file is the source and licence of its row in the table."""
    about = parse_attribution((data_dir / ATTRIBUTION_FILE).read_text(encoding="utf-8"))
    wards = next(row for row in about["sources"] if "rutland/wards.geojson" in row["path"])
    assert credits_for(data_dir, "rutland/wards.geojson") == [
        f"{wards['source']}: {wards['licence']}"]
    paths = {credit.path for credit in load_credits(data_dir / ATTRIBUTION_FILE)}
    assert {"rutland/wards.geojson", "rutland/lsoas.geojson", "rutland/roads.osm.pbf"} <= paths
    assert about["notes"] and about["title"]


def test_missing_attribution_file_gives_no_credits(tmp_path: Path) -> None:
    """A data folder without ATTRIBUTION.md yields no credits rather than an error."""
    assert credits_for(tmp_path, "wards") == []


def test_as_above_cells_carry_the_credit_of_the_row_above(data_dir: Path) -> None:
    """A row saying "as above" gets the source and licence of the row above, so no page shows
    a credit of "as above"."""
    text = ("| path | what | source | licence / credit |\n|---|---|---|---|\n"
            "| a/wards.geojson | wards | ONS | OGL v3 |\n| b/wards.geojson | more | as above |"
            " As above |\n")
    rows = parse_attribution(text)["sources"]
    assert rows[1] == {"path": "b/wards.geojson", "what": "more", "source": "ONS",
                       "licence": "OGL v3"}
    shipped = parse_attribution((data_dir / ATTRIBUTION_FILE).read_text(encoding="utf-8"))
    assert not [row for row in shipped["sources"]
                if "as above" in (row["source"] + row["licence"]).lower()]
    assert credits_for(data_dir, "sutton/wards.geojson") == credits_for(
        data_dir, "rutland/wards.geojson")
