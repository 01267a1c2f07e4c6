"""Webhook credentials per network-server integration: HTTP Basic auth or a shared-secret header.

The Things Stack webhooks and ChirpStack HTTP integrations can send either; there is no payload
signature, so the secret is all there is. Secrets are stored hashed (SHA-256: they are long
random strings, so no slow hash is needed) and checked in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from placehub.db import Database
from placehub.errors import BadRequest, Conflict, NotFound
from placehub.ingest.tables import ingest_integrations

SECRET_HEADER = "x-placehub-secret"
NETWORK_CHOICES = ("tts", "chirpstack", "any")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_integration(
    conn: Connection,
    name: str,
    network: str,
    username: str | None = None,
    secret: str | None = None,
    organisation_id: int | None = None,
) -> str:
    """Add an integration and return its secret (shown once)."""
    if network not in NETWORK_CHOICES:
        raise BadRequest(f"network {network!r}: use one of {', '.join(NETWORK_CHOICES)}")
    if conn.execute(
        select(ingest_integrations.c.id).where(ingest_integrations.c.name == name)
    ).first():
        raise Conflict(f"an integration named {name!r} exists already")
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
    return secret


def delete_integration(conn: Connection, name: str) -> None:
    """Remove the webhook integration called ``name`` (NotFound if there is none)."""
    if not conn.execute(
        delete(ingest_integrations).where(ingest_integrations.c.name == name)
    ).rowcount:
        raise NotFound(f"no integration named {name!r}")


def list_integrations(conn: Connection) -> list[dict[str, Any]]:
    """Every webhook integration with its network and kind of credential (never the secret)."""
    return [
        {
            "name": r.name,
            "network": r.network,
            "auth": "basic" if r.username else "header",
            "username": r.username,
            "created_at": r.created_at.isoformat(),
        }
        for r in conn.execute(select(ingest_integrations).order_by(ingest_integrations.c.name))
    ]


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
                self._rows = list(conn.execute(select(ingest_integrations)))
                self._loaded_at = time.monotonic()
        return self._rows

    def invalidate(self) -> None:
        self._loaded_at = -1e9

    def check(self, network: str, headers: Mapping[str, str]) -> str | None:
        """The name of the integration the headers authenticate, or None."""
        candidates = [r for r in self._integrations() if r.network in (network, "any")]
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("basic "):
            try:
                user, _, password = (
                    base64.b64decode(authorization[6:].strip()).decode().partition(":")
                )
            except (binascii.Error, UnicodeDecodeError):
                return None
            for row in candidates:
                if row.username == user and hmac.compare_digest(row.secret_hash, _hash(password)):
                    return str(row.name)
            return None
        secret = headers.get(SECRET_HEADER)
        if secret:
            for row in candidates:
                if row.username is None and hmac.compare_digest(row.secret_hash, _hash(secret)):
                    return str(row.name)
        return None
