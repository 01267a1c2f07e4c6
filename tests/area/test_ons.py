"""Finding a council by name or code in the ONS names and codes, with clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from placehub.area.download import Downloader
from placehub.area.ons import OnsBoundaries, match_council
from placehub.errors import BadRequest, NotFound


@pytest.mark.parametrize(("wanted", "code", "slug"), [
    ("Rutland", "E06000017", "rutland"),
    ("rutland county council", "E06000017", "rutland"),
    ("E06000017", "E06000017", "rutland"),
    ("e09000029", "E09000029", "sutton"),
    ("London Borough of Sutton", "E09000029", "sutton"),
    ("Kingston upon Hull", "E06000010", "kingston-upon-hull-city-of"),
    ("Bristol", "E06000023", "bristol-city-of"),
])
def test_councils_are_found_by_name_or_code(tmp_path: Path, official_url: str, wanted: str,
                                            code: str, slug: str) -> None:
    """Names as people write them, and ONS codes in either case, find the district."""
    with Downloader(tmp_path) as downloader:
        area = OnsBoundaries(official_url + "/arcgis/rest/services").find_council(
            downloader, wanted)
    assert (area.code, area.slug) == (code, slug)


COUNCILS = {"E06000017": "Rutland", "E09000029": "Sutton", "E07000146": "King's Lynn and West "
            "Norfolk", "E06000062": "West Northamptonshire", "E06000061": "North "
            "Northamptonshire"}


def test_an_ambiguous_name_lists_the_candidates() -> None:
    """'Northamptonshire' matches two districts: both are named, with their codes."""
    with pytest.raises(BadRequest) as error:
        match_council(COUNCILS, "Northamptonshire")
    assert "North Northamptonshire (E06000061)" in error.value.message
    assert "West Northamptonshire (E06000062)" in error.value.message


def test_a_misspelt_name_gets_a_suggestion() -> None:
    """'Rutlnd' is not a council; the error suggests Rutland."""
    with pytest.raises(NotFound, match="did you mean Rutland"):
        match_council(COUNCILS, "Rutlnd")


def test_an_unknown_code_is_refused() -> None:
    """A well-formed code that is not a district says so."""
    with pytest.raises(NotFound, match="no local authority district E06009999"):
        match_council(COUNCILS, "E06009999")
