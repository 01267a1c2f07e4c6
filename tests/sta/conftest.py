"""The ``sta`` fixture: SensorThings requests in-process (both databases) or against a server.

Set ``STA_BASE_URL`` (e.g. http://127.0.0.1:8000/sta/v1.1) to run the sensing-core and
create-update-delete tests against a running server instead of the in-process app; give
``STA_TOKEN`` when that server needs a token for writes (or run it with
PLACEHUB_ANONYMOUS_WRITE=true on loopback). The tests only rely on what they create themselves.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from placehub.access import service

STA_BASE_URL = os.environ.get("STA_BASE_URL", "").rstrip("/")


class StaClient:
    """HTTP calls relative to the SensorThings service root."""

    def __init__(self, http: Any, root: str, token: str | None = None) -> None:
        self.http = http
        self.root = root
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def url(self, path: str) -> str:
        if path.startswith("http://") or path.startswith("https://"):
            return path
        return self.root + ("/" + path.lstrip("/") if path else "")

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.http.request(method, self.url(path), headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json=body, **kwargs)

    def patch(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, json=body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def create(self, path: str, body: Any) -> dict[str, Any]:
        """POST and return the created entity, asserting 201 and a Location header."""
        response = self.post(path, body)
        assert response.status_code == 201, response.text
        assert response.headers["location"] == response.json()["@iot.selfLink"]
        return response.json()  # type: ignore[no-any-return]


if STA_BASE_URL:

    @pytest.fixture
    def sta() -> Iterator[StaClient]:
        """A client for the running server at STA_BASE_URL."""
        with httpx.Client(timeout=30) as http:
            yield StaClient(http, STA_BASE_URL, os.environ.get("STA_TOKEN"))

else:

    @pytest.fixture
    def sta(client, database) -> StaClient:  # type: ignore[no-untyped-def]
        """A client for the in-process app, writing as an editor of organisation 'rutland'."""
        with database.begin() as conn:
            org = service.create_organisation(conn, "rutland", "Rutland County Council")
            user = service.create_user(conn, "sta-editor")
            service.grant_role(conn, user, org, "editor")
            token = service.create_token(conn, user, "tests")
        return StaClient(client, "/sta/v1.1", token)


def oven(name: str = "oven", observations: int = 0) -> dict[str, Any]:
    """A Thing with a Location and one Datastream (Sensor, ObservedProperty) for deep insert."""
    return {
        "name": name,
        "description": "A convection oven",
        "properties": {"colour": "silver"},
        "Locations": [{
            "name": "CCIT",
            "description": "Calgary Centre for Innovative Technologies",
            "encodingType": "application/geo+json",
            "location": {"type": "Point", "coordinates": [-114.06, 51.05]},
        }],
        "Datastreams": [{
            "name": f"{name} temperature",
            "description": "Internal temperature",
            "unitOfMeasurement": {"name": "degree Celsius", "symbol": "degC",
                                  "definition": "http://unitsofmeasure.org/ucum.html#para-30"},
            "observationType":
                "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            "Sensor": {"name": "DS18B20", "description": "Thermometer",
                       "encodingType": "application/pdf",
                       "metadata": "http://datasheets.maxim-ic.com/en/ds/DS18B20.pdf"},
            "ObservedProperty": {"name": "Temperature", "description": "Air temperature",
                                 "definition": "http://dbpedia.org/page/Temperature"},
            "Observations": [
                {"phenomenonTime": f"2024-05-01T{hour:02d}:00:00Z", "result": 20 + hour}
                for hour in range(observations)
            ],
        }],
    }
