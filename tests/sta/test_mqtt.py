"""MQTT extension (OGC 18-088 req/receive-updates-via-mqtt) against a real Mosquitto broker of
the test's own (own port, own config), stopped and restarted mid-stream to show that
notifications resume; an open broker is reported and refuses creations. Creation through a
broker with placehub's accounts and ACL is in test_mqtt_credentials."""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from placehub.access import service
from placehub.config import load_settings
from placehub.sta.mqtt import select_topics
from placehub.sta.tables import observations
from tests.conftest import missing_service
from tests.sta.conftest import oven

pytestmark = pytest.mark.mqtt


class Broker:
    """A Mosquitto process on a free local port, which the test can stop and start again."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            missing_service("mosquitto (the MQTT broker binary)")
        self.binary = binary
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.config = folder / "mosquitto.conf"
        # Started as root, Mosquitto would switch to its own user and lose access to the
        # test's private folder (password and ACL files).
        run_as = "user root\n" if os.geteuid() == 0 else ""
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                               f"persistence false\n{run_as}")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen([self.binary, "-c", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A running broker of this test's own."""
    own = Broker(tmp_path)
    own.start()
    yield own
    own.stop()


class Subscriber:
    """An MQTT client that (re)subscribes on every connect and collects messages."""

    def __init__(self, broker: Broker, topics: list[str]) -> None:
        self.messages: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.seen: list[tuple[str, Any]] = []  # received, not yet asked for
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="test-subscriber")
        self.client.reconnect_delay_set(1, 2)
        self.client.on_connect = lambda c, *_: c.subscribe([(t, 0) for t in topics])
        self.client.on_message = lambda _c, _u, m: self.messages.put(
            (m.topic, json.loads(m.payload)))
        self.client.connect_async("127.0.0.1", broker.port)
        self.client.loop_start()

    def wait_for(self, topic: str, timeout: float = 15, where: Any = None) -> Any:
        """The next message on ``topic`` (for which ``where(payload)`` holds, if given)."""
        for index, (got_topic, payload) in enumerate(self.seen):
            if got_topic == topic and (where is None or where(payload)):
                del self.seen[index]
                return payload
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                got_topic, payload = self.messages.get(timeout=0.2)
            except queue.Empty:
                continue
            if got_topic == topic and (where is None or where(payload)):
                return payload
            self.seen.append((got_topic, payload))
        raise AssertionError(f"no message on {topic}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _app_client(settings: Any, database: Any, broker: Broker) -> TestClient:
    from placehub.web.app import create_app

    configured = settings.replace(mqtt_url=broker.url)
    return TestClient(create_app(configured, database=database))


def _writer_token(database: Any, visibility_org: str = "rutland") -> str:
    with database.begin() as conn:
        org = service.create_organisation(conn, visibility_org, "Rutland County Council")
        user = service.create_user(conn, f"{visibility_org}-editor")
        service.grant_role(conn, user, org, "editor")
        return service.create_token(conn, user, "tests")


def _public_datastream(client: TestClient, headers: dict[str, str]) -> tuple[int, int]:
    body = oven("public bin")
    body["@placehub.visibility"] = "public"
    thing = client.post("/sta/v1.1/Things", json=body, headers=headers)
    assert thing.status_code == 201, thing.text
    thing_id = thing.json()["@iot.id"]
    streams = client.get(f"/sta/v1.1/Things({thing_id})/Datastreams", headers=headers).json()
    return int(thing_id), int(streams["value"][0]["@iot.id"])


def _wait_connected(client: TestClient) -> None:
    assert client.app.state.mqtt_bridge.connected.wait(15), "bridge did not connect"  # type: ignore[attr-defined]


def test_notifications_resume_after_broker_restart(settings, database, broker) -> None:  # type: ignore[no-untyped-def]
    """Observations are published on collection, entity, property and $select topics, and keep
    coming after the broker is stopped and started again."""
    token = _writer_token(database)
    headers = {"Authorization": f"Bearer {token}"}
    with _app_client(settings, database, broker) as client:
        _wait_connected(client)
        thing, stream = _public_datastream(client, headers)
        topics = [f"v1.1/Datastreams({stream})/Observations", "v1.1/Observations?$select=result",
                  f"v1.1/Things({thing})/name", f"v1.1/Datastreams({stream})/phenomenonTime"]
        subscriber = Subscriber(broker, topics)
        try:
            time.sleep(0.5)
            client.patch(f"/sta/v1.1/Things({thing})", json={"name": "renamed bin"},
                         headers=headers)
            assert subscriber.wait_for(f"v1.1/Things({thing})/name",
                                       where=lambda p: p["name"] != "public bin") == {
                "name": "renamed bin"}
            first = {"phenomenonTime": "2024-05-01T10:00:00Z", "result": 41}
            assert client.post(f"/sta/v1.1/Datastreams({stream})/Observations", json=first,
                               headers=headers).status_code == 201
            full = subscriber.wait_for(f"v1.1/Datastreams({stream})/Observations")
            assert full["result"] == 41 and full["@iot.selfLink"].endswith(
                f"Observations({full['@iot.id']})")
            assert subscriber.wait_for("v1.1/Observations?$select=result") == {"result": 41}
            assert subscriber.wait_for(f"v1.1/Datastreams({stream})/phenomenonTime") == {
                "phenomenonTime": "2024-05-01T10:00:00Z/2024-05-01T10:00:00Z"}

            broker.stop()
            time.sleep(1)
            broker.start()
            _wait_connected(client)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not subscriber.client.is_connected():
                time.sleep(0.1)
            time.sleep(0.5)
            again = {"phenomenonTime": "2024-05-01T11:00:00Z", "result": 42}
            assert client.post(f"/sta/v1.1/Datastreams({stream})/Observations", json=again,
                               headers=headers).status_code == 201
            resumed = subscriber.wait_for(f"v1.1/Datastreams({stream})/Observations",
                                          where=lambda p: p["result"] != 41)
            assert resumed["result"] == 42
        finally:
            subscriber.close()


def test_private_data_is_not_published(settings, database, broker) -> None:  # type: ignore[no-untyped-def]
    """Observations of an organisation-only Thing never appear on the open topics."""
    token = _writer_token(database)
    headers = {"Authorization": f"Bearer {token}"}
    with _app_client(settings, database, broker) as client:
        _wait_connected(client)
        thing = client.post("/sta/v1.1/Things", json=oven("private bin"), headers=headers)
        stream = client.get(thing.json()["@iot.selfLink"] + "/Datastreams",
                            headers=headers).json()["value"][0]["@iot.id"]
        _, public_stream = _public_datastream(client, headers)
        subscriber = Subscriber(broker, ["v1.1/Observations"])
        try:
            time.sleep(0.5)
            client.post(f"/sta/v1.1/Datastreams({stream})/Observations", headers=headers,
                        json={"phenomenonTime": "2024-05-01T10:00:00Z", "result": 1})
            client.post(f"/sta/v1.1/Datastreams({public_stream})/Observations", headers=headers,
                        json={"phenomenonTime": "2024-05-01T10:00:00Z", "result": 2})
            assert subscriber.wait_for("v1.1/Observations")["result"] == 2
            time.sleep(0.5)
            leftovers = list(subscriber.seen)
            while not subscriber.messages.empty():
                leftovers.append(subscriber.messages.get())
            assert all(payload.get("result") != 1 for _topic, payload in leftovers)
        finally:
            subscriber.close()


def test_open_broker_is_reported_and_refuses_creations(settings, database, broker,  # type: ignore[no-untyped-def]
                                                       caplog) -> None:
    """On a broker that lets anonymous clients publish (Mosquitto's allow_anonymous without an
    ACL), placehub warns at start naming both topic spaces, and refuses creations even from
    the account of a live token, since anyone could have sent them."""
    token = _writer_token(database)
    headers = {"Authorization": f"Bearer {token}"}
    with caplog.at_level("WARNING", logger="placehub.sta.mqtt"), \
            _app_client(settings, database, broker) as client:
        _wait_connected(client)
        bridge = client.app.state.mqtt_bridge  # type: ignore[attr-defined]
        assert bridge.probed.wait(20)
        assert len(bridge.open_to_anonymous) == 2
        _, stream = _public_datastream(client, headers)
        topic = f"placehub/create/{token[:10]}/v1.1/Datastreams({stream})/Observations"
        assert bridge.create_from_message(topic, json.dumps({"result": 3}).encode()) is None
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("lets anonymous clients publish to the notification topics (v1.1/...) and "
               "creation topics" in w for w in warnings), warnings
    with database.connect() as conn:
        assert conn.execute(select(func.count()).select_from(observations)).scalar() == 0


def test_select_topics_belong_to_the_entity_types_that_have_them() -> None:
    """An unprefixed $select set goes to every entity type having all its properties ('result'
    to Observations only, 'name' to six types), a prefixed one to its entity set; a set no
    type can answer is refused with its name."""
    topics = select_topics("result;phenomenonTime,result;Datastreams:id,name;name")
    by_text: dict[str, set[str]] = {}
    for topic in topics:
        by_text.setdefault(topic.text, set()).add(topic.entity.name)
    assert by_text["result"] == {"Observation"}
    assert by_text["phenomenonTime,result"] == {"Observation"}
    assert by_text["id,name"] == {"Datastream"}
    assert by_text["name"] == {"Thing", "Location", "Datastream", "Sensor", "ObservedProperty",
                               "FeatureOfInterest"}
    for bad, message in [("colour", "no entity type has all of 'colour'"),
                         ("Bins:name", "not an entity set"),
                         ("Datastreams:result", "Datastream has no property 'result'")]:
        with pytest.raises(ValueError, match=message):
            select_topics(bad)


def test_select_topics_publish_what_http_select_gives(settings, database, broker) -> None:  # type: ignore[no-untyped-def]
    """18-088 14.2.4: RESOURCE_PATH/COLLECTION?$select=... carries the selected properties of
    each new entity of that collection, as GET ...?$select= gives them; an Observation set
    is never published on Datastream topics (no more {"result": null})."""
    token = _writer_token(database)
    headers = {"Authorization": f"Bearer {token}"}
    configured = settings.replace(
        sta_mqtt_select_topics="result;phenomenonTime,result;Datastreams:id,name,phenomenonTime")
    with _app_client(configured, database, broker) as client:
        _wait_connected(client)
        thing, stream = _public_datastream(client, headers)
        wanted = [f"v1.1/Datastreams({stream})/Observations?$select=phenomenonTime,result",
                  "v1.1/Datastreams?$select=id,name,phenomenonTime"]
        unwanted = ["v1.1/Datastreams?$select=result", f"v1.1/Things({thing})/Datastreams"
                    "?$select=result", "v1.1/Datastreams?$select=phenomenonTime,result"]
        subscriber = Subscriber(broker, [*wanted, *unwanted])
        try:
            time.sleep(0.5)
            reading = {"phenomenonTime": "2024-05-01T10:00:00Z", "result": 41}
            assert client.post(f"/sta/v1.1/Datastreams({stream})/Observations", json=reading,
                               headers=headers).status_code == 201
            assert subscriber.wait_for(wanted[0]) == reading
            over_http = client.get(f"/sta/v1.1/Datastreams({stream})"
                                   "?$select=id,name,phenomenonTime").json()
            assert subscriber.wait_for(wanted[1]) == over_http == {
                "@iot.id": stream, "name": "public bin temperature",
                "phenomenonTime": "2024-05-01T10:00:00Z/2024-05-01T10:00:00Z"}
            time.sleep(1)
            while not subscriber.messages.empty():
                subscriber.seen.append(subscriber.messages.get())
            assert [topic for topic, _ in subscriber.seen if topic in unwanted] == []
        finally:
            subscriber.close()


def test_service_root_advertises_mqtt(settings, database, broker) -> None:  # type: ignore[no-untyped-def]
    """The service root lists the MQTT conformance classes with the endpoint, no credentials."""
    configured = settings.replace(mqtt_url=f"mqtt://placehub:secret@127.0.0.1:{broker.port}")
    from placehub.web.app import create_app

    with TestClient(create_app(configured, database=database)) as client:
        root = client.get("/sta/v1.1").json()["serverSettings"]
    key = "http://www.opengis.net/spec/iot_sensing/1.1/req/receive-updates-via-mqtt/" \
          "receive-updates"
    assert key in root["conformance"]
    assert root[key]["endpoints"] == [f"mqtt://127.0.0.1:{broker.port}"]
    # Creation uses placehub's own topics (apart from notifications), not the spec's.
    assert not any("create-observations-via-mqtt" in c for c in root["conformance"])
    assert "http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array" in root[
        "conformance"]


def test_settings_have_mqtt_public_url() -> None:
    """The advertised endpoint can be set apart from the connection URL."""
    assert load_settings(environ={"PLACEHUB_MQTT_PUBLIC_URL": "mqtts://hub:8883"}
                         ).mqtt_public_url == "mqtts://hub:8883"
