"""The in-memory asset snapshot: the same assets as the SQL access rule for every viewer, kept
current from write events and background re-reads, and the map's GeoJSON, CSV and roads."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from placehub.access import service
from placehub.access.service import ANONYMOUS, Principal
from placehub.assets.summary import list_assets
from placehub.db import Database
from placehub.places.road_map import road_lines, road_map
from placehub.places.roads import load_road_network
from placehub.sta.observations import NewObservation, write_observations
from placehub.sta.tables import datastreams, things
from placehub.web.asset_snapshot import AssetSnapshot
from tests.web.seed import Seeded


def principal_of(database: Database, username: str | None) -> Principal:
    if username is None:
        return ANONYMOUS
    with database.connect() as conn:
        return service.principal_for_user(conn, service.user_id(conn, username))


def ids_seen(snapshot: AssetSnapshot, principal: Principal = ANONYMOUS) -> set[int]:
    return {a.id for a in snapshot.view(principal).assets}


def hide(database: Database, thing_id: int, visibility: str) -> None:
    """Change a Thing's visibility straight in the table (no event announced)."""
    with database.begin() as conn:
        conn.execute(update(things).where(things.c.id == thing_id).values(visibility=visibility))


def ids_by_sql(database: Database, principal: Principal) -> list[int]:
    with database.connect() as conn:
        return [a.id for a in list_assets(conn, principal, datetime.now(UTC))]


@pytest.mark.parametrize("username", [None, "officer", "outsider"])
def test_every_viewer_sees_exactly_what_the_access_rule_allows(
        database: Database, seeded: Seeded, username: str | None) -> None:
    """Anonymous, the council's editor and another council's viewer each get the same assets,
    in the same order, as the SQL visibility rule gives them."""
    principal = principal_of(database, username)
    view = AssetSnapshot(database).view(principal)
    assert [a.id for a in view.assets] == ids_by_sql(database, principal)
    visibilities = {(a.organisation_id, a.visibility) for a in view.assets}
    if username is None:
        assert {v for _, v in visibilities} == {"public"}
    if username == "outsider":
        assert not {(o, v) for o, v in visibilities
                    if o == seeded.organisation_id and v != "public"}
    if username == "officer":
        assert seeded.other_organisation_id not in {o for o, _ in visibilities}
        assert "restricted" in {v for _, v in visibilities}


def test_a_written_observation_changes_the_status_at_once(database: Database,
                                                          seeded: Seeded) -> None:
    """A reading announced on the event bus moves the bin to "Full" (at its full line) without
    a re-read."""
    snapshot = AssetSnapshot(database, refresh_seconds=3600)
    bin_id = seeded.things["Bin 004 Oakham"]
    before = next(a for a in snapshot.view(ANONYMOUS).assets if a.id == bin_id)
    assert before.status != "full"
    with database.begin() as conn:
        stream = conn.execute(select(datastreams.c.id).where(
            datastreams.c.thing_id == bin_id, datastreams.c.description == "distance")).scalar_one()
        written = write_observations(conn, [NewObservation(stream, datetime.now(UTC), 200.0)])
    database.events.publish("observations.written", written.written)
    after = next(a for a in snapshot.view(ANONYMOUS).assets if a.id == bin_id)
    assert after.status == "full" and after.fill_percent == 100


def test_a_thing_made_private_disappears_for_anonymous_on_the_next_read(
        database: Database, seeded: Seeded) -> None:
    """After ``things.changed``, the next view re-reads that asset: no stale public copy."""
    snapshot = AssetSnapshot(database, refresh_seconds=3600)
    bed = seeded.things["Flowerbed Cutts Close"]
    assert bed in ids_seen(snapshot)
    hide(database, bed, "organisation")
    database.events.publish("things.changed", [bed])
    assert bed not in ids_seen(snapshot)
    assert bed in ids_seen(snapshot, principal_of(database, "officer"))


def test_changes_made_elsewhere_arrive_with_the_background_re_read(
        database: Database, seeded: Seeded) -> None:
    """A change with no event (another process) shows once the snapshot is re-read."""
    snapshot = AssetSnapshot(database, refresh_seconds=0.0)
    bed = seeded.things["Flowerbed Market Place"]
    assert bed in ids_seen(snapshot)
    hide(database, bed, "restricted")
    deadline = time.monotonic() + 10
    try:
        while bed in ids_seen(snapshot):
            assert time.monotonic() < deadline, "the background re-read never ran"
            time.sleep(0.05)
    finally:
        snapshot.close()  # no re-read left running while the tables are emptied


def test_asset_geojson_is_compact_gzipped_and_revalidated(officer_client: TestClient,
                                                          seeded: Seeded) -> None:
    """The map's GeoJSON is gzipped with short properties and an ETag that answers 304."""
    response = officer_client.get("/geo/assets.geojson", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers["content-encoding"] == "gzip"
    feature = next(f for f in response.json()["features"]
                   if f["id"] == seeded.things["Bin 001 Oakham"])
    assert feature["properties"] == {"n": "Bin 001 Oakham", "t": "litter_bin",
                                     "s": "nearly-full", "f": 82}
    assert all(len(str(c).split(".")[1]) <= 5 for c in feature["geometry"]["coordinates"])
    again = officer_client.get("/geo/assets.geojson",
                               headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and not again.content
    public = officer_client.get("/geo/assets.geojson?public=true")
    assert public.headers["etag"] != response.headers["etag"]
    assert {f["properties"]["n"] for f in public.json()["features"]} < {
        f["properties"]["n"] for f in response.json()["features"]}


def test_map_table_pages_sorts_and_downloads_as_csv(officer_client: TestClient,
                                                    seeded: Seeded) -> None:
    """The table shows one page sorted on the server; the CSV holds every row in that order."""
    page = officer_client.get("/map?sort=fill&dir=desc&type=litter_bin").text
    assert 'aria-sort="descending"' in page
    assert 'href="/map.csv?type=litter_bin&amp;sort=fill&amp;dir=desc"' in page
    rows = list(csv.DictReader(io.StringIO(
        officer_client.get("/map.csv?type=litter_bin&sort=fill&dir=desc").text)))
    assert len(rows) == 24 and rows[0]["name"] == "Bin 002 Oakham"
    fills = [int(r["fill_percent"]) for r in rows if r["fill_percent"]]
    assert fills == sorted(fills, reverse=True)
    public = list(csv.DictReader(io.StringIO(officer_client.get("/public/map.csv").text)))
    assert {r["name"] for r in public} >= {"Flowerbed Cutts Close"}
    assert "Bin of another council" not in {r["name"] for r in public}
    assert "Air quality Uppingham depot" not in {r["name"] for r in public}


def test_map_table_refuses_a_query_it_does_not_understand(officer_client: TestClient,
                                                          seeded: Seeded) -> None:
    """Malformed sort, dir, page or status give a 400 saying what to use, not the default order."""
    for query, wanted in {"sort=colour": "sort by one of name, type, status, fill, seen",
                          "dir=up": "use asc or desc", "page=two": "whole number from 1",
                          "page=0": "whole number from 1", "page=%C2%B2": "whole number",
                          "status=broken": "use one of ok, nearly-full"}.items():
        for path in ("/map", "/map.csv", "/public/map", "/public/map.csv"):
            response = officer_client.get(f"{path}?{query}")
            assert response.status_code == 400, (path, query)
            assert wanted in response.text, (path, query)
    for page in ("999", "9" * 5000):  # past the end: the last page
        past_the_end = officer_client.get(f"/map?page={page}&sort=name")
        assert past_the_end.status_code == 200 and "Bin 001 Oakham" in past_the_end.text


def test_roads_are_one_line_per_way_with_their_length(tmp_path: Path, data_dir: Path) -> None:
    """Rutland's network chains back into one line per OSM way; lengths add up to the graph's."""
    network = load_road_network(data_dir / "rutland" / "roads.osm.pbf", tmp_path / "roads.npz")
    lines = road_lines(network)
    assert len(lines) == len(set(network.way_id.tolist()))
    assert sum(line.length_m for line in lines) == pytest.approx(network.length_m.sum())
    roads = road_map(tmp_path / "roads.npz")
    assert roads is not None
    summary = roads.summary
    assert sum(row["ways"] for row in summary) == len(lines)
    assert sum(row["km"] for row in summary) == pytest.approx(network.length_m.sum() / 1000,
                                                              abs=1)
    collection = roads.geojson()
    assert sum(len(f["geometry"]["coordinates"]) for f in collection["features"]) == len(lines)


def test_roads_and_wards_layers_are_served(client: TestClient, data_dir: Path,
                                           tmp_path: Path) -> None:
    """/geo/roads.geojson and /geo/roads.csv come from the cached network; wards are outlines
    with only code and name."""
    from placehub.places.layers import load_boundaries
    from placehub.web.app import create_app

    load_road_network(data_dir / "rutland" / "roads.osm.pbf", tmp_path / "roads.npz")
    settings = client.app.state.settings.replace(road_network_file=str(tmp_path / "roads.npz"))
    database = client.app.state.database
    with database.begin() as conn:
        load_boundaries(conn, data_dir / "rutland" / "wards.geojson", "wards", title="Wards")
    with TestClient(create_app(settings, database=database)) as site:
        roads = site.get("/geo/roads.geojson")
        assert roads.status_code == 200 and len(roads.json()["features"]) > 5
        rows = list(csv.DictReader(io.StringIO(site.get("/geo/roads.csv").text)))
        assert len(rows) > 1000 and {"osm_way_id", "length_m"} <= set(rows[0])
        wards = site.get("/geo/wards.geojson").json()["features"]
        assert wards and set(wards[0]["properties"]) == {"code", "name"}
