"""The annual air-quality status of every station: read the hourly data, compute, tabulate.

A station is a Thing with ``properties.asset_type == "air_quality_station"``; its pollutant
Datastreams are found by ``properties.quantity`` (no2, pm10, pm2_5). Datastreams whose unit is ppb
are converted to µg/m³ before any statistic (see ``air_quality.PPB_TO_UGM3``).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, select

from placehub import csv_cells
from placehub.access.service import Principal
from placehub.access.visibility import visible_clause
from placehub.alerts import air_quality as aq
from placehub.errors import NotFound
from placehub.sta.tables import (
    datastreams,
    locations,
    observations,
    thing_locations,
    things,
)

STATION = "air_quality_station"


def _asset_type_clause() -> Any:
    return things.c.properties["asset_type"].as_string() == STATION


def air_sites(conn: Connection, principal: Principal) -> list[dict[str, Any]]:
    """Stations the principal may read, with location, pollutant Datastreams and years of data."""
    rows = conn.execute(
        select(things.c.id, things.c.name, things.c.visibility, locations.c.location)
        .select_from(things)
        .outerjoin(thing_locations, thing_locations.c.thing_id == things.c.id)
        .outerjoin(locations, locations.c.id == thing_locations.c.location_id)
        .where(_asset_type_clause(),
               visible_clause(principal, things.c.organisation_id, things.c.visibility))
        .order_by(things.c.name, things.c.id)
    ).all()
    sites: dict[int, dict[str, Any]] = {}
    for row in rows:
        sites.setdefault(row.id, {"id": row.id, "name": row.name, "visibility": row.visibility,
                                  "location": row.location, "datastreams": {}})
    if not sites:
        return []
    for ds in conn.execute(
        select(datastreams.c.id, datastreams.c.thing_id, datastreams.c.properties,
               datastreams.c.unit_of_measurement, datastreams.c.phenomenon_time_start,
               datastreams.c.phenomenon_time_end, datastreams.c.observation_count)
        .where(datastreams.c.thing_id.in_(list(sites)))
    ):
        quantity = (ds.properties or {}).get("quantity")
        if quantity not in aq.POLLUTANTS:
            continue
        first, last = ds.phenomenon_time_start, ds.phenomenon_time_end
        sites[ds.thing_id]["datastreams"][quantity] = {
            "id": ds.id, "unit": (ds.unit_of_measurement or {}).get("symbol"),
            "observations": ds.observation_count,
            "first": first.isoformat() if first else None,
            "last": last.isoformat() if last else None,
            "years": list(range(first.year, last.year + 1)) if first and last else [],
        }
    return list(sites.values())


def find_site(conn: Connection, principal: Principal, site: str) -> dict[str, Any]:
    """One station by id or exact name; NotFound if unknown or not visible."""
    for candidate in air_sites(conn, principal):
        if str(candidate["id"]) == site or candidate["name"] == site:
            return candidate
    raise NotFound(f"no air-quality station {site!r}: list them with 'placehub air sites' "
                   "or GET /api/air/sites")


def hourly_series(conn: Connection, datastream_id: int, start: datetime, hours: int,
                  unit: str | None = None, pollutant: str | None = None) -> np.ndarray:
    """Hourly means (µg/m³) of a Datastream for ``hours`` hours from ``start``."""
    end = datetime.fromtimestamp(start.timestamp() + hours * aq.HOUR_S, UTC)
    rows = conn.execute(
        select(observations.c.phenomenon_time_start, observations.c.result_number)
        .where(observations.c.datastream_id == datastream_id,
               observations.c.phenomenon_time_start >= start,
               observations.c.phenomenon_time_start < end,
               observations.c.result_number.is_not(None))
    ).all()
    times = np.fromiter((r[0].timestamp() for r in rows), dtype=np.float64, count=len(rows))
    values = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
    if unit == "ppb" and pollutant:
        values = np.asarray(aq.ppb_to_ugm3(pollutant, values))
    return aq.hourly_means(times, values, start, hours)


def site_year(conn: Connection, site: dict[str, Any], year: int,
              capture_threshold: float = aq.ANNUAL_CAPTURE_THRESHOLD,
              capture_floor: float = aq.VERDICT_CAPTURE_FLOOR) -> dict[str, Any]:
    """The annual statistics of every pollutant a station measures."""
    start, _ = aq.year_bounds(year)
    hours = aq.hours_in_year(year)
    pollutants = {}
    for pollutant in aq.POLLUTANTS:
        stream = site["datastreams"].get(pollutant)
        if stream is None:
            continue
        hourly = hourly_series(conn, stream["id"], start, hours, stream["unit"], pollutant)
        stats = aq.pollutant_year(pollutant, year, hourly, capture_threshold, capture_floor)
        pollutants[pollutant] = {**stats.as_dict(), "datastream_id": stream["id"],
                                 "unit_reported": stream["unit"]}
    return {"site_id": site["id"], "site": site["name"], "year": year,
            "capture_threshold": capture_threshold, "capture_floor": capture_floor,
            "pollutants": pollutants}


def annual_report(conn: Connection, principal: Principal, year: int, site: str | None = None,
                  capture_threshold: float = aq.ANNUAL_CAPTURE_THRESHOLD,
                  capture_floor: float = aq.VERDICT_CAPTURE_FLOOR) -> dict[str, Any]:
    """Every visible station's status for ``year`` (or just ``site``): the one report shape
    that ``placehub air report --json`` prints and ``GET /api/air/report`` returns."""
    if not 1900 <= year <= 2200:
        raise ValueError(f"year {year} not understood")
    sites = [find_site(conn, principal, site)] if site else air_sites(conn, principal)
    return {"year": year, "capture_threshold": capture_threshold,
            "capture_floor": capture_floor,
            "sites": [site_year(conn, s, year, capture_threshold, capture_floor)
                      for s in sites]}


def daily_series(conn: Connection, site: dict[str, Any], pollutant: str, year: int
                 ) -> list[dict[str, Any]]:
    """Daily means (µg/m³) of one pollutant for a year, with the hours behind each."""
    stream = site["datastreams"].get(pollutant)
    if stream is None:
        raise NotFound(f"station {site['name']!r} does not measure {pollutant}")
    start, _ = aq.year_bounds(year)
    hourly = hourly_series(conn, stream["id"], start, aq.hours_in_year(year), stream["unit"],
                           pollutant)
    daily = aq.daily_means(hourly)
    grid = hourly.reshape(-1, aq.DAY_HOURS)
    out = []
    for day, mean in enumerate(daily):
        date = datetime.fromtimestamp(start.timestamp() + day * 86400, UTC).date()
        out.append({"date": date.isoformat(),
                    "mean": None if np.isnan(mean) else round(float(mean), 2),
                    "hours_with_data": int((~np.isnan(grid[day])).sum())})
    return out


REPORT_COLUMNS = ("site_id", "site", "year", "pollutant", "pollutant_name", "objective",
                  "limit_ugm3", "value", "allowed_exceedances", "exceeded", "data_capture",
                  "indicative", "percentile", "note")


def report_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per site, pollutant and objective (for CSV and tables)."""
    rows = []
    for site in report["sites"]:
        for pollutant, stats in site["pollutants"].items():
            for result in stats["objectives"]:
                rows.append({
                    "site_id": site["site_id"], "site": site["site"], "year": site["year"],
                    "pollutant": pollutant, "pollutant_name": aq.pollutant_name(pollutant),
                    "objective": result["objective"],
                    "limit_ugm3": result["limit"], "value": result["value"],
                    "allowed_exceedances": result["allowed_exceedances"],
                    "exceeded": result["exceeded"], "data_capture": result["data_capture"],
                    "indicative": result["indicative"], "percentile": result["percentile"],
                    "note": result["note"],
                })
    return rows


def report_csv(report: dict[str, Any]) -> str:
    """The annual status table as CSV."""
    buffer = io.StringIO()
    writer = csv_cells.DictWriter(buffer, fieldnames=REPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(report_rows(report))
    return buffer.getvalue()
