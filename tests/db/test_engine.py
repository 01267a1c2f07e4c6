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
