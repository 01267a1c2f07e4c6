"""Fetching an area: every source in turn, then the manifest and ATTRIBUTION.md.

The manifest (``<area>/area.json``) records, per source, the URLs downloaded with their size
and SHA-256, the files written with theirs, counts and notes; ATTRIBUTION.md gains (or
updates) one row per file with the source's licence and credit line.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from placehub.area.air import DefraAirReplay
from placehub.area.deprivation import MhclgDeprivation
from placehub.area.download import Downloader
from placehub.area.files import AreaFiles
from placehub.area.geofabrik import GeofabrikExtract
from placehub.area.ons import OnsBoundaries, OnsPostcodeLookup
from placehub.area.source import Area, FetchJob, Source, SourceResult
from placehub.attribution import parse_attribution, render_attribution
from placehub.config import Settings
from placehub.errors import BadRequest

# Boundaries first: the OSM extract is chosen and clipped by them.
SOURCE_KEYS = ("boundaries", "osm", "postcodes", "iod", "air")
# A council's own data; the air-quality replay is the demo's, fetched when asked for.
COUNCIL_SOURCE_KEYS = ("boundaries", "osm", "postcodes", "iod")
# What the demo reads (it places assets on OSM and replays air quality; no postcodes).
DEMO_SOURCE_KEYS = ("boundaries", "osm", "iod", "air")


def sources_from_settings(settings: Settings) -> dict[str, Source]:
    """The built-in sources at their configured addresses, by key, in fetch order."""
    sources: list[Source] = [
        OnsBoundaries(settings.area_ons_url),
        GeofabrikExtract(settings.area_geofabrik_url),
        OnsPostcodeLookup(settings.area_nspl_url),
        MhclgDeprivation(settings.area_iod_url),
        DefraAirReplay(settings.area_defra_url),
    ]
    return {source.key: source for source in sources}


def choose_sources(sources: dict[str, Source], only: Sequence[str] | None,
                   default: Sequence[str] = COUNCIL_SOURCE_KEYS) -> list[Source]:
    """The sources named in ``only`` (``default`` when empty), in fetch order; unknown names
    refused."""
    wanted = [k.strip() for k in only or () if k.strip()] or list(default)
    unknown = [k for k in wanted if k not in sources]
    if unknown:
        raise BadRequest(f"unknown source {', '.join(unknown)}: choose from "
                         f"{', '.join(sources)}")
    return [source for key, source in sources.items() if key in wanted]


def missing_sources(sources: Sequence[Source], files: AreaFiles) -> list[Source]:
    """The sources whose files are not all in the data folder yet."""
    return [s for s in sources if not all(p.exists() for p in s.outputs(files))]


@dataclass
class FetchReport:
    """What a fetch did, per source, and how long each took."""

    area: Area
    results: dict[str, SourceResult] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def check_writable(files: AreaFiles) -> None:
    """Refuse early, in plain words, when the data folder cannot be written."""
    try:
        files.folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BadRequest(f"cannot create {files.folder} ({error.strerror}): set "
                         "PLACEHUB_DATA_DIR (or --data-dir) to a folder you can write") from None
    if not os.access(files.folder, os.W_OK) or not os.access(files.data_dir, os.W_OK):
        raise BadRequest(f"{files.data_dir} is read-only: set PLACEHUB_DATA_DIR (or "
                         "--data-dir) to a folder you can write")


def fetch_area(area: Area, files: AreaFiles, sources: Sequence[Source],
               downloader: Downloader, *, buffer_m: float = 2000.0,
               council_name: str | None = None) -> FetchReport:
    """Fetch ``sources`` for ``area`` into ``files``; the manifest is updated after each one."""
    check_writable(files)
    report = FetchReport(area)
    job = FetchJob(area, files, downloader, downloader.progress, buffer_m)
    manifest = files.read_manifest()
    manifest["area"] = {"code": area.code, "name": area.name, "slug": area.slug,
                        "council": council_name or manifest.get("area", {}).get("council")
                        or default_council_name(area.name)}
    for source in sources:
        started = time.perf_counter()
        result = source.fetch(job)
        report.results[source.key] = result
        report.seconds[source.key] = time.perf_counter() - started
        manifest.setdefault("sources", {})[source.key] = {
            "title": source.title, "documented_url": source.documented_url,
            "licence": source.licence, "update_cycle": source.update_cycle,
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **result.record(files)}
        files.manifest.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                  encoding="utf-8")
        write_credits(files, [source])
    return report


def default_council_name(name: str) -> str:
    """How the hub names a council when not told: 'Sutton Council'."""
    return f"{name} Council"


def write_credits(files: AreaFiles, sources: Sequence[Source]) -> None:
    """Add or update the ATTRIBUTION.md rows of ``sources`` (other rows are kept)."""
    existing: dict[str, Any] = {"title": "", "sources": [], "notes": []}
    if files.attribution.exists():
        existing = parse_attribution(files.attribution.read_text(encoding="utf-8"))
    rows: list[dict[str, str]] = list(existing["sources"])
    for source in sources:
        for credit in source.credits(files):
            row = {"path": ", ".join(credit.paths), "what": credit.what,
                   "source": credit.source, "licence": credit.licence}
            paths = set(credit.paths)
            same = [i for i, r in enumerate(rows)
                    if paths & {p.strip() for p in r.get("path", "").split(",")}]
            # The row takes the place of the one it updates; a new file's row goes last.
            at = same[0] if same else len(rows)
            rows = [r for i, r in enumerate(rows) if i not in same]
            rows.insert(min(at, len(rows)), row)
    kwargs = {"title": existing["title"]} if existing["title"] else {}
    files.attribution.write_text(render_attribution(rows, list(existing["notes"]), **kwargs),
                                 encoding="utf-8")
