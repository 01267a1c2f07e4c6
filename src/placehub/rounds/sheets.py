"""Round sheets for crews: a printable HTML page, CSV and GPX per vehicle of a stored plan."""

from __future__ import annotations

import csv
import io
from typing import Any
from xml.sax.saxutils import escape

from jinja2 import Environment, PackageLoader, select_autoescape

from placehub.errors import NotFound

_templates = Environment(
    loader=PackageLoader("placehub.rounds", "templates"),
    autoescape=select_autoescape(["html"]),
)

CSV_COLUMNS = ("sequence", "arrival", "kind", "thing_id", "name", "lat", "lon", "load_litres",
               "status", "reason", "stop_id")


def vehicle_of(detail: dict[str, Any], number: int) -> dict[str, Any]:
    """The plan's vehicle ``number`` (1-based, as on the sheets), or NotFound."""
    vehicles = detail["vehicles"]
    if not 1 <= number <= len(vehicles):
        raise NotFound(f"plan {detail['id']} has vehicles 1 to {len(vehicles)}, not {number}")
    return vehicles[number - 1]


def sheet_html(detail: dict[str, Any], number: int, council: str) -> str:
    """The printable round sheet of one vehicle."""
    vehicle = vehicle_of(detail, number)
    asset_stops = sum(1 for s in vehicle["stops"] if s["kind"] == "asset")
    return _templates.get_template("round_sheet.html").render(
        plan=detail, vehicle=vehicle, council=council, asset_stops=asset_stops)


def sheet_csv(detail: dict[str, Any], number: int) -> str:
    """One row per stop, in driving order."""
    vehicle = vehicle_of(detail, number)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for stop in vehicle["stops"]:
        writer.writerow([stop["sequence"], stop["arrival"], stop["kind"],
                         stop["asset_id"] if stop["asset_id"] is not None else "", stop["name"],
                         f"{stop['lat']:.6f}", f"{stop['lon']:.6f}", stop["load_litres"],
                         stop.get("status", "planned"), stop.get("reason", ""),
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
