"""Telling a database that is down (or busy) from a bug, and saying so once, not per request."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import exc

log = logging.getLogger("placehub.db")

# SQLite errors that pass: another writer, a full or unreadable disk. Any other
# OperationalError on SQLite (a malformed query, bad JSON in a column) is a bug, not an outage.
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error",
                       "database or disk is full", "readonly database", "database is busy")


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot answer now (worth a 503 and a retry)."""
    if isinstance(error, (exc.DisconnectionError, exc.TimeoutError)):
        return True
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, exc.InterfaceError):
        return True
    if isinstance(error, exc.OperationalError):
        module = type(error.orig).__module__
        if module.startswith("sqlite3"):
            text = str(error.orig).lower()
            return any(reason in text for reason in _SQLITE_UNAVAILABLE)
        return True  # psycopg: connection refused or lost, server shutting down, cancelled
    return False


class OutageLog:
    """One log line per ``interval`` seconds while the database is unavailable, with how many
    requests were refused since the last line, instead of a traceback per request."""

    def __init__(self, interval: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self._refused = 0

    def note(self, error: BaseException) -> bool:
        """Count one refused request; logs (and returns True) at most once per interval."""
        with self._lock:
            self._refused += 1
            current = self.clock()
            if self._last is not None and current - self._last < self.interval:
                return False
            refused, self._refused, self._last = self._refused, 0, current
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0][:300]
        log.error("database unavailable, answering 503 (%d request(s) since the last line): "
                  "%s", refused, reason)
        return True
