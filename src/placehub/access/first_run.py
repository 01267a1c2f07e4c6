"""The first minutes of a new installation: secrets made once and kept in the database (the
session key, so sign-ins outlive a restart), and the one-time setup link that creates the first
administrator while there is none.

A setup link carries a random token; only its SHA-256 is kept, for ``SETUP_HOURS``. The link
works once: creating the administrator deletes it, and once any administrator exists every link
is refused. Each ``placehub serve`` on a database without one makes a new link (the old one stops
working).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from placehub.access import service
from placehub.access.tables import instance_secrets, memberships, organisations, users
from placehub.errors import BadRequest, Forbidden, NotFound

SESSION_KEY = "session_key"
SETUP_TOKEN = "first_admin_setup"
SETUP_HOURS = 24
# Who the audit trail says created the first administrator (nobody was signed in).
SETUP_ACTOR = "first-run setup"


def kept_secret(conn: Connection, name: str, make: Callable[[], str],
                at: datetime | None = None) -> str:
    """The secret called ``name``, made with ``make`` and stored the first time it is asked
    for; two processes asking at once get the same one (the first to store it wins)."""
    stored = conn.execute(select(instance_secrets.c.value)
                          .where(instance_secrets.c.name == name)).scalar()
    if stored is not None:
        return str(stored)
    try:
        with conn.begin_nested():
            conn.execute(insert(instance_secrets).values(name=name, value=make(),
                                                         created_at=at or service.now()))
    except IntegrityError:  # another process stored it first: use theirs
        pass
    return str(conn.execute(select(instance_secrets.c.value)
                            .where(instance_secrets.c.name == name)).scalar_one())


def read_secret(conn: Connection, name: str) -> str | None:
    """The stored secret ``name``, or None."""
    value = conn.execute(select(instance_secrets.c.value)
                         .where(instance_secrets.c.name == name)).scalar()
    return None if value is None else str(value)


def session_key(conn: Connection) -> str:
    """The key that signs session cookies, made once per installation."""
    return kept_secret(conn, SESSION_KEY, lambda: secrets.token_urlsafe(48))


def has_admin(conn: Connection) -> bool:
    """Whether an active user holds the admin role in any organisation."""
    return bool(conn.execute(select(exists().where(
        memberships.c.role == "admin", memberships.c.user_id == users.c.id,
        users.c.active.is_(True)))).scalar())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def offer_setup(conn: Connection, at: datetime | None = None) -> str | None:
    """A new one-time setup token while no administrator exists (replacing any earlier one),
    or None when one does (and any old token is forgotten)."""
    conn.execute(delete(instance_secrets).where(instance_secrets.c.name == SETUP_TOKEN))
    if has_admin(conn):
        return None
    token = secrets.token_urlsafe(32)
    values = {"value": _digest(token), "created_at": at or service.now()}
    try:
        with conn.begin_nested():
            conn.execute(insert(instance_secrets).values(name=SETUP_TOKEN, **values))
    except IntegrityError:  # another process starting at the same moment stored its own
        conn.execute(update(instance_secrets).where(instance_secrets.c.name == SETUP_TOKEN)
                     .values(**values))  # each start makes a new one: the last one printed
    return token


def check_setup_token(conn: Connection, token: str, at: datetime | None = None) -> None:
    """Refuse unless ``token`` is the live setup token and no administrator exists yet."""
    if has_admin(conn):
        raise NotFound("placehub has an administrator already, so this setup link no longer "
                       "works: sign in, or ask an administrator for an account")
    row = conn.execute(select(instance_secrets.c.value, instance_secrets.c.created_at)
                       .where(instance_secrets.c.name == SETUP_TOKEN)).first()
    if row is None or not token or not hmac.compare_digest(str(row.value), _digest(token)):
        raise Forbidden("this setup link is not the current one: use the link 'placehub "
                        "serve' printed last (each start makes a new one)")
    if row.created_at + timedelta(hours=SETUP_HOURS) <= (at or service.now()):
        raise Forbidden(f"this setup link is older than {SETUP_HOURS} hours: restart "
                        "'placehub serve' for a new one")


@dataclass(frozen=True)
class FirstAdmin:
    """What the setup form asks for."""

    organisation_name: str
    username: str
    password: str
    display_name: str = ""


def form_problems(wanted: FirstAdmin, confirm: str) -> dict[str, str]:
    """GOV.UK error messages by field for a setup form as sent (empty when it is fine)."""
    problems = {}
    if not wanted.organisation_name.strip():
        problems["organisation"] = "Enter the name of your council or organisation"
    elif not _slug(wanted.organisation_name):
        problems["organisation"] = "Enter a name with at least one letter or digit"
    if not wanted.username.strip():
        problems["username"] = "Enter a username"
    elif len(wanted.username) > 100 or not re.fullmatch(r"[\w.@+-]+", wanted.username):
        problems["username"] = ("Enter a username of up to 100 letters, digits and . @ + - _, "
                                "without spaces")
    if len(wanted.password) < 8:
        problems["password"] = "Enter a password of at least 8 characters"
    elif confirm != wanted.password:
        problems["confirm"] = "Enter the same password twice"
    return problems


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")


def organisation_for(conn: Connection, name: str) -> int:
    """The organisation called ``name`` (any case), created if there is none."""
    found = conn.execute(select(organisations.c.id).where(
        func.lower(organisations.c.name) == name.strip().lower())).scalar()
    if found is not None:
        return int(found)
    slug = base = _slug(name)
    suffix = 1
    while conn.execute(select(organisations.c.id).where(organisations.c.slug == slug)).first():
        suffix += 1
        slug = f"{base[:60]}-{suffix}"
    return service.create_organisation(conn, slug, name.strip(), actor=SETUP_ACTOR)


def create_first_admin(conn: Connection, token: str, wanted: FirstAdmin,
                       at: datetime | None = None) -> int:
    """Create the first administrator with the setup token (checked again here, inside the
    transaction), and end the token; returns the new user's id. Audited as the setup's."""
    check_setup_token(conn, token, at)
    problems = form_problems(wanted, wanted.password)
    if problems:
        raise BadRequest("; ".join(problems.values()))
    # Taken first: of two forms sent at once, the second finds no token (PostgreSQL makes it
    # wait for the first's commit; SQLite has one writer).
    taken = conn.execute(delete(instance_secrets).where(instance_secrets.c.name == SETUP_TOKEN))
    if taken.rowcount != 1:
        raise Forbidden("this setup link was used a moment ago: sign in")
    organisation = organisation_for(conn, wanted.organisation_name)
    user = service.create_user(conn, wanted.username.strip(), password=wanted.password,
                               display_name=wanted.display_name.strip(), actor=SETUP_ACTOR)
    service.grant_role(conn, user, organisation, "admin", actor=SETUP_ACTOR)
    return user
