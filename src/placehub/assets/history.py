"""Assets with their recent history, as the forecaster reads them: readings in level units
(``placehub.assets.levels``), service events (emptyings, waterings), thresholds and position.

A bin is a Thing with ``properties.asset_type == "litter_bin"`` (its profile's
``empty_distance_mm``, ``full_distance_mm`` and ``capacity_litres`` beside it), a flowerbed one
with ``"flowerbed"``. Readings come from the Datastream whose ``properties.quantity`` is
``distance`` (preferred: converted with the bin's profile), ``fill_level`` or ``soil_moisture``;
service events come from completed round stops.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from placehub.assets.levels import LEVEL_QUANTITIES, Level, level_value
from placehub.assets.status import past_the_line, status_of
from placehub.assets.thresholds import ThresholdBook, Thresholds, load_book
from placehub.assets.types import ASSET_TYPES, FLOWERBED, LITTER_BIN
from placehub.places.assign import thing_positions
from placehub.rounds.forecast import AssetHistory, Reading
from placehub.rounds.tables import rounds_service_events
from placehub.sta.tables import datastreams, observations, things

# Types the forecaster understands: what a round services.
FORECAST_TYPES = (LITTER_BIN, FLOWERBED)
DEFAULT_BIN_LITRES = 120.0
DEFAULT_WATER_LITRES = 100.0
LOOKBACK_DAYS = 28
_CHUNK = 500


@dataclass
class Asset:
    """One bin or flowerbed with its position, profile, thresholds and recent history."""

    thing_id: int
    name: str
    organisation_id: int
    asset_type: str
    lon: float
    lat: float
    properties: dict[str, Any]
    history: AssetHistory
    quantity: str | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)

    def status(self, at: datetime) -> str:
        """The asset's status from its level readings (``placehub.assets.status``): its
        latest level against its thresholds, unless serviced since or silent."""
        readings = [r for r in self.history.readings if r.time <= at]
        latest = max(readings, key=lambda r: r.time) if readings else None
        services = [s for s in self.history.services if s <= at]
        return status_of(
            ASSET_TYPES[self.asset_type].level,
            Level(latest.value, self.quantity or "", latest.time) if latest else None,
            latest.time if latest else None, self.thresholds, at,
            max(services) if services else None)

    def past_the_line(self, at: datetime) -> bool:
        """Full or dry now: it needs a visit whatever the forecast says."""
        return past_the_line(self.status(at))

    @property
    def capacity_litres(self) -> float:
        """Bin volume; for a flowerbed the water one watering takes."""
        key = "capacity_litres" if self.asset_type == LITTER_BIN else "water_litres"
        default = DEFAULT_BIN_LITRES if self.asset_type == LITTER_BIN else DEFAULT_WATER_LITRES
        return float(self.properties.get(key) or default)


@dataclass
class AssetRead:
    """The assets found, and those that could not be used with the reason."""

    assets: list[Asset] = field(default_factory=list)
    unusable: list[tuple[int, str, str]] = field(default_factory=list)


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield list(ids[i:i + _CHUNK])


def read_assets(
    conn: Connection,
    asset_type: str,
    at: datetime,
    lookback_days: int = LOOKBACK_DAYS,
    organisation_id: int | None = None,
    thing_ids: Iterable[int] | None = None,
    book: ThresholdBook | None = None,
) -> AssetRead:
    """Every asset of ``asset_type`` (of one organisation, or these Things), with its readings
    from ``lookback_days`` before ``at``."""
    if asset_type not in FORECAST_TYPES:
        raise ValueError(f"asset type {asset_type!r} not understood: use one of "
                         f"{', '.join(FORECAST_TYPES)}.")
    query = select(things.c.id, things.c.name, things.c.properties, things.c.organisation_id)
    if organisation_id is not None:
        query = query.where(things.c.organisation_id == organisation_id)
    if thing_ids is not None:
        query = query.where(things.c.id.in_(sorted(set(thing_ids)) or [-1]))
    found = [row for row in conn.execute(query)
             if isinstance(row.properties, dict)
             and row.properties.get("asset_type") == asset_type]
    ids = [row.id for row in found]
    result = AssetRead()
    if not ids:
        return result
    book = book if book is not None else load_book(conn)

    positions: dict[int, tuple[float, float]] = {}
    level_kind = ASSET_TYPES[asset_type].level or ""
    wanted = LEVEL_QUANTITIES[level_kind]
    streams: dict[int, dict[str, Any]] = defaultdict(dict)
    services: dict[int, list[datetime]] = defaultdict(list)
    for chunk in _chunks(ids):
        positions.update(thing_positions(conn, chunk))
        for stream in conn.execute(
            select(datastreams.c.id, datastreams.c.thing_id, datastreams.c.properties,
                   datastreams.c.unit_of_measurement)
            .where(datastreams.c.thing_id.in_(chunk)).order_by(datastreams.c.id)
        ):
            quantity = (stream.properties or {}).get("quantity")
            if quantity in wanted:
                streams[stream.thing_id].setdefault(quantity, stream)
        for event in conn.execute(
            select(rounds_service_events.c.thing_id, rounds_service_events.c.time)
            .where(rounds_service_events.c.thing_id.in_(chunk),
                   rounds_service_events.c.time <= at)
        ):
            services[event.thing_id].append(event.time)

    chosen: dict[int, tuple[str, Any]] = {}
    for thing_id, by_quantity in streams.items():
        quantity = next(q for q in wanted if q in by_quantity)
        chosen[thing_id] = (quantity, by_quantity[quantity])
    values: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    stream_to_thing = {row.id: thing_id for thing_id, (_, row) in chosen.items()}
    since = at - timedelta(days=lookback_days)
    for chunk in _chunks(sorted(stream_to_thing)):
        for obs in conn.execute(
            select(observations.c.datastream_id, observations.c.phenomenon_time_start,
                   observations.c.result_number)
            .where(observations.c.datastream_id.in_(chunk),
                   observations.c.phenomenon_time_start >= since,
                   observations.c.phenomenon_time_start <= at,
                   observations.c.result_number.is_not(None))
            .order_by(observations.c.datastream_id, observations.c.phenomenon_time_start)
        ):
            values[stream_to_thing[obs.datastream_id]].append(
                (obs.phenomenon_time_start, float(obs.result_number)))

    for row in found:
        props = dict(row.properties)
        if row.id not in positions:
            result.unusable.append((row.id, row.name, "no Location with a point: add one"))
            continue
        quantity, level_stream = chosen.get(row.id, (None, None))
        try:
            readings = _readings(level_kind, quantity, level_stream, props,
                                 values.get(row.id, []))
        except ValueError as error:
            result.unusable.append((row.id, row.name, str(error)))
            continue
        thresholds = book.for_asset(asset_type, row.organisation_id, props)
        history = AssetHistory(
            row.id, asset_type, readings, sorted(services.get(row.id, [])),
            watering_threshold=thresholds.dry, full_level=thresholds.full,
        )
        lon, lat = positions[row.id]
        result.assets.append(Asset(row.id, row.name, row.organisation_id, asset_type, lon, lat,
                                   props, history, quantity, thresholds))
    return result


def _readings(level_kind: str, quantity: str | None, stream: Any, props: dict[str, Any],
              raw: list[tuple[datetime, float]]) -> list[Reading]:
    """Readings in level units: fill fraction for bins, moisture % for beds."""
    if quantity is None:
        return []
    unit = str((stream.unit_of_measurement or {}).get("symbol") or "") if stream else ""
    return [Reading(t, level_value(level_kind, quantity, v, unit, props)) for t, v in raw]
