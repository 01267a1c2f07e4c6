"""Acceptance: a GeoReport v2 client written from the specification
(http://wiki.open311.org/GeoReport_v2 and http://wiki.open311.org/Service_Discovery), not from
placehub's code. It discovers the endpoint, reads the service list, posts a request with a
location, reads it back, and sees its status change when an officer closes it.

Only the spec's names are used: discovery ``endpoints[].specification/url/formats``; services
``service_code/service_name/metadata/type/keywords/group``; POST fields ``api_key,
service_code, lat, long, description, email``; request fields ``service_request_id, status,
status_notes, service_code, requested_datetime, updated_datetime, lat, long``; errors
``code/description``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, sign_in
from tests.web.seed import OAKHAM, Seeded

SPEC = "http://wiki.open311.org/GeoReport_v2"
# 15 m north of the seeded public bin "Bin 001 Oakham" (OAKHAM + 0.0032° east).
NEAR_BIN = (OAKHAM[0] + 0.0032, OAKHAM[1] + 0.000135)


class GeoReportClient:
    """The client: everything it knows comes from discovery and the documents it reads."""

    def __init__(self, http: TestClient, discovery_url: str) -> None:
        self.http = http
        found = http.get(discovery_url + ".json")
        assert found.status_code == 200, found.text
        document = found.json()
        assert {"changeset", "contact", "endpoints"} <= set(document)
        endpoint = next(e for e in document["endpoints"]
                        if e["specification"] == SPEC and e["type"] == "production")
        assert "application/json" in endpoint["formats"] and "text/xml" in endpoint["formats"]
        self.url = endpoint["url"]

    def services(self, fmt: str = "json") -> list[dict[str, Any]]:
        answer = self.http.get(f"{self.url}/services.{fmt}")
        assert answer.status_code == 200, answer.text
        if fmt == "json":
            return list(answer.json())
        root = ElementTree.fromstring(answer.content)
        assert root.tag == "services"
        return [{child.tag: child.text for child in service} for service in root]

    def post(self, fields: dict[str, Any]) -> Any:
        return self.http.post(f"{self.url}/requests.json", data=fields)

    def request(self, request_id: str, fmt: str = "json") -> dict[str, Any]:
        answer = self.http.get(f"{self.url}/requests/{request_id}.{fmt}")
        assert answer.status_code == 200, answer.text
        if fmt == "json":
            found = answer.json()
            assert isinstance(found, list) and len(found) == 1
            return dict(found[0])
        root = ElementTree.fromstring(answer.content)
        assert root.tag == "service_requests" and len(root) == 1 and root[0].tag == "request"
        return {child.tag: child.text for child in root[0]}

    def requests(self, **query: str) -> list[dict[str, Any]]:
        answer = self.http.get(f"{self.url}/requests.json", params=query)
        assert answer.status_code == 200, answer.text
        return list(answer.json())


def test_a_client_from_the_spec_reports_a_bin_and_follows_it_to_closed(
        client: TestClient, seeded: Seeded, api_key: str) -> None:
    """Discovery, services (JSON and XML), POST with a location, GET by id in both formats,
    and the status going from open to closed with notes once the officer closes it."""
    geo = GeoReportClient(client, "/open311/v2/discovery")
    services = geo.services()
    assert all({"service_code", "service_name", "metadata", "type"} <= set(s) for s in services)
    assert {s["service_code"] for s in geo.services("xml")} == {
        s["service_code"] for s in services}
    bin_service = next(s for s in services
                       if "bin" in s["service_name"].lower() and "overflow" in s["keywords"])
    assert bin_service["metadata"] is False and bin_service["type"] == "realtime"

    posted = geo.post({"api_key": api_key, "service_code": bin_service["service_code"],
                       "lat": NEAR_BIN[1], "long": NEAR_BIN[0],
                       "description": "Bin by the bus stop is overflowing onto the path",
                       "email": "resident@example.org"})
    assert posted.status_code in (200, 201), posted.text
    request_id = posted.json()[0]["service_request_id"]

    opened = geo.request(request_id)
    assert opened["status"] == "open"
    assert opened["service_code"] == bin_service["service_code"]
    assert opened["lat"] == pytest.approx(NEAR_BIN[1]) and opened["long"] == pytest.approx(
        NEAR_BIN[0])
    assert datetime.fromisoformat(opened["requested_datetime"]).tzinfo is not None
    assert "resident@example.org" not in str(opened)
    assert geo.request(request_id, "xml")["status"] == "open"

    sign_in(client)
    page = client.get(f"/reports/{request_id}")
    assert page.status_code == 200 and "resident@example.org" in page.text
    closed_page = client.post(f"/reports/{request_id}", data={
        "status_notes": "Emptied by the Oakham crew", "csrf_token": csrf_of(page.text)},
        follow_redirects=False)
    assert closed_page.status_code == 303, closed_page.text

    closed = geo.request(request_id)
    assert closed["status"] == "closed"
    assert closed["status_notes"] == "Emptied by the Oakham crew"
    assert closed["updated_datetime"] >= closed["requested_datetime"]
    assert geo.request(request_id, "xml")["status"] == "closed"
    assert [r["service_request_id"] for r in geo.requests(status="closed")] == [request_id]
    assert geo.requests(status="open") == []


def test_posting_without_a_valid_api_key_is_refused_with_the_spec_error_document(
        client: TestClient, seeded: Seeded, api_key: str) -> None:
    """No key, a wrong key: 403 with ``[{code, description}]`` (XML ``<errors><error>``)."""
    geo = GeoReportClient(client, "/open311/v2/discovery")
    fields = {"service_code": "overflowing_bin", "lat": NEAR_BIN[1], "long": NEAR_BIN[0]}
    refused = geo.post(fields)
    assert refused.status_code == 403
    assert refused.json()[0]["code"] == 403 and "api_key" in refused.json()[0]["description"]
    wrong = client.post(f"{geo.url}/requests.xml", data={**fields, "api_key": "o311_wrong"})
    assert wrong.status_code == 403
    root = ElementTree.fromstring(wrong.content)
    assert root.tag == "errors" and root[0].find("code").text == "403"  # type: ignore[union-attr]
    assert geo.requests() == []


@pytest.mark.parametrize(("fields", "status", "says"), [
    ({"service_code": "pothole"}, 404, "overflowing_bin"),
    ({"service_code": "overflowing_bin"}, 400, "lat and long"),
    ({"service_code": "overflowing_bin", "lat": "52.67", "long": "west"}, 400, "not a number"),
    ({"service_code": "overflowing_bin", "lat": "152.67", "long": "-0.72"}, 400, "latitude"),
    ({"service_code": "fly_tipping", "lat": "52.67", "long": "-0.72"}, 400, "waste_type"),
    ({"service_code": "overflowing_bin", "address_string": "ZZ9 9ZZ"}, 404, "ZZ9 9ZZ"),
])
def test_bad_requests_say_what_to_fix(client: TestClient, seeded: Seeded, api_key: str,
                                      fields: dict[str, str], status: int, says: str) -> None:
    """A wrong service, a missing or impossible position, a missing required attribute or an
    unknown postcode: a 4xx error document saying what to fix."""
    answer = client.post("/open311/v2/requests.json", data={"api_key": api_key, **fields})
    assert answer.status_code == status, answer.text
    assert says in answer.json()[0]["description"]


def test_service_definition_lists_the_attributes_and_unknown_formats_are_refused(
        client: TestClient) -> None:
    """GET services/{code} gives the attributes with their values; .html is a 404 document."""
    definition = client.get("/open311/v2/services/fly_tipping.json").json()
    assert definition["service_code"] == "fly_tipping"
    attribute = definition["attributes"][0]
    assert attribute["code"] == "waste_type" and attribute["required"] is True
    assert {"key": "garden", "name": "Garden waste"} in attribute["values"]
    xml = ElementTree.fromstring(client.get("/open311/v2/services/fly_tipping.xml").content)
    assert xml.tag == "service_definition"
    assert xml.find("attributes/attribute/values/value/key") is not None
    refused = client.get("/open311/v2/services.html")
    assert refused.status_code == 404 and ".json or .xml" in refused.json()[0]["description"]
