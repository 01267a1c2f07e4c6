"""HTTP routes of placehub.alerts: /api/air/... (and /api/alerts/...)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import PlainTextResponse

from placehub.access.requests import current_principal
from placehub.access.service import Principal
from placehub.alerts import air_quality as aq
from placehub.alerts import air_report
from placehub.errors import BadRequest


def register(app: FastAPI) -> None:
    """Add this concern's routes to the app."""

    @app.get("/api/air/sites", tags=["air quality"])
    def air_sites(request: Request,
                  principal: Principal = Depends(current_principal)) -> list[dict[str, Any]]:
        """Air-quality stations you may read, with their pollutant Datastreams and years."""
        with request.app.state.database.connect() as conn:
            return air_report.air_sites(conn, principal)

    @app.get("/api/air/report", tags=["air quality"], response_model=None)
    def air_annual_report(
        request: Request,
        year: int = Query(..., ge=1900, le=2200, description="Calendar year (UTC)."),
        site: str | None = Query(None, description="Station id or name."),
        capture_threshold: float = Query(aq.ANNUAL_CAPTURE_THRESHOLD, gt=0, le=1),
        format: str = Query("json", description="json or csv."),
        principal: Principal = Depends(current_principal),
    ) -> Any:
        """Each station against the UK objectives in ``year``, with data capture."""
        if format not in ("json", "csv"):
            raise BadRequest(f"format {format!r}: use json or csv")
        with request.app.state.database.connect() as conn:
            report = air_report.annual_report(conn, principal, year, site, capture_threshold)
        if format == "csv":
            return PlainTextResponse(
                air_report.report_csv(report), media_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="air-{year}.csv"'})
        return {"year": year, "capture_threshold": capture_threshold, "sites": report}

    @app.get("/api/air/sites/{site}/daily", tags=["air quality"])
    def air_daily(request: Request, site: str, pollutant: str = Query("pm10"),
                  year: int = Query(..., ge=1900, le=2200),
                  principal: Principal = Depends(current_principal)) -> dict[str, Any]:
        """Daily means (valid with at least 18 hours) of one pollutant at one station."""
        if pollutant not in aq.POLLUTANTS:
            raise BadRequest(f"pollutant {pollutant!r}: use one of {', '.join(aq.POLLUTANTS)}")
        with request.app.state.database.connect() as conn:
            found = air_report.find_site(conn, principal, site)
            days = air_report.daily_series(conn, found, pollutant, year)
        return {"site_id": found["id"], "pollutant": pollutant, "year": year, "days": days}
