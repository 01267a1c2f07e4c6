"""The extension point for data sources: one small Protocol, and what a source works with.

A source knows its documented URL pattern, its licence and credit, and how to turn what it
downloads into the files of an area. The built-in ones (ONS boundaries and postcodes,
Geofabrik, MHCLG, Defra) are implemented through it, the same way another source would be.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from placehub.area.download import Downloaded, Downloader, Progress, sha256_of
from placehub.area.files import AreaFiles


@dataclass(frozen=True)
class Area:
    """A local authority district: its ONS code (E06000017), name and folder name."""

    code: str
    name: str
    slug: str


@dataclass(frozen=True)
class FetchJob:
    """What a source fetches for, where it writes, and through which downloader."""

    area: Area
    files: AreaFiles
    downloader: Downloader
    progress: Progress
    # Metres of map kept around the area's boundary in the OSM extract (roads leaving and
    # re-entering the area stay connected).
    buffer_m: float = 2000.0


@dataclass
class SourceResult:
    """What one source did: downloads, files written (with checksums), counts, notes."""

    downloads: list[Downloaded] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def record(self, files: AreaFiles) -> dict[str, Any]:
        """The manifest entry: URLs and checksums of downloads and of the files written."""
        return {
            "downloads": [d.record() for d in self.downloads],
            "files": {files.relative(path): {"bytes": path.stat().st_size,
                                             "sha256": sha256_of(path)}
                      for path in self.written},
            "counts": self.counts,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Credit:
    """One row of ATTRIBUTION.md: the files, what they are, where from, licence and credit."""

    paths: tuple[str, ...]
    what: str
    source: str
    licence: str


class Source(Protocol):
    """One official data source."""

    key: str  # short name used on the command line: boundaries, osm, postcodes, iod, air
    title: str  # who publishes it, named in every message about it
    documented_url: str  # the URL pattern as the publisher documents it
    licence: str
    update_cycle: str

    def outputs(self, files: AreaFiles) -> list[Path]:
        """The files this source writes for an area (all present: nothing to fetch)."""
        ...

    def fetch(self, job: FetchJob) -> SourceResult:
        """Download, filter to the area and write the outputs."""
        ...

    def credits(self, files: AreaFiles) -> list[Credit]:
        """The ATTRIBUTION.md rows for what it wrote."""
        ...
