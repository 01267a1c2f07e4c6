"""Alembic environment: one metadata for all concerns, batch mode for SQLite."""

from alembic import context

import placehub.db.schema  # noqa: F401  (registers every table on the metadata)
from placehub.db.engine import make_engine
from placehub.db.metadata import metadata

config = context.config


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
