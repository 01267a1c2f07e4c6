"""sta: spatial index of Locations and FeaturesOfInterest

SQLite: an R*Tree virtual table per table, kept current by triggers. PostgreSQL: a GiST index
on the bounding box (core PostgreSQL, no extension); when the server offers PostGIS, also a
``geom`` geometry column set by a trigger from the GeoJSON, with its own GiST index, so exact
spatial predicates run in the database. See docs/sta-query.md ("Spatial index").

Revision ID: sta_0001
Revises:
Create Date: 2026-12-08 00:00:00
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = 'sta_0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ('sta',)
depends_on: str | Sequence[str] | None = 'core_0001'

# table -> its GeoJSON column
GEOMETRIES = {"locations": "location", "features_of_interest": "feature"}

# GeoJSON (a geometry, Feature or FeatureCollection) as a PostGIS geometry in WGS 84; NULL when
# PostGIS cannot read it, so an odd stored value never makes a write fail.
POSTGIS_FUNCTION = """
CREATE OR REPLACE FUNCTION placehub_geojson_geometry(value jsonb) RETURNS geometry
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF value IS NULL THEN
        RETURN NULL;
    ELSIF value->>'type' = 'Feature' THEN
        RETURN ST_SetSRID(ST_GeomFromGeoJSON(value->'geometry'), 4326);
    ELSIF value->>'type' = 'FeatureCollection' THEN
        RETURN (SELECT ST_SetSRID(ST_Collect(ST_GeomFromGeoJSON(f->'geometry')), 4326)
                FROM jsonb_array_elements(value->'features') AS f
                WHERE jsonb_typeof(f->'geometry') = 'object');
    END IF;
    RETURN ST_SetSRID(ST_GeomFromGeoJSON(value), 4326);
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END $$;
"""


def _sqlite_upgrade() -> None:
    for table in GEOMETRIES:
        rtree = f"{table}_rtree"
        op.execute(f"CREATE VIRTUAL TABLE {rtree} USING rtree(id, min_x, max_x, min_y, max_y)")
        box = "NEW.id, NEW.min_x, NEW.max_x, NEW.min_y, NEW.max_y"
        has_box = ("NEW.min_x IS NOT NULL AND NEW.min_y IS NOT NULL AND NEW.max_x IS NOT NULL "
                   "AND NEW.max_y IS NOT NULL")
        op.execute(f"CREATE TRIGGER {rtree}_insert AFTER INSERT ON {table} WHEN {has_box} "
                   f"BEGIN INSERT INTO {rtree} VALUES ({box}); END")
        # Only when the box really changes: updates of other columns cost nothing.
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("min_x", "min_y", "max_x",
                                                                  "max_y"))
        op.execute(f"CREATE TRIGGER {rtree}_update AFTER UPDATE OF min_x, min_y, max_x, max_y "
                   f"ON {table} WHEN {changed} BEGIN "
                   f"DELETE FROM {rtree} WHERE id = OLD.id; "
                   f"INSERT INTO {rtree} SELECT {box} WHERE {has_box}; END")
        op.execute(f"CREATE TRIGGER {rtree}_delete AFTER DELETE ON {table} "
                   f"BEGIN DELETE FROM {rtree} WHERE id = OLD.id; END")
        op.execute(f"INSERT INTO {rtree} SELECT id, min_x, max_x, min_y, max_y FROM {table} "
                   "WHERE min_x IS NOT NULL AND min_y IS NOT NULL AND max_x IS NOT NULL "
                   "AND max_y IS NOT NULL")


def _postgis_available() -> bool:
    """True when PostGIS is installed in this database, or can be (the extension is on the
    server and this role may create it)."""
    bind = op.get_bind()
    if bind.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).first():
        return True
    if not bind.execute(text(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")).first():
        return False
    savepoint = bind.begin_nested()
    try:
        bind.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    except Exception:  # noqa: BLE001 - no right to create it: the bounding-box index serves
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def _postgresql_upgrade() -> None:
    for table in GEOMETRIES:
        op.execute(f"CREATE INDEX ix_{table}_bbox ON {table} USING gist "
                   "(box(point(min_x, min_y), point(max_x, max_y)))")
    if not _postgis_available():
        return
    op.execute(POSTGIS_FUNCTION)
    for table, column in GEOMETRIES.items():
        op.execute(f"ALTER TABLE {table} ADD COLUMN geom geometry(Geometry, 4326)")
        op.execute(f"""
CREATE OR REPLACE FUNCTION {table}_set_geom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.geom := placehub_geojson_geometry(NEW.{column});
    RETURN NEW;
END $$""")
        # Dropping PostGIS later takes the trigger with it, and placehub falls back to the
        # bounding-box index.
        op.execute(f"ALTER FUNCTION {table}_set_geom() DEPENDS ON EXTENSION postgis")
        op.execute(f"CREATE TRIGGER {table}_geom BEFORE INSERT OR UPDATE OF {column} "
                   f"ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_set_geom()")
        op.execute(f"UPDATE {table} SET geom = placehub_geojson_geometry({column})")
        op.execute(f"CREATE INDEX ix_{table}_geom ON {table} USING gist (geom)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_upgrade()
    else:
        _postgresql_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in GEOMETRIES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_rtree_{event}")
            op.execute(f"DROP TABLE IF EXISTS {table}_rtree")
        return
    for table in GEOMETRIES:
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_bbox")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_geom ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_set_geom()")
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS geom")
    op.execute("DROP FUNCTION IF EXISTS placehub_geojson_geometry(jsonb)")
