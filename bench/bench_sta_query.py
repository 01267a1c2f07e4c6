"""SensorThings speed: bulk writes through CreateObservations and reads on a big store.

    python bench/bench_sta_query.py write DATABASE_URL [REQUESTS] [CLIENTS]
    python bench/bench_sta_query.py read DATABASE_URL [REPEATS]

write: a throwaway copy of the schema in DATABASE_URL's server (SQLite: a temporary file;
PostgreSQL: a temporary database), ten Datastreams, then REQUESTS CreateObservations requests of
1,000 Observations each through the app's ASGI interface in-process (routing, token, access
checks, JSON parsing and rendering, as over HTTP; no network), against a
raw batched insert of the same rows in the same run (sqlite3 executemany in one transaction per
1,000 rows; PostgreSQL COPY per 1,000 rows). CLIENTS concurrent clients share the requests
(default 1). Prints sustained Observations/s and the ratio.

read: DATABASE_URL holds the store of bench/generate.py (10 million Observations over 1,000
Datastreams). Each query runs REPEATS times through the app (anonymous reader, public data); the
baseline is the hand-written SQL giving the same rows, without JSON, run in the same process.
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import text

from placehub.access import service
from placehub.config import load_settings
from placehub.db import Database
from placehub.db.engine import normalise_url
from placehub.db.scratch import scratch_postgres
from placehub.web.app import create_app
from timing import median_seconds

BATCH = 1000


def _machine() -> str:
    return (f"{platform.machine()}, {platform.python_version()}, "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


# --- writes ------------------------------------------------------------------------------------


def _scratch_database(url: str) -> tuple[str, Callable[[], None]]:
    """A new empty database next to ``url`` and a function that removes it."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        folder = tempfile.mkdtemp(prefix="placehub-bench-")
        path = Path(folder) / "write.sqlite3"
        return f"sqlite:///{path}", lambda: [p.unlink() for p in Path(folder).glob("*")] and None
    return scratch_postgres(url, "placehub_bench_write")


def _setup_streams(client: TestClient, headers: dict[str, str], count: int) -> list[int]:
    streams = []
    for n in range(count):
        thing = client.post("/sta/v1.1/Things", headers=headers, json={
            "name": f"bin {n}", "description": "litter bin",
            "Locations": [{"name": f"site {n}", "description": "", "encodingType":
                           "application/geo+json", "location": {
                               "type": "Point", "coordinates": [-0.72 + n / 1e3, 52.66]}}],
            "Datastreams": [{
                "name": f"fill {n}", "description": "", "observationType": "OM_Measurement",
                "unitOfMeasurement": {"name": "percent", "symbol": "%", "definition": "%"},
                "Sensor": {"name": "LDDS75", "description": "", "encodingType":
                           "application/pdf", "metadata": "m"},
                "ObservedProperty": {"name": "fill", "description": "", "definition": "f"},
            }]})
        assert thing.status_code == 201, thing.text
        listing = client.get(thing.json()["@iot.selfLink"] + "/Datastreams", headers=headers)
        streams.append(int(listing.json()["value"][0]["@iot.id"]))
    return streams


def _request_body(streams: list[int], start: datetime, request: int) -> list[dict[str, Any]]:
    per_stream = BATCH // len(streams)
    body = []
    for index, stream in enumerate(streams):
        rows = []
        for k in range(per_stream):
            moment = start + timedelta(seconds=(request * per_stream + k) * 60 + index)
            rows.append([moment.strftime("%Y-%m-%dT%H:%M:%SZ"), round((k * 7.3) % 100, 1)])
        body.append({"Datastream": {"@iot.id": stream},
                     "components": ["phenomenonTime", "result"], "dataArray": rows})
    return body


def _raw_insert(database: Database, streams: list[int], feature: int, start: datetime,
                request: int) -> None:
    """The baseline: the same 1,000 rows straight through the driver, one transaction."""
    per_stream = BATCH // len(streams)
    rows = []
    for index, stream in enumerate(streams):
        for k in range(per_stream):
            moment = start + timedelta(seconds=(request * per_stream + k) * 60 + index)
            rows.append((stream, feature, moment, moment, 1, round((k * 7.3) % 100, 1)))
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        columns = ("datastream_id, feature_of_interest_id, phenomenon_time_start, result_time, "
                   "result_type, result_number")
        if database.is_sqlite:
            cursor.execute("BEGIN")  # the engine runs the driver in autocommit mode
            cursor.executemany(
                f"INSERT INTO observations ({columns}) VALUES (?, ?, ?, ?, ?, ?)",
                [(s, f, m.strftime("%Y-%m-%d %H:%M:%S.%f"), m.strftime("%Y-%m-%d %H:%M:%S.%f"),
                  t, r) for s, f, m, _, t, r in rows])
        else:
            buffer = io.StringIO()
            for s, f, m, _, t, r in rows:
                buffer.write(f"{s}\t{f}\t{m.isoformat()}\t{m.isoformat()}\t{t}\t{r}\n")
            with cursor.copy(f"COPY observations ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                copy.write(buffer.getvalue())
        raw.commit()
    finally:
        raw.close()


def bench_write(url: str, requests: int, clients: int) -> None:
    scratch, drop = _scratch_database(url)
    database = Database(scratch)
    try:
        database.upgrade()
        with database.begin() as conn:
            org = service.create_organisation(conn, "bench", "Bench council")
            user = service.create_user(conn, "bench-writer")
            service.grant_role(conn, user, org, "editor")
            token = service.create_token(conn, user, "bench")
        headers = {"Authorization": f"Bearer {token}"}
        app = create_app(load_settings(environ={}, database_url=scratch, secret_key="bench"),
                         database=database)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        with TestClient(app) as client:
            streams = _setup_streams(client, headers, 10)
            with database.connect() as conn:
                feature = conn.execute(text("SELECT min(id) FROM features_of_interest")).scalar()
            if feature is None:  # generated on the first write: make one exist
                client.post("/sta/v1.1/CreateObservations", headers=headers,
                            json=_request_body(streams, start - timedelta(days=400), 0))
                with database.connect() as conn:
                    feature = conn.execute(
                        text("SELECT min(id) FROM features_of_interest")).scalar()
            bodies = [_request_body(streams, start, r) for r in range(requests)]
            # Warm up both paths once (imports, caches, prepared plans).
            client.post("/sta/v1.1/CreateObservations", headers=headers,
                        json=_request_body(streams, start - timedelta(days=200), 0))
            _raw_insert(database, streams, int(feature), start - timedelta(days=300), 0)
            payloads = [json.dumps(body) for body in bodies]  # client-side encoding not timed
            gc.freeze()  # as `placehub serve` does once the app is loaded
            post_headers = {**headers, "content-type": "application/json"}

            async def send(share: list[str]) -> None:
                # The app's own ASGI interface in this process: routing, token, access checks
                # and JSON as over HTTP, without TestClient's thread hop per request.
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://bench") as own:
                    for payload in share:
                        response = await own.post("/sta/v1.1/CreateObservations",
                                                  headers=post_headers, content=payload)
                        assert response.status_code == 201, response.text[:300]
                        assert "error" not in response.json()

            async def send_all() -> None:
                await asyncio.gather(*(send(payloads[i::clients]) for i in range(clients)))

            began = time.perf_counter()
            asyncio.run(send_all())
            api_seconds = time.perf_counter() - began
            began = time.perf_counter()
            for r in range(requests):
                _raw_insert(database, streams, int(feature), start + timedelta(days=100), r)
            raw_seconds = time.perf_counter() - began
        total = requests * BATCH
        api_rate, raw_rate = total / api_seconds, total / raw_seconds
        print(f"write {database.dialect} {_machine()}: {requests} requests x {BATCH}, "
              f"{clients} client(s)")
        print(f"  CreateObservations: {api_rate:,.0f} obs/s ({api_seconds / requests * 1000:.1f}"
              f" ms per request)")
        print(f"  raw batched insert: {raw_rate:,.0f} obs/s")
        print(f"  ratio raw / CreateObservations: {raw_rate / api_rate:.2f}")
    finally:
        database.dispose()
        drop()


# --- reads -------------------------------------------------------------------------------------

READS = {
    "latest 100 Observations of a Datastream":
        ("/sta/v1.1/Datastreams({ds})/Observations?$orderby=phenomenonTime desc&$top=100",
         "SELECT * FROM observations WHERE datastream_id = {ds} "
         "ORDER BY phenomenon_time_start DESC, id DESC LIMIT 100"),
    "one-hour phenomenonTime window of a Datastream":
        ("/sta/v1.1/Datastreams({ds})/Observations?$filter=phenomenonTime ge {t0} and "
         "phenomenonTime lt {t1}",
         "SELECT * FROM observations WHERE datastream_id = {ds} AND phenomenon_time_start >= "
         "'{s0}' AND phenomenon_time_start < '{s1}' ORDER BY id"),
    "latest Observation of every Datastream of 1,000 Things":
        ("/sta/v1.1/Things?$top=1000&$expand=Datastreams($expand=Observations("
         "$orderby=phenomenonTime desc;$top=1))",
         "SELECT t.*, d.*, o.* FROM things t JOIN datastreams d ON d.thing_id = t.id "
         "JOIN observations o ON o.id = d.latest_observation_id ORDER BY t.id LIMIT 1000"),
    "$count of one Datastream's Observations":
        ("/sta/v1.1/Datastreams({ds})/Observations?$count=true&$top=1",
         "SELECT count(*) FROM observations WHERE datastream_id = {ds}"),
    "$count of all Observations":
        ("/sta/v1.1/Observations?$count=true&$top=1",
         "SELECT count(*) FROM observations"),
}


def bench_read(url: str, repeats: int) -> None:
    database = Database(url)
    app = create_app(load_settings(environ={}, database_url=url, secret_key="bench"),
                     database=database)
    with database.connect() as conn:
        total = conn.execute(text("SELECT sum(observation_count) FROM datastreams")).scalar()
        streams = conn.execute(text("SELECT count(*) FROM datastreams")).scalar()
        ds = conn.execute(text("SELECT id FROM datastreams ORDER BY id LIMIT 1 OFFSET 499")
                          ).scalar()
        middle = conn.execute(text(f"SELECT phenomenon_time_start FROM observations WHERE "
                                   f"datastream_id = {ds} ORDER BY phenomenon_time_start "
                                   f"LIMIT 1 OFFSET 5000")).scalar()
    if isinstance(middle, str):
        middle = datetime.fromisoformat(middle).replace(tzinfo=UTC)
    t0, t1 = middle, middle + timedelta(hours=1)
    values = {"ds": ds, "t0": t0.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "t1": t1.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if database.is_sqlite:
        values |= {"s0": t0.strftime("%Y-%m-%d %H:%M:%S.%f"),
                   "s1": t1.strftime("%Y-%m-%d %H:%M:%S.%f")}
    else:
        values |= {"s0": t0.isoformat(), "s1": t1.isoformat()}
    print(f"read {database.dialect} {_machine()}: {total:,} Observations, {streams:,} "
          f"Datastreams, {repeats} repeats, medians")
    print("| query | placehub (HTTP, JSON) | baseline (SQL only) | ratio |")
    print("|---|---|---|---|")
    with TestClient(app) as client:
        for name, (path, sql) in READS.items():
            url_path = path.format(**values)
            statement = text(sql.format(**values))
            response = client.get(url_path)
            assert response.status_code == 200, response.text[:300]
            ours = median_seconds(lambda p=url_path: client.get(p), repeats)  # type: ignore[misc]
            with database.connect() as conn:
                conn.execute(statement).all()
                base = median_seconds(lambda c=conn, s=statement: c.execute(s).all(), repeats)  # type: ignore[misc]
            print(f"| {name} | {ours * 1000:.1f} ms | {base * 1000:.1f} ms | "
                  f"{ours / base:.1f} |")
    database.dispose()


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[1] not in {"write", "read"}:
        raise SystemExit(__doc__)
    mode, url = sys.argv[1], sys.argv[2]
    if mode == "write":
        bench_write(url, int(sys.argv[3]) if len(sys.argv) > 3 else 20,
                    int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    else:
        bench_read(url, int(sys.argv[3]) if len(sys.argv) > 3 else 15)


if __name__ == "__main__":
    main()
