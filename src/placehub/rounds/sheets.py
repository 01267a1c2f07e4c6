"""Round sheets for crews: a printable HTML page, CSV and GPX per vehicle of a stored plan.

Times are shown in the council's local time (Europe/London unless told otherwise); each sheet
has the vehicle's route as a small SVG map (it prints without scripts) beside the table of the
same stops, with the nearest street and locality, why each stop is on the round (mandatory or
optional, and the forecast behind it), its fill and time window, and the crew's break.
"""

from __future__ import annotations

import io
import math
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from placehub import csv_cells
from placehub.errors import NotFound

DEFAULT_ZONE = "Europe/London"

CSV_COLUMNS = ("sequence", "arrival", "arrival_local", "kind", "thing_id", "name", "street",
               "locality", "lat", "lon", "mandatory", "why", "fill_now", "fill_forecast",
               "window", "load_litres", "status", "reason", "stop_id")


def local_time(value: str | datetime | None, zone: str = DEFAULT_ZONE) -> str:
    """HH:MM in the council's time zone from an ISO time (plans store UTC)."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def percent(value: float | None) -> str:
    """A fill fraction as a whole percentage ("" when unknown)."""
    if value is None:
        return ""
    return f"{min(max(value, 0.0), 1.1) * 100:.0f}%"


def visit_reason(stop: dict[str, Any]) -> str:
    """Why a stop is on the round, as the crew reads it."""
    if stop.get("kind") != "asset":
        return ""
    reason = str(stop.get("why") or "")
    return ("Mandatory: " if stop.get("mandatory") else "Optional, if passing: ") + reason


_templates = Environment(
    loader=PackageLoader("placehub.rounds", "templates"),
    autoescape=select_autoescape(["html"]),
)
_templates.filters["local_time"] = local_time
_templates.filters["percent"] = percent
_templates.globals["visit_reason"] = visit_reason


def vehicle_of(detail: dict[str, Any], number: int) -> dict[str, Any]:
    """The plan's vehicle ``number`` (1-based, as on the sheets), or NotFound."""
    vehicles = detail["vehicles"]
    if not 1 <= number <= len(vehicles):
        raise NotFound(f"plan {detail['id']} has vehicles 1 to {len(vehicles)}, not {number}")
    return vehicles[number - 1]


def rows_with_breaks(vehicle: dict[str, Any]) -> list[dict[str, Any]]:
    """The vehicle's stops in order with its break(s) as rows of kind "break"."""
    rows: list[dict[str, Any]] = []
    breaks = {int(b["after_sequence"]): b for b in vehicle.get("breaks", [])}
    if 0 in breaks:
        rows.append({"kind": "break", **breaks[0]})
    for stop in vehicle["stops"]:
        rows.append(stop)
        if stop["sequence"] in breaks:
            rows.append({"kind": "break", **breaks[stop["sequence"]]})
    return rows


def route_svg(vehicle: dict[str, Any], width: int = 640, height: int = 420) -> Markup:
    """The vehicle's route as an SVG map: road geometry, numbered stops, the tip, a scale bar.

    A picture for the printed sheet; the table beside it lists the same stops.
    """
    legs = vehicle.get("geometry", {}).get("coordinates", []) or []
    stops = vehicle["stops"]
    pts = [p for leg in legs for p in leg] + [[s["lon"], s["lat"]] for s in stops]
    if not pts:
        return Markup("")
    lons, lats = [p[0] for p in pts], [p[1] for p in pts]
    lat0 = math.radians((min(lats) + max(lats)) / 2)
    kx = math.cos(lat0)
    span_x = max((max(lons) - min(lons)) * kx, 1e-4)
    span_y = max(max(lats) - min(lats), 1e-4)
    pad = 24
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (pad + (lon - min(lons)) * kx * scale, height - pad - (lat - min(lats)) * scale)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'class="round-map" role="img" aria-label="Map of the route of vehicle '
             f'{escape(str(vehicle["vehicle"]))}; the table lists the same stops">',
             f'<rect width="{width}" height="{height}" fill="#fff" stroke="#555"/>']
    for leg in legs:
        if len(leg) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(p[0], p[1]) for p in leg))
            parts.append(f'<polyline points="{path}" fill="none" stroke="#0072b2" '
                         'stroke-width="2.5" stroke-linejoin="round"/>')
    for stop in stops:
        x, y = xy(stop["lon"], stop["lat"])
        if stop["kind"] == "asset":
            fill = "#d4351c" if stop.get("mandatory") else "#ffffff"
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="{fill}" '
                         'stroke="#0b0c0c" stroke-width="1.5"/>')
            parts.append(f'<text x="{x + 8:.1f}" y="{y - 6:.1f}" font-size="11" '
                         f'font-family="Arial, sans-serif">{stop["sequence"]}</text>')
        else:
            parts.append(f'<rect x="{x - 7:.1f}" y="{y - 7:.1f}" width="14" height="14" '
                         'fill="#0b0c0c"/>')
    metres = span_x / kx * 111_320 if kx else 0.0
    bar = 10 ** math.floor(math.log10(max(metres / 4, 1)))
    bar_px = bar / 111_320 * kx * scale
    parts.append(f'<line x1="{pad}" y1="{height - 8}" x2="{pad + bar_px:.1f}" y2="{height - 8}" '
                 'stroke="#0b0c0c" stroke-width="3"/>')
    label = f"{bar / 1000:g} km" if bar >= 1000 else f"{bar:g} m"
    parts.append(f'<text x="{pad + bar_px + 6:.1f}" y="{height - 4}" font-size="11" '
                 f'font-family="Arial, sans-serif">{label}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def sheet_html(detail: dict[str, Any], number: int, council: str,
               zone: str = DEFAULT_ZONE) -> str:
    """The printable round sheet of one vehicle."""
    vehicle = vehicle_of(detail, number)
    return _templates.get_template("round_sheet.html").render(
        plan=detail, sheets=[_sheet(vehicle, number, zone)], council=council, zone=zone)


def sheets_html(detail: dict[str, Any], council: str, zone: str = DEFAULT_ZONE) -> str:
    """Every used vehicle's sheet in one print, each on its own page."""
    sheets = [_sheet(vehicle, number, zone)
              for number, vehicle in enumerate(detail["vehicles"], start=1) if vehicle["stops"]]
    return _templates.get_template("round_sheet.html").render(
        plan=detail, sheets=sheets, council=council, zone=zone)


def _sheet(vehicle: dict[str, Any], number: int, zone: str) -> dict[str, Any]:
    return {"vehicle": vehicle, "number": number, "rows": rows_with_breaks(vehicle),
            "asset_stops": sum(1 for s in vehicle["stops"] if s["kind"] == "asset"),
            "mandatory": sum(1 for s in vehicle["stops"] if s.get("mandatory")),
            "map": route_svg(vehicle)}


def sheet_csv(detail: dict[str, Any], number: int, zone: str = DEFAULT_ZONE) -> str:
    """One row per stop, in driving order."""
    vehicle = vehicle_of(detail, number)
    out = io.StringIO()
    writer = csv_cells.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for stop in vehicle["stops"]:
        writer.writerow([stop["sequence"], stop["arrival"], local_time(stop["arrival"], zone),
                         stop["kind"],
                         stop["asset_id"] if stop["asset_id"] is not None else "", stop["name"],
                         stop.get("street", ""), stop.get("locality", ""),
                         f"{stop['lat']:.6f}", f"{stop['lon']:.6f}",
                         "yes" if stop.get("mandatory") else "", visit_reason(stop),
                         percent(stop.get("level")), percent(stop.get("expected_level")),
                         stop.get("window", ""), stop["load_litres"],
                         stop.get("status", "planned"), stop.get("reason", "")
                         if stop.get("status") not in (None, "planned") else "",
                         stop.get("id", "")])
    return out.getvalue()


def sheet_gpx(detail: dict[str, Any], number: int) -> str:
    """GPX 1.1 for navigation: stops as a route, the road geometry as a track."""
    vehicle = vehicle_of(detail, number)
    name = escape(f"{vehicle['vehicle']} {detail['service']} {detail['date']}")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<gpx version="1.1" creator="placehub" xmlns="http://www.topografix.com/GPX/1/1">',
             f"<metadata><name>{name}</name>"
             "<copyright author=\"OpenStreetMap contributors\"><license>"
             "https://opendatacommons.org/licenses/odbl/</license></copyright></metadata>",
             f"<rte><name>{name}</name>"]
    for stop in vehicle["stops"]:
        lines.append(f'<rtept lat="{stop["lat"]:.6f}" lon="{stop["lon"]:.6f}">'
                     f"<name>{stop['sequence']}. {escape(stop['name'])}</name>"
                     f"<time>{stop['arrival']}</time></rtept>")
    lines.append("</rte>")
    lines.append(f"<trk><name>{name}</name>")
    for leg in vehicle["geometry"]["coordinates"]:
        lines.append("<trkseg>" + "".join(
            f'<trkpt lat="{lat:.6f}" lon="{lon:.6f}"/>' for lon, lat in leg) + "</trkseg>")
    lines.append("</trk></gpx>")
    return "\n".join(lines) + "\n"
