"""Shared fixtures: a real database on SQLite and PostgreSQL, the app, the shared data.

Tests that take ``database`` (or anything built on it) run once per backend. PostgreSQL comes from
``PLACEHUB_TEST_POSTGRES_URL``; each test process (each pytest-xdist worker) gets its own
throwaway database on that server. Outside CI a missing service skips those tests; in CI
(``CI=true``) it fails them.

``--clock WHEN`` runs the tests with the clock set to WHEN (UTC) by time-machine, ticking on from
there: every ``datetime.now``, ``date.today`` and ``time.time`` in the tests and in placehub sees
it (the monotonic clocks used for timeouts keep running normally). Tests marked ``clock`` (their
outcome could depend on the time of day) also run at each of ``CLOCK_TIMES``, on SQLite.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient

from placehub.config import Settings, load_settings
from placehub.db import Database
from placehub.db.engine import normalise_url
from placehub.db.scratch import scratch_postgres
from tests import db_snapshot

REPO = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"
# The day a bare time of day given to --clock falls on: a Saturday, so "tomorrow" is a Sunday.
CLOCK_DATE = date(2026, 3, 14)
# When the tests marked ``clock`` run again: every three hours, ten minutes after the hour, where
# the demo's 3-hourly sensor reports meet the readings tests add.
CLOCK_TIMES = ("00:10", "03:10", "06:10", "09:10", "12:10", "15:10", "18:10", "21:10")
_TRAVELLER = pytest.StashKey[Any]()


def parse_clock(when: str) -> datetime:
    """The instant meant by --clock: "21:10" (on CLOCK_DATE) or "2026-03-14T21:10" (UTC unless
    an offset is given)."""
    try:
        if "T" not in when and " " not in when and ":" in when:
            return datetime.combine(CLOCK_DATE, time.fromisoformat(when), UTC)
        instant = datetime.fromisoformat(when)
    except ValueError as error:
        raise pytest.UsageError(f"--clock {when!r}: give a time such as 21:10 or a date and "
                                "time such as 2026-03-14T21:10") from error
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--clock", metavar="WHEN", default=None,
                     help="run with the clock set to WHEN (UTC), ticking on: a time of day "
                          f"such as 21:10 (on {CLOCK_DATE}) or a date and time")


def pytest_configure(config: pytest.Config) -> None:
    when = config.getoption("--clock")
    if when:
        import time_machine

        # Started before any test, fixture or event loop exists, so every clock the suite
        # reads moves forward from the same instant (in each pytest-xdist worker too).
        traveller = time_machine.travel(parse_clock(when), tick=True)
        traveller.start()
        config.stash[_TRAVELLER] = traveller


def pytest_unconfigure(config: pytest.Config) -> None:
    traveller = config.stash.get(_TRAVELLER, None)
    if traveller is not None:
        traveller.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("clock") and not metafunc.config.getoption("--clock"):
        # One test process runs every test of a clock time, so they share its demo builds.
        at_times = [pytest.param(when, marks=pytest.mark.xdist_group(f"clock-{when}"))
                    for when in CLOCK_TIMES]
        metafunc.parametrize("fixed_clock", [None, *at_times], indirect=True,
                             ids=lambda when: f"at-{when}" if when else "now")


def _fixed_clock_on_postgresql(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    return (params.get("fixed_clock") is not None
            and params.get("_session_database") == "postgresql")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The fixed-clock runs are about the time of day, which both databases see alike: SQLite
    # only, to keep the suite's time down (the real-time run covers PostgreSQL).
    dropped = [item for item in items if _fixed_clock_on_postgresql(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not _fixed_clock_on_postgresql(item)]


@pytest.fixture(autouse=True)
def fixed_clock(request: pytest.FixtureRequest) -> Iterator[datetime | None]:
    """The instant a ``clock`` test runs at, or None for now (set up before the test's other
    function-scoped fixtures, so the data they make is relative to it)."""
    when = getattr(request, "param", None)
    if when is None:
        yield None
        return
    import time_machine

    instant = parse_clock(when)
    with time_machine.travel(instant, tick=True):
        yield instant


def pytest_report_header(config: pytest.Config) -> str | None:
    when = config.getoption("--clock")
    return f"clock: set to {parse_clock(when).isoformat()} (time-machine)" if when else None

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


@pytest.fixture(scope="session")
def road_network_file(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Rutland road network's cache file, parsed once per test process (each xdist worker
    has its own) and shared by the tests that only read it."""
    from placehub.places.roads import load_road_network

    path = tmp_path_factory.mktemp("roads") / "roads.npz"
    load_road_network(data_dir / "rutland" / "roads.osm.pbf", path)
    return path


@pytest.fixture(scope="session")
def basemap_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the street map's cache goes (one per test process): written when a test first
    asks for a tile, so tests that draw no map never read the extract for it."""
    return tmp_path_factory.mktemp("basemap") / "basemap.npz"


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


@pytest.fixture
def database(_session_database: Database) -> Iterator[Database]:
    """A migrated, empty database (SQLite, then PostgreSQL); emptied again after the test."""
    db_snapshot.empty(_session_database)
    yield _session_database
    db_snapshot.empty(_session_database)


@pytest.fixture
def settings(database: Database, data_dir: Path, basemap_file: Path) -> Settings:
    """Settings pointing at the test database and the shared data."""
    return load_settings(
        environ={}, database_url=database.url, data_dir=str(data_dir), secret_key="test-secret",
        basemap_file=str(basemap_file),
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



@pytest.fixture
def pg_database(_postgresql_database: str) -> Iterator[Database]:
    """The PostgreSQL test database alone (for tests of several processes sharing one),
    migrated and empty."""
    database = Database(_postgresql_database)
    database.upgrade()
    db_snapshot.empty(database)
    yield database
    db_snapshot.empty(database)
    database.dispose()
