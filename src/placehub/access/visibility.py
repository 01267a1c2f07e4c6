"""Which rows a principal may read: the visibility rule, as SQL and as a Python check.

A Thing's visibility decides who reads it and everything hanging off it (Locations,
HistoricalLocations, Datastreams, Observations):
- public: everyone, anonymous readers included;
- partners: members of the owning organisation and of its partner organisations;
- organisation: members of the owning organisation;
- restricted: admins and editors of the owning organisation.

Every route that shows data about a Thing (SensorThings, assets, devices, rounds, alerts,
indicators derived from sensors, pages and exports) asks these functions; docs/access.md lists
which resource follows which rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Connection, and_, false, or_, select, true

from placehub.access.service import Principal
from placehub.sta.tables import things


def visible_clause(
    principal: Principal,
    organisation_column: ColumnElement,
    visibility_column: ColumnElement,
) -> ColumnElement[bool]:
    """SQL that is true for rows ``principal`` may read."""
    if principal.write_anywhere:
        return true()
    clauses = [visibility_column == "public"]
    members = sorted(principal.member_of)
    writers = sorted(principal.writes_to)
    partners = sorted(principal.partner_of)
    if members:
        clauses.append(
            and_(organisation_column.in_(members), visibility_column.in_(
                ["partners", "organisation"]))
        )
    if writers:
        clauses.append(and_(organisation_column.in_(writers), visibility_column == "restricted"))
    if partners:
        clauses.append(and_(organisation_column.in_(partners), visibility_column == "partners"))
    return or_(*clauses) if clauses else false()


def can_read(principal: Principal, organisation_id: int, visibility: str) -> bool:
    """The same rule as ``visible_clause`` for one row already in memory."""
    if principal.write_anywhere or visibility == "public":
        return True
    role = principal.roles.get(organisation_id)
    if visibility in {"partners", "organisation"} and role is not None:
        return True
    if visibility == "partners" and organisation_id in principal.partner_of:
        return True
    return visibility == "restricted" and principal.can_write(organisation_id)


def readable_things(conn: Connection, principal: Principal, thing_ids: Iterable[int]
                    ) -> set[int]:
    """The ids among ``thing_ids`` of Things that exist and ``principal`` may read."""
    wanted = sorted({int(i) for i in thing_ids})
    if not wanted:
        return set()
    found: set[int] = set()
    for start in range(0, len(wanted), 1000):  # bounded IN lists
        found.update(int(i) for i in conn.execute(select(things.c.id).where(
            things.c.id.in_(wanted[start:start + 1000]),
            visible_clause(principal, things.c.organisation_id, things.c.visibility))
        ).scalars())
    return found


def can_read_sources(principal: Principal, sources: Iterable[tuple[int, str]]) -> bool:
    """Whether ``principal`` may read a figure computed from Things of these (organisation,
    visibility) groups: only when it may read every one of them."""
    return all(can_read(principal, organisation, visibility)
               for organisation, visibility in sources)
