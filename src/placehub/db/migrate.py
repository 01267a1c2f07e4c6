"""Alembic, driven from code: `placehub db upgrade` and the test fixtures call these.

Each concern (core, ingest, places, rounds, alerts, insight) owns its own Alembic branch, labelled
with the concern's name, so they can evolve independently; ``upgrade`` moves every branch to its
head. Only `placehub db upgrade`, `serve` and `demo` change the schema; every other command asks
``schema_state`` first and says what to run instead of migrating unasked.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from placehub.db.engine import make_engine, normalise_url
from placehub.errors import PlacehubError

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


@cache
def _scripts() -> ScriptDirectory:
    # The migration scripts of this installation: read once per process (commands ask on start).
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def _with_dependencies(current: set[str]) -> set[str]:
    return {
        revision.revision
        for revision in _scripts().revision_map.iterate_revisions(
            tuple(current), "base", inclusive=True
        )
    } if current else set()


def applied_revisions(url: str) -> set[str]:
    """Every revision the database has, dependencies of other branches included.

    Alembic records only the newest revision of each line, so a branch whose head another
    branch depends on is implied, not listed; walk down from the recorded ones to find all.
    """
    return _with_dependencies(current_revisions(url))


def head_revisions(url: str) -> set[str]:
    """The head revision of every migration branch."""
    return set(_scripts().get_heads())


class SchemaNotReady(PlacehubError):
    """The database is missing, empty, behind this placehub or ahead of it: nothing was changed."""


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands against this placehub's migrations, in plain words.

    ``kind`` is one of "current", "missing" (no SQLite file), "empty" (no placehub tables),
    "behind" (migrations to apply), "ahead" (made by a newer placehub) or "unreachable".
    """

    kind: str
    problem: str = ""
    pending: frozenset[str] = frozenset()

    @property
    def current(self) -> bool:
        return self.kind == "current"

    @property
    def upgradable(self) -> bool:
        """True when `placehub db upgrade` can bring the database to this placehub's schema."""
        return self.kind in {"missing", "empty", "behind"}


def describe_url(url: str) -> str:
    """The database URL as a person should see it: the file for SQLite, no password otherwise."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)


def known_revisions(url: str) -> set[str]:
    """Every revision of this placehub's migrations."""
    return {revision.revision for revision in _scripts().walk_revisions()}


def schema_state(url: str) -> SchemaState:
    """Where the database at ``url`` stands, and what to run if it is not current.

    Reads only: a missing SQLite file is not created and nothing is migrated.
    """
    where = describe_url(url)
    parsed = make_url(normalise_url(url))
    if (parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
            and not Path(parsed.database).exists()):
        return SchemaState("missing", f"there is no database at {where}: run "
                                      "'placehub db upgrade' to create it")
    try:
        current = current_revisions(url)
    except SQLAlchemyError as error:
        cause = str(getattr(error, "orig", None) or error).strip().splitlines()
        return SchemaState("unreachable", f"cannot read the database at {where}: "
                                          f"{cause[0] if cause else type(error).__name__}")
    if not current:
        return SchemaState("empty", f"the database at {where} has no placehub tables yet: run "
                                    "'placehub db upgrade' to create them")
    known = known_revisions(url)
    if current - known:
        return SchemaState("ahead", f"the database at {where} was migrated by a newer placehub "
                                    f"(revisions this one does not know: "
                                    f"{', '.join(sorted(current - known))}): use that version")
    pending = known - _with_dependencies(current)
    if pending:
        return SchemaState("behind", f"the database at {where} needs {len(pending)} migration(s) "
                                     f"of this placehub ({', '.join(sorted(pending))}): run "
                                     "'placehub db upgrade' to apply them", frozenset(pending))
    return SchemaState("current")


def require_current_schema(url: str) -> None:
    """Raise ``SchemaNotReady`` saying what to run unless the database is at every head."""
    state = schema_state(url)
    if not state.current:
        raise SchemaNotReady(state.problem)
