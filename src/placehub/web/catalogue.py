"""The read model behind the pages: assets (Things) with their position, latest readings and a
status a person understands ("Nearly full", "Sensor silent"), filtered by what the viewer may see.

Reads the SensorThings tables through SQLAlchemy Core; the latest value of each Datastream is the
materialised ``latest_observation_id``, so listing 10,000 assets never scans history.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, select

from placehub.access.service import Principal
from placehub.access.visibility import visible_clause
from placehub.errors import NotFound
from placehub.sta.tables import (
    datastreams,
    locations,
    observations,
    thing_locations,
    things,
)

# A sensor that has not reported for this long is shown as silent.
SILENT_AFTER = timedelta(hours=48)
NEARLY_FULL = 0.75
FULL = 0.9
DRY_SOIL_MOISTURE_PERCENT = 20.0
NO2_HOURLY_LIMIT = 200.0
LOW_BATTERY_VOLTS = 3.3
LOW_BATTERY_PERCENT = 20.0

STATUS_LABELS = {
    "ok": "OK",
    "nearly-full": "Nearly full",
    "full": "Full",
    "dry": "Dry",
    "exceeding": "Above objective",
    "silent": "Sensor silent",
    "no-data": "No data",
}
ASSET_TYPE_LABELS = {
    "litter_bin": "Litter bin",
    "flowerbed": "Flowerbed",
    "air_quality_station": "Air quality station",
}


def asset_type_label(asset_type: str) -> str:
    return ASSET_TYPE_LABELS.get(asset_type, asset_type.replace("_", " ").capitalize())


@dataclass
class Reading:
    """The latest value of one Datastream."""

    datastream_id: int
    name: str
    quantity: str
    unit: str
    value: Any
    time: datetime | None
    observation_count: int = 0


@dataclass
class AssetSummary:
    """One asset as the map, tables and overview show it."""

    id: int
    name: str
    asset_type: str
    visibility: str
    organisation_id: int
    lon: float | None
    lat: float | None
    readings: dict[str, Reading] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    status: str = "no-data"
    fill_fraction: float | None = None
    last_seen: datetime | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def type_label(self) -> str:
        return asset_type_label(self.asset_type)

    @property
    def fill_percent(self) -> int | None:
        return None if self.fill_fraction is None else round(self.fill_fraction * 100)

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


def fill_fraction(properties: dict[str, Any], readings: dict[str, Reading]) -> float | None:
    """A bin's fill (0 empty, 1 full) from a fill_level reading or from distance and its profile."""
    fill = readings.get("fill_level")
    if fill is not None and isinstance(fill.value, int | float):
        value = float(fill.value)
        fraction = value / 100 if fill.unit in {"%", "percent"} or value > 1 else value
        return min(max(fraction, 0.0), 1.0)
    distance = readings.get("distance")
    empty = properties.get("empty_distance_mm")
    full = properties.get("full_distance_mm")
    if (distance is None or not isinstance(distance.value, int | float)
            or not isinstance(empty, int | float) or not isinstance(full, int | float)
            or empty == full):
        return None
    millimetres = float(distance.value) * (10 if distance.unit == "cm" else 1)
    if distance.unit == "m":
        millimetres = float(distance.value) * 1000
    return min(max((empty - millimetres) / (empty - full), 0.0), 1.0)


def classify(asset: AssetSummary, now: datetime) -> None:
    """Set the asset's status and fill from its latest readings."""
    times = [r.time for r in asset.readings.values() if r.time is not None]
    asset.last_seen = max(times) if times else None
    asset.fill_fraction = fill_fraction(asset.properties, asset.readings)
    if asset.last_seen is None:
        asset.status = "no-data"
    elif now - asset.last_seen > SILENT_AFTER:
        asset.status = "silent"
    elif asset.fill_fraction is not None:
        asset.status = ("full" if asset.fill_fraction >= FULL
                        else "nearly-full" if asset.fill_fraction >= NEARLY_FULL else "ok")
    elif _number(asset.readings.get("soil_moisture")) is not None:
        moisture = _number(asset.readings.get("soil_moisture"))
        asset.status = "dry" if moisture is not None and moisture < DRY_SOIL_MOISTURE_PERCENT \
            else "ok"
    elif _number(asset.readings.get("no2")) is not None:
        no2 = _number(asset.readings.get("no2"))
        asset.status = "exceeding" if no2 is not None and no2 > NO2_HOURLY_LIMIT else "ok"
    else:
        asset.status = "ok"


def _number(reading: Reading | None) -> float | None:
    if reading is None or isinstance(reading.value, bool):
        return None
    return float(reading.value) if isinstance(reading.value, int | float) else None


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
) -> list[AssetSummary]:
    """Every asset ``principal`` may read, with readings and status, ordered by name."""
    visible = visible_clause(principal, things.c.organisation_id, things.c.visibility)
    query = select(things).where(visible).order_by(things.c.name, things.c.id)
    if thing_ids is not None:
        query = query.where(things.c.id.in_(thing_ids or [-1]))
    assets: dict[int, AssetSummary] = {}
    for row in conn.execute(query):
        properties = dict(row.properties or {})
        kind = str(properties.get("asset_type") or "sensor")
        if asset_type and kind != asset_type:
            continue
        assets[row.id] = AssetSummary(
            id=row.id, name=row.name, asset_type=kind, visibility=row.visibility,
            organisation_id=row.organisation_id, lon=None, lat=None, properties=properties,
        )
    if not assets:
        return []
    ids = list(assets)
    for chunk in _chunks(ids):
        position_rows = conn.execute(
            select(thing_locations.c.thing_id, locations.c.location)
            .join(locations, locations.c.id == thing_locations.c.location_id)
            .where(thing_locations.c.thing_id.in_(chunk))
        )
        for thing_id, geometry in position_rows:
            point = _point_of(geometry)
            if point:
                assets[thing_id].lon, assets[thing_id].lat = point
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


def _point_of(geometry: Any) -> tuple[float, float] | None:
    """A representative lon/lat of a GeoJSON geometry (or Feature)."""
    if not isinstance(geometry, dict):
        return None
    if geometry.get("type") == "Feature":
        geometry = geometry.get("geometry") or {}
    coordinates = geometry.get("coordinates")
    if geometry.get("type") == "Point" and coordinates:
        return float(coordinates[0]), float(coordinates[1])
    flat: list[tuple[float, float]] = []

    def walk(value: Any) -> None:
        if isinstance(value, list | tuple) and len(value) >= 2 and all(
                isinstance(v, int | float) for v in value[:2]):
            flat.append((float(value[0]), float(value[1])))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(coordinates)
    if not flat:
        return None
    return sum(p[0] for p in flat) / len(flat), sum(p[1] for p in flat) / len(flat)


def get_asset(conn: Connection, principal: Principal, thing_id: int, now: datetime) -> AssetSummary:
    """One asset, or NotFound when it does not exist or the viewer may not read it."""
    found = list_assets(conn, principal, now, thing_ids=[thing_id])
    if not found:
        raise NotFound(f"asset {thing_id} not found: it may have been removed, or you may need "
                       "to sign in to see it")
    return found[0]


def reading_history(
    conn: Connection, principal: Principal, datastream_id: int, since: datetime, limit: int = 5000
) -> list[tuple[datetime, Any]]:
    """Observations of one Datastream since ``since`` (oldest first), if the viewer may read it."""
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
               observations.c.phenomenon_time_start >= since)
        .order_by(observations.c.phenomenon_time_start.desc())
        .limit(limit)
    ).all()
    return [(row.phenomenon_time_start, _result(row)) for row in reversed(rows)]


def counts_by_type_and_status(assets: list[AssetSummary]) -> list[dict[str, Any]]:
    """Rows of (type, count per status, total) for the overview table."""
    by_type: dict[str, Counter[str]] = {}
    for asset in assets:
        by_type.setdefault(asset.asset_type, Counter())[asset.status] += 1
    return [
        {"type": asset_type_label(kind), "counts": counts, "total": sum(counts.values())}
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
