"""The assets as vector tiles, for maps of a city's street lights and bins.

From ``maps.CLUSTER_FROM`` assets the map no longer loads every asset as one GeoJSON for the
browser to group: it loads only the tiles in view. Below street zoom each tile holds the assets
in it grouped per grid cell (a numbered circle; one asset alone in its cell is drawn as itself),
and from ``GROUP_MAX_ZOOM + 1`` every asset. Tiles are made from the viewer's asset snapshot
(only what they may read) with NumPy, encoded by ``mapbox-vector-tile`` and kept until the
snapshot changes.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Any

import mapbox_vector_tile
import numpy as np
import shapely

from placehub.assets.summary import AssetSummary
from placehub.places.basemap import EXTENT, HALF_WORLD, to_mercator

LAYER = "assets"
# Cells per tile side when grouping: 8 on a 512 px tile is a group per 64 px at most, about the
# spacing of MapLibre's own clustering (radius 45 px) that smaller maps use.
GRID = 8
GROUP_MAX_ZOOM = 15  # from zoom 16 (a street) every asset is drawn
MAX_ZOOM = 22


@dataclass(frozen=True)
class PointIndex:
    """Assets with a position, as Web Mercator fractions of the world (0-1, y down)."""

    assets: list[AssetSummary]
    x: np.ndarray
    y: np.ndarray


def point_index(assets: list[AssetSummary]) -> PointIndex:
    """The assets that have a position, ready to be cut into tiles."""
    placed = [a for a in assets if a.lon is not None and a.lat is not None]
    if not placed:
        return PointIndex([], np.empty(0), np.empty(0))
    mx, my = to_mercator(np.array([a.lon for a in placed]), np.array([a.lat for a in placed]))
    return PointIndex(placed, (mx + HALF_WORLD) / (2 * HALF_WORLD),
                      (HALF_WORLD - my) / (2 * HALF_WORLD))


def abbreviated(count: int) -> str:
    """A group's count as its circle shows it (MapLibre's style: 950, 1.2k, 12k)."""
    if count < 1000:
        return str(count)
    if count < 10_000:
        return f"{count / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    return f"{round(count / 1000)}k"


def single_feature(asset: AssetSummary, tx: float, ty: float) -> dict[str, Any]:
    """One asset, with the compact GeoJSON's properties (n name, t type, s status, f fill %)."""
    properties: dict[str, Any] = {"n": asset.name, "t": asset.asset_type, "s": asset.status}
    if asset.fill_fraction is not None:
        properties["f"] = asset.fill_percent
    return {"id": asset.id, "geometry": shapely.Point(round(tx), round(ty)),
            "properties": properties}


def tile_features(index: PointIndex, z: int, x: int, y: int
                  ) -> tuple[list[dict[str, Any]], list[AssetSummary]]:
    """The features of tile z/x/y and the assets drawn individually in it."""
    scale = 2**z
    tx, ty = index.x * scale - x, index.y * scale - y
    inside = np.flatnonzero((tx >= 0) & (tx < 1) & (ty >= 0) & (ty < 1))
    if not len(inside):
        return [], []
    tx, ty = tx[inside] * EXTENT, ty[inside] * EXTENT
    if z > GROUP_MAX_ZOOM:
        every = [index.assets[i] for i in inside]
        return [single_feature(a, px, py) for a, px, py in zip(every, tx, ty, strict=True)], every
    cell_size = EXTENT / GRID
    cells = (np.minimum(ty // cell_size, GRID - 1) * GRID
             + np.minimum(tx // cell_size, GRID - 1)).astype(np.int64)
    found, which, counts = np.unique(cells, return_inverse=True, return_counts=True)
    mean_x = np.bincount(which, tx) / counts
    mean_y = np.bincount(which, ty) / counts
    alone = {int(which[i]): int(inside[i]) for i in np.flatnonzero(counts[which] == 1)}
    features: list[dict[str, Any]] = []
    shown: list[AssetSummary] = []
    for n in range(len(found)):
        if n in alone:
            shown.append(index.assets[alone[n]])
            features.append(single_feature(index.assets[alone[n]], mean_x[n], mean_y[n]))
        else:
            count = int(counts[n])
            features.append({"geometry": shapely.Point(round(mean_x[n]), round(mean_y[n])),
                             "properties": {"point_count": count,
                                            "point_count_abbreviated": abbreviated(count)}})
    return features, shown


def encode_tile(features: list[dict[str, Any]]) -> bytes:
    """The gzipped vector tile of ``features`` (empty bytes for an empty tile)."""
    if not features:
        return b""
    return gzip.compress(bytes(mapbox_vector_tile.encode(
        [{"name": LAYER, "features": features}],
        default_options={"y_coord_down": True, "extents": EXTENT})), compresslevel=6, mtime=0)


def check_tile(z: int, x: int, y: int) -> str | None:
    """What is wrong with tile address z/x/y (None when it exists)."""
    if not 0 <= z <= MAX_ZOOM:
        return f"no tile {z}/{x}/{y}: zoom is 0 to {MAX_ZOOM}"
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        return f"no tile {z}/{x}/{y}: at zoom {z}, x and y are 0 to {2**z - 1}"
    return None


__all__ = ["GRID", "GROUP_MAX_ZOOM", "LAYER", "MAX_ZOOM", "PointIndex", "abbreviated",
           "check_tile", "encode_tile", "point_index", "single_feature", "tile_features"]
