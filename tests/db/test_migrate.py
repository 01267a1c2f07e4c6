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


def test_sqlite_tables_rebuilt_with_autoincrement_keep_rows_links_and_index(
        tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Migration sta_0002 on a SQLite database holding a Thing with a Location, Datastream, two
    generated FeaturesOfInterest of that Location and Observations keeps every row (dropping
    the old tables cascades nothing), keeps the spatial triggers working, keeps the oldest
    generated feature as the Location's, and from then on ids are not reused."""
    from placehub.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'before.sqlite3'}"
    upgrade(url, "sta_0001")
    database = Database(url)
    point = "'{\"type\": \"Point\", \"coordinates\": [-0.72, 52.66]}'"
    statements = [
        "INSERT INTO organisations (slug, name, created_at) VALUES ('r', 'R', "
        "'2026-01-01 00:00:00')",
        "INSERT INTO things (name, description, organisation_id, visibility) VALUES "
        "('Bin', '', 1, 'public')",
        f"INSERT INTO locations (name, description, encoding_type, location, organisation_id, "
        f"min_x, min_y, max_x, max_y) VALUES ('a', '', 'x', {point}, 1, -0.72, 52.66, -0.72, "
        "52.66)",
        "INSERT INTO thing_locations (thing_id, location_id) VALUES (1, 1)",
        "INSERT INTO sensors (name, description, encoding_type, metadata, organisation_id) "
        "VALUES ('s', '', 'x', 'm', 1)",
        "INSERT INTO observed_properties (name, definition, description, organisation_id) "
        "VALUES ('p', 'd', '', 1)",
        "INSERT INTO datastreams (name, description, observation_type, unit_of_measurement, "
        "thing_id, sensor_id, observed_property_id, observation_count) VALUES ('d', '', 'o', "
        "'{}', 1, 1, 1, 2)",
        *[f"INSERT INTO features_of_interest (name, description, encoding_type, feature, "
          f"organisation_id, generated_from_location_id, min_x, min_y, max_x, max_y) VALUES "
          f"('a', '', 'x', {point}, 1, 1, -0.72, 52.66, -0.72, 52.66)" for _ in range(2)],
        *[f"INSERT INTO observations (datastream_id, feature_of_interest_id, "
          f"phenomenon_time_start, result_type, result_number) VALUES (1, {f}, "
          f"'2026-01-0{f} 00:00:00', 1, {f})" for f in (1, 2)],
        "INSERT INTO things (name, description, organisation_id, visibility) VALUES "
        "('Newest', '', 1, 'public')",
        "DELETE FROM things WHERE id = 2",
    ]
    with database.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    database.dispose()
    upgrade(url)
    database = Database(url)
    with database.begin() as conn:
        count = {table: conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
                 for table in ("things", "locations", "datastreams", "features_of_interest",
                               "observations", "thing_locations")}
        assert count == {"things": 1, "locations": 1, "datastreams": 1,
                         "features_of_interest": 2, "observations": 2, "thing_locations": 1}
        assert conn.exec_driver_sql(
            "SELECT id FROM features_of_interest WHERE generated_from_location_id = 1").all() == [
            (1,)]
        conn.exec_driver_sql("UPDATE locations SET min_x = -0.5, max_x = -0.5")
        assert conn.exec_driver_sql("SELECT min_x FROM locations_rtree").scalar() == (
            pytest.approx(-0.5))
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        conn.exec_driver_sql("INSERT INTO things (name, description, organisation_id, "
                             "visibility) VALUES ('Next', '', 1, 'public')")
        # Thing 2 was deleted before the migration, which cannot know of it; from now on the
        # sequence only rises.
        newest = conn.exec_driver_sql("SELECT max(id) FROM things").scalar()
        conn.exec_driver_sql(f"DELETE FROM things WHERE id = {newest}")
        conn.exec_driver_sql("INSERT INTO things (name, description, organisation_id, "
                             "visibility) VALUES ('After', '', 1, 'public')")
        assert conn.exec_driver_sql("SELECT max(id) FROM things").scalar() == newest + 1
    database.dispose()
