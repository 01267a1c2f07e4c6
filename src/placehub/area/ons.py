"""ONS sources: boundaries and council codes (Open Geography Portal), postcodes (NSPL).

Boundaries come from the portal's ArcGIS REST FeatureServer layers: the area's ward and LSOA
codes from a lookup layer (``LAD13CD = 'E06000017'``), then their generalised clipped
boundaries in lon/lat (``outSR=4326``, ``f=geojson``), page by page. The vintages are those of
the 2019 Indices of Deprivation and of the data the demo was built on: 2013 wards and 2011
LSOAs. The NSPL is one zip of the whole UK; the area's rows are those whose ``laua`` is its code.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from placehub.area.arcgis import query, query_codes, quoted
from placehub.area.download import Downloader, SourceUnavailable
from placehub.area.files import AreaFiles, slug_of
from placehub.area.source import Area, Credit, FetchJob, SourceResult
from placehub.errors import BadRequest, NotFound

ONS_LICENCE = "OGL v3"
BOUNDARY_CREDIT = ("Contains OS data © Crown copyright and database right; Source: Office for "
                   "National Statistics licensed under the Open Government Licence v.3.0")
POSTCODE_CREDIT = ("Contains OS data © Crown copyright and database right; Contains Royal Mail "
                   "data © Royal Mail copyright and database right; Source: Office for National "
                   "Statistics licensed under the Open Government Licence v.3.0")
# The GeoJSON written has the shape of the files the demo was built on.
CRS84 = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
LAD_CODE = re.compile(r"^[EWSN]\d{8}$", re.IGNORECASE)


@dataclass(frozen=True)
class BoundaryLayer:
    """One boundary vintage on the portal and the lookup that says which of it is in an area."""

    name: str  # the place layer it becomes: wards, lsoas
    title: str
    service: str  # FeatureServer service name; a renamed service is a one-line change here
    code_field: str
    keep_fields: tuple[str, ...]  # properties written (those the service has)
    lookup_service: str
    lookup_area_field: str  # the LAD code field of the lookup


WARDS_2013 = BoundaryLayer(
    "wards", "Wards (December 2013), generalised clipped", "WD_DEC_2013_GB_BGC", "WD13CD",
    ("WD13CD", "WD13CDO", "WD13NM", "WD13NMW"), "WD13_LAD13_EW_LU", "LAD13CD")
LSOAS_2011 = BoundaryLayer(
    "lsoas", "LSOAs (December 2011), generalised clipped",
    "LSOA_Dec_2011_Boundaries_Generalised_Clipped_BGC_EW_V3", "LSOA11CD",
    ("LSOA11CD", "LSOA11NM"), "LSOA11_WD19_LAD19_EW_LU", "LAD19CD")
# Local authority district names and codes (the 2019 districts, as in the IoD 2019).
COUNCILS_SERVICE = "LAD_DEC_2019_UK_NC"
COUNCIL_CODE, COUNCIL_NAME = "LAD19CD", "LAD19NM"


def _layer_url(base: str, service: str) -> str:
    return f"{base.rstrip('/')}/{service}/FeatureServer/0"


class OnsBoundaries:
    """Ward and LSOA boundaries of an area, and council names and codes, from the ONS portal."""

    key = "boundaries"
    title = "ONS Open Geography Portal"
    licence = ONS_LICENCE
    update_cycle = ("boundaries of a vintage are fixed; new ward vintages each December and "
                    "May, LSOAs after each census")

    def __init__(self, base_url: str,
                 layers: tuple[BoundaryLayer, ...] = (WARDS_2013, LSOAS_2011)) -> None:
        self.base_url = base_url.rstrip("/")
        self.layers = layers
        self.documented_url = (f"{self.base_url}/{{service}}/FeatureServer/0/query?where=..."
                               "&outFields=*&outSR=4326&f=geojson&resultOffset=N"
                               "&resultRecordCount=N")

    def outputs(self, files: AreaFiles) -> list[Path]:
        return [files.folder / f"{layer.name}.geojson" for layer in self.layers]

    def fetch(self, job: FetchJob) -> SourceResult:
        result = SourceResult()
        for layer in self.layers:
            job.progress(f"{self.title}: {layer.name}", 0, None)
            lookup = query(job.downloader, self.title,
                           _layer_url(self.base_url, layer.lookup_service),
                           where=f"{layer.lookup_area_field} = {quoted([job.area.code])}",
                           out_fields=layer.code_field, order_by=layer.code_field)
            codes = sorted({str(row[layer.code_field]) for row in lookup
                            if row.get(layer.code_field)})
            if not codes:
                raise SourceUnavailable(
                    self.title, _layer_url(self.base_url, layer.lookup_service),
                    f"lists no {layer.name} for {job.area.code} ({job.area.name}): the "
                    f"{layer.title} lookup knows councils as they were then")
            features = query_codes(job.downloader, self.title,
                                   _layer_url(self.base_url, layer.service), layer.code_field,
                                   codes, geometry=True)
            written = _boundary_collection(features, layer)
            found = [f["properties"][layer.code_field] for f in written["features"]]
            missing = sorted(set(codes) - set(found))
            if missing:
                result.notes.append(f"{layer.name}: no boundary for {', '.join(missing)}")
            path = job.files.folder / f"{layer.name}.geojson"
            path.write_text(json.dumps(written, ensure_ascii=False), encoding="utf-8")
            result.written.append(path)
            result.counts[layer.name] = len(found)
            job.progress(f"{self.title}: {layer.name}", len(found), len(codes))
        return result

    def credits(self, files: AreaFiles) -> list[Credit]:
        services = ", ".join(layer.service for layer in self.layers)
        return [Credit(
            tuple(files.relative(p) for p in self.outputs(files)),
            f"{files.slug}: " + "; ".join(f"{layer.title} ({layer.code_field}), lon/lat"
                                          for layer in self.layers),
            f"{self.title} (ArcGIS REST services {services})",
            f"{self.licence}; {BOUNDARY_CREDIT}")]

    # -- councils ------------------------------------------------------------------------------

    def find_council(self, downloader: Downloader, wanted: str) -> Area:
        """The council named or coded ``wanted`` ("Rutland", "sutton", "E06000017")."""
        rows = query(downloader, self.title, _layer_url(self.base_url, COUNCILS_SERVICE),
                     where="1=1", out_fields=f"{COUNCIL_CODE},{COUNCIL_NAME}",
                     order_by=COUNCIL_CODE)
        councils = {str(r[COUNCIL_CODE]).upper(): str(r[COUNCIL_NAME]) for r in rows
                    if r.get(COUNCIL_CODE) and r.get(COUNCIL_NAME)}
        code = match_council(councils, wanted)
        return Area(code, councils[code], slug_of(councils[code]))


def _normal(name: str) -> str:
    name = name.casefold().replace("&", "and")
    name = re.sub(r"\b(london borough of|royal borough of|city of|county of|borough of|"
                  r"council|county|district|borough|metropolitan)\b", " ", name)
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", name).split())


def match_council(councils: dict[str, str], wanted: str) -> str:
    """The code in ``councils`` (code -> name) that ``wanted`` names or is; clear errors else."""
    wanted = wanted.strip()
    if LAD_CODE.match(wanted):
        if wanted.upper() in councils:
            return wanted.upper()
        raise NotFound(f"no local authority district {wanted.upper()} in the ONS names and codes")
    target = _normal(wanted)
    exact = [c for c, n in councils.items() if _normal(n) == target]
    if len(exact) == 1:
        return exact[0]
    starting = [c for c, n in councils.items() if _normal(n).startswith(target)] if target else []
    if len(starting) == 1:
        return starting[0]
    several = exact or starting or [c for c, n in councils.items() if target and
                                    target in _normal(n)]
    if len(several) > 1:
        listed = ", ".join(f"{councils[c]} ({c})" for c in sorted(several)[:10])
        raise BadRequest(f"{wanted!r} matches several councils: {listed}; give the code")
    if len(several) == 1:
        return several[0]
    close = difflib.get_close_matches(wanted, list(councils.values()), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise NotFound(f"no council called {wanted!r}{hint}; give its name or ONS code, e.g. "
                   "Rutland or E06000017")


def _boundary_collection(features: list[dict[str, Any]], layer: BoundaryLayer
                         ) -> dict[str, Any]:
    """A FeatureCollection of the layer's features with the properties kept, by code."""
    by_code: dict[str, dict[str, Any]] = {}
    for feature in features:
        properties = feature.get("properties") or {}
        code = properties.get(layer.code_field)
        if not code or not feature.get("geometry"):
            continue
        kept = {k: properties[k] for k in layer.keep_fields if k in properties}
        by_code[str(code)] = {"type": "Feature", "properties": kept,
                              "geometry": feature["geometry"]}
    return {"type": "FeatureCollection", "crs": CRS84,
            "features": [by_code[code] for code in sorted(by_code)]}


# -- the postcode lookup ----------------------------------------------------------------------

NSPL_MEMBER = re.compile(r"(^|/)Data/NSPL[^/]*_UK\.csv$", re.IGNORECASE)


class OnsPostcodeLookup:
    """The area's rows of the National Statistics Postcode Lookup (one UK-wide zip)."""

    key = "postcodes"
    title = "ONS National Statistics Postcode Lookup (NSPL)"
    licence = ONS_LICENCE
    update_cycle = "quarterly (February, May, August, November); each release is a new item"

    def __init__(self, url: str) -> None:
        self.url = url
        self.documented_url = (f"{url} (zip: Data/NSPL_<release>_UK.csv, one row per postcode; "
                               "laua = local authority district code)")

    def outputs(self, files: AreaFiles) -> list[Path]:
        return [files.postcodes]

    def fetch(self, job: FetchJob) -> SourceResult:
        downloaded = job.downloader.file(self.title, self.url, "nspl.zip")
        result = SourceResult(downloads=[downloaded])
        try:
            archive = zipfile.ZipFile(downloaded.path)
        except zipfile.BadZipFile:
            raise SourceUnavailable(self.title, self.url, "the download is not a zip file; "
                                    "the item may have moved (docs/area.md)") from None
        with archive:
            member = _nspl_member(archive)
            if member is None:
                raise SourceUnavailable(self.title, self.url,
                                        "no Data/NSPL_*_UK.csv in the zip; its layout changed")
            kept, read = _filter_nspl(archive, member, job.area.code, job.files.postcodes,
                                      lambda done, total: job.progress(
                                          f"{self.title}: rows of {job.area.code}", done, total))
        result.written.append(job.files.postcodes)
        result.counts = {"postcodes": kept, "postcodes_read": read}
        if not kept:
            result.notes.append(f"no postcodes with laua {job.area.code} in {member}")
        return result

    def credits(self, files: AreaFiles) -> list[Credit]:
        return [Credit((files.relative(files.postcodes),),
                       f"{files.slug}: National Statistics Postcode Lookup rows of the area "
                       "(pcds, lat, long, lsoa, ward, laua, doterm ...)",
                       self.title, f"{self.licence}; {POSTCODE_CREDIT}")]


def _nspl_member(archive: zipfile.ZipFile) -> str | None:
    names = [n for n in archive.namelist() if NSPL_MEMBER.search(n)]
    return max(names, key=lambda n: archive.getinfo(n).file_size) if names else None


def _filter_nspl(archive: zipfile.ZipFile, member: str, code: str, target: Path,
                 progress: Callable[[int, int], None]) -> tuple[int, int]:
    """Copy the header and the rows whose ``laua`` is ``code`` verbatim; (kept, read)."""
    size = archive.getinfo(member).file_size
    kept = read = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    # surrogateescape: any byte that is not UTF-8 is copied through unchanged.
    with archive.open(member) as raw, target.open("w", encoding="utf-8", newline="",
                                                  errors="surrogateescape") as out:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="", errors="surrogateescape")
        header_line = text.readline()
        header = next(csv.reader([header_line]))
        try:
            column = [h.strip().lower() for h in header].index("laua")
        except ValueError:
            raise SourceUnavailable("ONS National Statistics Postcode Lookup (NSPL)", member,
                                    f"no laua column among {', '.join(header)}") from None
        out.write(header_line)
        done = len(header_line)
        for line in text:
            read += 1
            done += len(line)
            # Most lines are other councils': look for the code before parsing the line.
            if code in line:
                row = next(csv.reader([line]))
                if len(row) > column and row[column] == code:
                    out.write(line)
                    kept += 1
            if read % 200_000 == 0:
                progress(done, size)
        progress(size, size)
    return kept, read
