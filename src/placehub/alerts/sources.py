"""What rules read beside Observations: device health (ingest) and forecasts (assets).

Both are small Protocols so tests and other deployments can replace them: ``IngestDeviceHealth``
reads the LoRaWAN ingest's device-health table; the forecasts come from
``placehub.assets.forecasting.AssetForecasts``, the one forecaster rounds use too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, func, select

from placehub.assets.forecasting import Crossing
from placehub.ingest.tables import ingest_device_health, ingest_devices


@dataclass(frozen=True)
class FrameCounters:
    """Uplinks a device delivered and the frame-counter gaps seen (estimated lost uplinks)."""

    received: int
    lost: int


class DeviceHealthSource(Protocol):
    """Frame counters per Thing (from the LoRaWAN ingest's device health)."""

    def frame_counters(self, conn: Connection, thing_ids: Iterable[int]
                       ) -> dict[int, FrameCounters]: ...


class IngestDeviceHealth:
    """Frame counters from ``ingest_device_health`` joined to ``ingest_devices`` by DevEUI."""

    def frame_counters(self, conn: Connection, thing_ids: Iterable[int]
                       ) -> dict[int, FrameCounters]:
        ids = list(thing_ids)
        if not ids:
            return {}
        rows = conn.execute(
            select(ingest_devices.c.thing_id, func.sum(ingest_device_health.c.frames_received),
                   func.sum(ingest_device_health.c.frames_lost))
            .join(ingest_device_health, ingest_device_health.c.dev_eui == ingest_devices.c.dev_eui)
            .where(ingest_devices.c.thing_id.in_(ids))
            .group_by(ingest_devices.c.thing_id)
        )
        return {int(r[0]): FrameCounters(int(r[1] or 0), int(r[2] or 0)) for r in rows}


class ForecastSource(Protocol):
    """Each asset's chance of crossing its line (a bin full, a flowerbed dry) within a time."""

    name: str

    def crossings(self, conn: Connection, thing_ids: Iterable[int], at: datetime,
                  within: timedelta) -> Mapping[int, Crossing]:
        """Thing id -> its forecast from ``at`` to ``at + within`` (assets without one left
        out)."""
        ...
