"""$filter (OGC 18-088 req/request-data/filter, built-in-filter-operations, built-in-query-functions).

Every operator and function runs against real rows on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from placehub.access.service import ANONYMOUS, Principal
from placehub.errors import BadRequest
from placehub.sta.filter import compile_filter
from placehub.sta.model import ENTITIES_BY_SET, visibility_clause
from placehub.sta.spatial import SpatialIndex
from tests.sta.filter_data import build_store

ADMIN = Principal(username="admin", write_anywhere=True)
OAKHAM_BOX = "geography'POLYGON((-0.74 52.66, -0.72 52.66, -0.72 52.68, -0.74 52.68, -0.74 52.66))'"
UPPINGHAM = "geography'POINT(-0.7227 52.5871)'"
BIN_POINT = "geography'POINT(-0.7282 52.6697)'"


@pytest.fixture
def store(database) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The small two-town store of tests/sta/filter_data.py."""
    with database.begin() as conn:
        return build_store(conn)


def run_filter(database: Any, set_name: str, text: str, principal: Principal = ADMIN,
               prefilter_only: bool = False, indexed: bool = False) -> set[int]:
    """Ids of ``set_name`` matching ``text``, read the way the query executor reads them
    (``indexed``: through the spatial index, and PostGIS where the database has it)."""
    entity = ENTITIES_BY_SET[set_name]
    table = entity.table
    with database.connect() as conn:
        plan = compile_filter(text, entity, table, principal,
                              SpatialIndex(conn) if indexed else None)
        query = select(table.c.id, *plan.columns).where(
            plan.clause, visibility_clause(entity, table, principal))
        rows = conn.execute(query).mappings().all()
    if prefilter_only or plan.post_filter is None:
        return {row["id"] for row in rows}
    return {row["id"] for row in rows if plan.post_filter(row)}


def ids(store: dict[str, int], *keys: str) -> set[int]:
    return {store[key] for key in keys}


OBSERVATION_CASES = [
    # comparison and logical operators
    ("result gt 40", ["obs1", "obs2", "obs4"]),
    ("result ge 47", ["obs1", "obs2", "obs4"]),
    ("result lt 13", ["obs0"]),
    ("result le 12.5", ["obs0"]),
    ("result eq 38", ["obs3"]),
    ("result ne 38 and result gt 30 and result lt 50", ["obs1", "obs10"]),
    ("result eq 'ok'", ["obs5"]),
    ("result eq 'lidOpen' or result eq 'ok'", ["obs5", "obs6"]),
    ("result eq true", ["obs7"]),
    ("result eq null", ["obs9"]),
    ("result/code eq 7", ["obs8"]),
    ("result/text eq 'calibrating'", ["obs8"]),
    ("not (result gt 40)", ["obs0", "obs3", "obs10"]),
    # arithmetic
    ("result add 5 gt 50", ["obs1", "obs2", "obs4"]),
    ("result sub 5 lt 10", ["obs0"]),
    ("result mul 2 ge 183", ["obs2", "obs4"]),
    ("result div 2 lt 7", ["obs0"]),
    ("result mod 2 eq 0", ["obs3", "obs4"]),
    ("(result sub 5) gt 10 and result lt 40", ["obs3", "obs10"]),
    ("-result lt -200", ["obs4"]),
    ("result div 0 eq 1", []),
    # math functions
    ("round(result) eq 13", ["obs0"]),
    ("floor(result) eq 12", ["obs0"]),
    ("ceiling(result) eq 92", ["obs2"]),
    # JSON parameters
    ("parameters/battery_mv lt 3500", ["obs2"]),
    ("parameters/source eq 'ttn'", ["obs0"]),
    ("parameters/source ne null", ["obs0", "obs2"]),
    # paths across relations
    ("Datastream/ObservedProperty/name eq 'NO2'",
     ["obs3", "obs4", "obs5", "obs6", "obs7", "obs8", "obs9"]),
    ("Datastream/Thing/properties/asset_type eq 'litter_bin'", ["obs0", "obs1", "obs2"]),
    ("Datastream/Thing/name eq 'Oakham bin 1' and result gt 40", ["obs1", "obs2"]),
    # time instants and intervals
    ("phenomenonTime ge 2026-03-01T09:00:00Z and phenomenonTime lt 2026-03-01T10:00:00Z",
     ["obs1", "obs4", "obs6"]),
    ("phenomenonTime lt 2026-03-01T09:00:00Z", ["obs0", "obs3", "obs5", "obs10"]),
    ("phenomenonTime le 2026-03-01T09:00:00Z",
     ["obs0", "obs1", "obs3", "obs5", "obs6", "obs10"]),
    ("phenomenonTime gt 2026-03-01T08:30:00Z",
     ["obs1", "obs2", "obs4", "obs6", "obs7", "obs8", "obs9"]),
    ("phenomenonTime eq 2026-03-01T08:00:00Z/2026-03-01T09:00:00Z", ["obs3"]),
    ("phenomenonTime eq 2026-03-01T09:00:00+01:00", ["obs0", "obs5", "obs10"]),
    ("validTime eq 2026-03-01T08:00:00Z/2026-03-02T08:00:00Z", ["obs3"]),
    ("validTime gt 2026-02-01T00:00:00Z", ["obs3"]),
    ("resultTime ge 2026-03-01T10:00:00Z", ["obs2", "obs4"]),
    ("resultTime lt 2026-03-01T09:00:00Z/2026-03-01T10:00:00Z", ["obs0", "obs5", "obs10"]),
    # date and time functions
    ("year(resultTime) eq 2026 and hour(resultTime) eq 10", ["obs2", "obs4"]),
    ("minute(resultTime) eq 30 and second(resultTime) eq 15", ["obs2"]),
    ("fractionalseconds(phenomenonTime) gt 0.2", ["obs2"]),
    ("month(phenomenonTime) eq 3 and day(phenomenonTime) eq 1 and minute(phenomenonTime) eq 0",
     ["obs0", "obs1", "obs3", "obs4", "obs5", "obs6", "obs7", "obs8", "obs9", "obs10"]),
    ("date(resultTime) eq 2026-03-01",
     ["obs0", "obs1", "obs2", "obs3", "obs4", "obs5", "obs6", "obs10"]),
    ("time(resultTime) ge 10:00:00", ["obs2", "obs4"]),
    ("time(resultTime) eq 08:00:00", ["obs0", "obs5", "obs10"]),
    ("totaloffsetminutes(resultTime) eq 0 and result gt 40", ["obs1", "obs2", "obs4"]),
    ("resultTime lt now() and resultTime gt mindatetime() and resultTime lt maxdatetime() "
     "and result lt 13", ["obs0"]),
    ("phenomenonTime gt now() sub duration'P3650D' and result eq 'ok'", ["obs5"]),
    ("year(2026-03-01T08:00:00Z) eq 2026 and result eq 'ok'", ["obs5"]),
]


@pytest.mark.parametrize(("text", "expected"), OBSERVATION_CASES)
def test_observation_filters(database, store, text: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Each operator/function selects exactly the Observations it should (req built-in-*)."""
    assert run_filter(database, "Observations", text) == ids(store, *expected)


THING_CASES = [
    ("substringof('Things', description)", ["station"]),
    ("startswith(name, 'Oakham')", ["bin", "station"]),
    ("endswith(name, 'bed')", ["bed"]),
    ("endswith(name, 'a much longer suffix than any name')", []),
    ("contains(name, 'AQ')", ["station"]),
    ("length(name) eq 12", ["bin"]),
    ("indexof(name, 'bin') eq 7", ["bin"]),
    ("substring(name, 7) eq 'bin 1'", ["bin"]),
    ("substring(name, 0, 6) eq 'Oakham'", ["bin", "station"]),
    ("tolower(name) eq 'oakham aq station'", ["station"]),
    ("toupper(name) eq 'UPPINGHAM FLOWERBED'", ["bed"]),
    ("trim(description) eq 'Flowerbed on High Street'", ["bed"]),
    ("concat(concat(name, ', '), properties/ward) eq 'Oakham bin 1, Oakham North West'",
     ["bin"]),
    ("not startswith(description, 'Litter')", ["station", "bed"]),
    ("properties/capacity_litres ge 240", ["bin"]),
    ("properties/active eq true", ["bin"]),
    ("properties/active", ["bin"]),
    ("not properties/active", ["station"]),
    ("properties/tags/0 eq 'town'", ["bin"]),
    ("properties/area_m2 gt 10", ["bed"]),
    ("properties/ward eq 'Uppingham' or properties/capacity_litres eq 240", ["bin", "bed"]),
    ("id eq '1' or name eq 'nothing'", ["bin"]),
    ("@iot.id ge 2", ["station", "bed"]),
    # many-relations: any related entity matching
    ("Datastreams/ObservedProperty/name eq 'NO2'", ["station"]),
    ("Datastreams/Observations/result gt 200", ["station"]),
    ("Locations/name eq 'Market Place'", ["bin"]),
    ("Datastreams/Observations/result gt 200 and Locations/name eq 'Oakham AQ station'",
     ["station"]),
    # geometry through many-relations
    (f"st_within(Locations/location, {OAKHAM_BOX})", ["bin", "station"]),
    (f"geo.distance(Locations/location, {UPPINGHAM}) lt 0.01", ["bed"]),
]


@pytest.mark.parametrize(("text", "expected"), THING_CASES)
def test_thing_filters(database, store, text: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    """String functions, JSON properties and relation paths select the right Things."""
    if text.startswith("id eq '1'"):
        text = text.replace("'1'", f"'{store['bin']}'")
    if text.startswith("@iot.id ge"):
        text = f"@iot.id ge {store['station']}"
    assert run_filter(database, "Things", text) == ids(store, *expected)


LOCATION_CASES = [
    (f"st_within(location, {OAKHAM_BOX})", ["bin_location", "station_location", "square"]),
    (f"geo.intersects(location, {OAKHAM_BOX})",
     ["bin_location", "station_location", "square"]),
    (f"st_contains(location, {BIN_POINT})", ["bin_location", "square"]),
    (f"st_within({BIN_POINT}, location)", ["bin_location", "square"]),
    ("st_intersects(location, geography'LINESTRING(-0.7300 52.6700, -0.7270 52.6700)')",
     ["square"]),
    (f"st_disjoint(location, {UPPINGHAM})", ["bin_location", "station_location", "square"]),
    ("st_equals(location, geography'POINT(-0.7321 52.6712)')", ["station_location"]),
    ("st_touches(location, geography'POINT(-0.7290 52.6695)')", ["square"]),
    ("st_overlaps(location, geography'POLYGON((-0.7280 52.6695, -0.7260 52.6695, "
     "-0.7260 52.6720, -0.7280 52.6720, -0.7280 52.6695))')", ["square"]),
    ("st_crosses(location, geography'LINESTRING(-0.7300 52.6700, -0.7280 52.6700)')",
     ["square"]),
    (f"st_relate(location, {BIN_POINT}, 'T********')", ["bin_location", "square"]),
    (f"geo.distance(location, {UPPINGHAM}) lt 0.01", ["bed_location"]),
    (f"geo.distance(location, {UPPINGHAM}) gt 0.05",
     ["bin_location", "station_location", "square"]),
    ("geo.length(geography'LINESTRING(0 0, 3 4)') eq 5",
     ["bin_location", "station_location", "bed_location", "square"]),
    (f"st_within(location, {OAKHAM_BOX}) and name eq 'Market Place'", ["square"]),
    (f"st_within(location, {OAKHAM_BOX}) or name eq 'Uppingham flowerbed'",
     ["bin_location", "station_location", "square", "bed_location"]),
    (f"not st_within(location, {OAKHAM_BOX})", ["bed_location"]),
    (f"st_within(location, {OAKHAM_BOX}) eq true", ["bin_location", "station_location",
                                                     "square"]),
    ("st_within(location, geography'SRID=4326;POINT(-0.7321 52.6712)')",
     ["station_location"]),
]


@pytest.mark.parametrize("indexed", [False, True], ids=["columns", "index"])
@pytest.mark.parametrize(("text", "expected"), LOCATION_CASES)
def test_geometry_filters(database, store, text: str, expected: list[str],  # type: ignore[no-untyped-def]
                          indexed: bool) -> None:
    """Every geospatial function gives Shapely's exact answer (req built-in-query-functions),
    filtering on the bounding-box columns or through the spatial index (and PostGIS)."""
    assert run_filter(database, "Locations", text, indexed=indexed) == ids(store, *expected)


def test_geometry_prefilter_uses_bounding_boxes(database, store) -> None:  # type: ignore[no-untyped-def]
    """The SQL part of a geometry filter already drops rows whose box cannot match."""
    near = run_filter(database, "Locations", f"geo.distance(location, {UPPINGHAM}) lt 0.01",
                      prefilter_only=True)
    assert near == ids(store, "bed_location")
    inside = run_filter(database, "Locations", f"st_within(location, {OAKHAM_BOX})",
                        prefilter_only=True)
    assert store["bed_location"] not in inside


def test_geometry_across_one_and_many_relations(database, store) -> None:  # type: ignore[no-untyped-def]
    """Datastream/Thing/Locations/location is tested against any of the Thing's Locations."""
    for indexed in (False, True):
        found = run_filter(database, "Datastreams",
                           f"st_within(Thing/Locations/location, {OAKHAM_BOX})", indexed=indexed)
        assert found == ids(store, "bin_fill", "station_no2", "station_status")


def test_datastream_json_and_concat(database, store) -> None:  # type: ignore[no-untyped-def]
    """The spec's own concat example over unitOfMeasurement works."""
    text = ("concat(concat(unitOfMeasurement/symbol, ', '), unitOfMeasurement/name) eq "
            "'ug/m3, microgram per cubic metre'")
    assert run_filter(database, "Datastreams", text) == ids(store, "station_no2")
    assert run_filter(database, "Datastreams", "unitOfMeasurement/name eq 'percent'") == ids(
        store, "bin_fill", "bed_moisture")


def test_relation_paths_respect_visibility(database, store) -> None:  # type: ignore[no-untyped-def]
    """A path never reveals entities the reader may not see (the flowerbed is organisation-only)."""
    text = "Datastreams/name eq 'Soil moisture'"
    assert run_filter(database, "Sensors", text, ADMIN) == {store["sensor"]}
    assert run_filter(database, "Sensors", text, ANONYMOUS) == set()
    assert run_filter(database, "Sensors", "Datastreams/name eq 'Fill level'", ANONYMOUS) == {
        store["sensor"]}
    assert run_filter(database, "Things", "properties/asset_type eq 'flowerbed'",
                      ANONYMOUS) == set()


@pytest.mark.parametrize(("text", "message"), [
    ("result gt", "ends too early"),
    ("result gtx 5", "position 8"),
    ("name eq 'unterminated", "position 9"),
    ("name eq 5", "cannot compare"),
    ("nosuch eq 1", "has no property 'nosuch'"),
    ("frobnicate(name) eq 1", "unknown function frobnicate()"),
    ("st_within(location)", "takes 2 argument(s)"),
    ("st_within(location, geography'POINT(1')", "not valid WKT"),
    ("result add 'x' gt 1", "expected a number"),
    ("Datastreams eq 1", "names an entity"),
    ("name", "expected a condition"),
    ("resultTime gt 2026-13-45T00:00:00Z", "not a valid date"),
    ("result eq 99999999999999999999999e999999", "out of range"),
    ("", "empty"),
    ("not " * 3000 + "result gt 1", "nested"),
    ("result" + " add 1" * 3000 + " gt 2", "nested"),
    ("-" * 3000 + "result gt 1", "nested"),
    ("name eq '" + "x" * 30000 + "'", "characters long"),
])
def test_malformed_filters_say_where(text: str, message: str) -> None:
    """A malformed filter is a BadRequest naming the problem and where it is."""
    entity = ENTITIES_BY_SET["Observations" if "result" in text else "Things"]
    if "location" in text:
        entity = ENTITIES_BY_SET["Locations"]
    with pytest.raises(BadRequest) as caught:
        compile_filter(text, entity, entity.table, ADMIN)
    assert message in caught.value.message
