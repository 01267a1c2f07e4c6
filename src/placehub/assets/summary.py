"""Assets as the pages and the API list them: each Thing with its type, position, latest
readings, level and status (judged by ``placehub.assets.status`` against its own thresholds),
filtered by what the viewer may read.

Reads the SensorThings tables through SQLAlchemy Core; the latest value of each Datastream is the
materialised ``latest_observation_id``, so listing 10,000 assets never scans history.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from placehub.access.service import Principal
from placehub.access.visibility import visible_clause
from placehub.assets.levels import Level, Reading, level_of
from placehub.assets.status import STATUS_LABELS, past_the_line, status_of
from placehub.assets.thresholds import ThresholdBook, Thresholds, load_book
from placehub.assets.types import ASSET_TYPES, asset_type_label, asset_type_of
from placehub.errors import BadRequest, NotFound
from placehub.places.assign import thing_positions
from placehub.rounds.tables import rounds_service_events
from placehub.sta.tables import datastreams, observations, things

LOW_BATTERY_VOLTS = 3.3
LOW_BATTERY_PERCENT = 20.0
# A sensor's health, worst first: what the device list and the overview's counts show.
SENSOR_HEALTH_LABELS = {"no-data": "No data", "silent": "Silent", "low-battery": "Low battery",
                        "ok": "OK"}


@dataclass
class AssetSummary:
    """One asset as the map, tables, overview and ``/api/assets`` show it."""

    id: int
    name: str
    asset_type: str
    visibility: str
    organisation_id: int
    lon: float | None
    lat: float | None
    readings: dict[str, Reading] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)
    last_service: datetime | None = None
    status: str = "no-data"
    level: Level | None = None
    last_seen: datetime | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def type_label(self) -> str:
        return asset_type_label(self.asset_type)

    @property
    def level_kind(self) -> str | None:
        known = ASSET_TYPES.get(self.asset_type)
        return known.level if known else None

    @property
    def needs_service_now(self) -> bool:
        """Past its line (full, dry): the rounds planner makes it a mandatory stop."""
        return past_the_line(self.status)

    @property
    def fill_fraction(self) -> float | None:
        """A bin's fill (0 empty, 1 at its full line); None for other assets."""
        return self.level.value if self.level is not None and self.level_kind == "fill" \
            else None

    @property
    def fill_percent(self) -> int | None:
        # Shown up to 100%: an ultrasonic sensor cannot see how far a heap rises above full.
        fill = self.fill_fraction
        return None if fill is None else round(min(fill, 1.0) * 100)

    @property
    def battery(self) -> Reading | None:
        return self.readings.get("battery_percent") or self.readings.get("battery_voltage")

    @property
    def battery_low(self) -> bool:
        battery = self.battery
        if battery is None or not isinstance(battery.value, int | float):
            return False
        if battery.quantity == "battery_percent":
            return float(battery.value) < LOW_BATTERY_PERCENT
        return float(battery.value) < LOW_BATTERY_VOLTS


    @property
    def sensor_health(self) -> str:
        """``no-data`` or ``silent`` (the asset's status), else ``low-battery`` or ``ok``."""
        if self.status in ("no-data", "silent"):
            return self.status
        return "low-battery" if self.battery_low else "ok"

    @property
    def sensor_health_label(self) -> str:
        return SENSOR_HEALTH_LABELS[self.sensor_health]


def classify(asset: AssetSummary, now: datetime) -> None:
    """Set the asset's level, last reading time and status from its latest readings."""
    times = [r.time for r in asset.readings.values() if r.time is not None]
    asset.last_seen = max(times) if times else None
    asset.level = level_of(asset.asset_type, asset.properties, asset.readings)
    asset.status = status_of(asset.level_kind, asset.level, asset.last_seen, asset.thresholds,
                             now, asset.last_service)


def _result(row: Any) -> Any:
    for column in ("result_number", "result_boolean", "result_string", "result_json"):
        value = getattr(row, column, None)
        if value is not None:
            return value
    return None


def list_assets(
    conn: Connection,
    principal: Principal,
    now: datetime,
    *,
    asset_type: str | None = None,
    status: str | None = None,
    thing_ids: list[int] | None = None,
    book: ThresholdBook | None = None,
) -> list[AssetSummary]:
    """Every asset ``principal`` may read, with readings and status, ordered by name.

    ``book`` holds the organisations' threshold overrides (read from the database if not given).
    """
    visible = visible_clause(principal, things.c.organisation_id, things.c.visibility)
    query = select(things).where(visible).order_by(things.c.name, things.c.id)
    if thing_ids is not None:
        query = query.where(things.c.id.in_(thing_ids or [-1]))
    book = book if book is not None else load_book(conn)
    assets: dict[int, AssetSummary] = {}
    for row in conn.execute(query):
        properties = dict(row.properties or {})
        kind = asset_type_of(properties)
        if asset_type and kind != asset_type:
            continue
        assets[row.id] = AssetSummary(
            id=row.id, name=row.name, asset_type=kind, visibility=row.visibility,
            organisation_id=row.organisation_id, lon=None, lat=None, properties=properties,
            thresholds=book.for_asset(kind, row.organisation_id, properties),
        )
    if not assets:
        return []
    ids = list(assets)
    for chunk in _chunks(ids):
        for thing_id, latest in conn.execute(
            select(rounds_service_events.c.thing_id, func.max(rounds_service_events.c.time))
            .where(rounds_service_events.c.thing_id.in_(chunk))
            .group_by(rounds_service_events.c.thing_id)
        ):
            assets[thing_id].last_service = latest
        for thing_id, (lon, lat) in thing_positions(conn, chunk).items():
            assets[thing_id].lon, assets[thing_id].lat = lon, lat
        stream_rows = conn.execute(
            select(
                datastreams.c.id, datastreams.c.thing_id, datastreams.c.name,
                datastreams.c.properties, datastreams.c.unit_of_measurement,
                datastreams.c.observation_count,
                observations.c.phenomenon_time_start, observations.c.result_number,
                observations.c.result_boolean, observations.c.result_string,
                observations.c.result_json,
            )
            .outerjoin(observations, observations.c.id == datastreams.c.latest_observation_id)
            .where(datastreams.c.thing_id.in_(chunk))
        )
        for row in stream_rows:
            reading = _reading(row)
            assets[row.thing_id].readings[reading.quantity] = reading
    result = []
    for asset in assets.values():
        classify(asset, now)
        if status and asset.status != status:
            continue
        result.append(asset)
    return result


def _reading(row: Any) -> Reading:
    properties = row.properties or {}
    unit = row.unit_of_measurement or {}
    return Reading(
        datastream_id=row.id, name=row.name,
        quantity=str(properties.get("quantity") or row.name),
        unit=str(unit.get("symbol") or unit.get("name") or ""),
        value=_result(row), time=row.phenomenon_time_start,
        observation_count=int(row.observation_count or 0),
    )


def _chunks(ids: list[int], size: int = 900) -> list[list[int]]:
    # SQLite limits the number of bound parameters in one statement.
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def get_asset(conn: Connection, principal: Principal, thing_id: int, now: datetime) -> AssetSummary:
    """One asset, or NotFound when it does not exist or the viewer may not read it."""
    found = list_assets(conn, principal, now, thing_ids=[thing_id])
    if not found:
        raise NotFound(f"asset {thing_id} not found: it may have been removed, or you may need "
                       "to sign in to see it")
    return found[0]


def reading_history(
    conn: Connection, principal: Principal, datastream_id: int, since: datetime, limit: int = 5000,
    until: datetime | None = None,
) -> list[tuple[datetime, Any]]:
    """Observations of one Datastream since ``since`` (and before ``until``), oldest first (the
    newest ``limit``), if the viewer may read it."""
    visible = visible_clause(principal, things.c.organisation_id, things.c.visibility)
    allowed = conn.execute(
        select(datastreams.c.id).join(things, things.c.id == datastreams.c.thing_id)
        .where(and_(datastreams.c.id == datastream_id, visible))
    ).first()
    if allowed is None:
        raise NotFound(f"datastream {datastream_id} not found")
    rows = conn.execute(
        select(observations.c.phenomenon_time_start, observations.c.result_number,
               observations.c.result_boolean, observations.c.result_string,
               observations.c.result_json)
        .where(observations.c.datastream_id == datastream_id,
               observations.c.phenomenon_time_start >= since,
               *([observations.c.phenomenon_time_start < until] if until is not None else []))
        .order_by(observations.c.phenomenon_time_start.desc())
        .limit(limit)
    ).all()
    return [(row.phenomenon_time_start, _result(row)) for row in reversed(rows)]


def numeric_readings(asset: AssetSummary) -> list[Reading]:
    """The asset's readings with a number as their latest value, by quantity."""
    return sorted((r for r in asset.readings.values()
                   if isinstance(r.value, int | float) and not isinstance(r.value, bool)),
                  key=lambda r: r.quantity)


def history_table(conn: Connection, principal: Principal, asset: AssetSummary,
                  start: datetime, end: datetime, limit: int = 50_000
                  ) -> tuple[list[Reading], list[dict[str, Any]]]:
    """Every numeric reading of ``asset`` from ``start`` to before ``end`` as one row per time
    with one column per quantity (an air station's pollutants side by side), oldest first; each
    Datastream read through ``reading_history`` (so with its access check). A quantity with
    more than ``limit`` readings in the range is a 400 asking for fewer days, never a file cut
    short without saying so."""
    columns = numeric_readings(asset)
    by_time: dict[datetime, dict[str, Any]] = {}
    for reading in columns:
        found = reading_history(conn, principal, reading.datastream_id, start, limit + 1,
                                until=end)
        if len(found) > limit:
            raise BadRequest(f"{reading.quantity} has over {limit:,} readings in this range: "
                             "ask for fewer days")
        for at, value in found:
            by_time.setdefault(at, {"time": at})[reading.quantity] = value
    return columns, [by_time[at] for at in sorted(by_time)]


def counts_by_type_and_status(assets: list[AssetSummary]) -> list[dict[str, Any]]:
    """Rows of (type, count per status, total) for the overview table."""
    by_type: dict[str, Counter[str]] = {}
    for asset in assets:
        by_type.setdefault(asset.asset_type, Counter())[asset.status] += 1
    return [
        {"type": asset_type_label(kind), "asset_type": kind, "counts": counts,
         "total": sum(counts.values())}
        for kind, counts in sorted(by_type.items())
    ]


def sensor_health(assets: list[AssetSummary]) -> dict[str, int]:
    """How many assets report, are silent, never reported, or have a low battery."""
    return {
        "reporting": sum(1 for a in assets if a.status not in {"silent", "no-data"}),
        "silent": sum(1 for a in assets if a.status == "silent"),
        "no_data": sum(1 for a in assets if a.status == "no-data"),
        "low_battery": sum(1 for a in assets if a.battery_low),
    }
