"""Storage: SQLAlchemy Core tables, the engine factory and Alembic migrations."""

from placehub.db.engine import Database, make_engine

__all__ = ["Database", "make_engine"]
