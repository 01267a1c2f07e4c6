"""Observations partitioned by month on PostgreSQL (opt-in): conversion, months ahead, retention.

``placehub db partition`` turns the ``observations`` table into a declaratively partitioned one
(RANGE on ``phenomenon_time_start``, one partition per calendar month, UTC) with the same
indexes on every partition, and creates the months ahead; a default partition takes readings
of months that have none yet (a late backfill), and the next run gives those their own month.
Retention drops a whole month: detach, then drop, which takes milliseconds whatever its size.
SQLite keeps one table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from time import monotonic
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, text

from placehub.errors import BadRequest

DEFAULT_PARTITION = "observations_other"
_NAME = re.compile(r"^observations_(\d{4})_(\d{2})$")
# The indexes of the unpartitioned table, on every partition. A unique index of a partitioned
# table must hold the partition key: an uplink's Observations share its time, so the dedup key
# still identifies them.
_INDEXES = (
    "CREATE INDEX ix_observations_datastream_time "
    "ON observations (datastream_id, phenomenon_time_start, id)",
    "CREATE INDEX ix_observations_feature_of_interest_id ON observations (feature_of_interest_id)",
    "CREATE UNIQUE INDEX uq_observations_datastream_dedup "
    "ON observations (datastream_id, dedup_key, phenomenon_time_start)",
)


@dataclass(frozen=True)
class MonthPartition:
    """One month's partition and about how many rows it holds (the planner's estimate)."""

    name: str
    month: date
    rows: int


def month_of(moment: datetime | date) -> date:
    """The first day of the month ``moment`` falls in (UTC)."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return moment.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"observations_{month:%Y_%m}"


def parse_month(value: str) -> date:
    """A month given as YYYY-MM; BadRequest says how to write it."""
    try:
        return datetime.strptime(value.strip(), "%Y-%m").date()
    except ValueError:
        raise BadRequest(f"month {value!r}: write it as YYYY-MM, e.g. 2026-01") from None


def _require_postgresql(conn: Connection) -> None:
    if conn.dialect.name != "postgresql":
        raise BadRequest("Observations are partitioned on PostgreSQL only; SQLite keeps one "
                         "table")


def is_partitioned(conn: Connection) -> bool:
    """Whether ``observations`` is a partitioned table."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(text(
        "SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass('observations')")).scalar()
    return kind == "p"


# Engines whose Observations were found partitioned, and when that was checked: reads ask on
# every page, and a conversion by ``placehub db partition`` is seen within the minute.
_PARTITIONED: WeakKeyDictionary[Engine, tuple[float, bool]] = WeakKeyDictionary()
PARTITIONED_CHECK_SECONDS = 60.0


def observations_partitioned(conn: Connection) -> bool:
    """``is_partitioned``, asked of the database at most once a minute per engine."""
    if conn.dialect.name != "postgresql":
        return False
    checked = _PARTITIONED.get(conn.engine)
    now = monotonic()
    if checked is None or now - checked[0] > PARTITIONED_CHECK_SECONDS:
        checked = _PARTITIONED[conn.engine] = (now, is_partitioned(conn))
    return checked[1]


def list_partitions(conn: Connection) -> list[MonthPartition]:
    """The month partitions, oldest first."""
    if not is_partitioned(conn):
        return []
    rows = conn.execute(text(
        "SELECT c.relname, greatest(c.reltuples, 0)::bigint FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass('observations') ORDER BY c.relname"))
    found = []
    for name, estimate in rows:
        match = _NAME.match(name)
        if match:
            found.append(MonthPartition(name, date(int(match[1]), int(match[2]), 1),
                                        int(estimate)))
    return found


def _bounds(month: date) -> dict[str, datetime]:
    end = next_month(month)
    return {"start": datetime(month.year, month.month, 1, tzinfo=UTC),
            "end": datetime(end.year, end.month, 1, tzinfo=UTC)}


def add_month(conn: Connection, month: date) -> bool:
    """Give ``month`` its own partition (moving its rows out of the default one); False when it
    has one already."""
    name = partition_name(month)
    if conn.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar() is not None:
        return False
    bounds = _bounds(month)
    conn.execute(text(f"CREATE TABLE {name} (LIKE observations INCLUDING DEFAULTS "
                      "INCLUDING CONSTRAINTS)"))
    # Rows of this month that went to the default partition move first: attaching checks the
    # default partition holds none of the new range.
    conn.execute(text(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE phenomenon_time_start >= :start "
        f"AND phenomenon_time_start < :end RETURNING *) INSERT INTO {name} SELECT * FROM moved"),
        bounds)
    start, end = (bounds["start"].isoformat(), bounds["end"].isoformat())
    conn.execute(text(f"ALTER TABLE observations ATTACH PARTITION {name} "
                      f"FOR VALUES FROM ('{start}') TO ('{end}')"))
    return True


def ensure_months(conn: Connection, now: datetime, months_ahead: int = 3) -> list[date]:
    """Partitions for this month, the next ``months_ahead`` and any month whose readings wait
    in the default partition; returns the months added."""
    _require_postgresql(conn)
    if months_ahead < 0:
        raise BadRequest(f"months ahead {months_ahead}: give 0 or more")
    months = [month_of(now)]
    for _ in range(months_ahead):
        months.append(next_month(months[-1]))
    waiting = conn.execute(text(
        f"SELECT DISTINCT date_trunc('month', phenomenon_time_start AT TIME ZONE 'UTC')::date "
        f"FROM {DEFAULT_PARTITION}")).scalars().all()
    added = []
    for month in sorted(set(months) | set(waiting)):
        if add_month(conn, month):
            added.append(month)
    return added


def partition_observations(conn: Connection, now: datetime, months_ahead: int = 3,
                           keep_unpartitioned: bool = False) -> int:
    """Turn ``observations`` into a table partitioned by month (in the caller's transaction);
    returns the rows moved (0 when it was partitioned already: then only months are added).

    ``keep_unpartitioned`` keeps the old table as ``observations_unpartitioned`` (to compare).
    """
    _require_postgresql(conn)
    if is_partitioned(conn):
        ensure_months(conn, now, months_ahead)
        return 0
    conn.execute(text("LOCK TABLE observations IN ACCESS EXCLUSIVE MODE"))
    first, last = conn.execute(text(
        "SELECT min(phenomenon_time_start), max(phenomenon_time_start) FROM observations")).one()
    conn.execute(text(
        "CREATE TABLE observations_by_month (LIKE observations INCLUDING DEFAULTS "
        "INCLUDING CONSTRAINTS) PARTITION BY RANGE (phenomenon_time_start)"))
    conn.execute(text(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF observations_by_month "
                      "DEFAULT"))
    months: list[date] = []
    if first is not None:
        month = month_of(first)
        while month <= month_of(last):
            months.append(month)
            month = next_month(month)
    for month in months:
        start, end = (b.isoformat() for b in _bounds(month).values())
        conn.execute(text(f"CREATE TABLE {partition_name(month)} PARTITION OF "
                          f"observations_by_month FOR VALUES FROM ('{start}') TO ('{end}')"))
    moved = conn.execute(text(
        "INSERT INTO observations_by_month SELECT * FROM observations")).rowcount
    conn.execute(text("ALTER SEQUENCE observations_id_seq OWNED BY observations_by_month.id"))
    if keep_unpartitioned:
        conn.execute(text("ALTER TABLE observations RENAME TO observations_unpartitioned"))
        for index in conn.execute(text(
                "SELECT indexname FROM pg_indexes WHERE tablename = "
                "'observations_unpartitioned'")).scalars().all():
            conn.execute(text(f"ALTER INDEX {index} RENAME TO {index}_unpartitioned"))
    else:
        conn.execute(text("DROP TABLE observations"))
    conn.execute(text("ALTER TABLE observations_by_month RENAME TO observations"))
    conn.execute(text("ALTER TABLE observations ADD CONSTRAINT pk_observations "
                      "PRIMARY KEY (id, phenomenon_time_start)"))
    conn.execute(text(
        "ALTER TABLE observations ADD CONSTRAINT fk_observations_datastream_id_datastreams "
        "FOREIGN KEY (datastream_id) REFERENCES datastreams (id) ON DELETE CASCADE"))
    conn.execute(text(
        "ALTER TABLE observations ADD CONSTRAINT "
        "fk_observations_feature_of_interest_id_features_of_interest FOREIGN KEY "
        "(feature_of_interest_id) REFERENCES features_of_interest (id) ON DELETE CASCADE"))
    for statement in _INDEXES:
        conn.execute(text(statement))
    ensure_months(conn, now, months_ahead)
    conn.execute(text("ANALYZE observations"))
    _PARTITIONED.pop(conn.engine, None)  # this process's reads see the change at once
    return int(moved)


def drop_month(conn: Connection, month: date) -> int:
    """Drop a month of Observations (detach, then drop its partition); returns about how many
    rows it held.

    Datastreams whose time range started in that month start at the next one; one whose
    latest Observation was in it has none recorded until its next reading.
    """
    _require_postgresql(conn)
    if not is_partitioned(conn):
        raise BadRequest("Observations are not partitioned: run 'placehub db partition' first "
                         "(or purge by time)")
    found = {p.month: p for p in list_partitions(conn)}
    if month not in found:
        months = ", ".join(f"{m:%Y-%m}" for m in sorted(found)) or "none"
        raise BadRequest(f"no partition for {month:%Y-%m}; partitions: {months}")
    if month >= month_of(datetime.now(UTC)):
        raise BadRequest(f"{month:%Y-%m} is the current month or later: only past months are "
                         "dropped")
    name = found[month].name
    conn.execute(text(f"ALTER TABLE observations DETACH PARTITION {name}"))
    conn.execute(text(f"DROP TABLE {name}"))
    end = _bounds(month)["end"]
    conn.execute(text(
        "UPDATE datastreams SET phenomenon_time_start = :end WHERE phenomenon_time_start < :end "
        "AND phenomenon_time_end >= :end"), {"end": end})
    conn.execute(text(
        "UPDATE datastreams SET latest_observation_id = NULL WHERE latest_phenomenon_time < :end"
    ), {"end": end})
    return found[month].rows
