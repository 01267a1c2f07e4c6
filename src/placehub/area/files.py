"""Where an area's data lives in the data folder: the one layout fetch writes and the demo reads.

    DATA_DIR/ATTRIBUTION.md                        every source and its licence
    DATA_DIR/<area>/wards.geojson, lsoas.geojson   ONS boundaries of the area (lon/lat)
    DATA_DIR/<area>/roads.osm.pbf                  OpenStreetMap, clipped to the area
    DATA_DIR/<area>/postcodes.csv                  the area's NSPL rows
    DATA_DIR/<area>/area.json                      what was fetched, from where, checksums
    DATA_DIR/iod2019/domain_ranks.csv.gz           IoD 2019 ranks of every LSOA in England
    DATA_DIR/iod2019/population.csv.gz             IoD 2019 population denominators
    DATA_DIR/air/marylebone_road_hourly_2015_2020.csv  the demo's air-quality replay
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from placehub.config import Settings

MANIFEST = "area.json"
IOD_FOLDER = "iod2019"
DOMAIN_RANKS = f"{IOD_FOLDER}/domain_ranks.csv.gz"
POPULATION = f"{IOD_FOLDER}/population.csv.gz"
AIR_REPLAY = "air/marylebone_road_hourly_2015_2020.csv"


def slug_of(name: str) -> str:
    """The folder name for a council: 'Telford and Wrekin' -> 'telford-and-wrekin'."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not slug:
        raise ValueError(f"{name!r} gives no usable folder name")
    return slug


@dataclass(frozen=True)
class AreaFiles:
    """The files of one area (and the national files beside it) in a data folder."""

    data_dir: Path
    slug: str

    @property
    def folder(self) -> Path:
        return self.data_dir / self.slug

    @property
    def wards(self) -> Path:
        return self.folder / "wards.geojson"

    @property
    def lsoas(self) -> Path:
        return self.folder / "lsoas.geojson"

    @property
    def roads(self) -> Path:
        return self.folder / "roads.osm.pbf"

    @property
    def postcodes(self) -> Path:
        return self.folder / "postcodes.csv"

    @property
    def manifest(self) -> Path:
        return self.folder / MANIFEST

    @property
    def domain_ranks(self) -> Path:
        return self.data_dir / DOMAIN_RANKS

    @property
    def population(self) -> Path:
        return self.data_dir / POPULATION

    @property
    def air_replay(self) -> Path:
        return self.data_dir / AIR_REPLAY

    @property
    def attribution(self) -> Path:
        return self.data_dir / "ATTRIBUTION.md"

    def relative(self, path: Path) -> str:
        """``path`` as written in ATTRIBUTION.md: relative to the data folder."""
        return path.relative_to(self.data_dir).as_posix()

    def read_manifest(self) -> dict[str, Any]:
        """What ``placehub area fetch`` recorded here, or {} for data placed by hand."""
        try:
            return dict(json.loads(self.manifest.read_text(encoding="utf-8")))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}


def area_files(settings: Settings, slug: str | None = None) -> AreaFiles:
    """The files of ``slug`` (default: the ``area`` setting) in the configured data folder."""
    return AreaFiles(settings.data_path, slug or str(settings.area))
