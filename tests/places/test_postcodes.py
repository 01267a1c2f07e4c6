"""Postcode search on Sutton's real postcode lookup rows: valid, lowercase without a space,
unknown, terminated and not a postcode at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from placehub.db import Database
from placehub.errors import BadRequest, NotFound
from placehub.places.layers import load_boundaries, load_points_csv
from placehub.places.postcodes import find_postcode, normalise_postcode


def first_rows(source: Path, target: Path, count: int) -> Path:
    """The header and first ``count`` rows of the real lookup (SM1 1.., live and terminated)."""
    lines = source.read_text(encoding="utf-8").splitlines()[:count + 1]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


@pytest.fixture
def postcodes(database: Database, data_dir: Path, tmp_path: Path) -> Database:
    """Sutton's wards and the first 60 rows of its postcode lookup."""
    small = first_rows(data_dir / "sutton" / "postcodes.csv", tmp_path / "postcodes.csv", 60)
    with database.begin() as conn:
        load_boundaries(conn, data_dir / "sutton" / "wards.geojson", "wards")
        load_points_csv(conn, small, "sutton-postcodes")
    return database


@pytest.mark.parametrize("typed", ["SM1 1AA", "sm11aa", " Sm1  1aA ", "SM11AA"])
def test_a_live_postcode_is_found_however_it_is_typed(postcodes: Database, typed: str) -> None:
    """Upper or lower case, with or without the space: the postcode, its position and ward."""
    with postcodes.connect() as conn:
        place = find_postcode(conn, typed)
    assert place.postcode == "SM1 1AA"
    assert (place.lat, place.lon) == pytest.approx((51.359722, -0.193121))
    assert place.places["wards"][0] == "E05000564"  # the lookup's own ward for SM1 1AA


def test_a_terminated_postcode_says_so_and_since_when(postcodes: Database) -> None:
    """SM1 1AB ended in July 2002 (doterm 200207): the message says it is no longer in use."""
    with postcodes.connect() as conn, pytest.raises(NotFound) as refused:
        find_postcode(conn, "sm1 1ab")
    assert refused.value.message == ("SM1 1AB is no longer in use (terminated July 2002): enter "
                                     "the postcode in use now")


def test_an_unknown_postcode_is_not_found(postcodes: Database) -> None:
    """A well-formed postcode outside the loaded lookup: not in this council's area."""
    with postcodes.connect() as conn, pytest.raises(NotFound, match="not a postcode in this"):
        find_postcode(conn, "LE15 6AA")


@pytest.mark.parametrize(("typed", "says"), [
    ("", "Enter a postcode"), ("SM1", "not a postcode"), ("12345", "not a postcode"),
    ("SM1 1AAA", "not a postcode")])
def test_text_that_is_not_a_postcode_is_a_bad_request(typed: str, says: str) -> None:
    """Empty or malformed input: a 400 that shows the form of a postcode."""
    with pytest.raises(BadRequest, match=says):
        normalise_postcode(typed)
