"""Two API processes on one PostgreSQL database: one alert and one notification per crossing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from placehub.alerts import notify
from placehub.alerts.ownership import AlertLease
from placehub.alerts.tables import alert_rule_states, alerts, notification_deliveries
from placehub.db import Database
from tests.alerts.conftest import make_asset
from tests.alerts.test_notify import Receiver, free_port

SECRET = "two-processes-secret"


def _serve(database: Database, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PLACEHUB_DATABASE_URL": database.url, "PLACEHUB_ANONYMOUS_WRITE": "true",
           "PLACEHUB_ALERTS_SHARED_STATE": "true", "PLACEHUB_ALERTS_TICK_SECONDS": "1",
           "PLACEHUB_SECRET_KEY": "test-secret", "PLACEHUB_INGEST_PROFILES_DIR": ""}
    return subprocess.Popen(
        [sys.executable, "-m", "placehub", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


@pytest.fixture
def two_servers(pg_database: Database, tmp_path: Path) -> Iterator[list[str]]:
    """Two `placehub serve` processes sharing alert state on one PostgreSQL database."""
    ports = [free_port(), free_port()]
    processes = [_serve(pg_database, p, tmp_path / f"serve{p}.log") for p in ports]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    # Start-up imports the whole web app: on a loaded machine that alone can take a minute.
    deadline = time.monotonic() + 180
    try:
        for url in urls:
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code < 500:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    logs = "".join(p.read_text() for p in tmp_path.glob("serve*.log"))
                    raise AssertionError(f"placehub serve did not start:\n{logs[-2000:]}")
                time.sleep(0.2)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def test_crossing_seen_by_two_processes_opens_one_alert_and_one_notification(
    pg_database: Database, two_servers: list[str]
) -> None:
    """Readings of a knocked-over bin posted to two API processes at once open one alert, and
    the team's webhook hears of it once; a reading back upright at the other process is judged
    against the same shared state."""
    receiver = Receiver(failures=0)
    try:
        # The servers' clock (their Date header): a run under --clock moves only this
        # process's clock, and readings must be recent by theirs.
        now = parsedate_to_datetime(httpx.get(f"{two_servers[0]}/healthz").headers["date"])
        with pg_database.begin() as conn:
            from placehub.access.service import ensure_organisation

            org = ensure_organisation(conn, "rutland", "Rutland")
            # No daily digest: after the digest hour (UTC) the timer's first round would send
            # one listing this alert too, a second message that depends on the time of day.
            team = notify.create_team(conn, now, organisation_id=org, name="Street team",
                                      webhook_url=receiver.url, webhook_secret=SECRET,
                                      daily_digest=False)
            notify.subscribe(conn, team, channels=["webhook"], rule_keys=["bin_tilted"])
        _, streams = make_asset(pg_database, "litter_bin", ["tilt_angle"], name="Bin 12")
        stream = streams["tilt_angle"]

        def post(args: tuple[int, float]) -> int:
            index, angle = args
            at = now - timedelta(minutes=30) + timedelta(seconds=10 * index)
            answer = httpx.post(f"{two_servers[index % 2]}/sta/v1.1/Observations", json={
                "phenomenonTime": at.isoformat(), "result": angle,
                "Datastream": {"@iot.id": stream}}, timeout=20)
            return answer.status_code

        post((0, 3.0))  # upright
        with ThreadPoolExecutor(8) as pool:  # knocked over: readings reach both processes
            assert set(pool.map(post, [(i, 85.0 + i % 3) for i in range(1, 17)])) == {201}
        deadline = time.monotonic() + 60
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2.5)  # two more timer rounds: nothing is sent again
        with pg_database.connect() as conn:
            opened = conn.execute(select(alerts.c.id, alerts.c.rule_key, alerts.c.status)).all()
            deliveries = [(d.event, d.status, d.alert_id) for d in conn.execute(
                select(notification_deliveries).order_by(notification_deliveries.c.id))]
            states = conn.execute(select(alert_rule_states.c.state)).scalars().all()
        assert [(a.rule_key, a.status) for a in opened] == [("bin_tilted", "open")]
        assert deliveries == [("opened", "delivered", opened[0].id)]
        assert len(receiver.received) == 1
        assert any(s.get("active") for s in states)  # the episode's state is shared
    finally:
        receiver.close()


def test_alert_lease_is_held_by_one_process_at_a_time(pg_database: Database) -> None:
    """Only one holder of the alert lease; when it lets go, the other takes it over."""
    first, second = AlertLease(pg_database), AlertLease(Database(pg_database.url))
    try:
        assert first.held() and first.held()
        assert not second.held()
        first.release()
        assert second.held()
        assert not first.held()
    finally:
        first.release()
        second.release()
        second.database.dispose()
