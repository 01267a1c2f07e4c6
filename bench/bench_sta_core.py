"""SensorThings core reads: $expand one query per level against an N+1 baseline, and deep inserts.

Builds a throwaway SQLite database with THINGS Things (one Datastream each, OBSERVATIONS
Observations per Datastream), then times in the same run:

- placehub: GET /sta/v1.1/Things?$top=THINGS&$expand=Datastreams($expand=Observations(
  $orderby=phenomenonTime desc;$top=1)) through the app (routing, access rule, JSON included);
- baseline: the same data fetched the N+1 way (one query per Thing for its Datastreams, one per
  Datastream for its latest Observation), plain SQLAlchemy, no JSON;
- deep insert: POST /sta/v1.1/Things with a Location, a Datastream, Sensor and ObservedProperty.

Usage: python bench/bench_sta_core.py [THINGS] [OBSERVATIONS]
"""

from __future__ import annotations

import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from placehub.config import load_settings
from placehub.db import Database
from placehub.sta.observations import NewObservation, write_observations
from placehub.sta.tables import datastreams, observations, things
from placehub.web.app import create_app
from timing import median_seconds


def oven(n: int) -> dict[str, object]:
    return {
        "name": f"bin {n}", "description": "litter bin",
        "Locations": [{"name": f"site {n}", "description": "d",
                       "encodingType": "application/geo+json",
                       "location": {"type": "Point", "coordinates": [-0.7 + n / 1e4, 52.6]}}],
        "Datastreams": [{
            "name": f"fill {n}", "description": "d", "observationType": "OM_Measurement",
            "unitOfMeasurement": {"name": "percent", "symbol": "%", "definition": "ucum:%"},
            "Sensor": {"name": "LDDS75", "description": "d", "encodingType": "application/pdf",
                       "metadata": "m"},
            "ObservedProperty": {"name": "fill", "description": "d", "definition": "d"},
        }],
    }


def main() -> None:
    n_things = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    n_obs = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        database = Database(url)
        database.upgrade()
        settings = load_settings(environ={}, database_url=url, anonymous_write=True,
                                 host="127.0.0.1", sta_max_top=10_000)
        app = create_app(settings, database=database)
        with TestClient(app) as client:
            inserts = []
            for n in range(n_things):
                start = time.perf_counter()
                response = client.post("/sta/v1.1/Things", json=oven(n))
                inserts.append(time.perf_counter() - start)
                assert response.status_code == 201, response.text
            with database.begin() as conn:
                stream_ids = list(conn.execute(select(datastreams.c.id)).scalars())
                base = datetime(2024, 1, 1, tzinfo=UTC)
                rows = [NewObservation(s, base + timedelta(minutes=15 * k), float(k % 100))
                        for s in stream_ids for k in range(n_obs)]
                write_observations(conn, rows)
            path = (f"/sta/v1.1/Things?$top={n_things}&$expand=Datastreams($expand="
                    "Observations($orderby=phenomenonTime desc;$top=1))")
            body = client.get(path).json()
            assert len(body["value"]) == n_things
            placehub = median_seconds(lambda: client.get(path).json(), 5)

        def n_plus_one() -> None:
            with database.connect() as conn:
                for thing in conn.execute(select(things).limit(n_things)).mappings().all():
                    for stream in conn.execute(select(datastreams).where(
                            datastreams.c.thing_id == thing["id"])).mappings().all():
                        conn.execute(select(observations).where(
                            observations.c.datastream_id == stream["id"])
                            .order_by(observations.c.phenomenon_time_start.desc())
                            .limit(1)).mappings().all()

        baseline = median_seconds(n_plus_one, 5)
        database.dispose()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, SQLite")
    print(f"{n_things} Things x 1 Datastream x {n_obs} Observations")
    print(f"expand (placehub, HTTP+JSON): median {placehub * 1000:.1f} ms")
    print(f"N+1 baseline (SQL only):      median {baseline * 1000:.1f} ms")
    print(f"ratio baseline/placehub: {baseline / placehub:.2f}")
    print(f"deep insert POST /Things: median {statistics.median(inserts) * 1000:.1f} ms "
          f"({1 / statistics.median(inserts):.0f} Things/s)")


if __name__ == "__main__":
    main()
