"""Observations partitioned by month on PostgreSQL: same reads, months ahead, drop a month."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from placehub.config import load_settings
from placehub.db import Database
from placehub.db.partitions import (
    DEFAULT_PARTITION,
    drop_month,
    ensure_months,
    is_partitioned,
    list_partitions,
    partition_observations,
)
from placehub.db.scratch import scratch_postgres
from placehub.errors import BadRequest
from placehub.sta.observations import NewObservation, write_observations
from placehub.sta.tables import datastreams, observations
from placehub.web.app import create_app
from tests.alerts.conftest import make_asset
from tests.conftest import missing_service

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def scratch_database(name: str) -> Iterator[Database]:
    """A PostgreSQL database of its own (partitioning changes the schema), dropped after."""
    server = os.environ.get("PLACEHUB_TEST_POSTGRES_URL")
    if not server:
        missing_service("PostgreSQL (PLACEHUB_TEST_POSTGRES_URL)")
    url, drop = scratch_postgres(str(server), name)
    database = Database(url)
    database.upgrade()
    yield database
    database.dispose()
    drop()


@pytest.fixture(scope="module")
def scratch() -> Iterator[Database]:
    """A scratch PostgreSQL database for the conversion test."""
    yield from scratch_database("placehub_partitions")


@pytest.fixture
def months_database() -> Iterator[Database]:
    """Another one, so that each test partitions a table it filled itself."""
    yield from scratch_database("placehub_partition_reads")


def fill_levels(database: Database, stream: int, start: datetime, hours: int,
                key: str = "") -> Any:
    rows = [NewObservation(datastream_id=stream, phenomenon_time=start + timedelta(hours=h),
                           result=float(h % 100), dedup_key=f"{key}{h}" if key else None)
            for h in range(hours)]
    with database.begin() as conn:
        return write_observations(conn, rows)


def sta(client: TestClient, path: str) -> Any:
    answer = client.get(f"/sta/v1.1/{path}")
    assert answer.status_code == 200, answer.text
    return answer.json()["value"]


def test_partitioned_observations_read_the_same_and_drop_a_month(
    scratch: Database, data_dir: Any
) -> None:
    """After partitioning, latest-N and time-window reads answer as before; duplicates are
    still refused; a late reading gets its month; dropping January removes only January."""
    _, streams = make_asset(scratch, "litter_bin", ["fill_level"], name="Bin 7")
    stream = streams["fill_level"]
    fill_levels(scratch, stream, datetime(2026, 1, 20, tzinfo=UTC), 24 * 50, key="u")  # to Mar
    settings = load_settings(environ={}, database_url=scratch.url, data_dir=str(data_dir),
                             secret_key="test")
    latest = f"Datastreams({stream})/Observations?$top=100&$orderby=phenomenonTime desc"
    window = (f"Datastreams({stream})/Observations?$filter=phenomenonTime ge "
              "2026-02-10T08:00:00Z and phenomenonTime lt 2026-02-10T09:00:00Z")
    with TestClient(create_app(settings, database=scratch)) as client:
        before = sta(client, latest), sta(client, window)
        with scratch.begin() as conn:
            moved = partition_observations(conn, NOW, months_ahead=2)
            assert is_partitioned(conn)
            assert [p.month for p in list_partitions(conn)] == [
                date(2026, m, 1) for m in (1, 2, 3, 4, 5)]
        after = sta(client, latest), sta(client, window)
    assert moved == 24 * 50
    assert after == before and len(before[0]) == 100 and len(before[1]) == 1
    again = fill_levels(scratch, stream, datetime(2026, 1, 20, tzinfo=UTC), 3, key="u")
    assert all(o.duplicate for o in again.outcomes)

    fill_levels(scratch, stream, datetime(2025, 6, 1, tzinfo=UTC), 5, key="late")
    with scratch.begin() as conn:
        waiting = conn.exec_driver_sql(f"SELECT count(*) FROM {DEFAULT_PARTITION}").scalar()
        added = ensure_months(conn, NOW, months_ahead=2)
        left = conn.exec_driver_sql(f"SELECT count(*) FROM {DEFAULT_PARTITION}").scalar()
    assert (waiting, added, left) == (5, [date(2025, 6, 1)], 0)

    with scratch.begin() as conn:
        conn.exec_driver_sql("ANALYZE observations")
        drop_month(conn, date(2025, 6, 1))
        drop_month(conn, date(2026, 1, 1))
        first = conn.execute(select(func.min(observations.c.phenomenon_time_start))).scalar()
        count = conn.execute(select(func.count()).select_from(observations)).scalar()
        start = conn.execute(select(datastreams.c.phenomenon_time_start)
                             .where(datastreams.c.id == stream)).scalar()
    assert first == start == datetime(2026, 2, 1, tzinfo=UTC)
    assert count == 24 * 50 - 12 * 24  # 12 days of January gone
    with scratch.begin() as conn, pytest.raises(BadRequest, match="no partition for 2026-01"):
        drop_month(conn, date(2026, 1, 1))


def test_a_page_of_readings_is_read_from_the_newest_or_oldest_month_first(
    months_database: Database, data_dir: Any
) -> None:
    """On partitioned Observations, a page of one Datastream's readings in phenomenonTime order
    is read from its newest (or oldest) month alone when that month holds the whole page, and
    from every month when it does not: the same pages as ordering all readings."""
    _, streams = make_asset(months_database, "litter_bin", ["fill_level"], name="Bin 9")
    stream = streams["fill_level"]
    fill_levels(months_database, stream, datetime(2026, 2, 27, tzinfo=UTC), 24 * 4, key="m")
    with months_database.begin() as conn:
        partition_observations(conn, NOW, months_ahead=1)  # February 48 h, March 48 h
        newest_first = [r.id for r in conn.execute(
            select(observations.c.id).where(observations.c.datastream_id == stream)
            .order_by(observations.c.phenomenon_time_start.desc(), observations.c.id.desc()))]
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # The page's own reads only (the path's Observations are alias e1), not whatever the
        # app's timers read meanwhile.
        if "FROM observations AS e1" in statement:
            statements.append(statement)

    settings = load_settings(environ={}, database_url=months_database.url,
                             data_dir=str(data_dir), secret_key="test")
    path = f"Datastreams({stream})/Observations?$select=id&$orderby=phenomenonTime"
    cases = [  # query, expected ids, statements on observations, month named in the first
        (f"{path} desc&$top=20", newest_first[:20], 1, "2026-03-01"),
        (f"{path} desc&$top=20&$skip=20", newest_first[20:40], 1, "2026-03-01"),
        (f"{path} desc&$top=60", newest_first[:60], 2, "2026-03-01"),
        (f"{path} asc&$top=10", newest_first[::-1][:10], 1, "2026-03-01"),
        (f"{path} asc&$top=10&$skip=45", newest_first[::-1][45:55], 2, "2026-03-01"),
    ]
    event.listen(months_database.engine, "before_cursor_execute", note)
    try:
        with TestClient(create_app(settings, database=months_database)) as client:
            for query, expected, count, month in cases:
                statements.clear()
                assert [o["@iot.id"] for o in sta(client, query)] == expected, query
                assert len(statements) == count, (query, statements)
                assert f"'{month}" in statements[0], (query, statements[0])
    finally:
        event.remove(months_database.engine, "before_cursor_execute", note)


def test_partitioning_is_for_postgresql_only(tmp_path: Any) -> None:
    """On SQLite partitioning is refused with a message; the table stays as it is."""
    database = Database(f"sqlite:///{tmp_path / 'one.sqlite3'}")
    database.upgrade()
    with database.begin() as conn, pytest.raises(BadRequest, match="PostgreSQL only"):
        partition_observations(conn, NOW)
    database.dispose()
