"""Imports every concern's table module so the shared metadata knows all tables."""

from placehub.access import tables as access_tables  # noqa: F401
from placehub.alerts import tables as alerts_tables  # noqa: F401
from placehub.assets import tables as assets_tables  # noqa: F401
from placehub.care import tables as care_tables  # noqa: F401
from placehub.db.metadata import metadata
from placehub.governance import tables as governance_tables  # noqa: F401
from placehub.ingest import tables as ingest_tables  # noqa: F401
from placehub.insight import tables as insight_tables  # noqa: F401
from placehub.places import tables as places_tables  # noqa: F401
from placehub.reports import tables as reports_tables  # noqa: F401
from placehub.rounds import tables as rounds_tables  # noqa: F401
from placehub.sta import tables as sta_tables  # noqa: F401

__all__ = ["metadata"]
