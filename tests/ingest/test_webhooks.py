"""Webhooks end to end: TTS and ChirpStack messages in their real shapes -> journal -> Observations."""

from __future__ import annotations

import base64
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from placehub.db import Database
from placehub.ingest.integrations import create_integration
from placehub.ingest.tables import ingest_journal
from placehub.sta.tables import datastreams, observations
from placehub.web.app import create_app

from .conftest import wait_processed
from .messages import BASE_TIME, chirpstack_event, chirpstack_uplink, ldds75, tts_uplink

EUI = "A84041000181C0DE"


def journal_rows(database: Database) -> list:
    with database.connect() as conn:
        return list(conn.execute(select(ingest_journal).order_by(ingest_journal.c.id)))


def observation_results(database: Database, stream_id: int) -> list:
    with database.connect() as conn:
        return [
            r.result_number
            for r in conn.execute(
                select(observations.c.result_number)
                .where(observations.c.datastream_id == stream_id)
                .order_by(observations.c.phenomenon_time_start)
            )
        ]


def test_ttn_uplink_becomes_observations_with_network_time(client, database, register) -> None:
    """A TTS uplink is journaled, decoded and written as distance, fill and battery Observations."""
    device = register(EUI)
    body = tts_uplink(EUI.lower(), ldds75(575), f_cnt=7)
    response = client.post("/ingest/ttn", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["duplicate"] is False
    wait_processed(database)
    (row,) = journal_rows(database)
    assert row.dev_eui == EUI and row.status == "processed" and row.observation_count == 3
    assert observation_results(database, device["datastreams"]["fill_level"]) == [50.0]
    with database.connect() as conn:
        stream = conn.execute(
            select(datastreams).where(datastreams.c.id == device["datastreams"]["distance"])
        ).one()
    # Network-server time (uplink_message.received_at), not arrival time.
    assert stream.latest_phenomenon_time == BASE_TIME + timedelta(minutes=7, microseconds=0)


def test_same_uplink_twice_is_stored_once_with_gateways_merged(client, database, register) -> None:
    """A retried webhook is one journal entry (2 copies, both gateways) and one set of Observations."""
    device = register(EUI)
    first = tts_uplink(EUI, ldds75(500), f_cnt=3, gateway="gw-a")
    second = tts_uplink(EUI, ldds75(500), f_cnt=3, gateway="gw-b", rssi=-80)
    assert client.post("/ingest/ttn", json=first).json()["duplicate"] is False
    assert client.post("/ingest/ttn", json=second).json()["duplicate"] is True
    wait_processed(database)
    (row,) = journal_rows(database)
    assert row.copies == 2
    assert {g["gateway_ids"]["gateway_id"] for g in row.rx_metadata} == {"gw-a", "gw-b"}
    assert len(observation_results(database, device["datastreams"]["distance"])) == 1


def test_f_cnt_absent_means_zero_and_counter_reset_is_kept(client, database, register) -> None:
    """f_cnt omitted (0) is keyed as 0; the same key with other bytes is kept as a counter reset."""
    device = register(EUI)
    client.post("/ingest/ttn", json=tts_uplink(EUI, ldds75(900), f_cnt=0, at=BASE_TIME))
    reset = client.post(
        "/ingest/ttn", json=tts_uplink(EUI, ldds75(300), f_cnt=0, at=BASE_TIME + timedelta(hours=1))
    )
    assert reset.json()["counter_reset"] is True
    wait_processed(database)
    rows = journal_rows(database)
    assert [r.f_cnt for r in rows] == [0, 0]
    assert [r.counter_reset for r in rows] == [False, True]
    assert observation_results(database, device["datastreams"]["distance"]) == [900, 300]


def test_chirpstack_uplink_and_events(client, database, register) -> None:
    """ChirpStack up (lower-case devEui, base64 data) is stored once per deduplicationId; status
    and join events update device health."""
    device = register(EUI)
    body = chirpstack_uplink(EUI, ldds75(400), f_cnt=11)
    assert client.post("/ingest/chirpstack?event=up", json=body).status_code == 200
    assert client.post("/ingest/chirpstack?event=up", json=body).json()["duplicate"] is True
    status = chirpstack_event(
        "status", EUI, BASE_TIME + timedelta(minutes=30), margin=7, batteryLevel=87.5
    )
    assert client.post("/ingest/chirpstack?event=status", json=status).status_code == 200
    join = chirpstack_event("join", EUI, BASE_TIME + timedelta(minutes=40))
    assert client.post("/ingest/chirpstack?event=join", json=join).status_code == 200
    wait_processed(database)
    assert observation_results(database, device["datastreams"]["distance"]) == [400]
    health = client.get(f"/api/devices/{EUI.lower()}/health").json()
    assert health["battery_percent"] == 87.5 and health["joins"] == 1
    assert health["rssi"] == -36 and health["snr"] == 10.5


def test_chirpstack_second_key_catches_a_copy_with_another_deduplication_id(
    client, database, register
) -> None:
    """The same uplink from two integrations (other deduplicationId) is matched by devEUI/devAddr/fCnt."""
    register(EUI)
    one = chirpstack_uplink(EUI, ldds75(420), f_cnt=5)
    two = chirpstack_uplink(EUI, ldds75(420), f_cnt=5, gateway="0016c001f153a14d")
    client.post("/ingest/chirpstack", json=one)
    assert client.post("/ingest/chirpstack", json=two).json()["duplicate"] is True
    wait_processed(database)
    (row,) = journal_rows(database)
    assert row.copies == 2 and len(row.rx_metadata) == 2


def test_out_of_order_arrival_never_moves_latest_backwards(client, database, register) -> None:
    """A late uplink (older network time) is stored but the Datastream's latest value stays newest."""
    device = register(EUI)
    client.post("/ingest/ttn", json=tts_uplink(EUI, ldds75(300), f_cnt=20))
    wait_processed(database)
    client.post("/ingest/ttn", json=tts_uplink(EUI, ldds75(800), f_cnt=19))
    wait_processed(database)
    with database.connect() as conn:
        stream = conn.execute(
            select(datastreams).where(datastreams.c.id == device["datastreams"]["distance"])
        ).one()
        latest = conn.execute(
            select(observations.c.result_number).where(
                observations.c.id == stream.latest_observation_id
            )
        ).scalar_one()
    assert latest == 300
    assert stream.observation_count == 2
    health = client.get(f"/api/devices/{EUI}/health").json()
    # f_cnt 19 arrived after 20: first counted lost, then recovered.
    assert health["frames_lost"] == 0 and health["frames_received"] == 2


def test_frame_counter_gaps_give_a_loss_rate(client, database, register) -> None:
    """Counters 1, 2, 5 and 6 received: 3 and 4 lost, loss rate 2/6."""
    register(EUI)
    for f_cnt in (1, 2, 5, 6):
        client.post("/ingest/ttn", json=tts_uplink(EUI, ldds75(600, 3300 - f_cnt), f_cnt=f_cnt))
    wait_processed(database)
    health = client.get(f"/api/devices/{EUI}/health").json()
    assert health["frames_received"] == 4 and health["frames_lost"] == 2
    assert health["loss_rate"] == pytest.approx(2 / 6, abs=1e-4)
    assert health["battery_voltage"] == 3.294
    assert health["last_seen"].startswith((BASE_TIME + timedelta(minutes=6)).isoformat()[:16])


def test_malformed_bodies_get_a_clear_4xx(client, database) -> None:
    """Bad JSON, a missing DevEUI or bad base64 are refused with a message; nothing is stored."""
    bad_json = client.post(
        "/ingest/ttn", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["error"]["message"]
    no_eui = tts_uplink(EUI, ldds75(1), 1)
    del no_eui["end_device_ids"]["dev_eui"]
    response = client.post("/ingest/ttn", json=no_eui)
    assert response.status_code == 400 and "dev_eui" in response.json()["error"]["message"]
    bad_data = chirpstack_uplink(EUI, b"", 1)
    bad_data["data"] = "***"
    assert client.post("/ingest/chirpstack", json=bad_data).status_code == 400
    assert (
        client.post(
            "/ingest/chirpstack?event=nonsense", json=chirpstack_uplink(EUI, b"1", 1)
        ).status_code
        == 400
    )
    assert journal_rows(database) == []


def test_webhook_needs_credentials_unless_local_anonymous(settings, database) -> None:
    """Without PLACEHUB_ANONYMOUS_WRITE a webhook needs an integration's Basic auth or secret header."""
    with database.begin() as conn:
        basic = create_integration(conn, "ttn-rutland", "tts", username="rutland")
        header = create_integration(conn, "chirpstack-main", "chirpstack")
    app = create_app(settings, database=database)
    with TestClient(app) as client:
        body = tts_uplink(EUI, ldds75(500), 1)
        assert client.post("/ingest/ttn", json=body).status_code == 401
        wrong = base64.b64encode(b"rutland:nope").decode()
        assert (
            client.post(
                "/ingest/ttn", json=body, headers={"Authorization": f"Basic {wrong}"}
            ).status_code
            == 401
        )
        good = base64.b64encode(f"rutland:{basic}".encode()).decode()
        assert (
            client.post(
                "/ingest/ttn", json=body, headers={"Authorization": f"Basic {good}"}
            ).status_code
            == 200
        )
        cs = chirpstack_uplink(EUI, ldds75(500), 2)
        # A ChirpStack secret does not open the TTS webhook, and vice versa.
        assert (
            client.post("/ingest/ttn", json=body, headers={"X-Placehub-Secret": header}).status_code
            == 401
        )
        assert (
            client.post(
                "/ingest/chirpstack", json=cs, headers={"X-Placehub-Secret": header}
            ).status_code
            == 200
        )
    with database.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ingest_journal)).scalar_one() == 2


def test_observations_written_is_announced_after_commit(client, database, register) -> None:
    """Subscribers of observations.written hear about the uplink's Observations once committed."""
    device = register(EUI)
    heard: list = []
    database.events.subscribe("observations.written", heard.extend)
    try:
        client.post("/ingest/ttn", json=tts_uplink(EUI, ldds75(700), f_cnt=2))
        wait_processed(database)
        deadline = time.monotonic() + 5
        while len(heard) < 3 and time.monotonic() < deadline:  # published just after commit
            time.sleep(0.02)
    finally:
        database.events.unsubscribe("observations.written", heard.extend)
    assert {w.datastream_id for w in heard} == set(device["datastreams"].values())
    assert all(w.thing_id == device["thing_id"] for w in heard)


def test_chirpstack_log_of_a_counter_reset_updates_health(client, database, register) -> None:
    """A ChirpStack log event with a frame-counter reset code is counted in the device health."""
    register(EUI)
    client.post("/ingest/chirpstack", json=chirpstack_uplink(EUI, ldds75(400), f_cnt=40))
    log = chirpstack_event(
        "log",
        EUI,
        BASE_TIME + timedelta(hours=2),
        level="WARNING",
        code="UPLINK_F_CNT_RESET",
        description="frame-counter reset or rollover",
        context={"deduplication_id": "x"},
    )
    assert client.post("/ingest/chirpstack?event=log", json=log).status_code == 200
    wait_processed(database)
    health = client.get(f"/api/devices/{EUI}/health").json()
    assert health["counter_resets"] == 1 and "UPLINK_F_CNT_RESET" in health["last_error"]
    assert health["last_f_cnt"] is None  # the next uplink starts a new count


def test_fast_lane_acknowledges_uplinks_without_the_page_middleware(client, database) -> None:
    """An accepted uplink is answered by the fast lane: API headers, no session, counted in /metrics."""
    response = client.post("/ingest/ttn", json=tts_uplink(EUI, ldds75(640), 3))
    assert response.status_code == 200
    assert response.json() == {
        "journal_id": journal_rows(database)[0].id, "duplicate": False, "counter_reset": False
    }
    assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "set-cookie" not in response.headers
    scraped = client.get("/metrics").text
    assert 'placehub_http_requests_total{method="POST",route="/ingest/ttn",status="200"} 1.0' in scraped


def test_refused_webhooks_get_the_apps_error_body(client, database) -> None:
    """A request the lane refuses gets the app's JSON error shape and the API headers."""
    refused = client.post(
        "/ingest/chirpstack?event=nonsense", json=chirpstack_uplink(EUI, ldds75(300), 4)
    )
    assert refused.status_code == 400
    assert "nonsense" in refused.json()["error"]["message"]
    assert refused.json()["error"]["code"] == 400
    assert refused.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    join = client.post("/ingest/chirpstack?event=join", json=chirpstack_event("join", EUI, BASE_TIME))
    assert join.status_code == 200
    assert [row.event for row in journal_rows(database)] == ["join"]


def test_journal_failure_is_a_503_and_nothing_is_acknowledged(client, database, monkeypatch) -> None:
    """When the journal cannot store an uplink the network server gets a 503 to retry, not a 2xx."""
    from placehub.ingest import journal

    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(journal, "write_entries", broken)
    response = client.post("/ingest/ttn", json=tts_uplink(EUI, ldds75(700), 5))
    assert response.status_code == 503
    assert "not stored" in response.json()["error"]["message"]
    assert "disk full" in response.json()["error"]["message"]
