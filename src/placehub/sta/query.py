"""Read requests: resolve a resource path, run the query options in the order OGC 18-088 gives
($filter, $count, $orderby, $skip, $top, paging, then $expand and $select) and build the JSON.

Every table access goes through ``visibility_clause``, so what a principal cannot read is absent
everywhere: in collections, behind navigation paths and inside ``$expand``. ``$expand`` runs one
query per expanded level for all parents of that level (``parent IN (...)``), with per-parent
``$top``/``$skip`` read through the relation's index (see ``_top_per_parent``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Connection,
    DateTime,
    FromClause,
    Select,
    and_,
    any_,
    bindparam,
    func,
    select,
    true,
)

from placehub.access.service import Principal
from placehub.access.tables import organisations
from placehub.db.partitions import month_of, next_month, observations_partitioned
from placehub.errors import BadRequest, NotFound
from placehub.governance.data_classes import StreamClass, classes_of
from placehub.governance.read_audit import ReadLog
from placehub.sta.data_array import check_result_format, data_array_groups
from placehub.sta.filter import compile_filter
from placehub.sta.model import (
    DATASTREAM,
    ENTITIES_BY_NAME,
    ORGANISATION_ANNOTATION,
    OWNED_ENTITIES,
    VISIBILITY_ANNOTATION,
    Entity,
    Navigation,
    visibility_clause,
    visible_with_source,
)
from placehub.sta.options import OrderKey, QueryOptions, resolve_order_path
from placehub.sta.paths import ResourcePath
from placehub.sta.serialise import Links, entity_json, property_value
from placehub.sta.spatial import SpatialIndex

Row = Mapping[Any, Any]  # a fetched row (RowMapping)
# A Datastream's data class (public, organisation, restricted, personal) on every response.
DATA_CLASS_ANNOTATION = "@placehub.dataClass"
# The column holding the owning organisation's slug, where a read selects it.
ORGANISATION_SLUG = "ph_organisation_slug"


# Rows of one expanded level are fetched for at most this many parents per query.
_IN_CHUNK = 10_000


@dataclass
class ReadContext:
    """Everything a read needs besides the path and options."""

    conn: Connection
    principal: Principal
    links: Links
    default_top: int = 100
    max_top: int = 10_000
    _organisation_slugs: dict[int, str] | None = field(default=None, repr=False)
    # Set for principals whose reads may need recording: what the request read.
    reads: ReadLog | None = None

    def note_rows(self, entity: Entity, rows: Sequence[Mapping[str, Any]]) -> None:
        """Note the Things and Datastreams whose data ``rows`` are (for the read audit)."""
        if self.reads is None or not rows:
            return
        if entity.name == "Thing":
            self.reads.note_things(row["id"] for row in rows)
        elif entity.name == "Datastream":
            self.reads.note_datastreams(row["id"] for row in rows)
        elif entity.name == "Observation":
            self.reads.note_datastreams(row["datastream_id"] for row in rows)

    def organisation_slug(self, organisation_id: int) -> str:
        """The slug of an organisation (looked up once per request)."""
        if self._organisation_slugs is None:
            self._organisation_slugs = dict(
                self.conn.execute(select(organisations.c.id, organisations.c.slug)).all()
            )
        return self._organisation_slugs.get(organisation_id, "")

    def page_size(self, top: int | None) -> int:
        """The page size for a $top (None means the default)."""
        # A $top above the limit is replaced by the limit (OGC 18-088 req request-data/top).
        return min(self.default_top if top is None else top, self.max_top)


@dataclass
class Scope:
    """The rows a path addresses: an aliased table, the FROM clause and the WHERE conditions."""

    entity: Entity
    alias: FromClause
    from_clause: FromClause
    conditions: list[ColumnElement[bool]]
    entity_id: int | None = None  # set when the path addresses one entity
    parent: tuple[Navigation, int] | None = None  # reached through this navigation of this id
    parent_row: Row | None = None  # that parent entity's row


def resolve(ctx: ReadContext, path: ResourcePath) -> Scope:
    """The scope of ``path``; NotFound when an entity on the way is missing or not readable."""
    parent_id: int | None = None
    parent_row: Row | None = None
    scope: Scope | None = None
    for index, step in enumerate(path.steps):
        alias = step.entity.table.alias(f"e{index}")
        from_clause: FromClause = alias
        conditions = []
        if step.navigation is None or not visible_with_source(step.navigation):
            conditions.append(visibility_clause(step.entity, alias, ctx.principal))
        if step.navigation is not None:
            from_clause, parent_column = step.navigation.related_to(alias)
            conditions.append(parent_column == parent_id)
        if step.id is not None:
            conditions.append(alias.c.id == step.id)
        scope = Scope(step.entity, alias, from_clause, conditions)
        if step.navigation is not None and parent_id is not None:
            scope.parent, scope.parent_row = (step.navigation, parent_id), parent_row
        if step.is_collection:
            continue
        found = ctx.conn.execute(
            select(*_step_columns(alias)).select_from(from_clause).where(*conditions).limit(2)
        ).mappings().all()
        if not found:
            shown = "/".join(s.text() for s in path.steps[: index + 1])
            raise NotFound(f"{shown} does not exist")
        parent_row = found[0]
        parent_id = scope.entity_id = int(found[0]["id"])
    assert scope is not None
    return scope


# What a path step keeps of the entity it addresses: its id, and a Datastream's time range
# (which month its Observations start and end in, see ``_newest_month_page``).
_PARENT_COLUMNS = ("id", "latest_phenomenon_time", "phenomenon_time_start")


def _step_columns(alias: FromClause) -> list[Any]:
    return [alias.c[name] for name in _PARENT_COLUMNS if name in alias.c]


# --- ordering --------------------------------------------------------------------------------


def order_expressions(entity: Entity, alias: FromClause,
                      keys: Sequence[OrderKey]) -> list[Any]:
    """ORDER BY terms for ``$orderby`` (nulls first ascending, last descending) plus the id."""
    terms: list[Any] = []
    ordered_by_id = False
    for key in keys:
        navigations, prop, subpath = resolve_order_path(key.path, entity, "$orderby")
        for expression in _sort_columns(alias, navigations, prop, subpath):
            if getattr(expression, "nullable", True) is False:
                # No NULLs to place: plain ASC/DESC lets the database walk its index backwards.
                term = expression.desc() if key.descending else expression.asc()
            else:
                term = expression.desc().nulls_last() if key.descending else (
                    expression.asc().nulls_first())
            terms.append(term)
        ordered_by_id = ordered_by_id or (not navigations and prop.kind == "id")
    if not ordered_by_id:
        # A stable order across pages (req request-data/top and skip). Ties follow the first
        # key's direction, so "phenomenonTime desc" puts the newest-stored first, as the
        # Datastream's materialised latest Observation does.
        descending = bool(keys) and keys[0].descending
        terms.append(alias.c.id.desc() if descending else alias.c.id.asc())
    return terms


def _sort_columns(alias: FromClause, navigations: list[Navigation], prop: Any,
                  subpath: tuple[str, ...]) -> list[Any]:
    """The SQL values to sort by for one $orderby key."""
    source = alias
    joins: list[ColumnElement[bool]] = []
    for navigation in navigations:
        target = navigation.target_entity.table.alias()
        joins.append(navigation.join_condition(source, target))
        source = target
    if prop.kind == "result":
        columns = [source.c.result_number, source.c.result_string]
    elif prop.kind == "json":
        if not subpath:
            raise BadRequest(f"$orderby: order by a member of {prop.name}, "
                             f"e.g. {prop.name}/name")
        key: Any = subpath[0] if len(subpath) == 1 else tuple(subpath)
        columns = [source.c[prop.column][key].as_string()]
    else:
        columns = [source.c[prop.column]]
    if not navigations:
        return columns
    return [select(column).where(*joins).scalar_subquery() for column in columns]


# --- collections -----------------------------------------------------------------------------


def _filtered(ctx: ReadContext, entity: Entity, alias: FromClause,
              options: QueryOptions) -> tuple[list[ColumnElement[bool]], Any, tuple[Any, ...]]:
    """WHERE terms, the exact post filter and the columns it reads (geometry filters)."""
    if options.filter is None:
        return [], None, ()
    plan = compile_filter(options.filter, entity, alias, ctx.principal, SpatialIndex(ctx.conn))
    columns = tuple(plan.columns) if plan.post_filter is not None else ()
    return [plan.clause], plan.post_filter, columns


def read_collection(ctx: ReadContext, scope: Scope, options: QueryOptions,
                    request_url: str, refs: bool = False) -> dict[str, Any]:
    """A collection response: ``@iot.count``, ``value`` and ``@iot.nextLink`` when more remain."""
    entity, alias = scope.entity, scope.alias
    check_result_format(options.result_format, entity.name)
    extra, post_filter, filter_columns = _filtered(ctx, entity, alias, options)
    where = and_(*scope.conditions, *extra)
    base = select(alias, *filter_columns).select_from(scope.from_clause).where(where)
    out: dict[str, Any] = {}
    if options.count:
        counted = None if options.filter is not None else _materialised_count(ctx, scope)
        out["@iot.count"] = counted if counted is not None else _count(
            ctx, base, scope.from_clause, where, post_filter)
    top = ctx.page_size(options.top)
    ordered = (base.add_columns(*organisation_slug_column(ctx, entity, alias))
               .order_by(*order_expressions(entity, alias, options.orderby)))
    rows = _newest_month_page(ctx, scope, options, ordered, top) if post_filter is None else None
    if rows is None:
        rows = _page(ctx, ordered, options.skip, top, post_filter)
    more = len(rows) > top
    rows = rows[:top]
    if refs:
        out["value"] = [{"@iot.selfLink": ctx.links.entity(entity, r["id"])} for r in rows]
    elif options.result_format is not None:
        ctx.note_rows(entity, rows)
        out["value"] = data_array_groups(ctx.links, rows, options.select)
    else:
        out["value"] = render(ctx, entity, rows, options)
    if more and top > 0:
        out["@iot.nextLink"] = (
            f"{request_url}?{options.query_string(top=top, skip=options.skip + top)}"
        )
    return out


def _newest_month_page(ctx: ReadContext, scope: Scope, options: QueryOptions, ordered: Select,
                       top: int) -> list[Row] | None:
    """A Datastream's Observations in phenomenonTime order read from the month of its newest
    (or oldest) reading first, when Observations are partitioned by month.

    Every row of that month sorts before every row of the others, so a page found whole in it
    is the page; otherwise None and the caller reads every month. The month is a literal, so
    PostgreSQL plans one partition instead of opening all of them (docs/scale.md).
    """
    if not (scope.entity.name == "Observation" and options.orderby
            and options.orderby[0].path == ("phenomenonTime",)
            and scope.parent is not None and scope.parent[0].source_name == "Datastream"
            and scope.parent_row is not None and observations_partitioned(ctx.conn)):
        return None
    descending = options.orderby[0].descending
    edge = scope.parent_row["latest_phenomenon_time" if descending else "phenomenon_time_start"]
    if edge is None:
        return None
    month = month_of(edge)
    start = scope.alias.c.phenomenon_time_start
    first_day = month if descending else next_month(month)
    bound = bindparam("ph_month", datetime(first_day.year, first_day.month, 1, tzinfo=UTC),
                      type_=DateTime(timezone=True), literal_execute=True)
    rows: list[Row] = list(ctx.conn.execute(
        ordered.where(start >= bound if descending else start < bound)
        .offset(options.skip).limit(top + 1)).mappings().all())
    return rows if len(rows) > top else None


def _materialised_count(ctx: ReadContext, scope: Scope) -> int | None:
    """Observation counts kept on each Datastream: no scan of the Observations table."""
    if scope.entity.name != "Observation":
        return None
    streams = DATASTREAM.table.alias("counted")
    if scope.parent is None and len(scope.conditions) == 1:  # only the visibility rule
        total = ctx.conn.execute(
            select(func.coalesce(func.sum(streams.c.observation_count), 0))
            .where(visibility_clause(DATASTREAM, streams, ctx.principal))).scalar_one()
        return int(total)
    if scope.parent is not None and scope.parent[0].source_name == "Datastream":
        total = ctx.conn.execute(select(streams.c.observation_count).where(
            streams.c.id == scope.parent[1])).scalar()
        return int(total or 0)
    return None


def _latest_observations(ctx: ReadContext, navigation: Navigation, parent_ids: Sequence[int],
                         options: QueryOptions) -> Related | None:
    """Datastreams' Observations($orderby=phenomenonTime desc;$top=1) from the materialised
    latest Observation of each Datastream, instead of ranking all their Observations."""
    if not (navigation.source_name == "Datastream" and navigation.name == "Observations"
            and options.filter is None and options.skip == 0
            and ctx.page_size(options.top) == 1
            and options.orderby == (OrderKey(("phenomenonTime",), True),)):
        return None
    alias = navigation.target_entity.table.alias("x")
    streams = DATASTREAM.table.alias("latest_of")
    related = Related({}, {}, set())
    for chunk in _chunks(parent_ids, _IN_CHUNK):
        query = (select(alias, streams.c.id.label("ph_parent"),
                        streams.c.observation_count.label("ph_count"))
                 .select_from(alias.join(streams, streams.c.latest_observation_id == alias.c.id))
                 .where(_among(ctx, streams.c.id, chunk)))
        for row in ctx.conn.execute(query).mappings().all():
            parent = int(row["ph_parent"])
            related.children[parent] = [row]
            related.counts[parent] = int(row["ph_count"])
            if row["ph_count"] > 1:
                related.more.add(parent)
    return related


def _count(ctx: ReadContext, base: Select, from_clause: FromClause,
           where: ColumnElement[bool], post_filter: Any) -> int:
    """How many rows match (exact geometry filters are counted in Python)."""
    if post_filter is None:
        return int(ctx.conn.execute(
            select(func.count()).select_from(from_clause).where(where)).scalar_one())
    return sum(1 for row in _streamed(ctx, base) if post_filter(row))


def _page(ctx: ReadContext, query: Select, skip: int, top: int,
          post_filter: Any) -> list[Row]:
    """Rows ``skip`` .. ``skip + top`` (one more, to know whether a next page exists)."""
    if post_filter is None:
        return list(ctx.conn.execute(query.offset(skip).limit(top + 1)).mappings().all())
    rows: list[Row] = []
    matched = 0
    for row in _streamed(ctx, query):
        if not post_filter(row):
            continue
        matched += 1
        if matched > skip:
            rows.append(row)
            if len(rows) > top:
                break
    return rows


def _streamed(ctx: ReadContext, query: Select) -> Iterator[Row]:
    """Rows as the database hands them over, in batches: a post filter that has its page after
    a few hundred rows stops there (PostgreSQL would otherwise send every candidate first)."""
    result = ctx.conn.execute(query.execution_options(yield_per=100))
    try:
        yield from result.mappings()
    finally:
        result.close()  # also when the caller stops early: the server-side cursor ends


# --- entities, properties --------------------------------------------------------------------


def read_entity(ctx: ReadContext, scope: Scope, options: QueryOptions) -> dict[str, Any]:
    """One entity with ``$select``/``$expand`` applied."""
    row = fetch_row(ctx, scope)
    return render(ctx, scope.entity, [row], options)[0]


def fetch_row(ctx: ReadContext, scope: Scope) -> Row:
    """The full row of the entity a scope addresses."""
    alias = scope.alias
    row = ctx.conn.execute(
        select(alias, *organisation_slug_column(ctx, scope.entity, alias))
        .where(alias.c.id == scope.entity_id)).mappings().first()
    if row is None:  # deleted between resolving and reading
        raise NotFound(f"{scope.entity.set_name}({scope.entity_id}) does not exist")
    return row


def read_property(ctx: ReadContext, scope: Scope, path: ResourcePath) -> Any:
    """The value of the addressed property (following a JSON sub-path); NotFound if absent."""
    assert path.prop is not None
    row = fetch_row(ctx, scope)
    ctx.note_rows(scope.entity, [row])
    value = property_value(path.prop, row)
    for part in path.subpath:
        if not isinstance(value, dict) or part not in value:
            raise NotFound(f"{path.text()}/{path.prop.name}/{'/'.join(path.subpath)} "
                           "does not exist")
        value = value[part]
    return value


def organisation_slug_column(ctx: ReadContext, entity: Entity,
                             alias: FromClause) -> tuple[ColumnElement[Any], ...]:
    """The owning organisation's slug as a column of the rows read, on PostgreSQL: a request
    spared the lookup query is a round trip shorter (PostgreSQL reads it after sorting and
    limiting, for the page's rows only). SQLite, in process, looks the slugs up instead: it would
    read the slug of every row it sorts."""
    if entity.name not in OWNED_ENTITIES or ctx.conn.dialect.name != "postgresql":
        return ()
    slug = (select(organisations.c.slug)
            .where(organisations.c.id == alias.c.organisation_id).scalar_subquery())
    return (slug.label(ORGANISATION_SLUG),)


def access_annotations(ctx: ReadContext, entity: Entity, row: Row,
                       classes: Mapping[int, StreamClass] | None = None) -> dict[str, str]:
    """placehub's annotations of a row: the owning organisation (slug), a Thing's visibility,
    a Datastream's data class (from ``classes``)."""
    if entity.name == "Datastream" and classes and int(row["id"]) in classes:
        return {DATA_CLASS_ANNOTATION: classes[int(row["id"])].data_class}
    if entity.name not in OWNED_ENTITIES:
        return {}
    slug = (row[ORGANISATION_SLUG] if ORGANISATION_SLUG in row
            else ctx.organisation_slug(row["organisation_id"]))
    shown = {ORGANISATION_ANNOTATION: slug}
    if entity.name == "Thing":
        shown[VISIBILITY_ANNOTATION] = row["visibility"]
    return shown


# --- rendering with $expand ------------------------------------------------------------------


def render(ctx: ReadContext, entity: Entity, rows: Sequence[Row],
           options: QueryOptions) -> list[dict[str, Any]]:
    """Rows as JSON objects, with their ``$expand`` items fetched one query per level."""
    ctx.note_rows(entity, rows)
    classes = (classes_of(ctx.conn, (row["id"] for row in rows))
               if entity.name == "Datastream" and rows else {})
    outs = [
        entity_json(entity, row, ctx.links, options.select,
                    access_annotations(ctx, entity, row, classes))
        for row in rows
    ]
    if not rows or not options.expand:
        return outs
    ids = [int(row["id"]) for row in rows]
    for name, item in options.expand.items():
        navigation, nested = item.navigation, item.options
        related = fetch_related(ctx, navigation, ids, nested)
        unique: dict[int, Row] = {}
        for children in related.children.values():
            for child in children:
                unique.setdefault(int(child["id"]), child)
        rendered_list = render(ctx, navigation.target_entity, list(unique.values()), nested)
        rendered = dict(zip(unique, rendered_list, strict=True))
        next_query: str | None = None
        for out, parent_id in zip(outs, ids, strict=True):
            kids = [rendered[int(c["id"])] for c in related.children.get(parent_id, [])]
            if not navigation.many:
                out[name] = kids[0] if kids else None
                continue
            if nested.count:
                out[f"{name}@iot.count"] = related.counts.get(parent_id, 0)
            out[name] = kids
            if parent_id in related.more:
                if next_query is None:  # the same for every parent: build it once
                    top = ctx.page_size(nested.top)
                    next_query = nested.query_string(top=top, skip=nested.skip + top)
                link = ctx.links.entity(entity, parent_id) + f"/{name}"
                out[f"{name}@iot.nextLink"] = f"{link}?{next_query}"
    return outs


@dataclass
class Related:
    """Related rows per parent id, with counts and the parents that have more."""
    children: dict[int, list[Row]]
    counts: dict[int, int]
    more: set[int]


def fetch_related(ctx: ReadContext, navigation: Navigation, parent_ids: Sequence[int],
                  options: QueryOptions) -> Related:
    """The related rows of all ``parent_ids`` for one navigation: one query per level (per
    chunk of parents), with ``$top``/``$skip`` applied per parent."""
    latest = _latest_observations(ctx, navigation, parent_ids, options)
    if latest is not None:
        return latest
    target = navigation.target_entity
    alias = target.table.alias("x")
    from_clause, parent = navigation.related_to(alias)
    extra, post_filter, filter_columns = _filtered(ctx, target, alias, options)
    conditions = list(extra)
    if not visible_with_source(navigation):
        conditions.append(visibility_clause(target, alias, ctx.principal))
    children: dict[int, list[Row]] = {}
    counts: dict[int, int] = {}
    more: set[int] = set()
    top = ctx.page_size(options.top)
    order = order_expressions(target, alias, options.orderby)
    per_parent = navigation.many and post_filter is None
    for chunk in _chunks(parent_ids, _IN_CHUNK):
        where = and_(_among(ctx, parent, chunk), *conditions)
        if not navigation.many:
            query = select(alias, parent.label("ph_parent"), *filter_columns).select_from(
                from_clause).where(where)
            for row in ctx.conn.execute(query).mappings().all():
                if post_filter is not None and not post_filter(row):
                    continue
                children.setdefault(int(row["ph_parent"]), []).append(row)
            continue
        if options.count and post_filter is None:
            counts.update(
                (int(p), int(n)) for p, n in ctx.conn.execute(
                    select(parent, func.count()).select_from(from_clause).where(where)
                    .group_by(parent))
            )
        if per_parent:
            query = _top_per_parent(ctx, navigation, alias, from_clause, parent, chunk,
                                    conditions, options, top)
            for row in ctx.conn.execute(query).mappings().all():
                bucket = children.setdefault(int(row["ph_parent"]), [])
                if len(bucket) < top:
                    bucket.append(row)
                else:
                    more.add(int(row["ph_parent"]))
            continue
        # Exact geometry filters run in Python, so paging per parent happens here as well.
        query = (select(alias, parent.label("ph_parent"), *filter_columns)
                 .select_from(from_clause).where(where).order_by(parent, *order))
        seen: dict[int, int] = {}
        for row in ctx.conn.execute(query).mappings():
            if not post_filter(row):
                continue
            key = int(row["ph_parent"])
            seen[key] = seen.get(key, 0) + 1
            if seen[key] <= options.skip:
                continue
            bucket = children.setdefault(key, [])
            if len(bucket) < top:
                bucket.append(row)
            else:
                more.add(key)
        if options.count:
            counts.update(seen)
    return Related(children, counts, more)


def _among(ctx: ReadContext, column: Any, ids: list[int]) -> ColumnElement[bool]:
    """``column IN ids``; one array parameter on PostgreSQL (a thousand placeholders cost
    more to send and parse than the query itself)."""
    if ctx.conn.dialect.name == "postgresql":
        return column == any_(bindparam("ids_array", ids, type_=ARRAY(BigInteger()),
                                        unique=True))
    return column.in_(ids)


def _top_per_parent(ctx: ReadContext, navigation: Navigation, alias: FromClause,
                    from_clause: FromClause, parent: Any, chunk: list[int],
                    conditions: list[ColumnElement[bool]], options: QueryOptions,
                    top: int) -> Select:
    """One statement giving each parent's rows ``skip`` .. ``skip + top`` (+1 to see more).

    Each parent's rows are read through the index on the relation in the requested order and
    cut off by LIMIT, so the cost follows the page, not the number of children: a LATERAL
    join on PostgreSQL; on SQLite (no LATERAL) the target rows are joined by primary key to a
    correlated ``id IN (SELECT ... LIMIT)`` per parent. A row_number() window numbered every
    child first and was 15 times slower than even an N+1 loop with 2,000 Observations per
    Datastream (bench/bench_sta_core.py).
    """
    target = navigation.target_entity
    source = ENTITIES_BY_NAME[navigation.source_name].table.alias("p")
    order = order_expressions(target, alias, options.orderby)
    if ctx.conn.dialect.name == "postgresql":
        per_parent = (select(alias, parent.label("ph_parent")).select_from(from_clause)
                      .where(parent == source.c.id, *conditions)
                      .order_by(*order).offset(options.skip).limit(top + 1)
                      .lateral("per_parent"))
        return (select(per_parent).select_from(source.join(per_parent, true()))
                .where(source.c.id.in_(chunk))
                .order_by(source.c.id,
                          *order_expressions(target, per_parent, options.orderby)))
    page_ids = (select(alias.c.id).select_from(from_clause)
                .where(parent == source.c.id, *conditions)
                .order_by(*order).offset(options.skip).limit(top + 1))
    rows = target.table.alias("y")
    return (select(rows, source.c.id.label("ph_parent"))
            .select_from(source.join(rows, rows.c.id.in_(page_ids)))
            .where(source.c.id.in_(chunk))
            .order_by(source.c.id, *order_expressions(target, rows, options.orderby)))


def _chunks(values: Sequence[int], size: int) -> Iterable[list[int]]:
    """``values`` in lists of at most ``size``."""
    for start in range(0, len(values), size):
        yield list(values[start:start + size])
