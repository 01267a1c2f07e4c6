"""Fixtures for ingest tests: registered devices and waiting for the processing worker."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from placehub.access.requests import ANONYMOUS_WRITER
from placehub.config import Settings
from placehub.db import Database
from placehub.ingest.devices import DeviceSpec, register_device
from placehub.ingest.tables import ingest_journal
from placehub.web.app import create_app


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    """The app with local anonymous writes allowed (as `serve` on loopback with the setting)."""
    app = create_app(settings.replace(anonymous_write=True), database=database)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def register(database: Database) -> Callable[..., dict]:
    """Register a device (as the local anonymous writer) and return it."""

    def make(
        dev_eui: str,
        profile: str = "dragino-ldds75-bin",
        name: str | None = None,
        lat: float = 52.6703,
        lon: float = -0.7301,
    ) -> dict:
        with database.begin() as conn:
            return register_device(
                conn,
                ANONYMOUS_WRITER,
                DeviceSpec(
                    dev_eui=dev_eui,
                    name=name or f"Bin {dev_eui[-4:]}",
                    profile=profile,
                    latitude=lat,
                    longitude=lon,
                ),
            )

    return make


def wait_processed(database: Database, timeout: float = 15.0) -> None:
    """Wait until the server's worker has processed every journal entry."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with database.connect() as conn:
            pending = conn.execute(
                select(func.count())
                .select_from(ingest_journal)
                .where(ingest_journal.c.status == "pending")
            ).scalar_one()
        if pending == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"{pending} journal entries still pending after {timeout} s")
