"""Interoperability: the frost-sta-client package (the most used Python SensorThings client)
creates, reads, updates and deletes entities on a real placehub server.

The app runs under uvicorn on a free localhost port in a background thread, on SQLite and
PostgreSQL; the client authenticates as its documentation says, with
``AuthHandler(username, password)`` (HTTP Basic), a placehub API token being the password.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import frost_sta_client as fsc
import geojson
import pytest
import uvicorn

from placehub.access import service
from placehub.db import Database
from placehub.web.app import create_app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(settings: Any, database: Database) -> Iterator[tuple[str, str]]:
    """A placehub server on a free port, and a token of an editor of 'rutland'."""
    with database.begin() as conn:
        org = service.create_organisation(conn, "rutland", "Rutland County Council")
        user = service.create_user(conn, "frost")
        service.grant_role(conn, user, org, "editor")
        token = service.create_token(conn, user, "frost-sta-client")
    port = _free_port()
    app = create_app(settings.replace(port=port), database=database)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off")
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uvicorn_server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/sta/v1.1", token
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=10)


def test_frost_client_creates_and_reads_back(server: tuple[str, str]) -> None:
    """frost-sta-client creates a Thing with a Location, a Sensor, an ObservedProperty, a
    Datastream and Observations (linked by @iot.id with extra members), reads them back with
    $expand, patches and deletes."""
    url, token = server
    sta = fsc.SensorThingsService(url, auth_handler=fsc.AuthHandler(username="frost",
                                                                    password=token))
    location = fsc.Location(name="Oakham Market Place", description="Litter bin site",
                            encoding_type="application/geo+json",
                            location=geojson.Point((-0.7264, 52.6702)))
    # A user's own "organisation" member is data like any other and comes back unchanged.
    properties = {"asset_type": "litter_bin", "organisation": "Met Office"}
    thing = fsc.Thing(name="Bin OAK-001", description="Litter bin",
                      properties=properties, locations=[location])
    sta.create(thing)
    assert isinstance(thing.id, int)
    sensor = fsc.Sensor(name="LDDS75", description="Ultrasonic distance sensor",
                        encoding_type="application/pdf",
                        metadata="https://www.dragino.com/downloads/LDDS75.pdf")
    sta.create(sensor)
    observed = fsc.ObservedProperty(name="fill_level", description="How full the bin is",
                                    definition="https://placehub.example/def/fill_level")
    sta.create(observed)
    unit = fsc.UnitOfMeasurement(name="percent", symbol="%",
                                 definition="http://unitsofmeasure.org/ucum.html#para-29")
    stream = fsc.Datastream(
        name="Bin OAK-001 fill level", description="Fill level",
        observation_type="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        unit_of_measurement=unit, thing=thing, sensor=sensor, observed_property=observed)
    sta.create(stream)
    for hour, value in enumerate((12.5, 30.0, 47.5)):
        sta.create(fsc.Observation(result=value, phenomenon_time=f"2024-06-01T{hour:02d}:00:00Z",
                                   datastream=stream))

    found = sta.things().find(thing.id)
    assert found.name == "Bin OAK-001"
    assert found.properties == properties
    things = sta.things().query().expand(
        "Locations,Datastreams($expand=Sensor,ObservedProperty,Observations($orderby="
        "phenomenonTime))").list()
    bins = [t for t in things.entities if t.id == thing.id]
    assert len(bins) == 1
    loaded = bins[0]
    assert loaded.locations.entities[0].name == "Oakham Market Place"
    loaded_stream = loaded.datastreams.entities[0]
    assert loaded_stream.sensor.name == "LDDS75"
    assert loaded_stream.observed_property.name == "fill_level"
    assert [o.result for o in loaded_stream.observations.entities] == [12.5, 30.0, 47.5]
    observations = sta.datastreams().find(stream.id).get_observations().query().list()
    assert len(observations.entities) == 3
    feature = sta.observations().find(observations.entities[0].id)
    assert feature.result in {12.5, 30.0, 47.5}

    sta.patch(found, [{"op": "replace", "path": "/description", "value": "Bin, emptied weekly"}])
    assert sta.things().find(thing.id).description == "Bin, emptied weekly"
    renamed = sta.things().find(thing.id)
    renamed.name = "Bin OAK-001 (Market Place)"
    sta.update(renamed)
    assert sta.things().find(thing.id).name == "Bin OAK-001 (Market Place)"
    sta.delete(sta.things().find(thing.id))
    with pytest.raises(Exception, match="404|not found|Not Found"):
        sta.things().find(thing.id)


def test_frost_client_without_a_valid_token_is_refused(server: tuple[str, str]) -> None:
    """AuthHandler with a password that is not an API token gets placehub's 401 (with its
    challenge) and nothing is created; reading public data needs no credentials."""
    url, token = server
    wrong = fsc.SensorThingsService(url, auth_handler=fsc.AuthHandler(username="frost",
                                                                      password="secret"))
    with pytest.raises(Exception, match="401"):
        wrong.create(fsc.Thing(name="Intruder", description="should not exist"))
    anonymous = fsc.SensorThingsService(url)
    assert [t.name for t in anonymous.things().query().list().entities] == []
