"""OGC 18-088 Create-Update-Delete: create with links and deep insert, PATCH/PUT/JSON Patch,
DELETE with the spec's cascades, $ref links, automatic HistoricalLocations.

Each test names the requirement it checks. They run in-process on SQLite and PostgreSQL, or
against the server at STA_BASE_URL (see conftest.py), and rely only on what they create.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.sta.conftest import StaClient, oven

SENSOR = {"name": "SRF01", "description": "Ultrasonic ranger", "encodingType": "application/pdf",
          "metadata": "https://example.org/srf01.pdf"}
PROPERTY = {"name": "Distance", "description": "Distance to the surface",
            "definition": "https://qudt.org/vocab/quantitykind/Distance"}
POINT = {"type": "Point", "coordinates": [-0.72, 52.67]}


def _stream(sta: StaClient, name: str = "bin") -> dict[str, int]:
    """Create a Thing with a Location and a Datastream; return their ids."""
    thing = sta.create("Things", oven(name))
    body = sta.get(f"Things({thing['@iot.id']})?$expand=Datastreams,Locations").json()
    return {"thing": thing["@iot.id"], "datastream": body["Datastreams"][0]["@iot.id"],
            "location": body["Locations"][0]["@iot.id"]}


def test_create_each_entity_type_with_location_header(sta: StaClient) -> None:
    """req/create-update-delete/create-entity: POST to a collection creates the entity,
    answers 201 Created with a Location header holding its selfLink."""
    thing = sta.create("Things", {"name": "bin 1", "description": "Litter bin"})
    assert thing["name"] == "bin 1"
    location = sta.create("Locations", {"name": "Oakham", "description": "Market Place",
                                        "encodingType": "application/geo+json",
                                        "location": POINT})
    sensor = sta.create("Sensors", SENSOR)
    prop = sta.create("ObservedProperties", PROPERTY)
    feature = sta.create("FeaturesOfInterest", {"name": "bin 1", "description": "the bin",
                                                "encodingType": "application/geo+json",
                                                "feature": POINT})
    stream = sta.create("Datastreams", {
        "name": "fill", "description": "fill level", "observationType": "OM_Measurement",
        "unitOfMeasurement": {"name": "percent", "symbol": "%", "definition": "ucum:%"},
        "Thing": {"@iot.id": thing["@iot.id"]}, "Sensor": {"@iot.id": sensor["@iot.id"]},
        "ObservedProperty": {"@iot.id": prop["@iot.id"]},
    })
    observation = sta.create("Observations", {
        "phenomenonTime": "2024-06-01T10:00:00Z", "result": 42.5,
        "Datastream": {"@iot.id": stream["@iot.id"]},
        "FeatureOfInterest": {"@iot.id": feature["@iot.id"]},
    })
    assert observation["result"] == 42.5
    history = sta.create("HistoricalLocations", {
        "time": "2020-01-01T00:00:00Z", "Thing": {"@iot.id": thing["@iot.id"]},
        "Locations": [{"@iot.id": location["@iot.id"]}],
    })
    assert sta.get(f"HistoricalLocations({history['@iot.id']})/Locations").json()[
        "value"][0]["@iot.id"] == location["@iot.id"]
    for created in (thing, location, sensor, prop, feature, stream, observation):
        assert sta.get(created["@iot.selfLink"]).status_code == 200


def test_links_to_existing_entities_ignore_extra_members(sta: StaClient) -> None:
    """req/create-update-delete/link-to-existing-entities: related entities are linked by
    @iot.id; other members sent beside it (as frost-sta-client does) are ignored."""
    ids = _stream(sta)
    sensor = sta.create("Sensors", SENSOR)
    prop = sta.create("ObservedProperties", PROPERTY)
    stream = sta.create("Datastreams", {
        "name": "second", "description": "d", "observationType": "OM_Measurement",
        "unitOfMeasurement": {"name": "mm", "symbol": "mm", "definition": "ucum:mm"},
        "Thing": {"@iot.id": ids["thing"], "name": "ignored", "description": "ignored"},
        "Sensor": {"@iot.id": sensor["@iot.id"], **SENSOR, "name": "not renamed"},
        "ObservedProperty": {"@iot.id": prop["@iot.id"], "name": "not renamed"},
    })
    assert sta.get(f"Datastreams({stream['@iot.id']})/Sensor/name").json() == {
        "name": "SRF01"}
    assert sta.get(f"Things({ids['thing']})/name").json() == {"name": "bin"}
    missing = sta.post("Datastreams", {
        "name": "x", "description": "d", "observationType": "OM_Measurement",
        "unitOfMeasurement": {}, "Thing": {"@iot.id": 987654321},
        "Sensor": {"@iot.id": sensor["@iot.id"]}, "ObservedProperty": {"@iot.id": prop["@iot.id"]},
    })
    assert missing.status_code == 400
    assert "Datastream/Thing" in missing.json()["error"]["message"]


def test_deep_insert_creates_everything_or_nothing(sta: StaClient) -> None:
    """req/create-update-delete/deep-insert: a Thing with Locations, Datastreams, Sensor,
    ObservedProperty, Observations and a FeatureOfInterest is created in one request; when a
    nested entity is invalid, none of them is created."""
    thing = sta.create("Things", oven("deep", observations=2))
    body = sta.get(f"Things({thing['@iot.id']})?$expand=Locations,HistoricalLocations,"
                   "Datastreams($expand=Sensor,ObservedProperty,Observations)").json()
    assert len(body["Locations"]) == 1
    assert len(body["HistoricalLocations"]) == 1
    assert [o["result"] for o in body["Datastreams"][0]["Observations"]] == [20, 21]
    # An Observation may bring its own FeatureOfInterest inline (the spec's example).
    observation = sta.create(f"Datastreams({body['Datastreams'][0]['@iot.id']})/Observations", {
        "phenomenonTime": "2012-06-26T03:42:02-06:00", "result": 70.4,
        "FeatureOfInterest": {"name": "CCIT #361", "description": "office",
                              "encodingType": "application/vnd.geo+json",
                              "feature": {"type": "Feature", "geometry": {
                                  "type": "Polygon", "coordinates": [[[100, 50], [10, 9],
                                                                      [23, 4], [100, 50]]]}}},
    })
    feature = sta.get(f"Observations({observation['@iot.id']})/FeatureOfInterest").json()
    assert feature["name"] == "CCIT #361"
    assert observation["phenomenonTime"] == "2012-06-26T09:42:02Z"
    before = sta.get("Sensors?$count=true&$top=0").json()["@iot.count"]
    broken = oven("broken", observations=2)
    broken["Datastreams"][0]["Observations"][1]["phenomenonTime"] = "yesterday"
    response = sta.post("Things", broken)
    assert response.status_code == 400
    assert "Datastreams[0]/Observations[1]/phenomenonTime" in response.json()["error"]["message"]
    assert sta.get("Sensors?$count=true&$top=0").json()["@iot.count"] == before
    names = [t["name"] for t in sta.get("Things?$top=10000").json()["value"]]
    assert "broken" not in names


def test_deep_insert_status_and_location(sta: StaClient) -> None:
    """req/create-update-delete/deep-insert-status-code: a deep insert answers 201 Created with
    the Location of the top entity."""
    response = sta.post("Things", oven("status"))
    assert response.status_code == 201
    assert response.headers["location"].endswith(f"/Things({response.json()['@iot.id']})")


def test_post_to_navigation_collection_links_to_parent(sta: StaClient) -> None:
    """req/create-update-delete/create-entity: POST to a navigationLink links the new entity to
    the entity holding it; an Observation without FeatureOfInterest gets one generated from the
    Thing's Location, reused for the next, and no phenomenonTime means the server's time."""
    ids = _stream(sta)
    first = sta.create(f"Datastreams({ids['datastream']})/Observations",
                       {"phenomenonTime": "2024-06-01T10:00:00Z", "result": 1})
    second = sta.create(f"Datastreams({ids['datastream']})/Observations", {"result": 2})
    foi_1 = sta.get(f"Observations({first['@iot.id']})/FeatureOfInterest").json()
    foi_2 = sta.get(f"Observations({second['@iot.id']})/FeatureOfInterest").json()
    assert foi_1["@iot.id"] == foi_2["@iot.id"]
    assert foi_1["feature"] == {"type": "Point", "coordinates": [-114.06, 51.05]}
    stamped = datetime.fromisoformat(second["phenomenonTime"])
    assert abs(stamped - datetime.now(UTC)) < timedelta(minutes=5)
    assert sta.get(f"Observations({first['@iot.id']})/Datastream").json()[
        "@iot.id"] == ids["datastream"]


def test_patch_merges_put_replaces(sta: StaClient) -> None:
    """req/create-update-delete/update-entity: PATCH changes only the given properties; PUT
    replaces all of them (a missing mandatory one is a 400); the id in the body is ignored."""
    thing = sta.create("Things", {"name": "bench", "description": "oak bench",
                                  "properties": {"seats": 3}})
    url = f"Things({thing['@iot.id']})"
    patched = sta.patch(url, {"description": "teak bench", "@iot.id": 999})
    assert patched.status_code == 200
    body = sta.get(url).json()
    assert body["@iot.id"] == thing["@iot.id"]
    assert (body["name"], body["description"]) == ("bench", "teak bench")
    assert body["properties"]["seats"] == 3
    replaced = sta.put(url, {"name": "bench 2", "description": "metal"})
    assert replaced.status_code == 200
    body = sta.get(url).json()
    # PUT without properties leaves none (left out of the JSON while null).
    assert body["name"] == "bench 2" and "properties" not in body
    missing = sta.put(url, {"name": "no description"})
    assert missing.status_code == 400 and "description" in missing.json()["error"]["message"]
    assert sta.patch("Things(987654321)", {"name": "x"}).status_code == 404


def test_json_patch(sta: StaClient) -> None:
    """req/create-update-delete/update-entity: PATCH with application/json-patch+json applies an
    RFC 6902 patch; a failing test operation is a 400 and changes nothing."""
    thing = sta.create("Things", {"name": "lamp", "description": "street lamp",
                                  "properties": {"height": 6}})
    url = f"Things({thing['@iot.id']})"
    headers = {"Content-Type": "application/json-patch+json"}
    ops = [{"op": "replace", "path": "/properties/height", "value": 8},
           {"op": "add", "path": "/properties/colour", "value": "green"},
           {"op": "replace", "path": "/name", "value": "lamp 7"}]
    response = sta.request("PATCH", url, json=ops, headers=headers)
    assert response.status_code == 200, response.text
    body = sta.get(url).json()
    assert body["name"] == "lamp 7"
    assert body["properties"]["height"] == 8 and body["properties"]["colour"] == "green"
    failing = [{"op": "test", "path": "/name", "value": "other"},
               {"op": "replace", "path": "/name", "value": "never"}]
    assert sta.request("PATCH", url, json=failing, headers=headers).status_code == 400
    assert sta.get(f"{url}/name").json() == {"name": "lamp 7"}


def test_update_may_link_but_not_nest(sta: StaClient) -> None:
    """req/create-update-delete/update-entity: an update may bind navigation properties by
    @iot.id (single-valued replaced), while inline entities are a 400."""
    ids = _stream(sta)
    sensor = sta.create("Sensors", SENSOR)
    url = f"Datastreams({ids['datastream']})"
    assert sta.patch(url, {"Sensor": {"@iot.id": sensor["@iot.id"]}}).status_code == 200
    assert sta.get(f"{url}/Sensor").json()["@iot.id"] == sensor["@iot.id"]
    nested = sta.patch(url, {"Sensor": SENSOR})
    assert nested.status_code == 400
    assert "nested" in nested.json()["error"]["message"]


def test_new_location_creates_historical_location(sta: StaClient) -> None:
    """req/create-update-delete/historical-location-auto-creation: giving a Thing a new Location
    (PATCH, POST to Things(id)/Locations or $ref) adds a HistoricalLocation; the old Location
    stays reachable through it."""
    ids = _stream(sta)
    thing = f"Things({ids['thing']})"
    assert len(sta.get(f"{thing}/HistoricalLocations").json()["value"]) == 1
    moved = sta.create(f"{thing}/Locations", {"name": "depot", "description": "d",
                                              "encodingType": "application/geo+json",
                                              "location": POINT})
    history = sta.get(f"{thing}/HistoricalLocations?$expand=Locations"
                      "&$orderby=time desc").json()["value"]
    assert len(history) == 2
    assert history[0]["Locations"][0]["@iot.id"] == moved["@iot.id"]
    assert [loc["@iot.id"] for loc in sta.get(f"{thing}/Locations").json()["value"]] == [
        moved["@iot.id"]]
    assert sta.patch(thing, {"Locations": [{"@iot.id": ids["location"]}]}).status_code == 200
    assert len(sta.get(f"{thing}/HistoricalLocations").json()["value"]) == 3
    assert sta.post(f"{thing}/Locations/$ref", {"@iot.id": moved["@iot.id"]}).status_code == 204
    assert len(sta.get(f"{thing}/HistoricalLocations").json()["value"]) == 4
    assert sta.get(f"Locations({ids['location']})/HistoricalLocations").json()["value"]


def test_ref_links_are_removed_only_where_optional(sta: StaClient) -> None:
    """req/create-update-delete/delete-entity: DELETE on a $ref removes an optional link
    (Thing-Location); removing a mandatory one (Datastream-Thing) is a 409 conflict."""
    ids = _stream(sta)
    thing = f"Things({ids['thing']})"
    assert sta.delete(f"{thing}/Locations({ids['location']})/$ref").status_code == 200
    assert sta.get(f"{thing}/Locations").json()["value"] == []
    assert sta.get(f"Locations({ids['location']})").status_code == 200
    conflict = sta.delete(f"Datastreams({ids['datastream']})/Thing/$ref")
    assert conflict.status_code == 409


def test_delete_cascades(sta: StaClient) -> None:
    """req/create-update-delete/delete-entity: deleting a Thing deletes its Datastreams and
    their Observations; a Location its HistoricalLocations; a Sensor its Datastreams; a
    FeatureOfInterest its Observations; an Observation updates its Datastream's times."""
    thing = sta.create("Things", oven("cascade", observations=3))
    body = sta.get(f"Things({thing['@iot.id']})?$expand=Locations,HistoricalLocations,"
                   "Datastreams($expand=Observations,Sensor)").json()
    stream = body["Datastreams"][0]
    observation_ids = [o["@iot.id"] for o in stream["Observations"]]
    last = sta.delete(f"Observations({observation_ids[-1]})")
    assert last.status_code == 200
    assert sta.get(f"Datastreams({stream['@iot.id']})/phenomenonTime").json() == {
        "phenomenonTime": "2024-05-01T00:00:00Z/2024-05-01T01:00:00Z"}
    assert sta.delete(f"Locations({body['Locations'][0]['@iot.id']})").status_code == 200
    assert sta.get(f"HistoricalLocations({body['HistoricalLocations'][0]['@iot.id']})"
                   ).status_code == 404
    assert sta.delete(f"Things({thing['@iot.id']})").status_code == 200
    assert sta.get(f"Datastreams({stream['@iot.id']})").status_code == 404
    assert sta.get(f"Observations({observation_ids[0]})").status_code == 404
    # A Sensor takes its Datastreams with it, a FeatureOfInterest its Observations.
    other = sta.create("Things", oven("cascade 2", observations=2))
    expanded = sta.get(f"Things({other['@iot.id']})?$expand=Datastreams($expand=Sensor,"
                       "Observations($expand=FeatureOfInterest))").json()
    stream = expanded["Datastreams"][0]
    feature = stream["Observations"][0]["FeatureOfInterest"]["@iot.id"]
    assert sta.delete(f"FeaturesOfInterest({feature})").status_code == 200
    assert sta.get(f"Datastreams({stream['@iot.id']})/Observations").json()["value"] == []
    assert sta.delete(f"Sensors({stream['Sensor']['@iot.id']})").status_code == 200
    assert sta.get(f"Datastreams({stream['@iot.id']})").status_code == 404
    assert sta.delete("Things(987654321)").status_code == 404


def test_bad_bodies_are_400_naming_the_problem(sta: StaClient) -> None:
    """req/create-update-delete/create-entity: invalid input is a 400 whose message names the
    offending member, never a 500."""
    cases = [
        ({"description": "no name"}, "name"),
        ({"name": "x", "description": "d", "colour": "red"}, "colour"),
        ({"name": 5, "description": "d"}, "name"),
        ({"name": "x" * 600, "description": "d"}, "name"),
        ({"name": "x", "description": "d", "properties": [1, 2]}, "properties"),
        ({"name": "x", "description": "d", "Locations": {"name": "not a list"}}, "Locations"),
        ({"name": "x", "description": "d", "Locations": [{"name": "l", "description": "d",
          "encodingType": "application/geo+json", "location": {"type": "Blob"}}]}, "location"),
        ([1, 2, 3], "Thing"),
    ]
    for body, named in cases:
        response = sta.post("Things", body)
        assert response.status_code == 400, (body, response.text)
        assert named in response.json()["error"]["message"], (body, response.text)
    raw = sta.request("POST", "Things", content=b"{not json",
                      headers={"Content-Type": "application/json"})
    assert raw.status_code == 400
    ids = _stream(sta)
    naive = sta.post(f"Datastreams({ids['datastream']})/Observations",
                     {"phenomenonTime": "2024-01-01T00:00:00", "result": 1})
    assert naive.status_code == 400 and "time zone" in naive.json()["error"]["message"]
    infinite = sta.request("POST", f"Datastreams({ids['datastream']})/Observations",
                           content=b'{"result": NaN}',
                           headers={"Content-Type": "application/json"})
    assert infinite.status_code == 400
    not_a_number = sta.request("POST", "Things", content=b'{"name": "n", "description": "d", '
                               b'"properties": {"level": NaN}}',
                               headers={"Content-Type": "application/json"})
    assert not_a_number.status_code == 400 and "NaN" in not_a_number.json()["error"]["message"]
    assert sta.post("Things(1)", {"name": "x"}).status_code in {400, 404}


def test_ids_of_deleted_entities_are_never_reused(sta: StaClient) -> None:
    """Deleting the newest Thing and creating another gives a new id, on SQLite as on
    PostgreSQL, so old links and subscriptions never address the new entity."""
    first = sta.create("Things", {"name": "Bin A", "description": "litter bin"})
    assert sta.delete(f"Things({first['@iot.id']})").status_code == 200
    second = sta.create("Things", {"name": "Bin B", "description": "litter bin"})
    assert second["@iot.id"] > first["@iot.id"]
    assert sta.get(f"Things({first['@iot.id']})").status_code == 404
