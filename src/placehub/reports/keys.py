"""API keys of the systems that post requests over Open311 (FixMyStreet, a contact centre).

Only a SHA-256 hash is stored; the key is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from placehub.errors import BadRequest, Conflict, Forbidden, NotFound
from placehub.reports.tables import open311_keys

PREFIX = "o311_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(conn: Connection, name: str, now: datetime) -> str:
    """A new key for the posting system ``name``; returns the key itself (shown once)."""
    name = name.strip()
    if not name:
        raise BadRequest("name the system the key is for, e.g. fixmystreet")
    if conn.execute(select(open311_keys.c.id).where(open311_keys.c.name == name)).first():
        raise Conflict(f"there is a key named {name!r} already: revoke it first or choose "
                       "another name")
    key = PREFIX + secrets.token_urlsafe(24)
    conn.execute(insert(open311_keys).values(name=name, key_hash=_hash(key), prefix=key[:10],
                                             created_at=now))
    return key


def client_of(conn: Connection, key: str | None) -> str:
    """The name of the system ``key`` belongs to; Forbidden for a missing, wrong or revoked
    key (the GeoReport v2 answer to a bad api_key)."""
    if not key:
        raise Forbidden("posting a service request needs an api_key: ask the council for one")
    row = conn.execute(select(open311_keys).where(open311_keys.c.key_hash == _hash(key))
                       ).first()
    if row is None or not hmac.compare_digest(row.key_hash, _hash(key)):
        raise Forbidden("api_key is not valid: check it, or ask the council for a new one")
    if row.revoked_at is not None:
        raise Forbidden(f"api_key {row.prefix}... was revoked: ask the council for a new one")
    return str(row.name)


def list_keys(conn: Connection) -> list[dict[str, Any]]:
    return [{"name": r.name, "prefix": r.prefix, "created_at": r.created_at.isoformat(),
             "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None}
            for r in conn.execute(select(open311_keys).order_by(open311_keys.c.id))]


def revoke_key(conn: Connection, name: str, now: datetime) -> None:
    done = conn.execute(update(open311_keys).where(
        open311_keys.c.name == name, open311_keys.c.revoked_at.is_(None)).values(revoked_at=now))
    if not done.rowcount:
        raise NotFound(f"no active key named {name!r}: list them with "
                       "'placehub reports keys list'")
