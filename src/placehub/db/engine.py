"""The engine factory: SQLite (WAL, foreign keys on) or PostgreSQL through psycopg 3."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from placehub.errors import BadRequest
from placehub.events import EventBus


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def stored_json(value: Any) -> str:
    """JSON text for a JSON column; NaN and infinities are refused, as no reader takes them
    back (SQLite's JSON functions fail on the whole column, PostgreSQL refuses them)."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:
        raise BadRequest("a JSON value (properties, parameters, a result) contains NaN or an "
                         "infinite number such as 1e999, which cannot be stored: send finite "
                         "numbers") from None


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    url = normalise_url(url)
    kwargs.setdefault("json_serializer", stored_json)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    # placehub's queries are short. JIT compiled for half a second before the first row of a
    # page whose plan estimate crossed jit_above_cost, and a parallel worker took longer to
    # start than a 100-row page of Locations took to read (bench/bench_sta_spatial.py).
    kwargs.setdefault("connect_args", {}).setdefault(
        "options", "-c jit=off -c max_parallel_workers_per_gather=0")
    return create_engine(url, **kwargs)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy issue BEGIN itself (see _sqlite_on_begin) so transactions behave as on
    # PostgreSQL; pysqlite's own implicit transactions would otherwise start too late.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode survives a process crash (kill -9); only an OS crash or power loss can
    # lose the last transactions.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    # Write transactions take the write lock up front (BEGIN IMMEDIATE) so they queue on the
    # busy timeout; a deferred one upgrading from read to write fails at once with "locked".
    immediate = connection.get_execution_options().get("placehub_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """The engine plus helpers for the two kinds of work: reading and writing in a transaction."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, **engine_kwargs)
        # Committed changes are announced here (see placehub.events for the topics).
        self.events = EventBus()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction, committed on success and rolled back on error."""
        with self.engine.connect() as connection:
            connection.execution_options(placehub_write=True)
            with connection.begin():
                yield connection

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reads."""
        with self.engine.connect() as connection:
            yield connection

    def upgrade(self) -> None:
        """Create or migrate the schema to the newest revision of every branch."""
        from placehub.db.migrate import upgrade

        upgrade(self.url)

    def dispose(self) -> None:
        self.engine.dispose()
