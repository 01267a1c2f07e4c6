"""sta: ids never reused on SQLite; one generated FeatureOfInterest per Location

SQLite gives a new row the largest id plus one, so deleting the newest Thing handed its id to
the next one, and links and MQTT subscriptions to the old id then addressed the new entity.
AUTOINCREMENT keeps ids rising; SQLite cannot add it to a table, so each SensorThings table is
rebuilt by SQLite's documented procedure (new table, copy, drop, rename, then its indexes and
triggers again), with foreign keys off (see env.py) so dropping the old table cascades nothing.
PostgreSQL's sequences never reuse ids.

Concurrent writers could each generate a FeatureOfInterest for the same Location on
PostgreSQL; a unique index on generated_from_location_id now lets only one in (the others use
it). Duplicates made before are kept as plain FeaturesOfInterest, as Observations refer to them.

Revision ID: sta_0002
Revises: sta_0001
Create Date: 2026-12-07 03:00:00
"""

import re
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = 'sta_0002'
down_revision: str | Sequence[str] | None = 'sta_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("things", "locations", "historical_locations", "sensors", "observed_properties",
          "datastreams", "features_of_interest", "observations")
GENERATED_INDEX = "ix_features_of_interest_generated_from_location_id"


def _rebuild_with_autoincrement(table: str, autoincrement: bool) -> None:
    bind = op.get_bind()
    create = bind.execute(text("SELECT sql FROM sqlite_master WHERE type = 'table' AND "
                               "name = :name"), {"name": table}).scalar_one()
    if autoincrement:
        column = re.compile(r"\bid INTEGER NOT NULL,")
        key = re.compile(rf",\s*CONSTRAINT pk_{table} PRIMARY KEY \(id\)")
        if not column.search(create) or not key.search(create):
            raise RuntimeError(f"unexpected schema of {table}: {create}")
        create = key.sub("", column.sub(
            f"id INTEGER NOT NULL CONSTRAINT pk_{table} PRIMARY KEY AUTOINCREMENT,", create, 1), 1)
    else:
        column = re.compile(rf"\bid INTEGER NOT NULL CONSTRAINT pk_{table} PRIMARY KEY "
                            r"AUTOINCREMENT,")
        if not column.search(create):
            raise RuntimeError(f"unexpected schema of {table}: {create}")
        create = column.sub("id INTEGER NOT NULL,", create, 1).rstrip().rstrip(")").rstrip()
        create += f", \n\tCONSTRAINT pk_{table} PRIMARY KEY (id)\n)"
    create = re.sub(rf"^CREATE TABLE \"?{table}\"?", f"CREATE TABLE _new_{table}", create)
    dependants = bind.execute(text(
        "SELECT sql FROM sqlite_master WHERE tbl_name = :name AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL ORDER BY type, name"), {"name": table}).scalars().all()
    op.execute(create)
    op.execute(f"INSERT INTO _new_{table} SELECT * FROM {table}")
    op.execute(f"DROP TABLE {table}")
    op.execute(f"ALTER TABLE _new_{table} RENAME TO {table}")
    for statement in dependants:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            _rebuild_with_autoincrement(table, autoincrement=True)
    op.execute("UPDATE features_of_interest SET generated_from_location_id = NULL "
               "WHERE generated_from_location_id IS NOT NULL AND id NOT IN ("
               "SELECT min(id) FROM features_of_interest "
               "WHERE generated_from_location_id IS NOT NULL "
               "GROUP BY generated_from_location_id)")
    op.drop_index(GENERATED_INDEX, table_name="features_of_interest")
    op.create_index(GENERATED_INDEX, "features_of_interest", ["generated_from_location_id"],
                    unique=True)


def downgrade() -> None:
    op.drop_index(GENERATED_INDEX, table_name="features_of_interest")
    op.create_index(GENERATED_INDEX, "features_of_interest", ["generated_from_location_id"])
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            _rebuild_with_autoincrement(table, autoincrement=False)
