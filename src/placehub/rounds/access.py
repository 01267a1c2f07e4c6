"""Who may read, plan and change rounds: the one rule the API, the pages and the sheets use.

A plan belongs to an organisation. Its members read it, unless it visits an asset they may not
read (a ``restricted`` Thing is for editors and admins only): the route itself would show where
that asset is, so such a plan is for those who may read every asset it visits. Assets left out
of a plan are listed only when the reader may read them. Editors and admins of the organisation
plan, re-plan and mark stops.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from placehub.access.service import Principal
from placehub.access.tables import organisations
from placehub.access.visibility import readable_things
from placehub.errors import BadRequest, Forbidden, NotFound, Unauthorized
from placehub.rounds import service as rounds
from placehub.rounds.tables import rounds_plans, rounds_stops
from placehub.sta.tables import things


def _not_found(plan_id: int) -> NotFound:
    return NotFound(f"no round plan {plan_id}: list plans with GET /api/rounds/plans")


def may_plan(principal: Principal) -> bool:
    """Whether ``principal`` may plan rounds for some organisation (an editor or admin)."""
    return principal.is_writer


def may_change(principal: Principal, plan: dict[str, Any]) -> bool:
    """Whether ``principal`` may re-plan ``plan`` and mark its stops (an editor or admin of its
    organisation); pages offer those buttons only then."""
    return principal.can_write(int(plan["organisation_id"]))


def planning_organisation(conn: Connection, principal: Principal, requested: int | None,
                          service: str | None = None) -> int:
    """The organisation a new plan belongs to, checked against what the principal may change.

    Without a request, the one organisation the principal may change; of several, the one that
    owns assets of ``service`` (a care circle owns home sensors, not bins)."""
    if principal.is_anonymous and not principal.write_anywhere:
        raise Unauthorized("planning rounds needs a sign-in or an API token")
    if requested is not None:
        exists = conn.execute(select(organisations.c.id)
                              .where(organisations.c.id == requested)).first()
        if exists is None:
            raise NotFound(f"no organisation {requested}")
        if not principal.can_write(requested):
            raise Forbidden(f"you cannot plan rounds for organisation {requested}: an editor "
                            "or admin role there is needed")
        return requested
    writable = sorted(principal.writes_to)
    if principal.write_anywhere:
        writable = [row.id for row in conn.execute(select(organisations.c.id))]
    if not writable:
        raise Forbidden("planning rounds needs an editor or admin role in an organisation")
    if len(writable) > 1 and service in rounds.ASSET_TYPE_OF_SERVICE:
        serving = _organisations_owning(conn, rounds.ASSET_TYPE_OF_SERVICE[service], writable)
        writable = serving or writable
    if len(writable) != 1:
        raise BadRequest("say which organisation the plan is for: organisation_id")
    return writable[0]


def _organisations_owning(conn: Connection, asset_type: str, among: list[int]) -> list[int]:
    """Which of ``among`` own at least one Thing of ``asset_type``."""
    return sorted(int(row.organisation_id) for row in conn.execute(
        select(things.c.organisation_id).distinct().where(
            things.c.organisation_id.in_(among),
            things.c.properties["asset_type"].as_string() == asset_type)))


def _plan_assets(conn: Connection, plan_ids: list[int]) -> dict[int, set[int]]:
    """The Things each plan visits."""
    visits: dict[int, set[int]] = {plan_id: set() for plan_id in plan_ids}
    if plan_ids:
        for row in conn.execute(select(rounds_stops.c.plan_id, rounds_stops.c.thing_id).where(
                rounds_stops.c.plan_id.in_(plan_ids), rounds_stops.c.thing_id.is_not(None))):
            visits[int(row.plan_id)].add(int(row.thing_id))
    return visits


def _may_read(conn: Connection, principal: Principal, organisation_id: int,
              visited: set[int]) -> bool:
    if principal.write_anywhere:
        return True
    if organisation_id not in principal.member_of:
        return False
    if not visited:
        return True
    # Assets deleted since count as readable: only existing ones can be kept from a reader.
    existing = {int(i) for i in conn.execute(select(things.c.id).where(
        things.c.id.in_(sorted(visited)))).scalars()}
    return readable_things(conn, principal, existing) == existing


def readable_plan(conn: Connection, principal: Principal, plan_id: int) -> dict[str, Any]:
    """A plan ``principal`` may read (``rounds.plan_detail``, with left-out assets it may not
    read removed), or NotFound, the same answer as for a plan that does not exist."""
    row = conn.execute(select(rounds_plans.c.organisation_id)
                       .where(rounds_plans.c.id == plan_id)).first()
    if row is None:
        raise _not_found(plan_id)
    visited = _plan_assets(conn, [plan_id])[plan_id]
    if not _may_read(conn, principal, int(row.organisation_id), visited):
        raise _not_found(plan_id)
    detail = rounds.plan_detail(conn, plan_id)
    left_out = detail.get("left_out") or []
    if left_out and not principal.write_anywhere:
        shown = readable_things(conn, principal, (x["asset_id"] for x in left_out))
        detail["left_out"] = [x for x in left_out if x["asset_id"] in shown]
    return detail


def writable_plan(conn: Connection, principal: Principal, plan_id: int,
                  doing: str) -> dict[str, Any]:
    """A plan ``principal`` may change (re-plan, mark stops): NotFound when it may not read
    it, Forbidden (naming ``doing``) when it may read but not change it."""
    detail = readable_plan(conn, principal, plan_id)
    if not may_change(principal, detail):
        raise Forbidden(f"{doing} needs an editor or admin role in the plan's organisation")
    return detail


def readable_plans(conn: Connection, principal: Principal, service: str | None = None,
                   day: str | None = None) -> list[dict[str, Any]]:
    """Stored plans ``principal`` may read (``readable_plan``'s rule), newest first."""
    plans = rounds.list_plans(conn, None if principal.member_scope is None
                              else set(principal.member_scope), service, day)
    if principal.write_anywhere or not plans:
        return plans
    visits = _plan_assets(conn, [p["id"] for p in plans])
    return [p for p in plans
            if _may_read(conn, principal, int(p["organisation_id"]), visits[p["id"]])]
