"""The engine factory's session settings."""

from placehub.db import Database


def test_postgresql_sessions_run_without_jit_or_parallel_workers(database: Database) -> None:
    """PostgreSQL connections switch off JIT and parallel workers (short queries paid more for
    them than they gained); SQLite connections are unaffected."""
    with database.connect() as conn:
        if database.is_sqlite:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            return
        assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
        assert conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar() == "0"


def test_json_columns_refuse_non_finite_numbers(database: Database) -> None:
    """A JSON value holding infinity or NaN is refused on both databases instead of being
    stored as text no JSON reader takes back."""
    import pytest
    from sqlalchemy import insert
    from sqlalchemy.exc import StatementError

    from placehub.access.service import ensure_organisation
    from placehub.errors import BadRequest
    from placehub.sta.tables import things

    with database.begin() as conn:
        org = ensure_organisation(conn, "rutland", "Rutland")
        for value in (float("inf"), float("nan")):
            # SQLite's driver binds inside SQLAlchemy (which wraps the error), psycopg outside.
            with pytest.raises((StatementError, BadRequest)) as refused:
                conn.execute(insert(things).values(name="t", description="", organisation_id=org,
                                                   visibility="public", properties={"v": value}))
            assert isinstance(getattr(refused.value, "orig", refused.value), BadRequest)
