"""What a carer sees of a home: status and alerts, the raw events only when asked."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, select

from placehub.care import service
from placehub.care.checks import home_alerts, load_events
from placehub.care.routine import TZ, Settings, routine
from placehub.care.service import Resident
from placehub.governance.read_audit import ReadLog
from placehub.ingest.tables import ingest_devices

EVENT_HOURS = 48


def home_status(conn: Connection, resident: Resident, at: datetime, *,
                events: bool = False, settings: Settings = Settings()) -> dict[str, Any]:
    """The resident's consent, carers, learned routine and alerts (and, when ``events``, the
    last 48 hours of events)."""
    consent = service.current_consent(conn, resident)
    loaded = load_events(conn, resident, at - timedelta(days=settings.window_days + 1), at)
    status: dict[str, Any] = {
        "reference": resident.reference,
        "display_name": resident.display_name,
        "collecting": consent is not None,
        "consent": consent,
        "consents": service.consents(conn, resident),
        "carers": service.carers(conn, resident),
        "routine": routine(loaded, at, settings),
        "alerts": home_alerts(conn, resident),
        "break_glass": service.break_glass_report(conn, resident),
    }
    if events:
        since = (at - timedelta(hours=EVENT_HOURS)).timestamp()
        rows: list[tuple[float, str]] = []
        for label, times in (("Movement", loaded.motion), ("Front door opened", loaded.front_door),
                             ("Fridge opened", loaded.fridge)):
            rows.extend((float(t), label) for t in times[times >= since])
        recent = loaded.temperature_t >= since
        rows.extend((float(t), f"{c:.1f} °C") for t, c in zip(
            loaded.temperature_t[recent][::4], loaded.temperature_c[recent][::4], strict=True))
        status["events"] = [{"at": datetime.fromtimestamp(t, TZ), "what": what}
                            for t, what in sorted(rows, reverse=True)]
    return status


def read_log(conn: Connection, resident: Resident) -> ReadLog:
    """The Things and Datastreams a status read touches (for the read audit)."""
    things = set(service.home_things(conn, resident))
    streams: set[int] = set()
    for row in conn.execute(select(ingest_devices.c.datastreams).where(
            ingest_devices.c.thing_id.in_(sorted(things) or [-1]))):
        streams.update(int(s) for s in dict(row.datastreams).values())
    return ReadLog(things, streams)


def summary(conn: Connection, resident: Resident, at: datetime) -> dict[str, Any]:
    """One line of the carers' list: collecting, open alerts, last movement."""
    loaded = load_events(conn, resident, at - timedelta(days=2), at)
    motion = loaded.motion
    return {
        "reference": resident.reference,
        "display_name": resident.display_name,
        "collecting": service.current_consent(conn, resident) is not None,
        "open_alerts": len(home_alerts(conn, resident, open_only=True)),
        "last_movement": (datetime.fromtimestamp(float(np.max(motion)), TZ)
                          if len(motion) else None),
    }
