"""Air quality: sites, latest values and the objectives table per year."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from placehub.access.service import Principal
from placehub.web import catalogue
from placehub.web.concerns import optional_function
from placehub.web.session import officer, public
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)
AIR_QUANTITIES = [("no2", "NO₂"), ("pm2_5", "PM2.5"), ("pm10", "PM10")]


def air_context(request: Request, principal: Principal, year: int | None) -> dict[str, object]:
    """Air-quality sites the principal may see, their latest values and the objectives table."""
    annual_report = optional_function("placehub.alerts.air", "annual_report")
    now = datetime.now(UTC)
    year = year or now.year
    with request.app.state.database.connect() as conn:
        sites = catalogue.list_assets(conn, principal, now, asset_type="air_quality_station")
        report = annual_report(conn, principal, year) if annual_report else None
    return {"sites": sites, "quantities": AIR_QUANTITIES, "year": year, "report": report,
            "years": list(range(now.year, now.year - 8, -1))}


@router.get("/air")
def air_page(request: Request, year: int | None = None,
             principal: Principal = Depends(officer)) -> Response:
    return render(request, "air.html", title="Air quality", public=False,
                  **air_context(request, principal, year))


@router.get("/public/air")
def public_air_page(request: Request, year: int | None = None,
                    principal: Principal = Depends(public)) -> Response:
    return render(request, "air.html", title="Air quality by site", public=True,
                  **air_context(request, principal, year))
