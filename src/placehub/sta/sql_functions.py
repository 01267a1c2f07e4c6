"""SQL functions that differ between SQLite and PostgreSQL, as SQLAlchemy constructs.

``$filter`` builds its SQL from these, so one expression tree compiles to the right dialect:
date parts in UTC, JSON extraction by type, string search and safe arithmetic.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    Integer,
    Numeric,
    String,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal_column,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Time, TypeDecorator

_SQLITE_DATE_PARTS = {
    "year": "%Y", "month": "%m", "day": "%d", "hour": "%H", "minute": "%M", "second": "%S",
}


class date_part(FunctionElement[int]):
    """An integer part (year ... second) of a UTC timestamp."""

    type = Integer()
    inherit_cache = False  # extra attributes are not part of the cache key
    name = "date_part"

    def __init__(self, field: str, value: Any) -> None:
        self.field = field
        super().__init__(value)


@compiles(date_part, "sqlite")
def _date_part_sqlite(element: date_part, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    expr = cast(func.strftime(_SQLITE_DATE_PARTS[element.field], value), Integer)
    return compiler.process(expr, **kw)


@compiles(date_part, "postgresql")
def _date_part_postgresql(element: date_part, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    utc = func.timezone("UTC", value)
    part = func.floor(func.extract(element.field, utc))
    return compiler.process(cast(part, Integer), **kw)


class fractional_seconds(FunctionElement[float]):
    """The fraction of the second of a timestamp (0 <= f < 1)."""

    type = Float()
    inherit_cache = True
    name = "fractional_seconds"


@compiles(fractional_seconds, "sqlite")
def _fraction_sqlite(element: fractional_seconds, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    expr = cast(func.strftime("%f", value), Float) - cast(func.strftime("%S", value), Integer)
    return compiler.process(expr, **kw)


@compiles(fractional_seconds, "postgresql")
def _fraction_postgresql(element: fractional_seconds, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    seconds = func.extract("second", func.timezone("UTC", value))
    return compiler.process(cast(seconds - func.floor(seconds), Float), **kw)


class utc_date(FunctionElement[Any]):
    """The UTC calendar date of a timestamp (compares with a Date literal)."""

    type = Date()
    inherit_cache = True
    name = "utc_date"


@compiles(utc_date, "sqlite")
def _utc_date_sqlite(element: utc_date, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    return compiler.process(func.date(value), **kw)


@compiles(utc_date, "postgresql")
def _utc_date_postgresql(element: utc_date, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    return compiler.process(cast(func.timezone("UTC", value), Date), **kw)


class TimeOfDay(TypeDecorator[time]):
    """A time of day: TIME on PostgreSQL, 'HH:MM:SS.SSS' text on SQLite (what strftime gives)."""

    impl = Time
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String())
        return dialect.type_descriptor(Time())

    def process_bind_param(self, value: time | None, dialect: Any) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return value.strftime("%H:%M:%S.%f")[:12]

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, str):
            return time.fromisoformat(value)
        return value


class utc_time(FunctionElement[Any]):
    """The UTC time of day of a timestamp."""

    type = TimeOfDay()
    inherit_cache = True
    name = "utc_time"


@compiles(utc_time, "sqlite")
def _utc_time_sqlite(element: utc_time, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    return compiler.process(func.strftime("%H:%M:%f", value), **kw)


@compiles(utc_time, "postgresql")
def _utc_time_postgresql(element: utc_time, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    return compiler.process(cast(func.timezone("UTC", value), Time), **kw)


def _sqlite_json_path(path: tuple[str | int, ...]) -> str:
    parts = ["$"]
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        else:
            parts.append('."' + step.replace('"', '""') + '"')
    return "".join(parts)


class json_value(FunctionElement[Any]):
    """The value at ``path`` inside a JSON column when it has JSON type ``want``, else NULL.

    ``want`` is number, string, boolean or text (any scalar, as text). Typed extraction keeps a
    comparison from failing on rows whose value has another type (a 500 on PostgreSQL).
    """

    inherit_cache = False  # extra attributes are not part of the cache key
    name = "json_value"

    def __init__(self, column: Any, path: tuple[str | int, ...], want: str) -> None:
        self.path = path
        self.want = want
        self.type = {"number": Float(), "string": Text(), "boolean": Boolean(),
                     "text": Text()}[want]  # type: ignore[assignment]
        super().__init__(column)


@compiles(json_value, "sqlite")
def _json_value_sqlite(element: json_value, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    path = bindparam(None, _sqlite_json_path(element.path), type_=String(), unique=True)
    kind = func.json_type(column, path)
    value = func.json_extract(column, path)
    if element.want == "number":
        expr: Any = case((kind.in_(["integer", "real"]), value))
    elif element.want == "string":
        expr = case((kind == "text", value))
    elif element.want == "boolean":
        expr = case((kind == "true", literal_column("1")), (kind == "false", literal_column("0")))
    else:
        expr = case((kind.in_(["integer", "real", "text", "true", "false"]),
                     cast(value, Text)))
    return compiler.process(expr, **kw)


@compiles(json_value, "postgresql")
def _json_value_postgresql(element: json_value, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    steps = [bindparam(None, str(step), type_=Text(), unique=True) for step in element.path]
    node = func.jsonb_extract_path(column, *steps)
    text_value = func.jsonb_extract_path_text(column, *steps)
    kind = func.jsonb_typeof(node)
    if element.want == "number":
        expr: Any = case((kind == "number", cast(text_value, Float)))
    elif element.want == "string":
        expr = case((kind == "string", text_value))
    elif element.want == "boolean":
        expr = case((kind == "boolean", cast(text_value, Boolean)))
    else:
        expr = case((kind.in_(["number", "string", "boolean"]), text_value))
    return compiler.process(expr, **kw)


class string_position(FunctionElement[int]):
    """1-based position of ``needle`` in ``haystack``, 0 when absent."""

    type = Integer()
    inherit_cache = True
    name = "string_position"


@compiles(string_position, "sqlite")
def _position_sqlite(element: string_position, compiler: Any, **kw: Any) -> str:
    haystack, needle = element.clauses
    return compiler.process(func.instr(haystack, needle), **kw)


@compiles(string_position, "postgresql")
def _position_postgresql(element: string_position, compiler: Any, **kw: Any) -> str:
    haystack, needle = element.clauses
    return compiler.process(func.strpos(haystack, needle), **kw)


class safe_modulo(FunctionElement[float]):
    """``a mod b`` for any numbers; NULL when ``b`` is 0 (never a division error)."""

    type = Float()
    inherit_cache = True
    name = "safe_modulo"


@compiles(safe_modulo, "sqlite")
def _modulo_sqlite(element: safe_modulo, compiler: Any, **kw: Any) -> str:
    a, b = element.clauses
    return compiler.process(func.mod(a, func.nullif(b, 0)), **kw)


@compiles(safe_modulo, "postgresql")
def _modulo_postgresql(element: safe_modulo, compiler: Any, **kw: Any) -> str:
    a, b = element.clauses
    expr = cast(func.mod(cast(a, Numeric), func.nullif(cast(b, Numeric), 0)), Float)
    return compiler.process(expr, **kw)


class round_half_up(FunctionElement[float]):
    """Round to the nearest whole number, halves away from zero on both databases."""

    type = Float()
    inherit_cache = True
    name = "round_half_up"


@compiles(round_half_up, "sqlite")
def _round_sqlite(element: round_half_up, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    return compiler.process(func.round(value), **kw)


@compiles(round_half_up, "postgresql")
def _round_postgresql(element: round_half_up, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    return compiler.process(cast(func.round(cast(value, Numeric)), Float), **kw)


class json_array_of(FunctionElement[Any]):
    """Aggregate JSON values into one JSON array (jsonb_agg / json_group_array)."""

    inherit_cache = False  # extra attributes are not part of the cache key
    name = "json_array_of"

    def __init__(self, value: Any, json_type: Any) -> None:
        self.type = json_type
        super().__init__(value)


@compiles(json_array_of, "sqlite")
def _json_array_sqlite(element: json_array_of, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    return compiler.process(func.json_group_array(func.json(value)), **kw)


@compiles(json_array_of, "postgresql")
def _json_array_postgresql(element: json_array_of, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    return compiler.process(func.jsonb_agg(value), **kw)


class whole_number(FunctionElement[float]):
    """floor or ceiling of a number (SQLAlchemy's SQLite floor() fails on NULL, so not that)."""

    type = Float()
    inherit_cache = False  # extra attributes are not part of the cache key
    name = "whole_number"

    def __init__(self, direction: str, value: Any) -> None:
        self.direction = direction
        super().__init__(value)


@compiles(whole_number, "sqlite")
def _whole_sqlite(element: whole_number, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    truncated = cast(value, Integer)
    if element.direction == "floor":
        expr = truncated - case((value < truncated, 1), else_=0)
    else:
        expr = truncated + case((value > truncated, 1), else_=0)
    return compiler.process(cast(expr, Float), **kw)


@compiles(whole_number, "postgresql")
def _whole_postgresql(element: whole_number, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    function = func.floor if element.direction == "floor" else func.ceil
    return compiler.process(function(value), **kw)


class unindexed(FunctionElement[Any]):
    """The column itself, but on SQLite written ``+column`` so the planner does not pick an index
    for this term (``datastream_id IN (all readable Datastreams)`` would otherwise win over
    walking the primary key for ``ORDER BY id LIMIT n`` and sort millions of rows)."""

    inherit_cache = True
    name = "unindexed"

    def __init__(self, column: Any) -> None:
        self.type = column.type
        super().__init__(column)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return "+" + compiler.process(column, **kw)


@compiles(unindexed)
def _unindexed_default(element: unindexed, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return compiler.process(column, **kw)
