"""Shared fixtures: a real database on SQLite and PostgreSQL, the app, the shared data.

Tests that take ``database`` (or anything built on it) run once per backend. PostgreSQL comes from
``PLACEHUB_TEST_POSTGRES_URL``; each test session gets its own throwaway database on that server.
Outside CI a missing service skips those tests; in CI (``CI=true``) it fails them.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient

from placehub.config import Settings, load_settings
from placehub.db import Database
from placehub.db.engine import normalise_url
from placehub.db.scratch import scratch_postgres

REPO = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"


def missing_service(what: str) -> None:
    """Fail in CI, skip elsewhere: CI must never silently skip a service test."""
    if IN_CI:
        pytest.fail(f"{what} is not available, and CI must run these tests")
    pytest.skip(f"{what} is not configured")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared public data folder (PLACEHUB_DATA_DIR or ../shared/data)."""
    path = Path(os.environ.get("PLACEHUB_DATA_DIR", REPO.parent / "shared" / "data"))
    if not (path / "ATTRIBUTION.md").exists():
        pytest.fail(f"shared data not found at {path}: set PLACEHUB_DATA_DIR")
    return path


def _postgres_server_url() -> str | None:
    return os.environ.get("PLACEHUB_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def _postgresql_database() -> Iterator[str]:
    server = _postgres_server_url()
    if not server:
        missing_service("PostgreSQL (PLACEHUB_TEST_POSTGRES_URL)")
        return
    try:
        url, drop = scratch_postgres(server, f"placehub_test_{os.getpid()}")
    except Exception as error:  # noqa: BLE001 - any connection problem means "not available"
        missing_service(f"PostgreSQL at {normalise_url(server)} ({error.__class__.__name__})")
        return
    try:
        yield url
    finally:
        drop()


@pytest.fixture(scope="session")
def _sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'placehub.sqlite3'}"




@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def _session_database(request: pytest.FixtureRequest) -> Iterator[Database]:
    url = request.getfixturevalue(f"_{request.param}_database")
    database = Database(url)
    database.upgrade()
    yield database
    database.dispose()


def _empty_all_tables(database: Database) -> None:
    from placehub.db.schema import metadata

    tables = list(reversed(metadata.sorted_tables))
    with database.begin() as conn:
        if database.is_sqlite:
            for table in tables:
                conn.execute(table.delete())
            has_sequence = conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'"
            ).first()
            if has_sequence:
                conn.exec_driver_sql("DELETE FROM sqlite_sequence")
        else:
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture
def database(_session_database: Database) -> Iterator[Database]:
    """A migrated, empty database (SQLite, then PostgreSQL); emptied again after the test."""
    _empty_all_tables(_session_database)
    yield _session_database
    _empty_all_tables(_session_database)


@pytest.fixture
def settings(database: Database, data_dir: Path) -> Settings:
    """Settings pointing at the test database and the shared data."""
    return load_settings(
        environ={}, database_url=database.url, data_dir=str(data_dir), secret_key="test-secret"
    )


@pytest.fixture
def app(settings: Settings, database: Database):  # type: ignore[no-untyped-def]
    from placehub.web.app import create_app

    return create_app(settings, database=database)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """An in-process HTTP client for the app."""
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture(scope="session")
def mqtt_url() -> str:
    """The MQTT broker (PLACEHUB_TEST_MQTT_URL), reachable."""
    url = os.environ.get("PLACEHUB_TEST_MQTT_URL")
    if not url:
        missing_service("MQTT broker (PLACEHUB_TEST_MQTT_URL)")
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 1883), 2).close()
    except OSError as error:
        missing_service(f"MQTT broker at {url} ({error})")
    return url  # type: ignore[return-value]


# -- the official data sources, served on loopback (placehub.area) ----------------------------


@pytest.fixture(scope="session")
def official(data_dir: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The responses of the official sources (ONS, Geofabrik, MHCLG, Defra), from shared data."""
    from tests.area.official import OfficialSources

    return OfficialSources(data_dir, tmp_path_factory.mktemp("official"))


@pytest.fixture(scope="session")
def official_url(official) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The base URL of the stand-in for the official sources (127.0.0.1, an ephemeral port)."""
    from tests.area.official import serving

    with serving(official) as base:
        yield base


@pytest.fixture(scope="session")
def fetched(official_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Rutland and Sutton fetched from every source into a fresh data folder (once)."""
    from tests.area.official import fetch_test_areas

    return fetch_test_areas(official_url, tmp_path_factory.mktemp("fetched"))

