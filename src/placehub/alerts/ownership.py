"""Who judges what when several processes write Observations (PostgreSQL advisory locks).

Each Datastream is judged under its own transaction lock, so two processes never judge one
Datastream at once and each reads the state the other saved; the timer (silent sensors,
hold-offs, digests, notifications) runs only in the process holding the alert lease, and while
it judges, no Datastream is judged elsewhere. SQLite has one writer process: nothing to lock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import Connection, text

from placehub.db import Database

log = logging.getLogger(__name__)

# Advisory lock namespaces (the first of the two 32-bit keys), fixed for placehub.
_JUDGING = 0x70680001  # (namespace, 0): shared while judging a Datastream, exclusive for timer
_DATASTREAM = 0x70680002  # (namespace, datastream id)
_LEASE = 0x70680003  # (namespace, 0): the process that runs the alert timer


def _int4(value: int) -> int:
    """A key in PostgreSQL's signed 32-bit range."""
    value %= 2**32
    return value - 2**32 if value >= 2**31 else value


def lock_datastreams(conn: Connection, datastream_ids: Iterable[int]) -> None:
    """Judge these Datastreams alone until ``conn``'s transaction ends (in id order: no
    deadlock between two processes locking overlapping sets)."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text("SELECT pg_advisory_xact_lock_shared(:a, 0)"), {"a": _int4(_JUDGING)})
    for datastream_id in sorted(set(datastream_ids)):
        conn.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"),
                     {"a": _int4(_DATASTREAM), "b": _int4(datastream_id)})


def lock_all_datastreams(conn: Connection) -> None:
    """Wait until no Datastream is being judged, and keep it so until the transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:a, 0)"), {"a": _int4(_JUDGING)})


class AlertLease:
    """The alert timer's lease: held by one process at a time, until its connection ends
    (a process that dies loses it at once, and the next one to ask takes it)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._conn: Connection | None = None

    def held(self) -> bool:
        """Whether this process holds the lease (taking it when it is free)."""
        if self.database.is_sqlite:
            return True
        try:
            if self._conn is None:
                self._conn = self.database.engine.connect()
                got = self._conn.execute(text("SELECT pg_try_advisory_lock(:a, 0)"),
                                         {"a": _int4(_LEASE)}).scalar()
                self._conn.commit()  # the lock is the session's: no open transaction
                if not got:
                    self._conn.close()
                    self._conn = None
                    return False
                log.info("this process now runs the alert timer")
                return True
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception:  # noqa: BLE001 - the connection broke: the lease is gone
            log.exception("alert lease lost")
            if self._conn is not None:
                self._conn.invalidate()
                self._conn = None
            return False

    def release(self) -> None:
        """Let the lease go (the connection goes back to the pool without the lock)."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.execute(text("SELECT pg_advisory_unlock_all()"))
                conn.commit()
                conn.close()
            except Exception:  # noqa: BLE001 - a broken connection: never reuse it
                log.debug("releasing the alert lease failed", exc_info=True)
                conn.invalidate()
