"""Webhook credentials per network-server integration: HTTP Basic auth or a shared-secret header.

The Things Stack webhooks and ChirpStack HTTP integrations can send either; there is no payload
signature, so the secret is all there is. Secrets are stored hashed (SHA-256: they are long
random strings, so no slow hash is needed) and checked in constant time. Each integration
belongs to one organisation and may only write to that organisation's devices (an integration
without an organisation, made on the server's command line with ``--all-organisations``, serves
every organisation). Rotating gives a new secret at once (the old one stops working); revoking
keeps the record but opens nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from placehub.access import audit
from placehub.access.service import Principal
from placehub.access.tables import organisations
from placehub.db import Database
from placehub.errors import BadRequest, Conflict, NotFound
from placehub.ingest.journal import JournalEntry
from placehub.ingest.tables import ingest_integrations

SECRET_HEADER = "x-placehub-secret"
NETWORK_CHOICES = ("tts", "chirpstack", "any")


@dataclass(frozen=True)
class Integration:
    """Who delivered a message: the integration's name and the organisation it writes for."""

    name: str
    organisation_id: int | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _row(conn: Connection, name: str, organisations_: Collection[int] | None = None) -> Any:
    """The integration called ``name`` (NotFound also when it is outside ``organisations_``)."""
    row = conn.execute(
        select(ingest_integrations).where(ingest_integrations.c.name == name)
    ).first()
    if row is None or (organisations_ is not None and row.organisation_id not in organisations_):
        raise NotFound(f"no integration named {name!r}: 'placehub ingest integrations list'")
    return row


def create_integration(
    conn: Connection,
    name: str,
    network: str,
    username: str | None = None,
    secret: str | None = None,
    organisation_id: int | None = None,
    actor: Principal | str = "system",
) -> str:
    """Add an integration and return its secret (shown once)."""
    if network not in NETWORK_CHOICES:
        raise BadRequest(f"network {network!r}: use one of {', '.join(NETWORK_CHOICES)}")
    if not name or len(name) > 200:
        raise BadRequest("name the integration with 1 to 200 characters")
    if conn.execute(
        select(ingest_integrations.c.id).where(ingest_integrations.c.name == name)
    ).first():
        raise Conflict(f"an integration named {name!r} exists already")
    if username and conn.execute(
        select(ingest_integrations.c.id).where(
            ingest_integrations.c.username == username, ingest_integrations.c.revoked_at.is_(None)
        )
    ).first():
        raise Conflict(f"the Basic auth user {username!r} is used by another integration")
    secret = secret or secrets.token_urlsafe(24)
    conn.execute(
        insert(ingest_integrations).values(
            name=name,
            network=network,
            username=username,
            secret_hash=_hash(secret),
            organisation_id=organisation_id,
            created_at=datetime.now(UTC),
        )
    )
    audit.record(conn, actor, "create", "Integration", name, {"network": network},
                 organisation_id=organisation_id)
    return secret


def rotate_integration(
    conn: Connection, name: str, organisations_: Collection[int] | None = None,
    actor: Principal | str = "system",
) -> str:
    """A new secret for the integration (shown once); the old one stops working."""
    row = _row(conn, name, organisations_)
    if row.revoked_at is not None:
        raise Conflict(f"integration {name!r} is revoked: create a new one")
    secret = secrets.token_urlsafe(24)
    conn.execute(
        update(ingest_integrations)
        .where(ingest_integrations.c.id == row.id)
        .values(secret_hash=_hash(secret), rotated_at=datetime.now(UTC))
    )
    audit.record(conn, actor, "rotate", "Integration", name, organisation_id=row.organisation_id)
    return secret


def revoke_integration(
    conn: Connection, name: str, organisations_: Collection[int] | None = None,
    actor: Principal | str = "system",
) -> None:
    """Stop the integration's secret from opening anything (the record stays for the log)."""
    row = _row(conn, name, organisations_)
    conn.execute(
        update(ingest_integrations)
        .where(ingest_integrations.c.id == row.id)
        .values(revoked_at=row.revoked_at or datetime.now(UTC))
    )
    audit.record(conn, actor, "revoke", "Integration", name, organisation_id=row.organisation_id)


def delete_integration(conn: Connection, name: str) -> None:
    """Revoke the webhook integration called ``name`` (NotFound if there is none)."""
    revoke_integration(conn, name)


def list_integrations(
    conn: Connection, organisations_: Collection[int] | None = None
) -> list[dict[str, Any]]:
    """Integrations (within ``organisations_``; None: all) with their network, organisation and
    kind of credential, never the secret."""
    t = ingest_integrations
    query = (
        select(t, organisations.c.slug)
        .outerjoin(organisations, organisations.c.id == t.c.organisation_id)
        .order_by(t.c.name)
    )
    if organisations_ is not None:
        query = query.where(t.c.organisation_id.in_(organisations_))
    return [
        {
            "name": r.name,
            "network": r.network,
            "organisation": r.slug,
            "auth": "basic" if r.username else "header",
            "username": r.username,
            "created_at": r.created_at.isoformat(),
            "rotated_at": r.rotated_at.isoformat() if r.rotated_at else None,
            "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
        }
        for r in conn.execute(query)
    ]


def stamp(entry: JournalEntry, integration: Integration | None, accept_simulated: bool) -> None:
    """Record on the entry who delivered it, and set simulated uplinks aside unless allowed."""
    if integration is not None:
        entry.integration = integration.name
        entry.organisation_id = integration.organisation_id
    if entry.simulated and not accept_simulated and entry.dead_reason is None:
        entry.ignored_reason = (
            "simulated uplink (from the network server's console): kept but not stored as "
            "Observations; set PLACEHUB_INGEST_ACCEPT_SIMULATED=true to store them, marked"
        )


class WebhookAuthenticator:
    """Checks webhook credentials against the integrations, re-read every few seconds."""

    def __init__(self, database: Database, refresh_seconds: float = 5.0) -> None:
        self.database = database
        self.refresh_seconds = refresh_seconds
        self._loaded_at = -1e9
        self._rows: list[Any] = []
        self._lock = threading.Lock()

    def _integrations(self) -> list[Any]:
        if time.monotonic() - self._loaded_at > self.refresh_seconds:
            with self._lock, self.database.connect() as conn:
                self._rows = list(
                    conn.execute(
                        select(ingest_integrations).where(
                            ingest_integrations.c.revoked_at.is_(None)
                        )
                    )
                )
                self._loaded_at = time.monotonic()
        return self._rows

    def invalidate(self) -> None:
        self._loaded_at = -1e9

    def check(self, network: str, headers: Mapping[str, str]) -> Integration | None:
        """The integration the headers authenticate, or None."""
        candidates = [r for r in self._integrations() if r.network in (network, "any")]
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("basic "):
            try:
                user, _, password = (
                    base64.b64decode(authorization[6:].strip()).decode().partition(":")
                )
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None
            for row in candidates:
                if row.username == user and hmac.compare_digest(row.secret_hash, _hash(password)):
                    return Integration(str(row.name), row.organisation_id)
            return None
        secret = headers.get(SECRET_HEADER)
        if secret:
            for row in candidates:
                if row.username is None and hmac.compare_digest(row.secret_hash, _hash(secret)):
                    return Integration(str(row.name), row.organisation_id)
        return None
