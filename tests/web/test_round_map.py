"""The plan page's map data: each vehicle's road route and its stops as GeoJSON."""

from __future__ import annotations

import re
from pathlib import Path

from placehub.web.round_map import VEHICLE_COLOURS, route_features, vehicle_colour

SCSS = Path(__file__).resolve().parents[2] / "src" / "placehub" / "web" / "assets" / "placehub.scss"


def _stop(sequence: int, kind: str, lon: float, lat: float, **extra: object) -> dict:
    return {"sequence": sequence, "kind": kind, "name": f"Stop {sequence}", "lon": lon,
            "lat": lat, "asset_id": 7 if kind == "asset" else None,
            "arrival": "2026-12-07T07:05:00+00:00", **extra}


def test_routes_and_stops_per_vehicle() -> None:
    """Each vehicle gives one route (its legs, one-point legs dropped) and one point per stop,
    in its own colour; the bbox covers everything."""
    detail = {"vehicles": [
        {"vehicle": "RCV 1", "km": 4.2, "stops": [
            _stop(0, "depot", -0.7, 52.6), _stop(1, "asset", -0.72, 52.67, id=31,
                                                  status="done")],
         "geometry": {"type": "MultiLineString",
                      "coordinates": [[[-0.7, 52.6], [-0.72, 52.67]], [[-0.72, 52.67]]]}},
        {"vehicle": "RCV 2", "km": 0, "stops": [_stop(0, "depot", -0.6, 52.5)],
         "geometry": {"type": "MultiLineString", "coordinates": []}},
    ]}
    collection = route_features(detail)
    routes = [f for f in collection["features"] if f["properties"]["kind"] == "route"]
    stops = [f for f in collection["features"] if f["properties"]["kind"] != "route"]
    assert len(routes) == 1 and routes[0]["geometry"]["coordinates"] == [
        [[-0.7, 52.6], [-0.72, 52.67]]]
    assert len(stops) == 3
    served = next(f for f in stops if f["properties"]["stop_id"] == 31)["properties"]
    assert served["status"] == "done" and served["arrival"] == "07:05"
    assert served["colour"] == vehicle_colour(1) != vehicle_colour(2)
    assert collection["bbox"] == [-0.72, 52.5, -0.6, 52.67]


def test_empty_plan_has_no_bbox() -> None:
    """A plan without vehicles gives no features and no bbox (the page then uses the default)."""
    assert route_features({"vehicles": []}) == {"type": "FeatureCollection", "features": [],
                                                "bbox": None}


def test_stylesheet_has_the_same_vehicle_colours() -> None:
    """The legend swatches (Sass) use the map's colours, in the same order."""
    found = re.search(r"\$vehicle-colours: \(([^)]*)\)", SCSS.read_text(encoding="utf-8"))
    assert found
    assert [c.strip() for c in found.group(1).split(",")] == list(VEHICLE_COLOURS)
