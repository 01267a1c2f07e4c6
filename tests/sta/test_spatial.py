"""The spatial index (placehub.sta.spatial): kept current by every write, used by $filter, and
giving exactly Shapely's answers, on SQLite (R*Tree) and PostgreSQL (GiST on the bounding box,
PostGIS geometry where the server has it)."""

from __future__ import annotations

import random
from typing import Any

import shapely
from shapely.geometry import shape
from sqlalchemy import Connection, insert, select, text

from placehub.access.service import Principal, ensure_organisation
from placehub.db import Database
from placehub.db.scratch import scratch_postgres
from placehub.sta.filter import compile_filter
from placehub.sta.model import LOCATION, visibility_clause
from placehub.sta.serialise import geojson_bbox
from placehub.sta.spatial import SpatialIndex, postgis_geometries, rtree_table
from placehub.sta.tables import locations
from tests.sta.conftest import StaClient

# A 0.1-degree square of Oakham, on which the stored geometries and the query shapes are laid.
X0, Y0 = -0.78, 52.62
QUERIES = {
    "triangle": f"POLYGON(({X0 + 0.01} {Y0 + 0.01}, {X0 + 0.09} {Y0 + 0.02}, "
                f"{X0 + 0.04} {Y0 + 0.09}, {X0 + 0.01} {Y0 + 0.01}))",
    "square with hole": f"POLYGON(({X0} {Y0}, {X0 + 0.06} {Y0}, {X0 + 0.06} {Y0 + 0.06}, "
                        f"{X0} {Y0 + 0.06}, {X0} {Y0}), ({X0 + 0.02} {Y0 + 0.02}, "
                        f"{X0 + 0.04} {Y0 + 0.02}, {X0 + 0.04} {Y0 + 0.04}, "
                        f"{X0 + 0.02} {Y0 + 0.04}, {X0 + 0.02} {Y0 + 0.02}))",
    "road": f"LINESTRING({X0} {Y0 + 0.05}, {X0 + 0.1} {Y0 + 0.05})",
    "point": f"POINT({X0 + 0.03} {Y0 + 0.03})",
}
EVERYONE = Principal(username="reader of everything", write_anywhere=True)
PREDICATES = ["st_within", "st_contains", "st_intersects", "geo.intersects", "st_touches",
              "st_overlaps", "st_crosses", "st_equals", "st_disjoint"]


def random_geometries(count: int, seed: int) -> list[dict[str, Any]]:
    """Points (some on the query shapes' edges and vertices), lines, polygons, multipoints,
    a Feature and a FeatureCollection, as GeoJSON."""
    rng = random.Random(seed)

    def xy() -> list[float]:
        return [round(X0 + rng.random() * 0.1, 4), round(Y0 + rng.random() * 0.1, 4)]

    shapes: list[dict[str, Any]] = [
        {"type": "Point", "coordinates": [X0 + 0.03, Y0 + 0.03]},  # the query point itself
        {"type": "Point", "coordinates": [X0 + 0.01, Y0 + 0.01]},  # a triangle vertex
        {"type": "Point", "coordinates": [X0 + 0.03, Y0 + 0.05]},  # on the road
        {"type": "Point", "coordinates": [X0 + 0.06, Y0 + 0.03]},  # on the square's edge
        {"type": "Feature", "properties": {},
         "geometry": {"type": "Point", "coordinates": [X0 + 0.03, Y0 + 0.01]}},
        {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {}, "geometry": {"type": "Point",
                                                                "coordinates": xy()}},
            {"type": "Feature", "properties": {}, "geometry": {"type": "Point",
                                                                "coordinates": xy()}}]},
    ]
    while len(shapes) < count:
        kind = rng.random()
        if kind < 0.6:
            shapes.append({"type": "Point", "coordinates": xy()})
        elif kind < 0.75:
            shapes.append({"type": "LineString", "coordinates": [xy(), xy()]})
        elif kind < 0.9:
            x, y = xy()
            size = rng.random() * 0.03
            shapes.append({"type": "Polygon", "coordinates": [[
                [x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]})
        else:
            shapes.append({"type": "MultiPoint", "coordinates": [xy(), xy(), xy()]})
    return shapes


def store_locations(conn: Connection, geometries: list[dict[str, Any]]) -> dict[int, Any]:
    """The geometries as Locations of organisation 'rutland'; Shapely shapes by Location id."""
    org = ensure_organisation(conn, "rutland", "Rutland County Council")
    stored = {}
    for index, geometry in enumerate(geometries):
        box = geojson_bbox(geometry, "test")
        new_id = conn.execute(insert(locations).values(
            name=f"shape {index}", description="", encoding_type="application/geo+json",
            location=geometry, organisation_id=org, min_x=box[0], min_y=box[1], max_x=box[2],
            max_y=box[3]).returning(locations.c.id)).scalar_one()
        stored[int(new_id)] = expected_shape(geometry)
    return stored


def expected_shape(geometry: dict[str, Any]) -> Any:
    """The shape the test expects for stored GeoJSON (a FeatureCollection: its geometries)."""
    if geometry["type"] == "Feature":
        return shape(geometry["geometry"])
    if geometry["type"] == "FeatureCollection":
        return shapely.GeometryCollection([shape(f["geometry"]) for f in geometry["features"]])
    return shape(geometry)


def shapely_answer(predicate: str, stored: dict[int, Any], wkt: str,
                   literal_first: bool = False) -> list[int]:
    """Ids for which Shapely says ``predicate(location, literal)`` (or with the literal first)."""
    literal = shapely.from_wkt(wkt)
    name = predicate.removeprefix("st_").removeprefix("geo.")
    found = []
    for location_id, geometry in stored.items():
        a, b = (literal, geometry) if literal_first else (geometry, literal)
        if getattr(a, name)(b):
            found.append(location_id)
    return sorted(found)


def filtered_ids(sta: StaClient, expression: str, path: str = "Locations") -> list[int]:
    """Ids the service answers for a $filter, read through every page."""
    found: list[int] = []
    url: str | None = f"{path}?$filter={expression}&$select=id&$top=97&$count=true"
    count = None
    while url:
        response = sta.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        count = body.get("@iot.count", count)
        found.extend(item["@iot.id"] for item in body["value"])
        url = body.get("@iot.nextLink")
    assert count == len(found), expression
    return found


def test_every_predicate_gives_shapely_answer(sta: StaClient, database: Database) -> None:
    """Over 400 random Locations (points on edges and vertices included), each OGC spatial
    function with each query shape returns exactly what Shapely says, paged and counted, in
    both argument orders, whichever index the database has (req built-in-query-functions)."""
    with database.begin() as conn:
        stored = store_locations(conn, random_geometries(400, seed=3))
    for name, wkt in QUERIES.items():
        for predicate in PREDICATES:
            expression = f"{predicate}(location, geography'{wkt}')"
            assert filtered_ids(sta, expression) == shapely_answer(predicate, stored, wkt), (
                name, predicate)
        for predicate in ("st_contains", "st_within", "st_intersects"):
            expression = f"{predicate}(geography'{wkt}', location)"
            assert filtered_ids(sta, expression) == shapely_answer(
                predicate, stored, wkt, literal_first=True), (name, predicate)
        pattern = "T*F**F***"  # within, as a DE-9IM pattern
        assert filtered_ids(sta, f"st_relate(location, geography'{wkt}', '{pattern}')") == [
            i for i, g in sorted(stored.items()) if g.relate_pattern(shapely.from_wkt(wkt),
                                                                     pattern)], name
    # Combined with other conditions and negated, the exact test still decides.
    triangle = QUERIES["triangle"]
    inside = shapely_answer("st_within", stored, triangle)
    outside = sorted(set(stored) - set(inside))
    assert filtered_ids(sta, f"not st_within(location, geography'{triangle}')") == outside
    assert filtered_ids(sta, f"st_within(location, geography'{triangle}') or name eq "
                             f"'shape 0'") == sorted({*inside, min(stored)})


def test_index_follows_creates_moves_and_deletes(sta: StaClient, database: Database) -> None:
    """Locations created, moved and deleted through the API are found, and no longer found,
    by spatial filters at once (triggers keep the R*Tree, and PostGIS geometries, current)."""
    square = f"POLYGON(({X0} {Y0}, {X0 + 0.01} {Y0}, {X0 + 0.01} {Y0 + 0.01}, " \
             f"{X0} {Y0 + 0.01}, {X0} {Y0}))"
    within = f"st_within(location, geography'{square}')"
    created = sta.create("Locations", {
        "name": "bin site", "description": "d", "encodingType": "application/geo+json",
        "location": {"type": "Point", "coordinates": [X0 + 0.005, Y0 + 0.005]}})
    assert filtered_ids(sta, within) == [created["@iot.id"]]
    moved = sta.patch(f"Locations({created['@iot.id']})", {
        "location": {"type": "Point", "coordinates": [X0 + 0.5, Y0 + 0.5]}})
    assert moved.status_code == 200, moved.text
    assert filtered_ids(sta, within) == []
    assert filtered_ids(sta, f"st_intersects(location, geography'POINT({X0 + 0.5} "
                             f"{Y0 + 0.5})')") == [created["@iot.id"]]
    sta.patch(f"Locations({created['@iot.id']})", {
        "location": {"type": "Point", "coordinates": [X0 + 0.002, Y0 + 0.002]}})
    assert filtered_ids(sta, within) == [created["@iot.id"]]
    assert sta.delete(f"Locations({created['@iot.id']})").status_code == 200
    assert filtered_ids(sta, within) == []
    with database.connect() as conn:
        if database.is_sqlite:
            rtree = rtree_table("locations")
            assert conn.execute(select(rtree.c.id)).scalars().all() == []
        elif postgis_geometries(conn):
            assert conn.execute(text("SELECT count(*) FROM locations")).scalar() == 0


def _plan(conn: Connection, where: Any) -> str:
    """The database's query plan for Locations matching ``where``, as one string."""
    query = select(LOCATION.table.c.id).where(where).order_by(LOCATION.table.c.id)
    sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
    return "\n".join(str(row) for row in conn.execute(text(prefix + sql)))


def test_spatial_filters_use_the_index(database: Database) -> None:
    """A box holding a few of 3,000 Locations is looked up in the index (R*Tree on SQLite,
    GiST on PostgreSQL); on SQLite a box holding most of them walks the table in id order
    instead, which fills a page sooner than listing thousands of ids."""
    rng = random.Random(11)
    points = [{"type": "Point", "coordinates": [X0 + rng.random(), Y0 + rng.random()]}
              for _ in range(3000)]
    with database.begin() as conn:
        store_locations(conn, points)
    with database.connect() as conn:
        if not database.is_sqlite:
            conn.execute(text("ANALYZE locations"))
        index = SpatialIndex(conn)
        small = index.candidates(LOCATION.table, (X0, Y0, X0 + 0.05, Y0 + 0.05))
        large = index.candidates(LOCATION.table, (X0 - 1, Y0 - 1, X0 + 2, Y0 + 2))
        if database.is_sqlite:
            assert "locations_rtree" in _plan(conn, small)
            assert "locations_rtree" not in _plan(conn, large)
        else:
            assert "ix_locations_bbox" in _plan(conn, small)
        # Both give every Location whose box overlaps, whatever the plan.
        assert len(conn.execute(select(locations.c.id).where(large)).all()) == 3000
        expected = sum(1 for p in points if X0 <= p["coordinates"][0] <= X0 + 0.05
                       and Y0 <= p["coordinates"][1] <= Y0 + 0.05)
        assert len(conn.execute(select(locations.c.id).where(small)).all()) == expected


def test_postgresql_without_postgis_filters_through_the_box_index(
        database: Database) -> None:
    """On PostgreSQL without PostGIS (this server's, or a database from which PostGIS was
    removed) the bounding-box GiST index and Shapely give the exact answers."""
    if database.is_sqlite:
        with database.connect() as conn:
            assert not postgis_geometries(conn)
        return
    with database.connect() as conn:
        has_postgis = postgis_geometries(conn)
    if not has_postgis:
        _check_box_path(database)
        return
    server = database.url
    url, drop = scratch_postgres(server, "placehub_test_nopostgis")
    other = Database(url)
    try:
        other.upgrade()
        with other.begin() as conn:
            conn.execute(text("DROP EXTENSION postgis CASCADE"))
        _check_box_path(other)
    finally:
        other.dispose()
        drop()


def _check_box_path(database: Database) -> None:
    """Spatial filters on ``database`` (no PostGIS columns) agree with Shapely."""
    with database.begin() as conn:
        stored = store_locations(conn, random_geometries(150, seed=5))
    table = LOCATION.table
    with database.connect() as conn:
        index = SpatialIndex(conn)
        assert not index.postgis
        for predicate in ("st_within", "geo.intersects", "st_touches"):
            wkt = QUERIES["triangle"]
            plan = compile_filter(f"{predicate}(location, geography'{wkt}')", LOCATION, table,
                                  EVERYONE, index)
            rows = conn.execute(select(table.c.id, *plan.columns).where(
                plan.clause, visibility_clause(LOCATION, table, EVERYONE))).mappings().all()
            assert plan.post_filter is not None
            found = sorted(row["id"] for row in rows if plan.post_filter(row))
            assert found == shapely_answer(predicate, stored, wkt), predicate


def test_geojson_every_reader_refuses_is_a_400(sta: StaClient) -> None:
    """A polygon whose ring is not closed (RFC 7946 3.1.6) is refused with a message, so
    Shapely and PostGIS never read a stored geometry differently."""
    ring = [[X0, Y0], [X0 + 0.01, Y0], [X0 + 0.01, Y0 + 0.01], [X0, Y0 + 0.01]]
    response = sta.post("Locations", {
        "name": "unclosed", "description": "d", "encodingType": "application/geo+json",
        "location": {"type": "Polygon", "coordinates": [ring]}})
    assert response.status_code == 400
    assert "location" in response.json()["error"]["message"]
    closed = sta.create("Locations", {
        "name": "closed", "description": "d", "encodingType": "application/geo+json",
        "location": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}})
    point = f"POINT({X0 + 0.005} {Y0 + 0.005})"
    assert filtered_ids(sta, f"st_contains(location, geography'{point}')") == [closed["@iot.id"]]
