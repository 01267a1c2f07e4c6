"""Air quality: sites, latest values and how each site did against the objectives in a year.

Exceedance objectives are counts (hours or days above a level) shown against the count
allowed; annual means are concentrations against their limit. Sites are ordered worst first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from placehub.access.service import Principal
from placehub.alerts import air_quality as aq
from placehub.alerts.air_report import annual_report, report_rows
from placehub.assets.summary import list_assets
from placehub.web import downloads, maps
from placehub.web.formats import plural
from placehub.web.session import officer, public
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)
AIR_QUANTITIES = [("no2", "NO₂"), ("pm2_5", "PM2.5"), ("pm10", "PM10")]
SHORT_NAMES = dict(AIR_QUANTITIES)
# What each kind of exceedance objective counts.
COUNTED = {"hourly_exceedances": "hour", "daily_exceedances": "day"}
KIND_OF = {objective.name: objective.kind for objective in aq.OBJECTIVES}


def objective_text(row: dict[str, Any]) -> str:
    """The objective in words: "NO₂ hourly mean above 200 µg/m³ on no more than 18 hours a
    year", "PM2.5 annual mean at most 12 µg/m³ (interim target for January 2028)"."""
    name = SHORT_NAMES.get(row["pollutant"], row["pollutant_name"])
    limit = f"{row['limit_ugm3']:g} µg/m³"
    unit = COUNTED.get(_kind(row))
    if unit is None:
        qualifier = row["objective"].partition(", ")[2]
        if qualifier:
            qualifier = " (" + qualifier.replace(" (", " for ").rstrip(")") + ")"
        return f"{name} annual mean at most {limit}{qualifier}"
    period = "hourly" if unit == "hour" else "24-hour"
    return (f"{name} {period} mean above {limit} on no more than "
            f"{plural(row['allowed_exceedances'], unit)} a year")


def _kind(row: dict[str, Any]) -> str:
    return KIND_OF.get(row["objective"], "annual_mean")


def result_text(row: dict[str, Any]) -> str:
    """What was measured: "3 hours above (18 allowed)" or "34.2 µg/m³ (limit 40 µg/m³)"."""
    value = row["value"]
    if value is None:
        return "No data"
    unit = COUNTED.get(_kind(row))
    if unit is None:
        return f"{value:.1f} µg/m³ (limit {row['limit_ugm3']:g} µg/m³)"
    return f"{plural(int(value), unit)} above ({row['allowed_exceedances']} allowed)"


def verdict(row: dict[str, Any]) -> tuple[str, str]:
    """(tag colour, text) of a row's verdict: Not met, Met or No verdict."""
    if row["exceeded"] is None:
        return "grey", "No verdict"
    return ("red", "Not met") if row["exceeded"] else ("green", "Met")


def severity(row: dict[str, Any]) -> float:
    """How far a row is from its objective: value over limit (or count over allowed count)."""
    value = row["value"]
    if value is None:
        return -1.0
    if row["allowed_exceedances"] is None:
        return float(value) / float(row["limit_ugm3"])
    return float(value) / max(1, row["allowed_exceedances"])


def site_order(rows: list[dict[str, Any]]) -> list[int]:
    """Site ids worst first: most objectives not met, then the furthest over (or nearest to)
    an objective, then by name."""
    scores: dict[int, tuple[int, float, str]] = {}
    for row in rows:
        failed, worst, name = scores.get(row["site_id"], (0, -1.0, row["site"]))
        scores[row["site_id"]] = (failed + (1 if row["exceeded"] else 0),
                                  max(worst, severity(row)), name)
    return sorted(scores, key=lambda site: (-scores[site][0], -scores[site][1], scores[site][2]))


def objectives_table(report: dict[str, Any]) -> dict[str, Any]:
    """The annual report as a GOV.UK table, one row per site and objective, worst site first;
    and a one-line summary naming the worst site."""
    rows = report_rows(report)
    order = {site: rank for rank, site in enumerate(site_order(rows))}
    rows.sort(key=lambda row: order[row["site_id"]])
    head = [{"text": "Site"}, {"text": "Objective"}, {"text": "Measured"},
            {"text": "Result"}, {"text": "Data capture", "format": "numeric"}]
    table = []
    for row in rows:
        colour, text = verdict(row)
        tags = f'<strong class="govuk-tag govuk-tag--{colour}">{text}</strong>'
        if row["indicative"]:
            tags += (' <strong class="govuk-tag govuk-tag--yellow">Indicative</strong>'
                     f'<span class="govuk-visually-hidden">: {row["note"]}</span>')
        capture = row["data_capture"]
        table.append([
            {"text": row["site"]}, {"text": objective_text(row)}, {"text": result_text(row)},
            {"html": tags},
            {"text": "–" if capture is None else f"{capture:.0%}", "format": "numeric"},
        ])
    return {"head": head, "rows": table, "summary": _summary(rows, order),
            "indicative": any(row["indicative"] for row in rows)}


def _summary(rows: list[dict[str, Any]], order: dict[int, int]) -> str:
    if not rows:
        return ""
    worst = min(order, key=order.__getitem__)
    mine = [row for row in rows if row["site_id"] == worst]
    failed = [row for row in mine if row["exceeded"]]
    if failed:
        return (f"Worst site: {mine[0]['site']}, which did not meet "
                f"{plural(len(failed), 'objective')} of {len(mine)}.")
    if any(row["exceeded"] is None for row in rows):
        return (f"No site is known to have missed an objective; some results have no verdict "
                f"for lack of data. Closest to an objective: {mine[0]['site']}.")
    return f"Every site met every objective. Closest to an objective: {mine[0]['site']}."


def air_context(request: Request, principal: Principal, year: int | None) -> dict[str, Any]:
    """Air-quality sites the principal may see (worst first), their latest values, the
    objectives table and where the readings come from."""
    now = datetime.now(UTC)
    year = year or now.year
    with request.app.state.database.connect() as conn:
        sites = list_assets(conn, principal, now, asset_type="air_quality_station")
        report = annual_report(conn, principal, year)
    ranked = {site: rank for rank, site in enumerate(site_order(report_rows(report)))}
    sites.sort(key=lambda site: (ranked.get(site.id, len(ranked)), site.name))
    sources = sorted({str(site.properties["data_source"]) for site in sites
                      if site.properties.get("data_source")})
    return {"sites": sites, "quantities": AIR_QUANTITIES, "year": year,
            "report": objectives_table(report), "report_rows": report_rows(report),
            "sources": sources,
            "capture_threshold": aq.ANNUAL_CAPTURE_THRESHOLD,
            "capture_floor": aq.VERDICT_CAPTURE_FLOOR,
            "years": list(range(now.year, now.year - 8, -1))}


def _history_base(public: bool) -> str:
    return "/public/assets/{}/history" if public else "/assets/{}/history"


@router.get("/air")
def air_page(request: Request, year: int | None = None,
             principal: Principal = Depends(officer)) -> Response:
    return render(request, "air.html", title="Air quality", public=False,
                  history=_history_base(False),
                  downloads=downloads.links("/air", {"year": year}),
                  **air_context(request, principal, year))


@router.get("/public/air")
def public_air_page(request: Request, year: int | None = None,
                    principal: Principal = Depends(public)) -> Response:
    return render(request, "air.html", title="Air quality by site", public=True,
                  history=_history_base(True),
                  downloads=downloads.links("/public/air", {"year": year}),
                  **air_context(request, principal, year))


def air_download(request: Request, principal: Principal, year: int | None, fmt: str,
                 public: bool) -> Response:
    """The air page's sites (worst first) with their latest pollutants, how many of the
    year's objectives each did not meet, and the link to each site's history download."""
    downloads.check_format(fmt)
    context = air_context(request, principal, year)
    failed: dict[int, int] = {}
    judged: dict[int, int] = {}
    for row in context["report_rows"]:
        judged[row["site_id"]] = judged.get(row["site_id"], 0) + 1
        failed[row["site_id"]] = failed.get(row["site_id"], 0) + (1 if row["exceeded"] else 0)
    rows = [{"id": site.id, "name": site.name, "status": site.status_label,
             **{q: maps.reading_value(site, q) for q, _ in AIR_QUANTITIES},
             "last_reading": site.last_seen,
             "objectives": judged.get(site.id, 0), "objectives_not_met": failed.get(site.id, 0),
             "data_source": site.properties.get("data_source"),
             "longitude": None if site.lon is None else round(site.lon, 6),
             "latitude": None if site.lat is None else round(site.lat, 6),
             "history": _history_base(public).format(site.id) + ".csv"}
            for site in context["sites"]]
    return downloads.respond(request, downloads.Table(
        "public-air-quality" if public else "air-quality",
        f"Air quality by site: latest readings and objectives in {context['year']}",
        ["id", "name", "status", *(q for q, _ in AIR_QUANTITIES), "last_reading",
         "objectives", "objectives_not_met", "data_source", "longitude", "latitude",
         "history"], rows, public=public,
        notes=["Pollutants in µg/m³. Sites worst first. The history column links to each "
               "site's readings with every pollutant as a column (from/to dates select the "
               "days)."]), fmt)


@router.get("/air.{fmt}")
def air_download_page(request: Request, fmt: str, year: int | None = None,
                      principal: Principal = Depends(officer)) -> Response:
    """The air-quality page's sites as CSV, JSON or GeoJSON."""
    return air_download(request, principal, year, fmt, public=False)


@router.get("/public/air.{fmt}")
def public_air_download(request: Request, fmt: str, year: int | None = None,
                        principal: Principal = Depends(public)) -> Response:
    """The public air-quality sites as CSV, JSON or GeoJSON."""
    return air_download(request, principal, year, fmt, public=True)
