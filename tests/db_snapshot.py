"""Every row of a test database, kept in memory and put back: a fixture that builds the same
data for many tests (the small demo) builds it once per test process and restores it after."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Integer, Table, func, insert, select, text

from placehub.db import Database
from placehub.db.schema import metadata

# Rows inserted per statement when restoring.
_CHUNK = 2_000
# How long data built by a test process is reused. Builders date their readings relative to
# the moment they run, so reused data is at most this much older than freshly built data: far
# less than the hour the test demos leave between their history and the readings tests add.
REUSE_SECONDS = 600
# The day boundary the demos and rounds work to (Europe/London, as the council's day).
_LOCAL = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Snapshot:
    """The rows of every application table, and SQLite's AUTOINCREMENT counters."""

    rows: dict[str, list[dict[str, Any]]]
    sqlite_sequence: list[tuple[str, int]]


T = TypeVar("T")
_built: dict[Hashable, tuple[float, Any, Snapshot]] = {}


def built_once(key: Hashable, database: Database, build: Callable[[], T]) -> T:
    """What ``build()`` returns, having filled the empty ``database``; when this process ran
    the same build (same ``key``) in the last ``REUSE_SECONDS``, its rows are restored instead
    and its result is returned again (callers must not change it). Data built before a local
    midnight is never reused after it: "today" and "tomorrow" would differ from the build's."""
    key = (key, datetime.now(_LOCAL).date())
    cached = _built.get(key)
    if cached is not None and time.monotonic() - cached[0] < REUSE_SECONDS:
        restore(database, cached[2])
        return cached[1]  # type: ignore[no-any-return]
    value = build()
    _built[key] = (time.monotonic(), value, take(database))
    return value


def empty(database: Database) -> None:
    """Delete every row of every application table and reset the id sequences."""
    tables = list(reversed(metadata.sorted_tables))
    with database.begin() as conn:
        for table in tables:
            conn.execute(table.delete())
        if database.is_sqlite:
            if _has_sqlite_sequence(conn):
                conn.exec_driver_sql("DELETE FROM sqlite_sequence")
            return
        # DELETE and a sequence reset, not TRUNCATE ... RESTART IDENTITY: TRUNCATE makes new
        # files for every table (1.2 s a time on a loaded 2-core machine, against 30-60 ms).
        conn.exec_driver_sql(
            "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = current_schema()")


def _has_sqlite_sequence(conn: Connection) -> bool:
    """True when the SQLite database has AUTOINCREMENT counters (``sqlite_sequence``)."""
    return conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").first() is not None


def take(database: Database) -> Snapshot:
    """Every row of every application table of ``database``."""
    rows: dict[str, list[dict[str, Any]]] = {}
    sequence: list[tuple[str, int]] = []
    with database.connect() as conn:
        for table in metadata.sorted_tables:
            found = [dict(row) for row in conn.execute(select(table)).mappings()]
            if found:
                rows[table.name] = found
        if database.is_sqlite and _has_sqlite_sequence(conn):
            sequence = [(str(name), int(seq)) for name, seq in conn.exec_driver_sql(
                "SELECT name, seq FROM sqlite_sequence").all()]
    return Snapshot(rows, sequence)


def restore(database: Database, snapshot: Snapshot) -> None:
    """Make ``database`` hold what ``snapshot`` holds: the same rows with the same ids, and id
    sequences that go on after them (as after the original inserts)."""
    empty(database)
    with database.begin() as conn:
        for table in metadata.sorted_tables:  # parents before children
            rows = snapshot.rows.get(table.name, [])
            for start in range(0, len(rows), _CHUNK):
                conn.execute(insert(table), rows[start:start + _CHUNK])
        if database.is_sqlite:
            for name, seq in snapshot.sqlite_sequence:
                conn.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)",
                                     (name, seq))
            return
        for table in metadata.sorted_tables:
            for column in _serial_columns(table):
                conn.execute(text(
                    "SELECT setval(pg_get_serial_sequence(:table, :column), "
                    "coalesce(:last, 1), :last IS NOT NULL)"),
                    {"table": table.name, "column": column,
                     "last": conn.execute(select(func.max(table.c[column]))).scalar()})


def _serial_columns(table: Table) -> list[str]:
    """The columns of ``table`` that take their values from a sequence on PostgreSQL."""
    single = len(table.primary_key.columns) == 1
    return [column.name for column in table.primary_key.columns
            if column.autoincrement is True
            or (column.autoincrement == "auto" and single and isinstance(column.type, Integer))]
