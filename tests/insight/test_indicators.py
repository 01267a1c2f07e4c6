"""Indicator definitions and values: storage and all-or-nothing CSV import."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from placehub.db import Database
from placehub.errors import BadRequest, NotFound
from placehub.insight.indicators import (
    IndicatorDefinition,
    get_definition,
    import_values_csv,
    parse_definitions_csv,
    save_definition,
    values_for_place,
)
from placehub.insight.tables import indicator_values

DEFINITIONS = """id,name,unit,direction,source,licence,period,counts_people
claimants,Out-of-work benefit claimants,people,higher_is_worse,DWP Stat-Xplore,OGL v3,2024-03,true
green_space,Green space within 300 m,share,higher_is_better,Council GIS,OGL v3,2024,
"""

WARDS = """ward,claimants,green_space
E05000555,124,0.61
E05000556,8,..
E05000557,,0.12
"""


def test_import_wide_csv_with_definitions(database: Database) -> None:
    """Three wards x two indicators: values stored, '..' and blanks kept as missing."""
    definitions, errors = parse_definitions_csv(DEFINITIONS)
    assert errors == []
    with database.begin() as conn:
        report = import_values_csv(conn, WARDS, layer="ward", place_column="ward",
                                   definitions=definitions)
    assert report.ok and report.rows == 3 and report.values == 6
    with database.connect() as conn:
        values = {v.indicator_id: v for v in values_for_place(conn, "ward", "E05000556")}
        assert values["claimants"].value == 8 and values["claimants"].period == "2024-03"
        assert values["green_space"].value is None
        assert get_definition(conn, "claimants").counts_people is True


def test_reimport_replaces_the_period_values(database: Database) -> None:
    """Importing the same indicator, layer and period again replaces, never duplicates."""
    definitions, _ = parse_definitions_csv(DEFINITIONS)
    with database.begin() as conn:
        import_values_csv(conn, WARDS, layer="ward", place_column="ward", definitions=definitions)
    with database.begin() as conn:
        report = import_values_csv(conn, "ward,claimants\nE05000555,130\n", layer="ward",
                                   place_column="ward")
    assert report.ok
    with database.connect() as conn:
        count = conn.execute(select(func.count()).select_from(indicator_values).where(
            indicator_values.c.indicator_id == "claimants")).scalar_one()
        values = {v.indicator_id: v.value for v in values_for_place(conn, "ward", "E05000555")}
    assert count == 1 and values["claimants"] == 130


def test_bad_rows_are_all_reported_and_nothing_is_written(database: Database) -> None:
    """A non-number, a repeated place and an unknown column are each reported; no values stored."""
    definitions, _ = parse_definitions_csv(DEFINITIONS)
    text = "ward,claimants\nE05000555,lots\nE05000556,3\nE05000556,4\n"
    with database.begin() as conn:
        report = import_values_csv(conn, text, layer="ward", place_column="ward",
                                   definitions=definitions)
    assert not report.ok
    assert any("line 2" in e and "not a number" in e for e in report.errors)
    assert any("line 4" in e and "twice" in e for e in report.errors)
    with database.begin() as conn:
        unknown = import_values_csv(conn, "ward,mystery\nE05000555,1\n", layer="ward",
                                    place_column="ward")
        assert any("define it first" in e for e in unknown.errors)
        assert conn.execute(select(func.count()).select_from(indicator_values)).scalar_one() == 0


def test_definitions_are_validated() -> None:
    """An id with capitals or an unknown direction is refused with what to use instead."""
    with pytest.raises(BadRequest, match="lower-case"):
        IndicatorDefinition("NO2", "NO2", "higher_is_worse")
    with pytest.raises(BadRequest, match="higher_is_better or higher_is_worse"):
        IndicatorDefinition("no2", "NO2", "up")
    _, errors = parse_definitions_csv("id,name,direction\nx,X,sideways\n")
    assert errors and "line 2" in errors[0]


def test_unknown_indicator_is_not_found(database: Database) -> None:
    """Asking for an undefined indicator says how to list the defined ones."""
    with database.connect() as conn, pytest.raises(NotFound, match="indicators list"):
        get_definition(conn, "nope")


def test_save_definition_updates_in_place(database: Database) -> None:
    """Saving a definition twice updates it (one row, the new unit)."""
    with database.begin() as conn:
        save_definition(conn, IndicatorDefinition("pm25", "PM2.5", "higher_is_worse", unit="a"))
        save_definition(conn, IndicatorDefinition("pm25", "PM2.5", "higher_is_worse",
                                                  unit="ug/m3"))
        assert get_definition(conn, "pm25").unit == "ug/m3"


def test_which_indicators_are_published_openly() -> None:
    """Official indicators are open; derived ones only when computed from public sensors."""
    from placehub.insight.indicators import published_openly

    def derived(derivation: dict | None) -> IndicatorDefinition:
        return IndicatorDefinition("x", "X", "higher_is_worse", kind="derived",
                                   derivation=derivation)

    assert published_openly(IndicatorDefinition("x", "X", "higher_is_worse"))
    assert published_openly(derived({"public_only": True}))
    assert not published_openly(derived({"public_only": False}))
    assert not published_openly(derived(None))


def test_negative_counts_of_people_are_refused_with_the_row(database: Database) -> None:
    """A negative value of an indicator that counts people is reported with its line, and
    nothing is stored; negative values of other indicators (changes, scores) are kept."""
    definitions, _ = parse_definitions_csv(DEFINITIONS)
    text = "ward,claimants,green_space\nE05000555,12,-0.1\nE05000556,-3,0.2\nE05000557,inf,0.3\n"
    with database.begin() as conn:
        report = import_values_csv(conn, text, layer="ward", place_column="ward",
                                   definitions=definitions)
    assert report.errors == [
        "line 3: claimants = '-3' is negative, but claimants counts people: give a count of 0 "
        "or more",
        "line 4: claimants = 'inf' is not a finite number",
    ]
    with database.connect() as conn:
        assert conn.execute(select(func.count()).select_from(indicator_values)).scalar_one() == 0
    with database.begin() as conn:
        report = import_values_csv(conn, "ward,green_space\nE05000555,-0.1\n", layer="ward",
                                   place_column="ward", definitions=definitions)
    assert report.ok
