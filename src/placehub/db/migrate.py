"""Alembic, driven from code: `placehub db upgrade` and the test fixtures call these.

Each concern (core, ingest, places, rounds, alerts, insight) owns its own Alembic branch, labelled
with the concern's name, so they can evolve independently; ``upgrade`` moves every branch to its
head.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from placehub.db.engine import make_engine, normalise_url

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    """An Alembic configuration for placehub's migrations against ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, target: str = "heads") -> None:
    """Migrate the database at ``url`` to ``target`` (all branch heads by default)."""
    command.upgrade(alembic_config(url), target)


def current_revisions(url: str) -> set[str]:
    """The revisions the database is at now (empty for a new database)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def applied_revisions(url: str) -> set[str]:
    """Every revision the database has, dependencies of other branches included.

    Alembic records only the newest revision of each line, so a branch whose head another
    branch depends on is implied, not listed; walk down from the recorded ones to find all.
    """
    current = current_revisions(url)
    script = ScriptDirectory.from_config(alembic_config(url))
    return {
        revision.revision
        for revision in script.revision_map.iterate_revisions(
            tuple(current), "base", inclusive=True
        )
    } if current else set()


def head_revisions(url: str) -> set[str]:
    """The head revision of every migration branch."""
    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
