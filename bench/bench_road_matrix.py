"""Benchmark: a 300 x 300 road distance matrix on Rutland (target: at most 5 s).

Baselines measured in the same run: the haversine x 1.4 fallback (for scale) and a naive road
matrix with one full SciPy Dijkstra per point (no chunking, every node's distance kept).
Run: PYTHONPATH=src python bench/bench_road_matrix.py [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.sparse.csgraph import dijkstra

from placehub.places.distance import HaversineDistance
from placehub.places.roads import RoadNetwork, load_road_network
from timing import median_seconds

POINTS = 300
REPEATS = 3


def timed(work: Callable[[], object], repeats: int = REPEATS) -> float:
    """Median wall-clock seconds of ``repeats`` runs (three unless told)."""
    return median_seconds(work, repeats)


def naive_matrix(network: RoadNetwork, points: list[tuple[float, float]]) -> np.ndarray:
    """One Dijkstra per point from its nearest node, full rows: the obvious implementation."""
    snap = network.snap(points)
    nodes = np.where(snap.fraction < 0.5, network.tail[snap.edge], network.head[snap.edge])
    graph = network._graphs["metres"]
    return np.vstack([dijkstra(graph, indices=int(node))[nodes] for node in nodes])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=os.environ.get("PLACEHUB_DATA_DIR", "../shared/data"))
    args = parser.parse_args()
    pbf = Path(args.data_dir) / "rutland" / "roads.osm.pbf"

    parse_s = timed(lambda: RoadNetwork.from_pbf(pbf), repeats=1)
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder) / "roads.npz"
        network = load_road_network(pbf, cache)
        cached_s = timed(lambda: load_road_network(pbf, cache))

    rng = np.random.default_rng(2024)
    # Points near real roads across the county, a few tens of metres off the carriageway.
    chosen = rng.choice(network.node_count, POINTS, replace=False)
    points = [(float(network.lon[i] + rng.normal(0, 2e-4)),
               float(network.lat[i] + rng.normal(0, 2e-4))) for i in chosen]

    fallback = HaversineDistance()
    haversine_s = timed(lambda: fallback.matrices(points))
    naive_s = timed(lambda: naive_matrix(network, points), repeats=1)
    distance_s = timed(lambda: network.distance_matrix(points))
    both_s = timed(lambda: network.matrices(points))

    print(f"Rutland network: {network.node_count} nodes, {network.edge_count} edges")
    print(f"parse PBF: {parse_s:.2f} s; load from .npz cache: {cached_s * 1000:.0f} ms")
    print(f"{POINTS} x {POINTS} (median of {REPEATS}):")
    print(f"  road distance matrix           {distance_s:.3f} s  (target <= 5 s)")
    print(f"  road distance + time matrices  {both_s:.3f} s")
    print(f"  naive per-point Dijkstra       {naive_s:.3f} s  ({naive_s / distance_s:.1f}x ours)")
    print(f"  haversine x 1.4 fallback       {haversine_s * 1000:.1f} ms")
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python "
          f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
