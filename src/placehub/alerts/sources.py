"""What rules read beside Observations: device health (ingest) and need forecasts (rounds).

Both are small Protocols so the built-ins can be replaced: ``IngestDeviceHealth`` reads the
ingest concern's health table when it is installed; ``LinearTrendForecaster`` extrapolates the
trend the rule keeps itself, until ``placehub.rounds.forecast`` provides a better model.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection, func, select


@dataclass(frozen=True)
class FrameCounters:
    """Uplinks a device delivered and the frame-counter gaps seen (estimated lost uplinks)."""

    received: int
    lost: int


class DeviceHealthSource(Protocol):
    """Frame counters per Thing (from the LoRaWAN ingest's device health)."""

    def frame_counters(self, conn: Connection, thing_ids: Iterable[int]
                       ) -> dict[int, FrameCounters]: ...


class NoDeviceHealth:
    """No device health known (ingest not installed)."""

    def frame_counters(self, conn: Connection, thing_ids: Iterable[int]
                       ) -> dict[int, FrameCounters]:
        return {}


class IngestDeviceHealth:
    """Frame counters from ``ingest_device_health`` joined to ``ingest_devices`` by DevEUI."""

    def __init__(self) -> None:
        try:
            tables: Any = importlib.import_module("placehub.ingest.tables")
            self.devices = tables.ingest_devices
            self.health = tables.ingest_device_health
        except (ImportError, AttributeError):
            self.devices = self.health = None

    @property
    def available(self) -> bool:
        return self.health is not None

    def frame_counters(self, conn: Connection, thing_ids: Iterable[int]
                       ) -> dict[int, FrameCounters]:
        ids = list(thing_ids)
        if self.health is None or self.devices is None or not ids:
            return {}
        rows = conn.execute(
            select(self.devices.c.thing_id, func.sum(self.health.c.frames_received),
                   func.sum(self.health.c.frames_lost))
            .join(self.health, self.health.c.dev_eui == self.devices.c.dev_eui)
            .where(self.devices.c.thing_id.in_(ids))
            .group_by(self.devices.c.thing_id)
        )
        return {int(r[0]): FrameCounters(int(r[1] or 0), int(r[2] or 0)) for r in rows}


def default_device_health() -> DeviceHealthSource:
    source = IngestDeviceHealth()
    return source if source.available else NoDeviceHealth()


class Trend(NamedTuple):
    """A series' latest value and its smoothed rate of change, as a rule keeps them.

    ``at`` is epoch seconds (UTC): rules judge every Observation, so this stays cheap.
    """

    at: float
    value: float
    rate_per_hour: float


class Forecaster(Protocol):
    """Hours until a quantity of an asset reaches ``level`` (None: not within sight)."""

    name: str

    def hours_until(self, thing_id: int, quantity: str, level: float, trend: Trend
                    ) -> float | None: ...


class LinearTrendForecaster:
    """Straight-line extrapolation of the rule's smoothed trend (rising or falling to ``level``)."""

    name = "linear-trend"

    def hours_until(self, thing_id: int, quantity: str, level: float, trend: Trend
                    ) -> float | None:
        gap = level - trend.value
        if gap == 0:
            return 0.0
        if trend.rate_per_hour == 0 or (gap > 0) != (trend.rate_per_hour > 0):
            # Moving away from the level: already there or never, judged by which side it is on.
            return None
        return gap / trend.rate_per_hour
