"""Crash safety: `placehub serve` killed with SIGKILL under webhook load loses no acknowledged uplink."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from placehub.access.requests import ANONYMOUS_WRITER
from placehub.db import Database
from placehub.ingest.devices import DeviceSpec, register_device
from placehub.ingest.tables import ingest_journal
from placehub.sta.tables import observations

from .conftest import wait_processed
from .messages import ldds75, tts_uplink
from .server import free_port, start_server

EUIS = [f"A8404100018{i:05X}" for i in range(4)]


@pytest.mark.slow
def test_sigkill_under_load_loses_no_acknowledged_uplink(tmp_path: Path) -> None:
    """Every uplink answered 2xx before a SIGKILL is in the journal after restart, and its
    Observations exist exactly once."""
    db_url = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
    database = Database(db_url)
    database.upgrade()
    with database.begin() as conn:
        for eui in EUIS:
            register_device(
                conn,
                ANONYMOUS_WRITER,
                DeviceSpec(eui, f"Bin {eui[-2:]}", "dragino-ldds75-bin", 52.67, -0.73),
            )
    port = free_port()
    server = start_server(db_url, port)
    acknowledged: set[tuple[str, int]] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def load(eui: str) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            f_cnt = 0
            while not stop.is_set():
                f_cnt += 1
                try:
                    response = client.post(
                        "/ingest/ttn", json=tts_uplink(eui, ldds75(200 + f_cnt % 700), f_cnt)
                    )
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code == 200:
                    with lock:
                        acknowledged.add((eui, f_cnt))

    threads = [threading.Thread(target=load, args=(eui,)) for eui in EUIS]
    for thread in threads:
        thread.start()
    # Kill once the load is well under way (at least 2 s, longer on a busy machine).
    started = time.monotonic()
    while time.monotonic() - started < 2.0 or (
        len(acknowledged) <= 100 and time.monotonic() - started < 30
    ):
        time.sleep(0.1)
    server.send_signal(signal.SIGKILL)
    server.wait()
    stop.set()
    for thread in threads:
        thread.join()
    assert len(acknowledged) > 50, "the load did not get going"

    server = start_server(db_url, port)
    try:
        wait_processed(database, timeout=30)
        with database.connect() as conn:
            stored = {
                (r.dev_eui, r.f_cnt)
                for r in conn.execute(select(ingest_journal.c.dev_eui, ingest_journal.c.f_cnt))
            }
            statuses = set(conn.execute(select(ingest_journal.c.status).distinct()).scalars())
            total = conn.execute(select(func.count()).select_from(observations)).scalar_one()
            distinct = conn.execute(
                select(func.count()).select_from(
                    select(observations.c.datastream_id, observations.c.phenomenon_time_start)
                    .distinct()
                    .subquery()
                )
            ).scalar_one()
    finally:
        server.terminate()
        server.wait(timeout=10)
        database.dispose()
    assert acknowledged <= stored, f"lost {len(acknowledged - stored)} acknowledged uplinks"
    assert statuses == {"processed"}
    # distance, fill level and battery for every stored uplink, each exactly once.
    assert total == 3 * len(stored) == distinct
