"""The one MetaData every table module registers on, and column types shared by both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    event,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from placehub.errors import BadRequest

# Named constraints so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")

# BIGINT on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases.

    SQLite has no timestamp type, so values are stored as UTC and handed back tz-aware; naive
    datetimes are refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given: use a timezone-aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class StoredText(TypeDecorator[str]):
    """A text column that refuses what it cannot hold the same way on both databases: more
    characters than its length (SQLite would store them, PostgreSQL fail), NUL characters
    (PostgreSQL text cannot hold them) and lone surrogates (not encodable as UTF-8).

    Every String and Text column of the metadata gets this type when attached to its table,
    so each stored name, title and note is checked wherever it comes from.
    """

    impl = String
    cache_ok = True

    def __init__(self, original: String, column: str) -> None:
        super().__init__(original.length)
        self.original = original
        self.column = column

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(self.original)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if not isinstance(value, str):
            return value
        limit = self.original.length
        if limit is not None and len(value) > limit:
            raise BadRequest(f"{self.column} is {len(value)} characters long: use at most "
                             f"{limit}")
        if "\x00" in value:
            raise BadRequest(f"{self.column} contains a NUL character (\\u0000), which cannot "
                             "be stored: remove it")
        if not value.isascii() and _LONE_SURROGATE.search(value):
            raise BadRequest(f"{self.column} contains a lone UTF-16 surrogate (such as "
                             "\\ud800), which is not a character: send valid Unicode")
        return value


@event.listens_for(Column, "after_parent_attach")
def _checked_text(column: Column[Any], table: Any) -> None:
    original = column.type
    if (isinstance(table, Table) and table.metadata is metadata
            and isinstance(original, String) and type(original) in (String, Text)):
        column.type = StoredText(original, column.name)
