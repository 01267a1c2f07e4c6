"""Indicators derived from sensor data on the same places, recomputed on demand.

Built-ins: mean NO2 per place (mean of each air-quality Datastream's mean, so a station reporting
every minute does not outweigh one reporting hourly), the share of bin-days a litter bin was
full, and the share of flowerbed-days a bed was dry — "full" and "dry" by each asset's own
thresholds (``placehub.assets.thresholds``), as on the map and in rounds. Datastreams are found by
``properties.quantity``; Things are placed by a ``ThingPlaces`` source (the places concern's
assignment in the hub, a dictionary in tests). Only public Things are used unless asked,
because the derived values are published to anyone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, column, select, table

from placehub.assets.levels import threshold_in_units
from placehub.assets.thresholds import Thresholds, load_book
from placehub.assets.types import asset_type_of
from placehub.insight.indicators import (
    IndicatorDefinition,
    IndicatorValue,
    clear_values,
    replace_values,
    save_definition,
)
from placehub.insight.layers import layer_aliases
from placehub.sta.tables import RESULT_NUMBER, datastreams, observations, things

# Days are council days: midnight to midnight in the UK.
LOCAL_TIME = ZoneInfo("Europe/London")


class ThingPlaces(Protocol):
    """Which place of a layer each Thing is in."""

    def place_codes(self, conn: Connection, layer: str) -> dict[int, str]:
        """Thing id -> place code in ``layer`` (Things outside every place are left out)."""
        ...


class PlacesAssignment:
    """The places concern's assignment of Things to places (tables thing_places, places,
    place_layers), read by name so insight does not import that concern's internals."""

    def place_codes(self, conn: Connection, layer: str) -> dict[int, str]:
        links = table("thing_places", column("thing_id"), column("layer_id"), column("place_id"))
        place_rows = table("places", column("id"), column("code"))
        layers = table("place_layers", column("id"), column("name"))
        query = (
            select(links.c.thing_id, place_rows.c.code)
            .join(place_rows, place_rows.c.id == links.c.place_id)
            .join(layers, layers.c.id == links.c.layer_id)
            .where(layers.c.name.in_(layer_aliases(layer)))
        )
        return {int(r.thing_id): str(r.code) for r in conn.execute(query)}


class MappingPlaces:
    """A fixed Thing -> place mapping per layer (tests, or an assignment computed elsewhere)."""

    def __init__(self, by_layer: dict[str, dict[int, str]]) -> None:
        self.by_layer = by_layer

    def place_codes(self, conn: Connection, layer: str) -> dict[int, str]:
        return dict(self.by_layer.get(layer, {}))


@dataclass
class SensorSeries:
    """The numeric Observations of one Datastream, with its Thing's properties and unit."""

    thing_id: int
    thing_properties: dict[str, Any]
    datastream_id: int
    unit_symbol: str
    times: list[datetime]
    values: np.ndarray
    thresholds: Thresholds = field(default_factory=Thresholds)
    # The Thing's (organisation, visibility): who may read a figure computed from it.
    access: tuple[int, str] = (0, "public")


def read_series(
    conn: Connection, quantity: str, *, asset_type: str | None = None,
    start: datetime | None = None, end: datetime | None = None, public_only: bool = True,
) -> list[SensorSeries]:
    """Numeric series of every Datastream whose properties.quantity is ``quantity``."""
    query = select(datastreams.c.id, datastreams.c.thing_id, datastreams.c.properties,
                   datastreams.c.unit_of_measurement, things.c.properties.label("thing_props"),
                   things.c.organisation_id,
                   things.c.visibility).join(things, things.c.id == datastreams.c.thing_id)
    if public_only:
        query = query.where(things.c.visibility == "public")
    book = load_book(conn)
    chosen: dict[int, tuple[int, dict[str, Any], str, Thresholds]] = {}
    groups: dict[int, tuple[int, str]] = {}
    for row in conn.execute(query):
        # JSON filtering differs between SQLite and PostgreSQL; Datastreams are few, so filter here.
        if (row.properties or {}).get("quantity") != quantity:
            continue
        thing_props = row.thing_props or {}
        if asset_type is not None and thing_props.get("asset_type") != asset_type:
            continue
        unit = (row.unit_of_measurement or {}).get("symbol", "")
        chosen[row.id] = (row.thing_id, thing_props, unit, book.for_asset(
            asset_type_of(thing_props), row.organisation_id, thing_props))
        groups[row.id] = (int(row.organisation_id), str(row.visibility))
    if not chosen:
        return []
    obs = select(observations.c.datastream_id, observations.c.phenomenon_time_start,
                 observations.c.result_number).where(
        observations.c.datastream_id.in_(list(chosen)),
        observations.c.result_type == RESULT_NUMBER)
    if start is not None:
        obs = obs.where(observations.c.phenomenon_time_start >= start)
    if end is not None:
        obs = obs.where(observations.c.phenomenon_time_start < end)
    collected: dict[int, tuple[list[datetime], list[float]]] = defaultdict(lambda: ([], []))
    for reading in conn.execute(obs.order_by(observations.c.datastream_id,
                                             observations.c.phenomenon_time_start)):
        times, values = collected[reading.datastream_id]
        times.append(reading.phenomenon_time_start)
        values.append(float(reading.result_number))
    return [
        SensorSeries(chosen[ds][0], chosen[ds][1], ds, chosen[ds][2], times,
                     np.asarray(values, dtype=float), chosen[ds][3], groups[ds])
        for ds, (times, values) in collected.items()
    ]


@dataclass(frozen=True)
class PlaceFigure:
    """A derived value for one place and how much data stands behind it."""

    value: float
    denominator: float
    note: str


def _daily(series: SensorSeries, reduce: Callable[[np.ndarray], float]) -> dict[date, float]:
    """One figure per local day from the series' values."""
    days: dict[date, list[float]] = defaultdict(list)
    for time, value in zip(series.times, series.values, strict=True):
        days[time.astimezone(LOCAL_TIME).date()].append(value)
    return {day: reduce(np.asarray(v)) for day, v in days.items()}


def mean_no2(series: list[SensorSeries], place_of: dict[int, str]) -> dict[str, PlaceFigure]:
    """Mean of the per-Datastream mean NO2 (ug/m3; ppb converted at 1.91) per place."""
    means: dict[str, list[float]] = defaultdict(list)
    for s in series:
        if s.thing_id not in place_of or s.values.size == 0:
            continue
        # UCUM writes parts per billion "[ppb]"; some sensors just "ppb".
        factor = 1.91 if s.unit_symbol.strip("[]").lower() == "ppb" else 1.0
        means[place_of[s.thing_id]].append(float(np.mean(s.values)) * factor)
    return {place: PlaceFigure(float(np.mean(v)), float(len(v)), f"{len(v)} Datastream(s)")
            for place, v in means.items()}


def _share_of_days(series: list[SensorSeries], place_of: dict[int, str],
                   day_is: Callable[[SensorSeries, float], bool],
                   reduce: Callable[[np.ndarray], float], unit: str) -> dict[str, PlaceFigure]:
    counted: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for s in series:
        if s.thing_id not in place_of:
            continue
        tally = counted[place_of[s.thing_id]]
        for figure in _daily(s, reduce).values():
            tally[0] += int(day_is(s, figure))
            tally[1] += 1
    return {place: PlaceFigure(hits / days, float(days), f"{hits} of {days} {unit}")
            for place, (hits, days) in counted.items() if days}


def _line(series: SensorSeries, name: str) -> float:
    """The asset's threshold ``name`` in the series' unit (fill_level in % or as a fraction)."""
    quantity = "soil_moisture" if name == "dry" else "fill_level"
    unit = series.unit_symbol
    if unit.strip() in ("1", ""):  # unitless: a fraction, unless the values say percent
        fraction = series.values.size and float(np.max(series.values)) <= 1.5
        unit = "1" if fraction else "%"
    line = threshold_in_units(series.thresholds, name, quantity, unit)
    assert line is not None  # fill_level and soil_moisture always measure these lines
    return line


def bin_full_share(series: list[SensorSeries], place_of: dict[int, str]) -> dict[str, PlaceFigure]:
    """Share of bin-days on which the bin reached its full line at least once."""
    return _share_of_days(
        series, place_of, lambda s, peak: peak >= _line(s, "full"),
        lambda v: float(np.max(v)), "bin-days full")


def flowerbed_dry_share(series: list[SensorSeries], place_of: dict[int, str]
                        ) -> dict[str, PlaceFigure]:
    """Share of flowerbed-days whose mean soil moisture was at or below the bed's dry line."""
    return _share_of_days(
        series, place_of, lambda s, mean: mean <= _line(s, "dry"),
        lambda v: float(np.mean(v)), "flowerbed-days dry")


@dataclass(frozen=True)
class Derivation:
    """A derived indicator: its definition, which series it reads and how it combines them."""

    definition: IndicatorDefinition
    quantity: str
    asset_type: str | None
    combine: Callable[[list[SensorSeries], dict[int, str]], dict[str, PlaceFigure]]


SENSOR_CREDIT = "Council sensor data via placehub"

DERIVATIONS: dict[str, Derivation] = {
    d.definition.id: d for d in (
        Derivation(IndicatorDefinition(
            "no2_mean", "Mean NO2 concentration (council sensors)", "higher_is_worse",
            unit="ug/m3", source=SENSOR_CREDIT, licence="OGL v3", kind="derived",
            description="Mean over the period of each air-quality Datastream's mean NO2, "
                        "averaged over the Datastreams in the place; ppb converted at 1.91. "
                        "Indicative only where data capture is below 75%.",
            derivation={"quantity": "no2", "method": "mean of Datastream means"}),
            "no2", None, mean_no2),
        Derivation(IndicatorDefinition(
            "bin_full_share", "Share of bin-days a litter bin was full", "higher_is_worse",
            unit="fraction", source=SENSOR_CREDIT, licence="OGL v3", kind="derived",
            description="Of the days each litter bin reported, the share on which its fill "
                        "level reached its full line at least once (threshold full: 100% "
                        "unless the council or the bin sets another).",
            derivation={"quantity": "fill_level", "asset_type": "litter_bin",
                        "method": "daily max >= the bin's full threshold"}),
            "fill_level", "litter_bin", bin_full_share),
        Derivation(IndicatorDefinition(
            "flowerbed_dry_share", "Share of days a flowerbed was dry", "higher_is_worse",
            unit="fraction", source=SENSOR_CREDIT, licence="OGL v3", kind="derived",
            description="Of the days each flowerbed reported, the share whose mean soil "
                        "moisture was at or below its dry threshold (the bed's own, e.g. "
                        "watering_threshold, else the council's, else 20%).",
            derivation={"quantity": "soil_moisture", "asset_type": "flowerbed",
                        "method": "daily mean <= the bed's dry threshold"}),
            "soil_moisture", "flowerbed", flowerbed_dry_share),
    )
}


@dataclass(frozen=True)
class DeriveOutcome:
    """How many places got a value of one derived indicator."""

    indicator_id: str
    places: int
    series: int


def derive_indicators(
    conn: Connection, places: ThingPlaces, *, layer: str, period: str = "",
    start: datetime | None = None, end: datetime | None = None,
    only: Iterable[str] | None = None, public_only: bool = True,
) -> list[DeriveOutcome]:
    """Recompute derived indicators for ``layer`` and store them (replacing the period's)."""
    wanted = list(only) if only else list(DERIVATIONS)
    unknown = [i for i in wanted if i not in DERIVATIONS]
    if unknown:
        from placehub.errors import BadRequest

        raise BadRequest(f"unknown derived indicator(s) {', '.join(unknown)}; built-ins are "
                         f"{', '.join(DERIVATIONS)}")
    place_of = places.place_codes(conn, layer)
    outcomes = []
    for ident in wanted:
        derivation = DERIVATIONS[ident]
        series = read_series(conn, derivation.quantity, asset_type=derivation.asset_type,
                             start=start, end=end, public_only=public_only)
        figures = derivation.combine(series, place_of)
        definition = derivation.definition
        params = dict(definition.derivation or {})
        params.update(public_only=public_only,
                      # Who may read the values: those who may read every Thing behind them.
                      sources=[list(group) for group in sorted({s.access for s in series})],
                      start=start.isoformat() if start else None,
                      end=end.isoformat() if end else None)
        save_definition(conn, IndicatorDefinition(**{**definition.__dict__,
                                                     "derivation": params,
                                                     "period": period}))
        clear_values(conn, ident, layer, period)
        replace_values(conn, [
            IndicatorValue(ident, layer, place, period, f.value, f.denominator, f.note)
            for place, f in sorted(figures.items())
        ])
        outcomes.append(DeriveOutcome(ident, len(figures), len(series)))
    return outcomes
