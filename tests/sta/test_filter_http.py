"""$filter over HTTP (req request-data/filter): answers, 400s that point at the problem, no 500s.

Hypothesis writes filter expressions from the grammar's pieces (and plain garbage) and garbage
values for every query option; the server must answer each with a 2xx or a 4xx, never a 500.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sta.filter_data import build_store

SETS = ["Things", "Locations", "Datastreams", "Observations", "Sensors", "ObservedProperties",
        "FeaturesOfInterest", "HistoricalLocations"]


@pytest.fixture
def store(database):  # type: ignore[no-untyped-def]
    """The small two-town store."""
    with database.begin() as conn:
        return build_store(conn)


def test_filter_through_the_api(client, store) -> None:  # type: ignore[no-untyped-def]
    """A time window plus a threshold returns the matching Observations of a Datastream."""
    response = client.get(
        f"/sta/v1.1/Datastreams({store['bin_fill']})/Observations",
        params={"$filter": "phenomenonTime ge 2026-03-01T09:00:00Z and result gt 40",
                "$orderby": "phenomenonTime", "$count": "true"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [o["result"] for o in body["value"]] == [47.0, 91.5]
    assert body["@iot.count"] == 2


def test_geometry_filter_through_the_api(client, store) -> None:  # type: ignore[no-untyped-def]
    """An exact geometry filter pages and counts correctly (post filter applied)."""
    box = ("geography'POLYGON((-0.74 52.66, -0.72 52.66, -0.72 52.68, -0.74 52.68, "
           "-0.74 52.66))'")
    response = client.get("/sta/v1.1/Things", params={
        "$filter": f"st_within(Locations/location, {box})", "$count": "true",
        "$top": "1", "$orderby": "id"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@iot.count"] == 2
    assert [t["name"] for t in body["value"]] == ["Oakham bin 1"]
    assert "@iot.nextLink" in body
    expanded = client.get("/sta/v1.1/Things", params={
        "$expand": f"Locations($filter=st_within(location, {box}))", "$orderby": "id"})
    assert expanded.status_code == 200, expanded.text
    names = {t["name"]: sorted(loc["name"] for loc in t["Locations"])
             for t in expanded.json()["value"]}
    assert names["Oakham bin 1"] == ["Market Place", "Oakham bin 1"]


def test_malformed_filter_is_400_with_position(client, store) -> None:  # type: ignore[no-untyped-def]
    """A syntax error answers 400 with the position of the offending token."""
    response = client.get("/sta/v1.1/Observations", params={"$filter": "result gt 5 5"})
    assert response.status_code == 400
    assert "position 13" in response.json()["error"]["message"]


def test_arithmetic_overflow_is_400(client, store) -> None:  # type: ignore[no-untyped-def]
    """A filter whose arithmetic overflows in the database is a 400, not a 500."""
    response = client.get("/sta/v1.1/Observations",
                          params={"$filter": "result mul 1e308 mul 1e308 gt 1"})
    assert response.status_code in {200, 400}, response.text


def test_deeply_nested_options_are_400(client, store) -> None:  # type: ignore[no-untyped-def]
    """Hundreds of nested $expand or not levels answer 400, not a 500 from recursion."""
    deep = "Datastreams($expand=Thing($expand=" * 600 + "Datastreams" + "))" * 600
    assert client.get("/sta/v1.1/Things", params={"$expand": deep}).status_code == 400
    assert client.get("/sta/v1.1/Things", params={
        "$expand": "Datastreams/Thing/" * 600 + "Datastreams"}).status_code == 400
    assert client.get("/sta/v1.1/Things", params={
        "$filter": "not " * 2000 + "name eq 'a'"}).status_code == 400


_PATHS = ["result", "name", "description", "id", "phenomenonTime", "resultTime", "validTime",
          "properties/ward", "properties/tags/0", "parameters/battery_mv", "location",
          "feature", "unitOfMeasurement/name", "Datastream/name", "Datastream/id",
          "Thing/name", "Datastreams/Observations/result", "Locations/location",
          "Datastream/ObservedProperty/name", "Observations/result", "result/code", "@iot.id",
          "observedArea", "encodingType", "time", "Things/name", "nosuch"]
_LITERALS = ["5", "-3.5", "1e400", "0", "'ok'", "'O''Neil'", "true", "false", "null",
             "2026-03-01T09:00:00Z", "2026-03-01", "10:00:00", "2026-03-01T08:00:00Z/2026-03-01T09:00:00Z",
             "geography'POINT(-0.72 52.66)'", "geography'LINESTRING(0 0, 1 1)'",
             "geography'POLYGON((0 0, 1 0, 1 1, 0 0))'", "geography'nonsense'",
             "duration'P1D'", "99999999999999999999999", "''"]
_FUNCTIONS = ["substringof", "endswith", "startswith", "contains", "length", "indexof",
              "substring", "tolower", "toupper", "trim", "concat", "year", "month", "day",
              "hour", "minute", "second", "fractionalseconds", "date", "time",
              "totaloffsetminutes", "now", "mindatetime", "maxdatetime", "round", "floor",
              "ceiling", "geo.distance", "geo.length", "geo.intersects", "st_equals",
              "st_disjoint", "st_touches", "st_within", "st_overlaps", "st_crosses",
              "st_intersects", "st_contains", "st_relate", "nosuch"]
_BINARY = ["eq", "ne", "gt", "ge", "lt", "le", "and", "or", "add", "sub", "mul", "div", "mod"]

_terms = st.one_of(st.sampled_from(_PATHS), st.sampled_from(_LITERALS))
expressions = st.recursive(
    _terms,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(_BINARY), inner).map(" ".join),
        inner.map(lambda e: f"not {e}"),
        inner.map(lambda e: f"({e})"),
        inner.map(lambda e: f"-{e}"),
        st.tuples(st.sampled_from(_FUNCTIONS), st.lists(inner, max_size=3)).map(
            lambda f: f"{f[0]}({', '.join(f[1])})"),
    ),
    max_leaves=8,
)
garbage = st.text(alphabet=string.printable + "äé€’", max_size=40)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(set_name=st.sampled_from(SETS), expression=st.one_of(expressions, garbage))
def test_generated_filters_never_500(client, store, set_name: str, expression: str) -> None:  # type: ignore[no-untyped-def]
    """Generated $filter expressions get a 200 or a 4xx with a message, never a 500."""
    response = client.get(f"/sta/v1.1/{set_name}", params={"$filter": expression})
    assert response.status_code < 500, (expression, response.text)
    if response.status_code >= 400:
        assert response.json()["error"]["message"]


_OPTIONS = ["$filter", "$top", "$skip", "$count", "$orderby", "$select", "$expand",
            "$resultFormat", "$search", "$format", "$nonsense", "filter"]


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(path=st.sampled_from(SETS + ["Datastreams(1)/Observations", "Things(1)",
                                    "Observations(1)/result", "Things(1)/Datastreams"]),
       options=st.dictionaries(st.sampled_from(_OPTIONS),
                               st.one_of(garbage, expressions), max_size=4))
def test_garbage_query_options_never_500(client, store, path: str, options: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Garbage query options get a 2xx, a 4xx or (unsupported OData options) a 501, never a 500."""
    response = client.get(f"/sta/v1.1/{path}", params=options)
    assert response.status_code < 500 or response.status_code == 501, (
        path, options, response.text)
    if response.status_code >= 400:
        assert response.json()["error"]["message"]


def test_ordering_comparison_with_a_boolean_is_a_400(client) -> None:  # type: ignore[no-untyped-def]
    """Found by Hypothesis: `properties/ward gt true` is a clear 400, not a server error."""
    response = client.get("/sta/v1.1/Things", params={"$filter": "properties/ward gt true"})
    assert response.status_code == 400
    assert "eq or ne" in response.json()["error"]["message"]


@pytest.mark.parametrize("expression", ["geo.intersects(0,0)", "geo.INTERSECTS(0,0)",
                                        "st_within(Locations/location, 5)", "st_contains('a', Locations/location)",
                                        "st_relate(1, 2, 'T*F**F***')"])
def test_spatial_functions_on_non_geometries_are_400(client, expression: str) -> None:  # type: ignore[no-untyped-def]
    """Found by Hypothesis: a spatial function given numbers or strings is a 400 naming it."""
    response = client.get("/sta/v1.1/Things", params={"$filter": expression})
    assert response.status_code == 400, response.text
    assert "geometr" in response.json()["error"]["message"]
