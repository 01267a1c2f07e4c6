"""One asset in full: what the asset page and ``GET /api/assets/{id}`` show — its status and
readings, the places it lies in (ward, LSOA), its forecast, open alerts, service history and the
thresholds it is judged by (with where each came from)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from placehub.access.service import Principal
from placehub.alerts.lifecycle import list_alerts
from placehub.assets.forecasting import FORECAST_HORIZON, Crossing, crossing_of, read_forecastable
from placehub.assets.summary import AssetSummary, get_asset
from placehub.assets.thresholds import THRESHOLD_HELP
from placehub.places.queries import places_of_thing
from placehub.rounds.forecast import Forecaster
from placehub.rounds.tables import rounds_service_events

SERVICE_HISTORY_LIMIT = 20


@dataclass
class AssetDetail:
    """Everything about one asset the viewer may read."""

    asset: AssetSummary
    places: list[dict[str, Any]]
    forecast: Crossing | None
    alerts: list[dict[str, Any]]
    services: list[dict[str, Any]]

    def place(self, layer: str) -> dict[str, Any] | None:
        """The asset's place in ``layer`` ("wards", "lsoas"), if it lies in one."""
        return next((p for p in self.places if p["layer"] == layer), None)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            **summary_dict(self.asset),
            "readings": [reading_dict(r) for r in self.asset.readings.values()],
            "places": self.places,
            "forecast": self.forecast.as_dict() if self.forecast else None,
            "alerts": self.alerts,
            "service_history": self.services,
            "thresholds": thresholds_dict(self.asset),
        }


def summary_dict(asset: AssetSummary) -> dict[str, Any]:
    """An asset as ``/api/assets`` lists it."""
    level = asset.level
    return {
        "id": asset.id, "name": asset.name, "asset_type": asset.asset_type,
        "type_label": asset.type_label, "organisation_id": asset.organisation_id,
        "visibility": asset.visibility, "lon": asset.lon, "lat": asset.lat,
        "status": asset.status, "status_label": asset.status_label,
        "needs_service_now": asset.needs_service_now,
        "level": None if level is None else {
            "kind": asset.level_kind, "value": round(level.value, 4),
            "quantity": level.quantity, "time": level.time.isoformat() if level.time else None},
        "last_seen": asset.last_seen.isoformat() if asset.last_seen else None,
        "last_service": asset.last_service.isoformat() if asset.last_service else None,
        "sta": f"/sta/v1.1/Things({asset.id})",
    }


def reading_dict(reading: Any) -> dict[str, Any]:
    return {"datastream_id": reading.datastream_id, "name": reading.name,
            "quantity": reading.quantity, "unit": reading.unit, "value": reading.value,
            "time": reading.time.isoformat() if reading.time else None}


def thresholds_dict(asset: AssetSummary) -> dict[str, Any]:
    """The asset's thresholds with their meaning and where each came from."""
    sources = asset.thresholds.sources
    out: dict[str, Any] = {
        name: {"value": value, "source": sources.get(name, "type default"),
               "meaning": THRESHOLD_HELP[name]}
        for name, value in asset.thresholds.values().items()
    }
    ignored = {k: v for k, v in sources.items() if k.startswith("ignored ")}
    if ignored:
        out["ignored"] = ignored
    return out


def service_history(conn: Connection, thing_id: int, limit: int = SERVICE_HISTORY_LIMIT
                    ) -> list[dict[str, Any]]:
    """The asset's latest service events (emptied, watered), newest first."""
    rows = conn.execute(
        select(rounds_service_events).where(rounds_service_events.c.thing_id == thing_id)
        .order_by(rounds_service_events.c.time.desc(), rounds_service_events.c.id.desc())
        .limit(limit))
    return [{"time": row.time.isoformat(), "service": row.service, "plan_id": row.plan_id,
             "note": row.note, "recorded_by": row.recorded_by} for row in rows]


def asset_detail(conn: Connection, principal: Principal, thing_id: int, now: datetime,
                 forecaster: Forecaster | None = None) -> AssetDetail:
    """One asset the viewer may read (NotFound otherwise), in full."""
    asset = get_asset(conn, principal, thing_id, now)
    history = read_forecastable(conn, now, thing_ids=[thing_id])
    forecast = (crossing_of(history[0], now, now + FORECAST_HORIZON, forecaster)
                if history else None)
    return AssetDetail(
        asset=asset, places=places_of_thing(conn, thing_id), forecast=forecast,
        alerts=list_alerts(conn, principal, status="active", thing_id=thing_id, limit=50),
        services=service_history(conn, thing_id))
