"""The device list with 10,000 devices: /devices renders one page of 50 (searched, sorted and
paged in SQL) about as fast as with 100 devices.

    PYTHONPATH=src:. python bench/bench_devices.py [--devices 10000] [--repeats 7]

Baselines measured in the same run: the same page with 100 devices, and the whole registry read
the way the page read it before (``readable_devices``, every row), at the large size.
Data: tests/ingest/fleet.py (organisation-only bins, each with a device and its health) in a
throwaway SQLite file; the officer is an editor of the organisation.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from bench.timing import median_seconds
from fastapi.testclient import TestClient
from tests.ingest.fleet import make_fleet
from tests.web.conftest import sign_in
from tests.web.seed import PASSWORD

from placehub.access import service
from placehub.config import load_settings
from placehub.db import Database
from placehub.ingest.devices import readable_devices
from placehub.web.app import create_app

URLS = ["/devices", "/devices?page=100", "/devices?sort=last_seen&dir=desc",
        "/devices?q=catmose+street", "/devices?q=24e1241300001"]


def build(work: Path, devices: int) -> tuple[TestClient, Database, Any]:
    """A signed-in client of an app over ``devices`` registered devices."""
    url = f"sqlite:///{work / f'devices-{devices}.sqlite3'}"
    database = Database(url)
    database.upgrade()
    fleet = make_fleet(database, devices)
    with database.begin() as conn:
        user = service.create_user(conn, "officer", password=PASSWORD)
        service.grant_role(conn, user, fleet["organisation"], "editor")
        principal = service.principal_for_user(conn, user)
    settings = load_settings(environ={}, database_url=url, secret_key="bench")
    client = TestClient(create_app(settings, database=database), base_url="http://testserver")
    sign_in(client)
    return client, database, principal


def page_times(client: TestClient, repeats: int) -> dict[str, float]:
    """Median seconds of each of ``URLS`` (after one warm-up request each)."""
    times = {}
    for target in URLS:
        assert client.get(target).status_code == 200, target
        times[target] = median_seconds(lambda: client.get(target), repeats)  # noqa: B023
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        client, database, _ = build(work, 100)
        small = page_times(client, args.repeats)
        database.dispose()
        client, database, principal = build(work, args.devices)
        large = page_times(client, args.repeats)
        with database.connect() as conn:
            whole = median_seconds(lambda: readable_devices(conn, principal), args.repeats)
        database.dispose()
    print(f"| page | {100:,} devices | {args.devices:,} devices | ratio |")
    print("|---|---|---|---|")
    for target in URLS:
        print(f"| `{target}` | {small[target] * 1000:.1f} ms | {large[target] * 1000:.1f} ms | "
              f"{large[target] / small[target]:.2f} |")
    print(f"| baseline: every row of the registry (`readable_devices`, the list before paging), "
          f"SQL only | | {whole * 1000:.1f} ms | |")


if __name__ == "__main__":
    main()
