"""The one batched write path for Observations.

SensorThings POSTs, CreateObservations, LoRaWAN ingest, air-quality imports and the demo back-fill
all come through ``write_observations``: one multi-row INSERT per call, a result per row in
request order, and each Datastream's summary (latest Observation, time ranges, count, observed
area) kept current in the same transaction, never moved backwards by a late Observation.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Float,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)

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


def split_result(result: Any) -> dict[str, Any]:
    """The typed result columns for ``result``; raises ValueError for impossible values."""
    columns: dict[str, Any] = {
        "result_type": RESULT_NULL,
        "result_number": None,
        "result_boolean": None,
        "result_string": None,
        "result_json": None,
    }
    if result is None:
        return columns
    if isinstance(result, bool):
        columns.update(result_type=RESULT_BOOLEAN, result_boolean=result)
    elif isinstance(result, int | float):
        if not math.isfinite(result):
            raise ValueError(f"result {result!r} is not a finite number")
        columns.update(result_type=RESULT_NUMBER, result_number=float(result))
    elif isinstance(result, str):
        columns.update(result_type=RESULT_STRING, result_string=result)
    elif isinstance(result, dict | list):
        columns.update(result_type=RESULT_JSON, result_json=result)
    else:
        raise ValueError(f"result of type {type(result).__name__} cannot be stored")
    return columns


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


def _validate(row: NewObservation) -> dict[str, Any]:
    for name in ("phenomenon_time", "phenomenon_time_end", "result_time",
                 "valid_time_start", "valid_time_end"):
        _check_time(name, getattr(row, name))
    if row.phenomenon_time is None:
        raise ValueError("phenomenonTime is required")
    if row.phenomenon_time_end is not None and row.phenomenon_time_end < row.phenomenon_time:
        raise ValueError("phenomenonTime interval ends before it starts")
    if (row.valid_time_start is None) != (row.valid_time_end is None):
        raise ValueError("validTime needs both a start and an end")
    return split_result(row.result)


def _thing_feature_ids(conn: Connection, thing_ids: set[int]) -> dict[int, int]:
    """Thing id -> FeatureOfInterest generated from its current Location (created if needed)."""
    if not thing_ids:
        return {}
    # A Thing's current Location is the newest one linked to it.
    current = dict(
        conn.execute(
            select(thing_locations.c.thing_id, func.max(thing_locations.c.location_id))
            .where(thing_locations.c.thing_id.in_(thing_ids))
            .group_by(thing_locations.c.thing_id)
        ).all()
    )
    location_ids = set(current.values())
    existing: dict[int, int] = {}
    if location_ids:
        for feature_id, location_id in conn.execute(
            select(features_of_interest.c.id, features_of_interest.c.generated_from_location_id)
            .where(features_of_interest.c.generated_from_location_id.in_(location_ids))
            .order_by(features_of_interest.c.id)
        ):
            existing.setdefault(location_id, feature_id)
        missing = location_ids - set(existing)
        if missing:
            for loc in conn.execute(select(locations).where(locations.c.id.in_(missing))):
                result = conn.execute(
                    insert(features_of_interest).values(
                        name=loc.name,
                        description=loc.description or f"Generated from Location {loc.id}",
                        encoding_type=loc.encoding_type,
                        feature=loc.location,
                        organisation_id=loc.organisation_id,
                        generated_from_location_id=loc.id,
                        min_x=loc.min_x, min_y=loc.min_y, max_x=loc.max_x, max_y=loc.max_y,
                    )
                )
                existing[loc.id] = int(result.inserted_primary_key[0])  # type: ignore[index]
    return {thing: existing[location] for thing, location in current.items()}


def _existing_dedup_keys(
    conn: Connection, pairs: set[tuple[int, str]]
) -> dict[tuple[int, str], int]:
    """Ids of Observations already stored under these (Datastream, key) pairs.

    Grouped per Datastream so each lookup is an index range on (datastream_id, dedup_key); a
    row-value IN over pairs is not planned as one on PostgreSQL.
    """
    by_stream: dict[int, list[str]] = defaultdict(list)
    for stream_id, key in pairs:
        by_stream[stream_id].append(key)
    found: dict[tuple[int, str], int] = {}
    for stream_id, keys in by_stream.items():
        keys.sort()
        if conn.dialect.name == "postgresql":
            # A join on unnest(array) is planned as a hash or index join; a long IN list of
            # parameters is compared row by row when the planner expects a small table.
            rows = conn.exec_driver_sql(
                "SELECT o.dedup_key, o.id FROM observations o "
                "JOIN unnest(%(keys)s::text[]) AS k(key) ON o.dedup_key = k.key "
                "WHERE o.datastream_id = %(stream)s",
                {"keys": keys, "stream": stream_id},
            )
            found.update(((stream_id, key), obs_id) for key, obs_id in rows)
            continue
        for start in range(0, len(keys), 1000):
            query = select(observations.c.dedup_key, observations.c.id).where(
                observations.c.datastream_id == stream_id,
                observations.c.dedup_key.in_(keys[start:start + 1000]),
            )
            for key, obs_id in conn.execute(query):
                found[(stream_id, key)] = obs_id
    return found


def write_observations(conn: Connection, rows: Sequence[NewObservation]) -> WriteResult:
    """Store ``rows`` in one batch; a bad row gets an error and the others are still stored."""
    outcomes = [RowOutcome() for _ in rows]
    if not rows:
        return WriteResult(outcomes)
    typed: list[dict[str, Any] | None] = []
    for i, row in enumerate(rows):
        try:
            typed.append(_validate(row))
        except ValueError as error:
            outcomes[i].error = str(error)
            typed.append(None)

    wanted_streams = {r.datastream_id for r, t in zip(rows, typed, strict=True) if t is not None}
    stream_things = dict(
        conn.execute(
            select(datastreams.c.id, datastreams.c.thing_id).where(
                datastreams.c.id.in_(wanted_streams)
            )
        ).all()
    ) if wanted_streams else {}

    given_features = {
        r.feature_of_interest_id for r in rows if r.feature_of_interest_id is not None
    }
    known_features = set(
        conn.execute(
            select(features_of_interest.c.id).where(features_of_interest.c.id.in_(given_features))
        ).scalars()
    ) if given_features else set()

    needs_generated = {
        stream_things[r.datastream_id]
        for r, t in zip(rows, typed, strict=True)
        if t is not None and r.feature_of_interest_id is None and r.datastream_id in stream_things
    }
    generated = _thing_feature_ids(conn, needs_generated)

    dedup_pairs = {
        (r.datastream_id, r.dedup_key) for r in rows if r.dedup_key is not None
    }
    seen_keys = _existing_dedup_keys(conn, dedup_pairs) if dedup_pairs else {}

    params: list[dict[str, Any]] = []
    positions: list[int] = []
    batch_keys: dict[tuple[int, str], int] = {}
    for i, (row, columns) in enumerate(zip(rows, typed, strict=True)):
        if columns is None:
            continue
        thing_id = stream_things.get(row.datastream_id)
        if thing_id is None:
            outcomes[i].error = f"Datastream({row.datastream_id}) does not exist"
            continue
        feature_id = row.feature_of_interest_id
        if feature_id is not None and feature_id not in known_features:
            outcomes[i].error = f"FeatureOfInterest({feature_id}) does not exist"
            continue
        if feature_id is None:
            feature_id = generated.get(thing_id)
            if feature_id is None:
                outcomes[i].error = (
                    f"no FeatureOfInterest given and Thing({thing_id}) has no Location to "
                    "generate one from: add a Location to the Thing or link a FeatureOfInterest"
                )
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
            batch_keys[key] = len(params)
        params.append({
            "datastream_id": row.datastream_id,
            "feature_of_interest_id": feature_id,
            "phenomenon_time_start": row.phenomenon_time,
            "phenomenon_time_end": row.phenomenon_time_end,
            "result_time": row.result_time,
            "valid_time_start": row.valid_time_start,
            "valid_time_end": row.valid_time_end,
            "result_quality": row.result_quality,
            "parameters": row.parameters,
            "dedup_key": row.dedup_key,
            **columns,
        })
        positions.append(i)

    written: list[WrittenObservation] = []
    if params:
        ids = _insert_rows(conn, params)
        for position, new_id in zip(positions, ids, strict=True):
            outcomes[position].id = int(new_id)
            row = rows[position]
            written.append(
                WrittenObservation(
                    id=int(new_id),
                    datastream_id=row.datastream_id,
                    thing_id=stream_things[row.datastream_id],
                    phenomenon_time=row.phenomenon_time,
                    phenomenon_time_end=row.phenomenon_time_end,
                    result=row.result,
                    result_time=row.result_time,
                )
            )
        for outcome in outcomes:
            if outcome.duplicate and outcome.id is not None and outcome.id < 0:
                outcome.id = written[-1 - outcome.id].id
        _update_summaries(conn, written, params)
    return WriteResult(outcomes, written)


_COPY_COLUMNS = [c.name for c in observations.columns]
_JSON_COLUMNS = {"result_json", "result_quality", "parameters"}


def _insert_rows(conn: Connection, params: list[dict[str, Any]]) -> list[int]:
    """Insert rows in one statement and return their ids in order.

    PostgreSQL gets COPY (several times faster than a multi-row INSERT) with ids drawn from the
    sequence first; SQLite gets one executemany INSERT under the transaction's write lock.
    """
    if conn.dialect.name == "sqlite":
        # One executemany without RETURNING: SQLAlchemy cannot batch INSERT ... RETURNING with
        # ordered ids on SQLite and would send one statement per row. The transaction holds
        # SQLite's single write lock, so the new rowids are consecutive up to the last one.
        # Values are converted here, not per row by SQLAlchemy's bind processors (3x faster).
        columns = [name for name in _COPY_COLUMNS if name != "id"]
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.executemany(
            f"INSERT INTO observations ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            _sqlite_rows(columns, params),
        )
        last = int(cursor.execute("SELECT last_insert_rowid()").fetchone()[0])
        cursor.close()
        return list(range(last - len(params) + 1, last + 1))
    if len(params) < 50:
        return [int(i) for i in conn.execute(
            insert(observations).returning(observations.c.id, sort_by_parameter_order=True),
            params,
        ).scalars().all()]
    from psycopg.types.json import Jsonb

    ids = [int(i) for i in conn.exec_driver_sql(
        "SELECT nextval(pg_get_serial_sequence('observations', 'id')) "
        f"FROM generate_series(1, {len(params)})"
    ).scalars().all()]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    copy_columns = ", ".join(_COPY_COLUMNS)
    with cursor.copy(f"COPY observations ({copy_columns}) FROM STDIN") as copy:
        for new_id, row in zip(ids, params, strict=True):
            copy.write_row([
                new_id if name == "id"
                else (Jsonb(row.get(name)) if name in _JSON_COLUMNS and row.get(name) is not None
                      else row.get(name))
                for name in _COPY_COLUMNS
            ])
    return ids


def _sqlite_time(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_rows(columns: list[str], params: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows as SQLAlchemy would store them on SQLite: UTC text times, JSON text, 0/1; JSON None
    is SQL NULL (as COPY writes it on PostgreSQL)."""
    time_columns = {c.name for c in observations.columns if isinstance(c.type, UTCDateTime)}
    converters: list[Any] = [
        _sqlite_time if name in time_columns
        else json.dumps if name in _JSON_COLUMNS
        else int if name == "result_boolean"
        else None
        for name in columns
    ]
    rows = []
    for row in params:
        values = []
        for name, convert in zip(columns, converters, strict=True):
            value = row.get(name)
            values.append(value if convert is None or value is None else convert(value))
        rows.append(tuple(values))
    return rows


def _update_summaries(
    conn: Connection, written: Sequence[WrittenObservation], params: Sequence[dict[str, Any]]
) -> None:
    """Fold a batch into each Datastream's summary with one UPDATE statement."""
    by_stream: dict[int, list[tuple[WrittenObservation, int]]] = defaultdict(list)
    for obs, param in zip(written, params, strict=True):
        by_stream[obs.datastream_id].append((obs, param["feature_of_interest_id"]))
    feature_ids = {f for items in by_stream.values() for _, f in items}
    boxes = {
        row.id: (row.min_x, row.min_y, row.max_x, row.max_y)
        for row in conn.execute(
            select(features_of_interest.c.id, features_of_interest.c.min_x,
                   features_of_interest.c.min_y, features_of_interest.c.max_x,
                   features_of_interest.c.max_y)
            .where(features_of_interest.c.id.in_(feature_ids))
        )
    }
    updates = []
    for stream_id, items in by_stream.items():
        starts = [o.phenomenon_time for o, _ in items]
        ends = [o.phenomenon_time_end or o.phenomenon_time for o, _ in items]
        result_times = [o.result_time for o, _ in items if o.result_time is not None]
        latest = max((o for o, _ in items), key=lambda o: (o.phenomenon_time, o.id))
        stream_boxes = [boxes[f] for _, f in items if boxes.get(f) and None not in boxes[f]]
        updates.append({
            "stream_id": stream_id,
            "n": len(items),
            "p_min": min(starts),
            "p_max": max(ends),
            "r_min": min(result_times) if result_times else None,
            "r_max": max(result_times) if result_times else None,
            "l_time": latest.phenomenon_time,
            "l_id": latest.id,
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


def datastream_owners(conn: Connection, stream_ids: Iterable[int]) -> dict[int, tuple[int, str]]:
    """Datastream id -> (organisation id, visibility) of its Thing, for access checks."""
    ids = list(set(stream_ids))
    if not ids:
        return {}
    query = (
        select(datastreams.c.id, things.c.organisation_id, things.c.visibility)
        .join(things, things.c.id == datastreams.c.thing_id)
        .where(datastreams.c.id.in_(ids))
    )
    return {row.id: (row.organisation_id, row.visibility) for row in conn.execute(query)}
