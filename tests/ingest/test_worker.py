"""A worker that cannot be poisoned: an entry whose processing fails is retried with back-off,
then quarantined as a dead letter; the backlog drains; /healthz and /metrics say degraded."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from placehub.db import Database
from placehub.ingest.adapters import parse_message
from placehub.ingest.deadletters import list_dead_letters, replay
from placehub.ingest.journal import JournalWriter
from placehub.ingest.processing import RetryPolicy, backlog_status, process_all
from placehub.ingest.tables import ingest_device_health, ingest_journal
from placehub.web.app import create_app

from .conftest import wait_processed
from .messages import BASE_TIME, chirpstack_event, ldds75, tts_uplink

EUI = "A84041000181C0DE"


def plant(database: Database, bodies: list[tuple[str, str, dict]]) -> list[int]:
    """Journal messages as the webhook would, and return their ids."""
    writer = JournalWriter(database)
    entries = [parse_message(network, body, event) for network, event, body in bodies]
    outcomes = writer.store(entries)  # type: ignore[arg-type]
    writer.stop()
    return [o.journal_id for o in outcomes]


def poison(database: Database, journal_id: int) -> None:
    """Make an entry unprocessable, as rows written by older versions or by hand can be."""
    with database.begin() as conn:
        conn.execute(update(ingest_journal).where(ingest_journal.c.id == journal_id)
                     .values(body=["not", "an", "object"]))
        if database.is_sqlite:
            # Go's zero time as an older version wrote it: unreadable as a datetime.
            conn.execute(text("UPDATE ingest_journal SET ns_time = '1-01-01 00:00:00.000000' "
                              "WHERE id = :id"), {"id": journal_id})


def statuses(database: Database) -> dict[int, tuple[str, str | None, int]]:
    with database.connect() as conn:
        return {r.id: (r.status, r.reason, r.attempts) for r in conn.execute(
            select(ingest_journal.c.id, ingest_journal.c.status, ingest_journal.c.reason,
                   ingest_journal.c.attempts))}


def test_poisoned_entry_is_quarantined_and_the_backlog_drains(database, register) -> None:
    """A planted unprocessable entry fails alone, is retried, then quarantined with the
    exception's summary; every entry before and after it is processed."""
    register(EUI)
    ids = plant(database, [
        ("tts", "up", tts_uplink(EUI, ldds75(500), 1)),
        ("chirpstack", "status", chirpstack_event("status", EUI, BASE_TIME, batteryLevel=90)),
        *[("tts", "up", tts_uplink(EUI, ldds75(500 + n), n)) for n in range(2, 30)],
    ])
    poison(database, ids[1])
    policy = RetryPolicy(max_attempts=3, base_seconds=0)
    first = process_all(database, policy=policy)
    assert first.processed == 29 and first.quarantined == 1
    found = statuses(database)
    status, reason, attempts = found[ids[1]]
    assert status == "dead_letter" and attempts == 3
    assert reason is not None and reason.startswith("quarantined after 3 failed attempts: ")
    assert "SELECT" not in reason
    assert {s for i, (s, _, _) in found.items() if i != ids[1]} == {"processed"}
    with database.connect() as conn:
        backlog = backlog_status(conn, 300)
        health = conn.execute(select(ingest_device_health)).one()
    assert backlog.pending == 0 and backlog.quarantined == 1 and backlog.degraded
    assert health.dead_letters == 1 and "quarantined" in health.last_error
    with database.connect() as conn:
        (letter,) = list_dead_letters(conn)  # readable, whatever the stored times were
    assert letter["id"] == ids[1]
    # A replay leaves it where it is and says so, instead of failing.
    assert replay(database, dead_letters=True)["failed"] == 1


def test_failed_entry_waits_with_back_off_before_its_next_attempt(database, register) -> None:
    """After a failure the entry is not tried again until its back-off (capped) has passed."""
    register(EUI)
    (bad,) = plant(database, [("chirpstack", "status",
                               chirpstack_event("status", EUI, BASE_TIME, batteryLevel=5))])
    poison(database, bad)
    result = process_all(database, policy=RetryPolicy(max_attempts=5, base_seconds=3600))
    assert result.failed == 1 and result.quarantined == 0
    assert statuses(database)[bad][0] == "pending"
    with database.connect() as conn:
        retry_at = conn.execute(select(ingest_journal.c.retry_at)).scalar_one()
    assert retry_at - retry_at.now(retry_at.tzinfo) > timedelta(minutes=4)  # capped at 5
    assert process_all(database, policy=RetryPolicy(5, 3600)).done == 0  # not due yet


@pytest.mark.parametrize("max_attempts", [2])
def test_server_worker_goes_on_and_healthz_reports_degraded(
    settings, database, register, max_attempts: int
) -> None:
    """The server's worker quarantines the poison and processes later uplinks; /healthz says
    degraded and /metrics shows the quarantined entry."""
    register(EUI)
    (bad,) = plant(database, [("chirpstack", "status",
                               chirpstack_event("status", EUI, BASE_TIME, batteryLevel=5))])
    poison(database, bad)
    app = create_app(settings.replace(anonymous_write=True, ingest_max_attempts=max_attempts),
                     database=database)
    with TestClient(app) as client:
        assert client.get("/healthz").text == "ok"  # nothing quarantined yet, backlog fresh
        for n in range(1, 6):
            assert client.post("/ingest/ttn", json=tts_uplink(EUI, ldds75(400), n)).status_code == 200
        deadline = time.monotonic() + 20
        while statuses(database)[bad][0] == "pending" and time.monotonic() < deadline:
            time.sleep(0.1)
        wait_processed(database)
        found = statuses(database)
        assert found[bad][0] == "dead_letter"
        assert sum(1 for s, _, _ in found.values() if s == "processed") == 5
        health = client.get("/healthz")
        assert health.status_code == 200 and health.text.startswith("degraded: ")
        assert "1 journal entries quarantined" in health.text
        time.sleep(1.1)  # the gauges read the journal at most once a second
        scraped = client.get("/metrics").text
        assert "placehub_ingest_quarantined_entries 1.0" in scraped
        assert "placehub_ingest_degraded 1.0" in scraped
        assert "placehub_ingest_backlog_entries 0.0" in scraped
