"""Broker accounts mapped to placehub users: `placehub mqtt credentials/service/acl` and a real
Mosquitto enforcing the generated files (creation over MQTT needs credentials)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select
from typer.testing import CliRunner

from placehub.access import service
from placehub.cli import app as cli
from placehub.sta.tables import observations
from tests.sta.filter_data import build_store
from tests.sta.test_mqtt import Broker

pytestmark = pytest.mark.mqtt


def _run(database_url: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--database-url", database_url, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_credentials_and_acl_files(database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An editor's account may publish to exactly its organisation's Datastreams."""
    if shutil.which("mosquitto_passwd") is None:
        pytest.fail("mosquitto_passwd is needed for this test")
    with database.begin() as conn:
        ids = build_store(conn)
        other = service.create_organisation(conn, "elsewhere", "Elsewhere")
        alice = service.create_user(conn, "alice")
        service.grant_role(conn, alice, ids["org"], "editor")
        bob = service.create_user(conn, "bob")
        service.grant_role(conn, bob, other, "editor")
    passwd, acl = tmp_path / "placehub.passwd", tmp_path / "placehub.acl"
    files = ["--password-file", str(passwd), "--acl-file", str(acl)]
    output = _run(database.url, "mqtt", "credentials", "alice", *files)
    token = output.strip().splitlines()[-1].strip()
    assert token.startswith(service.TOKEN_PREFIX)
    _run(database.url, "mqtt", "credentials", "bob", *files)
    _run(database.url, "mqtt", "service", *files)
    assert {line.split(":")[0] for line in passwd.read_text().splitlines()} == {
        "alice", "bob", "placehub"}
    text = acl.read_text()
    alice_part = text.split("user alice")[1].split("user ")[0]
    for key in ("bin_fill", "station_no2", "bed_moisture"):
        assert f"topic write v1.1/Datastreams({ids[key]})/Observations" in alice_part
    assert "Datastreams" not in text.split("user bob")[1]
    _run(database.url, "mqtt", "revoke", "bob", *files)
    assert "bob" not in passwd.read_text() and "user bob" not in acl.read_text()


def test_broker_enforces_generated_acl(settings, database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Through a Mosquitto using the generated files: alice's message creates an Observation,
    an anonymous client's message to the same topic is refused by the broker."""
    with database.begin() as conn:
        ids = build_store(conn)
        alice = service.create_user(conn, "alice")
        service.grant_role(conn, alice, ids["org"], "editor")
    passwd, acl = tmp_path / "placehub.passwd", tmp_path / "placehub.acl"
    files = ["--password-file", str(passwd), "--acl-file", str(acl)]
    token = _run(database.url, "mqtt", "credentials", "alice", *files).strip().splitlines()[-1]
    service_line = _run(database.url, "mqtt", "service", *files).strip().splitlines()[-1]
    password = service_line.split("placehub:", 1)[1].split("@", 1)[0]
    broker = Broker(tmp_path)
    broker.config.write_text(broker.config.read_text() + f"password_file {passwd}\n"
                             f"acl_file {acl}\n")
    broker.start()
    try:
        from placehub.web.app import create_app

        configured = settings.replace(
            mqtt_url=f"mqtt://placehub:{password}@127.0.0.1:{broker.port}")
        with TestClient(create_app(configured, database=database)) as client:
            assert client.app.state.mqtt_bridge.connected.wait(15)  # type: ignore[attr-defined]
            topic = f"v1.1/Datastreams({ids['bin_fill']})/Observations"
            stranger = paho.Client(CallbackAPIVersion.VERSION2, client_id="stranger")
            stranger.connect("127.0.0.1", broker.port)
            stranger.loop_start()
            stranger.publish(topic, json.dumps({"phenomenonTime": "2026-03-02T00:00:00Z",
                                                "result": 666}), qos=1)
            writer = paho.Client(CallbackAPIVersion.VERSION2, client_id="alice")
            writer.username_pw_set("alice", token)
            writer.connect("127.0.0.1", broker.port)
            writer.loop_start()
            writer.publish(topic, json.dumps({"phenomenonTime": "2026-03-02T00:00:00Z",
                                              "result": 55}), qos=1).wait_for_publish(5)
            deadline = time.monotonic() + 10
            results: list[float] = []
            while time.monotonic() < deadline and 55 not in results:
                time.sleep(0.2)
                with database.connect() as conn:
                    results = list(conn.execute(select(observations.c.result_number).where(
                        observations.c.datastream_id == ids["bin_fill"])).scalars())
            for client_ in (stranger, writer):
                client_.loop_stop()
                client_.disconnect()
        assert 55 in results and 666 not in results
        with database.connect() as conn:
            total = conn.execute(select(func.count()).select_from(observations)).scalar()
        assert total == 12  # the 11 of the store and alice's
    finally:
        broker.stop()
