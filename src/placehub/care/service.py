"""Residents, consent, carers and break-glass access for home sensors (independent living).

Each resident's home is its own care-circle organisation: the home's Things belong to it with
visibility "organisation" and data class "personal" on their Datastreams, and the named carers
are its members (viewers). Every route therefore applies the ordinary access rule
(``access.visibility``): nobody else reads a thing of the home, council admins included. Only a
principal with ``write_anywhere`` (the CLI on the server itself) is an exception.

Break-glass access makes a council admin a member for four hours, with a reason; the expiry is
enforced whenever a principal is built (``access.service.current_membership``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from placehub.access import audit
from placehub.access.service import (
    SYSTEM,
    Principal,
    create_organisation,
    grant_role,
    roles_of,
)
from placehub.access.tables import memberships, users
from placehub.care.tables import CAPACITIES, care_break_glass, care_consents, care_residents
from placehub.errors import BadRequest, Conflict, Forbidden, NotFound
from placehub.governance.data_classes import set_policy
from placehub.ingest.devices import DeviceSpec, register_device
from placehub.sta.tables import things

BREAK_GLASS = timedelta(hours=4)
# Short by default: raw home readings are kept a month, enough to learn a routine (14 days).
RETENTION_DAYS = 30
PURPOSE = "Spotting a change in the resident's routine early, for their named carers"
PURPOSES = {
    "routine_alerts": "Alerts to named carers on a change in routine",
    "carer_view": "Carers see the home's status and alerts",
    "service_review": "Anonymous counts for reviewing the service",
}
# What each kind of home sensor is, and the device profile of each model it may be (the first
# is the default).
HOME_SENSORS = {
    "motion": ("Motion and temperature", {"elsys-ers": "care/elsys-ers-motion",
                                          "milesight-ws202": "care/milesight-ws202-motion"}),
    "front_door": ("Front door", {"elsys-ems-door": "care/elsys-ems-door-contact",
                                  "milesight-ws301": "care/milesight-ws301-door-contact"}),
    "fridge_door": ("Fridge door", {"elsys-ems-door": "care/elsys-ems-door-contact",
                                    "milesight-ws301": "care/milesight-ws301-door-contact"}),
}
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{1,30}$")
# The CLI and demo set-up act as the installation itself.
INSTALLATION = Principal(username="placehub-care", write_anywhere=True)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Resident:
    """A person whose home has sensors: not a user, only a reference and a display name."""

    id: int
    reference: str
    display_name: str
    organisation_id: int
    council_id: int


def _resident(row: Any) -> Resident:
    return Resident(int(row.id), str(row.reference), str(row.display_name),
                    int(row.organisation_id), int(row.council_id))


def create_resident(conn: Connection, reference: str, display_name: str, council_id: int, *,
                    actor: Principal | str = SYSTEM) -> Resident:
    """Add a resident and their care-circle organisation (audited)."""
    if not _REFERENCE.match(reference):
        raise BadRequest(f"resident reference {reference!r}: use 2 to 31 letters, digits and "
                         "hyphens (a case reference, never the person's name)")
    if not display_name.strip():
        raise BadRequest("give the resident's display name")
    if conn.execute(select(care_residents.c.id).where(
            care_residents.c.reference == reference)).first():
        raise Conflict(f"resident {reference!r} exists already")
    organisation = create_organisation(conn, f"care-{reference.lower()}",
                                       f"Care circle {reference}", actor=actor)
    resident_id = int(conn.execute(insert(care_residents).values(
        reference=reference, display_name=display_name.strip(), organisation_id=organisation,
        council_id=council_id, created_at=now())).inserted_primary_key[0])  # type: ignore[index]
    audit.record(conn, actor, "create", "Resident", reference, {"council_id": council_id},
                 organisation_id=organisation)
    return Resident(resident_id, reference, display_name.strip(), organisation, council_id)


def get_resident(conn: Connection, reference: str) -> Resident:
    """The resident with ``reference``; NotFound says how to list them."""
    row = conn.execute(select(care_residents).where(
        care_residents.c.reference == reference)).first()
    if row is None:
        raise NotFound(f"no resident {reference!r}: list them with 'placehub care residents'")
    return _resident(row)


def may_see(principal: Principal, resident: Resident) -> bool:
    """Whether ``principal`` is in the resident's care circle (or is the installation)."""
    return principal.write_anywhere or resident.organisation_id in principal.member_of


def resident_for(conn: Connection, principal: Principal, reference: str) -> Resident:
    """The resident if ``principal`` may see them; otherwise the same 404 as for no resident,
    so the answer does not tell whether the reference exists."""
    row = conn.execute(select(care_residents).where(
        care_residents.c.reference == reference)).first()
    if row is None or not may_see(principal, _resident(row)):
        raise NotFound(f"no resident {reference!r} in your care circles")
    return _resident(row)


def residents_for(conn: Connection, principal: Principal) -> list[Resident]:
    """The residents whose care circle ``principal`` belongs to, by reference."""
    query = select(care_residents).order_by(care_residents.c.reference)
    if not principal.write_anywhere:
        query = query.where(care_residents.c.organisation_id.in_(
            sorted(principal.member_of) or [-1]))
    return [_resident(row) for row in conn.execute(query)]


def add_home_sensor(conn: Connection, resident: Resident, kind: str, dev_eui: str, *,
                    latitude: float, longitude: float, model: str | None = None,
                    principal: Principal = INSTALLATION) -> dict[str, Any]:
    """Register a home sensor (of ``model``, or the kind's default) owned by the care circle,
    visible to its members only, with the personal data class and a short retention on every
    Datastream."""
    if kind not in HOME_SENSORS:
        raise BadRequest(f"home sensor {kind!r}: use one of {', '.join(HOME_SENSORS)}")
    label, models = HOME_SENSORS[kind]
    if model is not None and model not in models:
        raise BadRequest(f"a {label.lower()} sensor may be {' or '.join(models)}, "
                         f"not {model!r}")
    profile = models[model or next(iter(models))]
    slug = f"care-{resident.reference.lower()}"
    device = register_device(conn, principal, DeviceSpec(
        dev_eui=dev_eui, name=f"{resident.reference} {label}", profile=profile,
        latitude=latitude, longitude=longitude, organisation=slug, visibility="organisation",
        description=f"Home sensor ({label.lower()})",
        properties={"care_sensor": kind, "care_resident": resident.reference}))
    for stream in device["datastreams"].values():
        set_policy(conn, principal, int(stream), data_class="personal",
                   retention_days=RETENTION_DAYS, purpose=PURPOSE)
    return device


def home_things(conn: Connection, resident: Resident) -> dict[int, str]:
    """The resident's home sensors: Thing id -> kind (motion, front_door, fridge_door)."""
    return {int(row.id): str((row.properties or {}).get("care_sensor", ""))
            for row in conn.execute(select(things.c.id, things.c.properties).where(
                things.c.organisation_id == resident.organisation_id))}


# --- consent -------------------------------------------------------------------------------

def record_consent(conn: Connection, resident: Resident, *, given_by: str, capacity: str,
                   purposes: list[str], agreed_at: datetime,
                   actor: Principal | str = SYSTEM) -> int:
    """Record who agreed (the resident or a named representative), when and to what."""
    if capacity not in CAPACITIES:
        raise BadRequest(f"capacity {capacity!r}: use one of {', '.join(CAPACITIES)}")
    if not given_by.strip():
        raise BadRequest("give the name of the person who agreed")
    unknown = sorted(set(purposes) - set(PURPOSES))
    if unknown or not purposes:
        raise BadRequest(f"purposes {', '.join(unknown) or '(none)'}: use some of "
                         f"{', '.join(PURPOSES)}")
    if agreed_at.tzinfo is None:
        raise BadRequest("agreed_at needs a timezone, e.g. 2026-11-02T10:00:00Z")
    consent_id = int(conn.execute(insert(care_consents).values(
        resident_id=resident.id, given_by=given_by.strip(), capacity=capacity,
        purposes=sorted(set(purposes)), agreed_at=agreed_at,
        recorded_by=audit.actor_name(actor)[:200])).inserted_primary_key[0])  # type: ignore[index]
    audit.record(conn, actor, "consent", "Resident", resident.reference,
                 {"capacity": capacity, "purposes": sorted(set(purposes))},
                 organisation_id=resident.organisation_id)
    return consent_id


def withdraw_consent(conn: Connection, resident: Resident, *, at: datetime,
                     note: str = "", actor: Principal | str = SYSTEM) -> int:
    """Withdraw every current consent: collection stops from now (uplinks become dead letters
    without their payload); how many records were withdrawn."""
    count = int(conn.execute(update(care_consents).where(
        care_consents.c.resident_id == resident.id, care_consents.c.withdrawn_at.is_(None))
        .values(withdrawn_at=at, withdrawn_by=audit.actor_name(actor)[:200],
                withdrawal_note=note or None)).rowcount or 0)
    if not count:
        raise Conflict(f"resident {resident.reference} has no current consent to withdraw")
    audit.record(conn, actor, "withdraw_consent", "Resident", resident.reference,
                 {"records": count}, note or None, organisation_id=resident.organisation_id)
    return count


def consents(conn: Connection, resident: Resident) -> list[dict[str, Any]]:
    """Every consent record of the resident, newest first."""
    return [dict(r) for r in conn.execute(select(care_consents).where(
        care_consents.c.resident_id == resident.id)
        .order_by(care_consents.c.agreed_at.desc(), care_consents.c.id.desc())).mappings()]


def current_consent(conn: Connection, resident: Resident) -> dict[str, Any] | None:
    """The newest consent that has not been withdrawn, if any."""
    return next((c for c in consents(conn, resident) if c["withdrawn_at"] is None), None)


# --- carers --------------------------------------------------------------------------------

def add_carer(conn: Connection, resident: Resident, username: str, *,
              actor: Principal | str = SYSTEM) -> int:
    """Make a user a named carer: a viewer of the care circle (audited)."""
    user = _user(conn, username)
    grant_role(conn, user, resident.organisation_id, "viewer", actor=actor)
    audit.record(conn, actor, "add_carer", "Resident", resident.reference,
                 {"username": username}, organisation_id=resident.organisation_id,
                 subject_user_id=user)
    return user


def remove_carer(conn: Connection, resident: Resident, username: str, *,
                 actor: Principal | str = SYSTEM) -> None:
    """End a carer's membership of the care circle (audited)."""
    user = _user(conn, username)
    gone = conn.execute(delete(memberships).where(
        memberships.c.user_id == user,
        memberships.c.organisation_id == resident.organisation_id)).rowcount
    if not gone:
        raise NotFound(f"{username} is not a carer of {resident.reference}")
    audit.record(conn, actor, "remove_carer", "Resident", resident.reference,
                 {"username": username}, organisation_id=resident.organisation_id,
                 subject_user_id=user)


def carers(conn: Connection, resident: Resident) -> list[dict[str, Any]]:
    """The named carers (members without an expiry), by user name."""
    return [dict(r) for r in conn.execute(
        select(users.c.username, users.c.display_name, memberships.c.role)
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.organisation_id == resident.organisation_id,
               memberships.c.expires_at.is_(None))
        .order_by(users.c.username)).mappings()]


def _user(conn: Connection, username: str) -> int:
    row = conn.execute(select(users.c.id).where(users.c.username == username)).first()
    if row is None:
        raise NotFound(f"unknown user {username!r}: create it with 'placehub users add'")
    return int(row.id)


# --- break-glass ---------------------------------------------------------------------------

def open_break_glass(conn: Connection, resident: Resident, username: str, reason: str, *,
                     at: datetime | None = None,
                     actor: Principal | str = SYSTEM) -> dict[str, Any]:
    """Give an admin of the resident's council four hours of access, for a stated reason;
    recorded in the audit trail and in the carers' break-glass report."""
    at = at or now()
    if len(reason.strip()) < 10:
        raise BadRequest("break-glass access needs a reason (at least 10 characters) saying "
                         "why the resident's data must be read now")
    user = _user(conn, username)
    if roles_of(conn, user).get(resident.council_id) != "admin":
        raise Forbidden("break-glass access is for admins of the council that runs the "
                        "resident's service")
    existing = conn.execute(select(memberships.c.expires_at).where(
        memberships.c.user_id == user,
        memberships.c.organisation_id == resident.organisation_id)).first()
    if existing is not None and existing.expires_at is None:
        raise Conflict(f"{username} is a carer of {resident.reference} already")
    expires = at + BREAK_GLASS
    if existing is None:
        conn.execute(insert(memberships).values(
            user_id=user, organisation_id=resident.organisation_id, role="viewer",
            expires_at=expires))
    else:
        conn.execute(update(memberships).where(
            memberships.c.user_id == user,
            memberships.c.organisation_id == resident.organisation_id).values(
                role="viewer", expires_at=expires))
    conn.execute(insert(care_break_glass).values(
        resident_id=resident.id, user_id=user, username=username, reason=reason.strip(),
        started_at=at, expires_at=expires))
    audit.record(conn, actor, "break_glass", "Resident", resident.reference,
                 {"username": username, "expires_at": expires.isoformat()}, reason.strip(),
                 organisation_id=resident.organisation_id, subject_user_id=user)
    return {"username": username, "reason": reason.strip(), "started_at": at,
            "expires_at": expires}


def break_glass_report(conn: Connection, resident: Resident) -> list[dict[str, Any]]:
    """Every break-glass access to the resident's data, newest first."""
    return [dict(r) for r in conn.execute(
        select(care_break_glass.c.username, care_break_glass.c.reason,
               care_break_glass.c.started_at, care_break_glass.c.expires_at)
        .where(care_break_glass.c.resident_id == resident.id)
        .order_by(care_break_glass.c.started_at.desc())).mappings()]


def who_looked(conn: Connection, resident: Resident) -> list[dict[str, Any]]:
    """Who read the resident's home data, per reader and route (from the read audit)."""
    from placehub.governance.read_audit import ReadQuery
    from placehub.governance.read_audit import who_looked as report

    found: list[dict[str, Any]] = []
    for thing in sorted(home_things(conn, resident)):
        found.extend(report(conn, ReadQuery(thing_id=thing)))
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for row in found:
        key = (row["actor"], row["channel"])
        if key in merged:
            merged[key]["reads"] += row["reads"]
            merged[key]["first"] = min(merged[key]["first"], row["first"])
            merged[key]["last"] = max(merged[key]["last"], row["last"])
        else:
            merged[key] = dict(row)
    return sorted(merged.values(), key=lambda r: r["last"], reverse=True)
