"""SensorThings HTTP routes under /sta/v1.1 (thin: parse, call the domain, render)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request

router = APIRouter(prefix="/sta/v1.1", tags=["SensorThings"])


@router.get("")
def service_root(request: Request) -> dict[str, object]:
    """The service root: entity sets and the conformance classes implemented."""
    base = str(request.base_url).rstrip("/") + "/sta/v1.1"
    names = [
        "Things", "Locations", "HistoricalLocations", "Datastreams", "Sensors",
        "ObservedProperties", "Observations", "FeaturesOfInterest",
    ]
    return {
        "value": [{"name": n, "url": f"{base}/{n}"} for n in names],
        "serverSettings": {"conformance": []},
    }


def register(app: FastAPI) -> None:
    app.include_router(router)
