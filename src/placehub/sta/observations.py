"""The one batched write path for Observations.

SensorThings POSTs, CreateObservations, LoRaWAN ingest, air-quality imports and the demo back-fill
all come through ``write_observations``: one multi-row INSERT (binary COPY on PostgreSQL) per
call, a result per row in request order (an error for a value the database cannot store), and
each Datastream's summary (latest Observation, time ranges, count, observed area) kept current
in the same transaction, never moved backwards by a late Observation.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Float,
    Select,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from placehub.db.metadata import UTCDateTime
from placehub.sta.tables import (
    RESULT_BOOLEAN,
    RESULT_JSON,
    RESULT_NULL,
    RESULT_NUMBER,
    RESULT_STRING,
    datastreams,
    features_of_interest,
    locations,
    observations,
    thing_locations,
    things,
)


@dataclass
class NewObservation:
    """An Observation to store; times must be timezone-aware."""

    datastream_id: int
    phenomenon_time: datetime
    result: Any
    phenomenon_time_end: datetime | None = None
    result_time: datetime | None = None
    valid_time_start: datetime | None = None
    valid_time_end: datetime | None = None
    result_quality: Any = None
    parameters: dict[str, Any] | None = None
    # None: generated from the Thing's current Location, and reused for the same Location.
    feature_of_interest_id: int | None = None
    # The same (Datastream, key) is stored once however often it is written.
    dedup_key: str | None = None


@dataclass
class RowOutcome:
    """What happened to one row: its id, or why it was not stored."""

    id: int | None = None
    error: str | None = None
    duplicate: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class WrittenObservation:
    """A stored Observation, as announced on the ``observations.written`` event."""

    id: int
    datastream_id: int
    thing_id: int
    phenomenon_time: datetime
    phenomenon_time_end: datetime | None
    result: Any
    result_time: datetime | None


@dataclass
class WriteResult:
    outcomes: list[RowOutcome] = field(default_factory=list)
    written: list[WrittenObservation] = field(default_factory=list)

    @property
    def errors(self) -> list[tuple[int, str]]:
        return [(i, o.error) for i, o in enumerate(self.outcomes) if o.error is not None]


# The id columns of Datastreams and FeaturesOfInterest are 32-bit on PostgreSQL: a larger id
# cannot exist, and asking for one would fail the whole statement.
MAX_ID = 2**31 - 1
DEDUP_KEY_LENGTH = 200

Box = tuple[float, float, float, float]


def _box(min_x: float | None, min_y: float | None, max_x: float | None,
         max_y: float | None) -> Box | None:
    """A bounding box, or None when a FeatureOfInterest has none."""
    if min_x is None or min_y is None or max_x is None or max_y is None:
        return None
    return (min_x, min_y, max_x, max_y)


def split_result(result: Any) -> dict[str, Any]:
    """The typed result columns for ``result``; raises ValueError for impossible values."""
    kind, number, boolean, string, document = _result_columns(result)
    return {"result_type": kind, "result_number": number, "result_boolean": boolean,
            "result_string": string, "result_json": document}


def _result_columns(result: Any) -> tuple[int, float | None, bool | None, str | None, Any]:
    """(result_type, number, boolean, string, JSON) for ``result``; ValueError if impossible."""
    if result is None:
        return RESULT_NULL, None, None, None, None
    if result is True or result is False:
        return RESULT_BOOLEAN, None, result, None, None
    if isinstance(result, int | float):
        try:
            number = float(result)
        except OverflowError:
            raise ValueError(f"result {result} is too big to store as a number") from None
        if not math.isfinite(number):
            raise ValueError(f"result {result!r} is not a finite number")
        return RESULT_NUMBER, number, None, None, None
    if isinstance(result, str):
        _check_text("result", result)
        return RESULT_STRING, None, None, result, None
    if isinstance(result, dict | list):
        return RESULT_JSON, None, None, None, result
    raise ValueError(f"result of type {type(result).__name__} cannot be stored")


def _check_text(name: str, text: str) -> None:
    # PostgreSQL stores no NUL character and no unpaired surrogate; SQLite refuses the same, so
    # a request means the same on either database.
    if "\x00" in text:
        raise ValueError(f"{name} contains a NUL character, which cannot be stored")
    try:
        text.encode()
    except UnicodeEncodeError:
        raise ValueError(f"{name} is not valid Unicode text (unpaired surrogate)") from None


def _json_text(name: str, value: Any) -> str | None:
    """``value`` as JSON text, once, for both databases; ValueError if it cannot be stored."""
    if value is None:
        return None
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} is not storable JSON ({error})") from None
    if "\\u0000" in text:
        raise ValueError(f"{name} contains a NUL character, which cannot be stored")
    _check_text(name, text)
    return text


def joined_result(row: Any) -> Any:
    """The result of a stored Observation row, as the client sent it."""
    kind = row.result_type
    if kind == RESULT_NUMBER:
        number = row.result_number
        return int(number) if number is not None and float(number).is_integer() else number
    if kind == RESULT_BOOLEAN:
        return bool(row.result_boolean)
    if kind == RESULT_STRING:
        return row.result_string
    if kind == RESULT_JSON:
        return row.result_json
    return None


def _check_time(name: str, value: datetime | None) -> None:
    if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
        raise ValueError(f"{name} must be a timezone-aware time, got {value!r}")


# The stored columns of an Observation other than its id, in the order rows are built below.
_COLUMNS = ("datastream_id", "feature_of_interest_id", "phenomenon_time_start",
            "phenomenon_time_end", "result_time", "result_type", "result_number",
            "result_boolean", "result_string", "result_json", "result_quality",
            "valid_time_start", "valid_time_end", "parameters", "dedup_key")
_TIME_POSITIONS = tuple(i for i, name in enumerate(_COLUMNS)
                        if isinstance(observations.c[name].type, UTCDateTime))
_JSON_POSITIONS = (_COLUMNS.index("result_json"), _COLUMNS.index("result_quality"),
                   _COLUMNS.index("parameters"))
_BOOLEAN_POSITION = _COLUMNS.index("result_boolean")
# PostgreSQL types of (id, *_COLUMNS), for binary COPY.
_COPY_TYPES = ["int8", "int4", "int4", "timestamptz", "timestamptz", "timestamptz", "int2",
               "float8", "bool", "text", "jsonb", "jsonb", "timestamptz", "timestamptz", "jsonb",
               "varchar"]


def _stored_values(row: NewObservation) -> list[Any]:
    """The row's values in ``_COLUMNS`` order (the feature id still unset, JSON as text);
    ValueError names what cannot be stored."""
    start = row.phenomenon_time
    if start is None:
        raise ValueError("phenomenonTime is required")
    _check_time("phenomenon_time", start)
    end, result_time = row.phenomenon_time_end, row.result_time
    valid_start, valid_end = row.valid_time_start, row.valid_time_end
    if end is not None:
        _check_time("phenomenon_time_end", end)
        if end < start:
            raise ValueError("phenomenonTime interval ends before it starts")
    if result_time is not None:
        _check_time("result_time", result_time)
    if valid_start is not None or valid_end is not None:
        if valid_start is None or valid_end is None:
            raise ValueError("validTime needs both a start and an end")
        _check_time("valid_time_start", valid_start)
        _check_time("valid_time_end", valid_end)
    if row.dedup_key is not None and len(row.dedup_key) > DEDUP_KEY_LENGTH:
        raise ValueError(f"dedup key longer than {DEDUP_KEY_LENGTH} characters")
    kind, number, boolean, string, document = _result_columns(row.result)
    return [row.datastream_id, None, start, end, result_time, kind, number, boolean, string,
            _json_text("result", document), _json_text("resultQuality", row.result_quality),
            valid_start, valid_end, _json_text("parameters", row.parameters), row.dedup_key]


@dataclass(frozen=True)
class StreamTarget:
    """What writing to one Datastream needs: its Thing's owner and visibility (for access
    checks) and the FeatureOfInterest generated from the Thing's current Location."""

    thing_id: int
    organisation_id: int
    visibility: str
    location_id: int | None  # the Thing's current Location: the newest linked to it
    feature_id: int | None  # generated from that Location; None until the first write needs it
    feature_box: Box | None = None


def _stream_targets_query() -> Select[Any]:
    current_location = (
        select(func.max(thing_locations.c.location_id))
        .where(thing_locations.c.thing_id == datastreams.c.thing_id)
        .scalar_subquery()
    )
    streams = (
        select(datastreams.c.id, datastreams.c.thing_id, things.c.organisation_id,
               things.c.visibility, current_location.label("location_id"))
        .join(things, things.c.id == datastreams.c.thing_id)
        .where(datastreams.c.id.in_(bindparam("stream_ids", expanding=True)))
        .subquery()
    )
    feature, other = features_of_interest.alias("f"), features_of_interest.alias("g")
    # The oldest feature generated from the Location, should concurrent writers have made two.
    generated = (
        select(func.min(other.c.id))
        .where(other.c.generated_from_location_id == streams.c.location_id)
        .scalar_subquery()
    )
    return (
        select(streams, feature.c.id.label("feature_id"), feature.c.min_x, feature.c.min_y,
               feature.c.max_x, feature.c.max_y)
        .select_from(streams.outerjoin(feature, feature.c.id == generated))
    )


# Built once: constructing the statement costs more than running it on a small batch.
_STREAM_TARGETS = _stream_targets_query()


def stream_targets(conn: Connection, stream_ids: Iterable[int]) -> dict[int, StreamTarget]:
    """Datastream id -> StreamTarget for the Datastreams that exist, in one query."""
    ids = sorted({i for i in stream_ids if 0 < i <= MAX_ID})
    if not ids:
        return {}
    return {
        int(row.id): StreamTarget(
            thing_id=int(row.thing_id), organisation_id=int(row.organisation_id),
            visibility=row.visibility, location_id=row.location_id, feature_id=row.feature_id,
            feature_box=_box(row.min_x, row.min_y, row.max_x, row.max_y),
        )
        for row in conn.execute(_STREAM_TARGETS, {"stream_ids": ids})
    }


def _generate_features(conn: Connection, targets: dict[int, StreamTarget],
                       stream_ids: set[int]) -> None:
    """Give these Datastreams' targets a FeatureOfInterest made from their current Location.

    Concurrent writers may generate for the same Location at once: the unique index on
    generated_from_location_id lets one insert in, and every writer then reads that one.
    """
    location_ids = sorted({location for s in stream_ids
                           if (location := targets[s].location_id) is not None})
    insert_new = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)
    for loc in conn.execute(select(locations).where(locations.c.id.in_(location_ids))
                            .order_by(locations.c.id)):
        conn.execute(
            insert_new(features_of_interest).values(
                name=loc.name,
                description=loc.description or f"Generated from Location {loc.id}",
                encoding_type=loc.encoding_type,
                feature=loc.location,
                organisation_id=loc.organisation_id,
                generated_from_location_id=loc.id,
                min_x=loc.min_x, min_y=loc.min_y, max_x=loc.max_x, max_y=loc.max_y,
            ).on_conflict_do_nothing(index_elements=["generated_from_location_id"])
        )
    f = features_of_interest
    made = {
        int(row.generated_from_location_id): (int(row.id), _box(row.min_x, row.min_y,
                                                                row.max_x, row.max_y))
        for row in conn.execute(select(f.c.id, f.c.generated_from_location_id, f.c.min_x,
                                       f.c.min_y, f.c.max_x, f.c.max_y)
                                .where(f.c.generated_from_location_id.in_(location_ids)))
    }
    for stream_id in stream_ids:
        target = targets[stream_id]
        if target.location_id in made:
            feature_id, box = made[target.location_id]
            targets[stream_id] = replace(target, feature_id=feature_id, feature_box=box)


def _feature_boxes(conn: Connection, feature_ids: set[int]) -> dict[int, Box | None]:
    """The bounding boxes of the FeaturesOfInterest that exist among ``feature_ids``."""
    wanted = [i for i in feature_ids if 0 < i <= MAX_ID]
    if not wanted:
        return {}
    f = features_of_interest
    query = select(f.c.id, f.c.min_x, f.c.min_y, f.c.max_x, f.c.max_y).where(f.c.id.in_(wanted))
    return {row.id: _box(row.min_x, row.min_y, row.max_x, row.max_y)
            for row in conn.execute(query)}


def _existing_dedup_keys(
    conn: Connection, pairs: set[tuple[int, str]]
) -> dict[tuple[int, str], int]:
    """Ids of Observations already stored under these (Datastream, key) pairs, in one query.

    The pairs arrive as one array (PostgreSQL unnest) or JSON document (SQLite json_each) that
    drives an index lookup on (datastream_id, dedup_key) per pair; a row-value IN is not
    planned that way.
    """
    ordered = sorted(pairs)
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT o.datastream_id, o.dedup_key, o.id "
            "FROM unnest(%(streams)s::int[], %(keys)s::text[]) AS k(stream, key) "
            "JOIN observations o ON o.datastream_id = k.stream AND o.dedup_key = k.key",
            {"streams": [s for s, _ in ordered], "keys": [k for _, k in ordered]},
        )
    else:
        # CROSS JOIN keeps the pairs as the outer loop in SQLite's planner.
        rows = conn.exec_driver_sql(
            "SELECT o.datastream_id, o.dedup_key, o.id FROM json_each(?) AS k "
            "CROSS JOIN observations AS o ON o.datastream_id = json_extract(k.value, '$[0]') "
            "AND o.dedup_key = json_extract(k.value, '$[1]')",
            (json.dumps(ordered),),
        )
    return {(int(stream), key): int(obs_id) for stream, key, obs_id in rows}


def write_observations(conn: Connection, rows: Sequence[NewObservation],
                       targets: dict[int, StreamTarget] | None = None) -> WriteResult:
    """Store ``rows`` in one batch; a bad row gets an error and the others are still stored.

    ``targets`` are the rows' Datastreams as ``stream_targets`` read them, when the caller
    already has them (CreateObservations checks access with them); read here otherwise.
    """
    outcomes = [RowOutcome() for _ in rows]
    if not rows:
        return WriteResult(outcomes)
    values: list[list[Any] | None] = []
    for i, row in enumerate(rows):
        try:
            values.append(_stored_values(row))
        except ValueError as error:
            outcomes[i].error = str(error)
            values.append(None)

    if targets is None:
        targets = stream_targets(conn, {r.datastream_id for r, v in zip(rows, values, strict=True)
                                        if v is not None})
    else:
        targets = dict(targets)  # features generated below are added to the caller's copy
    ungenerated = {
        r.datastream_id for r, v in zip(rows, values, strict=True)
        if v is not None and r.feature_of_interest_id is None and r.datastream_id in targets
        and targets[r.datastream_id].feature_id is None
    }
    if ungenerated:
        _generate_features(conn, targets, ungenerated)
    given_boxes = _feature_boxes(conn, {r.feature_of_interest_id for r in rows
                                        if r.feature_of_interest_id is not None})
    dedup_pairs = {(r.datastream_id, r.dedup_key) for r in rows
                   if r.dedup_key is not None and r.datastream_id in targets}
    seen_keys = _existing_dedup_keys(conn, dedup_pairs) if dedup_pairs else {}

    stored: list[list[Any]] = []
    positions: list[int] = []
    batch_keys: dict[tuple[int, str], int] = {}
    for i, (row, row_values) in enumerate(zip(rows, values, strict=True)):
        if row_values is None:
            continue
        target = targets.get(row.datastream_id)
        if target is None:
            outcomes[i].error = f"Datastream({row.datastream_id}) does not exist"
            continue
        feature_id = row.feature_of_interest_id
        if feature_id is None:
            feature_id = target.feature_id
            if feature_id is None:
                outcomes[i].error = (
                    f"no FeatureOfInterest given and Thing({target.thing_id}) has no Location "
                    "to generate one from: add a Location to the Thing or link a "
                    "FeatureOfInterest"
                )
                continue
        elif feature_id not in given_boxes:
            outcomes[i].error = f"FeatureOfInterest({feature_id}) does not exist"
            continue
        if row.dedup_key is not None:
            key = (row.datastream_id, row.dedup_key)
            if key in seen_keys:
                outcomes[i].id, outcomes[i].duplicate = seen_keys[key], True
                continue
            if key in batch_keys:
                outcomes[i].duplicate = True
                outcomes[i].id = -1 - batch_keys[key]  # resolved after the insert
                continue
            batch_keys[key] = len(stored)
        row_values[1] = feature_id
        stored.append(row_values)
        positions.append(i)

    if not stored:
        return WriteResult(outcomes)
    ids = _insert_rows(conn, stored)
    written: list[WrittenObservation] = []
    for position, new_id in zip(positions, ids, strict=True):
        outcomes[position].id = new_id
        row = rows[position]
        written.append(WrittenObservation(
            id=new_id, datastream_id=row.datastream_id,
            thing_id=targets[row.datastream_id].thing_id, phenomenon_time=row.phenomenon_time,
            phenomenon_time_end=row.phenomenon_time_end, result=row.result,
            result_time=row.result_time,
        ))
    for outcome in outcomes:
        if outcome.duplicate and outcome.id is not None and outcome.id < 0:
            outcome.id = written[-1 - outcome.id].id
    boxes = {**given_boxes, **{t.feature_id: t.feature_box for t in targets.values()
                               if t.feature_id is not None}}
    _update_summaries(conn, written, [v[1] for v in stored], boxes)
    return WriteResult(outcomes, written)


def _insert_rows(conn: Connection, rows: list[list[Any]]) -> list[int]:
    """Insert rows (in ``_COLUMNS`` order) in one statement and return their ids in order.

    PostgreSQL gets binary COPY (several times faster than a multi-row INSERT) with ids drawn
    from the sequence first; SQLite gets one executemany INSERT under the transaction's write
    lock.
    """
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "sqlite":
            return _sqlite_insert(cursor, rows)
        return _postgres_copy(cursor, rows)
    finally:
        cursor.close()


def _sqlite_insert(cursor: Any, rows: list[list[Any]]) -> list[int]:
    # One executemany without RETURNING: SQLAlchemy cannot batch INSERT ... RETURNING with
    # ordered ids on SQLite and would send one statement per row. The transaction holds
    # SQLite's single write lock, so the new rowids are consecutive up to the last one.
    # Values are stored as SQLAlchemy would: UTC text times, JSON text, 0/1 booleans.
    for values in rows:
        for position in _TIME_POSITIONS:
            if values[position] is not None:
                values[position] = _sqlite_time(values[position])
        if values[_BOOLEAN_POSITION] is not None:
            values[_BOOLEAN_POSITION] = int(values[_BOOLEAN_POSITION])
    cursor.executemany(
        f"INSERT INTO observations ({', '.join(_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in _COLUMNS)})",
        rows,
    )
    last = int(cursor.execute("SELECT last_insert_rowid()").fetchone()[0])
    return list(range(last - len(rows) + 1, last + 1))


def _postgres_copy(cursor: Any, rows: list[list[Any]]) -> list[int]:
    from psycopg.types.json import Jsonb

    cursor.execute("SELECT nextval(pg_get_serial_sequence('observations', 'id')) "
                   "FROM generate_series(1, %s)", (len(rows),))
    ids = [int(new_id) for (new_id,) in cursor.fetchall()]
    with cursor.copy(f"COPY observations (id, {', '.join(_COLUMNS)}) FROM STDIN "
                     "(FORMAT BINARY)") as copy:
        copy.set_types(_COPY_TYPES)
        for new_id, values in zip(ids, rows, strict=True):
            for position in _JSON_POSITIONS:
                if values[position] is not None:
                    values[position] = Jsonb(values[position], dumps=_already_json)
            copy.write_row((new_id, *values))
    return ids


def _already_json(text: str) -> str:
    return text


def _sqlite_time(value: datetime) -> str:
    # "YYYY-MM-DD HH:MM:SS.ffffff" in UTC, as SQLAlchemy stores it (the offset cut off).
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def _update_summaries(conn: Connection, written: Sequence[WrittenObservation],
                      feature_ids: Sequence[int], boxes: dict[int, Box | None]) -> None:
    """Fold a batch into each Datastream's summary with one UPDATE statement."""
    by_stream: dict[int, list[WrittenObservation]] = defaultdict(list)
    stream_features: dict[int, set[int]] = defaultdict(set)
    for obs, feature_id in zip(written, feature_ids, strict=True):
        by_stream[obs.datastream_id].append(obs)
        stream_features[obs.datastream_id].add(feature_id)
    updates = []
    for stream_id, items in by_stream.items():
        latest_time = max(o.phenomenon_time for o in items)
        result_times = [o.result_time for o in items if o.result_time is not None]
        stream_boxes = [box for box in (boxes.get(f) for f in stream_features[stream_id])
                        if box is not None]
        updates.append({
            "stream_id": stream_id,
            "n": len(items),
            "p_min": min(o.phenomenon_time for o in items),
            "p_max": max(o.phenomenon_time_end or o.phenomenon_time for o in items),
            "r_min": min(result_times) if result_times else None,
            "r_max": max(result_times) if result_times else None,
            "l_time": latest_time,
            "l_id": max(o.id for o in items if o.phenomenon_time == latest_time),
            "x0": min((b[0] for b in stream_boxes), default=None),
            "y0": min((b[1] for b in stream_boxes), default=None),
            "x1": max((b[2] for b in stream_boxes), default=None),
            "y1": max((b[3] for b in stream_boxes), default=None),
        })
    conn.execute(_SUMMARY_UPDATE, updates)
    _refresh_observed_area(conn, list(by_stream))


def _extend(column: Any, param: str, smaller: bool, type_: Any = None) -> Any:
    """CASE keeping the smaller (or larger) of the column and a bound value; NULLs ignored."""
    value = bindparam(param, type_=type_)
    better = value < column if smaller else value > column
    return case(
        (value.is_(None), column),
        (or_(column.is_(None), better), value),
        else_=column,
    )


_newer = or_(
    datastreams.c.latest_phenomenon_time.is_(None),
    bindparam("l_time", type_=UTCDateTime) > datastreams.c.latest_phenomenon_time,
    and_(
        bindparam("l_time", type_=UTCDateTime) == datastreams.c.latest_phenomenon_time,
        bindparam("l_id", type_=BigInteger()) > datastreams.c.latest_observation_id,
    ),
)

# Every SET expression reads the row's old values, so the update is atomic per Datastream even
# with concurrent writers; "latest" only moves to a later phenomenonTime.
_SUMMARY_UPDATE = (
    update(datastreams)
    .where(datastreams.c.id == bindparam("stream_id"))
    .values(
        observation_count=datastreams.c.observation_count + bindparam("n", type_=BigInteger()),
        phenomenon_time_start=_extend(datastreams.c.phenomenon_time_start, "p_min", True,
                                      UTCDateTime),
        phenomenon_time_end=_extend(datastreams.c.phenomenon_time_end, "p_max", False,
                                    UTCDateTime),
        result_time_start=_extend(datastreams.c.result_time_start, "r_min", True, UTCDateTime),
        result_time_end=_extend(datastreams.c.result_time_end, "r_max", False, UTCDateTime),
        latest_observation_id=case((_newer, bindparam("l_id", type_=BigInteger())),
                                   else_=datastreams.c.latest_observation_id),
        latest_phenomenon_time=case((_newer, bindparam("l_time", type_=UTCDateTime)),
                                    else_=datastreams.c.latest_phenomenon_time),
        min_x=_extend(datastreams.c.min_x, "x0", True, Float()),
        min_y=_extend(datastreams.c.min_y, "y0", True, Float()),
        max_x=_extend(datastreams.c.max_x, "x1", False, Float()),
        max_y=_extend(datastreams.c.max_y, "y1", False, Float()),
    )
)


def bbox_geometry(min_x: float, min_y: float, max_x: float, max_y: float) -> dict[str, Any]:
    """A GeoJSON Point or Polygon covering a bounding box."""
    if min_x == max_x and min_y == max_y:
        return {"type": "Point", "coordinates": [min_x, min_y]}
    return {
        "type": "Polygon",
        "coordinates": [[[min_x, min_y], [max_x, min_y], [max_x, max_y], [min_x, max_y],
                         [min_x, min_y]]],
    }


def _refresh_observed_area(conn: Connection, stream_ids: Iterable[int]) -> None:
    # observedArea is the bounding box of the Datastream's FeaturesOfInterest (OGC 18-088 8.2.4).
    ids = list(stream_ids)
    rows = conn.execute(
        select(datastreams.c.id, datastreams.c.min_x, datastreams.c.min_y, datastreams.c.max_x,
               datastreams.c.max_y, datastreams.c.observed_area)
        .where(datastreams.c.id.in_(ids))
    ).all()
    changes = []
    for row in rows:
        if row.min_x is None:
            continue
        area = bbox_geometry(row.min_x, row.min_y, row.max_x, row.max_y)
        if area != row.observed_area:
            changes.append({"stream_id": row.id, "area": area})
    if changes:
        conn.execute(
            update(datastreams)
            .where(datastreams.c.id == bindparam("stream_id"))
            .values(observed_area=bindparam("area")),
            changes,
        )


def refresh_datastream_summaries(conn: Connection, stream_ids: Iterable[int]) -> None:
    """Recompute summaries from the stored Observations (after deletes or updates)."""
    for stream_id in set(stream_ids):
        stats = conn.execute(
            select(
                func.count(),
                func.min(observations.c.phenomenon_time_start),
                func.max(func.coalesce(observations.c.phenomenon_time_end,
                                       observations.c.phenomenon_time_start)),
                func.min(observations.c.result_time),
                func.max(observations.c.result_time),
            ).where(observations.c.datastream_id == stream_id)
        ).one()
        latest = conn.execute(
            select(observations.c.id, observations.c.phenomenon_time_start)
            .where(observations.c.datastream_id == stream_id)
            .order_by(observations.c.phenomenon_time_start.desc(), observations.c.id.desc())
            .limit(1)
        ).first()
        box = conn.execute(
            select(func.min(features_of_interest.c.min_x), func.min(features_of_interest.c.min_y),
                   func.max(features_of_interest.c.max_x), func.max(features_of_interest.c.max_y))
            .where(features_of_interest.c.id.in_(
                select(observations.c.feature_of_interest_id)
                .where(observations.c.datastream_id == stream_id)
                .distinct()
            ))
        ).one()
        p_min = _as_utc(stats[1])
        p_max = _as_utc(stats[2])
        conn.execute(
            update(datastreams).where(datastreams.c.id == stream_id).values(
                observation_count=stats[0],
                phenomenon_time_start=p_min,
                phenomenon_time_end=p_max,
                result_time_start=_as_utc(stats[3]),
                result_time_end=_as_utc(stats[4]),
                latest_observation_id=latest.id if latest else None,
                latest_phenomenon_time=latest.phenomenon_time_start if latest else None,
                min_x=box[0], min_y=box[1], max_x=box[2], max_y=box[3],
                observed_area=bbox_geometry(*box) if box[0] is not None else None,
            )
        )


def _as_utc(value: Any) -> datetime | None:
    """Aggregates bypass the column type on SQLite (strings come back): parse them."""
    if value is None or isinstance(value, datetime):
        return UTCDateTime().process_result_value(value, None)
    return UTCDateTime().process_result_value(datetime.fromisoformat(str(value)), None)
