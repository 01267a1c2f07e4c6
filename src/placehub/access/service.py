"""Organisations, users and API tokens: creating them and checking who a request is."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, func, insert, or_, select, update

from placehub.access import audit
from placehub.access.tables import (
    ROLES,
    api_tokens,
    memberships,
    organisation_partners,
    organisations,
    users,
    web_sessions,
)
from placehub.errors import BadRequest, Conflict, NotFound, Unauthorized

TOKEN_PREFIX = "ph_"
# Actor recorded for changes made by code paths with nobody behind them (demo set-up, tests).
SYSTEM = "system"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user with roles per organisation, or an anonymous reader."""

    user_id: int | None = None
    username: str = "anonymous"
    roles: dict[int, str] = field(default_factory=dict)
    # Organisations whose "partners" data this principal may read.
    partner_of: frozenset[int] = frozenset()
    # Set for local testing with PLACEHUB_ANONYMOUS_WRITE: may write to any organisation.
    write_anywhere: bool = False

    @property
    def is_anonymous(self) -> bool:
        """True for a request without a signed-in user or token."""
        return self.user_id is None

    def can_write(self, organisation_id: int) -> bool:
        """Whether this principal may create or change data of ``organisation_id``."""
        return self.write_anywhere or self.roles.get(organisation_id) in {"admin", "editor"}

    def can_admin(self, organisation_id: int) -> bool:
        """Whether this principal may manage users and settings of ``organisation_id``."""
        return self.write_anywhere or self.roles.get(organisation_id) == "admin"

    @property
    def member_of(self) -> frozenset[int]:
        """The ids of the organisations this principal holds any role in."""
        return frozenset(self.roles)

    @property
    def writes_to(self) -> frozenset[int]:
        """The organisations this principal holds an editor or admin role in (``can_write``)."""
        return frozenset(o for o in self.roles if self.can_write(o))

    @property
    def administers(self) -> frozenset[int]:
        """The organisations this principal holds an admin role in (``can_admin``)."""
        return frozenset(o for o in self.roles if self.can_admin(o))

    @property
    def is_writer(self) -> bool:
        """Whether this principal may write to some organisation."""
        return self.write_anywhere or bool(self.writes_to)

    @property
    def member_scope(self) -> frozenset[int] | None:
        """The organisations whose members' data this principal may see (None: all)."""
        return None if self.write_anywhere else self.member_of

    @property
    def writer_scope(self) -> frozenset[int] | None:
        """The organisations this principal may write to (None: all)."""
        return None if self.write_anywhere else self.writes_to


ANONYMOUS = Principal()
# Whoever runs placehub's commands on the server already holds its database: they act for all.
COMMAND_LINE = Principal(username="cli", write_anywhere=True)


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def hash_password(password: str) -> str:
    """A salted scrypt hash in the form ``scrypt$salt$hash``."""
    if len(password) < 8:
        raise BadRequest("password too short: use at least 8 characters")
    salt = secrets.token_hex(16)
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=2**14, r=8, p=1).hex()
    return f"scrypt${salt}${digest}"


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches the stored scrypt hash (False when none is stored)."""
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt, digest = stored.split("$", 2)
    candidate = hashlib.scrypt(password.encode(), salt=salt.encode(), n=2**14, r=8, p=1).hex()
    return hmac.compare_digest(candidate, digest)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which an API token is stored."""
    # Tokens are 32 random bytes, so a fast hash is enough; no salt needed.
    return hashlib.sha256(token.encode()).hexdigest()


def create_organisation(
    conn: Connection, slug: str, name: str, *, actor: Principal | str = SYSTEM
) -> int:
    """Create an organisation (slug checked, audited); returns its id."""
    if not _SLUG.match(slug):
        raise BadRequest(
            f"organisation slug {slug!r}: use lower-case letters, digits and hyphens"
        )
    if conn.execute(select(organisations.c.id).where(organisations.c.slug == slug)).first():
        raise Conflict(f"organisation {slug!r} exists already")
    result = conn.execute(
        insert(organisations).values(slug=slug, name=name, created_at=now())
    )
    new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    audit.record(conn, actor, "create", "Organisation", slug, {"name": name},
                 organisation_id=new_id)
    return new_id


def ensure_organisation(conn: Connection, slug: str, name: str) -> int:
    """The id of organisation ``slug``, creating it if needed."""
    row = conn.execute(select(organisations.c.id).where(organisations.c.slug == slug)).first()
    return int(row.id) if row else create_organisation(conn, slug, name)


def organisation_id(conn: Connection, slug: str) -> int:
    """The id of the organisation with ``slug``; NotFound says how to create it."""
    row = conn.execute(select(organisations.c.id).where(organisations.c.slug == slug)).first()
    if row is None:
        raise NotFound(f"unknown organisation {slug!r}: create it with 'placehub orgs add'")
    return int(row.id)


def add_partner(
    conn: Connection, organisation: int, partner: int, *, actor: Principal | str = SYSTEM
) -> None:
    """Let members of ``partner`` read ``organisation``'s data marked "partners"."""
    conn.execute(insert(organisation_partners).values(organisation_id=organisation,
                                                      partner_id=partner))
    audit.record(conn, actor, "add_partner", "Organisation", organisation,
                 {"partner_id": partner}, organisation_id=organisation)


def create_user(
    conn: Connection,
    username: str,
    *,
    password: str | None = None,
    display_name: str = "",
    email: str | None = None,
    actor: Principal | str = SYSTEM,
) -> int:
    """Create a user account (audited); returns its id."""
    if not username or len(username) > 100:
        raise BadRequest("username must be 1 to 100 characters")
    if conn.execute(select(users.c.id).where(users.c.username == username)).first():
        raise Conflict(f"user {username!r} exists already")
    result = conn.execute(
        insert(users).values(
            username=username,
            display_name=display_name or username,
            email=email,
            password_hash=hash_password(password) if password else None,
            active=True,
            created_at=now(),
        )
    )
    new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    audit.record(conn, actor, "create", "User", username,
                 {"password": password is not None}, subject_user_id=new_id)
    return new_id


def user_id(conn: Connection, username: str) -> int:
    """The id of the user called ``username``; NotFound says how to create it."""
    row = conn.execute(select(users.c.id).where(users.c.username == username)).first()
    if row is None:
        raise NotFound(f"unknown user {username!r}: create it with 'placehub users add'")
    return int(row.id)


def grant_role(
    conn: Connection, user: int, organisation: int, role: str, *,
    actor: Principal | str = SYSTEM,
) -> None:
    """Give ``user`` a role in ``organisation`` (replacing any earlier one), audited."""
    if role not in ROLES:
        raise BadRequest(f"role {role!r}: use one of {', '.join(ROLES)}")
    existing = conn.execute(
        select(memberships.c.role).where(
            memberships.c.user_id == user, memberships.c.organisation_id == organisation
        )
    ).first()
    if existing:
        conn.execute(
            update(memberships)
            .where(memberships.c.user_id == user, memberships.c.organisation_id == organisation)
            .values(role=role, expires_at=None)
        )
    else:
        conn.execute(
            insert(memberships).values(user_id=user, organisation_id=organisation, role=role)
        )
    audit.record(conn, actor, "grant_role", "User", user,
                 {"role": role, "previous": existing.role if existing else None},
                 organisation_id=organisation, subject_user_id=user)


def current_membership(at: datetime | None = None) -> ColumnElement[bool]:
    """SQL true for memberships that have not expired (time-limited ones end at expires_at)."""
    return or_(memberships.c.expires_at.is_(None), memberships.c.expires_at > (at or now()))


def roles_of(conn: Connection, user: int) -> dict[int, str]:
    """``user``'s current role in each organisation it belongs to, by organisation id."""
    return {int(m.organisation_id): str(m.role) for m in conn.execute(
        select(memberships.c.organisation_id, memberships.c.role)
        .where(memberships.c.user_id == user, current_membership()))}


def manages_account(principal: Principal, roles: dict[int, str]) -> bool:
    """Whether ``principal`` may act on a whole account (disable it, give it a token) whose
    roles are ``roles``: only as an admin of every organisation it belongs to, since an account
    carries its roles everywhere."""
    return principal.write_anywhere or (bool(roles) and all(principal.can_admin(o)
                                                            for o in roles))


def require_other_admin(conn: Connection, organisation: int, user: int) -> None:
    """Conflict when ``user`` is the last active admin of ``organisation`` (the organisation
    would have nobody left to manage it)."""
    others = conn.execute(
        select(func.count()).select_from(memberships.join(users, users.c.id
                                                          == memberships.c.user_id))
        .where(memberships.c.organisation_id == organisation, memberships.c.role == "admin",
               memberships.c.user_id != user, users.c.active.is_(True))).scalar_one()
    if not others:
        raise Conflict("this is the organisation's last admin: make someone else an admin "
                       "first")


def set_user_active(conn: Connection, user: int, active: bool, *,
                    actor: Principal | str = SYSTEM) -> None:
    """Enable or disable an account (audited): a disabled one signs in and uses tokens no
    more (``principal_for_user`` refuses it), its records stay."""
    row = conn.execute(select(users.c.active).where(users.c.id == user)).first()
    if row is None:
        raise NotFound(f"no user {user}")
    conn.execute(update(users).where(users.c.id == user).values(active=active))
    ended = 0
    if not active:  # signed out everywhere at once, not at each session's next request
        ended = int(conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user))
                    .rowcount or 0)
    audit.record(conn, actor, "enable" if active else "disable", "User", user,
                 {"previous": "active" if row.active else "disabled", "sessions_ended": ended},
                 subject_user_id=user)


def create_token(
    conn: Connection, user: int, name: str = "", *, actor: Principal | str = SYSTEM
) -> str:
    """Create an API token for ``user`` and return it; only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        insert(api_tokens).values(
            user_id=user,
            name=name,
            token_hash=hash_token(token),
            prefix=token[:10],
            created_at=now(),
        )
    )
    audit.record(conn, actor, "create", "ApiToken", token[:10], {"name": name},
                 subject_user_id=user)
    return token


def revoke_token(conn: Connection, prefix: str, *, actor: Principal | str = SYSTEM,
                 members_of: int | None = None) -> int:
    """Revoke the live tokens starting with ``prefix`` (only those of members of organisation
    ``members_of`` if given); how many were revoked."""
    live = [api_tokens.c.prefix == prefix, api_tokens.c.revoked_at.is_(None)]
    if members_of is not None:
        live.append(api_tokens.c.user_id.in_(select(memberships.c.user_id).where(
            memberships.c.organisation_id == members_of)))
    owners = conn.execute(select(api_tokens.c.user_id).where(*live)).scalars().all()
    conn.execute(update(api_tokens).where(*live).values(revoked_at=now()))
    for owner in owners:
        audit.record(conn, actor, "revoke", "ApiToken", prefix, subject_user_id=int(owner))
    return len(owners)


def list_tokens(conn: Connection, organisation: int | None = None) -> list[dict[str, Any]]:
    """API tokens (of members of ``organisation`` if given), newest first, never the token."""
    query = (select(api_tokens, users.c.username)
             .join(users, users.c.id == api_tokens.c.user_id)
             .order_by(api_tokens.c.created_at.desc(), api_tokens.c.id.desc()))
    if organisation is not None:
        query = query.where(api_tokens.c.user_id.in_(
            select(memberships.c.user_id).where(memberships.c.organisation_id == organisation)))
    return [
        {"id": int(r.id), "prefix": r.prefix, "name": r.name, "username": r.username,
         "user_id": int(r.user_id), "created_at": r.created_at, "last_used_at": r.last_used_at,
         "revoked_at": r.revoked_at}
        for r in conn.execute(query)
    ]


def principal_for_user(conn: Connection, user: int) -> Principal:
    """The Principal (roles included) of an active user; Unauthorized otherwise."""
    row = conn.execute(select(users).where(users.c.id == user)).first()
    if row is None or not row.active:
        raise Unauthorized("this account is not active: ask an administrator")
    roles = {
        int(m.organisation_id): str(m.role)
        for m in conn.execute(select(memberships).where(memberships.c.user_id == user,
                                                        current_membership()))
    }
    partner_of = frozenset(
        int(p.organisation_id)
        for p in conn.execute(
            select(organisation_partners.c.organisation_id).where(
                organisation_partners.c.partner_id.in_(list(roles) or [-1])
            )
        )
    )
    return Principal(user_id=user, username=row.username, roles=roles, partner_of=partner_of)


def principal_for_token(conn: Connection, token: str) -> Principal:
    """The principal a bearer token stands for, or Unauthorized with the reason."""
    row = conn.execute(
        select(api_tokens.c.user_id, api_tokens.c.revoked_at).where(
            api_tokens.c.token_hash == hash_token(token)
        )
    ).first()
    if row is None:
        raise Unauthorized("unknown API token: create one with 'placehub tokens create'")
    if row.revoked_at is not None:
        raise Unauthorized("this API token was revoked: create a new one")
    return principal_for_user(conn, int(row.user_id))


def principal_for_token_prefix(conn: Connection, prefix: str) -> Principal:
    """The principal of the one live token starting with ``prefix`` (its first 10 characters,
    the name of a broker account, see ``placehub mqtt credentials``); Unauthorized when no live
    token, or more than one, has it (a revoked token stands for nobody)."""
    owners = conn.execute(select(api_tokens.c.user_id).where(
        api_tokens.c.prefix == prefix, api_tokens.c.revoked_at.is_(None))).scalars().all()
    if len(owners) != 1:
        raise Unauthorized(f"no current API token {prefix!r}: it was revoked, or never existed")
    return principal_for_user(conn, int(owners[0]))


def authenticate_password(conn: Connection, username: str, password: str) -> Principal:
    """The Principal of the user whose password matches; Unauthorized otherwise."""
    row = conn.execute(
        select(users.c.id, users.c.password_hash).where(users.c.username == username)
    ).first()
    # An unknown name (or one without a password) costs the same scrypt work as a known one,
    # so the answer's timing does not tell which usernames exist.
    stored = row.password_hash if row is not None and row.password_hash else _dummy_hash()
    matches = verify_password(password, stored)
    if row is None or not row.password_hash or not matches:
        raise Unauthorized("wrong username or password")
    return principal_for_user(conn, int(row.id))


@cache
def _dummy_hash() -> str:
    return hash_password("placehub-no-such-user")


def list_organisations(conn: Connection) -> list[dict[str, Any]]:
    """Every organisation with its member count and the organisations it shares data with."""
    members = {int(organisation): int(count) for organisation, count in conn.execute(
        select(memberships.c.organisation_id, func.count())
        .group_by(memberships.c.organisation_id))}
    partners: dict[int, list[int]] = {}
    for organisation, partner in conn.execute(
        select(organisation_partners.c.organisation_id, organisation_partners.c.partner_id)
    ):
        partners.setdefault(int(organisation), []).append(int(partner))
    rows = conn.execute(select(organisations).order_by(organisations.c.slug)).mappings().all()
    slugs = {int(row["id"]): str(row["slug"]) for row in rows}
    return [
        {
            "id": int(row["id"]), "slug": row["slug"], "name": row["name"],
            "created_at": row["created_at"], "members": int(members.get(row["id"], 0)),
            "partners": sorted(slugs[p] for p in partners.get(int(row["id"]), [])),
        }
        for row in rows
    ]


def list_users(conn: Connection, organisation: int | None = None) -> list[dict[str, Any]]:
    """Users (of one organisation if given) with their roles and live token count."""
    query = select(users).order_by(users.c.username)
    if organisation is not None:
        query = query.where(users.c.id.in_(
            select(memberships.c.user_id).where(memberships.c.organisation_id == organisation)))
    roles: dict[int, dict[str, str]] = {}
    for user, slug, role in conn.execute(
        select(memberships.c.user_id, organisations.c.slug, memberships.c.role)
        .join(organisations, organisations.c.id == memberships.c.organisation_id)
        .order_by(organisations.c.slug)
    ):
        roles.setdefault(int(user), {})[str(slug)] = str(role)
    tokens = {int(user): int(count) for user, count in conn.execute(
        select(api_tokens.c.user_id, func.count())
        .where(api_tokens.c.revoked_at.is_(None)).group_by(api_tokens.c.user_id))}
    return [
        {
            "id": int(row["id"]), "username": row["username"],
            "display_name": row["display_name"], "email": row["email"],
            "active": bool(row["active"]), "created_at": row["created_at"],
            "can_sign_in": row["password_hash"] is not None,
            "roles": roles.get(int(row["id"]), {}), "tokens": int(tokens.get(row["id"], 0)),
        }
        for row in conn.execute(query).mappings()
    ]


def describe_principal(conn: Connection, principal: Principal) -> dict[str, Any]:
    """Who ``principal`` is, for ``GET /api/me``: name, roles and partner organisations."""
    wanted = set(principal.roles) | set(principal.partner_of)
    slugs = {
        int(row.id): (str(row.slug), str(row.name))
        for row in conn.execute(select(organisations.c.id, organisations.c.slug,
                                       organisations.c.name)
                                .where(organisations.c.id.in_(sorted(wanted) or [-1])))
    }
    display_name = None
    if principal.user_id is not None:
        display_name = conn.execute(select(users.c.display_name)
                                    .where(users.c.id == principal.user_id)).scalar()
    return {
        "username": principal.username,
        "display_name": display_name,
        "anonymous": principal.is_anonymous,
        "write_anywhere": principal.write_anywhere,
        "roles": [
            {"organisation": slugs[o][0], "organisation_name": slugs[o][1], "role": role}
            for o, role in sorted(principal.roles.items(), key=lambda item: slugs[item[0]][0])
        ],
        "reads_partner_data_of": sorted(slugs[o][0] for o in principal.partner_of),
    }
