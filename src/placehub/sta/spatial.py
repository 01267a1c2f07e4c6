"""The spatial index of SensorThings geometries, and the SQL that reads it.

Locations and FeaturesOfInterest keep their GeoJSON with its bounding box beside it (``min_x``,
``min_y``, ``max_x``, ``max_y``). Migration ``sta_0001`` indexes those boxes:

- SQLite: an R*Tree virtual table ``<table>_rtree(id, min_x, max_x, min_y, max_y)``, kept
  current by triggers on the table;
- PostgreSQL: a GiST index on ``box(point(min_x, min_y), point(max_x, max_y))`` (core
  PostgreSQL, no extension needed);
- PostgreSQL with PostGIS: also a ``geom`` geometry column (WGS 84), set by a trigger from the
  GeoJSON, with its own GiST index, so exact predicates (``ST_Within`` ...) run in SQL.

``SpatialIndex`` (one per connection) says whether PostGIS is there and, asking the index how
many boxes overlap a query's bounds, whether the index or a walk of the table in id order is the
better plan. ``box_candidates`` is "the row's box overlaps these bounds" written so the index
serves it; ``postgis_matches`` is the exact PostGIS test. Both put the index's matches in an
``id_among`` so the access rule is checked for the rows of the page only.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Engine,
    Float,
    FromClause,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import NullType

# Tables whose geometry (their GeoJSON column) has a spatial index.
INDEXED = {"locations": "location", "features_of_interest": "feature"}

# Where R*Tree tables are described: not the application metadata, so nothing creates, copies or
# empties them but the migration and the triggers.
_RTREE_METADATA = MetaData()


def rtree_table(table_name: str) -> Table:
    """The R*Tree virtual table indexing ``table_name`` on SQLite."""
    name = f"{table_name}_rtree"
    known = _RTREE_METADATA.tables.get(name)
    if known is not None:
        return known
    return Table(name, _RTREE_METADATA, Column("id", Integer, primary_key=True),
                 *(Column(column, Float) for column in ("min_x", "max_x", "min_y", "max_y")))


def is_indexed(table: FromClause) -> bool:
    """True when ``table`` (a table or an alias of one) has a spatial index."""
    return _table_name(table) in INDEXED


def _base_table(table: Any) -> Any:
    """The table behind an alias."""
    while hasattr(table, "element") and not isinstance(table, Table):
        table = table.element
    return table


def _table_name(table: Any) -> str:
    """The name of the table behind an alias."""
    return str(getattr(_base_table(table), "name", ""))


class box_candidates(FunctionElement[bool]):
    """SQL true when the box of the row (of an indexed table) overlaps ``bounds``, through the
    spatial index: a superset of the rows whose geometry can touch ``bounds`` (the R*Tree keeps
    boxes rounded outwards to 32-bit floats), to be refined by an exact test."""

    inherit_cache = True
    name = "box_candidates"
    # Untyped: a Boolean-typed function would be written "... = 1" on SQLite, and the planner
    # would then not use the R*Tree.
    type = NullType()  # type: ignore[assignment]

    def __init__(self, table: FromClause, bounds: tuple[float, float, float, float]) -> None:
        x0, y0, x1, y1 = (bindparam(None, float(v), type_=Float(), unique=True) for v in bounds)
        super().__init__(table.c.id, table.c.min_x, table.c.min_y, table.c.max_x, table.c.max_y,
                         x0, y0, x1, y1)


@compiles(box_candidates, "sqlite")
def _box_candidates_sqlite(element: box_candidates, compiler: Any, **kw: Any) -> str:
    row_id, _min_x, _min_y, _max_x, _max_y, x0, y0, x1, y1 = element.clauses
    rtree = rtree_table(_table_name(row_id.table))
    found = select(rtree.c.id).where(rtree.c.max_x >= x0, rtree.c.min_x <= x1,
                                     rtree.c.max_y >= y0, rtree.c.min_y <= y1)
    return str(compiler.process(row_id.in_(found), **kw))


def _box(x0: Any, y0: Any, x1: Any, y1: Any) -> Any:
    return func.box(func.point(x0, y0), func.point(x1, y1))


class id_among(FunctionElement[bool]):
    """``row_id`` is one of the ids a subquery gives, checked so that the rest of the query
    (the access rule) is evaluated for the page's rows only.

    SQLite evaluates ``IN (subquery)`` as a sorted list of ids walked in order. PostgreSQL is
    given ``= ANY(ARRAY(subquery))``: the ids are gathered once, and the primary key is then
    walked in id order through them, so the page stops after its rows; as a plain IN it
    would rather join every match, checking each, and sort them all.
    """

    inherit_cache = True
    name = "id_among"
    type = NullType()  # type: ignore[assignment]

    def __init__(self, row_id: Any, ids: Any) -> None:
        super().__init__(row_id, ids.scalar_subquery())


@compiles(id_among, "postgresql")
def _id_among_postgresql(element: id_among, compiler: Any, **kw: Any) -> str:
    row_id, ids = element.clauses
    return f"{compiler.process(row_id, **kw)} = ANY(ARRAY{compiler.process(ids, **kw)})"


@compiles(id_among)
def _id_among_default(element: id_among, compiler: Any, **kw: Any) -> str:
    row_id, ids = element.clauses
    return f"{compiler.process(row_id, **kw)} IN {compiler.process(ids, **kw)}"


@compiles(box_candidates, "postgresql")
def _box_candidates_postgresql(element: box_candidates, compiler: Any, **kw: Any) -> str:
    # The same expression as the GiST index ix_<table>_bbox, so the planner uses it.
    row_id, *_box_columns, x0, y0, x1, y1 = element.clauses
    inner = _base_table(row_id.table).alias()
    matches = select(inner.c.id).where(
        _box(inner.c.min_x, inner.c.min_y, inner.c.max_x, inner.c.max_y).op("&&")(
            _box(x0, y0, x1, y1)))
    return str(compiler.process(id_among(row_id, matches), **kw))


def _overlap(min_x: Any, min_y: Any, max_x: Any, max_y: Any,
             x0: Any, y0: Any, x1: Any, y1: Any) -> ColumnElement[bool]:
    """The box (min_x, min_y, max_x, max_y) overlaps (x0, y0, x1, y1), edges included."""
    return and_(min_x <= x1, max_x >= x0, min_y <= y1, max_y >= y0)


@compiles(box_candidates)
def _box_candidates_default(element: box_candidates, compiler: Any, **kw: Any) -> str:
    _id, min_x, min_y, max_x, max_y, x0, y0, x1, y1 = element.clauses
    return str(compiler.process(_overlap(min_x, min_y, max_x, max_y, x0, y0, x1, y1), **kw))


class geometry_of(FunctionElement[Any]):
    """The PostGIS ``geom`` column of an indexed table (or alias), which the table metadata does
    not list: it exists only where the server has PostGIS."""

    inherit_cache = True
    name = "geometry_of"
    type = NullType()

    def __init__(self, table: FromClause) -> None:
        super().__init__(table.c.id)


@compiles(geometry_of)
def _geometry_of(element: geometry_of, compiler: Any, **kw: Any) -> str:
    (row_id,) = element.clauses
    rendered = str(compiler.process(row_id, **kw))  # "<table or alias>.id"
    return rendered[: -len("id")] + "geom"


class geojson_type(FunctionElement[str]):
    """The ``type`` member of a GeoJSON column ("Point", "Feature", ...); cacheable, unlike a
    general JSON path, so filtered statements keep SQLAlchemy's compiled-statement cache."""

    inherit_cache = True
    name = "geojson_type"
    type = String()


@compiles(geojson_type, "sqlite")
def _geojson_type_sqlite(element: geojson_type, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return f"json_extract({compiler.process(column, **kw)}, '$.type')"


@compiles(geojson_type)
def _geojson_type_default(element: geojson_type, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return f"({compiler.process(column, **kw)} ->> 'type')"


# OGC 18-088 spatial functions and the PostGIS function testing the same relation (GEOS both).
_POSTGIS_FUNCTIONS = {
    "equals": "ST_Equals", "disjoint": "ST_Disjoint", "touches": "ST_Touches",
    "within": "ST_Within", "overlaps": "ST_Overlaps", "crosses": "ST_Crosses",
    "intersects": "ST_Intersects", "contains": "ST_Contains", "relate": "ST_Relate",
}


def postgis_matches(predicate: str, table: FromClause, literal: BaseGeometry,
                    pattern: str = "", sparse: bool = True) -> ColumnElement[bool]:
    """SQL true for rows of ``table`` for which PostGIS says ``predicate(geom, literal)``.

    When few rows can match (``sparse``), as ``id_among`` the matches, so the access rule is
    checked for the page's rows only; else as a plain IN, which PostgreSQL turns into a walk
    of the primary key testing each row, stopping once the page is full."""
    inner = _base_table(table).alias()
    matches = select(inner.c.id).where(postgis_predicate(predicate, inner, literal, pattern))
    if sparse:
        return id_among(table.c.id, matches)
    return table.c.id.in_(matches)


def postgis_predicate(predicate: str, table: FromClause, literal: BaseGeometry,
                      pattern: str = "") -> ColumnElement[bool]:
    """``predicate(row geometry, literal)`` evaluated by PostGIS on the ``geom`` column."""
    wkb = bindparam(None, shapely.to_wkb(literal), type_=LargeBinary(), unique=True)
    geometry = func.ST_SetSRID(func.ST_GeomFromWKB(wkb), 4326)
    function = getattr(func, _POSTGIS_FUNCTIONS[predicate])
    arguments: list[Any] = [geometry_of(table), geometry]
    if predicate == "relate":
        arguments.append(bindparam(None, pattern, type_=String(), unique=True))
    return function(*arguments, type_=Boolean())


_POSTGIS: WeakKeyDictionary[Engine, bool] = WeakKeyDictionary()


def postgis_geometries(conn: Connection) -> bool:
    """True when this database has the PostGIS ``geom`` columns (checked once per engine)."""
    if conn.dialect.name != "postgresql":
        return False
    engine = conn.engine
    known = _POSTGIS.get(engine)
    if known is None:
        found = conn.execute(text(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND column_name = 'geom' AND udt_name = 'geometry' "
            "AND table_name IN ('locations', 'features_of_interest')")).scalar()
        known = _POSTGIS[engine] = found == len(INDEXED)
    return known


class SpatialIndex:
    """The spatial index of one database connection, as ``$filter`` uses it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgis = postgis_geometries(conn)

    def is_sparse(self, table: FromClause, bounds: tuple[float, float, float, float]) -> bool:
        """True when few of ``table``'s boxes overlap ``bounds``, so the index is the plan.

        The index is the right plan when the box holds a small share of the table. When it
        holds a large one, walking the table in id order fills a page sooner: on SQLite the
        R*Tree's matches become a sorted list of ids (about a microsecond each), and
        PostgreSQL cannot estimate how many boxes overlap (a fixed 0.5%) and would fetch,
        check and sort them all. So the index is asked how many boxes it holds there,
        counting up to a threshold (not at all when the whole table is below it).
        """
        base = _base_table(table)
        # max(id) reads one b-tree path (an R*Tree would be scanned whole).
        size = self.conn.execute(select(func.max(base.c.id))).scalar() or 0
        threshold = min(max(_SPARSE_MATCHES, size // _SPARSE_SHARE), _PROBE_LIMIT)
        if size < threshold:
            return True
        x0, y0, x1, y1 = bounds
        if self.conn.dialect.name == "sqlite":
            rtree = rtree_table(base.name)
            overlapping: Any = select(rtree.c.id).where(
                rtree.c.max_x >= x0, rtree.c.min_x <= x1, rtree.c.max_y >= y0,
                rtree.c.min_y <= y1)
        else:
            overlapping = select(base.c.id).where(
                _box(base.c.min_x, base.c.min_y, base.c.max_x, base.c.max_y).op("&&")(
                    _box(*(bindparam(None, float(v), type_=Float(), unique=True)
                           for v in bounds))))
        count = self.conn.execute(select(func.count()).select_from(
            overlapping.limit(threshold).subquery())).scalar_one()
        return bool(count < threshold)

    def candidates(self, table: FromClause,
                   bounds: tuple[float, float, float, float]) -> ColumnElement[bool]:
        """SQL true for rows of ``table`` (indexed) whose box may overlap ``bounds``: through
        the index when few do (``is_sparse``), else on the box columns."""
        if self.is_sparse(table, bounds):
            return box_candidates(table, bounds)
        return _overlap(table.c.min_x, table.c.min_y, table.c.max_x, table.c.max_y,
                        *(bindparam(None, float(v), type_=Float(), unique=True)
                          for v in bounds))


# The index is used while it finds fewer than max(2,000, 5% of the table) boxes; counting them
# stops at 50,000 (a few milliseconds), beyond which a scan in id order is the better plan.
_SPARSE_MATCHES = 2_000
_SPARSE_SHARE = 20
_PROBE_LIMIT = 50_000
