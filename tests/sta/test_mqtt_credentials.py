"""Broker accounts as API tokens: `placehub mqtt credentials/service/acl/revoke` and a real
Mosquitto of the test's own enforcing the generated files. Creations are attributed to the live
token an account stands for; anonymous subscribers get public notifications only."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select, update
from typer.testing import CliRunner

from placehub.access import service
from placehub.cli import app as cli
from placehub.sta.mqtt_credentials import acl_text
from placehub.sta.tables import observations, things
from tests.sta.filter_data import build_store
from tests.sta.test_mqtt import Broker

pytestmark = pytest.mark.mqtt


def _run(database_url: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(cli, ["--database-url", database_url, *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def _token_of(output: str) -> str:
    return next(line.strip() for line in output.splitlines()
                if line.strip().startswith(service.TOKEN_PREFIX) and len(line.strip()) > 20)


def _accounts(passwd: Path) -> set[str]:
    return {line.split(":")[0] for line in passwd.read_text().splitlines() if line}


def test_credentials_revoke_and_acl_files(database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Each account is one token (named by its prefix); `mqtt revoke` revokes the token and
    removes the account; `tokens revoke` removes it too when mqtt_password_file is set. The
    ACL gives anonymous clients read on v1.1/# only and each account its own creation topics."""
    if shutil.which("mosquitto_passwd") is None:
        pytest.fail("mosquitto_passwd is needed for this test")
    with database.begin() as conn:
        ids = build_store(conn)
        alice = service.create_user(conn, "alice")
        service.grant_role(conn, alice, ids["org"], "editor")
    passwd, acl = tmp_path / "placehub.passwd", tmp_path / "placehub.acl"
    files = ["--password-file", str(passwd), "--acl-file", str(acl)]
    first = _token_of(_run(database.url, "mqtt", "credentials", "alice", *files))
    second = _token_of(_run(database.url, "mqtt", "credentials", "alice", *files))
    _run(database.url, "mqtt", "service", *files)
    assert _accounts(passwd) == {first[:10], second[:10], "placehub"}
    assert acl.read_text() == acl_text()
    anonymous_part = acl.read_text().split("pattern")[0]
    assert [line for line in anonymous_part.splitlines() if line.startswith("topic")] == [
        "topic read v1.1/#"]
    assert "pattern write placehub/create/%u/#" in acl.read_text()

    _run(database.url, "mqtt", "revoke", first[:10], "--password-file", str(passwd))
    assert _accounts(passwd) == {second[:10], "placehub"}
    with database.connect() as conn, pytest.raises(service.Unauthorized):
        service.principal_for_token_prefix(conn, first[:10])
    _run(database.url, "tokens", "revoke", second[:10],
         env={"PLACEHUB_MQTT_PASSWORD_FILE": str(passwd)})
    assert _accounts(passwd) == {"placehub"}


class Client:
    """An MQTT v5 client (anonymous unless given an account) that collects what it receives and
    the reason codes of its QoS 1 publishes."""

    def __init__(self, port: int, name: str, account: tuple[str, str] | None = None,
                 topics: tuple[str, ...] = ()) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.refused = False
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=name,
                                  protocol=paho.MQTTv5)
        if account:
            self.client.username_pw_set(*account)
        self.client.on_message = lambda _c, _u, m: self.messages.put((m.topic, m.payload))

        def connected(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
            self.refused = bool(getattr(reason, "is_failure", False))

        self.client.on_connect = connected
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if topics:
            self.client.subscribe([(topic, 1) for topic in topics])
        time.sleep(0.3)

    def publish(self, topic: str, value: dict[str, Any]) -> None:
        info = self.client.publish(topic, json.dumps(value), qos=1)
        info.wait_for_publish(5)

    def received(self) -> list[tuple[str, bytes]]:
        got = []
        while not self.messages.empty():
            got.append(self.messages.get())
        return got

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _results(database: Any, stream: int) -> list[float]:
    with database.connect() as conn:
        return [float(v) for v in conn.execute(select(observations.c.result_number).where(
            observations.c.datastream_id == stream)).scalars()]


def _wait_for(database: Any, stream: int, value: float, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value in _results(database, stream):
            return True
        time.sleep(0.2)
    return False


def test_broker_with_generated_files(settings, database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Through Mosquitto with the generated files: the probe finds the broker closed; alice's
    account creates an Observation in her organisation's restricted Datastream, and no
    anonymous subscriber receives it; bob's account writes as bob (refused there); an anonymous client cannot publish creations or
    notifications, alice cannot publish as another account nor into another organisation;
    once her token is revoked her still-open connection creates nothing, and after the
    broker reloads the account cannot connect."""
    with database.begin() as conn:
        ids = build_store(conn)
        conn.execute(update(things).where(things.c.id == ids["bed"]).values(
            visibility="restricted"))
        other = service.create_organisation(conn, "elsewhere", "Elsewhere")
        alice = service.create_user(conn, "alice")
        service.grant_role(conn, alice, ids["org"], "editor")
        bob = service.create_user(conn, "bob")
        service.grant_role(conn, bob, other, "editor")
    passwd, acl = tmp_path / "placehub.passwd", tmp_path / "placehub.acl"
    files = ["--password-file", str(passwd), "--acl-file", str(acl)]
    token = _token_of(_run(database.url, "mqtt", "credentials", "alice", *files))
    bob_token = _token_of(_run(database.url, "mqtt", "credentials", "bob", *files))
    service_line = _run(database.url, "mqtt", "service", *files).strip().splitlines()[-1]
    password = service_line.split("placehub:", 1)[1].split("@", 1)[0]
    broker = Broker(tmp_path)
    broker.config.write_text(broker.config.read_text() + f"password_file {passwd}\n"
                             f"acl_file {acl}\n")
    broker.start()
    account = token[:10]
    restricted = ids["bed_moisture"]
    mine = f"placehub/create/{account}/v1.1/Datastreams({restricted})/Observations"
    opened: list[Client] = []
    try:
        from placehub.web.app import create_app

        configured = settings.replace(
            mqtt_url=f"mqtt://placehub:{password}@127.0.0.1:{broker.port}")
        with TestClient(create_app(configured, database=database)) as client:
            bridge = client.app.state.mqtt_bridge  # type: ignore[attr-defined]
            assert bridge.connected.wait(15) and bridge.probed.wait(20)
            assert bridge.open_to_anonymous == []
            watcher = Client(broker.port, "anonymous-watcher", topics=("v1.1/#", "placehub/#"))
            stranger = Client(broker.port, "stranger")
            writer = Client(broker.port, "alice", (account, token))
            opened += [watcher, stranger, writer]

            writer.publish(mine, {"phenomenonTime": "2026-03-02T00:00:00Z", "result": 55})
            assert _wait_for(database, restricted, 55)
            # Bob's own account may publish, but as bob, who may not write the council's data.
            bob_client = Client(broker.port, "bob", (bob_token[:10], bob_token))
            opened.append(bob_client)
            bob_client.publish(f"placehub/create/{bob_token[:10]}/v1.1/Datastreams({restricted})"
                               "/Observations", {"phenomenonTime": "2026-03-02T01:00:00Z",
                                                 "result": 670})

            stranger.publish(mine, {"phenomenonTime": "2026-03-02T01:00:00Z", "result": 666})
            stranger.publish(f"v1.1/Datastreams({restricted})/Observations",
                             {"phenomenonTime": "2026-03-02T01:00:00Z", "result": 667})
            writer.publish(f"placehub/create/{bob_token[:10]}/v1.1/Datastreams({restricted})"
                           "/Observations", {"phenomenonTime": "2026-03-02T02:00:00Z",
                                             "result": 668})
            public_stream = ids["bin_fill"]
            with database.begin() as conn:  # a Datastream of bob's organisation
                conn.execute(update(things).where(things.c.id == ids["bin"]).values(
                    organisation_id=other))
            writer.publish(f"placehub/create/{account}/v1.1/Datastreams({public_stream})"
                           "/Observations", {"phenomenonTime": "2026-03-02T02:00:00Z",
                                             "result": 669})
            time.sleep(2)
            assert _results(database, restricted).count(55) == 1
            assert not {666, 667, 668, 670} & set(_results(database, restricted))
            assert 669 not in _results(database, public_stream)
            # The public station's reading reaches anonymous subscribers, as a notification.
            station = ids["station_no2"]
            writer.publish(f"placehub/create/{account}/v1.1/Datastreams({station})/Observations",
                           {"phenomenonTime": "2026-03-02T02:00:00Z", "result": 42})
            assert _wait_for(database, station, 42)
            time.sleep(1)
            heard = watcher.received()
            assert (f"v1.1/Datastreams({station})/Observations" in {t for t, _ in heard}), heard
            assert not [t for t, _ in heard if t.startswith("placehub/")], heard
            assert not [t for t, payload in heard if b"55" in payload or b"66" in payload], heard

            _run(database.url, "mqtt", "revoke", account, "--password-file", str(passwd))
            writer.publish(mine, {"phenomenonTime": "2026-03-02T03:00:00Z", "result": 77})
            time.sleep(2)
            assert 77 not in _results(database, restricted)

            os.kill(broker.process.pid, signal.SIGHUP)  # type: ignore[union-attr]
            time.sleep(1)
            again = Client(broker.port, "alice-again", (account, token))
            opened.append(again)
            time.sleep(0.5)
            assert again.refused or not again.client.is_connected()
    finally:
        for each in opened:
            each.close()
        broker.stop()
