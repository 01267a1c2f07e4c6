"""Catchments: which facility each home is nearest to, by road travel time (one multi-source
Dijkstra over the road network) or by straight line (an STRtree nearest query), with homes and
people per catchment, travel-time bands, and the change when a facility closes or opens.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from shapely import STRtree, points

from placehub.places.distance import EARTH_RADIUS_M, haversine_m
from placehub.places.roads import RoadNetwork
from placehub.planning.features import Feature
from placehub.planning.hazards import PropertySet
from placehub.planning.routing import attach, nearest_target

# Travel-time bands (upper bounds, minutes); the last band is open-ended.
BANDS_MIN = (5, 10, 15, 20, 30)
# Usual residents per household in England and Wales, Census 2021 (ONS, table TS017): 2.36.
# Property points include some non-homes, so "people" is an estimate, labelled as one.
PEOPLE_PER_HOME = 2.36
# Straight-line catchments are reported in the same minutes by this average road speed.
STRAIGHT_LINE_KMH = 30.0


@dataclass(frozen=True)
class Catchments:
    """Each home's facility (index into ``facilities``, -1 if none is reachable) and minutes."""

    method: str  # road or straight
    facilities: list[Feature]
    facility: np.ndarray
    minutes: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)


def band_of(minutes: np.ndarray) -> list[str]:
    """The band label of each travel time ("0-5 min" ... "30+ min", "unreachable")."""
    edges = np.asarray(BANDS_MIN, dtype=float)
    index = np.searchsorted(edges, minutes, side="right")
    labels = [f"{lo}-{hi} min" for lo, hi in zip((0, *BANDS_MIN[:-1]), BANDS_MIN, strict=True)]
    labels.append(f"{BANDS_MIN[-1]}+ min")
    return [labels[i] if np.isfinite(m) else "unreachable"
            for i, m in zip(index, minutes, strict=True)]


def by_road(network: RoadNetwork, homes: PropertySet, facilities: Sequence[Feature]
            ) -> Catchments:
    """Road catchments: each home's fastest facility to drive to."""
    if not facilities:
        return Catchments("road", [], np.full(len(homes), -1), np.full(len(homes), np.inf))
    reach = nearest_target(network, attach(network, homes.lonlat),
                           attach(network, [(f.lon, f.lat) for f in facilities]), "seconds")
    return Catchments("road", list(facilities), reach.target, reach.cost / 60)


def by_straight_line(homes: PropertySet, facilities: Sequence[Feature]) -> Catchments:
    """Straight-line catchments: each home's nearest facility as the crow flies."""
    if not facilities:
        return Catchments("straight", [], np.full(len(homes), -1), np.full(len(homes), np.inf))
    lat0 = np.radians(np.mean(homes.lat) if len(homes) else facilities[0].lat)

    def project(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        # Local equirectangular metres: exact enough to rank distances within a county.
        return points(np.radians(lon) * np.cos(lat0) * EARTH_RADIUS_M,
                      np.radians(lat) * EARTH_RADIUS_M)

    flon = np.array([f.lon for f in facilities])
    flat = np.array([f.lat for f in facilities])
    tree = STRtree(project(flon, flat))
    home_index, facility = tree.query_nearest(project(homes.lon, homes.lat), all_matches=False)
    chosen = np.full(len(homes), -1)
    chosen[home_index] = facility
    metres = haversine_m(homes.lon, homes.lat, flon[chosen], flat[chosen])
    return Catchments("straight", list(facilities), chosen, metres / (STRAIGHT_LINE_KMH / 3.6) / 60)


def build(homes: PropertySet, facilities: Sequence[Feature], network: RoadNetwork | None,
          method: str = "road") -> Catchments:
    """Catchments by ``road`` (needs the network) or ``straight`` line."""
    if method == "road":
        if network is None:
            raise ValueError("road catchments need the road network")
        return by_road(network, homes, facilities)
    if method == "straight":
        return by_straight_line(homes, facilities)
    raise ValueError(f"catchment method {method!r}: use road or straight")


def table(catchments: Catchments, homes: PropertySet) -> list[dict[str, Any]]:
    """Per facility: homes, estimated people, median and longest minutes, homes per band."""
    bands = band_of(catchments.minutes)
    rows = []
    for j, facility in enumerate(catchments.facilities):
        mine = np.flatnonzero(catchments.facility == j)
        minutes = catchments.minutes[mine]
        minutes = minutes[np.isfinite(minutes)]
        rows.append({
            **facility.as_dict(), "homes": len(mine),
            "people_estimate": round(len(mine) * PEOPLE_PER_HOME),
            "median_minutes": round(float(np.median(minutes)), 1) if len(minutes) else None,
            "max_minutes": round(float(minutes.max()), 1) if len(minutes) else None,
            "bands": dict(sorted(Counter(bands[i] for i in mine).items())),
        })
    return rows


def bands_total(catchments: Catchments) -> dict[str, int]:
    """Homes per travel-time band over all catchments."""
    return dict(sorted(Counter(band_of(catchments.minutes)).items()))


def what_if(homes: PropertySet, facilities: Sequence[Feature], network: RoadNetwork | None,
            close: Sequence[str] = (), open_: Sequence[Feature] = (), method: str = "road"
            ) -> dict[str, Any]:
    """The change when facilities (by ref) close and new ones open: which homes move, to where,
    how much longer their trip is, and the change per ward."""
    unknown = set(close) - {f.ref for f in facilities}
    if unknown:
        raise ValueError(f"no facility {', '.join(sorted(unknown))} to close")
    before = build(homes, facilities, network, method)
    after_facilities = [f for f in facilities if f.ref not in set(close)] + list(open_)
    after = build(homes, after_facilities, network, method)
    before_ref = np.array([facilities[j].ref if j >= 0 else "" for j in before.facility])
    after_ref = np.array([after_facilities[j].ref if j >= 0 else "" for j in after.facility])
    moved = np.flatnonzero(before_ref != after_ref)
    delta = after.minutes - before.minutes
    per_ward: dict[str, dict[str, Any]] = {}
    for i in moved:
        ward = homes.wards[i] if homes.wards else ""
        entry = per_ward.setdefault(ward, {"ward": ward, "homes_moved": 0, "extra_minutes": []})
        entry["homes_moved"] += 1
        entry["extra_minutes"].append(float(delta[i]))
    wards = [{"ward": w["ward"], "homes_moved": w["homes_moved"],
              "median_extra_minutes": round(float(np.median(w["extra_minutes"])), 1)}
             for w in sorted(per_ward.values(), key=lambda w: -w["homes_moved"])]
    flows = Counter((str(before_ref[i]), str(after_ref[i])) for i in moved)
    return {
        "before": before, "after": after, "moved": moved, "delta_minutes": delta,
        "flows": [{"from": a, "to": b, "homes": n} for (a, b), n in flows.most_common()],
        "wards": wards,
    }
