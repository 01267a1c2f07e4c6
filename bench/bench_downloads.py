"""Downloads and the data catalogue: how long the CSV, JSON and GeoJSON downloads of the public
map, the air page, a station's history and the catalogue take with 10,000 assets, beside the
pages they belong to (the pages' HTML stays one snapshot read, no query per row).

    PYTHONPATH=src:. python bench/bench_downloads.py [--assets 10000] [--repeats 5]

Baseline in the same run: /healthz, and each download's own page. Data as bench_web.py (the
seeded council plus bins in bulk, Rutland's wards) in a throwaway SQLite file. Set
PLACEHUB_DATA_DIR to the shared data folder."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.bench_web import build_site
from bench.timing import median_seconds
from fastapi.testclient import TestClient
from tests.web.conftest import sign_in

# (page, its downloads): the page is the baseline of its downloads.
PAIRS = [
    ("/public/map", ["/public/map.csv", "/public/map.json", "/public/map.geojson"]),
    ("/map", ["/map.csv", "/map.geojson"]),
    ("/public/air", ["/public/air.csv", "/public/assets/{station}/history.csv",
                     "/public/assets/{station}/history.geojson"]),
    ("/public/places", ["/public/places.csv", "/public/places.geojson"]),
    ("/data", ["/data.json"]),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clock = time.perf_counter()
        app, database = build_site(Path(folder), args.assets, layers=True)
        print(f"seeded {args.assets} assets in {time.perf_counter() - clock:.1f} s")
        with TestClient(app, base_url="http://testserver") as client:
            sign_in(client)
            station = next(f["properties"]["id"] for f in client.get(
                "/public/map.geojson?type=air_quality_station").json()["features"])
            health = median_seconds(lambda: client.get("/healthz"), args.repeats)
            print(f"/healthz (baseline): {health * 1000:.1f} ms median")
            for page, files in PAIRS:
                assert client.get(page).status_code == 200, page
                page_time = median_seconds(lambda page=page: client.get(page), args.repeats)
                print(f"HTML {page}: {page_time * 1000:.1f} ms median "
                      f"(x{page_time / health:.1f} /healthz)")
                for path in (f.format(station=station) for f in files):
                    response = client.get(path)
                    assert response.status_code == 200, path
                    took = median_seconds(lambda path=path: client.get(path), args.repeats)
                    print(f"  {path}: {took * 1000:.1f} ms median (x{took / page_time:.1f} "
                          f"its page; {len(response.content) / 1e6:.2f} MB)")
        database.dispose()


if __name__ == "__main__":
    main()
