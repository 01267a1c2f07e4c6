"""Data classes: public, organisation, restricted and personal (special category where health
is inferred), carried on every Datastream.

A Datastream's class is its own (set by an editor of its organisation) or, when it has none,
the one its Thing's visibility implies. The class says how carefully data is treated: reads of
anything not public are audited, retention periods and the DPIA outline are per class.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Select, delete, insert, select

from placehub.access import audit
from placehub.access.service import Principal
from placehub.errors import BadRequest, Forbidden, NotFound
from placehub.governance.tables import DATA_CLASSES, datastream_policies
from placehub.sta.tables import datastreams, things

DESCRIPTIONS = {
    "public": "Open data anyone may read and reuse.",
    "organisation": "Operational data for the council and its partners; not published.",
    "restricted": "Sensitive operational data: only the owning organisation's editors and "
                  "admins read it; every read is recorded.",
    "personal": "Data about an identifiable person (special category where health can be "
                "inferred): named people only, every read recorded, short retention.",
}
# What a Thing's visibility implies when a Datastream has no class of its own.
CLASS_OF_VISIBILITY = {"public": "public", "partners": "organisation",
                       "organisation": "organisation", "restricted": "restricted"}
# Classes whose reads are recorded even on a Thing everyone may read.
AUDITED_CLASSES = frozenset({"organisation", "restricted", "personal"})

_IN_CHUNK = 1000


def check_class(value: str) -> str:
    """``value`` if it is a data class, else a 400 that lists them."""
    if value not in DATA_CLASSES:
        raise BadRequest(f"data class {value!r} not understood: use one of "
                         f"{', '.join(DATA_CLASSES)}")
    return value


@dataclass(frozen=True)
class StreamClass:
    """A Datastream's owner, visibility and data class, and whether the class is its own."""

    datastream_id: int
    thing_id: int
    organisation_id: int
    visibility: str
    data_class: str
    explicit: bool
    retention_days: int | None = None
    purpose: str | None = None

    @property
    def audited(self) -> bool:
        """Whether reads of this Datastream are recorded."""
        return self.visibility != "public" or self.data_class in AUDITED_CLASSES


def _query() -> Select:
    p = datastream_policies.c
    return (select(datastreams.c.id, datastreams.c.thing_id, things.c.organisation_id,
                   things.c.visibility, p.data_class, p.retention_days, p.purpose)
            .select_from(datastreams.join(things, things.c.id == datastreams.c.thing_id)
                         .outerjoin(datastream_policies,
                                    datastream_policies.c.datastream_id == datastreams.c.id)))


def _stream_class(row: object) -> StreamClass:
    own = row.data_class  # type: ignore[attr-defined]
    return StreamClass(int(row.id), int(row.thing_id),  # type: ignore[attr-defined]
                       int(row.organisation_id), str(row.visibility),  # type: ignore[attr-defined]
                       own or CLASS_OF_VISIBILITY[str(row.visibility)],  # type: ignore[attr-defined]
                       own is not None, row.retention_days, row.purpose)  # type: ignore[attr-defined]


def classes_of(conn: Connection, datastream_ids: Iterable[int]) -> dict[int, StreamClass]:
    """The class of each existing Datastream among ``datastream_ids`` (one query per 1,000)."""
    wanted = sorted({int(i) for i in datastream_ids})
    found: dict[int, StreamClass] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        for row in conn.execute(_query().where(
                datastreams.c.id.in_(wanted[start:start + _IN_CHUNK]))):
            found[int(row.id)] = _stream_class(row)
    return found


def classes_of_things(conn: Connection, thing_ids: Iterable[int]) -> dict[int, list[StreamClass]]:
    """The classes of the Datastreams of each Thing among ``thing_ids``."""
    wanted = sorted({int(i) for i in thing_ids})
    found: dict[int, list[StreamClass]] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        for row in conn.execute(_query().where(
                datastreams.c.thing_id.in_(wanted[start:start + _IN_CHUNK]))):
            found.setdefault(int(row.thing_id), []).append(_stream_class(row))
    return found


def all_classes(conn: Connection) -> list[StreamClass]:
    """Every Datastream's class (for retention and the DPIA outline)."""
    return [_stream_class(row) for row in conn.execute(_query().order_by(datastreams.c.id))]


def most_careful(classes: Iterable[str]) -> str:
    """The most careful of some data classes (personal over restricted over ...)."""
    return max(classes, key=DATA_CLASSES.index)


def thing_class(streams: list[StreamClass], visibility: str) -> str:
    """The most careful class among a Thing's Datastreams (its visibility's when it has none)."""
    return most_careful([s.data_class for s in streams] or [CLASS_OF_VISIBILITY[visibility]])


def set_policy(conn: Connection, principal: Principal | str, datastream_id: int, *,
               data_class: str | None, retention_days: int | None, purpose: str | None,
               at: datetime | None = None) -> StreamClass:
    """Give a Datastream its own class, retention period and purpose (None clears each);
    editors and admins of its organisation only; recorded in the audit trail."""
    if data_class is not None:
        check_class(data_class)
    if retention_days is not None and retention_days < 1:
        raise BadRequest(f"retention_days {retention_days}: give a whole number of days, 1 "
                         "or more, or leave it out to use the organisation's period")
    current = classes_of(conn, [datastream_id]).get(datastream_id)
    if current is None:
        raise NotFound(f"Datastream {datastream_id} does not exist")
    if isinstance(principal, Principal) and not principal.can_write(current.organisation_id):
        raise Forbidden("only editors and admins of the Datastream's organisation may set its "
                        "data class and retention")
    values = {"data_class": data_class, "retention_days": retention_days, "purpose": purpose,
              "updated_at": at or datetime.now(UTC),
              "updated_by": audit.actor_name(principal)[:200]}
    conn.execute(delete(datastream_policies).where(
        datastream_policies.c.datastream_id == datastream_id))
    if data_class is not None or retention_days is not None or purpose:
        conn.execute(insert(datastream_policies).values(datastream_id=datastream_id, **values))
    audit.record(conn, principal, "update", "DatastreamPolicy", datastream_id,
                 {"data_class": data_class, "retention_days": retention_days,
                  "purpose": purpose, "was": current.data_class},
                 organisation_id=current.organisation_id)
    return classes_of(conn, [datastream_id])[datastream_id]


__all__ = ["AUDITED_CLASSES", "CLASS_OF_VISIBILITY", "DESCRIPTIONS", "StreamClass",
           "all_classes", "check_class", "classes_of", "classes_of_things", "most_careful",
           "set_policy", "thing_class"]
