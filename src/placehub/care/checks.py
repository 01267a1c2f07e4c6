"""Reading a home's events from its Observations and turning findings into alerts.

Alerts go through the ordinary lifecycle on the resident's own Things, so only the care circle
reads them and only the care circle's teams are notified.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, select

from placehub.alerts.lifecycle import NewAlert, open_alerts, resolve
from placehub.alerts.rules import Rule
from placehub.alerts.store import create_rule, row_to_rule
from placehub.alerts.tables import alert_rules, alerts
from placehub.care.routine import Finding, HomeEvents, Settings, findings
from placehub.care.service import Resident, current_consent, home_things
from placehub.ingest.tables import ingest_devices
from placehub.sta.tables import observations

ASSET_TYPE = "home_sensor"
RULES = {
    "care_no_movement": ("No movement by the usual time", "critical"),
    "care_night_door": ("Front door opened at night", "warning"),
    "care_too_cold": ("Home too cold", "warning"),
}
# Which of the home's sensors an alert of each finding hangs on.
SENSOR_OF = {"no_movement": "motion", "night_door": "front_door", "too_cold": "motion"}


def load_events(conn: Connection, resident: Resident, since: datetime, until: datetime
                ) -> HomeEvents:
    """The resident's motion reports, door openings and temperatures in [since, until]."""
    kinds = home_things(conn, resident)
    streams: dict[tuple[str, str], int] = {}
    for row in conn.execute(select(ingest_devices.c.thing_id, ingest_devices.c.datastreams)
                            .where(ingest_devices.c.thing_id.in_(sorted(kinds) or [-1]))):
        for key, stream in dict(row.datastreams).items():
            streams[(kinds[int(row.thing_id)], key)] = int(stream)

    def series(kind: str, key: str) -> tuple[np.ndarray, np.ndarray]:
        stream = streams.get((kind, key))
        if stream is None:
            return np.zeros(0), np.zeros(0)
        o = observations.c
        rows = conn.execute(select(o.phenomenon_time_start, o.result_number).where(
            and_(o.datastream_id == stream, o.phenomenon_time_start >= since,
                 o.phenomenon_time_start <= until, o.result_number.isnot(None)))
            .order_by(o.phenomenon_time_start)).all()
        return (np.array([r[0].timestamp() for r in rows], dtype=np.float64),
                np.array([float(r[1]) for r in rows], dtype=np.float64))

    mt, mv = series("motion", "motion_count")
    ft, fv = series("front_door", "digital_input")
    gt, gv = series("fridge_door", "digital_input")
    tt, tv = series("motion", "temperature")
    return HomeEvents(motion=mt[mv > 0], front_door=ft[fv >= 1], fridge=gt[gv >= 1],
                      temperature_t=tt, temperature_c=tv)


def care_rules(conn: Connection, now: datetime) -> dict[str, Rule]:
    """The three change-in-routine rules, created on first use."""
    found = {str(r.key): row_to_rule(r) for r in conn.execute(select(alert_rules).where(
        alert_rules.c.asset_type == ASSET_TYPE, alert_rules.c.thing_id.is_(None)))}
    for key, (name, severity) in RULES.items():
        if key not in found:
            rule_id = create_rule(conn, now, key=key, name=name, kind="care_routine",
                                  params={}, asset_type=ASSET_TYPE, severity=severity,
                                  auto_resolve=True)
            found[key] = row_to_rule(conn.execute(select(alert_rules).where(
                alert_rules.c.id == rule_id)).one())
    return found


@dataclass
class CheckResult:
    """What one check of a home found and did."""

    reference: str
    findings: list[Finding] = field(default_factory=list)
    opened: int = 0
    resolved: int = 0
    skipped: str | None = None


def check_home(conn: Connection, resident: Resident, at: datetime,
               settings: Settings = Settings()) -> CheckResult:
    """Open an alert for each change in routine that holds now and resolve the ones that no
    longer hold; a home without current consent is not looked at."""
    result = CheckResult(resident.reference)
    if current_consent(conn, resident) is None:
        result.skipped = "no current consent"
        return result
    rules = care_rules(conn, at)
    kinds = home_things(conn, resident)
    thing_of = {kind: thing for thing, kind in sorted(kinds.items())}
    events = load_events(conn, resident, at - timedelta(days=settings.window_days + 1), at)
    result.findings = findings(events, at, settings)
    holding: set[tuple[int, str]] = set()
    new: list[NewAlert] = []
    for finding in result.findings:
        thing = thing_of.get(SENSOR_OF[finding.key])
        if thing is None:
            continue
        rule = rules[f"care_{finding.key}"]
        subject = f"thing:{thing}"
        holding.add((rule.id, subject))
        new.append(NewAlert(rule, subject, thing, None, finding.title, finding.message,
                            finding.value, finding.since, {"resident": resident.reference}))
    result.opened = len(open_alerts(conn, new, at))
    rule_ids = {rule.id for rule in rules.values()}
    for row in conn.execute(select(alerts.c.id, alerts.c.rule_id, alerts.c.subject).where(
            alerts.c.thing_id.in_(sorted(kinds) or [-1]), alerts.c.status != "resolved",
            alerts.c.rule_id.in_(sorted(rule_ids)))).all():
        if (int(row.rule_id), str(row.subject)) not in holding:
            result.resolved += int(resolve(conn, None, int(row.id), at,
                                           "the routine is back to normal", automatic=True))
    return result


def home_alerts(conn: Connection, resident: Resident, *, open_only: bool = False
                ) -> list[dict[str, Any]]:
    """The alerts on the resident's home sensors, newest first."""
    kinds = home_things(conn, resident)
    query = select(alerts.c.id, alerts.c.title, alerts.c.message, alerts.c.status,
                   alerts.c.severity, alerts.c.opened_at, alerts.c.resolved_at).where(
        alerts.c.thing_id.in_(sorted(kinds) or [-1]))
    if open_only:
        query = query.where(alerts.c.status != "resolved")
    return [dict(r) for r in conn.execute(
        query.order_by(alerts.c.opened_at.desc(), alerts.c.id.desc()).limit(50)).mappings()]
