"""HTTP routes of placehub.assets: assets with their status, one asset in full, thresholds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request

from placehub.access.requests import current_principal
from placehub.access.service import Principal
from placehub.assets.detail import asset_detail, summary_dict
from placehub.assets.status import STATUS_LABELS
from placehub.assets.summary import list_assets
from placehub.assets.thresholds import (
    THRESHOLD_HELP,
    THRESHOLD_NAMES,
    organisation_thresholds,
    type_defaults,
)
from placehub.assets.types import ASSET_TYPES
from placehub.errors import BadRequest
from placehub.governance import read_audit
from placehub.governance.data_classes import classes_of
from placehub.rounds.service import asset_visit

router = APIRouter(prefix="/api/assets", tags=["assets"])


def now() -> datetime:
    return datetime.now(UTC)


@router.get("")
def assets(request: Request, type: str = "", status: str = "",
           principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    """Every asset the caller may read, with its level and status (filter by type, status)."""
    if status and status not in STATUS_LABELS:
        raise BadRequest(f"status={status!r} not understood: use one of "
                         f"{', '.join(STATUS_LABELS)}, or leave it out for all.")
    at = now()
    with request.app.state.database.connect() as conn:
        found = list_assets(conn, principal, at, asset_type=type or None, status=status or None)
    return {"at": at.isoformat(), "assets": [summary_dict(a) for a in found]}


@router.get("/thresholds")
def thresholds(request: Request, principal: Principal = Depends(current_principal)
               ) -> dict[str, Any]:
    """The thresholds statuses are judged by: type defaults, and the overrides of the caller's
    organisations (an asset's own are in ``GET /api/assets/{id}``)."""
    with request.app.state.database.connect() as conn:
        overrides = organisation_thresholds(
            conn, None if principal.write_anywhere else principal.member_of)
    return {
        "meaning": THRESHOLD_HELP,
        "type_defaults": {name: type_defaults(name).values() for name in ASSET_TYPES},
        "organisations": overrides,
        "names": list(THRESHOLD_NAMES),
    }


@router.get("/{thing_id}")
def asset(thing_id: int, request: Request, principal: Principal = Depends(current_principal)
          ) -> dict[str, Any]:
    """One asset: status, readings, ward and LSOA, forecast, open alerts, service history,
    thresholds, and whether tomorrow's round would visit it."""
    at = now()
    with request.app.state.database.connect() as conn:
        detail = asset_detail(conn, principal, thing_id, at)
        visit = asset_visit(conn, request.app.state.settings, thing_id, at)
        classes = classes_of(conn, (r.datastream_id for r in detail.asset.readings.values()))
    read_audit.record_request_reads(
        request.app.state.database, principal, "api",
        read_audit.describe(request.method, request.url.path, request.url.query),
        read_audit.ReadLog({thing_id}, set(classes)))
    return {"at": at.isoformat(), **detail.as_dict(),
            "data_classes": {str(i): c.data_class for i, c in sorted(classes.items())},
            "next_round": visit.as_dict() if visit else None}


def register(app: FastAPI) -> None:
    """Add this concern's routes to the app."""
    app.include_router(router)
