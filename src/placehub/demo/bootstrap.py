"""The demo's data on first run: used where it is, fetched from the official sources where not.

With the shared data folder in place nothing is downloaded. Without it (a fresh clone, a
council's server) the demo fetches what it reads (boundaries, the OSM extract, the IoD 2019 and
the air-quality replay) into the data folder, or says in one sentence what to get and where.
"""

from __future__ import annotations

from placehub.area.download import Downloader, Progress, SourceUnavailable, no_progress
from placehub.area.fetch import (
    DEMO_SOURCE_KEYS,
    choose_sources,
    fetch_area,
    missing_sources,
    sources_from_settings,
)
from placehub.area.source import Area
from placehub.config import Settings
from placehub.demo.build import ORGANISATION_NAME, demo_area
from placehub.errors import NotFound

RUTLAND = Area("E06000017", "Rutland", "rutland")


class DemoDataMissing(NotFound):
    """The demo's data is not in the data folder and could not be fetched."""


def ensure_demo_data(settings: Settings, progress: Progress = no_progress,
                     announce: Progress | None = None) -> list[str]:
    """Fetch what the demo lacks (nothing when it is all there); the keys fetched."""
    area = demo_area(settings)
    files = area.files
    sources = missing_sources(choose_sources(sources_from_settings(settings), DEMO_SOURCE_KEYS),
                              files)
    if not sources:
        return []
    fetched = files.read_manifest().get("area", {})
    if files.slug == RUTLAND.slug:
        target = RUTLAND
    elif fetched.get("code"):
        target = Area(str(fetched["code"]), str(fetched.get("name") or files.slug), files.slug)
    else:
        raise DemoDataMissing(
            f"no data for the area {files.slug!r} in {files.data_dir}: fetch it with "
            f"'placehub area fetch NAME' (or set PLACEHUB_AREA to a fetched area)")
    if announce is not None:
        announce(f"{files.data_dir} lacks {', '.join(s.key for s in sources)}: fetching "
                 f"{target.name}'s public data from the official sources", 0, None)
    try:
        with Downloader(settings.area_cache_dir, progress=progress) as downloader:
            fetch_area(target, files, sources, downloader,
                       council_name=ORGANISATION_NAME if target == RUTLAND else None)
    except SourceUnavailable as error:
        raise DemoDataMissing(
            f"{error.source} could not be reached ({error.cause}), so download "
            f"{target.name}'s data with 'placehub --data-dir DIR area fetch {target.name}' on a "
            f"machine with internet access (or take placehub's shared data folder) and put its "
            f"{files.slug}/, iod2019/ and air/ folders and ATTRIBUTION.md in {files.data_dir} "
            "(or point PLACEHUB_DATA_DIR at them).") from None
    return [s.key for s in sources]
