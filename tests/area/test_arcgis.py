"""The ArcGIS REST query client: paging until exceededTransferLimit is false, errors in words."""

from __future__ import annotations

from pathlib import Path

import pytest

from placehub.area.arcgis import query, query_codes, quoted
from placehub.area.download import Downloader, SourceUnavailable
from tests.area.official import OfficialSources

NAMES = "/arcgis/rest/services/LAD_DEC_2019_UK_NC/FeatureServer/0"
LSOAS = "/arcgis/rest/services/LSOA_Dec_2011_Boundaries_Generalised_Clipped_BGC_EW_V3/" \
        "FeatureServer/0"


def test_every_page_of_a_table_is_read(tmp_path: Path, official_url: str,
                                       official: OfficialSources) -> None:
    """317 district names come back whole, 50 a page, in code order."""
    seen = len(official.requests)
    with Downloader(tmp_path) as downloader:
        rows = query(downloader, "ONS", official_url + NAMES, where="1=1",
                     out_fields="LAD19CD,LAD19NM", order_by="LAD19CD")
    assert len(rows) == 317 and len({r["LAD19CD"] for r in rows}) == 317
    assert [r["LAD19CD"] for r in rows] == sorted(r["LAD19CD"] for r in rows)
    assert set(rows[0]) == {"LAD19CD", "LAD19NM"}
    assert [int(r.params["resultOffset"]) for r in official.requests[seen:]] == list(
        range(0, 317, 50))


def test_geojson_pages_carry_the_boundaries(tmp_path: Path, official_url: str) -> None:
    """LSOAs by code, more than a page in one IN clause: every feature with its geometry."""
    with Downloader(tmp_path) as downloader:
        codes = [r["LSOA11CD"] for r in query(
            downloader, "ONS", official_url + LSOAS, where="1=1", out_fields="LSOA11CD")]
        features = query_codes(downloader, "ONS", official_url + LSOAS, "LSOA11CD", codes,
                               geometry=True)
    assert len(features) == len(codes) == 144
    assert all(f["geometry"]["type"] in {"Polygon", "MultiPolygon"} for f in features)


def test_a_refused_query_says_why(tmp_path: Path, official_url: str) -> None:
    """An ArcGIS error answer (HTTP 200 with "error") becomes a message with its details."""
    with Downloader(tmp_path) as downloader, pytest.raises(SourceUnavailable) as error:
        query(downloader, "ONS Open Geography Portal", official_url + NAMES,
              where="LAD21CD = 'E06000017'")
    assert "Invalid field: LAD21CD" in error.value.message
    assert "renamed" in error.value.message


def test_quotes_are_escaped_in_where_clauses() -> None:
    """A name with an apostrophe is one SQL string literal."""
    assert quoted(["King's Lynn", "E07000146"]) == "'King''s Lynn', 'E07000146'"
