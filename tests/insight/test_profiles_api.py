"""Profiles, indices, indicator values and transparency records through the API."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from placehub.access import service
from placehub.db import Database
from placehub.insight.definition import load_definition
from placehub.insight.index import compute_index, population_of
from placehub.insight.indicators import (
    IndicatorDefinition,
    IndicatorValue,
    replace_values,
    save_definition,
)
from placehub.sta.tables import things
from tests.insight.geo_places import GeoJSONPlaces

LSOA = "E01013787"  # Rutland 005A
WARD = "E05001806"  # Braunston and Belton


@pytest.fixture
def rutland(database: Database, data_dir: Path, app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Two indicators on Rutland LSOAs, a public and an organisation-only bin in the ward."""
    with database.begin() as conn:
        org = service.ensure_organisation(conn, "rutland", "Rutland County Council")
        public_bin = conn.execute(insert(things).values(
            name="Bin 1", organisation_id=org, visibility="public",
            properties={"asset_type": "litter_bin"})).inserted_primary_key[0]
        private_bin = conn.execute(insert(things).values(
            name="Bin 2", organisation_id=org, visibility="organisation",
            properties={"asset_type": "litter_bin"})).inserted_primary_key[0]
        save_definition(conn, IndicatorDefinition(
            "claimants", "Benefit claimants", "higher_is_worse", unit="people",
            source="DWP Stat-Xplore", licence="OGL v3", period="2024", counts_people=True))
        save_definition(conn, IndicatorDefinition(
            "green_share", "Green space share", "higher_is_better", unit="share",
            source="Council GIS", licence="OGL v3", period="2024"))
        directory = GeoJSONPlaces(data_dir, {("wards", WARD): [public_bin, private_bin],
                                             ("lsoas", LSOA): [public_bin]})
        codes = directory.codes(conn, "lsoas")
        # Claimants: 5 in the profiled LSOA (suppressed), 13 elsewhere, 100 + i for the rest.
        counts = {c: (5 if c == LSOA else 13 if i == 1 else 100 + i) for i, c in enumerate(codes)}
        replace_values(conn, [IndicatorValue("claimants", "lsoa", c, "2024", float(v))
                              for c, v in counts.items()])
        replace_values(conn, [IndicatorValue("green_share", "lsoa", c, "2024", 0.1 * (i % 5))
                              for i, c in enumerate(codes)])
        user = service.create_user(conn, "officer", password="a long password 123")
        service.grant_role(conn, user, org, "viewer")
        token = service.create_token(conn, user)
    app.state.place_directory = directory
    return {"public": public_bin, "private": private_bin, "token": token,  # type: ignore[dict-item]
            "counts": counts}  # type: ignore[dict-item]


def test_lsoa_profile_json(client: TestClient, rutland: dict, data_dir: Path) -> None:
    """An LSOA profile: IMD rank as computed, district = Rutland, disclosure and credits.

    Boundaries are in layer "lsoas", indicator values were stored under "lsoa": both are found.
    """
    body = client.get(f"/api/profiles/lsoas/{LSOA}").json()
    assert body["name"] == "Rutland 005A" and body["geometry"]["type"] in {"Polygon",
                                                                            "MultiPolygon"}
    index = body["indices"][0]
    definition = load_definition("iod2019", data_dir)
    result = compute_index(definition)
    row = result.places.index(LSOA)
    assert index["rank"] == result.rank[row] and index["decile"] == result.decile[row]
    rutland_rows = [i for i, a in enumerate(result.areas) if a == "E06000017"]
    assert index["district_median_score"] == pytest.approx(np.median(result.score[rutland_rows]))
    assert "Rutland" in index["district"]
    indicators = {i["id"]: i for i in body["indicators"]}
    assert indicators["claimants"]["suppressed"] is True and indicators["claimants"][
        "value"] is None
    # The district median comes from published values: 13 -> 15, 100+i rounded to 5, 5 left out.
    expected = [15.0] + [float(int(np.floor(v / 5 + 0.5) * 5))
                         for c, v in rutland["counts"].items() if v >= 100]
    assert indicators["claimants"]["district_median"] == pytest.approx(np.median(expected))
    assert indicators["green_share"]["district_places"] == 23
    assert any("Open Government Licence" in c for c in body["credits"])
    assert any("DWP Stat-Xplore" in c for c in body["credits"])
    assert "suppressed" in body["disclosure"]


def test_anonymous_sees_only_public_assets(client: TestClient, rutland: dict) -> None:
    """The ward's organisation-only bin is listed for a member, not for an anonymous reader."""
    anonymous = client.get(f"/api/profiles/wards/{WARD}").json()
    assert [a["id"] for a in anonymous["assets"]] == [rutland["public"]]
    member = client.get(f"/api/profiles/wards/{WARD}",
                        headers={"Authorization": f"Bearer {rutland['token']}"}).json()
    assert [a["id"] for a in member["assets"]] == [rutland["public"], rutland["private"]]


def test_ward_profile_index_is_population_weighted_over_its_lsoas(
        client: TestClient, rutland: dict, data_dir: Path) -> None:
    """A ward's IMD score is the population-weighted mean of the LSOAs inside it."""
    uppingham = "E05001820"
    body = client.get(f"/api/profiles/wards/{uppingham}").json()
    index = body["indices"][0]
    inside = GeoJSONPlaces(data_dir).contained(None, "lsoas", "wards", uppingham)  # type: ignore[arg-type]
    assert len(inside) == 3 and index["basis"].startswith(f"population-weighted average of the "
                                                f"{len(inside)}")
    definition = load_definition("iod2019", data_dir)
    result = compute_index(definition)
    population = population_of(definition, result.places)
    rows = [result.places.index(c) for c in inside]
    assert index["score"] == pytest.approx(np.average(result.score[rows],
                                                      weights=population[rows]))
    assert index["rank"] is None


def test_profile_csv_and_geojson(client: TestClient, rutland: dict) -> None:
    """CSV marks the suppressed count '*' and ends with credit rows; GeoJSON is a Feature."""
    response = client.get(f"/api/profiles/lsoa/{LSOA}?format=csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    claimants = next(r for r in rows if r["id"] == "claimants")
    assert claimants["value"] == "*" and claimants["source"] == "DWP Stat-Xplore"
    assert any(r["section"] == "credit" and "Open Government Licence" in r["name"]
               for r in rows)
    feature = client.get(f"/api/profiles/lsoa/{LSOA}?format=geojson").json()
    assert feature["type"] == "Feature" and feature["geometry"]["type"] in {"Polygon",
                                                                             "MultiPolygon"}
    assert feature["properties"]["credits"]


def test_profile_errors_are_4xx_with_advice(client: TestClient, rutland: dict) -> None:
    """An unknown place is a 404 and an unknown format a 400, each saying what to do."""
    missing = client.get("/api/profiles/lsoa/E99999999")
    assert missing.status_code == 404 and "code" in missing.json()["error"]["message"]
    bad = client.get(f"/api/profiles/lsoa/{LSOA}?format=xml")
    assert bad.status_code == 400 and "csv" in bad.json()["error"]["message"]


def test_indicator_values_apply_disclosure(client: TestClient, rutland: dict) -> None:
    """Counts of people come out suppressed (5) or rounded (13 -> 15) in JSON and CSV."""
    body = client.get("/api/indicators/claimants/values?layer=lsoa").json()
    values = {v["place"]: v for v in body["value"]}
    assert values[LSOA]["suppressed"] and values[LSOA]["value"] is None
    assert 15.0 in [v["value"] for v in values.values()]
    text = client.get("/api/indicators/claimants/values?layer=lsoa&format=csv").text
    assert f"lsoa,{LSOA},2024,*,DWP Stat-Xplore (OGL v3)" in text


def test_indices_api(client: TestClient) -> None:
    """Index list, method, one place and the 317 local-authority summaries with credits."""
    listed = client.get("/api/indices").json()["value"]
    assert {i["id"] for i in listed} >= {"iod2019", "spi_example"}
    method = client.get("/api/indices/iod2019").json()
    assert method["nodes"][0]["weights"]["income"] == 0.225 and method["places"] == 32844
    place = client.get("/api/indices/iod2019/places/E01013787").json()
    assert 1 <= place["rank"] <= 32844 and place["of"] == 32844
    areas = client.get("/api/indices/iod2019/areas?format=csv")
    rows = list(csv.DictReader(io.StringIO(areas.text)))
    assert len(rows) == 317 and "Open Government Licence" in rows[0]["source"]
    assert client.get("/api/indices/nope").status_code == 404


def test_transparency_records(client: TestClient) -> None:
    """Records for the index, rounds planning, alert rules and the planning tools, with every
    Tier 1 field."""
    listed = client.get("/api/transparency").json()["value"]
    assert {r["id"] for r in listed} == {"composite-index", "rounds-planning", "alert-rules",
                                         "planning-tools"}
    for record in listed:
        for key in ("name", "description", "website", "contact_email", "organisation"):
            assert key in record
        assert record["organisation"] == "Rutland County Council"
    full = client.get("/api/transparency/composite-index").json()
    assert set(full["tier2"]) >= {"owner", "description", "decision_making", "tool", "data",
                                  "risks", "impact_assessments"}
    assert client.get("/api/transparency/nope").status_code == 404


def test_profile_without_places_loaded_uses_indicators_and_index(client: TestClient) -> None:
    """With no boundary layers in the hub, an LSOA profile still has its index, no geometry."""
    body = client.get(f"/api/profiles/lsoa/{LSOA}").json()
    assert body["geometry"] is None and body["assets"] == []
    assert body["indices"][0]["id"] == "iod2019"
    feature = client.get(f"/api/profiles/lsoa/{LSOA}?format=geojson").json()
    assert feature["geometry"] is None


def test_index_sensitivity_api(client: TestClient) -> None:
    """GET .../sensitivity?runs=6&seed=3 gives every LSOA an interval around its median rank."""
    body = client.get("/api/indices/iod2019/sensitivity?runs=6&seed=3").json()
    assert body["runs"] == 6 and body["seed"] == 3 and len(body["value"]) == 32844
    row = body["value"][0]
    assert int(row["rank_p5"]) <= int(row["median_rank"]) <= int(row["rank_p95"])
    text = client.get("/api/indices/iod2019/sensitivity?runs=6&seed=3&format=csv").text
    assert text.splitlines()[1].startswith(f"{row['place']},")
    assert client.get("/api/indices/iod2019/sensitivity?runs=100000").status_code == 400


def test_derived_indicators_are_shown_to_those_who_may_read_their_sensors(
        client: TestClient, rutland: dict, database: Database) -> None:
    """A derived indicator computed from non-public sensors is shown (profile, values, list)
    only to readers of every Thing behind it: an organisation-only source to its member, a
    restricted one to nobody but its editors; official ones are shown to everyone."""
    with database.begin() as conn:
        org = service.organisation_id(conn, "rutland")
        for ident, visibility in (("bins_full_all", "organisation"),
                                  ("bins_full_restricted", "restricted")):
            save_definition(conn, IndicatorDefinition(
                ident, "Full bins, every sensor", "higher_is_worse", kind="derived",
                source="Council sensor data via placehub", derivation={
                    "public_only": False, "sources": [[org, "public"], [org, visibility]]}))
            replace_values(conn, [IndicatorValue(ident, "lsoa", LSOA, "", 0.3)])
    member = {"Authorization": f"Bearer {rutland['token']}"}

    def shown(headers: dict[str, str]) -> set[str]:
        profile = client.get(f"/api/profiles/lsoa/{LSOA}", headers=headers).json()
        listed = {i["id"] for i in client.get("/api/indicators", headers=headers).json()["value"]}
        ids = {i["id"] for i in profile["indicators"]}
        assert ids <= listed
        return ids

    assert shown({}) == {"claimants", "green_share"}
    assert shown(member) == {"claimants", "green_share", "bins_full_all"}
    assert client.get("/api/indicators/bins_full_all/values?layer=lsoa").status_code == 404
    assert client.get("/api/indicators/bins_full_all/values?layer=lsoa",
                      headers=member).json()["value"][0]["value"] == 0.3
    assert client.get("/api/indicators/bins_full_restricted/values?layer=lsoa",
                      headers=member).status_code == 404


def test_index_json_gives_numbers_not_strings(client: TestClient) -> None:
    """Area summaries and sensitivity ranks are JSON numbers (whole ranks as integers)."""
    areas = client.get("/api/indices/iod2019/areas").json()["value"]
    rutland = next(a for a in areas if a["code"] == "E06000017")
    assert isinstance(rutland["average_score"], float)
    assert isinstance(rutland["rank_of_average_score"], int)
    assert isinstance(rutland["places"], int) and rutland["extent"] == 0.0
    assert {"average_rank", "extent", "local_concentration", "proportion_in_decile_1",
            "rank_of_extent", "rank_of_local_concentration"} <= set(rutland)
    body = client.get("/api/indices/iod2019/sensitivity?runs=4&seed=2").json()
    assert isinstance(body["value"][0]["median_rank"], int)
    method = client.get("/api/indices/iod2019").json()
    assert method["nodes"][0]["weights"]["income"] == 0.225


COUNCIL_INDEX = """
[index]
id = "rutland_need"
name = "Rutland need"
polarity = "higher_is_worse"
weighting = "factor"

[data]
file = "iod2019/domain_ranks.csv.gz"
place = "LSOA code (2011)"
area = "Local Authority District code (2019)"

[[indicator]]
id = "income"
column = "Income Rank (where 1 is most deprived)"
normalisation = "inverse_normal"

[[indicator]]
id = "health"
column = "Health Deprivation and Disability Rank (where 1 is most deprived)"
normalisation = "inverse_normal"

[[indicator]]
id = "employment"
column = "Employment Rank (where 1 is most deprived)"
normalisation = "inverse_normal"
"""


def test_council_definitions_are_uploaded_and_served_by_the_access_rules(
        client: TestClient, database: Database) -> None:
    """An editor uploads a definition visible to the organisation: members read it through
    /api/indices, anonymous readers get 404, viewers cannot upload, bad files get 400."""
    with database.begin() as conn:
        org = service.ensure_organisation(conn, "rutland", "Rutland County Council")
        editor = service.create_user(conn, "analyst", password="a long password 123")
        service.grant_role(conn, editor, org, "editor")
        viewer = service.create_user(conn, "reader", password="a long password 123")
        service.grant_role(conn, viewer, org, "viewer")
        editor_token = service.create_token(conn, editor)
        viewer_token = service.create_token(conn, viewer)
    as_editor = {"Authorization": f"Bearer {editor_token}"}
    as_viewer = {"Authorization": f"Bearer {viewer_token}"}

    assert client.post("/api/indices", content=COUNCIL_INDEX).status_code == 401
    assert client.post("/api/indices", content=COUNCIL_INDEX,
                       headers=as_viewer).status_code == 403
    misspelt = client.post("/api/indices", content=COUNCIL_INDEX.replace(
        'normalisation = "inverse_normal"\n\n[[indicator]]\nid = "health"',
        'normalisaton = "inverse_normal"\n\n[[indicator]]\nid = "health"'), headers=as_editor)
    assert misspelt.status_code == 400
    assert "unknown key 'normalisaton'" in misspelt.json()["error"]["message"]
    escape = client.post("/api/indices", content=COUNCIL_INDEX.replace(
        "iod2019/domain_ranks.csv.gz", "../../etc/passwd"), headers=as_editor)
    assert escape.status_code == 400 and "inside it" in escape.json()["error"]["message"]

    created = client.post("/api/indices?visibility=organisation", content=COUNCIL_INDEX,
                          headers=as_editor)
    assert created.status_code == 201, created.text
    assert created.json()["url"] == "/api/indices/rutland_need"

    anonymous_list = {i["id"] for i in client.get("/api/indices").json()["value"]}
    member_list = {i["id"]: i for i in client.get("/api/indices",
                                                  headers=as_viewer).json()["value"]}
    assert "rutland_need" not in anonymous_list and "iod2019" in anonymous_list
    assert member_list["rutland_need"]["origin"] == "council"
    assert client.get("/api/indices/rutland_need").status_code == 404
    method = client.get("/api/indices/rutland_need", headers=as_viewer).json()
    weights = method["nodes"][0]["weights"]
    assert method["nodes"][0]["weighting"] == "factor"
    assert sum(weights.values()) == pytest.approx(1.0) and len(set(weights.values())) == 3
    place = client.get(f"/api/indices/rutland_need/places/{LSOA}", headers=as_viewer).json()
    assert isinstance(place["rank"], int) and place["of"] == 32844
    areas = client.get("/api/indices/rutland_need/areas", headers=as_viewer)
    assert areas.status_code == 400 and "[population]" in areas.json()["error"]["message"]

    assert client.delete("/api/indices/rutland_need", headers=as_viewer).status_code == 403
    assert client.delete("/api/indices/rutland_need", headers=as_editor).status_code == 204
    assert client.get("/api/indices/rutland_need", headers=as_viewer).status_code == 404
    assert client.delete("/api/indices/iod2019", headers=as_editor).status_code == 400
