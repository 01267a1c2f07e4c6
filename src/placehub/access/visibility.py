"""Which rows a principal may read: the visibility rule, as SQL and as a Python check.

A Thing's visibility decides who reads it and everything hanging off it (Locations,
HistoricalLocations, Datastreams, Observations):
- public: everyone, anonymous readers included;
- partners: members of the owning organisation and of its partner organisations;
- organisation: members of the owning organisation;
- restricted: admins and editors of the owning organisation.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, true

from placehub.access.service import Principal


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
    writers = sorted(o for o, role in principal.roles.items() if role in {"admin", "editor"})
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
    return visibility == "restricted" and role in {"admin", "editor"}
