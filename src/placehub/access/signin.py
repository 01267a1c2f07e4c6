"""Signing in with a password: throttling guesses, hashing off the event loop, and server-side
sessions that end on sign-out, on a password change and when the account is deactivated.

The throttle lives in the server process (one per app): a deployment with several workers
multiplies its allowance by the worker count, which still turns 300 guesses in 16 s into hours.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
import anyio.to_thread
from sqlalchemy import Connection, delete, insert, select, update

from placehub.access import audit
from placehub.access.service import (
    SYSTEM,
    Principal,
    authenticate_password,
    hash_password,
    now,
    principal_for_user,
)
from placehub.access.tables import users, web_sessions
from placehub.db import Database
from placehub.errors import PlacehubError, Unauthorized

SESSION_HOURS = 12


class TooManyAttempts(PlacehubError):
    """Sign-in refused for a while after repeated wrong passwords (429 with Retry-After)."""

    status_code = 429

    def __init__(self, seconds: int) -> None:
        super().__init__(f"too many wrong passwords: try again in {seconds} seconds")
        self.retry_after = seconds
        self.headers = {"Retry-After": str(seconds)}


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    locked_until: float = 0.0


class SignInThrottle:
    """Exponential backoff per account and per client address after repeated failures.

    Once a key has ``free`` failures, each further one locks it for ``base_seconds``, doubled
    per failure past the allowance, up to ``max_seconds``. A key's failures are forgotten
    ``forget_seconds`` after its last one; a correct password clears its account. Addresses
    get a larger allowance, as many staff may sign in from one office address.
    """

    def __init__(self, *, account_free: int = 5, address_free: int = 20,
                 base_seconds: float = 1.0, max_seconds: float = 900.0,
                 forget_seconds: float = 3600.0, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if account_free < 1 or address_free < 1:
            raise ValueError("account_free and address_free must be at least 1")
        self.free = {"account": account_free, "address": address_free}
        self.base_seconds, self.max_seconds = base_seconds, max_seconds
        self.forget_seconds, self.max_keys = forget_seconds, max_keys
        self.clock = clock
        # Sign-in work (the hash, the answer's rendering) runs in one worker thread at a time:
        # a flood of sign-ins queues here instead of taking the CPU (and the interpreter
        # lock) that webhooks and pages need.
        self.work = anyio.CapacityLimiter(1)
        self._keys: OrderedDict[tuple[str, str], _Failures] = OrderedDict()

    @staticmethod
    def keys(username: str, address: str) -> list[tuple[str, str]]:
        """The keys a sign-in attempt counts against."""
        return [("account", username.casefold()), ("address", address)]

    def check(self, username: str, address: str) -> None:
        """Raise TooManyAttempts while the account or the address is locked."""
        current = self.clock()
        wait = 0.0
        for key in self.keys(username, address):
            entry = self._keys.get(key)
            if entry is not None:
                wait = max(wait, entry.locked_until - current)
        if wait > 0:
            raise TooManyAttempts(max(1, int(wait + 0.999)))

    def failed(self, username: str, address: str) -> None:
        """Count a wrong password against the account and the address."""
        current = self.clock()
        for key in self.keys(username, address):
            entry = self._keys.pop(key, None)
            if entry is None or current - entry.last > self.forget_seconds:
                entry = _Failures()
            entry.count += 1
            entry.last = current
            extra = entry.count - self.free[key[0]] + 1
            if extra > 0:
                entry.locked_until = current + min(self.max_seconds,
                                                   self.base_seconds * 2 ** (extra - 1))
            self._keys[key] = entry
        while len(self._keys) > self.max_keys:  # oldest first: bounded memory under a flood
            self._keys.popitem(last=False)

    def succeeded(self, username: str) -> None:
        """A correct password clears its account's failures (not its address's)."""
        self._keys.pop(("account", username.casefold()), None)


async def sign_in(database: Database, throttle: SignInThrottle, username: str, password: str,
                  address: str) -> Principal:
    """Check a password off the event loop, throttled per account and client address."""
    throttle.check(username, address)

    def attempt() -> Principal:
        with database.connect() as conn:
            return authenticate_password(conn, username, password)

    try:
        principal = await anyio.to_thread.run_sync(attempt, limiter=throttle.work)
    except Unauthorized:
        throttle.failed(username, address)
        raise
    throttle.succeeded(username)
    return principal


def _session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(conn: Connection, user: int, at: datetime | None = None) -> str:
    """Record a new sign-in of ``user``; returns the session id the cookie carries."""
    at = at or now()
    session_id = secrets.token_urlsafe(32)
    conn.execute(insert(web_sessions).values(
        token_hash=_session_hash(session_id), user_id=user, created_at=at,
        expires_at=at + timedelta(hours=SESSION_HOURS)))
    return session_id


def principal_for_session(conn: Connection, session_id: str,
                          at: datetime | None = None) -> Principal:
    """The Principal of a live session; Unauthorized once it ended or expired."""
    row = conn.execute(select(web_sessions.c.user_id, web_sessions.c.expires_at).where(
        web_sessions.c.token_hash == _session_hash(session_id))).first()
    if row is None or row.expires_at <= (at or now()):
        raise Unauthorized("this session has ended: sign in again")
    return principal_for_user(conn, int(row.user_id))


def end_session(conn: Connection, session_id: str) -> None:
    """End one session (sign-out): its cookie no longer signs anyone in."""
    conn.execute(delete(web_sessions).where(
        web_sessions.c.token_hash == _session_hash(session_id)))


def end_sessions_of(conn: Connection, user: int) -> int:
    """End every session of ``user``; how many there were."""
    result = conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user))
    return int(result.rowcount or 0)


def set_password(conn: Connection, user: int, password: str, *,
                 actor: Principal | str = SYSTEM) -> int:
    """Change ``user``'s password and end all their sessions (audited); sessions ended."""
    conn.execute(update(users).where(users.c.id == user)
                 .values(password_hash=hash_password(password)))
    ended = end_sessions_of(conn, user)
    audit.record(conn, actor, "set_password", "User", user, {"sessions_ended": ended},
                 subject_user_id=user)
    return ended


def forget_expired_sessions(conn: Connection, at: datetime | None = None) -> int:
    """Delete sessions past their expiry; how many."""
    result = conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= (at or now())))
    return int(result.rowcount or 0)
