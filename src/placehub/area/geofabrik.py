"""OpenStreetMap from Geofabrik: the smallest extract covering the area, clipped to it.

Geofabrik's ``index-v1.json`` is a GeoJSON FeatureCollection of every extract (``id``,
``parent``, ``name``, ``urls.pbf``, the extract's polygon). The smallest extract whose polygon
covers the area is downloaded (resumable), checked against the ``.md5`` published beside it,
and cut to the area's boundary plus a margin with pyosmium.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shapely import Geometry
from shapely.geometry import shape
from shapely.ops import unary_union

from placehub.area.clip import buffered, clip_extract
from placehub.area.download import SourceUnavailable, md5_of
from placehub.area.files import AreaFiles
from placehub.area.source import Credit, FetchJob, SourceResult
from placehub.errors import BadRequest

OFFICIAL_ROOT = "https://download.geofabrik.de"


def area_outline(files: AreaFiles) -> Geometry:
    """The area as one (multi)polygon: the union of its wards."""
    try:
        features = json.loads(files.wards.read_text(encoding="utf-8"))["features"]
    except FileNotFoundError:
        raise BadRequest(f"no {files.wards}: fetch the boundaries first "
                         "(placehub area fetch ... --only boundaries)") from None
    return unary_union([shape(f["geometry"]) for f in features])


def smallest_covering(index: dict[str, Any], area: Geometry) -> dict[str, Any] | None:
    """The properties of the smallest extract in ``index`` whose polygon covers ``area``."""
    best: tuple[float, dict[str, Any]] | None = None
    for feature in index.get("features") or []:
        properties = feature.get("properties") or {}
        if not feature.get("geometry") or not (properties.get("urls") or {}).get("pbf"):
            continue
        polygon = shape(feature["geometry"])
        if polygon.covers(area) and (best is None or polygon.area < best[0]):
            best = (polygon.area, properties)
    return best[1] if best else None


class GeofabrikExtract:
    """The area's OpenStreetMap data (roads, buildings, amenities, green spaces)."""

    key = "osm"
    title = "Geofabrik OpenStreetMap extracts"
    licence = "ODbL 1.0"
    credit = "© OpenStreetMap contributors"
    update_cycle = "daily (the -latest files are replaced every day)"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.documented_url = (f"{self.base_url}/index-v1.json, then the chosen extract's "
                               "urls.pbf (e.g. .../europe/united-kingdom/england/"
                               "rutland-latest.osm.pbf) and its .md5")

    def outputs(self, files: AreaFiles) -> list[Path]:
        return [files.roads]

    def _mirrored(self, url: str) -> str:
        """Geofabrik's absolute URLs, on the configured server (a mirror or a test server)."""
        if url.startswith(OFFICIAL_ROOT):
            return self.base_url + url[len(OFFICIAL_ROOT):]
        return url

    def fetch(self, job: FetchJob) -> SourceResult:
        area = area_outline(job.files)
        index_url = f"{self.base_url}/index-v1.json"
        job.progress(f"{self.title}: index", 0, None)
        index = job.downloader.json(self.title, index_url)
        region = smallest_covering(index, buffered(area, job.buffer_m)) or \
            smallest_covering(index, area)
        if region is None:
            raise SourceUnavailable(self.title, index_url,
                                    f"no extract covers {job.area.name}")
        url = self._mirrored(str(region["urls"]["pbf"]))
        name = f"geofabrik-{str(region['id']).replace('/', '-')}-latest.osm.pbf"
        published_md5 = job.downloader.text(self.title, url + ".md5").split()[0].lower()
        downloaded = job.downloader.file(self.title, url, name)
        if md5_of(downloaded.path) != published_md5:
            if not downloaded.cached:
                downloaded.path.unlink(missing_ok=True)
                raise SourceUnavailable(self.title, url, "the download does not match the "
                                        "published .md5; run the command again")
            # The cached copy is an older "-latest": Geofabrik has published a new one.
            downloaded = job.downloader.file(self.title, url, name, refresh=True)
            if md5_of(downloaded.path) != published_md5:
                raise SourceUnavailable(self.title, url, "the download does not match the "
                                        "published .md5; run the command again")
        clipped = clip_extract(downloaded.path, buffered(area, job.buffer_m), job.files.roads,
                               job.progress)
        return SourceResult(
            downloads=[downloaded], written=[job.files.roads],
            counts={"nodes_inside": clipped.nodes_inside, "ways": clipped.ways,
                    "relations": clipped.relations},
            notes=[f"extract {region['id']} ({region.get('name', '')}), md5 {published_md5} "
                   f"checked; clipped to the area plus {job.buffer_m:g} m"])

    def credits(self, files: AreaFiles) -> list[Credit]:
        return [Credit((files.relative(files.roads),),
                       f"{files.slug}: OpenStreetMap extract clipped to the area (roads, "
                       "buildings, amenities, green spaces)",
                       f"{self.title} (download.geofabrik.de)",
                       f"{self.licence} — \"{self.credit}\"")]
