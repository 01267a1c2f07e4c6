"""Dedup as LoRaWAN networks deliver uplinks, and device health from what the network knows:
frame-counter repeats after the window, the same uplink via two network servers, simulated
uplinks, network positions, ChirpStack battery and events, field masks, replay clearing errors."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from placehub.db import Database
from placehub.ingest.deadletters import replay
from placehub.ingest.tables import ingest_device_health, ingest_devices, ingest_journal
from placehub.sta.tables import (
    historical_locations,
    locations,
    observations,
    thing_locations,
)
from placehub.web.app import create_app

from .conftest import wait_processed
from .messages import BASE_TIME, chirpstack_event, chirpstack_uplink, ldds75, tts_uplink

EUI = "A84041000181C0DE"


def journal(database: Database) -> list:
    with database.connect() as conn:
        return list(conn.execute(select(ingest_journal).order_by(ingest_journal.c.id)))


def observation_count(database: Database) -> int:
    with database.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(observations)).scalar_one())


def health(database: Database):  # type: ignore[no-untyped-def]
    with database.connect() as conn:
        return conn.execute(select(ingest_device_health)
                            .where(ingest_device_health.c.dev_eui == EUI)).one()


def test_frame_counter_repeat_after_the_window_is_a_new_reading(client, database, register) -> None:
    """An ABP device restarting its counter repeats f_cnt and bytes days later: a new reading
    (counted as a reset); a retry of that later uplink is still a duplicate."""
    register(EUI)
    first = tts_uplink(EUI, ldds75(500), 5, at=BASE_TIME)
    later = tts_uplink(EUI, ldds75(500), 5, at=BASE_TIME + timedelta(days=3))
    assert client.post("/ingest/ttn", json=first).json()["duplicate"] is False
    answer = client.post("/ingest/ttn", json=later).json()
    assert answer["duplicate"] is False and answer["counter_reset"] is True
    assert client.post("/ingest/ttn", json=later).json()["duplicate"] is True
    retry_of_first = tts_uplink(EUI, ldds75(500), 5, at=BASE_TIME)
    assert client.post("/ingest/ttn", json=retry_of_first).json()["duplicate"] is True
    wait_processed(database)
    rows = journal(database)
    assert [r.status for r in rows] == ["processed", "processed"]
    assert rows[1].copies == 2
    assert observation_count(database) == 6


def test_after_a_join_the_same_counter_is_a_new_reading(client, database, register) -> None:
    """A join gives a new session: f_cnt 1 with the same bytes minutes later is stored."""
    register(EUI)
    client.post("/ingest/ttn", json=tts_uplink(EUI, ldds75(500), 1, at=BASE_TIME))
    rejoined = tts_uplink(EUI, ldds75(500), 1, at=BASE_TIME + timedelta(minutes=3),
                          session="NEWSESSIONKEY=")
    assert client.post("/ingest/ttn", json=rejoined).json()["duplicate"] is False
    wait_processed(database)
    assert observation_count(database) == 6


def test_same_uplink_via_tts_and_chirpstack_is_stored_once(client, database, register) -> None:
    """Same DevEUI, counter and bytes within two minutes from two network servers: one entry,
    gateways merged, no false counter reset."""
    register(EUI)
    via_tts = tts_uplink(EUI, ldds75(640), 12, at=BASE_TIME, gateway="tts-gw")
    via_cs = chirpstack_uplink(EUI, ldds75(640), 12, at=BASE_TIME + timedelta(seconds=1),
                               gateway="cs-gw", dev_addr="260b7a2c")
    assert client.post("/ingest/ttn", json=via_tts).json()["duplicate"] is False
    assert client.post("/ingest/chirpstack", json=via_cs).json()["duplicate"] is True
    other_reading = chirpstack_uplink(EUI, ldds75(641), 13, at=BASE_TIME + timedelta(minutes=1),
                                      dev_addr="260b7a2c")
    assert client.post("/ingest/chirpstack", json=other_reading).json()["duplicate"] is False
    wait_processed(database)
    first, second = journal(database)
    assert first.copies == 2 and len(first.rx_metadata) == 2
    assert observation_count(database) == 6
    assert health(database).counter_resets == 0


def test_simulated_uplinks_are_kept_aside_unless_allowed(settings, database, register) -> None:
    """TTS console simulations are journaled as ignored; with the setting on they are stored
    and their Observations marked simulated."""
    register(EUI)
    simulated = {**tts_uplink(EUI, ldds75(500), 1), "simulated": True}
    for allowed in (False, True):
        app = create_app(settings.replace(anonymous_write=True, ingest_accept_simulated=allowed),
                         database=database)
        with TestClient(app) as client:
            body = {**simulated, "uplink_message": {**simulated["uplink_message"],
                                                    "f_cnt": 1 + allowed}}
            assert client.post("/ingest/ttn", json=body).status_code == 200
            wait_processed(database)
    kept, stored = journal(database)
    assert kept.status == "ignored" and "simulated" in kept.reason
    assert stored.status == "processed" and stored.simulated
    with database.connect() as conn:
        marks = {o.parameters.get("simulated") for o in conn.execute(select(observations))}
    assert marks == {True}


def current_point(database: Database, thing_id: int) -> list[float]:
    with database.connect() as conn:
        return conn.execute(
            select(locations.c.location)
            .join(thing_locations, thing_locations.c.location_id == locations.c.id)
            .where(thing_locations.c.thing_id == thing_id)
        ).scalar_one()["coordinates"]


def test_network_positions_move_the_location(client, database, register) -> None:
    """TTS uplink locations and ChirpStack location events set the Thing's Location (with a
    HistoricalLocation); a position within GPS noise of it changes nothing."""
    device = register(EUI, lat=52.6703, lon=-0.7301)
    nearby = tts_uplink(EUI, ldds75(500), 1)
    nearby["uplink_message"]["locations"] = {
        "frm-payload": {"latitude": 52.67032, "longitude": -0.73012, "source": "SOURCE_GPS"}}
    client.post("/ingest/ttn", json=nearby)
    wait_processed(database)
    assert current_point(database, device["thing_id"]) == [-0.7301, 52.6703]
    moved = tts_uplink(EUI, ldds75(500), 2)
    moved["uplink_message"]["locations"] = {
        "frm-payload": {"latitude": 52.6800, "longitude": -0.7301, "source": "SOURCE_GPS"}}
    client.post("/ingest/ttn", json=moved)
    wait_processed(database)
    assert current_point(database, device["thing_id"]) == [-0.7301, 52.68]
    located = chirpstack_event("location", EUI, BASE_TIME, location={
        "latitude": 52.6900, "longitude": -0.7200, "source": "GEO_RESOLVER_TDOA",
        "accuracy": 40})
    assert client.post("/ingest/chirpstack?event=location", json=located).status_code == 200
    wait_processed(database)
    assert current_point(database, device["thing_id"]) == [-0.72, 52.69]
    with database.connect() as conn:
        history = conn.execute(select(func.count()).select_from(historical_locations).where(
            historical_locations.c.thing_id == device["thing_id"])).scalar_one()
    assert history == 3  # registration, TTS position, ChirpStack location


def test_chirpstack_status_battery_becomes_a_battery_observation(client, database, register
                                                                 ) -> None:
    """The network's battery level is stored on a battery_percent Datastream (added once), so
    the battery rule sees it, as well as in the health record."""
    register(EUI)
    for minutes, level in ((0, 64.0), (60, 12.5)):
        status = chirpstack_event("status", EUI, BASE_TIME + timedelta(minutes=minutes),
                                  batteryLevel=level, margin=7)
        assert client.post("/ingest/chirpstack?event=status", json=status).status_code == 200
    wait_processed(database)
    with database.connect() as conn:
        streams = conn.execute(select(ingest_devices.c.datastreams)).scalar_one()
        values = sorted(conn.execute(select(observations.c.result_number).where(
            observations.c.datastream_id == streams["battery_percent"])).scalars())
    assert values == [12.5, 64.0]
    assert health(database).battery_percent == 12.5


def test_every_chirpstack_event_type_is_accepted(client, database, register) -> None:
    """ChirpStack posts every event: up, join, status, log, location are journaled; ack, txack
    and integration are answered 204 and not stored."""
    register(EUI)
    at = BASE_TIME
    bodies = {
        "up": chirpstack_uplink(EUI, ldds75(500), 1),
        "join": chirpstack_event("join", EUI, at),
        "status": chirpstack_event("status", EUI, at, batteryLevel=80),
        "log": chirpstack_event("log", EUI, at, level="INFO", code="OTHER", description="x"),
        "location": chirpstack_event("location", EUI, at, location={
            "latitude": 52.6703, "longitude": -0.7301}),
        "ack": chirpstack_event("ack", EUI, at, acknowledged=True, fCntDown=3),
        "txack": chirpstack_event("txack", EUI, at, fCntDown=3, gatewayId="0016c001f153a14c"),
        "integration": chirpstack_event("integration", EUI, at, integrationName="loracloud"),
    }
    answers = {event: client.post(f"/ingest/chirpstack?event={event}", json=body).status_code
               for event, body in bodies.items()}
    assert answers == {"up": 200, "join": 200, "status": 200, "log": 200, "location": 200,
                       "ack": 204, "txack": 204, "integration": 204}
    wait_processed(database)
    assert sorted(r.event for r in journal(database)) == sorted(
        ["up", "join", "status", "log", "location"])


def test_field_mask_without_port_is_a_dead_letter_saying_so(client, database, register) -> None:
    """A TTS field mask leaving out f_port no longer makes uplinks silently ignored."""
    register(EUI)
    body = tts_uplink(EUI, ldds75(500), 4)
    del body["uplink_message"]["f_port"]
    assert client.post("/ingest/ttn", json=body).status_code == 200
    (row,) = journal(database)
    assert row.status == "dead_letter" and "field mask" in row.reason


def test_successful_replay_clears_the_health_errors(client, database, register) -> None:
    """An uplink of an unregistered device counts as a dead letter; once registered and
    replayed, the health record no longer says 'unknown device'."""
    client.post("/ingest/ttn", json=tts_uplink(EUI, ldds75(500), 1))
    wait_processed(database)
    before = health(database)
    assert before.dead_letters == 1 and before.last_error.startswith("unknown device")
    register(EUI)
    assert replay(database, dead_letters=True)["processed"] == 1
    after = health(database)
    assert after.dead_letters == 0 and after.last_error is None
    assert after.frames_received == 1
