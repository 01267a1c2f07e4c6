"""Error answers: GOV.UK error pages for browsers, JSON for API clients (by Accept, then path)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(("path", "accept", "html"), [
    ("/no-such-page", BROWSER, True),
    ("/no-such-page", "*/*", True),  # no preference: a page address gets a page
    ("/no-such-page", "application/json", False),
    ("/api/no-such-thing", BROWSER, True),  # a browser opening an API address
    ("/api/no-such-thing", "*/*", False),
    ("/api/no-such-thing", "application/json, text/html;q=0.5", False),
])
def test_unknown_address_is_a_govuk_page_or_json_by_accept(client: TestClient, path: str,
                                                          accept: str, html: bool) -> None:
    """An unknown address answers 404 as a GOV.UK page to browsers and as JSON to API
    clients, never a raw page of JSON in a browser."""
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 404
    if html:
        assert response.headers["content-type"].startswith("text/html")
        assert '<html lang="en"' in response.text and "<title>Page not found" in response.text
        assert "If you typed the web address, check it is correct." in response.text
        assert "govuk-phase-banner" in response.text
    else:
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()


def test_a_failure_is_a_govuk_500_page_for_browsers_and_json_for_clients(
        app: FastAPI) -> None:
    """An unexpected error answers 500 with the GOV.UK "problem with the service" page in a
    browser and a JSON error otherwise; neither shows the exception."""

    @app.get("/broken-page", include_in_schema=False)
    def broken() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        page = client.get("/broken-page", headers={"Accept": BROWSER})
        api = client.get("/broken-page", headers={"Accept": "application/json"})
    assert page.status_code == 500 and "Sorry, there is a problem with the service" in page.text
    assert api.status_code == 500 and api.json()["error"]["code"] == 500
    assert "secret internals" not in page.text + api.text


def test_service_pages_and_api_reference_render_without_a_cdn(client: TestClient) -> None:
    """The accessibility, cookies, privacy and feedback pages and the API reference render;
    the API reference loads Swagger UI from placehub's own files."""
    for path, heading in [("/accessibility", "Accessibility statement"), ("/cookies", "Cookies"),
                          ("/privacy", "Privacy notice"), ("/feedback", "Give feedback"),
                          ("/api/docs", "API reference")]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert heading in response.text and '<html lang="en"' in response.text, path
    docs = client.get("/api/docs").text
    assert 'src="/static/build/swagger-ui-bundle.js' in docs
    assert "cdn" not in docs.lower() and "https://unpkg" not in docs


def test_sensorthings_root_is_a_page_for_browsers_and_json_otherwise(client: TestClient
                                                                    ) -> None:
    """/sta/v1.1 answers a browser with a titled English page listing the collections and any
    other client with the SensorThings JSON service root."""
    page = client.get("/sta/v1.1", headers={"Accept": BROWSER})
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="en"' in page.text and "<title>OGC SensorThings API" in page.text
    assert "/sta/v1.1/Things" in page.text
    root = client.get("/sta/v1.1").json()
    assert {"Things", "Datastreams"} <= {entry["name"] for entry in root["value"]}


def test_rounds_form_shows_an_empty_date_on_the_form(officer_client: TestClient) -> None:
    """Planning with no date re-shows the form (400) with the error summary linking to the
    date field and the message beside it, the chosen service kept."""
    from tests.web.conftest import csrf_of

    form = officer_client.get("/rounds").text
    response = officer_client.post("/rounds", data={"service": "watering", "day": "",
                                                    "csrf_token": csrf_of(form)})
    assert response.status_code == 400
    assert "<title>Error: Rounds" in response.text
    assert 'class="govuk-error-summary"' in response.text and 'href="#day"' in response.text
    assert 'id="day-error"' in response.text and "Enter the day to plan" in response.text
    assert 'id="service-watering" name="service" type="radio" value="watering" checked' in (
        response.text)
    bad = officer_client.post("/rounds", data={"service": "waste", "day": "31/02/2026",
                                               "csrf_token": csrf_of(form)})
    assert bad.status_code == 400 and "Enter the day as a real date" in bad.text
