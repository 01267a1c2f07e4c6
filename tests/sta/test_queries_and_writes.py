"""The query and write layers from the inside: no N+1 in $expand, paging limits, events after
commit, the domain ``create_entity`` used by other concerns, and garbage never giving a 500.

These run in-process on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from placehub.access import service
from placehub.db import Database
from placehub.errors import BadRequest
from placehub.sta.writes import WriteEvents, create_entity
from placehub.web.app import create_app
from tests.sta.conftest import StaClient, oven

BACKGROUND_THREADS = {"placehub-alerts", "placehub-mqtt", "asset-snapshot", "ingest-processor",
                      "journal-writer"}


def _statements(database: Database, sta: StaClient, path: str) -> tuple[int, dict[str, Any]]:
    """How many SQL statements one GET runs, and its JSON (statements of the app's background
    threads, such as the alert timer, do not belong to the request)."""
    count = 0

    def counter(*_args: Any) -> None:
        nonlocal count
        if threading.current_thread().name not in BACKGROUND_THREADS:
            count += 1

    event.listen(database.engine, "before_cursor_execute", counter)
    try:
        body = sta.get(path).json()
    finally:
        event.remove(database.engine, "before_cursor_execute", counter)
    return count, body


def test_expand_runs_one_query_per_level(sta: StaClient, database: Database) -> None:
    """req/request-data/expand: $expand costs one query per expanded level however many
    parents the page has (no N+1), and per-parent $top still holds."""
    path = ("Things?$expand=Locations,Datastreams($expand=Sensor,"
            "Observations($top=2;$orderby=result desc))")
    sta.create("Things", oven("first", observations=3))
    few, body = _statements(database, sta, path)
    for n in range(6):
        sta.create("Things", oven(f"more {n}", observations=4))
    many, body = _statements(database, sta, path)
    assert few == many
    assert len(body["value"]) == 7
    assert all(len(t["Datastreams"][0]["Observations"]) == 2 for t in body["value"])
    assert body["value"][1]["Datastreams"][0]["Observations"][0]["result"] == 23


def test_default_and_maximum_page_size(settings: Any, database: Database) -> None:
    """req/request-data/top: without $top the page holds sta_default_top entities; a $top above
    sta_max_top is replaced by the maximum, with a nextLink to the rest."""
    app = create_app(settings.replace(sta_default_top=3, sta_max_top=5,
                                      anonymous_write=True, host="127.0.0.1"),
                     database=database)
    with TestClient(app) as client:
        for n in range(7):
            client.post("/sta/v1.1/Things", json={"name": f"t{n}", "description": "d"})
        default = client.get("/sta/v1.1/Things").json()
        assert len(default["value"]) == 3
        assert "$top=3" in default["@iot.nextLink"] and "$skip=3" in default["@iot.nextLink"]
        capped = client.get("/sta/v1.1/Things?$top=1000").json()
        assert len(capped["value"]) == 5
        rest = client.get(capped["@iot.nextLink"]).json()
        assert [t["name"] for t in rest["value"]] == ["t5", "t6"]
        assert "@iot.nextLink" not in rest


def test_events_are_published_after_commit(sta: StaClient, database: Database) -> None:
    """Creating a Thing announces things.changed; a new Location locations.changed; a new
    Observation observations.written; a failed deep insert announces nothing."""
    seen: list[tuple[str, Any]] = []
    topics = ("things.changed", "locations.changed", "observations.written")
    subscribers = {topic: (lambda payload, topic=topic: seen.append((topic, payload)))
                   for topic in topics}
    for topic, subscriber in subscribers.items():
        database.events.subscribe(topic, subscriber)
    try:
        thing = sta.create("Things", oven("events", observations=1))
        thing_id = thing["@iot.id"]
        assert ("things.changed", [thing_id]) in seen
        assert ("locations.changed", [thing_id]) in seen
        written = [p for t, p in seen if t == "observations.written"]
        assert written and written[0][0].thing_id == thing_id
        seen.clear()
        broken = oven("broken", observations=1)
        broken["Datastreams"][0]["unitOfMeasurement"] = "not an object"
        assert sta.post("Things", broken).status_code == 400
        assert seen == []
    finally:
        for topic, subscriber in subscribers.items():
            database.events.unsubscribe(topic, subscriber)


def test_create_entity_for_other_concerns(database: Database) -> None:
    """create_entity deep-inserts in the caller's transaction, links by @iot.id, records what
    to announce, and raises BadRequest for bad input."""
    with database.begin() as conn:
        org = service.create_organisation(conn, "rutland", "Rutland")
        user = service.create_user(conn, "ingest")
        service.grant_role(conn, user, org, "editor")
        principal = service.principal_for_user(conn, user)
        events = WriteEvents()
        thing_id = create_entity(conn, principal, "Things", oven("device"), events)
        sensor_id = create_entity(conn, principal, "Sensors", {
            "name": "s", "description": "d", "encodingType": "text/plain", "metadata": "m"})
        assert events.things_changed == {thing_id}
        assert thing_id > 0 and sensor_id > 0
        try:
            create_entity(conn, principal, "Things", {"name": "no description"})
        except BadRequest as error:
            assert "description" in error.message
        else:
            raise AssertionError("expected BadRequest")


SEGMENTS = st.sampled_from([
    "Things", "Datastreams", "Observations", "Locations", "Sensors", "FeaturesOfInterest",
    "HistoricalLocations", "ObservedProperties", "Things(1)", "Datastreams(1)", "(1)", "(x)",
    "('a')", "(", ")", "$ref", "$value", "name", "properties", "result", "phenomenonTime",
    "Thing", "Observations(1)", "Locations(999)", "%20", "''", "Things(1)(2)", "@iot.id",
])
OPTION_KEYS = st.sampled_from(["$top", "$skip", "$count", "$select", "$expand", "$orderby",
                               "$filter", "$search", "$bogus", "top", "$resultFormat"])
OPTION_VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["1", "-1", "true", "x", "Datastreams($top=1;$expand=Observations)",
                     "Datastreams(", "name desc,id", "result asc asc", "Thing/name",
                     "properties/a/b", "Datastreams/Observations/FeatureOfInterest",
                     "Datastreams($select=)", "99999999999999999999", "location", "@iot.id"]),
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(segments=st.lists(SEGMENTS, min_size=0, max_size=5),
       options=st.lists(st.tuples(OPTION_KEYS, OPTION_VALUES), max_size=3),
       method=st.sampled_from(["GET", "GET", "POST", "PATCH", "DELETE"]))
def test_garbage_never_gives_a_server_error(sta: StaClient, segments: list[str],
                                            options: list[tuple[str, str]],
                                            method: str) -> None:
    """Any path, query option or method gets a 2xx/4xx/501 answer with a message, never a 500."""
    if sta.get("Things?$top=1").json()["value"] == []:
        sta.create("Things", oven("fuzz", observations=2))
    path = "/".join(segments)
    response = sta.request(method, path, params=options,
                           json={"name": "fuzz", "result": 1} if method != "GET" else None)
    assert response.status_code < 500 or response.status_code == 501, response.text
    if response.status_code >= 400:
        assert response.json()["error"]["message"]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from([
        "name", "description", "properties", "@iot.id", "Locations", "Datastreams", "Thing",
        "Sensor", "ObservedProperty", "Observations", "FeatureOfInterest", "result",
        "phenomenonTime", "location", "encodingType", "unitOfMeasurement", "type",
        "coordinates", "organisation", "visibility", "x"]), children, max_size=5),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(body=JSON, target=st.sampled_from([
    "Things", "Locations", "Datastreams", "Observations", "Sensors", "FeaturesOfInterest",
    "HistoricalLocations", "Things(1)", "Datastreams(1)/Observations", "Things(1)/Locations/$ref",
]), method=st.sampled_from(["POST", "PATCH", "PUT"]))
def test_garbage_bodies_never_give_a_server_error(sta: StaClient, body: Any, target: str,
                                                  method: str) -> None:
    """Any JSON body sent to any collection or entity gets a 4xx with a message, or succeeds."""
    if sta.get("Things(1)").status_code == 404:
        sta.create("Things", oven("fuzz", observations=1))
    response = sta.request(method, target, json=body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["error"]["message"]


def test_filter_is_part_of_the_service(sta: StaClient) -> None:
    """req/request-data/filter: $filter is answered by placehub.sta.filter (imported, never
    looked up), so a filter on a new Thing finds exactly that Thing."""
    sta.create("Things", {"name": "filtered", "description": "d"})
    sta.create("Things", {"name": "other", "description": "d"})
    response = sta.get("Things?$filter=name eq 'filtered'")
    assert response.status_code == 200
    assert [t["name"] for t in response.json()["value"]] == ["filtered"]
