"""Web UI speed: the map page becomes usable (map drawn, table shown) within 2 s in Chromium
with 10,000 or 100,000 assets (a city's street lights and bins), and a typical page's HTML
renders in at most 50 ms median.

    PYTHONPATH=src:. python bench/bench_web.py [--assets 100000] [--repeats 5]

Baselines measured in the same run: the map page with 100 assets (browser) and /healthz (HTML);
from ``maps.CLUSTER_FROM`` assets the map loads grouped asset tiles, and the same map from the
one GeoJSON with every marker drawn is timed too. Data: tests/web/seed.py (litter bins with a
few hours of readings; past the first thousand, bins with their latest reading written in bulk
over Rutland) in a throwaway SQLite file, with Rutland's wards, road network and street map
unless ``--no-layers``.
Set PLACEHUB_DATA_DIR to the shared data folder."""

from __future__ import annotations

import argparse
import math
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.timing import median_seconds
from fastapi.testclient import TestClient
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import func, insert, select
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, sign_in
from tests.web.seed import OAKHAM, PASSWORD, seed

from placehub.access.service import ANONYMOUS
from placehub.config import load_settings
from placehub.db import Database
from placehub.places.basemap import load_basemap
from placehub.places.layers import load_boundaries
from placehub.places.roads import load_road_network
from placehub.sta.tables import (
    RESULT_NUMBER,
    datastreams,
    features_of_interest,
    locations,
    observations,
    observed_properties,
    sensors,
    thing_locations,
    things,
)
from placehub.web import maps
from placehub.web.app import create_app
from placehub.web.asset_snapshot import snapshot_of

HTML_PAGES = ["/overview", "/map", "/alerts", "/rounds", "/places", "/devices"]
# Not HTML, timed too: what the map page fetches, and the table's CSV.
DATA_URLS = ["/geo/assets.geojson", "/geo/wards.geojson", "/geo/roads.geojson", "/map.csv"]


# Seeded one by one up to here (with a few hours of history each); the rest in bulk.
SEEDED_ONE_BY_ONE = 1_000
# Where the bulk bins go: a disc over Rutland (degrees of latitude; longitude x 1.6).
CENTRE, RADIUS = (-0.65, 52.64), 0.11


def add_bins_in_bulk(database: Database, count: int) -> None:
    """``count`` more public or council-only litter bins, each with one distance Datastream and
    its latest reading (varied fill), spread evenly over Rutland (a sunflower spiral), written
    with executemany and explicit ids (seeding 100,000 one by one takes most of an hour)."""
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    rng = random.Random(11)
    with database.begin() as conn:
        organisation = conn.execute(select(things.c.organisation_id)
                                    .order_by(things.c.id).limit(1)).scalar_one()
        sensor = conn.execute(select(func.min(sensors.c.id))).scalar_one()
        distance = conn.execute(select(observed_properties.c.id)
                                .where(observed_properties.c.name == "distance")).scalar_one()
        first = {table.name: (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1
                 for table in (things, locations, features_of_interest, datastreams,
                               observations)}
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in (
            "things", "locations", "thing_locations", "features", "datastreams", "observations")}
        for index in range(count):
            radius, angle = RADIUS * math.sqrt((index + 0.5) / count), index * 2.39996
            lon = round(CENTRE[0] + radius * math.cos(angle) * 1.6, 6)
            lat = round(CENTRE[1] + radius * math.sin(angle), 6)
            point = {"type": "Point", "coordinates": [lon, lat]}
            box = {"min_x": lon, "max_x": lon, "min_y": lat, "max_y": lat}
            thing_id, location_id = first["things"] + index, first["locations"] + index
            feature_id, stream_id = first["features_of_interest"] + index, \
                first["datastreams"] + index
            observation_id = first["observations"] + index
            name = f"Bin {index + 1:06d} Rutland"
            rows["things"].append({
                "id": thing_id, "name": name, "description": name,
                "organisation_id": organisation,
                "visibility": "organisation" if index % 3 else "public",
                "properties": {"asset_type": "litter_bin", "empty_distance_mm": 1000,
                               "full_distance_mm": 200, "capacity_litres": 240}})
            rows["locations"].append({"id": location_id, "name": name, "description": "",
                                      "encoding_type": "application/geo+json",
                                      "location": point, "organisation_id": organisation,
                                      **box})
            rows["thing_locations"].append({"thing_id": thing_id, "location_id": location_id})
            rows["features"].append({"id": feature_id, "name": name, "description": "",
                                     "encoding_type": "application/geo+json", "feature": point,
                                     "organisation_id": organisation,
                                     "generated_from_location_id": location_id, **box})
            rows["datastreams"].append({
                "id": stream_id, "name": "Distance", "description": "distance",
                "observation_type": "http://www.opengis.net/def/observationType/OGC-OM/2.0/"
                                    "OM_Measurement",
                "unit_of_measurement": {"name": "mm", "symbol": "mm", "definition": ""},
                "properties": {"quantity": "distance"}, "thing_id": thing_id,
                "sensor_id": sensor, "observed_property_id": distance, "observation_count": 1,
                "latest_observation_id": observation_id, "latest_phenomenon_time": now,
                "phenomenon_time_start": now, "phenomenon_time_end": now})
            rows["observations"].append({
                "id": observation_id, "datastream_id": stream_id,
                "feature_of_interest_id": feature_id, "phenomenon_time_start": now,
                "result_type": RESULT_NUMBER,
                "result_number": round(1000 - rng.uniform(0.05, 0.97) * 800, 1)})
        for table, name in ((things, "things"), (locations, "locations"),
                            (thing_locations, "thing_locations"),
                            (features_of_interest, "features"), (datastreams, "datastreams"),
                            (observations, "observations")):
            conn.execute(insert(table), rows[name])


def build_site(work: Path, assets: int, layers: bool) -> tuple[Any, Database]:
    """An app over a fresh SQLite database seeded with ``assets`` litter bins (and, with
    ``layers``, the wards and roads the map draws under them)."""
    url = f"sqlite:///{work / f'web-{assets}.sqlite3'}"
    database = Database(url)
    database.upgrade()
    seed(database, bins=min(assets, SEEDED_ONE_BY_ONE), history_hours=2)
    if assets > SEEDED_ONE_BY_ONE:
        add_bins_in_bulk(database, assets - SEEDED_ONE_BY_ONE)
    data = load_settings().data_path  # PLACEHUB_DATA_DIR, else ../shared/data
    roads = work / "roads.npz"
    if layers:
        with database.begin() as conn:
            load_boundaries(conn, data / "rutland" / "wards.geojson", "wards", title="Wards")
        load_road_network(data / "rutland" / "roads.osm.pbf", roads)
    settings = load_settings(environ={}, database_url=url, data_dir=str(data),
                             secret_key="bench", road_network_file=str(roads),
                             basemap_file=str(work / "basemap.npz"),
                             # No background re-read of every asset during the timed loads.
                             web_asset_snapshot_seconds=3600)
    app = create_app(settings, database=database)
    clock, cpu = time.perf_counter(), time.process_time()
    snapshot_of(app).view(ANONYMOUS)  # read once, as the first page after a start does
    # CPU time beside the wall clock: on a shared machine the wall clock mostly measures
    # waiting for a core.
    print(f"asset snapshot of {assets} assets read in {time.perf_counter() - clock:.1f} s "
          f"({time.process_time() - cpu:.1f} s CPU)")
    return app, database


def map_usable_seconds(app: Any, repeats: int) -> tuple[float, float, float]:
    """Median seconds from navigating to /map (from the overview, as a user clicking "Map")
    until the map is drawn and the table shown: wall clock, and the page's own count from
    navigation start (which leaves out unloading the previous page); and the first load's
    wall clock (nothing cached in the browser or in the asset view yet)."""
    from playwright.sync_api import sync_playwright

    times, in_page = [], []
    with LiveServer(app) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=server.url)
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Username").fill("officer")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/overview")
        for _ in range(repeats):
            page.goto("/overview")
            start = time.perf_counter()
            page.goto("/map")
            # Checked on every animation frame: wait_for_selector polls every 500 ms after
            # the first few tries, which added up to half a second to earlier figures.
            page.wait_for_function(
                "() => document.querySelector('#assets-table tbody tr')"
                " && document.querySelector('#map[data-ready=true]')",
                polling="raf", timeout=60_000)
            times.append(time.perf_counter() - start)
            in_page.append(int(page.get_attribute("#map", "data-ready-ms") or 0) / 1000)
        browser.close()
    return statistics.median(times), statistics.median(in_page), times[0]


def html_medians(app: Any, repeats: int) -> dict[str, float]:
    """Median seconds to render each typical page's HTML (in-process client, signed in)."""
    with TestClient(app, base_url="http://testserver") as client:
        sign_in(client)
        result = {"/healthz (baseline)": median_seconds(lambda: client.get("/healthz"), repeats)}
        for path in HTML_PAGES + DATA_URLS:
            assert client.get(path).status_code == 200, path
            result[path] = median_seconds(lambda path=path: client.get(path), repeats)
        etag = client.get("/geo/assets.geojson").headers["etag"]
        result["/geo/assets.geojson (304)"] = median_seconds(
            lambda: client.get("/geo/assets.geojson", headers={"If-None-Match": etag}), repeats)
    return result


def tile_medians(repeats: int) -> None:
    """The street map: median ms to make (cold) the tile over Oakham at each zoom, and to hand
    out a made one, beside reading the extract and its cache file."""
    data = load_settings().data_path / "rutland" / "roads.osm.pbf"
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder) / "basemap.npz"
        clock = time.perf_counter()
        street_map = load_basemap(data, cache)
        read = time.perf_counter() - clock
        cached = median_seconds(lambda: load_basemap(data, cache), repeats)
    print(f"street map: extract read in {read * 1000:.0f} ms, cache file in "
          f"{cached * 1000:.0f} ms median")
    for zoom in (8, 10, 12, 14):
        n = 2**zoom
        x = int((OAKHAM[0] + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(OAKHAM[1]))) / math.pi) / 2 * n)
        made = median_seconds(lambda zoom=zoom, x=x, y=y: street_map.encode(zoom, x, y),
                              repeats)
        street_map.tile(zoom, x, y)
        kept = median_seconds(lambda zoom=zoom, x=x, y=y: street_map.tile(zoom, x, y), repeats)
        size = len(street_map.tile(zoom, x, y))
        print(f"street map tile {zoom}/{x}/{y}: made in {made * 1000:.1f} ms median, "
              f"handed out again in {kept * 1e6:.0f} us ({size:,} bytes gzipped)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tiles-only", action="store_true",
                        help="time the street map's tiles only (no sites, no browser)")
    parser.add_argument("--no-layers", action="store_true",
                        help="no wards or roads under the assets (as before 2026-12-06)")
    args = parser.parse_args()
    tile_medians(args.repeats)
    if args.tiles_only:
        return
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        clock = time.perf_counter()
        small, small_db = build_site(work, 100, not args.no_layers)
        big, big_db = build_site(work, args.assets, not args.no_layers)
        print(f"seeded 100 and {args.assets} assets in {time.perf_counter() - clock:.1f} s")
        baseline, baseline_in_page, baseline_first = map_usable_seconds(small, args.repeats)
        figure, figure_in_page, figure_first = map_usable_seconds(big, args.repeats)
        print(f"map usable, 100 assets (baseline): {baseline * 1000:.0f} ms median "
              f"({baseline_in_page * 1000:.0f} ms from navigation start; first load "
              f"{baseline_first * 1000:.0f} ms)")
        print(f"map usable, {args.assets} assets: {figure * 1000:.0f} ms median "
              f"({figure_in_page * 1000:.0f} ms from navigation start; "
              f"x{figure / baseline:.2f} baseline; first load {figure_first * 1000:.0f} ms; "
              "target <= 2000 ms)"
              + (" (asset tiles, grouped)" if args.assets >= maps.CLUSTER_FROM else ""))
        # Before the every-marker map: a browser that gives up on it leaves the server busy.
        medians = html_medians(big, args.repeats * 4)
        base = medians["/healthz (baseline)"]
        for path, seconds in medians.items():
            kind = "HTML" if path in HTML_PAGES else "data"
            print(f"{kind} {path} with {args.assets} assets: {seconds * 1000:.1f} ms median "
                  f"(x{seconds / base:.1f} /healthz" + ("; target <= 50 ms)" if kind == "HTML"
                                                         else ")"))
        if args.assets >= maps.CLUSTER_FROM:
            # The same map from the one GeoJSON with every marker drawn, as before tiles.
            grouping_from, maps.CLUSTER_FROM = maps.CLUSTER_FROM, 10**9  # never
            try:
                plain, plain_in_page, _ = map_usable_seconds(big, args.repeats)
                print(f"map usable, {args.assets} assets, every marker drawn: "
                      f"{plain * 1000:.0f} ms median ({plain_in_page * 1000:.0f} ms from "
                      f"navigation start; x{plain / baseline:.2f} baseline)")
            except PlaywrightTimeout:
                print(f"map usable, {args.assets} assets, every marker drawn: over 60 s")
            finally:
                maps.CLUSTER_FROM = grouping_from
        small_db.dispose()
        big_db.dispose()


if __name__ == "__main__":
    main()
