"""Simulated homes for the demo and the tests: residents with consent records, named carers
and four weeks of sensor events written as Observations (the people are invented)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Connection, select

from placehub.access.service import create_user
from placehub.access.tables import users
from placehub.care import service
from placehub.care.routine import TZ, HomeEvents
from placehub.care.service import Resident
from placehub.care.simulate import simulate
from placehub.errors import NotFound
from placehub.sta.observations import NewObservation, write_observations


@dataclass(frozen=True)
class DemoHome:
    """One invented resident, who agreed, and their carers."""

    reference: str
    name: str
    given_by: str
    capacity: str
    carers: tuple[tuple[str, str], ...]


HOMES = (
    DemoHome("HS-1001", "Margaret Hill", "Margaret Hill", "resident",
             (("carer-hill-jo", "Jo Hill (daughter)"), ("care-team-east", "East care team"))),
    DemoHome("HS-1002", "Dennis Shaw", "Paul Shaw (lasting power of attorney)",
             "representative", (("carer-shaw-paul", "Paul Shaw (son)"),)),
    DemoHome("HS-1003", "Aisha Khan", "Aisha Khan", "resident",
             (("carer-khan-sara", "Sara Khan (niece)"), ("care-team-east", "East care team"))),
)


def _eui(home: int, sensor: int) -> str:
    return f"A84041CA{home:04X}{sensor:04X}"


def write_events(conn: Connection, resident: Resident, events: HomeEvents) -> int:
    """Write a home's events as Observations of its sensors' Datastreams; how many."""
    from placehub.ingest.tables import ingest_devices

    kinds = service.home_things(conn, resident)
    streams: dict[tuple[str, str], int] = {}
    for row in conn.execute(select(ingest_devices.c.thing_id, ingest_devices.c.datastreams)
                            .where(ingest_devices.c.thing_id.in_(sorted(kinds) or [-1]))):
        for key, stream in dict(row.datastreams).items():
            streams[(kinds[int(row.thing_id)], key)] = int(stream)
    rows: list[NewObservation] = []

    def add(kind: str, key: str, times: np.ndarray, values: np.ndarray) -> None:
        stream = streams.get((kind, key))
        if stream is not None:
            rows.extend(NewObservation(stream, datetime.fromtimestamp(float(t), UTC), float(v),
                                       parameters={"simulated": True})
                        for t, v in zip(times, values, strict=True))

    add("motion", "motion_count", events.motion, np.ones(len(events.motion)))
    for kind, times in (("front_door", events.front_door), ("fridge_door", events.fridge)):
        # Each opening, then its closing a minute later (the contact reports both).
        both = np.concatenate([times, times + 60])
        add(kind, "digital_input", both, np.concatenate([np.ones(len(times)),
                                                         np.zeros(len(times))]))
    add("motion", "temperature", events.temperature_t, events.temperature_c)
    for start in range(0, len(rows), 5000):
        write_observations(conn, rows[start:start + 5000])
    return len(rows)


def add_demo_homes(conn: Connection, council_id: int, lon: float, lat: float, now: datetime,
                   *, days: int = 28, seed: int = 7) -> list[Resident]:
    """Three residents with consent, carers, sensors and ``days`` days of events up to now
    (skipped for a reference that exists already)."""
    made: list[Resident] = []
    first = (now.astimezone(TZ) - timedelta(days=days)).date()
    for n, home in enumerate(HOMES):
        try:
            made.append(service.get_resident(conn, home.reference))
            continue
        except NotFound:
            pass  # not there yet: build it
        resident = service.create_resident(conn, home.reference, home.name, council_id)
        service.record_consent(conn, resident, given_by=home.given_by, capacity=home.capacity,
                               purposes=["routine_alerts", "carer_view"],
                               agreed_at=now - timedelta(days=days + 3))
        for username, display in home.carers:
            if conn.execute(select(users.c.id).where(users.c.username == username)).first() \
                    is None:
                create_user(conn, username, display_name=display)
            service.add_carer(conn, resident, username)
        for m, kind in enumerate(service.HOME_SENSORS):
            # Homes a few hundred metres apart; the point is seen by the care circle only.
            service.add_home_sensor(conn, resident, kind, _eui(n + 1, m + 1),
                                    latitude=lat + 0.004 * (n + 1), longitude=lon + 0.003 * m)
        month = simulate(first, days + 1, seed=seed + n, plant=n == 1, plant_from=days - 6)
        cut = now.timestamp()
        events = month.events
        write_events(conn, resident, HomeEvents(
            motion=events.motion[events.motion <= cut],
            front_door=events.front_door[events.front_door <= cut],
            fridge=events.fridge[events.fridge <= cut],
            temperature_t=events.temperature_t[events.temperature_t <= cut],
            temperature_c=events.temperature_c[events.temperature_t <= cut]))
        made.append(resident)
    return made
