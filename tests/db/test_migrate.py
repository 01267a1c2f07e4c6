"""Migrations: `placehub db upgrade` brings SQLite and PostgreSQL to every branch head."""

import pytest
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


def test_spatial_index_migration_indexes_existing_locations(database: Database,
                                                            tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Migration sta_0001 on a database that already holds Locations puts them in the spatial
    index (R*Tree on SQLite; GiST box index, and PostGIS geometry where available, on
    PostgreSQL), so spatial filters find them at once."""
    from placehub.db.migrate import upgrade
    from placehub.db.scratch import scratch_postgres
    from placehub.sta.spatial import postgis_geometries

    if database.is_sqlite:
        url, drop = f"sqlite:///{tmp_path / 'before.sqlite3'}", None
    else:
        url, drop = scratch_postgres(database.url, "placehub_test_migrate")
    try:
        upgrade(url, "core@head")
        fresh = Database(url)
        with fresh.begin() as conn:
            conn.exec_driver_sql("INSERT INTO organisations (slug, name, created_at) "
                                 "VALUES ('r', 'R', '2026-01-01 00:00:00')")
            conn.exec_driver_sql(
                "INSERT INTO locations (name, description, encoding_type, location, "
                "organisation_id, min_x, min_y, max_x, max_y) VALUES ('a', '', 'x', "
                "'{\"type\": \"Point\", \"coordinates\": [-0.72, 52.66]}', 1, -0.72, 52.66, "
                "-0.72, 52.66)")
        fresh.dispose()
        upgrade(url)
        fresh = Database(url)
        with fresh.connect() as conn:
            if fresh.is_sqlite:
                assert conn.exec_driver_sql(
                    "SELECT id, min_x, max_y FROM locations_rtree").all() == [
                    (1, pytest.approx(-0.72), pytest.approx(52.66))]
            else:
                indexes = conn.exec_driver_sql(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'locations'").scalars()
                assert "ix_locations_bbox" in set(indexes)
                if postgis_geometries(conn):
                    assert conn.exec_driver_sql(
                        "SELECT ST_AsText(geom) FROM locations").scalar() == "POINT(-0.72 52.66)"
        fresh.dispose()
    finally:
        if drop is not None:
            drop()
