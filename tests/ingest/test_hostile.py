"""No bad message can stop ingest: hostile messages mixed into concurrent valid traffic fail
alone (4xx or dead letter), every valid uplink is acknowledged and stored exactly once, no
answer is a 5xx and processing goes on afterwards (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from placehub.db import Database
from placehub.ingest.adapters import parse_message
from placehub.ingest.journal import JournalWriter, UnstorableEntry
from placehub.ingest.tables import ingest_journal
from placehub.sta.tables import observations
from placehub.web.app import create_app

from .conftest import wait_processed
from .hostile import base_messages, hostile_message
from .messages import BASE_TIME, chirpstack_uplink, ldds75, tts_uplink

VALID_EUIS = ["A84041000181C0DE", "A84041000181C0DF"]
HOSTILE_EUIS = ["A840410001810BAD", "A840410001810BAE"]


def valid_uplinks(start: int, count: int) -> list[tuple[str, str, bytes, str]]:
    """(network, event, raw, journal key) of distinct valid uplinks, TTS and ChirpStack."""
    uplinks = []
    for n in range(start, start + count):
        eui = VALID_EUIS[n % 2]
        payload = ldds75(300 + n % 500)
        if n % 3 == 0:
            body = chirpstack_uplink(eui, payload, n, dedup=f"valid-{n}-{start}")
            uplinks.append(("chirpstack", "up", json.dumps(body).encode(), f"cs:valid-{n}-{start}"))
        else:
            body = tts_uplink(eui, payload, n)
            uplinks.append(("tts", "up", json.dumps(body).encode(),
                            f"tts:{eui}:AXBSH1Pk6Z0G8tE=:{n}"))
    return uplinks


def named_hostile_messages() -> list[tuple[str, str, bytes]]:
    """Each hostile message from real network-server failures, as (network, event, raw)."""
    eui = HOSTILE_EUIS[0]
    messages: list[tuple[str, str, Any]] = []
    for index in range(20):  # NUL in a formatter's decoded_payload
        messages.append(("tts", "up", tts_uplink(eui, ldds75(400), 100 + index,
                                                  decoded={"note": "lid\u0000open"})))
    huge = tts_uplink(eui, ldds75(400), 1)
    huge["uplink_message"]["f_cnt"] = 2**63 + 1
    zero_time = tts_uplink(eui, ldds75(400), 2)
    zero_time["uplink_message"]["received_at"] = "0001-01-01T00:00:00Z"
    far_future = tts_uplink(eui, ldds75(400), 3, at=BASE_TIME.replace(year=2999))
    bad_gateways = tts_uplink(eui, ldds75(400), 4)
    bad_gateways["uplink_message"]["rx_metadata"] = ["gw", 5]
    long_addr = tts_uplink(eui, ldds75(400), 5)
    long_addr["end_device_ids"]["dev_addr"] = "260B7A2C" * 40
    messages += [
        ("tts", "up", huge), ("tts", "up", zero_time), ("tts", "up", far_future),
        ("tts", "up", bad_gateways), ("tts", "up", long_addr),
        ("tts", "up", tts_uplink(eui, ldds75(400), 6, session="k" * 300)),
        ("tts", "up", tts_uplink(eui, ldds75(400), 7, app="a" * 5000)),
        ("chirpstack", "up", chirpstack_uplink(eui, ldds75(400), 8, dev_addr="0" * 300)),
    ]
    raw = [(n, e, json.dumps(b).encode()) for n, e, b in messages]
    raw.append(("tts", "up", b"[" * 100_000 + b"]" * 100_000))
    raw.append(("tts", "up", b'{"end_device_ids": {"dev_eui": "' + b"A" * 2_000_000 + b'"}}'))
    raw.append(("chirpstack", "up", b"not json at all"))
    return raw


def post(client: TestClient, network: str, event: str, raw: bytes) -> int:
    path = "/ingest/ttn" if network == "tts" else f"/ingest/chirpstack?event={event}"
    return client.post(path, content=raw, headers={"content-type": "application/json"}
                       ).status_code


def post_all(client: TestClient, messages: list[tuple[str, str, bytes]]) -> list[int]:
    """Post concurrently (8 clients at once), answers in the order given."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda m: post(client, *m), messages))


def assert_stored_once(database: Database, keys: list[str]) -> None:
    """Each key is one processed journal entry with its three Observations, stored once."""
    with database.connect() as conn:
        rows = list(conn.execute(
            select(ingest_journal.c.dedup_key, ingest_journal.c.status,
                   ingest_journal.c.observation_count)
            .where(ingest_journal.c.dev_eui.in_(VALID_EUIS))
        ))
        stored = conn.execute(
            select(func.count()).select_from(observations)
            .where(observations.c.dedup_key.in_([f"lorawan:{k}" for k in keys]))
        ).scalar_one()
    assert sorted(r.dedup_key for r in rows) == sorted(keys)
    assert {r.status for r in rows} == {"processed"}
    assert {r.observation_count for r in rows} == {3}
    assert stored == 3 * len(keys)


@pytest.fixture
def small_body_client(settings, database):  # type: ignore[no-untyped-def]
    """The app with anonymous local writes and a 1 MB body limit (the default)."""
    app = create_app(settings.replace(anonymous_write=True), database=database)
    with TestClient(app) as test_client:
        yield test_client


def test_hostile_messages_among_concurrent_valid_uplinks_fail_alone(
    small_body_client, database, register
) -> None:
    """Each hostile message gets a 4xx or becomes a dead letter; the valid ones are all stored."""
    for eui in VALID_EUIS:
        register(eui)
    valid = valid_uplinks(1, 120)
    hostile = named_hostile_messages()
    mixed = [(m[:3], "valid") for m in valid] + [(m, "hostile") for m in hostile]
    random.Random(14).shuffle(mixed)
    statuses = post_all(small_body_client, [m for m, _ in mixed])
    assert all(status < 500 for status in statuses), statuses
    assert all(s == 200 for s, (_, kind) in zip(statuses, mixed, strict=True) if kind == "valid")
    hostile_statuses = sorted(s for s, (_, kind) in zip(statuses, mixed, strict=True)
                              if kind == "hostile")
    assert 413 in hostile_statuses and 400 in hostile_statuses
    wait_processed(database)
    assert_stored_once(database, [key for *_, key in valid])
    with database.connect() as conn:
        kept = {r.reason.split(":")[0] for r in conn.execute(
            select(ingest_journal.c.reason).where(ingest_journal.c.dev_eui == HOSTILE_EUIS[0]))}
    assert any("network time" in reason for reason in kept)  # zero time and 2999: dead letters
    # Processing goes on.
    later = valid_uplinks(500, 4)
    assert post_all(small_body_client, [m[:3] for m in later]) == [200] * 4
    wait_processed(database)
    assert_stored_once(database, [key for *_, key in valid + later])


def test_mutated_real_messages_never_get_a_5xx_or_disturb_valid_traffic(
    small_body_client, database, register, data_dir
) -> None:
    """Hypothesis mutates real TTS / ChirpStack messages (vendor example payloads); posted
    concurrently with valid uplinks, none is answered 5xx and every valid uplink is stored once."""
    for eui in VALID_EUIS:
        register(eui)
    bases = base_messages(data_dir, HOSTILE_EUIS)
    sent: list[str] = []
    counter = iter(range(1000, 10**6, 7))

    @hypothesis_settings(max_examples=30, deadline=None, derandomize=True,
                         suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(hostile_message(bases), min_size=3, max_size=8))
    def check(hostile: list[tuple[str, str, bytes]]) -> None:
        valid = valid_uplinks(next(counter), 4)
        messages = [m[:3] for m in valid] + hostile
        statuses = post_all(small_body_client, messages)
        assert all(status < 500 for status in statuses), statuses
        assert statuses[:4] == [200] * 4
        sent.extend(key for *_, key in valid)

    check()
    wait_processed(database, timeout=60)
    assert_stored_once(database, sent)


def test_writer_splits_a_failing_batch_so_only_the_unstorable_entry_fails(database) -> None:
    """Entries no database stores, planted past validation, fail alone; the rest commit."""
    writer = JournalWriter(database)
    good = [parse_message("tts", tts_uplink(VALID_EUIS[0], ldds75(300 + n), n)) for n in range(40)]
    bad = []
    for n in range(3):
        entry = parse_message("tts", tts_uplink(HOSTILE_EUIS[0], ldds75(300), 900 + n))
        assert entry is not None
        entry.f_cnt = 2**63 + n  # beyond BIGINT and SQLite's INTEGER
        bad.append(entry)
    entries = good[:15] + bad[:1] + good[15:30] + bad[1:] + good[30:]
    futures = [writer.submit(e) for e in entries]  # type: ignore[arg-type]
    outcomes = []
    for future in futures:
        try:
            outcomes.append(future.result(timeout=30))
        except UnstorableEntry as error:
            outcomes.append(error)
    writer.stop()
    failed = [o for o in outcomes if isinstance(o, UnstorableEntry)]
    assert len(failed) == 3
    assert all("INSERT" not in f.message and "SELECT" not in f.message for f in failed)
    with database.connect() as conn:
        count = conn.execute(select(func.count()).select_from(ingest_journal)).scalar_one()
    assert count == 40


def test_database_failure_is_a_503_without_sql(small_body_client, monkeypatch) -> None:
    """Only a failure of the database itself is a 503, and its body shows no SQL."""
    from placehub.ingest import journal

    def unavailable(*_args: Any, **_kwargs: Any) -> None:
        raise OperationalError("INSERT INTO ingest_journal (dedup_key) VALUES (?)", ("k",),
                               Exception("connection to server refused"))

    monkeypatch.setattr(journal, "write_entries", unavailable)
    response = small_body_client.post("/ingest/ttn", json=tts_uplink(VALID_EUIS[0], ldds75(1), 1))
    assert response.status_code == 503
    message = response.json()["error"]["message"]
    assert "connection to server refused" in message and "INSERT" not in message


async def _call_lane(app: Any, headers: list[tuple[bytes, bytes]], chunks: int,
                     chunk_size: int = 65536) -> tuple[int, int]:
    """Post ``chunks`` chunks to /ingest/ttn through the ASGI app; (status, chunks read)."""
    read = 0

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": b"x" * chunk_size, "more_body": read < chunks}

    status = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {"type": "http", "method": "POST", "path": "/ingest/ttn", "query_string": b"",
             "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
             "scheme": "http", "root_path": "", "http_version": "1.1", "raw_path": b"/ingest/ttn"}
    await app(scope, receive, send)
    return status, read


def test_large_bodies_are_413_and_anonymous_ones_401_before_they_are_read(
    settings, database
) -> None:
    """A 50 MB body is refused once past the limit; a declared one and an anonymous one unread."""
    limited = create_app(settings.replace(anonymous_write=True, ingest_max_body_bytes=200_000),
                         database=database)
    with TestClient(limited):
        status, read = asyncio.run(_call_lane(limited, [], chunks=800))
        assert status == 413 and read <= 4  # 200 kB of 50 MB, in 64 kB chunks
        declared = [(b"content-length", str(50 * 2**20).encode())]
        assert asyncio.run(_call_lane(limited, declared, chunks=800)) == (413, 0)
    closed = create_app(settings, database=database)  # no anonymous writes
    with TestClient(closed):
        assert asyncio.run(_call_lane(closed, [], chunks=800)) == (401, 0)
