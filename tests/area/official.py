"""A stand-in for the official sources on loopback, serving responses shaped as each documents.

Everything served is built at test time from the shared data folder (nothing is committed):

- ONS Open Geography Portal, ArcGIS REST ``FeatureServer/0/query``: the Rutland and Sutton
  ward and LSOA boundaries, a ward-to-district and an LSOA-to-district lookup, and the district
  names and codes (from the IoD 2019 file). ``where`` (``1=1``, ``F = 'x'``, ``F IN (...)``),
  ``outFields``, ``orderByFields``, ``f=json|geojson`` and paging with ``resultOffset`` /
  ``resultRecordCount`` / ``exceededTransferLimit`` work as Esri documents them, with a small
  ``maxRecordCount`` so that every query pages.
- Geofabrik: ``index-v1.json`` (extract polygons and absolute ``download.geofabrik.de`` URLs),
  the Rutland extract (the shared ``roads.osm.pbf``), a "Greater London" extract (the shared
  Rutland extract moved so that Oakham sits on Sutton) and the ``.md5`` beside each.
- NSPL: a zip with ``Data/NSPL_NOV_2021_UK.csv`` (the shared SM postcode rows).
- MHCLG: File 7 rebuilt from the shared File 2 and File 6 columns (the score columns, not in
  the shared data, are left empty; the fetch does not read them).
- Defra UK-AIR: ``MY1_<year>.csv`` in the site-CSV layout, rebuilt from the shared replay.

Files honour ``Range``/``If-Range`` (206, 416); ``cut_after`` makes the next answer for a path
stop after some bytes, as a dropped connection does.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import osmium
from shapely.geometry import mapping, shape
from shapely.ops import unary_union

from placehub.area import area_files
from placehub.area.download import Downloader
from placehub.area.fetch import fetch_area, sources_from_settings
from placehub.area.source import Area
from placehub.config import Settings, load_settings

MAX_RECORD_COUNT = 50
NSPL_ITEM = "e832e833fe5f45e19096800af4ac800c"
FILE_7 = ("/media/5dc407b440f0b6379a7acc8d/"
          "File_7_-_All_IoD2019_Scores__Ranks__Deciles_and_Population_Denominators_3.csv")
GEOFABRIK = "https://download.geofabrik.de"
OAKHAM_CENTRE = (-0.72846, 52.66994)  # the place=town node of Oakham
SUTTON_CENTRE = (-0.1945, 51.3618)  # Sutton High Street
COUNCILS = {"rutland": ("E06000017", "Rutland"), "sutton": ("E09000029", "Sutton")}
RUTLAND = Area("E06000017", "Rutland", "rutland")
SUTTON = Area("E09000029", "Sutton", "sutton")


# -- building the responses ----------------------------------------------------------------


def _features(data_dir: Path, area: str, layer: str) -> list[dict[str, Any]]:
    return list(json.loads((data_dir / area / f"{layer}.geojson").read_text())["features"])


def _read_gz_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def arcgis_services(data_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Service name -> rows of {"attributes": {...}, "geometry": GeoJSON or None}."""
    wards: list[dict[str, Any]] = []
    ward_lookup: list[dict[str, Any]] = []
    lsoas: list[dict[str, Any]] = []
    for area, (code, name) in COUNCILS.items():
        for feature in _features(data_dir, area, "wards"):
            props = dict(feature["properties"])
            geometry = shape(feature["geometry"])
            wards.append({"attributes": {**props, "Shape__Area": geometry.area,
                                         "Shape__Length": geometry.length},
                          "geometry": feature["geometry"]})
            # An OA-level lookup repeats each ward: give every ward two rows.
            for _ in range(2):
                ward_lookup.append({"attributes": {"WD13CD": props["WD13CD"],
                                                   "WD13NM": props["WD13NM"],
                                                   "LAD13CD": code, "LAD13NM": name},
                                    "geometry": None})
        for feature in _features(data_dir, area, "lsoas"):
            props = dict(feature["properties"])
            lsoas.append({"attributes": {**props, "LSOA11NMW": props["LSOA11NM"],
                                         "Shape__Area": shape(feature["geometry"]).area},
                          "geometry": feature["geometry"]})
    header, rows = _read_gz_csv(data_dir / "iod2019" / "domain_ranks.csv.gz")
    lsoa_lookup = [{"attributes": {"LSOA11CD": r[0], "LSOA11NM": r[1], "LAD19CD": r[2],
                                   "LAD19NM": r[3]}, "geometry": None} for r in rows]
    councils = sorted({(r[2], r[3]) for r in rows})
    names = [{"attributes": {"LAD19CD": c, "LAD19NM": n, "LAD19NMW": ""}, "geometry": None}
             for c, n in councils]
    for number, table in enumerate((wards, ward_lookup, lsoas, lsoa_lookup, names)):
        for fid, row in enumerate(table, start=1):
            row["attributes"] = {"FID": fid + number * 100_000, **row["attributes"]}
    return {
        "WD_DEC_2013_GB_BGC": wards,
        "WD13_LAD13_EW_LU": ward_lookup,
        "LSOA_Dec_2011_Boundaries_Generalised_Clipped_BGC_EW_V3": lsoas,
        "LSOA11_WD19_LAD19_EW_LU": lsoa_lookup,
        "LAD_DEC_2019_UK_NC": names,
    }


def moved_extract(source: Path, target: Path, start: tuple[float, float] = OAKHAM_CENTRE,
                  end: tuple[float, float] = SUTTON_CENTRE) -> Path:
    """The shared Rutland extract moved so that ``start`` lands on ``end`` (a London stand-in)."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    target.unlink(missing_ok=True)
    with osmium.SimpleWriter(str(target)) as writer:
        for item in osmium.FileProcessor(str(source)):
            if isinstance(item, osmium.osm.Node):
                location = item.location
                writer.add_node(item.replace(location=osmium.osm.Location(
                    location.lon + dx, location.lat + dy)))
            else:
                writer.add(item)
    return target


def geofabrik_index(data_dir: Path) -> dict[str, Any]:
    """index-v1.json: England, Rutland and a Greater London whose polygon holds Sutton."""
    def region(region_id: str, parent: str, name: str, path: str, geometry: Any
               ) -> dict[str, Any]:
        return {"type": "Feature", "geometry": mapping(geometry), "properties": {
            "id": region_id, "parent": parent, "name": name,
            "urls": {"pbf": f"{GEOFABRIK}/{path}-latest.osm.pbf",
                     "updates": f"{GEOFABRIK}/{path}-updates",
                     "taginfo": f"https://taginfo.geofabrik.de/{path}/"}}}

    def outline(area: str, margin: float) -> Any:
        return unary_union([shape(f["geometry"]) for f in _features(data_dir, area, "wards")]
                           ).convex_hull.buffer(margin)

    england = shape({"type": "Polygon", "coordinates": [[
        [-6.5, 49.8], [2.1, 49.8], [2.1, 55.9], [-6.5, 55.9], [-6.5, 49.8]]]})
    return {"type": "FeatureCollection", "features": [
        region("england", "great-britain", "England", "europe/united-kingdom/england", england),
        region("rutland", "england", "Rutland", "europe/united-kingdom/england/rutland",
               outline("rutland", 0.05)),
        region("greater-london", "england", "Greater London",
               "europe/united-kingdom/england/greater-london", outline("sutton", 0.15)),
    ]}


def nspl_zip(data_dir: Path) -> bytes:
    """The NSPL zip as ONS lays it out, holding the shared SM postcode rows."""
    rows = (data_dir / "sutton" / "postcodes.csv").read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Data/NSPL_NOV_2021_UK.csv", rows)
        archive.writestr("Data/multi_csv/NSPL_NOV21_UK_SM.csv", rows)
        archive.writestr("Documents/LA_UA names and codes UK as at 04_21.csv",
                         "LAD21CD,LAD21NM\nE09000029,Sutton\nE06000017,Rutland\n")
        archive.writestr("User Guide/NSPL User Guide Nov 2021.txt", "NSPL user guide\n")
    return buffer.getvalue()


def file_7(data_dir: Path) -> bytes:
    """IoD 2019 File 7 rebuilt from the shared File 2 and File 6 columns."""
    rank_header, ranks = _read_gz_csv(data_dir / "iod2019" / "domain_ranks.csv.gz")
    population_header, population = _read_gz_csv(data_dir / "iod2019" / "population.csv.gz")
    people = {row[0]: row[4:] for row in population}
    header = list(rank_header[:4]) + ["Index of Multiple Deprivation (IMD) Score"]
    header += rank_header[4:6]
    domain_columns = rank_header[6:]
    for at in range(0, len(domain_columns), 2):
        header += [domain_columns[at].replace("Rank (where 1 is most deprived)", "Score"),
                   domain_columns[at], domain_columns[at + 1]]
    header += population_header[4:]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in ranks:
        out = row[:4] + ["", *row[4:6]]
        for at in range(6, len(row), 2):
            out += ["", row[at], row[at + 1]]
        # File 7 gives populations as plain numbers (File 6, an Excel export, as "1,296").
        writer.writerow(out + [value.replace(",", "") for value in people[row[0]]])
    return buffer.getvalue().encode("utf-8")


DEFRA_NAMES = {"ws": "Modelled Wind Speed", "wd": "Modelled Wind Direction",
               "air_temp": "Modelled Temperature",
               "nox": "Nitrogen oxides as nitrogen dioxide", "no2": "Nitrogen dioxide",
               "o3": "Ozone", "pm2.5": "PM<sub>2.5</sub> particulate matter (Hourly measured)",
               "pm10": "PM<sub>10</sub> particulate matter (Hourly measured)"}
DEFRA_UNITS = {"ws": "m/s", "wd": "deg", "air_temp": "degC"}


def defra_site_csvs(data_dir: Path) -> dict[int, bytes]:
    """MY1_<year>.csv in UK-AIR's site-CSV layout, from the shared hourly replay."""
    with (data_dir / "air" / "marylebone_road_hourly_2015_2020.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = [c for c in DEFRA_NAMES if c in rows[0]]
    by_year: dict[int, list[str]] = {}
    for row in rows:
        begins = datetime.fromisoformat(row["date"].replace("Z", "+00:00"))
        ends = begins + timedelta(hours=1)
        # UK-AIR labels the last hour of a day 24:00 of that day.
        day, hour = (begins, 24) if ends.hour == 0 else (ends, ends.hour)
        cells = [day.strftime("%d-%m-%Y"), f"{hour:02d}:00"]
        for column in columns:
            value = row[column]
            cells += [value or "No data", "V" if value else "",
                      DEFRA_UNITS.get(column, "ugm-3")]
        by_year.setdefault(begins.year, []).append(",".join(cells))
    header = "Date,time," + ",".join(f'"{DEFRA_NAMES[c]}",status,unit' for c in columns)
    preamble = ["Hourly data from DEFRA Site = London Marylebone Road",
                "All Data GMT hour ending", "Status: V=Verified P=Provisional N=Not Verified "
                "R=Ratified", ""]
    return {year: ("\r\n".join([*preamble, header, *lines]) + "\r\n").encode("utf-8")
            for year, lines in by_year.items()}


# -- the server ------------------------------------------------------------------------------


def _where(where: str) -> tuple[str, list[str]] | None:
    """(field, accepted values) of ``F = 'x'`` or ``F IN ('x', ...)``; None for ``1=1``."""
    if re.fullmatch(r"\s*1\s*=\s*1\s*", where):
        return None
    single = re.fullmatch(r"\s*(\w+)\s*=\s*'((?:[^']|'')*)'\s*", where)
    if single:
        return single.group(1), [single.group(2).replace("''", "'")]
    many = re.fullmatch(r"\s*(\w+)\s+IN\s*\((.*)\)\s*", where, re.IGNORECASE | re.DOTALL)
    if many:
        values = re.findall(r"'((?:[^']|'')*)'", many.group(2))
        return many.group(1), [v.replace("''", "'") for v in values]
    raise ValueError(f"unsupported where clause {where!r}")


@dataclass(frozen=True)
class Request:
    """One request the stand-in answered."""

    method: str
    path: str
    params: dict[str, str]
    range: str | None


class OfficialSources:
    """The files and services, keyed by URL path; a record of every request."""

    def __init__(self, data_dir: Path, work_dir: Path) -> None:
        self.services = arcgis_services(data_dir)
        self.files: dict[str, bytes | Path] = {}
        england = "/europe/united-kingdom/england"
        self.files["/index-v1.json"] = json.dumps(geofabrik_index(data_dir)).encode()
        rutland = data_dir / "rutland" / "roads.osm.pbf"
        london = moved_extract(rutland, work_dir / "greater-london-latest.osm.pbf")
        for name, path in (("rutland", rutland), ("greater-london", london)):
            self.files[f"{england}/{name}-latest.osm.pbf"] = path
            digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
            self.files[f"{england}/{name}-latest.osm.pbf.md5"] = (
                f"{digest}  {name}-latest.osm.pbf\n".encode())
        self.files[f"/sharing/rest/content/items/{NSPL_ITEM}/data"] = nspl_zip(data_dir)
        self.files[FILE_7] = file_7(data_dir)
        for year, body in defra_site_csvs(data_dir).items():
            self.files[f"/datastore/data_files/site_data/MY1_{year}.csv"] = body
        self.requests: list[Request] = []
        self.cut_after: dict[str, int] = {}
        self.lock = threading.Lock()

    def body(self, path: str) -> bytes | None:
        found = self.files.get(path)
        if isinstance(found, Path):
            return found.read_bytes()
        return found

    def query(self, service: str, params: dict[str, str]) -> dict[str, Any]:
        """The ArcGIS query operation on one service."""
        rows = self.services[service]
        fields = list(rows[0]["attributes"]) if rows else []

        def error(detail: str) -> dict[str, Any]:
            return {"error": {"code": 400, "message": "Unable to complete operation.",
                              "details": [detail]}}

        try:
            condition = _where(params.get("where", ""))
        except ValueError as problem:
            return error(str(problem))
        if condition and condition[0] not in fields:
            return error(f"'Invalid field: {condition[0]}' parameter is invalid")
        wanted = params.get("outFields", "*")
        out = fields if wanted.strip() == "*" else [f.strip() for f in wanted.split(",")]
        if any(f not in fields for f in out):
            return error("'outFields' parameter is invalid")
        chosen = [r for r in rows if condition is None or
                  str(r["attributes"][condition[0]]) in condition[1]]
        order = params.get("orderByFields", "").split()
        if order:
            chosen.sort(key=lambda r: str(r["attributes"][order[0]]))
        offset = int(params.get("resultOffset") or 0)
        count = min(int(params.get("resultRecordCount") or MAX_RECORD_COUNT), MAX_RECORD_COUNT)
        page = chosen[offset:offset + count]
        more = offset + count < len(chosen)
        if params.get("f") == "geojson":
            answer: dict[str, Any] = {"type": "FeatureCollection", "features": [
                {"type": "Feature", "id": r["attributes"].get("FID"),
                 "geometry": r["geometry"] if params.get("returnGeometry", "true") == "true"
                 else None,
                 "properties": {f: r["attributes"][f] for f in out}} for r in page]}
            if more:
                answer["properties"] = {"exceededTransferLimit": True}
            return answer
        return {"objectIdFieldName": "FID",
                "fields": [{"name": f, "type": "esriFieldTypeString"} for f in out],
                "features": [{"attributes": {f: r["attributes"][f] for f in out}}
                             for r in page],
                "exceededTransferLimit": more}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        self._answer(parse_qs(urlsplit(self.path).query))

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self._answer(parse_qs(self.rfile.read(length).decode()))

    def _answer(self, query: dict[str, list[str]]) -> None:
        sources = self.server.sources
        path = urlsplit(self.path).path
        params = {k: v[-1] for k, v in query.items()}
        with sources.lock:
            sources.requests.append(Request(self.command, path, params,
                                            self.headers.get("Range")))
        service = re.fullmatch(r"/arcgis/rest/services/([^/]+)/FeatureServer/0/query", path)
        if service and service.group(1) in sources.services:
            self._send(200, json.dumps(sources.query(service.group(1), params)).encode(),
                       "application/json")
            return
        body = sources.body(path)
        if body is None:
            self._send(404, b"Not Found", "text/plain")
            return
        self._send_file(path, body)

    def _send(self, status: int, body: bytes, kind: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_file(self, path: str, body: bytes) -> None:
        etag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest() + '"'
        start = 0
        asked = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if_range = self.headers.get("If-Range")
        if asked and (if_range is None or if_range == etag):
            start = int(asked.group(1))
            if start >= len(body):
                self._send(416, b"", "text/plain", {"Content-Range": f"bytes */{len(body)}"})
                return
        status = 206 if start else 200
        headers = {"ETag": etag, "Accept-Ranges": "bytes"}
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
        part = body[start:]
        cut = self.server.sources.cut_after.pop(path, None)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(part)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if cut is not None:
            # A dropped connection: some bytes, then nothing more on this socket.
            self.wfile.write(part[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(part)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sources: OfficialSources


@contextmanager
def serving(sources: OfficialSources) -> Iterator[str]:
    """Serve ``sources`` on 127.0.0.1 (an ephemeral port); yields the base URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.sources = sources
    thread = threading.Thread(target=server.serve_forever, name="official-sources", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def source_settings(base: str) -> dict[str, str]:
    """The area_*_url settings pointing every source at the stand-in server."""
    return {
        "area_ons_url": f"{base}/arcgis/rest/services",
        "area_geofabrik_url": base,
        "area_nspl_url": f"{base}/sharing/rest/content/items/{NSPL_ITEM}/data",
        "area_iod_url": f"{base}{FILE_7}",
        "area_defra_url": f"{base}/datastore/data_files/site_data",
    }


def settings_for(base: str, data_dir: Path, cache_dir: Path, **more: str) -> Settings:
    """Settings with every source on the stand-in server at ``base`` and the given folders."""
    return load_settings(environ={}, data_dir=str(data_dir), area_cache_dir=str(cache_dir),
                         **source_settings(base), **more)


def fetch_test_areas(base: str, root: Path) -> Settings:
    """Rutland and Sutton fetched from every source into ``root``/data; their settings."""
    settings = settings_for(base, root / "data", root / "cache")
    sources = list(sources_from_settings(settings).values())
    with Downloader(settings.area_cache_dir) as downloader:
        for area in (RUTLAND, SUTTON):
            fetch_area(area, area_files(settings, area.slug), sources, downloader)
    return settings



def main() -> None:
    """Serve the stand-in sources until stopped, printing the settings that point at them.

    ``python -m tests.area.official DATA_DIR WORK_DIR`` (used by scripts/check-fresh-demo.sh).
    """
    import sys
    import time

    data_dir, work_dir = Path(sys.argv[1]), Path(sys.argv[2])
    work_dir.mkdir(parents=True, exist_ok=True)
    with serving(OfficialSources(data_dir, work_dir)) as base:
        for name, value in source_settings(base).items():
            print(f"export PLACEHUB_{name.upper()}={value}", flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
