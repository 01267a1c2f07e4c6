"""Hazard areas: what is inside a flood or incident area and which routes it cuts.

An area comes as GeoJSON (uploaded, drawn on the map, or an Environment Agency flood warning
area feature) or from a sensor alert. For it: the property points inside (homes by address
points and OSM buildings), vulnerable sites, council assets, the road segments inside (taken as
impassable), and the homes outside whose road route to a chosen rest centre is cut or longer.
Geometry is Shapely 2 (STRtree, vectorised predicates); routes are SciPy Dijkstra
(``placehub.planning.routing``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely import STRtree, make_valid, points, unary_union
from shapely.errors import ShapelyError
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from placehub.errors import BadRequest
from placehub.places.distance import LonLat
from placehub.places.roads import RoadNetwork
from placehub.planning.features import Feature
from placehub.planning.routing import attach, edges_in, nearest_target

# A route counts as longer when it takes at least this much more (seconds): rounding noise in
# the snapped legs must not flag a home whose route did not change.
LONGER_BY_S = 30.0
# Environment Agency flood warning/alert area properties (the "Flood Warning Areas" and
# "Flood Alert Areas" datasets and the flood-monitoring API), any case.
EA_NAME_KEYS = ("ta_name", "label", "fws_tacode", "name", "description")
EA_CODE_KEYS = ("fws_tacode", "notation", "code", "id")


@dataclass(frozen=True)
class HazardArea:
    """A named area (lon/lat polygon or multipolygon) and where it came from."""

    name: str
    geometry: BaseGeometry = field(compare=False)
    source: str = "upload"  # upload, drawn, ea-flood-area, alert
    code: str = ""

    def as_feature(self) -> dict[str, Any]:
        return {"type": "Feature", "geometry": mapping(self.geometry),
                "properties": {"name": self.name, "code": self.code, "source": self.source}}


def _pick(props: dict[str, Any], keys: Sequence[str]) -> str:
    lower = {str(k).lower(): v for k, v in props.items()}
    return next((str(lower[k]) for k in keys if lower.get(k) not in (None, "")), "")


def read_area(data: Any, name: str | None = None, source: str = "upload") -> HazardArea:
    """A hazard area from GeoJSON text or a parsed object: a FeatureCollection (its polygons are
    joined), a Feature or a bare Polygon/MultiPolygon. EA flood area properties (TA_NAME,
    FWS_TACODE) name the area when no name is given."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as error:
            raise BadRequest(f"the area is not valid JSON ({error.msg} at line {error.lineno})"
                             ) from None
    if not isinstance(data, dict) or "type" not in data:
        raise BadRequest("the area must be GeoJSON: a FeatureCollection, Feature or Polygon")
    if data["type"] == "FeatureCollection":
        features = data.get("features") or []
    elif data["type"] == "Feature":
        features = [data]
    else:
        features = [{"type": "Feature", "geometry": data, "properties": {}}]
    shapes = []
    props: dict[str, Any] = {}
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict):
            raise BadRequest(f"feature {number} is not a GeoJSON Feature object")
        try:
            geometry = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, ShapelyError):
            raise BadRequest(f"feature {number} has no readable geometry") from None
        if geometry.geom_type not in {"Polygon", "MultiPolygon"}:
            raise BadRequest(f"feature {number} is a {geometry.geom_type}: an area must be a "
                             "Polygon or MultiPolygon")
        given = feature.get("properties")
        props = props or (dict(given) if isinstance(given, dict) else {})
        shapes.append(geometry)
    if not shapes:
        raise BadRequest("the GeoJSON has no polygon: draw or upload an area")
    if not all(np.isfinite(shapely.get_coordinates(g)).all() for g in shapes):
        raise BadRequest("the area's coordinates must be numbers (no NaN or infinity)")
    try:
        area = unary_union([g if g.is_valid else make_valid(g) for g in shapes])
    except ShapelyError as error:
        raise BadRequest(f"the area's outline cannot be read: {error}") from None
    minx, miny, maxx, maxy = area.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise BadRequest("the area's coordinates are not longitude/latitude: convert it to "
                         "WGS84 (EPSG:4326) first (British National Grid metres are not read)")
    if area.is_empty or area.area == 0:
        raise BadRequest("the area is empty: it needs at least three distinct corners")
    title = name or _pick(props, EA_NAME_KEYS) or "Hazard area"
    ea = any(str(k).lower() == "fws_tacode" for k in props)
    return HazardArea(title, area, "ea-flood-area" if ea and source == "upload" else source,
                      _pick(props, EA_CODE_KEYS))


@dataclass(frozen=True)
class PropertySet:
    """Property points as arrays: ids, refs, where they came from, positions, ward."""

    ids: np.ndarray
    refs: list[str]
    sources: list[str]
    lon: np.ndarray
    lat: np.ndarray
    wards: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def lonlat(self) -> np.ndarray:
        return np.column_stack([self.lon, self.lat])


@dataclass(frozen=True)
class Asset:
    """A council asset (a Thing with a position) the reader may see."""

    id: int
    name: str
    asset_type: str
    lon: float
    lat: float


def inside(area: BaseGeometry, lon: np.ndarray, lat: np.ndarray,
           tree: STRtree | None = None) -> np.ndarray:
    """Sorted indices of the points inside the area or on its edge (STRtree query)."""
    if not len(lon):
        return np.zeros(0, dtype=np.int64)
    tree = tree if tree is not None else STRtree(points(lon, lat))
    return np.sort(tree.query(area, predicate="intersects"))


@dataclass
class RouteImpact:
    """Homes outside the area whose route to the rest centre is cut or longer."""

    rest_centre: LonLat
    before_s: np.ndarray
    after_s: np.ndarray
    cut: np.ndarray      # indices into the property set
    longer: np.ndarray


@dataclass
class HazardReport:
    """Everything found for one area."""

    area: HazardArea
    properties_inside: np.ndarray
    sites_inside: list[Feature]
    assets_inside: list[Asset]
    closed_edges: np.ndarray
    closed_way_ids: np.ndarray
    closed_km: float
    route: RouteImpact | None = None


def route_impact(network: RoadNetwork, properties: PropertySet, rest_centre: LonLat,
                 closed: np.ndarray, outside: np.ndarray) -> RouteImpact:
    """Road time from each home to the rest centre with and without the closed segments."""
    origins = attach(network, properties.lonlat)
    target = attach(network, [rest_centre])
    before = nearest_target(network, origins, target, "seconds").cost
    after = nearest_target(network, origins, target, "seconds", closed=closed).cost
    outside_mask = np.zeros(len(properties), dtype=bool)
    outside_mask[outside] = True
    cut = np.flatnonzero(outside_mask & np.isfinite(before) & ~np.isfinite(after))
    longer = np.flatnonzero(outside_mask & np.isfinite(after) & (after > before + LONGER_BY_S))
    return RouteImpact(rest_centre, before, after, cut, longer)


def assess(area: HazardArea, properties: PropertySet, sites: Sequence[Feature],
           assets: Sequence[Asset], network: RoadNetwork | None = None,
           rest_centre: LonLat | None = None) -> HazardReport:
    """Properties, sites and assets inside the area; roads inside closed; routes affected."""
    geometry = area.geometry
    homes = inside(geometry, properties.lon, properties.lat)
    site_index = inside(geometry, np.array([s.lon for s in sites]),
                        np.array([s.lat for s in sites]))
    asset_index = inside(geometry, np.array([a.lon for a in assets]),
                         np.array([a.lat for a in assets]))
    closed = np.zeros(0, dtype=bool)
    route = None
    closed_way_ids = np.zeros(0, dtype=np.int64)
    closed_km = 0.0
    if network is not None:
        closed = edges_in(network, geometry)
        closed_way_ids = np.unique(network.way_id[closed])
        closed_km = float(network.length_m[closed].sum() / 1000)
        if rest_centre is not None:
            outside = np.setdiff1d(np.arange(len(properties)), homes)
            route = route_impact(network, properties, rest_centre, closed, outside)
    return HazardReport(area, homes, [sites[i] for i in site_index],
                        [assets[i] for i in asset_index], np.flatnonzero(closed),
                        closed_way_ids, closed_km, route)


def summary(report: HazardReport, properties: PropertySet) -> dict[str, Any]:
    """Exact counts for an area (officers' figures; the public get ``public_summary``)."""
    by_source = Counter(properties.sources[i] for i in report.properties_inside)
    route: dict[str, Any] | None = None
    if report.route is not None:
        r = report.route
        extra = r.after_s[r.longer] - r.before_s[r.longer]
        route = {"rest_centre": list(r.rest_centre), "cut": len(r.cut), "longer": len(r.longer),
                 "median_extra_minutes": round(float(np.median(extra)) / 60, 1)
                 if len(extra) else 0.0}
    return {
        "area": {"name": report.area.name, "code": report.area.code,
                 "source": report.area.source},
        "properties": len(report.properties_inside),
        "properties_by_source": dict(sorted(by_source.items())),
        "vulnerable_sites": dict(sorted(Counter(s.kind for s in report.sites_inside).items())),
        "assets": dict(sorted(Counter(a.asset_type for a in report.assets_inside).items())),
        "roads_closed": {"segments": len(report.closed_edges),
                         "ways": len(report.closed_way_ids), "km": round(report.closed_km, 2)},
        "routes": route,
    }


def property_rows(report: HazardReport, properties: PropertySet) -> list[dict[str, Any]]:
    """One row per home inside or whose route is cut or longer (officer-only lists)."""
    rows: dict[int, dict[str, Any]] = {}

    def row(i: int, status: str) -> dict[str, Any]:
        entry = {"id": int(properties.ids[i]), "ref": properties.refs[i],
                 "source": properties.sources[i], "lon": round(float(properties.lon[i]), 6),
                 "lat": round(float(properties.lat[i]), 6), "status": status,
                 "ward": properties.wards[i] if properties.wards else "",
                 "minutes_before": "", "minutes_after": ""}
        if report.route is not None:
            for key, values in (("minutes_before", report.route.before_s),
                                ("minutes_after", report.route.after_s)):
                value = float(values[i])
                entry[key] = round(value / 60, 1) if np.isfinite(value) else ""
        return entry

    for i in report.properties_inside:
        rows[int(i)] = row(int(i), "inside")
    if report.route is not None:
        for i in report.route.cut:
            rows[int(i)] = row(int(i), "route cut")
        for i in report.route.longer:
            rows[int(i)] = row(int(i), "route longer")
    return [rows[i] for i in sorted(rows)]
