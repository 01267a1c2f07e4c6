"""Consent, carers and change-in-routine alerts of a resident's home, on both databases."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select

from placehub.access import service as access
from placehub.access.tables import audit_log
from placehub.alerts import notify
from placehub.alerts.tables import alerts, notification_deliveries
from placehub.care import service
from placehub.care.checks import check_home
from placehub.care.demo import write_events
from placehub.care.routine import HomeEvents
from placehub.care.schedule import CareSchedule
from placehub.care.simulate import simulate
from placehub.db import Database
from placehub.errors import Forbidden
from placehub.ingest.journal import JournalEntry, payload_hash, write_entries
from placehub.ingest.processing import process_pending
from placehub.ingest.tables import ingest_journal

NOW = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
MOTION_EUI = "A84041CA00090001"
# Elsys TLV: temperature 20.0 °C (0x01, 0x00C8), motion count 3 (0x05, 0x03).
ELSYS_MOTION = "0100c80503"


@pytest.fixture
def home(database: Database) -> dict:
    """Rutland with an editor and one resident (consent, carer, three sensors)."""
    with database.begin() as conn:
        rutland = access.create_organisation(conn, "rutland", "Rutland County Council")
        editor = access.create_user(conn, "rutland-editor")
        access.grant_role(conn, editor, rutland, "editor")
        access.create_user(conn, "carer-jo")
        resident = service.create_resident(conn, "HS-3001", "Albert Newby", rutland)
        service.record_consent(conn, resident, given_by="Susan Newby (daughter, attorney)",
                               capacity="representative", purposes=["routine_alerts"],
                               agreed_at=NOW - timedelta(days=30))
        service.add_carer(conn, resident, "carer-jo")
        for n, kind in enumerate(service.HOME_SENSORS, start=1):
            service.add_home_sensor(conn, resident, kind, f"A84041CA0009000{n}",
                                    latitude=52.66, longitude=-0.73)
    return {"resident": resident, "rutland": rutland}


def _uplink(f_cnt: int, at: datetime) -> JournalEntry:
    return JournalEntry(
        dedup_key=f"tts:{MOTION_EUI}:s:{f_cnt}", network="tts", transport="webhook",
        event="up", dev_eui=MOTION_EUI, ns_time=at, received_at=at,
        body={"uplink_message": {"frm_payload": "AQDIBQM="}},
        payload_hash=payload_hash(5, ELSYS_MOTION), f_cnt=f_cnt, f_port=5,
        payload_hex=ELSYS_MOTION, session_key_id="s")


def test_withdrawn_consent_stops_collection_and_keeps_no_payload(
        database: Database, home: dict) -> None:
    """With consent, an uplink becomes Observations; after withdrawal the next one is a dead
    letter "consent withdrawn" whose payload and body are gone."""
    with database.begin() as conn:
        write_entries(conn, [_uplink(1, NOW)])
    assert process_pending(database).observations == 2
    with database.begin() as conn:
        service.withdraw_consent(conn, home["resident"], at=NOW, note="moved to a care home")
        write_entries(conn, [_uplink(2, NOW + timedelta(minutes=10))])
    result = process_pending(database)
    assert result.dead_letters == 1 and result.observations == 0
    with database.connect() as conn:
        row = conn.execute(select(ingest_journal).where(ingest_journal.c.f_cnt == 2)).one()
        assert service.current_consent(conn, home["resident"]) is None
    assert (row.status, row.reason) == ("dead_letter", "consent withdrawn")
    assert row.payload_hex is None and row.decoded_object is None and row.body == {}


def test_changes_in_routine_alert_only_the_care_circle(database: Database, home: dict) -> None:
    """No movement by 11:00 opens a critical alert on the motion sensor, delivered to the care
    circle's team and not to the council's; movement later resolves it."""
    resident = home["resident"]
    notify.install()
    month = simulate((NOW - timedelta(days=15)).date(), days=15, seed=3, plant=False)
    with database.begin() as conn:
        write_events(conn, resident, month.events)
        for org, name in ((home["rutland"], "Council duty team"),
                          (resident.organisation_id, "Newby care circle")):
            team = notify.create_team(conn, NOW, organisation_id=org, name=name,
                                      email=f"{org}@example.org")
            notify.subscribe(conn, team, channels=["email"])
        result = check_home(conn, resident, NOW)
    assert [f.key for f in result.findings] == ["no_movement"] and result.opened == 1
    with database.connect() as conn:
        alert = conn.execute(select(alerts)).one()
        targets = [r.target for r in conn.execute(select(notification_deliveries.c.target))]
    assert alert.severity == "critical" and alert.status == "open"
    assert targets == [f"{resident.organisation_id}@example.org"]
    with database.begin() as conn:
        write_events(conn, resident, HomeEvents(motion=np.array([NOW.timestamp() + 600])))
        later = check_home(conn, resident, NOW + timedelta(minutes=15))
    assert later.findings == [] and later.resolved == 1


def test_carers_are_audited_and_break_glass_is_for_council_admins(
        database: Database, home: dict) -> None:
    """Adding and removing a carer are audit entries of the care circle; an editor cannot
    break glass, and a reason is required."""
    resident = home["resident"]
    with database.begin() as conn:
        service.remove_carer(conn, resident, "carer-jo", actor="cli")
        assert service.carers(conn, resident) == []
        with pytest.raises(Forbidden):
            service.open_break_glass(conn, resident, "rutland-editor", "Worried neighbour call")
        actions = [r.action for r in conn.execute(select(audit_log.c.action).where(
            audit_log.c.organisation_id == resident.organisation_id).order_by(audit_log.c.id))]
    assert "add_carer" in actions and actions[-1] == "remove_carer"


def test_the_serve_schedule_checks_every_home(database: Database, home: dict) -> None:
    """The background check (as ``serve`` runs it) opens the no-movement alert by itself."""
    month = simulate((NOW - timedelta(days=15)).date(), days=15, seed=5, plant=False)
    with database.begin() as conn:
        write_events(conn, home["resident"], month.events)
    schedule = CareSchedule(database, clock=lambda: NOW, every_seconds=3600)
    schedule.start()
    try:
        deadline = time.monotonic() + 20
        found = []
        while not found and time.monotonic() < deadline:
            with database.connect() as conn:
                found = conn.execute(select(alerts.c.rule_key)).scalars().all()
            time.sleep(0.1)
    finally:
        schedule.stop()
    assert found == ["care_no_movement"]
