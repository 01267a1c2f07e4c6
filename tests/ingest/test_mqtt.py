"""MQTT ingest over the real Mosquitto broker: stored once with webhooks, and self-reconnecting."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlparse

import aiomqtt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from placehub.config import Settings
from placehub.db import Database
from placehub.ingest.journal import JournalWriter
from placehub.ingest.mqtt import Subscription, run_subscription
from placehub.ingest.tables import ingest_journal
from placehub.sta.tables import observations
from placehub.web.app import create_app

from .conftest import wait_processed
from .messages import chirpstack_uplink, ldds75, tts_uplink

EUI = "A84041000181AB01"


async def publish(url: str, topic: str, body: dict, qos: int = 0) -> None:
    parsed = urlparse(url)
    async with aiomqtt.Client(parsed.hostname or "127.0.0.1", parsed.port or 1883) as client:
        await client.publish(topic, json.dumps(body), qos=qos)


def journal(database: Database) -> list:
    with database.connect() as conn:
        return list(conn.execute(select(ingest_journal).order_by(ingest_journal.c.id)))


@pytest.fixture
def mqtt_app(
    settings: Settings, database: Database, mqtt_url: str
) -> Iterator[tuple[TestClient, str, str]]:
    """The app subscribed (through its lifespan) to per-test TTS and ChirpStack topics."""
    app_id = f"placehub-test-{uuid.uuid4().hex[:8]}"
    cs_app = str(uuid.uuid4())
    app = create_app(
        settings.replace(
            anonymous_write=True,
            mqtt_url=mqtt_url,
            ingest_mqtt_topics=f"tts:v3/{app_id}@ttn/devices/+/up,chirpstack:application/{cs_app}/device/+/event/+",
        ),
        database=database,
    )
    with TestClient(app) as client:
        subscriptions = app.state.ingest.mqtt_subscriptions
        assert len(subscriptions) == 2
        deadline = time.monotonic() + 10
        # A connection is counted once its SUBSCRIBE is done.
        while time.monotonic() < deadline and not all(
            s.stats["connections"] for s in subscriptions
        ):
            time.sleep(0.05)
        yield client, app_id, cs_app


def test_same_uplink_by_webhook_and_mqtt_is_stored_once(
    mqtt_app, database, register, mqtt_url
) -> None:
    """A TTS uplink published on MQTT and posted to the webhook is one journal entry, one set of
    Observations; a ChirpStack uplink over MQTT is stored too."""
    client, app_id, cs_app = mqtt_app
    device = register(EUI)
    body = tts_uplink(EUI, ldds75(480), f_cnt=12, app=app_id)
    asyncio.run(publish(mqtt_url, f"v3/{app_id}@ttn/devices/bin-ab01/up", body))
    assert client.post("/ingest/ttn", json=body).status_code == 200
    cs = chirpstack_uplink(EUI, ldds75(470), f_cnt=13, application=cs_app)
    asyncio.run(publish(mqtt_url, f"application/{cs_app}/device/{EUI.lower()}/event/up", cs, qos=1))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(journal(database)) < 2:
        time.sleep(0.05)
    time.sleep(0.3)  # let a late duplicate arrive if there were one
    wait_processed(database)
    rows = journal(database)
    assert [(r.network, r.f_cnt) for r in rows] == [("tts", 12), ("chirpstack", 13)]
    assert rows[0].copies == 2
    with database.connect() as conn:
        values = (
            conn.execute(
                select(observations.c.result_number)
                .where(observations.c.datastream_id == device["datastreams"]["distance"])
                .order_by(observations.c.phenomenon_time_start)
            )
            .scalars()
            .all()
        )
    assert values == [480, 470]


async def _proxy(
    target_host: str, target_port: int
) -> tuple[asyncio.AbstractServer, list[asyncio.StreamWriter]]:
    """A TCP proxy to the broker whose connections the test can cut (a broker hiccup)."""
    open_writers: list[asyncio.StreamWriter] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def handle(
        client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        broker_reader, broker_writer = await asyncio.open_connection(target_host, target_port)
        open_writers.extend([client_writer, broker_writer])
        await asyncio.gather(pipe(client_reader, broker_writer), pipe(broker_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, open_writers


def test_subscriber_reconnects_and_resubscribes_after_a_broker_hiccup(
    database, register, mqtt_url
) -> None:
    """When the connection drops, the subscriber reconnects, subscribes again and keeps ingesting."""
    register(EUI)
    app_id = f"placehub-test-{uuid.uuid4().hex[:8]}"
    parsed = urlparse(mqtt_url)
    writer = JournalWriter(database)

    async def scenario() -> Subscription:
        server, connections = await _proxy(parsed.hostname or "127.0.0.1", parsed.port or 1883)
        port = server.sockets[0].getsockname()[1]
        subscription = Subscription("tts", f"v3/{app_id}/devices/+/up", f"mqtt://127.0.0.1:{port}")
        ready = asyncio.Event()
        task = asyncio.create_task(run_subscription(subscription, writer, ready, max_backoff=0.5))
        await asyncio.wait_for(ready.wait(), 10)
        await publish(
            mqtt_url, f"v3/{app_id}/devices/d/up", tts_uplink(EUI, ldds75(300), 1, app=app_id)
        )
        await _until(lambda: subscription.stats["stored"] == 1)
        ready.clear()
        for connection in connections:
            connection.close()
        await asyncio.wait_for(ready.wait(), 10)
        await publish(
            mqtt_url, f"v3/{app_id}/devices/d/up", tts_uplink(EUI, ldds75(310), 2, app=app_id)
        )
        await _until(lambda: subscription.stats["stored"] == 2)
        task.cancel()
        server.close()
        return subscription

    subscription = asyncio.run(scenario())
    writer.stop()
    assert subscription.stats["connections"] >= 2
    assert [r.f_cnt for r in journal(database)] == [1, 2]


async def _until(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@pytest.mark.slow
def test_placehub_ingest_mqtt_command_journals_uplinks(
    database, register, mqtt_url, tmp_path
) -> None:
    """`placehub ingest mqtt` subscribes, journals and processes uplinks until stopped."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    register(EUI)
    app_id = f"placehub-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
        "PLACEHUB_DATABASE_URL": database.url,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "placehub",
            "ingest",
            "mqtt",
            "--url",
            mqtt_url,
            "--topics",
            f"tts:v3/{app_id}/devices/+/up",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # As a shell's background job: started with SIGINT ignored, it must still stop on it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        body = tts_uplink(EUI, ldds75(333), f_cnt=77, app=app_id)
        deadline = time.monotonic() + 20
        # Publish until the subscriber (starting up in its own process) has stored it.
        while time.monotonic() < deadline and not journal(database):
            asyncio.run(publish(mqtt_url, f"v3/{app_id}/devices/d/up", body))
            time.sleep(0.3)
        wait_processed(database)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0 and b"Stopped." in output
    rows = journal(database)
    assert [(r.f_cnt, r.transport, r.status) for r in rows] == [(77, "mqtt", "processed")]


def test_subscription_carries_on_after_bad_messages_and_journal_failures(
    database, mqtt_url, monkeypatch
) -> None:
    """A message that is not JSON, a hostile one and a journal failure are logged and counted;
    the next uplink on the same subscription is stored."""
    writer = JournalWriter(database)
    app_id = f"carry-on-{uuid.uuid4().hex[:8]}"
    subscription = Subscription("tts", f"v3/{app_id}@ttn/devices/+/up", mqtt_url)
    real_submit = writer.submit
    calls = {"n": 0}

    def flaky_submit(entry):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("journal unavailable for a moment")
        return real_submit(entry)

    monkeypatch.setattr(writer, "submit", flaky_submit)
    topic = f"v3/{app_id}@ttn/devices/bin/up"
    hostile = tts_uplink(EUI, ldds75(480), f_cnt=2, app=app_id)
    hostile["uplink_message"]["rx_metadata"] = ["gw", 5]

    async def run() -> None:
        ready = asyncio.Event()
        task = asyncio.create_task(run_subscription(subscription, writer, ready))
        await asyncio.wait_for(ready.wait(), 10)
        parsed = urlparse(mqtt_url)
        async with aiomqtt.Client(parsed.hostname or "127.0.0.1", parsed.port or 1883) as client:
            await client.publish(topic, b"\x00 not json")
            await client.publish(topic, json.dumps(hostile))
            await client.publish(topic, json.dumps(tts_uplink(EUI, ldds75(480), 3, app=app_id)))
            await client.publish(topic, json.dumps(tts_uplink(EUI, ldds75(490), 4, app=app_id)))
        deadline = time.monotonic() + 10
        while subscription.stats["stored"] < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        task.cancel()

    asyncio.run(run())
    writer.stop()
    assert subscription.stats["rejected"] == 2 and subscription.stats["failed"] == 1
    assert [row.f_cnt for row in journal(database)] == [4]
