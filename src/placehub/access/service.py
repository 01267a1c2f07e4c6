"""Organisations, users and API tokens: creating them and checking who a request is."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select, update

from placehub.access.tables import (
    ROLES,
    api_tokens,
    memberships,
    organisation_partners,
    organisations,
    users,
)
from placehub.errors import BadRequest, Conflict, NotFound, Unauthorized

TOKEN_PREFIX = "ph_"
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
        return self.user_id is None

    def can_write(self, organisation_id: int) -> bool:
        return self.write_anywhere or self.roles.get(organisation_id) in {"admin", "editor"}

    def can_admin(self, organisation_id: int) -> bool:
        return self.write_anywhere or self.roles.get(organisation_id) == "admin"

    @property
    def member_of(self) -> frozenset[int]:
        return frozenset(self.roles)


ANONYMOUS = Principal()


def now() -> datetime:
    return datetime.now(UTC)


def hash_password(password: str) -> str:
    """A salted scrypt hash in the form ``scrypt$salt$hash``."""
    if len(password) < 8:
        raise BadRequest("password too short: use at least 8 characters")
    salt = secrets.token_hex(16)
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=2**14, r=8, p=1).hex()
    return f"scrypt${salt}${digest}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt, digest = stored.split("$", 2)
    candidate = hashlib.scrypt(password.encode(), salt=salt.encode(), n=2**14, r=8, p=1).hex()
    return hmac.compare_digest(candidate, digest)


def hash_token(token: str) -> str:
    # Tokens are 32 random bytes, so a fast hash is enough; no salt needed.
    return hashlib.sha256(token.encode()).hexdigest()


def create_organisation(conn: Connection, slug: str, name: str) -> int:
    if not _SLUG.match(slug):
        raise BadRequest(
            f"organisation slug {slug!r}: use lower-case letters, digits and hyphens"
        )
    if conn.execute(select(organisations.c.id).where(organisations.c.slug == slug)).first():
        raise Conflict(f"organisation {slug!r} exists already")
    result = conn.execute(
        insert(organisations).values(slug=slug, name=name, created_at=now())
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def ensure_organisation(conn: Connection, slug: str, name: str) -> int:
    """The id of organisation ``slug``, creating it if needed."""
    row = conn.execute(select(organisations.c.id).where(organisations.c.slug == slug)).first()
    return int(row.id) if row else create_organisation(conn, slug, name)


def organisation_id(conn: Connection, slug: str) -> int:
    row = conn.execute(select(organisations.c.id).where(organisations.c.slug == slug)).first()
    if row is None:
        raise NotFound(f"unknown organisation {slug!r}: create it with 'placehub orgs add'")
    return int(row.id)


def add_partner(conn: Connection, organisation: int, partner: int) -> None:
    """Let members of ``partner`` read ``organisation``'s data marked "partners"."""
    conn.execute(insert(organisation_partners).values(organisation_id=organisation,
                                                      partner_id=partner))


def create_user(
    conn: Connection,
    username: str,
    *,
    password: str | None = None,
    display_name: str = "",
    email: str | None = None,
) -> int:
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
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def user_id(conn: Connection, username: str) -> int:
    row = conn.execute(select(users.c.id).where(users.c.username == username)).first()
    if row is None:
        raise NotFound(f"unknown user {username!r}: create it with 'placehub users add'")
    return int(row.id)


def grant_role(conn: Connection, user: int, organisation: int, role: str) -> None:
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
            .values(role=role)
        )
    else:
        conn.execute(
            insert(memberships).values(user_id=user, organisation_id=organisation, role=role)
        )


def create_token(conn: Connection, user: int, name: str = "") -> str:
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
    return token


def revoke_token(conn: Connection, prefix: str) -> int:
    result = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.prefix == prefix, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    return result.rowcount


def principal_for_user(conn: Connection, user: int) -> Principal:
    row = conn.execute(select(users).where(users.c.id == user)).first()
    if row is None or not row.active:
        raise Unauthorized("this account is not active: ask an administrator")
    roles = {
        int(m.organisation_id): str(m.role)
        for m in conn.execute(select(memberships).where(memberships.c.user_id == user))
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


def authenticate_password(conn: Connection, username: str, password: str) -> Principal:
    row = conn.execute(
        select(users.c.id, users.c.password_hash).where(users.c.username == username)
    ).first()
    if row is None or not verify_password(password, row.password_hash):
        raise Unauthorized("wrong username or password")
    return principal_for_user(conn, int(row.id))
