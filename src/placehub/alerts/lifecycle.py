"""The alert lifecycle: open → acknowledged → resolved, one unresolved alert per rule and subject.

Every change is kept in ``alert_events`` (the history). Reading follows the visibility of the
alert's Thing (viewers read); acknowledging and resolving need write rights on its organisation
(editors and admins act).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Connection,
    Text,
    any_,
    func,
    insert,
    literal,
    select,
    text,
    update,
)

from placehub.access.service import Principal
from placehub.access.visibility import can_read, visible_clause
from placehub.alerts.rules import SEVERITY_ORDER, Rule
from placehub.alerts.tables import alert_events, alerts
from placehub.assets.types import SENSOR
from placehub.errors import BadRequest, Conflict, Forbidden, NotFound
from placehub.places.queries import things_in_place
from placehub.sta.tables import things

# The condition of the partial unique index, as literal SQL so both databases use the index
# (a bound parameter would hide the match from the planner).
UNRESOLVED = text("alerts.status != 'resolved'")

def one_of(conn: Connection, column: Any, values: list[Any]) -> Any:
    """``column IN values``; on PostgreSQL ``= ANY(array)``, one SQL text for any count, so
    the driver's statement cache is hit instead of parsing a new IN list every batch."""
    if conn.dialect.name == "postgresql":
        item = Text() if isinstance(values[0], str) else BigInteger()
        return column == any_(literal(values, ARRAY(item)))
    return column.in_(values)


# Called inside the transaction once it has opened, acknowledged or resolved alerts:
# listener(conn, {event: alert_ids}, now) — once per transaction, not per alert or per event,
# so a batch of alert changes costs each listener one look. Notifications register here.
AlertListener = Callable[[Connection, dict[str, list[int]], datetime], object]
LISTENERS: list[AlertListener] = []


def _announce(conn: Connection, events: dict[str, list[int]], now: datetime) -> None:
    events = {event: ids for event, ids in events.items() if ids}
    if events:
        for listener in LISTENERS:
            listener(conn, events, now)


@dataclass
class NewAlert:
    """An alert the engine wants opened for a rule and subject."""

    rule: Rule
    subject: str
    thing_id: int
    datastream_id: int | None
    title: str
    message: str
    value: float | None
    since: datetime | None
    details: dict[str, Any] | None = None


def open_alerts(conn: Connection, new: list[NewAlert], now: datetime
                ) -> dict[tuple[int, str], int]:
    """Open alerts, except where one is unresolved for the rule and subject.

    The partial unique index decides (INSERT ... ON CONFLICT DO NOTHING on both databases), so
    two engines racing cannot open two alerts. Returns the ids of the alerts opened now.
    """
    fresh: dict[tuple[int, str], NewAlert] = {}
    for n in new:
        fresh.setdefault((n.rule.id, n.subject), n)
    written = write_episodes(conn, [EpisodeChange("open", key, n) for key, n in fresh.items()],
                             now)
    return dict(written.opened)


# One fixed statement with array parameters (unnest), run on the psycopg connection itself: the
# driver prepares it once, where a multi-row VALUES list would be a new statement to parse for
# every batch size. The history lines are written by the same statement (a data-modifying CTE).
_PG_INSERT = """
    WITH opened AS (
    INSERT INTO alerts (rule_id, rule_key, kind, severity, subject, thing_id, datastream_id,
                        status, title, message, value, details, condition_since, opened_at)
    SELECT r, k, kd, sv, sb, th, ds, 'open', ti, ms, v, d::jsonb, cs, %(now)s
    FROM unnest(CAST(%(r)s AS integer[]), CAST(%(k)s AS text[]), CAST(%(kd)s AS text[]),
                CAST(%(sv)s AS text[]), CAST(%(sb)s AS text[]), CAST(%(th)s AS integer[]),
                CAST(%(ds)s AS integer[]), CAST(%(ti)s AS text[]), CAST(%(ms)s AS text[]),
                CAST(%(v)s AS float8[]), CAST(%(d)s AS text[]), CAST(%(cs)s AS timestamptz[]))
         AS u(r, k, kd, sv, sb, th, ds, ti, ms, v, d, cs)
    ON CONFLICT (rule_id, subject) WHERE status != 'resolved' DO NOTHING
    RETURNING id, rule_id, subject, message),
    history AS (
    INSERT INTO alert_events (alert_id, at, action, actor, note)
    SELECT id, %(now)s, 'opened', 'rules', message FROM opened)
    SELECT id, rule_id, subject FROM opened"""


def _pg_open_params(values: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    def column(name: str) -> list[Any]:
        return [v[name] for v in values]

    return {
        "now": now, "r": column("rule_id"), "k": column("rule_key"), "kd": column("kind"),
        "sv": column("severity"), "sb": column("subject"), "th": column("thing_id"),
        "ds": column("datastream_id"), "ti": column("title"), "ms": column("message"),
        "v": column("value"),
        "d": [None if v["details"] is None else json.dumps(v["details"]) for v in values],
        "cs": column("condition_since"),
    }


@dataclass(frozen=True)
class EpisodeChange:
    """One step of an alert's episode as the rule engine judged it.

    ``action`` is "open" (``alert`` says what), "resolve" (the condition stayed clear for the
    hold-off) or "returned" (breaching again within the hold-off: a history line with ``note``).
    """

    action: str
    key: tuple[int, str]  # (rule id, subject): at most one unresolved alert each
    alert: NewAlert | None = None
    note: str | None = None


@dataclass
class EpisodesWritten:
    """Alerts opened (with their rule and subject) and resolved by one ``write_episodes``."""

    opened: list[tuple[tuple[int, str], int]]
    resolved: list[int]


# Within a wave the statements run in this order. A key's changes share a wave while they follow
# it: "returned" lines, the resolve that ends the episode, the alert of the next episode.
_WAVE_ORDER = {"returned": 0, "resolve": 1, "open": 2}


def _waves(changes: list[EpisodeChange]) -> list[list[EpisodeChange]]:
    """Changes split into waves that run one after the other, each in a few set-wise statements.

    Each key's changes keep their order: a change that cannot follow the key's previous one
    within a wave (anything after an open, a second resolve) goes to the next wave. Nearly every
    batch is one or two waves.
    """
    waves: list[list[EpisodeChange]] = []
    place: dict[tuple[int, str], tuple[int, int]] = {}  # key -> (wave, rank of its last change)
    for change in changes:
        rank = _WAVE_ORDER[change.action]
        wave, last = place.get(change.key, (0, -1))
        if rank < last or rank == last != 0:
            wave += 1
        place[change.key] = (wave, rank)
        if wave == len(waves):
            waves.append([])
        waves[wave].append(change)
    return waves


def write_episodes(conn: Connection, changes: list[EpisodeChange], now: datetime, *,
                   wait_for_flush: bool = True) -> EpisodesWritten:
    """Open and resolve alerts and write their history lines, in the order of ``changes``.

    An alert that resolves and opens again within one batch gives two alerts, and each alert's
    history reads in the order things happened. Resolving and history lines act on the
    unresolved alert of the change's rule and subject (resolving one resolved by hand meanwhile
    is a no-op). Listeners hear of everything once, at the end. ``wait_for_flush=False`` lets a
    PostgreSQL commit return before its WAL is flushed (for derived data that can be redone).
    """
    if not changes:
        return EpisodesWritten([], [])
    waves = _waves(changes)
    if conn.dialect.name == "postgresql":
        written = _write_episodes_postgresql(conn, waves, now, wait_for_flush)
    else:
        written = _write_episodes_sqlite(conn, waves, now)
    _announce(conn, {"opened": [i for _, i in written.opened], "resolved": written.resolved},
              now)
    return written


def _alert_values(new: list[NewAlert], now: datetime) -> list[dict[str, Any]]:
    return [
        {"rule_id": n.rule.id, "rule_key": n.rule.key, "kind": n.rule.kind,
         "severity": n.rule.severity, "subject": n.subject, "thing_id": n.thing_id,
         "datastream_id": n.datastream_id, "status": "open", "title": n.title[:300],
         "message": n.message, "value": n.value, "details": n.details,
         "condition_since": n.since, "opened_at": now} for n in new]


# Fixed SQL for the SQLite path: lists travel as one JSON array (json_each), so each statement
# is prepared once by sqlite3 whatever the batch size.
_SQLITE_UNRESOLVED = """
    SELECT id, rule_id, subject FROM alerts
    WHERE alerts.status != 'resolved' AND (rule_id, subject) IN (
        SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))"""
_SQLITE_RESOLVE = """
    UPDATE alerts SET status = 'resolved', resolved_at = ?, resolved_by = 'rules',
                      resolution = 'auto', resolve_note = 'condition cleared'
    WHERE alerts.status != 'resolved' AND id IN (SELECT value FROM json_each(?))
    RETURNING id"""
_SQLITE_OPEN = """
    INSERT INTO alerts (rule_id, rule_key, kind, severity, subject, thing_id, datastream_id,
                        status, title, message, value, details, condition_since, opened_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?)
    ON CONFLICT (rule_id, subject) WHERE status != 'resolved' DO NOTHING
    RETURNING id"""
_SQLITE_HISTORY = """
    INSERT INTO alert_events (alert_id, at, action, actor, note, detail)
    VALUES (?, ?, ?, 'rules', ?, ?)"""


def _write_episodes_sqlite(conn: Connection, waves: list[list[EpisodeChange]], now: datetime
                           ) -> EpisodesWritten:
    # In-process database: statements cost no round trip, so ids are looked up as needed. The
    # statements run on the sqlite3 connection itself, inside the transaction SQLAlchemy began,
    # with values converted as the tables' column types would.
    dialect = conn.dialect
    at = alerts.c.opened_at.type.dialect_impl(dialect).bind_processor(dialect)
    as_json = alerts.c.details.type.dialect_impl(dialect).bind_processor(dialect)
    assert at is not None and as_json is not None
    when, resolved_detail = at(now), as_json({"resolution": "auto"})
    raw = conn.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    written = EpisodesWritten([], [])
    unresolved: dict[tuple[int, str], int | None] = {}  # as far as this call knows
    for wave in waves:
        unknown = [c.key for c in wave if c.action != "open" and c.key not in unresolved]
        if unknown:
            found = {(int(r), str(s)): int(i) for i, r, s in cursor.execute(
                _SQLITE_UNRESOLVED, (json.dumps(unknown),)).fetchall()}
            unresolved.update({key: found.get(key) for key in unknown})
        history = [(alert_id, when, "condition_returned", c.note, None) for c in wave
                   if c.action == "returned" and (alert_id := unresolved[c.key]) is not None]
        resolving = [c.key for c in wave if c.action == "resolve"]
        ids = [i for key in resolving if (i := unresolved[key]) is not None]
        if ids:
            resolved = sorted(int(r[0]) for r in cursor.execute(
                _SQLITE_RESOLVE, (when, json.dumps(ids))).fetchall())
            written.resolved.extend(resolved)
            history.extend((i, when, "resolved", "condition cleared", resolved_detail)
                           for i in resolved)
        unresolved.update(dict.fromkeys(resolving))
        if history:  # before the opens: their lines follow these
            cursor.executemany(_SQLITE_HISTORY, history)
            history = []
        for c in wave:
            if c.action != "open" or c.alert is None:
                continue
            n = c.alert
            row = cursor.execute(_SQLITE_OPEN, (
                n.rule.id, n.rule.key, n.rule.kind, n.rule.severity, n.subject, n.thing_id,
                n.datastream_id, n.title[:300], n.message, n.value,
                None if n.details is None else as_json(n.details),
                None if n.since is None else at(n.since), when)).fetchone()
            if row is None:  # one was open already (looked up if a later change needs it)
                unresolved.pop(c.key, None)
                continue
            unresolved[c.key] = int(row[0])
            written.opened.append((c.key, int(row[0])))
            history.append((int(row[0]), when, "opened", n.message, None))
        cursor.executemany(_SQLITE_HISTORY, history)
    return written


_PG_RESOLVE_KEYS = """
    WITH resolved AS (
    UPDATE alerts SET status = 'resolved', resolved_at = %(now)s, resolved_by = 'rules',
                      resolution = 'auto', resolve_note = 'condition cleared'
    FROM unnest(CAST(%(r)s AS integer[]), CAST(%(s)s AS text[])) AS u(r, s)
    WHERE alerts.rule_id = u.r AND alerts.subject = u.s AND alerts.status != 'resolved'
    RETURNING alerts.id),
    history AS (
    INSERT INTO alert_events (alert_id, at, action, actor, note, detail)
    SELECT id, %(now)s, 'resolved', 'rules', 'condition cleared',
           CAST('{"resolution": "auto"}' AS jsonb)
    FROM resolved)
    SELECT id FROM resolved"""

# WITH ORDINALITY and ORDER BY: several lines for one alert get their ids in the given order.
_PG_RETURNED_KEYS = """
    INSERT INTO alert_events (alert_id, at, action, actor, note)
    SELECT alerts.id, %(now)s, 'condition_returned', 'rules', u.n
    FROM unnest(CAST(%(r)s AS integer[]), CAST(%(s)s AS text[]), CAST(%(n)s AS text[]))
         WITH ORDINALITY AS u(r, s, n, i)
    JOIN alerts ON alerts.rule_id = u.r AND alerts.subject = u.s
    WHERE alerts.status != 'resolved'
    ORDER BY u.i"""


def _write_episodes_postgresql(conn: Connection, waves: list[list[EpisodeChange]],
                               now: datetime, wait_for_flush: bool) -> EpisodesWritten:
    # Every statement names alerts by (rule, subject), never by an id an earlier statement
    # returns, so the whole sequence goes to the server in one psycopg pipeline: one round
    # trip however many waves, each statement prepared once and reused.
    raw = conn.connection.driver_connection
    assert raw is not None
    opening, resolving = [], []
    with raw.pipeline():
        cursor = raw.cursor()
        if not wait_for_flush:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        for wave in waves:
            returned = [c for c in wave if c.action == "returned"]
            if returned:
                cursor.execute(_PG_RETURNED_KEYS, {
                    "now": now, "r": [c.key[0] for c in returned],
                    "s": [c.key[1] for c in returned], "n": [c.note for c in returned]})
            resolves = [c.key for c in wave if c.action == "resolve"]
            if resolves:
                resolving.append(raw.cursor())
                resolving[-1].execute(_PG_RESOLVE_KEYS, {
                    "now": now, "r": [k[0] for k in resolves], "s": [k[1] for k in resolves]})
            opens = [c.alert for c in wave if c.action == "open" and c.alert is not None]
            if opens:
                opening.append(raw.cursor())
                opening[-1].execute(_PG_INSERT, _pg_open_params(_alert_values(opens, now), now))
    return EpisodesWritten([((int(row[1]), str(row[2])), int(row[0]))
                            for c in opening for row in c.fetchall()],
                           [int(row[0]) for c in resolving for row in c.fetchall()])


def record(conn: Connection, alert_id: int, action: str, now: datetime, actor: str = "rules",
           note: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """Add a line to an alert's history."""
    conn.execute(insert(alert_events).values(alert_id=alert_id, at=now, action=action,
                                             actor=actor, note=note, detail=detail))


def _row(conn: Connection, alert_id: int) -> Any:
    row = conn.execute(
        select(alerts, things.c.organisation_id, things.c.visibility, things.c.name.label(
            "thing_name")).join(things, things.c.id == alerts.c.thing_id)
        .where(alerts.c.id == alert_id)
    ).first()
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    return row


def _check_write(principal: Principal | None, row: Any) -> None:
    if principal is None:
        return
    if not can_read(principal, row.organisation_id, row.visibility):
        raise NotFound(f"no alert {row.id}")
    if not principal.can_write(row.organisation_id):
        raise Forbidden("acknowledging or resolving alerts needs an editor or admin of the "
                        "asset's organisation")


def acknowledge(conn: Connection, principal: Principal, alert_id: int, now: datetime,
                note: str | None = None) -> dict[str, Any]:
    """Mark an open alert as seen by ``principal``, with an optional note."""
    row = _row(conn, alert_id)
    _check_write(principal, row)
    if row.status != "open":
        raise Conflict(f"alert {alert_id} is {row.status}: only open alerts can be acknowledged")
    conn.execute(update(alerts).where(alerts.c.id == alert_id).values(
        status="acknowledged", acknowledged_at=now, acknowledged_by=principal.username,
        acknowledge_note=note))
    record(conn, alert_id, "acknowledged", now, principal.username, note)
    _announce(conn, {"acknowledged": [alert_id]}, now)
    return get_alert(conn, principal, alert_id)


# Alerts one bulk acknowledgement may name (a page of the list holds 50).
MAX_BULK = 500


@dataclass
class Acknowledged:
    """What a bulk acknowledgement did: the alerts it acknowledged, and those it left because
    they were no longer open (acknowledged or resolved meanwhile)."""

    acknowledged: list[int]
    not_open: list[int]


def acknowledge_many(conn: Connection, principal: Principal, alert_ids: list[int],
                     now: datetime, note: str | None = None) -> Acknowledged:
    """Acknowledge several open alerts at once, each recorded in its history as ``acknowledge``
    records one. All or nothing: one alert the principal may not read (NotFound) or change
    (Forbidden) refuses the lot; alerts no longer open are left as they are and reported."""
    wanted = sorted(set(alert_ids))
    if not wanted:
        raise BadRequest("select the alerts to acknowledge")
    if len(wanted) > MAX_BULK:
        raise BadRequest(f"{len(wanted)} alerts: acknowledge at most {MAX_BULK} at a time")
    rows = {int(r.id): r for r in conn.execute(
        select(alerts.c.id, alerts.c.status, things.c.organisation_id, things.c.visibility)
        .join(things, things.c.id == alerts.c.thing_id)
        .where(one_of(conn, alerts.c.id, wanted)))}
    for alert_id in wanted:
        row = rows.get(alert_id)
        if row is None:
            raise NotFound(f"no alert {alert_id}")
        _check_write(principal, row)
    opened = [i for i in wanted if rows[i].status == "open"]
    done = [int(i) for i in conn.execute(
        update(alerts).where(one_of(conn, alerts.c.id, opened), alerts.c.status == "open")
        .values(status="acknowledged", acknowledged_at=now, acknowledged_by=principal.username,
                acknowledge_note=note).returning(alerts.c.id)).scalars()] if opened else []
    done.sort()
    if done:
        conn.execute(insert(alert_events), [
            {"alert_id": i, "at": now, "action": "acknowledged", "actor": principal.username,
             "note": note, "detail": None} for i in done])
        _announce(conn, {"acknowledged": done}, now)
    return Acknowledged(done, [i for i in wanted if i not in set(done)])


def resolve(conn: Connection, principal: Principal | None, alert_id: int, now: datetime,
            note: str | None = None, *, automatic: bool = False) -> bool:
    """Resolve an alert by hand (``principal``) or automatically; False if already resolved."""
    row = _row(conn, alert_id)
    _check_write(principal, row)
    if row.status == "resolved":
        if automatic:
            return False
        raise Conflict(f"alert {alert_id} is resolved already")
    actor = "rules" if automatic or principal is None else principal.username
    conn.execute(update(alerts).where(alerts.c.id == alert_id).values(
        status="resolved", resolved_at=now, resolved_by=actor,
        resolution="auto" if automatic else "manual", resolve_note=note))
    record(conn, alert_id, "resolved", now, actor, note,
           {"resolution": "auto" if automatic else "manual"})
    _announce(conn, {"resolved": [alert_id]}, now)
    return True


def alert_dict(row: Any) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": row.id, "rule_id": row.rule_id, "rule_key": row.rule_key, "kind": row.kind,
        "severity": row.severity, "status": row.status, "title": row.title,
        "message": row.message, "value": row.value, "details": row.details,
        "thing_id": row.thing_id, "thing_name": getattr(row, "thing_name", None),
        "datastream_id": row.datastream_id, "subject": row.subject,
        "condition_since": iso(row.condition_since), "opened_at": iso(row.opened_at),
        "acknowledged_at": iso(row.acknowledged_at), "acknowledged_by": row.acknowledged_by,
        "acknowledge_note": row.acknowledge_note, "resolved_at": iso(row.resolved_at),
        "resolved_by": row.resolved_by, "resolution": row.resolution,
        "resolve_note": row.resolve_note,
        "organisation_id": getattr(row, "organisation_id", None),
    }


ACTIVE = "active"  # open or acknowledged
# Where an asset lies, for the ward filter.
WARD_LAYER = "wards"


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts a list shows; every field narrows it, None keeps all.

    ``status`` is open, acknowledged, resolved or "active" (open or acknowledged); ``severity``
    keeps that severity and worse; ``ward`` is a ward's code; ``asset_type`` a Thing's.
    """

    status: str | None = None
    severity: str | None = None
    rule_key: str | None = None
    asset_type: str | None = None
    ward: str | None = None
    thing_id: int | None = None
    since: datetime | None = None

    def __post_init__(self) -> None:
        if self.status and self.status not in (ACTIVE, "open", "acknowledged", "resolved"):
            raise BadRequest(f"status {self.status!r}: use open, acknowledged, resolved or "
                             "active")
        if self.severity and self.severity not in SEVERITY_ORDER:
            raise BadRequest(f"severity {self.severity!r}: use info, warning or critical")


def asset_type_column() -> Any:
    """The alerted Thing's asset type in SQL ("sensor" when it names none, as ``asset_type_of``)."""
    return func.coalesce(things.c.properties["asset_type"].as_string(), SENSOR)


def filter_conditions(principal: Principal, wanted: AlertFilter) -> list[Any]:
    """SQL conditions (on ``alerts`` joined to ``things``) for the alerts ``principal`` may read
    that ``wanted`` keeps."""
    conditions: list[Any] = [
        visible_clause(principal, things.c.organisation_id, things.c.visibility)]
    if wanted.status == ACTIVE:
        conditions.append(UNRESOLVED)
    elif wanted.status:
        conditions.append(alerts.c.status == wanted.status)
    if wanted.severity:
        conditions.append(alerts.c.severity.in_(
            [s for s, level in SEVERITY_ORDER.items()
             if level >= SEVERITY_ORDER[wanted.severity]]))
    if wanted.thing_id is not None:
        conditions.append(alerts.c.thing_id == wanted.thing_id)
    if wanted.rule_key:
        conditions.append(alerts.c.rule_key == wanted.rule_key)
    if wanted.asset_type:
        conditions.append(asset_type_column() == wanted.asset_type)
    if wanted.ward:
        conditions.append(alerts.c.thing_id.in_(things_in_place(WARD_LAYER, wanted.ward)))
    if wanted.since is not None:
        conditions.append(alerts.c.opened_at >= wanted.since)
    return conditions


def alert_rows(conditions: list[Any]) -> Any:
    """SELECT of alerts with their Thing's name and organisation, under ``conditions``."""
    return (select(alerts, things.c.name.label("thing_name"),
                   things.c.organisation_id.label("organisation_id"))
            .join(things, things.c.id == alerts.c.thing_id).where(*conditions))


NEWEST_FIRST = (alerts.c.opened_at.desc(), alerts.c.id.desc())


def list_alerts(conn: Connection, principal: Principal, *, status: str | None = None,
                severity: str | None = None, thing_id: int | None = None,
                rule_key: str | None = None, asset_type: str | None = None,
                since: datetime | None = None, limit: int = 100, offset: int = 0,
                ward: str | None = None) -> list[dict[str, Any]]:
    """Alerts the principal may read, newest first, filtered (see ``AlertFilter``)."""
    wanted = AlertFilter(status=status, severity=severity, rule_key=rule_key,
                         asset_type=asset_type, ward=ward, thing_id=thing_id, since=since)
    if not 1 <= limit <= 1000:
        raise BadRequest("limit must be between 1 and 1000")
    query = (alert_rows(filter_conditions(principal, wanted)).order_by(*NEWEST_FIRST)
             .limit(limit).offset(max(offset, 0)))
    return [alert_dict(r) for r in conn.execute(query)]


def get_alert(conn: Connection, principal: Principal, alert_id: int) -> dict[str, Any]:
    """One alert with its full history, if the principal may read its asset."""
    row = _row(conn, alert_id)
    if not can_read(principal, row.organisation_id, row.visibility):
        raise NotFound(f"no alert {alert_id}")
    result = alert_dict(row)
    result["history"] = [
        {"at": e.at.isoformat(), "action": e.action, "actor": e.actor, "note": e.note,
         "detail": e.detail}
        for e in conn.execute(select(alert_events).where(alert_events.c.alert_id == alert_id)
                              .order_by(alert_events.c.at, alert_events.c.id))
    ]
    return result
