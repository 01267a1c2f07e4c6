"""Fuzzing the request surface: query options and JSON bodies never get a 5xx, on either database.

Hypothesis combines $filter, $orderby, $select and $expand from the grammar's pieces, hostile
text (NUL, lone surrogates, control characters, huge numbers) and garbage, and writes JSON
bodies from raw text with what the json module takes but storage cannot (NaN, 1e999, 400-digit
integers, deep nesting, NUL and surrogate escapes) for every JSON endpoint. Each example must
answer within its deadline with a 2xx or a 4xx that says what was wrong (501 for OData options
the service does not offer).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placehub.access import service
from placehub.db import Database
from tests.sta.filter_data import build_store
from tests.sta.test_filter_http import SETS, expressions, garbage

FUZZ = settings(max_examples=60, deadline=timedelta(seconds=10), derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

hostile_text = st.sampled_from([
    "\x00", "a%00b", "\ud800", "\udfff", "'\x00'", "\x7f", "\u202e", "%", "%ZZ", "properties",
    "properties/%00", "properties/\x00", "9" * 320, "1e999", "-1e999", "NaN", "Infinity",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "Things(" + "9" * 30 + ")",
    "(" * 300, ")" * 5, "/" * 40, "$expand", "'" * 7, "@iot.id", "id desc,id asc,id",
])
_NAVIGATIONS = ["Datastreams", "Thing", "Locations", "HistoricalLocations", "Observations",
                "Sensor", "ObservedProperty", "FeatureOfInterest", "Things", "nosuch"]
_SELECTS = ["id", "name", "result", "properties", "properties/ward", "@iot.id", "location",
            "phenomenonTime", "Datastream", "nosuch"]
orderby = st.lists(st.tuples(st.one_of(expressions, hostile_text),
                             st.sampled_from(["", " asc", " desc", " sideways"])).map("".join),
                   min_size=1, max_size=3).map(",".join)
select = st.lists(st.one_of(st.sampled_from(_SELECTS), hostile_text), min_size=1,
                  max_size=4).map(",".join)
expand = st.recursive(
    st.sampled_from(_NAVIGATIONS),
    lambda inner: st.one_of(
        st.tuples(inner, inner).map("/".join),
        st.tuples(st.sampled_from(_NAVIGATIONS),
                  st.sampled_from(["$filter", "$select", "$orderby", "$top", "$expand"]),
                  st.one_of(expressions, hostile_text, inner)).map(
            lambda t: f"{t[0]}({t[1]}={t[2]})"),
        st.lists(inner, min_size=2, max_size=3).map(",".join),
    ),
    max_leaves=4,
)
query_options = st.fixed_dictionaries({}, optional={
    "$filter": st.one_of(expressions, hostile_text, garbage),
    "$orderby": st.one_of(orderby, garbage),
    "$select": st.one_of(select, garbage),
    "$expand": st.one_of(expand, garbage),
    "$top": st.one_of(st.integers(-5, 10**25).map(str), hostile_text),
    "$skip": st.one_of(st.integers(-5, 10**25).map(str), hostile_text),
    "$count": st.sampled_from(["true", "false", "yes", "\x00"]),
})

# Raw JSON text: valid values, values the json module takes but storage cannot, and malformed.
_SCALARS = ["0", "-1", "1.5", "1e308", "1e999", "-1e999", "NaN", "Infinity", "-Infinity",
            "9" * 400, str(2**63), str(-(2**63) - 1), "true", "false", "null", '""',
            '"Bin 001"', '"a\\u0000b"', '"\\ud800"', '"\\udc00x"', '"\\ud83d\\uddd1"',
            '"0001-01-01T00:00:00+14:00"', '"2026-03-01T09:00:00Z"', '"=HYPERLINK(1)"',
            '"' + "x" * 600 + '"', "{", "]", '"\\x"']
_KEYS = ["name", "description", "properties", "result", "phenomenonTime", "Datastream",
         "@iot.id", "location", "encodingType", "Thing", "Locations", "FeatureOfInterest",
         "components", "dataArray", "requests", "a\\u0000", "\\ud800", "runtime_seconds",
         "service", "date", "ids", "thing_id", "condition", "threshold"]
json_text = st.recursive(
    st.sampled_from(_SCALARS),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.dictionaries(st.sampled_from(_KEYS), inner, max_size=5).map(
            lambda d: "{" + ", ".join(f'"{k}": {v}' for k, v in d.items()) + "}"),
    ),
    max_leaves=12,
) | st.integers(65, 5000).map(lambda n: "[" * n + "]" * n)

WRITES = [
    ("POST", "/sta/v1.1/Things"), ("POST", "/sta/v1.1/Locations"),
    ("POST", "/sta/v1.1/Observations"), ("POST", "/sta/v1.1/Datastreams"),
    ("POST", "/sta/v1.1/FeaturesOfInterest"), ("POST", "/sta/v1.1/CreateObservations"),
    ("POST", "/sta/v1.1/$batch"), ("PATCH", "/sta/v1.1/Things(1)"),
    ("PATCH", "/sta/v1.1/Observations(1)"), ("POST", "/api/alerts/rules"),
    ("POST", "/api/alerts/teams"), ("POST", "/api/devices"), ("POST", "/api/tokens"),
    ("POST", "/api/dead-letters/replay"), ("PUT", "/api/alerts/rules/overrides"),
    ("POST", "/api/indicators/derive"),
]


@pytest.fixture
def editor(client: TestClient, database: Database) -> TestClient:
    """The client with an admin token of the store's council."""
    with database.begin() as conn:
        build_store(conn)
        org = service.organisation_id(conn, "rutland")
        user = service.create_user(conn, "fuzzer")
        service.grant_role(conn, user, org, "admin")
        client.headers["Authorization"] = f"Bearer {service.create_token(conn, user, 'fuzz')}"
    return client


def _no_server_error(response, what: object) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code < 500 or response.status_code == 501, (what, response.text[:500])
    if response.status_code >= 400:
        assert response.json()["error"]["message"], what


@FUZZ
@given(path=st.sampled_from([*SETS, "Datastreams(1)/Observations", "Things(1)",
                             "Things(1)/Locations", "Observations(1)/result"]),
       options=query_options)
def test_query_options_never_5xx(editor: TestClient, path: str,
                                 options: dict[str, str]) -> None:
    """Generated $filter/$orderby/$select/$expand (and $top/$skip/$count) never get a 5xx."""
    # Encoded by hand: a lone surrogate travels as the bytes UTF-8 would give it (%ED%A0%80).
    query = "&".join(f"{quote(name)}={quote(value.encode('utf-8', 'surrogatepass'), safe='')}"
                     for name, value in options.items())
    _no_server_error(editor.get(f"/sta/v1.1/{path}?{query}"), (path, options))


@FUZZ
@given(target=st.sampled_from(WRITES), body=json_text)
def test_json_bodies_never_5xx(editor: TestClient, target: tuple[str, str], body: str) -> None:
    """Generated JSON bodies (valid, unstorable or malformed) never get a 5xx."""
    method, path = target
    response = editor.request(method, path, content=body.encode("utf-8", "surrogatepass"),
                              headers={"Content-Type": "application/json"})
    _no_server_error(response, (method, path, body[:300]))
