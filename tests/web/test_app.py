"""Bad input anywhere is a 4xx with a message, never a 500, on both databases; a database
that is down is a 503 with Retry-After."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from placehub.access import service
from placehub.config import load_settings
from placehub.db import Database
from placehub.web.app import create_app

THING = {
    "name": "Bin 001", "description": "litter bin",
    "Locations": [{"name": "Oakham", "description": "kerb", "encodingType": "application/geo+json",
                   "location": {"type": "Point", "coordinates": [-0.7275, 52.6705]}}],
    "Datastreams": [{
        "name": "fill", "description": "fill level",
        "unitOfMeasurement": {"name": "percent", "symbol": "%", "definition": "ucum:%"},
        "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        "Sensor": {"name": "ultrasonic", "description": "d", "encodingType": "text/html",
                   "metadata": "https://example.org"},
        "ObservedProperty": {"name": "fill", "definition": "https://example.org/fill",
                             "description": "d"}}],
}
HUGE = "9" * 320
JSON = {"Content-Type": "application/json"}
# (method, path, request keyword arguments, statuses allowed, words the message must hold)
BAD_INPUT: list[tuple[str, str, dict[str, Any], set[int], str]] = [
    ("POST", "/sta/v1.1/Things", {"content": "[" * 10_000 + "]" * 10_000, "headers": JSON},
     {400}, "nested"),
    ("POST", "/api/alerts/rules", {"content": "[" * 10_000 + "]" * 10_000, "headers": JSON},
     {400}, "nested"),
    ("POST", "/api/devices", {"content": '{"a": ' * 5000 + "1" + "}" * 5000, "headers": JSON},
     {400}, "nested"),
    ("POST", "/sta/v1.1/CreateObservations", {"content": "[" * 3000 + "]" * 3000,
                                              "headers": JSON}, {400}, "nested"),
    ("GET", f"/sta/v1.1/Things?$filter=id eq {HUGE}", {}, {400}, "out of range"),
    ("GET", "/sta/v1.1/Things?$filter=properties", {}, {400}, "compare one of its members"),
    ("GET", "/sta/v1.1/Things?$filter=properties ge id", {}, {400}, "compare one of its"),
    ("GET", "/sta/v1.1/Things?$orderby=properties/%00", {}, {200, 400}, ""),
    ("GET", "/sta/v1.1/Things?$filter=name eq 'a%00b'", {}, {200, 400}, ""),
    ("POST", "/sta/v1.1/Things", {"content": '{"name": "a\\ud800b", "description": "x"}',
                                  "headers": JSON}, {400}, "surrogate"),
    ("POST", "/sta/v1.1/Things", {"json": {"name": "a\x00b", "description": "x"}}, {400}, "NUL"),
    ("POST", "/sta/v1.1/Things", {"content": '{"name": "t", "description": "x", '
                                  '"properties": {"v": 1e999}}', "headers": JSON},
     {400}, "finite number"),
    ("POST", "/sta/v1.1/Observations", {"json": {
        "result": 1, "phenomenonTime": "0001-01-01T00:00:00+14:00",
        "Datastream": {"@iot.id": 1}}}, {400}, "years 1-9999"),
    ("GET", "/sta/v1.1/Observations?$filter=phenomenonTime gt 0001-01-01T00:00:00%2B14:00", {},
     {400}, "years 1-9999"),
    ("POST", "/sta/v1.1/Observations", {"content": '{"result": 1e999, "Datastream": '
                                        '{"@iot.id": 1}}', "headers": JSON}, {400}, "finite"),
    ("GET", "/sta/v1.1/Things(99999999999)", {}, {404}, "does not exist"),
    ("GET", "/sta/v1.1/Things(1)/Datastreams(99999999999)", {}, {404}, "does not exist"),
    ("GET", "/assets/99999999999999999999", {}, {400, 404}, ""),
    ("GET", "/rounds/99999999999999999999", {}, {400, 404}, ""),
    ("GET", "/api/alerts/99999999999999999999", {}, {400, 404}, "out of range"),
    ("POST", "/api/alerts/99999999999999999999/acknowledge", {"json": {}}, {400, 404}, ""),
    ("GET", "/api/rounds/plans/99999999999999999999", {}, {400, 404}, "out of range"),
    ("GET", "/api/rounds/plans/99999999999", {}, {400, 404}, ""),
    ("GET", "/api/assets/99999999999999999999", {}, {400, 404}, ""),
    ("GET", "/api/alerts?thing_id=99999999999999999999", {}, {400}, "out of range"),
    ("GET", "/api/alerts/rules?thing_id=99999999999", {}, {200, 400, 404}, ""),
    ("POST", "/api/tokens", {"json": {"name": "x" * 10_000}}, {400}, "at most 200"),
    ("POST", "/api/tokens", {"json": {"name": "a\x00b"}}, {400}, "NUL"),
    ("POST", "/sta/v1.1/Things", {"json": {"name": "x" * 600, "description": "x"}}, {400},
     "at most 500"),
]


@pytest.fixture
def editor(client: TestClient, database: Database) -> TestClient:
    """The client with an admin token of a council that has one Thing with a Datastream."""
    with database.begin() as conn:
        org = service.create_organisation(conn, "rutland", "Rutland County Council")
        user = service.create_user(conn, "ann", password="correct horse")
        service.grant_role(conn, user, org, "admin")
        client.headers["Authorization"] = f"Bearer {service.create_token(conn, user, 'tests')}"
    assert client.post("/sta/v1.1/Things", json=THING).status_code == 201
    return client


@pytest.mark.parametrize(("method", "path", "request_options", "allowed", "words"), BAD_INPUT,
                         ids=[f"{m} {p[:60]}" for m, p, *_ in BAD_INPUT])
def test_bad_input_is_a_4xx_with_a_message(editor: TestClient, method: str, path: str,
                                           request_options: dict[str, Any], allowed: set[int],
                                           words: str) -> None:
    """Each input that once answered 500 answers 400/404 saying what is wrong, on both
    databases."""
    response = editor.request(method, path, **request_options)
    assert response.status_code in allowed, response.text[:300]
    if words:
        assert words in response.json()["error"]["message"]


def test_nul_username_at_sign_in_is_no_500(editor: TestClient) -> None:
    """A NUL in the sign-in username is a wrong username, not a database error."""
    import re

    page = editor.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = editor.post("/login", data={"username": "a\x00b", "password": "whatever-pass",
                                           "csrf_token": token})
    assert response.status_code in {400, 401}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_database_down_is_a_503_logged_once(backend: str, tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    """With the database unreachable, API reads and webhook credential checks answer 503 with
    Retry-After, and 20 requests log one line, not 20 tracebacks."""
    url = (f"sqlite:///{tmp_path}" if backend == "sqlite"  # a folder: cannot be opened
           else "postgresql+psycopg://placehub@127.0.0.1:9/placehub?connect_timeout=1")
    settings = load_settings(environ={}, database_url=url, secret_key="x")
    app = create_app(settings, database=Database(url))
    client = TestClient(app, raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR):
        responses = [client.get("/api/alerts") for _ in range(10)]
        responses += [client.post("/ingest/ttn", json={"end_device_ids": {}},
                                  auth=("tts", "secret")) for _ in range(10)]
    assert {r.status_code for r in responses} == {503}, responses[0].text
    assert all(r.headers["Retry-After"] == "5" for r in responses)
    assert "try again" in responses[0].json()["error"]["message"]
    lines = [r for r in caplog.records if r.name == "placehub.db"]
    assert len(lines) == 1 and "database unavailable" in lines[0].getMessage()
    # Besides it at most the journal processor's own retry notice: no traceback per request.
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) <= 2
