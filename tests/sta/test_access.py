"""Access to SensorThings data: visibility for readers (also through $expand and navigation)
and organisation rights for writers.

These run in-process on SQLite and PostgreSQL: they set up organisations, users and tokens in
the database directly.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from placehub.access import service
from placehub.db import Database
from placehub.web.app import create_app
from tests.sta.conftest import oven

ROOT = "/sta/v1.1"


class Who:
    """Requests as one principal (a bearer token, or nobody)."""

    def __init__(self, client: TestClient, token: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str) -> Any:
        return self.client.get(f"{ROOT}/{path}", headers=self.headers)

    def values(self, path: str) -> list[dict[str, Any]]:
        response = self.get(path)
        assert response.status_code == 200, response.text
        return response.json()["value"]  # type: ignore[no-any-return]

    def send(self, method: str, path: str, body: Any = None) -> Any:
        return self.client.request(method, f"{ROOT}/{path}", json=body, headers=self.headers)


@pytest.fixture
def people(client: TestClient, database: Database) -> dict[str, Who]:
    """Rutland (editor, viewer), Sutton (editor), a user in both, and an anonymous reader."""
    with database.begin() as conn:
        rutland = service.create_organisation(conn, "rutland", "Rutland County Council")
        sutton = service.create_organisation(conn, "sutton", "London Borough of Sutton")
        tokens = {}
        for name, roles in {
            "rutland_editor": {rutland: "editor"},
            "rutland_viewer": {rutland: "viewer"},
            "sutton_editor": {sutton: "editor"},
            "both": {rutland: "editor", sutton: "admin"},
        }.items():
            user = service.create_user(conn, name)
            for org, role in roles.items():
                service.grant_role(conn, user, org, role)
            tokens[name] = service.create_token(conn, user)
    who = {name: Who(client, token) for name, token in tokens.items()}
    who["anonymous"] = Who(client, None)
    return who


@pytest.fixture
def estate(people: dict[str, Who]) -> dict[str, Any]:
    """Rutland's public Thing and its private one sharing a Sensor, each with Observations."""
    editor = people["rutland_editor"]
    public = oven("public bin", observations=2)
    public["@placehub.visibility"] = "public"
    public_id = editor.send("POST", "Things", public).json()["@iot.id"]
    public_body = editor.get(f"Things({public_id})?$expand=Datastreams($expand=Sensor,"
                             "Observations)").json()
    sensor = public_body["Datastreams"][0]["Sensor"]["@iot.id"]
    private = oven("private bin", observations=2)
    private["Locations"][0]["location"] = {"type": "Point", "coordinates": [-0.7, 52.6]}
    private["Datastreams"][0]["Sensor"] = {"@iot.id": sensor}
    created = editor.send("POST", "Things", private)
    assert created.status_code == 201, created.text
    private_id = created.json()["@iot.id"]
    private_body = editor.get(f"Things({private_id})?$expand=Datastreams($expand="
                              "Observations($expand=FeatureOfInterest)),Locations").json()
    return {
        "public": public_id,
        "private": private_id,
        "sensor": sensor,
        "public_stream": public_body["Datastreams"][0]["@iot.id"],
        "private_stream": private_body["Datastreams"][0]["@iot.id"],
        "private_observation": private_body["Datastreams"][0]["Observations"][0]["@iot.id"],
        "private_feature": private_body["Datastreams"][0]["Observations"][0][
            "FeatureOfInterest"]["@iot.id"],
        "private_location": private_body["Locations"][0]["@iot.id"],
    }


def test_anonymous_reads_only_public_data(people: dict[str, Who], estate: dict[str, Any]) -> None:
    """Anonymous readers see the public Thing and what hangs off it, in every collection and
    count, and get 404 for the private Thing's entities."""
    anonymous = people["anonymous"]
    assert [t["@iot.id"] for t in anonymous.values("Things")] == [estate["public"]]
    assert [d["@iot.id"] for d in anonymous.values("Datastreams")] == [estate["public_stream"]]
    observations = anonymous.get("Observations?$count=true").json()
    assert observations["@iot.count"] == 2
    assert {o["result"] for o in observations["value"]} == {20, 21}
    assert len(anonymous.values("Locations")) == 1
    assert len(anonymous.values("HistoricalLocations")) == 1
    assert len(anonymous.values("FeaturesOfInterest")) == 1
    for path in (f"Things({estate['private']})", f"Datastreams({estate['private_stream']})",
                 f"Observations({estate['private_observation']})",
                 f"FeaturesOfInterest({estate['private_feature']})",
                 f"Locations({estate['private_location']})"):
        assert anonymous.get(path).status_code == 404, path


def test_expand_and_navigation_hide_private_data(people: dict[str, Who],
                                                 estate: dict[str, Any]) -> None:
    """Through a shared Sensor, $expand and nested paths, anonymous readers never reach the
    private Thing's Datastream or Observations."""
    anonymous = people["anonymous"]
    via_sensor = anonymous.values(f"Sensors({estate['sensor']})/Datastreams")
    assert [d["@iot.id"] for d in via_sensor] == [estate["public_stream"]]
    expanded = anonymous.get(f"Sensors({estate['sensor']})?$expand=Datastreams("
                             "$expand=Observations,Thing)").json()
    assert [d["@iot.id"] for d in expanded["Datastreams"]] == [estate["public_stream"]]
    assert expanded["Datastreams"][0]["Thing"]["name"] == "public bin"
    assert anonymous.get(f"Datastreams({estate['private_stream']})/Observations"
                         ).status_code == 404
    assert anonymous.get(f"Sensors({estate['sensor']})/Datastreams("
                         f"{estate['private_stream']})/Observations").status_code == 404
    assert anonymous.get(f"Observations({estate['private_observation']})/Datastream/Thing"
                         ).status_code == 404
    # Members of the organisation see both.
    viewer = people["rutland_viewer"]
    assert len(viewer.values(f"Sensors({estate['sensor']})/Datastreams")) == 2


def test_writes_need_a_token_with_rights(people: dict[str, Who],
                                         estate: dict[str, Any]) -> None:
    """Writes without a token are 401; a viewer or another organisation's editor gets 403 on
    data it can read and 404 on data it cannot; the owner's editor may write."""
    body = {"name": "x", "description": "y"}
    assert people["anonymous"].send("POST", "Things", body).status_code == 401
    bad = Who(people["anonymous"].client, "ph_not-a-token")
    assert bad.send("POST", "Things", body).status_code == 401
    assert people["rutland_viewer"].send("POST", "Things", body).status_code == 403
    assert people["rutland_viewer"].send(
        "PATCH", f"Things({estate['public']})", body).status_code == 403
    sutton = people["sutton_editor"]
    assert sutton.send("PATCH", f"Things({estate['public']})", body).status_code == 403
    assert sutton.send("PATCH", f"Things({estate['private']})", body).status_code == 404
    assert sutton.send("DELETE", f"Things({estate['public']})").status_code == 403
    assert sutton.send("POST", f"Datastreams({estate['public_stream']})/Observations",
                       {"result": 1}).status_code == 403
    assert sutton.send("POST", "Datastreams", {
        "name": "hijack", "description": "d", "observationType": "x", "unitOfMeasurement": {},
        "Thing": {"@iot.id": estate["public"]}, "Sensor": {"@iot.id": estate["sensor"]},
        "ObservedProperty": {"name": "p", "description": "d", "definition": "d"},
    }).status_code == 403
    # Sutton may not delete Rutland's Sensor: it would take Rutland's Datastreams with it.
    assert sutton.send("DELETE", f"Sensors({estate['sensor']})").status_code in {403, 409}
    editor = people["rutland_editor"]
    assert editor.send("PATCH", f"Things({estate['private']})", body).status_code == 200
    # Nor may Sutton move its own Observations into Rutland's Datastream.
    sutton_thing = sutton.send("POST", "Things", {**oven("sutton bin", observations=1),
                                                  "@placehub.visibility": "public"})
    assert sutton_thing.status_code == 201, sutton_thing.text
    observation = sutton.get(f"Things({sutton_thing.json()['@iot.id']})/Datastreams"
                             "?$expand=Observations").json()["value"][0]["Observations"][0]
    moved = sutton.send("PATCH", f"Observations({observation['@iot.id']})",
                        {"Datastream": {"@iot.id": estate["public_stream"]}})
    assert moved.status_code == 403


def test_a_page_names_each_rows_own_organisation(people: dict[str, Who]) -> None:
    """A page of Things of two councils, sorted and filtered, names each row's organisation,
    and so do their expanded Locations (read with the rows on PostgreSQL, looked up on
    SQLite)."""
    both = people["both"]
    for slug, name in (("sutton", "a bin"), ("rutland", "b bin"), ("sutton", "c bin")):
        created = both.send("POST", "Things", {
            "name": name, "description": "d", "@placehub.organisation": slug,
            "@placehub.visibility": "public",
            "Locations": [{"name": "l", "description": "d",
                           "encodingType": "application/geo+json",
                           "location": {"type": "Point", "coordinates": [-0.7, 52.6]}}]})
        assert created.status_code == 201, created.text
    page = people["anonymous"].values(
        "Things?$filter=endswith(name,'bin')&$orderby=name desc&$top=2&$expand=Locations")
    assert [(t["name"], t["@placehub.organisation"]) for t in page] == [
        ("c bin", "sutton"), ("b bin", "rutland")]
    assert [t["Locations"][0]["@placehub.organisation"] for t in page] == ["sutton", "rutland"]
    one = people["anonymous"].get(f"Things({page[1]['@iot.id']})").json()
    assert one["@placehub.organisation"] == "rutland"


def test_organisation_and_visibility_on_create(people: dict[str, Who]) -> None:
    """A new Thing belongs to the token user's only organisation unless @placehub.organisation
    names one; @placehub.visibility sets who reads it; both are shown back as annotations."""
    editor = people["rutland_editor"]
    thing = editor.send("POST", "Things", {"name": "a", "description": "b"}).json()
    assert thing["@placehub.organisation"] == "rutland"
    assert thing["@placehub.visibility"] == "organisation"
    assert "properties" not in thing
    assert people["anonymous"].get(f"Things({thing['@iot.id']})").status_code == 404
    both = people["both"]
    unclear = both.send("POST", "Things", {"name": "a", "description": "b"})
    assert unclear.status_code == 400
    assert "@placehub.organisation" in unclear.json()["error"]["message"]
    named = both.send("POST", "Things", {"name": "a", "description": "b",
                                         "@placehub.organisation": "sutton",
                                         "@placehub.visibility": "public",
                                         "properties": {"ward": "Carshalton"}})
    assert named.status_code == 201, named.text
    assert named.json()["properties"] == {"ward": "Carshalton"}
    assert (named.json()["@placehub.organisation"], named.json()["@placehub.visibility"]) == (
        "sutton", "public")
    anonymous_view = people["anonymous"].get(f"Things({named.json()['@iot.id']})")
    assert anonymous_view.status_code == 200
    # A Location posted to a Thing belongs to the Thing's organisation, even for this user.
    moved = both.send("POST", f"Things({named.json()['@iot.id']})/Locations", {
        "name": "l", "description": "d", "encodingType": "application/geo+json",
        "location": {"type": "Point", "coordinates": [-0.19, 51.36]}})
    assert moved.status_code == 201, moved.text
    assert moved.json()["@placehub.organisation"] == "sutton"
    assert "@placehub.visibility" not in moved.json()
    assert editor.send("POST", "Things", {"name": "a", "description": "b",
                                          "@placehub.organisation": "sutton"}).status_code == 403
    assert editor.send("POST", "Things", {"name": "a", "description": "b",
                                          "@placehub.organisation": "nowhere"}).status_code == 400
    assert editor.send("POST", "Things", {"name": "a", "description": "b",
                                          "@placehub.visibility": "everyone"}).status_code == 400
    # Only a Thing has a visibility; a Datastream's organisation is its Thing's.
    refused = editor.send("POST", "Sensors", {"name": "s", "description": "d",
                                              "encodingType": "text/plain", "metadata": "m",
                                              "@placehub.visibility": "public"})
    assert refused.status_code == 400
    assert "only a Thing" in refused.json()["error"]["message"]
    # Changing visibility later through PATCH, by merge or by JSON Patch.
    made_public = editor.send("PATCH", f"Things({thing['@iot.id']})",
                              {"@placehub.visibility": "public"})
    assert made_public.status_code == 200
    assert made_public.json()["@placehub.visibility"] == "public"
    assert people["anonymous"].get(f"Things({thing['@iot.id']})").status_code == 200
    hidden = editor.client.patch(
        f"{ROOT}/Things({thing['@iot.id']})",
        json=[{"op": "replace", "path": "/@placehub.visibility", "value": "restricted"}],
        headers={**editor.headers, "Content-Type": "application/json-patch+json"})
    assert hidden.status_code == 200, hidden.text
    assert people["anonymous"].get(f"Things({thing['@iot.id']})").status_code == 404


def test_user_properties_round_trip_unchanged(people: dict[str, Who]) -> None:
    """req/datamodel/thing/properties: properties are the user's own JSON object, stored and
    returned unchanged, including members named organisation or visibility; PUT without
    properties clears them and keeps the owner and visibility."""
    editor = people["rutland_editor"]
    mine = {"organisation": "Met Office", "visibility": 3, "owner": {"name": "Noah"}}
    created = editor.send("POST", "Things", {"name": "station", "description": "d",
                                             "@placehub.visibility": "public",
                                             "properties": mine})
    assert created.status_code == 201, created.text
    thing_id = created.json()["@iot.id"]
    assert created.json()["properties"] == mine
    assert editor.get(f"Things({thing_id})").json()["properties"] == mine
    assert editor.get(f"Things({thing_id})/properties").json() == {"properties": mine}
    assert editor.get(f"Things({thing_id})/properties/organisation/$value").text == "Met Office"
    assert editor.get(
        "Things?$filter=properties/organisation eq 'Met Office'").json()["value"][0][
        "@iot.id"] == thing_id
    replaced = editor.send("PUT", f"Things({thing_id})", {"name": "station", "description": "d"})
    assert replaced.status_code == 200, replaced.text
    assert "properties" not in replaced.json()  # zero-to-one: left out while null
    assert replaced.json()["@placehub.visibility"] == "public"
    assert "properties" not in people["anonymous"].get(f"Things({thing_id})").json()
    assert editor.get(f"Things({thing_id})/properties").status_code == 204
    assert editor.get(f"Things({thing_id})?$select=properties").json() == {"properties": None}
    # A Sensor's own properties.organisation is kept as well.
    sensor = editor.send("POST", "Sensors", {"name": "s", "description": "d",
                                             "encodingType": "text/plain", "metadata": "m",
                                             "properties": {"organisation": "Met Office"}})
    assert sensor.json()["properties"] == {"organisation": "Met Office"}
    assert sensor.json()["@placehub.organisation"] == "rutland"
    # $select names properties only: the annotations come with the full entity.
    selected = editor.get(f"Things({thing_id})?$select=name").json()
    assert selected == {"name": "station"}


def test_partner_organisations_read_partner_data(people: dict[str, Who],
                                                 database: Database) -> None:
    """A Thing marked 'partners' is read by the partner organisation's members, not by
    anonymous readers or other organisations."""
    with database.begin() as conn:
        service.add_partner(conn, service.organisation_id(conn, "rutland"),
                            service.organisation_id(conn, "sutton"))
    editor = people["rutland_editor"]
    thing = editor.send("POST", "Things", {"name": "shared", "description": "d",
                                           "@placehub.visibility": "partners"}).json()
    # Tokens are resolved per request, so the new partnership applies at once.
    assert people["sutton_editor"].get(f"Things({thing['@iot.id']})").status_code == 200
    assert people["anonymous"].get(f"Things({thing['@iot.id']})").status_code == 404


def test_anonymous_write_on_loopback(settings: Any, database: Database) -> None:
    """With PLACEHUB_ANONYMOUS_WRITE=true on loopback, writes need no token (local testing)."""
    app = create_app(settings.replace(anonymous_write=True, host="127.0.0.1"), database=database)
    with TestClient(app) as client:
        response = client.post(f"{ROOT}/Things", json={"name": "local", "description": "d"})
        assert response.status_code == 201, response.text
        assert response.json()["@placehub.organisation"] == "local"
    off_loopback = create_app(settings.replace(anonymous_write=True, host="0.0.0.0"),
                              database=database)
    with TestClient(off_loopback) as client:
        assert client.post(f"{ROOT}/Things", json={"name": "x", "description": "d"}
                           ).status_code == 401
