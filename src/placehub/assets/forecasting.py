"""Forecasts of assets, through the one forecaster (``placehub.rounds.forecast.Forecaster``): how
likely a bin is to reach its full line, or a flowerbed its dry line, by a given time.

Rounds, the alert rules, the asset page and ``/api/assets`` all ask here, with the asset's own
thresholds as its line, so "83% chance of overflowing within 24 h" is one figure everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from placehub.assets.history import FORECAST_TYPES, Asset, read_assets
from placehub.assets.thresholds import ThresholdBook, load_book
from placehub.assets.types import LITTER_BIN
from placehub.rounds.forecast import Forecaster, Need, PlacehubForecaster

# The horizon the asset page, the API and the forecast alerts speak of.
FORECAST_HORIZON = timedelta(hours=24)


def default_forecaster() -> Forecaster:
    """The forecaster placehub uses unless told otherwise."""
    return PlacehubForecaster()


@dataclass(frozen=True)
class Crossing:
    """An asset's forecast against its line: the chance of being full (or dry) by ``until``."""

    thing_id: int
    asset_type: str
    line: float  # the fill (bins) or moisture % (beds) the forecast is about
    need: Need
    forecaster: str
    newest_reading: datetime | None = None  # of the readings the forecast rests on

    @property
    def probability(self) -> float:
        return self.need.probability

    @property
    def event(self) -> str:
        """What the probability is of: "overflow" (a bin) or "dry" (a flowerbed)."""
        return "overflow" if self.asset_type == LITTER_BIN else "dry"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for the API and the page."""
        need = self.need
        return {
            "event": self.event, "line": self.line, "at": need.at.isoformat(),
            "until": need.until.isoformat(), "probability": round(need.probability, 4),
            "level": round(need.level, 4), "expected_level": round(need.expected_level, 4),
            "rate_per_day": round(need.rate_per_day, 4),
            "due": need.due.isoformat() if need.due else None,
            "last_service": need.last_service.isoformat() if need.last_service else None,
            "readings_used": need.readings_used, "method": need.method,
            "forecaster": self.forecaster,
        }


def crossing_of(asset: Asset, at: datetime, until: datetime,
                forecaster: Forecaster | None = None) -> Crossing:
    """One asset's forecast by ``until``, against its own line."""
    forecaster = forecaster or default_forecaster()
    need = forecaster.forecast(asset.history, at, until)
    line = asset.thresholds.full if asset.asset_type == LITTER_BIN else asset.thresholds.dry
    # A forecast resting on an older reading (a fall not yet believed) has no newer evidence.
    newest = need.rests_on or max((r.time for r in asset.history.readings if r.time <= at),
                                  default=None)
    return Crossing(asset.thing_id, asset.asset_type, line, need, forecaster.name, newest)


def read_forecastable(conn: Connection, at: datetime, *, thing_ids: Iterable[int] | None = None,
                      organisation_id: int | None = None, book: ThresholdBook | None = None
                      ) -> list[Asset]:
    """Every bin and flowerbed (or these Things) with the history a forecast needs."""
    ids = None if thing_ids is None else list(thing_ids)
    book = book if book is not None else load_book(conn)
    found: list[Asset] = []
    for asset_type in FORECAST_TYPES:
        found += read_assets(conn, asset_type, at, organisation_id=organisation_id,
                             thing_ids=ids, book=book).assets
    return found


def forecast_assets(conn: Connection, at: datetime, within: timedelta = FORECAST_HORIZON, *,
                    thing_ids: Iterable[int] | None = None,
                    forecaster: Forecaster | None = None) -> dict[int, Crossing]:
    """Thing id -> its forecast from ``at`` to ``at + within``, for every bin and flowerbed (or
    these Things; others are left out)."""
    forecaster = forecaster or default_forecaster()
    return {asset.thing_id: crossing_of(asset, at, at + within, forecaster)
            for asset in read_forecastable(conn, at, thing_ids=thing_ids)}


class AssetForecasts:
    """The alert rules' source of forecasts (``placehub.alerts.sources.ForecastSource``)."""

    def __init__(self, forecaster: Forecaster | None = None) -> None:
        self.forecaster = forecaster or default_forecaster()
        self.name = self.forecaster.name

    def crossings(self, conn: Connection, thing_ids: Iterable[int], at: datetime,
                  within: timedelta) -> dict[int, Crossing]:
        return forecast_assets(conn, at, within, thing_ids=thing_ids, forecaster=self.forecaster)
