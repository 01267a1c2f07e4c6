"""The test helper that restores a built database instead of building it again."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from placehub.access import service
from placehub.access.tables import organisations
from placehub.db import Database
from tests import db_snapshot


def test_restored_rows_equal_the_snapshot_and_new_ids_follow_them(database: Database) -> None:
    """After a restore every row is back with its id, and the next insert takes the next id
    (the id sequences were moved on past the restored rows)."""
    with database.begin() as conn:
        for slug in ("rutland", "sutton", "bury"):
            service.ensure_organisation(conn, slug, slug.title())
    snapshot = db_snapshot.take(database)
    with database.begin() as conn:
        conn.execute(organisations.delete())
    db_snapshot.restore(database, snapshot)
    assert db_snapshot.take(database) == snapshot
    with database.begin() as conn:
        new_id = service.ensure_organisation(conn, "leeds", "Leeds")
        assert new_id == conn.execute(select(func.max(organisations.c.id))).scalar_one()
        assert new_id > max(row["id"] for row in snapshot.rows["organisations"])


def test_a_build_runs_once_and_is_restored_after(database: Database) -> None:
    """``built_once`` runs the builder the first time, then restores its rows without it."""
    calls = []

    def build() -> str:
        calls.append(1)
        with database.begin() as conn:
            service.ensure_organisation(conn, "rutland", "Rutland")
        return "built"

    key = ("snapshot test", database.url)
    assert db_snapshot.built_once(key, database, build) == "built"
    with database.begin() as conn:
        conn.execute(organisations.delete())
    assert db_snapshot.built_once(key, database, build) == "built"
    with database.connect() as conn:
        assert conn.execute(select(organisations.c.slug)).scalars().all() == ["rutland"]
    assert calls == [1]


def test_a_build_is_not_reused_across_a_local_midnight(database: Database) -> None:
    """Data built at 23:58 London time is built again at 00:03, within the reuse window: the
    tests' "today" and "tomorrow" have moved on."""
    import time_machine

    calls = []

    def build() -> int:
        calls.append(1)
        with database.begin() as conn:
            service.ensure_organisation(conn, "rutland", "Rutland")
        return len(calls)

    key = ("midnight test", database.url)
    with time_machine.travel(datetime(2026, 3, 14, 23, 58, tzinfo=UTC), tick=False):
        assert db_snapshot.built_once(key, database, build) == 1
        assert db_snapshot.built_once(key, database, build) == 1
    db_snapshot.empty(database)
    with time_machine.travel(datetime(2026, 3, 15, 0, 3, tzinfo=UTC), tick=False):
        assert db_snapshot.built_once(key, database, build) == 2
