"""Distance sources: how far apart points are by road, and the road path between them.

Rounds, alerts and the demo ask a ``DistanceSource``; the road network from OSM is the default
where one is loaded, and the haversine x 1.4 fallback says so in its name.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

LonLat = tuple[float, float]

EARTH_RADIUS_M = 6_371_008.8
# Median road/straight-line detour factor measured on Rutland roads (REFERENCES.md).
DETOUR_FACTOR = 1.4
# Speed assumed by the fallback, km/h: a mix of town streets and rural roads.
FALLBACK_SPEED_KMH = 30.0


class DistanceSource(Protocol):
    """Distances and travel times between points, and the path to draw between two of them."""

    name: str

    def matrices(self, points: Sequence[LonLat]) -> tuple[np.ndarray, np.ndarray]:
        """Square matrices of metres and seconds from each point (row) to each other (column)."""
        ...

    def path(self, start: LonLat, end: LonLat) -> list[LonLat]:
        """The line to draw from ``start`` to ``end`` (lon/lat), along roads where known."""
        ...


def haversine_m(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike
                ) -> np.ndarray:
    """Great-circle metres between paired lon/lat points (scalars or broadcastable arrays)."""
    x1, y1, x2, y2 = (np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((y2 - y1) / 2) ** 2 + np.cos(y1) * np.cos(y2) * np.sin((x2 - x1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def metres_between(a: LonLat, b: LonLat) -> float:
    """Equirectangular metres between two lon/lat points: plain floats, exact enough for a few
    kilometres, and much cheaper than NumPy for one pair at a time in a loop."""
    mean_lat = math.radians((a[1] + b[1]) / 2)
    dx = math.radians(b[0] - a[0]) * math.cos(mean_lat)
    return EARTH_RADIUS_M * math.hypot(dx, math.radians(b[1] - a[1]))


def haversine_matrix(points: Sequence[LonLat]) -> np.ndarray:
    """Great-circle distances in metres between every pair of lon/lat points."""
    coords = np.asarray(points, dtype=float).reshape(-1, 2)
    lon, lat = coords[:, 0][:, None], coords[:, 1][:, None]
    return haversine_m(lon, lat, lon.T, lat.T)


class HaversineDistance:
    """Straight-line distance x 1.4 at a fixed speed: the fallback without a road network."""

    name = "haversine x 1.4 (no road network loaded)"

    def __init__(
        self, detour_factor: float = DETOUR_FACTOR, speed_kmh: float = FALLBACK_SPEED_KMH
    ) -> None:
        if detour_factor < 1:
            raise ValueError(f"detour_factor {detour_factor} < 1 not understood.")
        if speed_kmh <= 0:
            raise ValueError(f"speed_kmh {speed_kmh} <= 0 not understood.")
        self.detour_factor = detour_factor
        self.speed_ms = speed_kmh / 3.6

    def matrices(self, points: Sequence[LonLat]) -> tuple[np.ndarray, np.ndarray]:
        distance = haversine_matrix(points) * self.detour_factor
        return distance, distance / self.speed_ms

    def path(self, start: LonLat, end: LonLat) -> list[LonLat]:
        return [start, end]
