"""The read audit: who read data that is not public, what, when and through which route.

A request notes the Things and Datastreams it read (``ReadLog``) and writes them at its end in
one INSERT, so a page of 10,000 Observations costs one lookup and one statement, not one per
row. Anonymous reads are never recorded (they only ever see public data), nor are reads of
public data by anyone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, false, func, insert, select, true

from placehub.access.service import Principal
from placehub.db import Database
from placehub.errors import BadRequest, Forbidden, Unauthorized
from placehub.governance.data_classes import (
    AUDITED_CLASSES,
    CLASS_OF_VISIBILITY,
    classes_of,
    most_careful,
)
from placehub.governance.tables import datastream_policies, read_audit
from placehub.sta.tables import datastreams, things

CHANNELS = ("sta", "api", "page", "export")
MAX_LIMIT = 1000
_IN_CHUNK = 1000
_INSERT = insert(read_audit)


@dataclass
class ReadLog:
    """What one request read: filled while it runs, written once at its end."""

    thing_ids: set[int] = field(default_factory=set)
    datastream_ids: set[int] = field(default_factory=set)

    def note_things(self, ids: Iterable[Any]) -> None:
        self.thing_ids.update(int(i) for i in ids if i is not None)

    def note_datastreams(self, ids: Iterable[Any]) -> None:
        self.datastream_ids.update(int(i) for i in ids if i is not None)

    def __bool__(self) -> bool:
        return bool(self.thing_ids or self.datastream_ids)


def audited(principal: Principal) -> bool:
    """Whether reads by ``principal`` may need recording (anonymous readers see public data
    only, so their reads are skipped without a lookup)."""
    return not principal.is_anonymous


def audit_rows(conn: Connection, log: ReadLog) -> list[dict[str, Any]]:
    """One row per Datastream read that is not public, and per such Thing read without its
    Datastreams (missing ``at``, actor and context, filled by ``record_reads``)."""
    rows: list[dict[str, Any]] = []
    covered: set[int] = set()
    for stream in classes_of(conn, log.datastream_ids).values():
        covered.add(stream.thing_id)
        if stream.audited:
            rows.append({"organisation_id": stream.organisation_id,
                         "thing_id": stream.thing_id, "datastream_id": stream.datastream_id,
                         "data_class": stream.data_class})
    rest = sorted(log.thing_ids - covered)
    for start in range(0, len(rest), _IN_CHUNK):
        rows += _thing_rows(conn, rest[start:start + _IN_CHUNK])
    return rows


def _thing_rows(conn: Connection, thing_ids: list[int]) -> list[dict[str, Any]]:
    """Audit rows of Things read without their Datastreams: one grouped query gives each
    Thing's owner, visibility and the classes of its Datastreams (a map layer or download
    reads 100,000 Things at once)."""
    p = datastream_policies.c
    statement = (
        select(things.c.id, things.c.organisation_id, things.c.visibility, p.data_class)
        .select_from(things.outerjoin(datastreams, datastreams.c.thing_id == things.c.id)
                     .outerjoin(datastream_policies, p.datastream_id == datastreams.c.id))
        .where(things.c.id.in_(thing_ids))
        .group_by(things.c.id, things.c.organisation_id, things.c.visibility, p.data_class)
        .order_by(things.c.id))
    found: dict[int, tuple[int, str, set[str]]] = {}
    for row in conn.execute(statement):
        visibility = str(row.visibility)
        # A Datastream without a class of its own has its Thing's (as data_classes says).
        implied = row.data_class or CLASS_OF_VISIBILITY[visibility]
        found.setdefault(int(row.id), (int(row.organisation_id), visibility, set()))[2].add(
            implied)
    rows = []
    for thing_id, (organisation_id, visibility, classes) in found.items():
        audited = classes if visibility != "public" else classes & AUDITED_CLASSES
        if not audited:
            continue
        rows.append({"organisation_id": organisation_id, "thing_id": thing_id,
                     "datastream_id": None, "data_class": most_careful(audited)})
    return rows


def record_reads(conn: Connection, principal: Principal, channel: str, context: str,
                 log: ReadLog, at: datetime | None = None) -> int:
    """Record what ``log`` holds that is not public, in one statement; answer the rows added."""
    if channel not in CHANNELS:
        raise ValueError(f"channel {channel!r} not understood: use one of {CHANNELS}")
    if not log or not audited(principal):
        return 0
    rows = audit_rows(conn, log)
    if not rows:
        return 0
    moment = at or datetime.now(UTC)
    common = {"at": moment, "actor": principal.username[:200], "user_id": principal.user_id,
              "channel": channel, "context": context[:500]}
    conn.execute(_INSERT, [{**common, **row} for row in rows])
    return len(rows)


def describe(method: str, path: str, query: str = "") -> str:
    """How a read is described in the audit: method, path and query."""
    return f"{method} {path}{'?' + query if query else ''}"


def record_request_reads(database: Database, principal: Principal, channel: str, context: str,
                         log: ReadLog) -> int:
    """``record_reads`` in its own short transaction, after the read has been answered from."""
    if not log or not audited(principal):
        return 0
    with database.begin() as conn:
        return record_reads(conn, principal, channel, context, log)


# --- reading the audit ---------------------------------------------------------------------


def require_reader(principal: Principal) -> None:
    """401 for anonymous callers, 403 for anyone who administers no organisation."""
    if principal.write_anywhere:
        return
    if principal.is_anonymous:
        raise Unauthorized("the read audit needs an API token of an organisation admin: send "
                           "'Authorization: Bearer <token>'")
    if not principal.administers:
        raise Forbidden("the read audit is for organisation admins: ask an admin to grant you "
                        "the admin role ('placehub users grant USER ORG admin')")


def readable_clause(principal: Principal) -> ColumnElement[bool]:
    """SQL true for audit rows about data of organisations ``principal`` administers."""
    if principal.write_anywhere:
        return true()
    administered = sorted(principal.administers)
    return read_audit.c.organisation_id.in_(administered) if administered else false()


@dataclass(frozen=True)
class ReadQuery:
    """Filters for the read audit; ``before_id`` pages backwards from the newest row."""

    thing_id: int | None = None
    datastream_id: int | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 100

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise BadRequest(f"limit {self.limit}: use a number from 1 to {MAX_LIMIT}")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise BadRequest(f"{name}: give a time with a timezone, e.g. "
                                 "2026-01-31T09:00:00Z")

    def conditions(self) -> list[ColumnElement[bool]]:
        c = read_audit.c
        found: list[ColumnElement[bool]] = []
        if self.thing_id is not None:
            found.append(c.thing_id == self.thing_id)
        if self.datastream_id is not None:
            found.append(c.datastream_id == self.datastream_id)
        if self.actor:
            found.append(c.actor == self.actor)
        if self.since is not None:
            found.append(c.at >= self.since)
        if self.until is not None:
            found.append(c.at < self.until)
        return found


def list_reads(conn: Connection, query: ReadQuery, principal: Principal | None = None
               ) -> Sequence[dict[str, Any]]:
    """Rows matching ``query``, newest first; only those ``principal`` may see if given."""
    conditions = query.conditions()
    if principal is not None:
        conditions.append(readable_clause(principal))
    if query.before_id is not None:
        conditions.append(read_audit.c.id < query.before_id)
    statement = (select(read_audit).where(and_(true(), *conditions))
                 .order_by(read_audit.c.id.desc()).limit(query.limit))
    return [dict(row) for row in conn.execute(statement).mappings()]


def who_looked(conn: Connection, query: ReadQuery, principal: Principal | None = None
               ) -> list[dict[str, Any]]:
    """Who read the data ``query`` selects: per reader and channel, how many times, first and
    last (the "who looked at this data" report)."""
    c = read_audit.c
    conditions = query.conditions()
    if principal is not None:
        conditions.append(readable_clause(principal))
    statement = (select(c.actor, c.channel, func.count().label("reads"),
                        func.min(c.at).label("first"), func.max(c.at).label("last"))
                 .where(and_(true(), *conditions)).group_by(c.actor, c.channel)
                 .order_by(func.max(c.at).desc()))
    return [dict(row) for row in conn.execute(statement).mappings()]


__all__ = ["CHANNELS", "ReadLog", "ReadQuery", "audit_rows", "audited", "describe", "list_reads",
           "readable_clause", "record_reads", "record_request_reads", "require_reader",
           "who_looked"]
