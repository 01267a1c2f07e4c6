"""The audit trail: who changed what, when, written in the same transaction as the change.

One row per operation (a POST, PATCH, PUT or DELETE, a new user or token), never per
Observation: Observations are data, and the batched write path stays one INSERT per batch.
Updates and deletes of single Observations (corrections) are recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, and_, false, insert, or_, select, true

from placehub.access.tables import audit_log, memberships
from placehub.errors import BadRequest, Forbidden, Unauthorized

if TYPE_CHECKING:
    from placehub.access.service import Principal
    from placehub.sta.model import Entity
    from placehub.sta.paths import ResourcePath
    from placehub.sta.writes import Writer

# One statement object for every entry, so SQLAlchemy compiles it once and reuses it.
_INSERT = insert(audit_log)

# Entries one request may ask for; `limit` above it is cut to it.
MAX_LIMIT = 1000


def actor_name(principal: Principal | str) -> str:
    """How an actor is written in the trail: a username, or a label such as ``cli:ann``."""
    return principal if isinstance(principal, str) else principal.username


def record(
    conn: Connection,
    principal: Principal | str,
    action: str,
    entity: str,
    entity_id: Any,
    detail: dict[str, Any] | None = None,
    note: str | None = None,
    *,
    organisation_id: int | None = None,
    subject_user_id: int | None = None,
) -> None:
    """Add one entry to the trail inside ``conn``'s transaction (rolled back with the change).

    ``organisation_id`` is the organisation whose data changed and ``subject_user_id`` the
    account an access change is about; either makes the entry visible to that organisation's
    admins.
    """
    conn.execute(_INSERT, {
        "at": datetime.now(UTC),
        "actor": actor_name(principal)[:200],
        "action": action[:50],
        "entity": entity[:50],
        "entity_id": None if entity_id is None else str(entity_id)[:100],
        "detail": detail,
        "note": note,
        "organisation_id": organisation_id,
        "subject_user_id": subject_user_id,
    })


@dataclass(frozen=True)
class AuditQuery:
    """Filters for reading the trail; ``before_id`` pages backwards from the newest entry."""

    entity: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    organisation_id: int | None = None
    before_id: int | None = None
    limit: int = 100
    # Entries of any of these entity types (with ``entity``, either matches).
    entities: tuple[str, ...] = ()
    # Entries about this organisation: its data, its members' accounts and the installation-wide
    # settings every admin shares (``INSTALLATION_ENTITIES``).
    about_organisation: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise BadRequest(f"limit {self.limit}: use a number from 1 to {MAX_LIMIT}")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise BadRequest(f"{name}: give a time with a timezone, e.g. "
                                 "2026-01-31T09:00:00Z")


# Entities that belong to no organisation but to the whole installation (alert rules per asset
# type): any organisation's admin may change them, so any admin reads their trail.
INSTALLATION_ENTITIES = ("AlertRule",)


def _installation_wide() -> ColumnElement[bool]:
    return and_(audit_log.c.organisation_id.is_(None),
                audit_log.c.subject_user_id.is_(None),
                audit_log.c.entity.in_(INSTALLATION_ENTITIES))


def _about(organisations: list[int]) -> ColumnElement[bool]:
    """Entries about the data of ``organisations`` or the accounts of their members."""
    members = select(memberships.c.user_id).where(
        memberships.c.organisation_id.in_(organisations)
    )
    return or_(
        audit_log.c.organisation_id.in_(organisations),
        audit_log.c.subject_user_id.in_(members),
    )


def readable_clause(principal: Principal) -> ColumnElement[bool]:
    """SQL true for the entries ``principal`` may read: those of organisations it administers,
    those about accounts of its members and those about installation-wide settings (all of
    them for the local anonymous writer)."""
    if principal.write_anywhere:
        return true()
    administered = sorted(principal.administers)
    if not administered:
        return false()
    return or_(_about(administered), _installation_wide())


def require_audit_reader(principal: Principal) -> None:
    """401 for anonymous callers, 403 for anyone who administers no organisation."""
    if principal.write_anywhere:
        return
    if principal.is_anonymous:
        raise Unauthorized("the audit trail needs an API token: send 'Authorization: Bearer "
                           "<token>' of an organisation admin")
    if not principal.administers:
        raise Forbidden("the audit trail is for organisation admins: ask an admin to grant "
                        "you the admin role ('placehub users grant USER ORG admin')")


def list_entries(
    conn: Connection, query: AuditQuery, principal: Principal | None = None
) -> Sequence[dict[str, Any]]:
    """Entries matching ``query``, newest first; only what ``principal`` may read if given
    (the CLI, run by an operator with the database, passes none)."""
    conditions: list[ColumnElement[bool]] = []
    if principal is not None:
        conditions.append(readable_clause(principal))
    c = audit_log.c
    if query.entity or query.entities:
        conditions.append(c.entity.in_([*query.entities, *filter(None, [query.entity])]))
    if query.about_organisation is not None:
        conditions.append(or_(_about([query.about_organisation]), _installation_wide()))
    if query.entity_id:
        conditions.append(c.entity_id == query.entity_id)
    if query.actor:
        conditions.append(c.actor == query.actor)
    if query.action:
        conditions.append(c.action == query.action)
    if query.since:
        conditions.append(c.at >= query.since)
    if query.until:
        conditions.append(c.at < query.until)
    if query.organisation_id is not None:
        conditions.append(c.organisation_id == query.organisation_id)
    if query.before_id is not None:
        conditions.append(c.id < query.before_id)
    statement = (
        select(audit_log).where(and_(true(), *conditions))
        .order_by(c.id.desc()).limit(query.limit)
    )
    return [dict(row) for row in conn.execute(statement).mappings()]


# --- SensorThings writes -------------------------------------------------------------------

_REF_ACTIONS = {"create": "link", "update": "relink", "delete": "unlink"}


def record_sta_change(
    writer: Writer,
    action: str,
    entity: Entity | None,
    entity_id: int | None,
    *,
    path: ResourcePath | None = None,
    body: Any = None,
) -> None:
    """Record one SensorThings create, update or delete (or ``$ref`` change, given ``path``).

    Creating Observations is not recorded: they are data arriving at volume, not changes to
    what is monitored. Call it before a delete (the owner is looked up from the row).
    """
    if action == "create" and entity is not None and entity.name == "Observation":
        return
    detail: dict[str, Any] = {}
    if path is not None:
        detail["path"] = path.text() + ("/$ref" if path.kind == "ref" else "")
    if path is not None and path.kind == "ref":
        action = _REF_ACTIONS[action]
        if entity is None or entity_id is None:  # POST or DELETE of a link: the parent changed
            entity = path.steps[-2].entity
            entity_id = writer.resolve_id(type(path)(path.steps[:-1], "entity"))
        target = body.get("@iot.id") if isinstance(body, dict) else path.target.id
        navigation = path.target.navigation
        detail["link"] = {"navigation": navigation.name if navigation else None, "id": target}
    elif action == "update" and isinstance(body, dict):
        detail["members"] = sorted(str(name) for name in body)
    elif action == "update" and isinstance(body, list):  # JSON Patch: the paths it touches
        detail["members"] = sorted({str(op.get("path")) for op in body if isinstance(op, dict)})
    assert entity is not None and entity_id is not None
    row = writer.conn.execute(
        select(entity.table).where(entity.table.c.id == entity_id)
    ).mappings().first()
    organisation = writer.owning_organisation(entity, dict(row)) if row is not None else None
    record(writer.conn, writer.principal, action, entity.name, entity_id, detail or None,
           organisation_id=organisation)
