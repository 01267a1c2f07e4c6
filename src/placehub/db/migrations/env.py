"""Alembic environment: one metadata for all concerns, batch mode for SQLite."""

from alembic import context

import placehub.db.schema  # noqa: F401  (registers every table on the metadata)
from placehub.db.engine import make_engine
from placehub.db.metadata import metadata

config = context.config


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Migrations that rebuild a table (SQLite's only way to change most of a schema)
            # drop the old one, and with foreign keys on that deletes its rows first and
            # cascades. Off outside any transaction (inside one the pragma does nothing), and
            # checked again afterwards.
            connection.connection.driver_connection.execute(  # type: ignore[union-attr]
                "PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
    engine.dispose()


run_migrations_online()
