"""Spatial assignment of Things kept current, and the places API (JSON, GeoJSON, access)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from placehub.access.service import create_token, create_user, ensure_organisation, grant_role
from placehub.db import Database
from placehub.places.assign import assign_everything, assign_points
from placehub.places.layers import building_points, load_boundaries, store_points
from placehub.places.tables import place_layers, places, thing_places

from .things import add_reading, add_thing, move_thing

# Points well inside two Rutland wards (Oakham market place, Uppingham market place).
OAKHAM = (-0.7268, 52.6698)
UPPINGHAM = (-0.7235, 52.5887)


@pytest.fixture(scope="module")
def oakham_buildings(data_dir: Path) -> list[dict[str, Any]]:
    """OSM buildings within about 1.5 km of Oakham's centre (a few hundred property points)."""
    return [p for p in building_points(data_dir / "rutland" / "roads.osm.pbf")
            if abs(p["lon"] - OAKHAM[0]) < 0.02 and abs(p["lat"] - OAKHAM[1]) < 0.013]


@pytest.fixture
def rutland(database: Database, data_dir: Path,
            oakham_buildings: list[dict[str, Any]]) -> dict[str, int]:
    """Rutland wards, LSOAs, Oakham's buildings, and four assets (two public, two organisation-only)."""
    with database.begin() as conn:
        load_boundaries(conn, data_dir / "rutland" / "wards.geojson", "wards")
        load_boundaries(conn, data_dir / "rutland" / "lsoas.geojson", "lsoas")
        store_points(conn, "osm-buildings", oakham_buildings)
        council = ensure_organisation(conn, "rutland", "Rutland County Council")
        ids = {
            "bin": add_thing(conn, council, "Bin 1", OAKHAM, "litter_bin"),
            "bin2": add_thing(conn, council, "Bin 2", OAKHAM, "litter_bin"),
            "bed": add_thing(conn, council, "Bed", OAKHAM, "flowerbed", "organisation"),
            "air": add_thing(conn, council, "Air", UPPINGHAM, "air_quality_station",
                             "organisation"),
        }
        add_reading(conn, ids["bin"], council, "fill_level", 40.0, "%")
        add_reading(conn, ids["bin2"], council, "fill_level", 80.0, "%")
        assign_everything(conn)
        assign_points(conn)
        ids["council"] = council
    return ids


def _place_code(database: Database, thing_id: int, layer: str = "wards") -> str:
    """The code of the place of ``layer`` the Thing is assigned to."""
    with database.connect() as conn:
        return str(conn.execute(
            select(places.c.code).join(thing_places, thing_places.c.place_id == places.c.id)
            .join(place_layers, place_layers.c.id == places.c.layer_id)
            .where(thing_places.c.thing_id == thing_id, place_layers.c.name == layer)
        ).scalar_one())


def test_every_thing_is_assigned_in_every_layer(database: Database,
                                                rutland: dict[str, int]) -> None:
    """Each Thing gets exactly one ward and one LSOA."""
    with database.connect() as conn:
        rows = conn.execute(select(thing_places.c.thing_id, thing_places.c.layer_id)).all()
    assert len(rows) == 8 and len(set(rows)) == 8


def test_moving_a_thing_reassigns_it_through_events(
    client: TestClient, database: Database, rutland: dict[str, int]
) -> None:
    """After a locations.changed event the Thing's ward follows its new Location."""
    before = _place_code(database, rutland["bin"])
    with database.begin() as conn:
        move_thing(conn, rutland["bin"], rutland["council"], UPPINGHAM)
    database.events.publish("locations.changed", [rutland["bin"]])
    after = _place_code(database, rutland["bin"])
    assert before != after
    assert after == _place_code(database, rutland["air"])


def test_layers_are_listed_with_the_distance_source(client: TestClient,
                                                    rutland: dict[str, int]) -> None:
    """GET /api/places lists wards and LSOAs with their place counts."""
    body = client.get("/api/places").json()
    counts = {layer["name"]: layer["place_count"] for layer in body["layers"]}
    assert counts == {"lsoas": 23, "wards": 16}
    assert body["distance_source"]


def test_anonymous_callers_only_count_public_assets(client: TestClient,
                                                    rutland: dict[str, int]) -> None:
    """Anonymously the Oakham ward shows its two public bins, not the organisation's flowerbed."""
    body = client.get("/api/places/wards").json()
    assets: dict[str, int] = {}
    for place in body["places"]:
        for kind, count in place["assets"].items():
            assets[kind] = assets.get(kind, 0) + count
    assert assets == {"litter_bin": 2}


def test_members_see_their_organisations_assets(client: TestClient, database: Database,
                                                rutland: dict[str, int]) -> None:
    """With a council token the flowerbed and the air-quality station are counted too."""
    with database.begin() as conn:
        user = create_user(conn, "officer")
        grant_role(conn, user, rutland["council"], "viewer")
        token = create_token(conn, user)
    body = client.get("/api/places/wards", headers={"Authorization": f"Bearer {token}"}).json()
    kinds = {k for place in body["places"] for k in place["assets"]}
    assert kinds == {"litter_bin", "flowerbed", "air_quality_station"}


def test_property_counts_add_up(client: TestClient, rutland: dict[str, int],
                                oakham_buildings: list[dict[str, Any]]) -> None:
    """Every loaded property point inside the county is counted in exactly one ward."""
    body = client.get("/api/places/wards").json()
    counted = sum(place["property_count"] for place in body["places"])
    assert 0 < counted == len(oakham_buildings)


def test_place_detail_has_status_geometry_and_things(client: TestClient, database: Database,
                                                     rutland: dict[str, int]) -> None:
    """A ward's JSON gives its boundary, assets, the mean latest fill level and property count."""
    code = _place_code(database, rutland["bin"])
    body = client.get(f"/api/places/wards/{code}").json()
    assert body["code"] == code and body["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    assert body["assets"] == {"litter_bin": 2}
    fill = body["status"]["litter_bin"]["fill_level"]
    assert fill["mean"] == 60.0 and fill["max"] == 80.0 and fill["datastreams"] == 2
    assert body["property_count"] > 0
    assert {t["name"] for t in body["things"]} == {"Bin 1", "Bin 2"}


def test_geojson_by_accept_header_or_format(client: TestClient, rutland: dict[str, int]) -> None:
    """Accept: application/geo+json or ?format=geojson give FeatureCollections and Features."""
    by_header = client.get("/api/places/lsoas", headers={"Accept": "application/geo+json"})
    assert by_header.headers["content-type"].startswith("application/geo+json")
    collection = by_header.json()
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 23
    code = collection["features"][0]["id"]
    feature = client.get(f"/api/places/lsoas/{code}?format=geojson").json()
    assert feature["type"] == "Feature" and feature["properties"]["code"] == code


def test_unknown_layer_place_or_format_gives_4xx(client: TestClient,
                                                 rutland: dict[str, int]) -> None:
    """Unknown layers and codes are 404s naming what exists; a bad format is a 400."""
    missing = client.get("/api/places/parishes")
    assert missing.status_code == 404 and "wards" in missing.json()["error"]["message"]
    assert client.get("/api/places/wards/E00000000").status_code == 404
    assert client.get("/api/places/wards?format=kml").status_code == 400


def test_about_data_lists_every_source_with_its_credit(client: TestClient, data_dir: Path) -> None:
    """GET /api/about-data gives one entry per ATTRIBUTION.md row, with its licence line."""
    body = client.get("/api/about-data").json()
    table_rows = [line for line in (data_dir / "ATTRIBUTION.md").read_text().splitlines()
                  if line.startswith("| ") and not line.startswith("| path")]
    assert len(body["sources"]) == len(table_rows)
    by_path = {source["path"]: source for source in body["sources"]}
    assert "OpenStreetMap contributors" in by_path["rutland/roads.osm.pbf"]["licence"]
    assert any("Defra" in source["licence"] for source in body["sources"])
    assert body["notes"]


def test_things_created_and_moved_through_sensorthings_are_assigned(
    database: Database, settings: Any, data_dir: Path
) -> None:
    """A Thing POSTed to /sta/v1.1 lands in its ward; PATCHing its Location moves it."""
    from placehub.web.app import create_app

    with database.begin() as conn:
        load_boundaries(conn, data_dir / "rutland" / "wards.geojson", "wards")
    app = create_app(settings.replace(anonymous_write=True), database=database)
    with TestClient(app) as client:
        created = client.post("/sta/v1.1/Things", json={
            "name": "Bin by STA", "description": "",
            "properties": {"asset_type": "litter_bin"}, "@placehub.visibility": "public",
            "Locations": [{"name": "here", "description": "", "encodingType":
                           "application/geo+json",
                           "location": {"type": "Point", "coordinates": list(OAKHAM)}}]})
        assert created.status_code == 201, created.text
        thing_id = int(created.headers["location"].rsplit("(", 1)[1].rstrip(")"))
        oakham_ward = _place_code(database, thing_id)
        location = client.get(f"/sta/v1.1/Things({thing_id})/Locations").json()["value"][0]
        moved = client.patch(f"/sta/v1.1/Locations({location['@iot.id']})", json={
            "location": {"type": "Point", "coordinates": list(UPPINGHAM)}})
        assert moved.status_code in {200, 204}, moved.text
        uppingham_ward = _place_code(database, thing_id)
        assert oakham_ward != uppingham_ward
        body = client.get(f"/api/places/wards/{uppingham_ward}").json()
        assert body["assets"] == {"litter_bin": 1}
