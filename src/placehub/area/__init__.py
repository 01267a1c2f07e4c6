"""A council's own area: its public data fetched from the official sources, and loaded.

Other concerns use the data layout from here (``AreaFiles``, ``area_files``), fetching from
``placehub.area.fetch`` (``fetch_area``, ``sources_from_settings``) and loading from
``placehub.area.load`` (``load_area``). This module imports nothing heavier than the layout,
so that rounds and the demo can ask where an area's files are without loading the rest.
"""

from placehub.area.files import AreaFiles, area_files, slug_of

__all__ = ["AreaFiles", "area_files", "slug_of"]
