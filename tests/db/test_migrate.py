"""Migrations: `placehub db upgrade` brings SQLite and PostgreSQL to every branch head."""

from sqlalchemy import inspect

from placehub.db import Database
from placehub.db.migrate import applied_revisions, head_revisions
from placehub.db.schema import metadata


def test_database_is_at_every_head(database: Database) -> None:
    """After upgrade the database records every branch head and has every table of the metadata."""
    assert head_revisions(database.url) <= applied_revisions(database.url)
    existing = set(inspect(database.engine).get_table_names())
    assert set(metadata.tables) <= existing


def test_sqlite_pragmas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """SQLite connections run in WAL mode with foreign keys enforced."""
    database = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with database.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    database.dispose()
