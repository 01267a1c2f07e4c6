"""The credits of the data each page shows, so every page that shows data names its sources.

Which sources a page draws on is listed here once, by path, rather than in each view; the credit
lines themselves come from the data folder's ATTRIBUTION.md (``placehub.attribution``), the same
record "About the data" shows in full.
"""

from __future__ import annotations

from pathlib import Path

from placehub.attribution import credits_for

# A kind of data -> the ATTRIBUTION.md paths it comes from ("sensors" is the council's own).
SOURCES: dict[str, tuple[str, ...]] = {
    "sensors": (),
    "boundaries": ("wards.geojson", "lsoas.geojson"),
    "roads": ("roads.osm.pbf",),
    "deprivation": ("iod2019/",),
    "air": ("air/",),
    "postcodes": ("postcodes.csv",),
}

# Path prefix -> the kinds of data its pages show; the longest matching prefix wins.
PAGE_SOURCES: dict[str, tuple[str, ...]] = {
    "/overview": ("sensors",),
    "/map": ("sensors", "boundaries", "roads"),
    "/public/map": ("sensors", "boundaries", "roads"),
    "/assets/": ("sensors", "boundaries", "air"),
    "/rounds/": ("sensors", "roads", "boundaries"),
    "/alerts": ("sensors",),
    "/air": ("sensors", "air"),
    "/public/air": ("sensors", "air"),
    "/places": ("sensors", "boundaries"),
    "/places/": ("sensors", "boundaries", "deprivation"),
    "/public/places": ("sensors", "boundaries"),
    "/public/places/": ("sensors", "boundaries", "deprivation"),
    "/public/assets/": ("sensors", "boundaries", "air"),
    "/my-area": ("sensors", "boundaries", "postcodes"),
    "/devices": ("sensors",),
    "/data": ("sensors", "boundaries", "roads", "deprivation", "air", "postcodes"),
}


def sensor_credit(council_name: str) -> str:
    """The credit line of the council's own sensor readings."""
    return f"Sensor readings: {council_name}, published through placehub"


def kinds_for(path: str) -> tuple[str, ...]:
    """The kinds of data the page at ``path`` shows (none for pages without data)."""
    matches = [prefix for prefix in PAGE_SOURCES
               if path == prefix or (prefix.endswith("/") and path.startswith(prefix))]
    return PAGE_SOURCES[max(matches, key=len)] if matches else ()


def page_credits(path: str, data_dir: Path, council_name: str,
                 extra: list[str] | None = None) -> list[str]:
    """Credit lines for the page at ``path``, then ``extra`` ones (e.g. indicator sources)."""
    lines: list[str] = []
    for kind in kinds_for(path):
        found = [sensor_credit(council_name)] if kind == "sensors" else credits_for(
            data_dir, *SOURCES[kind])
        lines += [line for line in found if line not in lines]
    lines += [line for line in extra or [] if line not in lines]
    return lines
