"""A round plan as GeoJSON for the plan page's map: each vehicle's road route and its stops.

The plan page shows the same stops in a table per vehicle; the map only adds the picture.
"""

from __future__ import annotations

from typing import Any

from placehub.rounds.sheets import local_time

# Distinguishable on the map's light background and for common colour-vision deficiencies
# (Okabe–Ito order); the table and the numbered stops carry the same information as text.
VEHICLE_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")


def vehicle_swatch(number: int) -> int:
    """Which colour (1-based; the ``placehub-vehicle--N`` class in placehub.scss) vehicle
    ``number`` (1-based, as on the round sheets) is drawn in."""
    return (number - 1) % len(VEHICLE_COLOURS) + 1


def vehicle_colour(number: int) -> str:
    """The colour of vehicle ``number``."""
    return VEHICLE_COLOURS[vehicle_swatch(number) - 1]


def route_features(detail: dict[str, Any]) -> dict[str, Any]:
    """A FeatureCollection: per vehicle one MultiLineString route, then one Point per stop."""
    features: list[dict[str, Any]] = []
    for number, vehicle in enumerate(detail["vehicles"], start=1):
        common = {"vehicle": vehicle["vehicle"], "number": number,
                  "colour": vehicle_colour(number)}
        legs = [leg for leg in vehicle.get("geometry", {}).get("coordinates", []) if len(leg) > 1]
        if legs:
            features.append({
                "type": "Feature", "id": f"route-{number}",
                "geometry": {"type": "MultiLineString", "coordinates": legs},
                "properties": {**common, "kind": "route", "km": vehicle.get("km")},
            })
        for stop in vehicle["stops"]:
            features.append({
                "type": "Feature", "id": f"stop-{number}-{stop['sequence']}",
                "geometry": {"type": "Point", "coordinates": [stop["lon"], stop["lat"]]},
                "properties": {**common, "kind": stop["kind"], "sequence": stop["sequence"],
                               "name": stop["name"], "asset_id": stop.get("asset_id"),
                               "stop_id": stop.get("id"),
                               "arrival": local_time(stop.get("arrival")),
                               "status": stop.get("status", "planned")},
            })
    return {"type": "FeatureCollection", "features": features, "bbox": _bbox(features)}


def _bbox(features: list[dict[str, Any]]) -> list[float] | None:
    points = [point for feature in features for point in _points(feature["geometry"])]
    if not points:
        return None
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return [min(lons), min(lats), max(lons), max(lats)]


def _points(geometry: dict[str, Any]) -> list[list[float]]:
    if geometry["type"] == "Point":
        return [geometry["coordinates"]]
    return [point for leg in geometry["coordinates"] for point in leg]
