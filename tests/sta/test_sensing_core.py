"""OGC 18-088 Sensing Core: control information, entity properties and relations, resource
paths and the query options of request-data (without $filter).

Each test names the requirement it checks. They run in-process on SQLite and PostgreSQL, or
against the server at STA_BASE_URL (see conftest.py), and rely only on what they create.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.sta.conftest import StaClient, oven

REQ = "http://www.opengis.net/spec/iot_sensing/1.1/req/"

MANDATORY = {
    "Things": ["name", "description"],
    "Locations": ["name", "description", "encodingType", "location"],
    "HistoricalLocations": ["time"],
    "Datastreams": ["name", "description", "unitOfMeasurement", "observationType"],
    "Sensors": ["name", "description", "encodingType", "metadata"],
    "ObservedProperties": ["name", "definition", "description"],
    "Observations": ["phenomenonTime", "result", "resultTime"],
    "FeaturesOfInterest": ["name", "description", "encodingType", "feature"],
}
RELATIONS = {
    "Things": ["Locations", "HistoricalLocations", "Datastreams"],
    "Locations": ["Things", "HistoricalLocations"],
    "HistoricalLocations": ["Thing", "Locations"],
    "Datastreams": ["Thing", "Sensor", "ObservedProperty", "Observations"],
    "Sensors": ["Datastreams"],
    "ObservedProperties": ["Datastreams"],
    "Observations": ["Datastream", "FeatureOfInterest"],
    "FeaturesOfInterest": ["Observations"],
}


def _ids(sta: StaClient, thing: dict[str, Any]) -> dict[str, int]:
    """The ids of the entities a deep-inserted oven() made."""
    thing_id = thing["@iot.id"]
    expanded = sta.get(f"Things({thing_id})?$expand=Locations,HistoricalLocations,"
                       "Datastreams($expand=Sensor,ObservedProperty,"
                       "Observations($expand=FeatureOfInterest))").json()
    stream = expanded["Datastreams"][0]
    ids = {
        "Things": thing_id,
        "Locations": expanded["Locations"][0]["@iot.id"],
        "HistoricalLocations": expanded["HistoricalLocations"][0]["@iot.id"],
        "Datastreams": stream["@iot.id"],
        "Sensors": stream["Sensor"]["@iot.id"],
        "ObservedProperties": stream["ObservedProperty"]["@iot.id"],
    }
    if stream["Observations"]:
        ids["Observations"] = stream["Observations"][0]["@iot.id"]
        ids["FeaturesOfInterest"] = stream["Observations"][0]["FeatureOfInterest"]["@iot.id"]
    return ids


@pytest.fixture
def stream(sta: StaClient) -> dict[str, int]:
    """A Thing with a Location, a Datastream and 12 hourly Observations (results 20..31)."""
    return _ids(sta, sta.create("Things", oven("core oven", observations=12)))


def test_service_root_lists_entity_sets_and_conformance(sta: StaClient) -> None:
    """req/resource-path/resource-path-to-entities: the service root lists every entity set
    with its URL and the conformance URIs implemented."""
    body = sta.get("").json()
    names = {item["name"]: item["url"] for item in body["value"]}
    assert set(names) == set(MANDATORY)
    for name, url in names.items():
        assert url.endswith(f"/{name}")
        assert sta.get(url).status_code == 200
    conformance = body["serverSettings"]["conformance"]
    assert REQ + "resource-path/resource-path-to-entities" in conformance
    assert REQ + "create-update-delete/deep-insert" in conformance


# The requirement URIs of OGC 18-088 (data model under req/datamodel/, as its service root
# example and the OGC test suites name them) that placehub implements over HTTP.
DECLARED = {
    "datamodel/entity-control-information/common-control-information",
    *(f"datamodel/{name}/{part}" for name in (
        "thing", "location", "historical-location", "datastream", "sensor",
        "observed-property", "observation", "feature-of-interest")
      for part in ("properties", "relations")),
    "resource-path/resource-path-to-entities",
    *(f"request-data/{name}" for name in (
        "order", "expand", "select", "status-code", "query-status-code", "orderby", "top",
        "skip", "count", "pagination", "filter", "built-in-filter-operations",
        "built-in-query-functions")),
    *(f"create-update-delete/{name}" for name in (
        "create-entity", "link-to-existing-entities", "deep-insert", "deep-insert-status-code",
        "update-entity", "update-entity-put", "update-entity-jsonpatch", "delete-entity",
        "historical-location-auto-creation", "historical-location-manual-creation")),
    "batch-request/batch-request",
    "data-array/data-array",
}


def test_conformance_lists_the_requirement_uris_of_18_088(sta: StaClient) -> None:
    """serverSettings.conformance (18-088 9.2.1) holds exactly the granular requirement URIs
    implemented, spelt as the standard spells them: no URI outside 18-088's requirements, the
    PUT and JSON Patch updates included (MQTT ones only with an MQTT endpoint)."""
    conformance = sta.get("").json()["serverSettings"]["conformance"]
    over_http = {uri.removeprefix(REQ) for uri in conformance if "mqtt" not in uri}
    assert over_http == DECLARED
    assert len(conformance) == len(set(conformance))
    assert all(uri.startswith(REQ) for uri in conformance)


@pytest.mark.parametrize("set_name", list(MANDATORY))
def test_entities_have_control_information_properties_and_relations(
    sta: StaClient, stream: dict[str, int], set_name: str
) -> None:
    """req/entity-control-information/common-control-information, req/<entity>/properties and
    req/<entity>/relations: every entity carries @iot.id, an absolute @iot.selfLink that
    resolves to it, its mandatory properties and a navigationLink per relation."""
    entity = sta.get(f"{set_name}({stream[set_name]})").json()
    assert entity["@iot.id"] == stream[set_name]
    assert entity["@iot.selfLink"].startswith("http")
    assert entity["@iot.selfLink"].endswith(f"/{set_name}({stream[set_name]})")
    assert sta.get(entity["@iot.selfLink"]).json() == entity
    for name in MANDATORY[set_name]:
        assert name in entity, name
    for relation in RELATIONS[set_name]:
        link = entity[f"{relation}@iot.navigationLink"]
        assert link == f"{entity['@iot.selfLink']}/{relation}"
        assert sta.get(link).status_code in {200, 204}


def test_property_value_navigation_ref_and_nested_paths(
    sta: StaClient, stream: dict[str, int]
) -> None:
    """req/resource-path/resource-path-to-entities: usages 3-8 (entity, property, $value,
    navigation, $ref, nested paths) answer as the spec describes."""
    ds, obs = stream["Datastreams"], stream["Observations"]
    assert sta.get(f"Datastreams({ds})/name").json() == {"name": "core oven temperature"}
    value = sta.get(f"Datastreams({ds})/name/$value")
    assert value.text == "core oven temperature"
    assert value.headers["content-type"].startswith("text/plain")
    assert sta.get(f"Observations({obs})/phenomenonTime/$value").text == "2024-05-01T00:00:00Z"
    assert sta.get(f"Datastreams({ds})/phenomenonTime").json() == {
        "phenomenonTime": "2024-05-01T00:00:00Z/2024-05-01T11:00:00Z"}
    # A null property answers 204 No Content.
    assert sta.get(f"Observations({obs})/resultTime").status_code == 204
    # Members of a JSON property can be addressed too.
    assert sta.get(f"Datastreams({ds})/unitOfMeasurement/symbol").json() == {"symbol": "degC"}
    thing = sta.get(f"Datastreams({ds})/Thing").json()
    assert thing["@iot.id"] == stream["Things"]
    refs = sta.get(f"Datastreams({ds})/Observations/$ref?$top=3").json()
    assert [set(r) for r in refs["value"]] == [{"@iot.selfLink"}] * 3
    assert refs["value"][0]["@iot.selfLink"].endswith(f"/Observations({obs})")
    nested = sta.get(f"Datastreams({ds})/Observations({obs})/FeatureOfInterest/name").json()
    assert nested == {"name": "CCIT"}
    assert sta.get(f"Things({stream['Things']})/Datastreams({ds})/Sensor").json()[
        "@iot.id"] == stream["Sensors"]
    single_ref = sta.get(f"Datastreams({ds})/Sensor/$ref").json()
    assert single_ref["@iot.selfLink"].endswith(f"/Sensors({stream['Sensors']})")


def test_missing_entities_answer_404(sta: StaClient, stream: dict[str, int]) -> None:
    """req/request-data/status-code: an entity that does not exist answers 404, also inside a
    nested path whose parent exists but is not related."""
    assert sta.get("Things(999999999)").status_code == 404
    assert sta.get("Things(999999999)/Datastreams").status_code == 404
    other = sta.create("Things", {"name": "unrelated", "description": "x"})
    response = sta.get(f"Things({other['@iot.id']})/Datastreams({stream['Datastreams']})")
    assert response.status_code == 404
    assert "does not exist" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["Foo", "Foo(1)", "MultiDatastreams", "Things(1)/nosuch",
                                  "Things(1)/nosuch/$value", "Things(1)/name/first",
                                  "Things(1)/Datastreams(1)/nosuch"])
def test_names_the_service_lacks_answer_404(sta: StaClient, path: str) -> None:
    """req/request-data/status-code (OData): an unknown collection, property or navigation
    addresses no resource, so it answers 404 Not Found with a message naming what exists."""
    response = sta.get(path)
    assert response.status_code == 404
    message = response.json()["error"]["message"]
    assert "Things" in message or "Datastreams" in message or "name" in message


def test_unsupported_query_option_answers_501(sta: StaClient) -> None:
    """req/request-data/query-status-code: an OData system query option the service does not
    support fails with 501 Not Implemented."""
    response = sta.get("Things?$search=oven")
    assert response.status_code == 501
    assert "$search" in response.json()["error"]["message"]


def test_select_returns_only_the_named_properties(sta: StaClient,
                                                  stream: dict[str, int]) -> None:
    """req/request-data/select: $select returns the named properties (navigation names give
    their links) and nothing else."""
    ds = stream["Datastreams"]
    obs = sta.get(f"Datastreams({ds})/Observations?$select=result,phenomenonTime&$top=2").json()
    assert [set(o) for o in obs["value"]] == [{"result", "phenomenonTime"}] * 2
    one = sta.get(f"Datastreams({ds})?$select=id,name,Thing").json()
    assert set(one) == {"@iot.id", "name", "Thing@iot.navigationLink"}
    assert sta.get(f"Datastreams({ds})?$select=nonsense").status_code == 400


def test_expand_nested_with_options(sta: StaClient, stream: dict[str, int]) -> None:
    """req/request-data/expand: $expand inlines related entities, nested with '/' and with
    ';'-separated options inside parentheses ($select, $orderby, $top, $skip, $count, $expand)."""
    thing = stream["Things"]
    body = sta.get(
        f"Things({thing})?$expand=Datastreams($select=name;$expand=Observations("
        "$orderby=phenomenonTime desc;$top=3;$skip=1;$count=true;$select=result)),"
        "Datastreams/Sensor,Locations"
    ).json()
    stream_json = body["Datastreams"][0]
    assert stream_json["name"] == "core oven temperature"
    assert stream_json["Observations@iot.count"] == 12
    assert [o["result"] for o in stream_json["Observations"]] == [30, 29, 28]
    next_page = sta.get(stream_json["Observations@iot.nextLink"]).json()
    assert [o["result"] for o in next_page["value"]] == [27, 26, 25]
    assert stream_json["Sensor"]["name"] == "DS18B20"
    assert body["Locations"][0]["name"] == "CCIT"
    slash = sta.get(f"Things({thing})?$expand=Datastreams/ObservedProperty").json()
    assert slash["Datastreams"][0]["ObservedProperty"]["name"] == "Temperature"
    multi = sta.get(f"Observations({stream['Observations']})"
                    "?$expand=Datastream($expand=Thing($expand=Locations)),FeatureOfInterest")
    assert multi.json()["Datastream"]["Thing"]["Locations"][0]["name"] == "CCIT"
    assert sta.get("Things?$expand=Nope").status_code == 400
    assert sta.get("Things?$expand=Datastreams($top=x)").status_code == 400


def test_orderby_several_keys(sta: StaClient) -> None:
    """req/request-data/orderby: items are sorted by the first key, ties by the next; asc by
    default; nulls first ascending and last descending."""
    thing = sta.create("Things", oven("sorting", observations=0))
    ds = _ids(sta, thing)["Datastreams"]
    rows = [("2024-01-01T00:00:00Z", 3, None), ("2024-01-01T00:00:00Z", 1, "2024-01-02T00:00:00Z"),
            ("2024-01-02T00:00:00Z", 2, "2024-01-03T00:00:00Z"), ("2023-12-31T00:00:00Z", 5, None)]
    for time, result, result_time in rows:
        sta.create(f"Datastreams({ds})/Observations",
                   {"phenomenonTime": time, "result": result, "resultTime": result_time})
    url = f"Datastreams({ds})/Observations"
    by_time = sta.get(f"{url}?$orderby=phenomenonTime desc,result").json()["value"]
    assert [o["result"] for o in by_time] == [2, 1, 3, 5]
    by_result = sta.get(f"{url}?$orderby=result asc").json()["value"]
    assert [o["result"] for o in by_result] == [1, 2, 3, 5]
    nulls_first = sta.get(f"{url}?$orderby=resultTime,result").json()["value"]
    assert [o["result"] for o in nulls_first] == [3, 5, 1, 2]
    nulls_last = sta.get(f"{url}?$orderby=resultTime desc,result desc").json()["value"]
    assert [o["result"] for o in nulls_last] == [2, 1, 5, 3]
    assert sta.get(f"{url}?$orderby=result sideways").status_code == 400


def test_top_skip_count_and_next_links(sta: StaClient, stream: dict[str, int]) -> None:
    """req/request-data/top, skip, count and pagination: $skip is applied before $top, $count
    counts all matches regardless of paging, nextLinks walk the rest, the last page has none."""
    url = f"Datastreams({stream['Datastreams']})/Observations"
    page = sta.get(f"{url}?$top=5&$count=true&$orderby=result").json()
    assert page["@iot.count"] == 12
    assert [o["result"] for o in page["value"]] == [20, 21, 22, 23, 24]
    seen = [o["result"] for o in page["value"]]
    while "@iot.nextLink" in page:
        page = sta.get(page["@iot.nextLink"]).json()
        assert page["@iot.count"] == 12
        seen += [o["result"] for o in page["value"]]
    assert seen == list(range(20, 32))
    # Order of $top and $skip in the URL does not matter (req request-data/order).
    reversed_order = sta.get(f"{url}?$top=2&$skip=3&$orderby=result").json()
    assert [o["result"] for o in reversed_order["value"]] == [23, 24]
    assert sta.get(f"{url}?$skip=100").json()["value"] == []
    assert sta.get(f"{url}?$count=maybe").status_code == 400
    assert sta.get(f"{url}?$top=-1").status_code == 400


def test_times_and_geometries_round_trip(sta: StaClient) -> None:
    """req/observation/properties: times come back as ISO 8601 in UTC, intervals as
    'start/end', and GeoJSON unchanged."""
    thing = _ids(sta, sta.create("Things", oven("times")))
    created = sta.create(f"Datastreams({thing['Datastreams']})/Observations", {
        "phenomenonTime": "2024-03-01T13:00:00+01:00/2024-03-01T14:30:00+01:00",
        "resultTime": "2024-03-01T14:30:00.250+01:00",
        "validTime": "2024-03-01T12:00:00Z/2024-03-02T12:00:00Z",
        "result": {"state": "open"},
        "parameters": {"battery": 3.1},
    })
    assert created["phenomenonTime"] == "2024-03-01T12:00:00Z/2024-03-01T13:30:00Z"
    assert created["resultTime"] == "2024-03-01T13:30:00.250Z"
    assert created["validTime"] == "2024-03-01T12:00:00Z/2024-03-02T12:00:00Z"
    assert created["result"] == {"state": "open"}
    location = sta.get(f"Locations({thing['Locations']})").json()
    assert location["location"] == {"type": "Point", "coordinates": [-114.06, 51.05]}


def test_orderby_through_a_relation_and_into_json(sta: StaClient) -> None:
    """req/request-data/orderby: keys may follow single-valued relations (Sensor/name) and
    address members of JSON properties (properties/rank)."""
    thing = sta.create("Things", oven("relations"))
    ids = _ids(sta, thing)
    base = sta.get(f"Datastreams({ids['Datastreams']})").json()
    for name, rank in (("A-sensor", "b"), ("Z-sensor", "a")):
        sta.create("Datastreams", {
            "name": name, "description": "d", "observationType": base["observationType"],
            "unitOfMeasurement": base["unitOfMeasurement"], "properties": {"rank": rank},
            "Thing": {"@iot.id": ids["Things"]},
            "Sensor": {"name": name, "description": "d", "encodingType": "text/plain",
                       "metadata": "m"},
            "ObservedProperty": {"@iot.id": ids["ObservedProperties"]},
        })
    url = f"Things({ids['Things']})/Datastreams"
    by_sensor = sta.get(f"{url}?$orderby=Sensor/name desc").json()["value"]
    assert [d["name"] for d in by_sensor] == ["Z-sensor", "relations temperature", "A-sensor"]
    by_rank = sta.get(f"{url}?$orderby=properties/rank").json()["value"]
    assert [d["name"] for d in by_rank] == ["relations temperature", "Z-sensor", "A-sensor"]
    assert sta.get(f"{url}?$orderby=Observations/result").status_code == 400
