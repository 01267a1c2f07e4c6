"""Air quality: sites, latest values and the objectives table per year."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from placehub.access.service import Principal
from placehub.alerts.air_report import annual_report, report_rows
from placehub.web import catalogue
from placehub.web.session import officer, public
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)
AIR_QUANTITIES = [("no2", "NO₂"), ("pm2_5", "PM2.5"), ("pm10", "PM10")]


def objectives_table(report: dict[str, Any]) -> dict[str, Any]:
    """The annual report as a GOV.UK table: one row per site, pollutant and objective."""
    head = [{"text": "Site"}, {"text": "Pollutant"}, {"text": "Objective"},
            {"text": "Value (µg/m³)", "format": "numeric"},
            {"text": "Limit (µg/m³)", "format": "numeric"}, {"text": "Met?"},
            {"text": "Data capture", "format": "numeric"}]
    rows = []
    for row in report_rows(report):
        value = row["value"]
        capture = row["data_capture"]
        met = ("not enough data" if value is None or row["exceeded"] is None
               else "exceeded" if row["exceeded"] else "met")
        rows.append([
            {"text": row["site"]}, {"text": row["pollutant_name"]}, {"text": row["objective"]},
            {"text": "–" if value is None else f"{value:.1f}", "format": "numeric"},
            {"text": row["limit_ugm3"], "format": "numeric"},
            {"text": met + (" (indicative)" if row["indicative"] else "")},
            {"text": "–" if capture is None else f"{capture:.0%}", "format": "numeric"},
        ])
    return {"head": head, "rows": rows}


def air_context(request: Request, principal: Principal, year: int | None) -> dict[str, Any]:
    """Air-quality sites the principal may see, their latest values and the objectives table."""
    now = datetime.now(UTC)
    year = year or now.year
    with request.app.state.database.connect() as conn:
        sites = catalogue.list_assets(conn, principal, now, asset_type="air_quality_station")
        report = objectives_table(annual_report(conn, principal, year))
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
