"""Imports every concern's table module so the shared metadata knows all tables."""

from placehub.access import tables as access_tables  # noqa: F401
from placehub.db.metadata import metadata
from placehub.sta import tables as sta_tables  # noqa: F401

__all__ = ["metadata"]
