"""``$filter`` of OGC SensorThings API v1.1: parse with a Lark grammar, compile to SQLAlchemy.

Every operator and function of OGC 18-088 is supported. Geometry predicates become a bounding-box
prefilter in SQL, served by the spatial index (``placehub.sta.spatial``), and an exact Shapely
test on the fetched rows (``FilterPlan.post_filter``); where the database has PostGIS, spatial
predicates against a literal run in SQL instead (``postgis=True``). Paths across relations become
EXISTS subqueries (any related entity matching, with the access rule applied where a relation
leaves what the reader may see). See docs/sta-query.md for the semantics chosen where the spec is
silent (time intervals, many-valued geometry paths).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import shapely
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    FromClause,
    Integer,
    Label,
    RowMapping,
    String,
    Text,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
)

from placehub.access.service import Principal
from placehub.db.metadata import JSONType, UTCDateTime
from placehub.errors import BadRequest
from placehub.sta import spatial
from placehub.sta import sql_functions as sqlf
from placehub.sta.model import Entity, Navigation, Property, visibility_clause
from placehub.sta.tables import RESULT_NULL

_GRAMMAR = (Path(__file__).with_name("filter.lark")).read_text()
_PARSER = Lark(_GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)

# Relations leaving these entity types only reach entities the reader may see whenever the
# source is visible (visibility flows from the Thing), so no access check is needed on them.
_VISIBILITY_IMPLIED_FROM = {"Thing", "Datastream", "Observation", "HistoricalLocation"}

MAX_LENGTH = 20_000  # characters
MAX_DEPTH = 100  # nested operators and functions; compiling recurses once per level
MIN_DATETIME = datetime(1, 1, 1, tzinfo=UTC)
MAX_DATETIME = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


@dataclass(frozen=True)
class FilterPlan:
    """A compiled ``$filter``.

    ``clause`` goes in WHERE. When the filter has geometry tests, ``clause`` is their bounding-box
    prefilter and ``post_filter(row)`` the exact test: the query must then also select
    ``columns`` (labelled; ``post_filter`` reads them from the row) and drop rows for which
    ``post_filter`` is false while paging.
    """

    clause: ColumnElement[bool]
    post_filter: Callable[[RowMapping], bool] | None = None
    columns: tuple[Label[Any], ...] = ()


def compile_filter(
    text: str, entity: Entity, table: FromClause, principal: Principal,
    index: spatial.SpatialIndex | None = None,
) -> FilterPlan:
    """Compile the ``$filter`` expression ``text`` for rows of ``entity`` in ``table``.

    ``index``: the spatial index of the connection the query will run on; geometry tests use
    it (and PostGIS, where the database has it). Without it they filter on the bounding-box
    columns, which is correct, only slower on large tables.
    """
    tree = parse_filter(text)
    compiler = _Compiler(entity, table, principal, text, index)
    try:
        operand = compiler.condition_of(tree)
    except RecursionError:
        raise BadRequest(f"$filter is nested too deeply (more than about {MAX_DEPTH} levels): "
                         "simplify it") from None
    if operand.py is None:
        return FilterPlan(clause=operand.sql)
    evaluate = operand.py
    return FilterPlan(
        clause=operand.prefilter if operand.prefilter is not None else true(),
        post_filter=lambda row: evaluate(row) is True,
        columns=tuple(compiler.columns),
    )


@lru_cache(maxsize=512)
def parse_filter(text: str) -> Tree[Token]:
    """The syntax tree of a ``$filter`` expression; BadRequest pointing at a syntax error."""
    if not text.strip():
        raise BadRequest("$filter is empty: give an expression such as result gt 20")
    if len(text) > MAX_LENGTH:
        raise BadRequest(f"$filter is {len(text):,} characters long; at most {MAX_LENGTH:,}")
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as error:
        raise BadRequest(_syntax_message(text, error)) from None
    except RecursionError:
        raise BadRequest("$filter is nested too deeply: simplify it") from None
    if _depth(tree) > MAX_DEPTH:
        raise BadRequest(f"$filter is nested more than {MAX_DEPTH} levels deep: simplify it")
    return tree


def _depth(tree: Tree[Token]) -> int:
    """Nesting depth of a syntax tree, without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, Tree):
            stack.extend((child, depth + 1) for child in node.children)
    return deepest


def _syntax_message(text: str, error: UnexpectedInput) -> str:
    position = (getattr(error, "pos_in_stream", None) or 0) + 1
    if isinstance(error, UnexpectedEOF):
        return (f"$filter {text!r} ends too early (position {len(text) + 1}): "
                "an operand or a closing parenthesis is missing")
    if isinstance(error, UnexpectedCharacters):
        return (f"$filter {text!r}: unexpected character {text[position - 1]!r} at position "
                f"{position}; strings take single quotes, e.g. name eq 'bin 12'")
    if isinstance(error, UnexpectedToken):
        token = error.token
        if token.type == "$END":
            return (f"$filter {text!r} ends too early (position {len(text) + 1}): "
                    "an operand or a closing parenthesis is missing")
        position = (token.start_pos or 0) + 1
        return f"$filter {text!r}: unexpected {str(token)!r} at position {position}"
    return f"$filter {text!r}: syntax error at position {position}"


_NO_VALUE = object()


@dataclass
class _GeoRef:
    """Geometries of the filtered row, or of related rows, as the post filter reads them."""

    label: str  # the column of the row holding the GeoJSON (or a JSON array of them)
    many: bool
    prefilter: Callable[[ColumnElement[bool]], ColumnElement[bool]]  # bbox condition -> SQL
    bbox: tuple[Any, Any, Any, Any]  # min_x, min_y, max_x, max_y expressions
    table: FromClause  # the (aliased) table holding the geometry
    # The filtered row's own geometry: labels of its GeoJSON type and of its box's lower
    # corner, so a Point is tested from its coordinates without reading its GeoJSON.
    point: tuple[str, str, str] | None = None


@dataclass
class _Operand:
    """A compiled subexpression: SQL, a literal, or a value computed from the fetched row."""

    kind: str  # number string boolean datetime date time interval geometry json result null
    #            duration id
    position: int
    sql: Any = None
    value: Any = _NO_VALUE  # the Python value of a literal
    start: Any = None  # interval: start and end SQL; end_nullable when NULL means an instant
    end: Any = None
    end_nullable: bool = False
    json_column: Any = None  # json / result: column and path
    json_path: tuple[str | int, ...] = ()
    result_table: Any = None
    geo: _GeoRef | None = None
    py: Callable[[RowMapping], Any] | None = None  # value from the fetched row (geometry work)
    prefilter: Any = None  # for a boolean py operand: SQL true for every row it can be true for
    near: Callable[[Any], Any] | None = None  # geo.distance: bbox prefilter for "below a limit"

    @property
    def is_literal(self) -> bool:
        return self.value is not _NO_VALUE


@dataclass
class _Frame:
    """The related tables one condition reaches through navigation paths (one EXISTS)."""

    aliases: dict[tuple[str, ...], FromClause] = field(default_factory=dict)
    froms: list[FromClause] = field(default_factory=list)
    conditions: list[ColumnElement[bool]] = field(default_factory=list)


_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b, "le": lambda a, b: a <= b,
}
_FLIPPED = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}
_STRING_FUNCTIONS = {"substringof", "endswith", "startswith", "contains", "length", "indexof",
                     "substring", "tolower", "toupper", "trim", "concat"}
_DATE_FUNCTIONS = {"year", "month", "day", "hour", "minute", "second", "fractionalseconds",
                   "date", "time", "totaloffsetminutes", "now", "mindatetime", "maxdatetime"}
_SPATIAL = {"st_equals", "st_disjoint", "st_touches", "st_within", "st_overlaps", "st_crosses",
            "st_intersects", "st_contains", "st_relate", "geo.intersects"}
# For a predicate with the geometry column second: the same test with the arguments swapped.
_CONVERSE = {"within": "contains", "contains": "within"}


class _Compiler:
    def __init__(self, entity: Entity, table: FromClause, principal: Principal, text: str,
                 index: spatial.SpatialIndex | None = None) -> None:
        self.entity = entity
        self.table = table
        self.principal = principal
        self.text = text
        self.index = index
        self.frames: list[_Frame] = []
        self.columns: list[Label[Any]] = []
        self.now = datetime.now(UTC)

    # --- errors and helpers -----------------------------------------------------------------

    def fail(self, message: str, position: int) -> BadRequest:
        return BadRequest(f"$filter {self.text!r}, position {position}: {message}")

    @staticmethod
    def position_of(node: Tree[Token] | Token) -> int:
        if isinstance(node, Token):
            return (node.start_pos or 0) + 1
        meta = node.meta
        return (getattr(meta, "start_pos", 0) or 0) + 1

    def column_for(self, expr: Any) -> str:
        """Select ``expr`` beside the row, for the post filter; returns its label."""
        name = f"_filter_{len(self.columns)}"
        self.columns.append(expr.label(name))
        return name

    # --- dispatch ---------------------------------------------------------------------------

    def compile(self, node: Tree[Token] | Token) -> _Operand:
        if isinstance(node, Token):  # a bare literal token cannot reach here: rules wrap them
            raise self.fail(f"unexpected {str(node)!r}", self.position_of(node))
        handler = getattr(self, "on_" + str(node.data))
        return handler(node)

    def leaf(self, build: Callable[[], _Operand], position: int) -> _Operand:
        """Compile one condition; navigation paths inside it become one EXISTS subquery."""
        frame = _Frame()
        self.frames.append(frame)
        try:
            operand = build()
        finally:
            self.frames.pop()
        if not frame.froms:
            return operand
        if operand.py is not None:
            raise self.fail("a geometry function cannot be combined with a path across "
                            "relations in one comparison; compare each separately", position)
        if operand.kind != "boolean":
            raise self.fail("a path across relations can only be used inside a comparison",
                            position)
        subquery = select(literal(1)).select_from(*frame.froms).where(
            *frame.conditions, operand.sql)
        return _Operand("boolean", position, sql=exists(subquery))

    # --- literals ---------------------------------------------------------------------------

    def on_string(self, node: Tree[Token]) -> _Operand:
        raw = str(node.children[0])
        value = raw[1:-1].replace("''", "'")
        return _Operand("string", self.position_of(node), sql=literal(value, String()),
                        value=value)

    def on_number(self, node: Tree[Token]) -> _Operand:
        raw = str(node.children[0])
        position = self.position_of(node)
        if len(raw) > 400:  # past any float; int() also refuses more than 4,300 digits
            raise self.fail("number out of range", position)
        return self.number(float(raw) if any(c in raw for c in ".eE") else int(raw), position)

    def number(self, value: float | int, position: int) -> _Operand:
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            try:
                value = float(value)
            except OverflowError:
                raise self.fail("number out of range", position) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail("number out of range", position)
        sql_type = Integer() if isinstance(value, int) else Float()
        return _Operand("number", position, sql=literal(value, sql_type), value=value)

    def on_true(self, node: Tree[Token]) -> _Operand:
        return _Operand("boolean", self.position_of(node), sql=true(), value=True)

    def on_false(self, node: Tree[Token]) -> _Operand:
        return _Operand("boolean", self.position_of(node), sql=false(), value=False)

    def on_null(self, node: Tree[Token]) -> _Operand:
        return _Operand("null", self.position_of(node), sql=null(), value=None)

    def datetime_value(self, raw: str, position: int) -> datetime:
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise self.fail(f"{raw!r} is not a valid date and time", position) from None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise self.fail(f"{raw} is outside the years 1-9999 in UTC", position) from None

    def datetime_literal(self, value: datetime, position: int) -> _Operand:
        return _Operand("datetime", position, sql=literal(value, UTCDateTime()), value=value)

    def on_datetime(self, node: Tree[Token]) -> _Operand:
        position = self.position_of(node)
        return self.datetime_literal(self.datetime_value(str(node.children[0]), position),
                                     position)

    def on_interval(self, node: Tree[Token]) -> _Operand:
        position = self.position_of(node)
        start_raw, end_raw = str(node.children[0]).split("/")
        start = self.datetime_value(start_raw, position)
        end = self.datetime_value(end_raw, position)
        if end < start:
            raise self.fail(f"interval {node.children[0]} ends before it starts", position)
        return _Operand("interval", position, start=literal(start, UTCDateTime()),
                        end=literal(end, UTCDateTime()), value=(start, end))

    def on_date(self, node: Tree[Token]) -> _Operand:
        position = self.position_of(node)
        try:
            value = date.fromisoformat(str(node.children[0]))
        except ValueError:
            raise self.fail(f"{node.children[0]} is not a valid date", position) from None
        return _Operand("date", position, sql=literal(value, Date()), value=value)

    def on_time_of_day(self, node: Tree[Token]) -> _Operand:
        position = self.position_of(node)
        try:
            value = time.fromisoformat(str(node.children[0]))
        except ValueError:
            raise self.fail(f"{node.children[0]} is not a valid time of day", position) from None
        return _Operand("time", position, sql=literal(value, sqlf.TimeOfDay()), value=value)

    def on_duration(self, node: Tree[Token]) -> _Operand:
        position = self.position_of(node)
        raw = str(node.children[0])
        text = raw[raw.index("'") + 1:-1]
        match = re.fullmatch(
            r"(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", text)
        if not match or text in {"P", "-P"} or text.endswith("T"):
            raise self.fail(f"{raw} is not an ISO 8601 duration such as duration'P1DT2H'",
                            position)
        sign, days, hours, minutes, seconds = match.groups()
        try:
            value = timedelta(days=int(days or 0), hours=int(hours or 0),
                              minutes=int(minutes or 0), seconds=float(seconds or 0))
        except OverflowError:
            raise self.fail(f"{raw} is too long", position) from None
        return _Operand("duration", position, value=-value if sign else value)

    def on_geography(self, node: Tree[Token]) -> _Operand:
        position = self.position_of(node)
        raw = str(node.children[0])
        wkt = raw[raw.index("'") + 1:-1].strip()
        wkt = re.sub(r"^SRID=\d+;", "", wkt, flags=re.IGNORECASE)
        try:
            geometry = shapely.from_wkt(wkt)
        except Exception:  # noqa: BLE001 - any WKT error is the user's to fix
            raise self.fail(f"{raw} is not valid WKT, e.g. geography'POINT(-0.72 52.66)'",
                            position) from None
        if geometry is None or geometry.is_empty:
            raise self.fail(f"{raw} is an empty geometry", position)
        return _Operand("geometry", position, value=geometry)

    # --- paths ------------------------------------------------------------------------------

    def on_path(self, node: Tree[Token]) -> _Operand:
        position = self.position_of(node)
        segments = [str(token) for token in node.children]
        entity, table = self.entity, self.table
        walked: list[str] = []
        frame = self.frames[-1] if self.frames else None
        joined_before = len(frame.froms) if frame else 0
        index = 0
        while index < len(segments) and segments[index] in entity.navigations:
            navigation = entity.navigations[segments[index]]
            # Datastream/id: the foreign key already holds it; no join needed.
            if (navigation.via == "source_fk" and index + 2 == len(segments)
                    and segments[index + 1] in {"id", "@iot.id"}):
                assert navigation.source_column
                return _Operand("id", position, sql=table.c[navigation.source_column])
            if frame is None:
                raise self.fail(f"{'/'.join(segments)} cannot be used here", position)
            walked.append(navigation.name)
            key = tuple(walked)
            if key not in frame.aliases:
                target = navigation.target_entity
                alias = target.table.alias(f"f{len(frame.froms)}_{target.table.name}")
                frame.aliases[key] = alias
                frame.froms.append(alias)
                frame.conditions.extend(self.join(navigation, table, alias, frame))
                if (entity.name not in _VISIBILITY_IMPLIED_FROM
                        and not self.principal.write_anywhere):
                    frame.conditions.append(visibility_clause(target, alias, self.principal))
            entity, table = navigation.target_entity, frame.aliases[key]
            index += 1
        if index == len(segments):
            raise self.fail(f"{'/'.join(segments)} names an entity; compare one of its "
                            f"properties, e.g. {'/'.join(segments)}/id", position)
        name = "id" if segments[index] == "@iot.id" else segments[index]
        prop = entity.properties.get(name)
        if prop is None:
            known = ", ".join(sorted([*entity.properties, *entity.navigations]))
            raise self.fail(f"{entity.name} has no property {name!r} (it has: {known})",
                            position)
        if prop.kind == "geometry" and table is not self.table and joined_before:
            raise self.fail("a geometry reached through relations must be tested on its own",
                            position)
        return self.property_operand(prop, table, segments[index + 1:], position)

    def property_operand(self, prop: Property, table: FromClause, rest: list[str],
                         position: int) -> _Operand:
        if rest and prop.kind not in {"json", "result"}:
            raise self.fail(f"{prop.name} has no sub-properties", position)
        if prop.kind == "id":
            return _Operand("id", position, sql=table.c[prop.column])
        if prop.kind == "string":
            return _Operand("string", position, sql=table.c[prop.column])
        if prop.kind == "time":
            return _Operand("datetime", position, sql=table.c[prop.column])
        if prop.kind in {"time_interval", "time_or_interval"}:
            return _Operand("interval", position, start=table.c[prop.columns[0]],
                            end=table.c[prop.columns[1]],
                            end_nullable=prop.kind == "time_or_interval")
        path = tuple(self.json_step(step, position) for step in rest)
        if prop.kind == "json" and not path:
            raise self.fail(f"{prop.name} is a JSON object and cannot be compared whole: "
                            f"compare one of its members, e.g. {prop.name}/name", position)
        if prop.kind == "json":
            return _Operand("json", position, json_column=table.c[prop.column], json_path=path)
        if prop.kind == "result":
            if path:
                return _Operand("json", position, json_column=table.c["result_json"],
                                json_path=path)
            return _Operand("result", position, result_table=table)
        if prop.kind == "geometry":
            return self.geometry_operand(prop, table, position)
        raise self.fail(f"{prop.name} cannot be used in $filter", position)

    def json_step(self, step: str, position: int) -> str | int:
        if step.isdigit():
            return int(step)
        match = re.fullmatch(r"([^\[]+)((\[\d+\])*)", step)
        if match and match.group(2):
            steps = "/".join([match.group(1), *re.findall(r"\d+", match.group(2))])
            raise self.fail(f"write array positions as path steps: {steps}", position)
        return step

    def geometry_operand(self, prop: Property, table: FromClause, position: int) -> _Operand:
        column = table.c[prop.column]
        bbox = tuple(table.c[name] for name in prop.columns[1:5])
        if table is self.table:
            # As text: Shapely's GeoJSON reader is twice as fast as json.loads plus shape().
            label = self.column_for(cast(column, Text))
            point = (self.column_for(spatial.geojson_type(column)),
                     self.column_for(bbox[0]), self.column_for(bbox[1]))
            return _Operand("geometry", position, geo=_GeoRef(
                label, False, lambda condition: condition, bbox, table,  # type: ignore[arg-type]
                point))
        # A geometry reached through relations: the frame's joins become a subquery of its own.
        frame = self.frames[-1]
        many = any(self.navigation_of(path).many for path in frame.aliases)
        froms, conditions = list(frame.froms), list(frame.conditions)
        frame.aliases.clear()
        frame.froms.clear()
        frame.conditions.clear()
        if many:
            fetched = select(sqlf.json_array_of(column, JSONType)).select_from(*froms).where(
                *conditions).scalar_subquery()
        else:
            fetched = select(column).select_from(*froms).where(*conditions).limit(
                1).scalar_subquery()
        label = self.column_for(fetched)

        def prefilter(condition: ColumnElement[bool]) -> ColumnElement[bool]:
            return exists(select(literal(1)).select_from(*froms).where(*conditions, condition))

        return _Operand("geometry", position, geo=_GeoRef(label, many, prefilter, bbox, table))  # type: ignore[arg-type]

    @staticmethod
    def join(navigation: Navigation, source: FromClause, target: FromClause,
             frame: _Frame) -> list[ColumnElement[bool]]:
        """Conditions relating ``target`` to ``source``; a link table joins the frame's FROM.

        (The model's own condition puts link tables in a nested EXISTS, which would not
        correlate with the filtered table from inside this frame's subquery.)
        """
        if navigation.via != "link":
            return [navigation.join_condition(source, target)]
        assert navigation.link_table is not None
        assert navigation.link_source and navigation.link_target
        link = navigation.link_table.alias(f"f{len(frame.froms)}_link")
        frame.froms.append(link)
        return [link.c[navigation.link_source] == source.c.id,
                link.c[navigation.link_target] == target.c.id]

    def navigation_of(self, path: tuple[str, ...]) -> Navigation:
        entity = self.entity
        navigation = entity.navigations[path[0]]
        for name in path[1:]:
            navigation = navigation.target_entity.navigations[name]
        return navigation

    # --- typed views of an operand ----------------------------------------------------------

    def _read_as(self, operand: _Operand, kind: str, *, nullable: bool = True) -> _Operand | None:
        """A JSON member, an Observation result or (if ``nullable``) null read as ``kind``."""
        if operand.kind == "json":
            return _Operand(kind, operand.position, sql=sqlf.json_value(
                operand.json_column, operand.json_path, kind))
        if operand.kind == "result":
            return _Operand(kind, operand.position,
                            sql=operand.result_table.c[f"result_{kind}"])
        if operand.kind == "null" and nullable:
            return _Operand(kind, operand.position, sql=null(), value=None)
        return None

    def as_number(self, operand: _Operand) -> _Operand:
        if operand.kind in {"number", "id"}:
            return replace(operand, kind="number")
        if (typed := self._read_as(operand, "number")) is not None:
            return typed
        raise self.fail(f"expected a number, found {self.describe(operand)}", operand.position)

    def as_string(self, operand: _Operand) -> _Operand:
        if operand.kind == "string":
            return operand
        if (typed := self._read_as(operand, "string")) is not None:
            return typed
        raise self.fail(f"expected a string, found {self.describe(operand)}", operand.position)

    def as_boolean(self, operand: _Operand) -> _Operand:
        if operand.kind == "boolean":
            return operand
        if (typed := self._read_as(operand, "boolean", nullable=False)) is not None:
            return typed
        raise self.fail(f"expected true or false, found {self.describe(operand)}",
                        operand.position)

    def as_datetime(self, operand: _Operand) -> _Operand:
        if operand.kind == "datetime":
            return operand
        if operand.kind == "interval" and not operand.is_literal:
            return _Operand("datetime", operand.position, sql=operand.start)
        if operand.kind == "string" and operand.is_literal:
            return self.datetime_literal(self.datetime_value(operand.value, operand.position),
                                         operand.position)
        raise self.fail(f"expected a date and time, found {self.describe(operand)}",
                        operand.position)

    def condition(self, operand: _Operand, node: Tree[Token] | Token) -> _Operand:
        """``operand`` used as a whole condition (a bare boolean property is allowed)."""
        if operand.kind == "boolean":
            return operand
        if operand.kind in {"json", "result"}:
            boolean = self.as_boolean(operand)
            return replace(boolean, sql=boolean.sql == true())
        raise self.fail(f"expected a condition, found {self.describe(operand)}",
                        self.position_of(node))

    def condition_of(self, node: Tree[Token] | Token) -> _Operand:
        """Compile ``node`` as a condition of its own (its paths get their own EXISTS)."""
        return self.leaf(lambda: self.condition(self.compile(node), node),
                         self.position_of(node))

    @staticmethod
    def describe(operand: _Operand) -> str:
        if operand.is_literal:
            shown = operand.value.wkt if isinstance(operand.value, BaseGeometry) else repr(
                operand.value)
            return f"the {operand.kind} {shown}"
        return {"json": "a JSON value", "result": "a result", "interval": "a time interval",
                "id": "an id"}.get(operand.kind, f"a {operand.kind}")

    # --- logic ------------------------------------------------------------------------------

    def on_logical(self, node: Tree[Token]) -> _Operand:
        left_node, operator, right_node = node.children
        left, right = self.condition_of(left_node), self.condition_of(right_node)
        combine = and_ if str(operator) == "and" else or_
        position = self.position_of(node)
        if left.py is None and right.py is None:
            return _Operand("boolean", position, sql=combine(left.sql, right.sql))
        get_left, get_right = self.python_value(left), self.python_value(right)
        prefilter = combine(self.prefilter_of(left), self.prefilter_of(right))
        if str(operator) == "and":
            def evaluate(row: RowMapping) -> bool | None:
                a, b = get_left(row), get_right(row)
                if a is False or b is False:
                    return False
                return None if a is None or b is None else True
        else:
            def evaluate(row: RowMapping) -> bool | None:
                a, b = get_left(row), get_right(row)
                if a is True or b is True:
                    return True
                return None if a is None or b is None else False
        return _Operand("boolean", position, py=evaluate, prefilter=prefilter)

    def on_negation(self, node: Tree[Token]) -> _Operand:
        inner_node = node.children[1]
        inner = self.condition_of(inner_node)
        position = self.position_of(node)
        if inner.py is None:
            return _Operand("boolean", position, sql=not_(inner.sql))
        get = inner.py

        def evaluate(row: RowMapping) -> bool | None:
            value = get(row)
            return None if value is None else not value

        # The prefilter of the inner test says nothing about its negation.
        return _Operand("boolean", position, py=evaluate, prefilter=true())

    @staticmethod
    def prefilter_of(operand: _Operand) -> Any:
        return operand.sql if operand.py is None else operand.prefilter

    def python_value(self, operand: _Operand) -> Callable[[RowMapping], Any]:
        """A function giving the operand's value from a fetched row (post filters)."""
        if operand.py is not None:
            return operand.py
        if operand.is_literal:
            value = operand.value
            return lambda row: value
        if operand.kind == "boolean":
            label = self.column_for(case((operand.sql, 1), (not_(operand.sql), 0)))
            return lambda row: None if row[label] is None else bool(row[label])
        label = self.column_for(operand.sql)
        return lambda row: row[label]

    # --- comparisons ------------------------------------------------------------------------

    def on_compare(self, node: Tree[Token]) -> _Operand:
        return self.leaf(lambda: self.comparison(node), self.position_of(node))

    def comparison(self, node: Tree[Token]) -> _Operand:
        left_node, operator_token, right_node = node.children
        operator = str(operator_token)
        left, right = self.compile(left_node), self.compile(right_node)
        position = self.position_of(node)
        if left.py is not None or right.py is not None:
            return self.python_comparison(operator, left, right, position)
        if left.kind == "null" and right.kind != "null":
            left, right, operator = right, left, _FLIPPED[operator]
        if right.kind == "null":
            return self.null_comparison(operator, left, position)
        if "interval" in {left.kind, right.kind}:
            return self.time_comparison(operator, left, right, position)
        left, right = self.unify(left, right, position)
        if operator not in {"eq", "ne"} and "boolean" in {left.kind, right.kind}:
            raise self.fail(f"true and false can only be compared with eq or ne, not {operator}",
                            position)
        return _Operand("boolean", position, sql=_COMPARISONS[operator](left.sql, right.sql))

    def null_comparison(self, operator: str, operand: _Operand, position: int) -> _Operand:
        if operator not in {"eq", "ne"}:
            raise self.fail("null can only be compared with eq or ne", position)
        if operand.kind == "result":
            sql = operand.result_table.c.result_type == RESULT_NULL
        elif operand.kind == "json":
            sql = sqlf.json_value(operand.json_column, operand.json_path, "text").is_(None)
        elif operand.kind == "interval":
            sql = operand.start.is_(None)
        elif operand.kind == "geometry":
            raise self.fail("geometries cannot be compared with null", position)
        else:
            sql = operand.sql.is_(None)
        return _Operand("boolean", position, sql=sql if operator == "eq" else not_(sql))

    def unify(self, left: _Operand, right: _Operand, position: int) -> tuple[_Operand, _Operand]:
        """Both operands as SQL of one comparable type, or a BadRequest saying why not."""
        kinds = {left.kind, right.kind}
        if "geometry" in kinds or "duration" in kinds:
            raise self.fail("geometries and durations cannot be compared; use st_equals or "
                            "geo.distance for geometries", position)
        if kinds <= {"json", "result"}:
            return self.as_number(left), self.as_number(right)
        for first, second in ((left, right), (right, left)):
            if first.kind in {"json", "result"}:
                target = second.kind
                if target == "id":
                    target = "number"
                if target == "datetime" and first.kind == "json":
                    # JSON holds times as ISO 8601 text.
                    text = second.value.isoformat() if second.is_literal else None
                    if text is None:
                        raise self.fail("a JSON value can only be compared with a literal "
                                        "date and time", position)
                    converted = self.as_string(first)
                    other = _Operand("string", second.position, sql=literal(text, String()),
                                     value=text)
                    return (converted, other) if first is left else (other, converted)
                converter = {"number": self.as_number, "string": self.as_string,
                             "boolean": self.as_boolean}.get(target)
                if converter is None:
                    raise self.fail(f"cannot compare {self.describe(first)} with "
                                    f"{self.describe(second)}", position)
                converted = converter(first)
                return (converted, second) if first is left else (second, converted)
        if "id" in kinds:
            return self.id_operands(left, right, position)
        if kinds == {"datetime", "string"}:
            return self.as_datetime(left), self.as_datetime(right)
        if kinds in ({"number"}, {"string"}, {"boolean"}, {"datetime"}, {"date"}, {"time"}):
            return left, right
        raise self.fail(f"cannot compare {self.describe(left)} with {self.describe(right)}",
                        position)

    def id_operands(self, left: _Operand, right: _Operand,
                    position: int) -> tuple[_Operand, _Operand]:
        converted = []
        for operand in (left, right):
            if operand.kind in {"id", "number"}:
                converted.append(replace(operand, kind="number"))
            elif operand.kind == "string" and operand.is_literal:
                # Ids are whole numbers; the spec's own examples quote them ('1').
                text = operand.value.strip()
                if re.fullmatch(r"-?\d{1,18}", text):
                    converted.append(self.number(int(text), operand.position))
                else:
                    converted.append(replace(operand, kind="number",
                                             sql=literal(None, Integer())))
            else:
                raise self.fail(f"cannot compare an id with {self.describe(operand)}", position)
        return converted[0], converted[1]

    def time_comparison(self, operator: str, left: _Operand, right: _Operand,
                        position: int) -> _Operand:
        """Compare times where at least one side is an interval (see docs/sta-query.md)."""
        def bounds(operand: _Operand) -> tuple[Any, Any, Any]:
            if operand.kind == "interval":
                if operand.end_nullable:
                    return (operand.start, func.coalesce(operand.end, operand.start),
                            operand.end.is_(None))
                return operand.start, operand.end, False
            if operand.kind in {"datetime", "string"}:
                instant = self.as_datetime(operand).sql
                return instant, instant, True
            raise self.fail(f"cannot compare a time interval with {self.describe(operand)}",
                            position)

        s1, e1, instant1 = bounds(left)
        s2, e2, instant2 = bounds(right)
        equal = and_(s1 == s2, e1 == e2)
        # Intervals are half-open [start, end): an instant at an interval's start is inside it.
        before = _any(_all(instant1, s1 < s2), _all(_negate(instant1), e1 <= s2))
        after = _any(_all(instant2, s1 > s2), _all(_negate(instant2), s1 >= e2))
        at_or_before = _any(_all(instant1, s1 <= s2), _all(_negate(instant1), e1 <= s2))
        # Redundant bounds on the start column alone let the database use its time index.
        sql = {
            "eq": equal,
            "ne": not_(equal),
            "lt": and_(s1 <= s2, _sql(before)),
            "le": and_(s1 <= e2, _sql(_any(before, equal, _all(instant2, at_or_before)))),
            "gt": and_(s1 >= s2, _sql(after)),
            "ge": and_(s1 >= s2, _sql(_any(after, equal, _all(instant2, s1 >= s2)))),
        }[operator]
        return _Operand("boolean", position, sql=sql)

    def python_comparison(self, operator: str, left: _Operand, right: _Operand,
                          position: int) -> _Operand:
        """A comparison involving a geometry measure: exact in Python, prefiltered in SQL."""
        if left.py is None:
            left, right, operator = right, left, _FLIPPED[operator]
        if left.kind == "boolean":
            if right.py is None and right.kind != "boolean":
                raise self.fail(f"cannot compare a condition with {self.describe(right)}",
                                position)
        elif right.py is None and right.kind not in {"number", "null"}:
            right = self.as_number(right)
        get_left, get_right = self.python_value(left), self.python_value(right)
        compare = _COMPARISONS[operator]

        def evaluate(row: RowMapping) -> bool | None:
            a, b = get_left(row), get_right(row)
            if a is None or b is None:
                return None
            a_values = a if isinstance(a, list) else [a]
            b_values = b if isinstance(b, list) else [b]
            # Many related geometries: true when any one of them matches (EXISTS semantics).
            return any(compare(x, y) for x in a_values for y in b_values
                       if x is not None and y is not None)

        prefilter: Any = true()
        if left.kind == "boolean" and right.is_literal and (
                (operator == "eq" and right.value is True)
                or (operator == "ne" and right.value is False)):
            prefilter = left.prefilter
        near = left.near
        if near is not None and operator in {"lt", "le", "eq"} and right.is_literal:
            prefilter = near(right.value)
        return _Operand("boolean", position, py=evaluate, prefilter=prefilter)

    # --- arithmetic -------------------------------------------------------------------------

    def on_arithmetic(self, node: Tree[Token]) -> _Operand:
        left_node, operator_token, right_node = node.children
        operator = str(operator_token)
        left, right = self.compile(left_node), self.compile(right_node)
        position = self.position_of(node)
        if {left.kind, right.kind} & {"duration", "datetime"} and operator in {"add", "sub"}:
            return self.time_arithmetic(operator, left, right, position)
        left, right = self.as_number(left), self.as_number(right)
        if left.py is not None or right.py is not None:
            raise self.fail("geo.distance and geo.length can only be compared, not computed "
                            "with", position)
        if left.is_literal and right.is_literal:
            return self.fold(operator, left.value, right.value, position)
        a, b = left.sql, right.sql
        if operator == "add":
            sql = a + b
        elif operator == "sub":
            sql = a - b
        elif operator == "mul":
            sql = a * b
        elif operator == "div":
            sql = cast(a, Float).op("/", return_type=Float())(func.nullif(cast(b, Float), 0))
        else:
            sql = sqlf.safe_modulo(a, b)
        return _Operand("number", position, sql=sql)

    def fold(self, operator: str, a: Any, b: Any, position: int) -> _Operand:
        if a is None or b is None:
            return _Operand("number", position, sql=null(), value=None)
        try:
            if operator == "add":
                value = a + b
            elif operator == "sub":
                value = a - b
            elif operator == "mul":
                value = a * b
            elif operator == "div":
                value = a / b if b else None
            else:
                value = math.fmod(a, b) if b else None
        except OverflowError:
            raise self.fail("number out of range", position) from None
        if value is None:
            return _Operand("number", position, sql=null(), value=None)
        return self.number(value, position)

    def time_arithmetic(self, operator: str, left: _Operand, right: _Operand,
                        position: int) -> _Operand:
        if left.is_literal and right.is_literal and left.kind == "datetime" \
                and right.kind == "duration":
            try:
                value = left.value + right.value if operator == "add" else left.value - right.value
            except OverflowError:
                raise self.fail("date out of range", position) from None
            return self.datetime_literal(value, position)
        if left.kind == "duration" and right.kind == "duration":
            value = left.value + right.value if operator == "add" else left.value - right.value
            return _Operand("duration", position, value=value)
        raise self.fail("time arithmetic is supported on literals only, e.g. "
                        "now() sub duration'P1D'", position)

    def on_minus(self, node: Tree[Token]) -> _Operand:
        inner = self.compile(node.children[0])
        position = self.position_of(node)
        if inner.kind == "duration":
            return replace(inner, value=-inner.value)
        inner = self.as_number(inner)
        if inner.py is not None:
            raise self.fail("a geometry measure cannot be negated", position)
        if inner.is_literal:
            return self.number(-inner.value, position) if inner.value is not None else inner
        return _Operand("number", position, sql=-inner.sql)

    # --- functions --------------------------------------------------------------------------

    def on_function(self, node: Tree[Token]) -> _Operand:
        name_token, *argument_nodes = node.children
        name = str(name_token).lower()
        position = self.position_of(node)
        if name in _SPATIAL or name in {"substringof", "endswith", "startswith", "contains"}:
            return self.leaf(lambda: self.function(name, argument_nodes, position), position)
        return self.function(name, argument_nodes, position)

    def arguments(self, name: str, nodes: Sequence[Any], count: int | tuple[int, ...],
                  position: int) -> list[_Operand]:
        allowed = (count,) if isinstance(count, int) else count
        if len(nodes) not in allowed:
            wanted = " or ".join(str(n) for n in allowed)
            raise self.fail(f"{name}() takes {wanted} argument(s), {len(nodes)} given", position)
        return [self.compile(node) for node in nodes]

    def function(self, name: str, nodes: Sequence[Any], position: int) -> _Operand:
        if name in _STRING_FUNCTIONS:
            return self.string_function(name, nodes, position)
        if name in _DATE_FUNCTIONS:
            return self.date_function(name, nodes, position)
        if name in {"round", "floor", "ceiling"}:
            (value,) = self.arguments(name, nodes, 1, position)
            value = self.as_number(value)
            if value.is_literal:
                if value.value is None:
                    return value
                rounded = {"round": lambda v: math.floor(abs(v) + 0.5) * (1 if v >= 0 else -1),
                           "floor": math.floor, "ceiling": math.ceil}[name](value.value)
                return self.number(float(rounded), position)
            sql: Any
            if name == "round":
                sql = sqlf.round_half_up(value.sql)
            else:
                sql = sqlf.whole_number(name, value.sql)
            return _Operand("number", position, sql=sql)
        if name in _SPATIAL:
            return self.spatial_predicate(name, nodes, position)
        if name == "geo.distance":
            return self.geo_distance(nodes, position)
        if name == "geo.length":
            return self.geo_length(nodes, position)
        raise self.fail(f"unknown function {name}()", position)

    def string_function(self, name: str, nodes: Sequence[Any], position: int) -> _Operand:
        if name in {"substringof", "endswith", "startswith", "contains", "indexof", "concat"}:
            first, second = self.arguments(name, nodes, 2, position)
            if name == "concat":
                parts = [self.as_string(arg) if arg.kind != "number" else
                         replace(arg, kind="string", sql=cast(arg.sql, String()))
                         for arg in (first, second)]
                return _Operand("string", position, sql=parts[0].sql.op("||")(parts[1].sql))
            a, b = self.as_string(first).sql, self.as_string(second).sql
            if name == "substringof":
                return _Operand("boolean", position, sql=sqlf.string_position(b, a) > 0)
            if name == "contains":
                return _Operand("boolean", position, sql=sqlf.string_position(a, b) > 0)
            if name == "startswith":
                return _Operand("boolean", position, sql=sqlf.string_position(a, b) == 1)
            if name == "endswith":
                sql = and_(func.length(a) >= func.length(b),
                           func.substr(a, func.length(a) - func.length(b) + 1) == b)
                return _Operand("boolean", position, sql=sql)
            # indexof is zero-based, as in OData; -1 when absent.
            return _Operand("number", position, sql=sqlf.string_position(a, b) - 1)
        if name == "substring":
            args = self.arguments(name, nodes, (2, 3), position)
            text = self.as_string(args[0]).sql
            start = self.as_integer(args[1])
            if len(args) == 2:
                return _Operand("string", position, sql=func.substr(text, start + 1))
            length = self.as_integer(args[2])
            length = case((length < 0, 0), else_=length)
            return _Operand("string", position, sql=func.substr(text, start + 1, length))
        (value,) = self.arguments(name, nodes, 1, position)
        text = self.as_string(value).sql
        if name == "length":
            return _Operand("number", position, sql=func.length(text))
        sql = {"tolower": func.lower, "toupper": func.upper, "trim": func.trim}[name](text)
        return _Operand("string", position, sql=sql)

    def as_integer(self, operand: _Operand) -> Any:
        number = self.as_number(operand)
        if number.is_literal:
            if number.value is None:
                return null()
            value = int(number.value)
            if not -(2**31) < value < 2**31:
                raise self.fail("position out of range", number.position)
            return literal(max(value, -1), Integer())
        return cast(number.sql, Integer)

    def date_function(self, name: str, nodes: Sequence[Any], position: int) -> _Operand:
        if name in {"now", "mindatetime", "maxdatetime"}:
            self.arguments(name, nodes, 0, position)
            constant = {"now": self.now, "mindatetime": MIN_DATETIME,
                        "maxdatetime": MAX_DATETIME}[name]
            return self.datetime_literal(constant, position)
        (argument,) = self.arguments(name, nodes, 1, position)
        moment = self.as_datetime(argument)
        if name == "totaloffsetminutes":
            # Every time is stored in UTC.
            return self.number(0, position)
        if moment.is_literal:
            value: datetime = moment.value
            if name == "date":
                return _Operand("date", position, sql=literal(value.date(), Date()),
                                value=value.date())
            if name == "time":
                return _Operand("time", position, sql=literal(value.timetz().replace(
                    tzinfo=None), sqlf.TimeOfDay()), value=value.time())
            if name == "fractionalseconds":
                return self.number(value.microsecond / 1e6, position)
            return self.number(getattr(value, name), position)
        if name == "date":
            return _Operand("date", position, sql=sqlf.utc_date(moment.sql))
        if name == "time":
            return _Operand("time", position, sql=sqlf.utc_time(moment.sql))
        if name == "fractionalseconds":
            return _Operand("number", position, sql=sqlf.fractional_seconds(moment.sql))
        return _Operand("number", position, sql=sqlf.date_part(name, moment.sql))

    # --- geometry ---------------------------------------------------------------------------

    def geometries(self, operand: _Operand, position: int) -> Callable[[RowMapping], list[Any]]:
        """A function giving the operand's Shapely geometries for a fetched row."""
        if operand.kind != "geometry":
            raise self.fail(f"expected a geometry (a location or geography'...'), found "
                            f"{self.describe(operand)}", position)
        if operand.is_literal:
            value = operand.value
            return lambda row: [value]
        assert operand.geo is not None
        label, many, point = operand.geo.label, operand.geo.many, operand.geo.point
        if point is not None:
            kind, x, y = point

            def fetch_own(row: RowMapping) -> list[Any]:
                if row[kind] == "Point" and row[x] is not None and row[y] is not None:
                    return [shapely.Point(row[x], row[y])]
                shape = _shape(row[label])
                return [] if shape is None else [shape]

            return fetch_own

        def fetch(row: RowMapping) -> list[Any]:
            stored = row[label]
            items = stored if many and isinstance(stored, list) else [stored]
            return [g for g in (_shape(item) for item in items) if g is not None]

        return fetch

    def spatial_predicate(self, name: str, nodes: Sequence[Any], position: int) -> _Operand:
        predicate = name.removeprefix("st_").removeprefix("geo.")
        if predicate == "relate":
            first, second, pattern_operand = self.arguments(name, nodes, 3, position)
            if pattern_operand.kind != "string" or not pattern_operand.is_literal or not \
                    re.fullmatch(r"[TF*012]{9}", pattern_operand.value):
                raise self.fail("st_relate needs a DE-9IM pattern such as 'T*F**F***'",
                                position)
            pattern: str = pattern_operand.value
        else:
            first, second = self.arguments(name, nodes, 2, position)
            pattern = ""
        if any(o.is_literal and o.kind != "geometry" for o in (first, second)):
            raise self.fail(f"{name} takes two geometries, such as geography'POINT(-0.7 52.6)'",
                            position)
        if first.is_literal and not second.is_literal and second.kind == "geometry":
            first, second = second, first
            predicate = _CONVERSE.get(predicate, predicate)
            pattern = _transposed(pattern)
        if first.is_literal and second.is_literal:
            value = _relation(predicate, pattern)(first.value, second.value)
            return _Operand("boolean", position, sql=true() if value else false(), value=value)
        fetch_first = self.geometries(first, position)
        fetch_second = self.geometries(second, position)
        if not (second.is_literal and first.geo is not None):
            test = _relation(predicate, pattern)

            def evaluate(row: RowMapping) -> bool | None:
                lefts, rights = fetch_first(row), fetch_second(row)
                if not lefts or not rights:
                    return None
                return any(test(a, b) for a in lefts for b in rights)

            return _Operand("boolean", position, py=evaluate, prefilter=true())
        geo, literal = first.geo, second.value
        if self.index is not None and self.index.postgis and spatial.is_indexed(geo.table):
            # PostGIS runs the same GEOS test in SQL, through its GiST index.
            if geo.table is self.table:
                sparse = self.index.is_sparse(geo.table, literal.bounds)
                exact = spatial.postgis_matches(predicate, geo.table, literal, pattern, sparse)
            else:  # a related table, inside its EXISTS
                exact = spatial.postgis_predicate(predicate, geo.table, literal, pattern)
            return _Operand("boolean", position, sql=geo.prefilter(exact))
        # The literal first, prepared once: GEOS answers a prepared geometry's predicates several
        # times faster (contains for within, the DE-9IM pattern transposed for relate).
        shapely.prepare(literal)
        converse = _relation(_CONVERSE.get(predicate, predicate), _transposed(pattern))

        def evaluate_literal(row: RowMapping) -> bool | None:
            rows_geometries = fetch_first(row)
            if not rows_geometries:
                return None
            return any(converse(literal, a) for a in rows_geometries)

        prefilter = geo.prefilter(self.bbox_condition(predicate, geo, literal.bounds))
        return _Operand("boolean", position, py=evaluate_literal, prefilter=prefilter)

    def geo_distance(self, nodes: Sequence[Any], position: int) -> _Operand:
        first, second = self.arguments("geo.distance", nodes, 2, position)
        if first.is_literal and not second.is_literal:
            first, second = second, first
        if first.is_literal and second.is_literal:
            if first.kind != "geometry" or second.kind != "geometry":
                raise self.fail("geo.distance takes two geometries", position)
            return self.number(float(first.value.distance(second.value)), position)
        fetch_first = self.geometries(first, position)
        fetch_second = self.geometries(second, position)

        def evaluate(row: RowMapping) -> list[float] | None:
            lefts, rights = fetch_first(row), fetch_second(row)
            if not lefts or not rights:
                return None
            return [float(a.distance(b)) for a in lefts for b in rights]

        operand = _Operand("number", position, py=evaluate)
        if second.is_literal and first.geo is not None:
            geo, bounds = first.geo, second.value.bounds

            def near(limit: Any) -> Any:
                if not isinstance(limit, int | float) or isinstance(limit, bool):
                    return true()
                grown = (bounds[0] - limit, bounds[1] - limit, bounds[2] + limit,
                         bounds[3] + limit)
                return geo.prefilter(self.bbox_condition("intersects", geo, grown))

            operand.near = near
        return operand

    def bbox_condition(self, predicate: str, geo: _GeoRef,
                       bounds: tuple[float, float, float, float]) -> ColumnElement[bool]:
        """SQL on the row's bounding box that holds whenever ``predicate(row, literal)`` can;
        through the spatial index where the geometry's table has one."""
        min_x, min_y, max_x, max_y = geo.bbox
        x0, y0, x1, y1 = (float(v) for v in bounds)
        if predicate == "within":
            exact = and_(min_x >= x0, max_x <= x1, min_y >= y0, max_y <= y1)
        elif predicate == "contains":
            exact = and_(min_x <= x0, max_x >= x1, min_y <= y0, max_y >= y1)
        elif predicate == "equals":
            exact = and_(min_x == x0, max_x == x1, min_y == y0, max_y == y1)
        elif predicate in {"intersects", "touches", "overlaps", "crosses"}:
            exact = and_(min_x <= x1, max_x >= x0, min_y <= y1, max_y >= y0)
        else:
            return true()  # disjoint, relate: no box test is necessary for them
        if self.index is None or not spatial.is_indexed(geo.table):
            return exact
        # The index finds the boxes overlapping the bounds; the columns then decide exactly.
        return and_(self.index.candidates(geo.table, (x0, y0, x1, y1)), exact)

    def geo_length(self, nodes: Sequence[Any], position: int) -> _Operand:
        (value,) = self.arguments("geo.length", nodes, 1, position)
        if value.is_literal:
            if value.kind != "geometry":
                raise self.fail("geo.length takes a geometry", position)
            return self.number(float(value.value.length), position)
        fetch = self.geometries(value, position)

        def evaluate(row: RowMapping) -> list[float] | None:
            shapes = fetch(row)
            return [float(shape.length) for shape in shapes] if shapes else None

        return _Operand("number", position, py=evaluate)


def _all(*terms: Any) -> Any:
    """AND of SQL terms and Python booleans, folding the booleans away."""
    if any(term is False for term in terms):
        return False
    rest = [term for term in terms if term is not True]
    return True if not rest else and_(*rest)


def _any(*terms: Any) -> Any:
    """OR of SQL terms and Python booleans, folding the booleans away."""
    if any(term is True for term in terms):
        return True
    rest = [term for term in terms if term is not False]
    return False if not rest else or_(*rest)


def _negate(term: Any) -> Any:
    return (not term) if isinstance(term, bool) else not_(term)


def _sql(term: Any) -> Any:
    return (true() if term else false()) if isinstance(term, bool) else term


def _transposed(pattern: str) -> str:
    """The DE-9IM pattern of relate(b, a) from that of relate(a, b)."""
    return "".join(pattern[3 * (i % 3) + i // 3] for i in range(9)) if pattern else ""


def _relation(predicate: str, pattern: str = "") -> Callable[[BaseGeometry, BaseGeometry], bool]:
    """``predicate(a, b)`` as a Python test (``relate`` with its DE-9IM pattern)."""
    if predicate == "relate":
        return lambda a, b: bool(a.relate_pattern(b, pattern))
    return lambda a, b: bool(getattr(a, predicate)(b))


def _shape(value: Any) -> BaseGeometry | None:
    """A Shapely geometry from stored GeoJSON (a geometry, a Feature, or a FeatureCollection as
    the collection of its geometries); None if unusable."""
    if isinstance(value, str):
        try:
            # GEOS's reader; it refuses what shape() forgives (an unclosed ring), so fall back.
            shape = shapely.from_geojson(value)
        except shapely.errors.GEOSException:
            shape = None
        if shape is not None:
            return None if shape.is_empty else shape
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if isinstance(value, dict) and value.get("type") == "FeatureCollection":
        features = value.get("features")
        parts = [_shape(f.get("geometry")) for f in features if isinstance(f, dict)] \
            if isinstance(features, list) else []
        shape = shapely.GeometryCollection([p for p in parts if p is not None])
        return None if shape.is_empty else shape
    if not isinstance(value, dict):
        return None
    try:
        shape = shapely.geometry.shape(value)
    except Exception:  # noqa: BLE001 - a stored geometry Shapely cannot read matches nothing
        return None
    return None if shape.is_empty else shape


__all__ = ["FilterPlan", "compile_filter", "parse_filter"]
