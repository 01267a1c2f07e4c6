"""Spatial $filter over 1,000 and 100,000 Locations: the code before the spatial index (the
baseline) against the working tree, in one run, on SQLite and PostgreSQL.

For each database and size one store is built: public Things, each with one Location (a point
drawn uniformly over the bounding box of Rutland, fixed seed) and the HistoricalLocation that
records it. The store is migrated by the working tree (so it has the spatial index), then served
by two uvicorn processes on free localhost ports: one running the placehub source of BASELINE
(extracted with ``git archive``; it ignores the index and filters on the bounding-box columns
and with Shapely), one running the working tree. Queries, as an anonymous reader:

    GET /sta/v1.1/Locations?$filter=st_within(location, geography'<ward>')
    GET /sta/v1.1/Locations?$filter=geo.intersects(location, geography'<ward>')

for a small ward (Uppingham, about 1% of the points) and a large one (Exton, about 8%), their
boundaries from shared/data/rutland/wards.geojson simplified to 0.0005 degrees. Each request is
timed end to end over HTTP (keep-alive), old and new alternating, and the two servers must return
the same Locations (checked). Medians and the new/old ratio are printed, and the CPU time each
request cost (the server process plus, on PostgreSQL, its database backends, read from /proc):
on a shared machine the wall time mostly measures the queue for a core, the CPU time the work.

istSOS4 on PostGIS was measured elsewhere at 21 ms (st_within) and 19 ms (geo.intersects) over
1,000 Locations; it is not run here, so those figures are a reference, not a same-run baseline.

Usage: python bench/bench_sta_spatial.py [--sizes 1000,100000]
       [--databases sqlite,postgresql,postgresql-box] [--baseline REF] [--repeats 15]
       [--postgres URL]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import numpy as np
import shapely
from shapely.geometry import shape
from sqlalchemy import insert, text

from placehub.access.service import ensure_organisation
from placehub.config import load_settings
from placehub.db import Database
from placehub.db.scratch import scratch_postgres
from placehub.sta.spatial import postgis_geometries
from placehub.sta.tables import (
    historical_locations,
    location_historical_locations,
    locations,
    thing_locations,
    things,
)

REPO = Path(__file__).resolve().parents[1]
DATA = load_settings().data_path  # PLACEHUB_DATA_DIR, or ../shared/data
RUTLAND_BOX = (-0.822, 52.525, -0.428, 52.760)
WARDS = ("Uppingham", "Exton")
FUNCTIONS = ("st_within", "geo.intersects")
ISTSOS_1000 = {"st_within": 21.0, "geo.intersects": 19.0}  # ms, PostGIS, measured elsewhere


def ward_wkt(name: str) -> str:
    """A ward boundary as WKT, simplified as a client drawing a query polygon would."""
    features = json.loads((DATA / "rutland" / "wards.geojson").read_text())["features"]
    ward = next(shape(f["geometry"]) for f in features if f["properties"]["WD13NM"] == name)
    return str(shapely.set_precision(ward.simplify(0.0005), 1e-5).wkt)


def load_store(database: Database, size: int, seed: int = 7) -> None:
    """``size`` public Things with one point Location and one HistoricalLocation each."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = RUTLAND_BOX
    xs = np.round(rng.uniform(x0, x1, size), 6)
    ys = np.round(rng.uniform(y0, y1, size), 6)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    with database.begin() as conn:
        org = ensure_organisation(conn, "bench", "Bench council")
        for start in range(0, size, 20_000):
            ids = range(start + 1, min(size, start + 20_000) + 1)
            conn.execute(insert(things), [
                {"id": i, "name": f"bin {i}", "description": "litter bin", "properties": None,
                 "organisation_id": org, "visibility": "public"} for i in ids])
            conn.execute(insert(locations), [
                {"id": i, "name": f"site {i}", "description": "", "properties": None,
                 "encoding_type": "application/geo+json", "organisation_id": org,
                 "location": {"type": "Point",
                              "coordinates": [float(xs[i - 1]), float(ys[i - 1])]},
                 "min_x": float(xs[i - 1]), "max_x": float(xs[i - 1]),
                 "min_y": float(ys[i - 1]), "max_y": float(ys[i - 1])} for i in ids])
            conn.execute(insert(thing_locations), [
                {"thing_id": i, "location_id": i} for i in ids])
            conn.execute(insert(historical_locations), [
                {"id": i, "time": moment, "thing_id": i} for i in ids])
            conn.execute(insert(location_historical_locations), [
                {"location_id": i, "historical_location_id": i} for i in ids])
        if not database.is_sqlite:
            for table in ("things", "locations", "historical_locations"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"{size})"))
    with database.connect() as conn:
        if database.is_sqlite:
            conn.execute(text("ANALYZE"))
        else:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def baseline_source(ref: str, folder: Path) -> Path:
    """The ``src`` folder of placehub at git revision ``ref``, extracted into ``folder``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "src/placehub"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "src"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SERVER = """
import sys
sys.path.insert(0, {source!r})
import uvicorn
from placehub.config import load_settings
from placehub.web.app import create_app
import placehub
assert placehub.__file__.startswith({source!r}), placehub.__file__
settings = load_settings(environ={{}}, database_url={url!r}, host="127.0.0.1", port={port})
uvicorn.run(create_app(settings), host="127.0.0.1", port={port}, log_level="warning",
            lifespan="off")
"""


class Server:
    """A placehub server process, a keep-alive connection to it, and the CPU time it (and its
    PostgreSQL backends, found by application_name) has used."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, database: Database | None,
                 application: str) -> None:
        self.process = process
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.database = database
        self.application = application

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the server process and its database backends."""
        pids = [self.process.pid]
        if self.database is not None:
            with self.database.connect() as conn:
                pids += conn.execute(text(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": self.application}).scalars().all()
        return sum(_process_cpu(pid) for pid in pids)


def _process_cpu(pid: int) -> float:
    """User plus system CPU seconds of a process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(source: Path, url: str, application: str) -> Iterator[Server]:
    """A placehub server running ``source`` on ``url``."""
    port = _free_port()
    database = None
    if not url.startswith("sqlite"):
        database = Database(url)
        url += f"?application_name={application}"
    process = subprocess.Popen([sys.executable, "-c", SERVER.format(
        source=str(source), url=url, port=port)])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"the server of {source} did not start") from None
                time.sleep(0.1)
        running = Server(process, port, database, application)
        yield running
        running.connection.close()
    finally:
        process.terminate()
        process.wait(20)
        if database is not None:
            database.dispose()


def timed_get(connection: http.client.HTTPConnection, path: str) -> tuple[float, bytes]:
    """Seconds for one GET (request sent to body read), and the body."""
    start = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200:
        raise RuntimeError(f"{path[:80]}...: HTTP {response.status}: {body[:300]!r}")
    return elapsed, body


def ids_of(body: bytes) -> list[int]:
    return [item["@iot.id"] for item in json.loads(body)["value"]]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run_size(name: str, url: str, size: int, old: Path, new: Path, repeats: int) -> list[str]:
    """Build the store, time every query on both servers, return the report lines."""
    database = Database(url)
    database.upgrade()
    if name == "postgresql-box":
        # As on a server without PostGIS: its geometry columns and triggers go with it.
        with database.begin() as conn:
            conn.execute(text("DROP EXTENSION IF EXISTS postgis CASCADE"))
    with database.connect() as conn:
        if postgis_geometries(conn):
            name += " (PostGIS)"
    started = time.perf_counter()
    load_store(database, size)
    print(f"  {name}: {size:,} Locations loaded in {time.perf_counter() - started:.0f} s",
          flush=True)
    database.dispose()
    lines = []
    with server(old, url, "bench-old") as before, server(new, url, "bench-new") as after:
        for ward in WARDS:
            wkt = ward_wkt(ward)
            for function in FUNCTIONS:
                expression = f"{function}(location, geography'{wkt}')"
                path = f"/sta/v1.1/Locations?$filter={quote(expression, safe='')}"
                _, old_body = timed_get(before.connection, path)
                _, new_body = timed_get(after.connection, path)
                if ids_of(old_body) != ids_of(new_body):
                    raise AssertionError(f"{name} {size} {function} {ward}: results differ")
                times: dict[str, list[float]] = {"old": [], "new": []}
                cpu: dict[str, float] = {"old": 0.0, "new": 0.0}
                for round_ in range(repeats):
                    pair = [("old", before), ("new", after)]
                    for label, running in pair if round_ % 2 == 0 else reversed(pair):
                        used = running.cpu_seconds()
                        times[label].append(timed_get(running.connection, path)[0])
                        cpu[label] += running.cpu_seconds() - used
                old_ms = statistics.median(times["old"]) * 1000
                new_ms = statistics.median(times["new"]) * 1000
                old_cpu, new_cpu = (cpu[k] / repeats * 1000 for k in ("old", "new"))
                reference = (f"{ISTSOS_1000[function]:.0f}" if size == 1000 else "-")
                line = (f"| {name} | {size:,} | {function} | {ward} | {len(ids_of(new_body))} "
                        f"| {old_ms:.1f} | {new_ms:.1f} | {new_ms / old_ms:.2f} "
                        f"| {old_cpu:.1f} | {new_cpu:.1f} | {reference} |")
                print(line, flush=True)
                lines.append(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--databases", default="sqlite,postgresql,postgresql-box",
                        help="postgresql uses PostGIS when the server has it; postgresql-box "
                             "removes PostGIS from its database to measure the GiST box index")
    parser.add_argument("--baseline", default="",
                        help="git revision of the old code (default: the merge base with main)")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--postgres", default=os.environ.get(
        "PLACEHUB_BENCH_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test"))
    args = parser.parse_args()
    baseline = args.baseline or subprocess.run(
        ["git", "-C", str(REPO), "merge-base", "HEAD", "main"], check=True,
        capture_output=True, text=True).stdout.strip()
    sizes = [int(s) for s in args.sizes.split(",")]
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores ({cpu}), "
          f"Python {platform.python_version()}, baseline {baseline[:10]}, "
          f"load average {load_average()}", flush=True)
    print("| database | Locations | function | ward | results | old ms | new ms | new/old "
          "| old CPU ms | new CPU ms | istSOS4 ms |\n|---|---|---|---|---|---|---|---|---|---|---|",
          flush=True)
    with tempfile.TemporaryDirectory() as folder:
        old = baseline_source(baseline, Path(folder) / "baseline")
        new = REPO / "src"
        for name in args.databases.split(","):
            for size in sizes:
                if name == "sqlite":
                    run_size(name, f"sqlite:///{Path(folder) / f'spatial-{size}.sqlite3'}",
                             size, old, new, args.repeats)
                    continue
                url, drop = scratch_postgres(args.postgres, f"placehub_bench_spatial_{size}")
                try:
                    run_size(name, url, size, old, new, args.repeats)
                finally:
                    drop()
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
