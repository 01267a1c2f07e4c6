"""Reading serviceable assets (bins, flowerbeds) and their history from the SensorThings tables.

A bin is a Thing with ``properties.asset_type == "litter_bin"`` (its profile's
``empty_distance_mm``, ``full_distance_mm`` and ``capacity_litres`` beside it), a flowerbed one
with ``"flowerbed"``. Readings come from the Datastream whose ``properties.quantity`` is
``distance`` (preferred: converted with the bin's profile), ``fill_level`` (percent) or
``soil_moisture`` (percent); service events come from completed round stops.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from placehub.rounds.forecast import FLOWERBED, LITTER_BIN, AssetHistory, Reading, fill_fraction
from placehub.rounds.tables import rounds_service_events
from placehub.sta.tables import datastreams, locations, observations, thing_locations, things

ASSET_TYPES = (LITTER_BIN, FLOWERBED)
DEFAULT_BIN_LITRES = 120.0
DEFAULT_EMPTY_MM = 1000.0
DEFAULT_FULL_MM = 200.0
DEFAULT_WATERING_THRESHOLD = 20.0
DEFAULT_WATER_LITRES = 100.0
_CHUNK = 500


@dataclass
class Asset:
    """One bin or flowerbed with its position, profile and recent history."""

    thing_id: int
    name: str
    organisation_id: int
    asset_type: str
    lon: float
    lat: float
    properties: dict[str, Any]
    history: AssetHistory
    quantity: str | None = None

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


def _point(geojson: Any) -> tuple[float, float] | None:
    """The lon/lat of a GeoJSON Point (or Feature holding one)."""
    if not isinstance(geojson, dict):
        return None
    if geojson.get("type") == "Feature":
        return _point(geojson.get("geometry"))
    coordinates = geojson.get("coordinates")
    if geojson.get("type") == "Point" and isinstance(coordinates, list) and len(coordinates) >= 2:
        return float(coordinates[0]), float(coordinates[1])
    return None


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield list(ids[i:i + _CHUNK])


def read_assets(
    conn: Connection,
    asset_type: str,
    at: datetime,
    lookback_days: int = 28,
    organisation_id: int | None = None,
) -> AssetRead:
    """Every asset of ``asset_type``, with its readings from ``lookback_days`` before ``at``."""
    if asset_type not in ASSET_TYPES:
        raise ValueError(f"asset type {asset_type!r} not understood: use one of "
                         f"{', '.join(ASSET_TYPES)}.")
    query = select(things.c.id, things.c.name, things.c.properties, things.c.organisation_id)
    if organisation_id is not None:
        query = query.where(things.c.organisation_id == organisation_id)
    found = [row for row in conn.execute(query)
             if isinstance(row.properties, dict)
             and row.properties.get("asset_type") == asset_type]
    ids = [row.id for row in found]
    result = AssetRead()
    if not ids:
        return result

    positions: dict[int, tuple[float, float]] = {}
    wanted = {"distance", "fill_level"} if asset_type == LITTER_BIN else {"soil_moisture"}
    streams: dict[int, dict[str, Any]] = defaultdict(dict)
    services: dict[int, list[datetime]] = defaultdict(list)
    for chunk in _chunks(ids):
        rows = conn.execute(
            select(thing_locations.c.thing_id, locations.c.location)
            .join(locations, locations.c.id == thing_locations.c.location_id)
            .where(thing_locations.c.thing_id.in_(chunk))
            .order_by(thing_locations.c.thing_id, locations.c.id)
        )
        for loc in rows:
            point = _point(loc.location)
            if point is not None:
                positions.setdefault(loc.thing_id, point)
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
        for quantity in ("distance", "fill_level", "soil_moisture"):
            if quantity in by_quantity:
                chosen[thing_id] = (quantity, by_quantity[quantity])
                break
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
        quantity, chosen_stream = chosen.get(row.id, (None, None))
        try:
            readings = _readings(asset_type, quantity, chosen_stream, props,
                                 values.get(row.id, []))
        except ValueError as error:
            result.unusable.append((row.id, row.name, str(error)))
            continue
        history = AssetHistory(
            row.id, asset_type, readings, sorted(services.get(row.id, [])),
            watering_threshold=float(props.get("watering_threshold")
                                     or DEFAULT_WATERING_THRESHOLD),
        )
        lon, lat = positions[row.id]
        result.assets.append(Asset(row.id, row.name, row.organisation_id, asset_type, lon, lat,
                                   props, history, quantity))
    return result


def _readings(asset_type: str, quantity: str | None, stream: Any, props: dict[str, Any],
              raw: list[tuple[datetime, float]]) -> list[Reading]:
    """Readings in the forecaster's units: fill fraction for bins, moisture % for beds."""
    if quantity == "distance":
        empty = float(props.get("empty_distance_mm") or DEFAULT_EMPTY_MM)
        full = float(props.get("full_distance_mm") or DEFAULT_FULL_MM)
        return [Reading(t, fill_fraction(v, empty, full)) for t, v in raw]
    if quantity == "fill_level":
        symbol = ((stream.unit_of_measurement or {}).get("symbol") or "").strip()
        percent = symbol == "%" or any(v > 1.5 for _, v in raw)
        return [Reading(t, min(max(v / 100 if percent else v, 0.0), 1.1)) for t, v in raw]
    return [Reading(t, v) for t, v in raw]
