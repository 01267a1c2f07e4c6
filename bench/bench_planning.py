"""Planning jobs on Rutland, each beside a naive baseline measured in the same run.

- hazard query: which of all Rutland's OSM buildings lie inside a flood area (STRtree query)
  against a Python loop testing each building point with ``polygon.intersects``; and which
  road segments the area closes (STRtree) against a loop over every segment;
- catchment build for 20 facilities: one multi-source Dijkstra (``nearest_target``) against one
  Dijkstra per facility and an argmin (``cost_to_each``), both over the same graph; answers
  are checked equal.

Usage: PYTHONPATH=src python bench/bench_planning.py [--data-dir ../shared/data] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry import Point

from placehub.places.layers import building_points
from placehub.places.roads import load_road_network
from placehub.planning.catchments import by_road
from placehub.planning.features import Feature
from placehub.planning.hazards import PropertySet, inside
from placehub.planning.routing import attach, cost_to_each, edge_lines, edges_in


def timed(run: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median seconds over ``repeats`` runs, and the last result."""
    times = []
    result = None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def flood_area() -> shapely.Geometry:
    """A river-shaped flood area through Oakham: a 400 m wide band along a 6 km line."""
    line = shapely.LineString([(-0.775, 52.660), (-0.745, 52.668), (-0.728, 52.671),
                               (-0.705, 52.666), (-0.690, 52.672)])
    return line.buffer(0.0028, cap_style="flat")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("PLACEHUB_DATA_DIR",
                                                             "../shared/data"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    pbf = Path(args.data_dir) / "rutland" / "roads.osm.pbf"
    network = load_road_network(pbf, Path("var") / "bench-roads.npz")
    found = building_points(pbf)
    homes = PropertySet(np.arange(len(found)), [p["ref"] for p in found],
                        ["osm-buildings"] * len(found), np.array([p["lon"] for p in found]),
                        np.array([p["lat"] for p in found]))
    area = flood_area()
    print(f"Rutland: {len(homes)} buildings, network {network.node_count} nodes, "
          f"{network.edge_count} edges")

    # -- hazard query
    fast_s, fast = timed(lambda: inside(area, homes.lon, homes.lat), args.repeats)

    def naive_inside() -> np.ndarray:
        return np.array([i for i in range(len(homes))
                         if area.intersects(Point(homes.lon[i], homes.lat[i]))])

    slow_s, slow = timed(naive_inside, args.repeats)
    assert np.array_equal(fast, slow)
    print(f"hazard: buildings inside ({len(fast)} of {len(homes)})")
    print(f"  placehub STRtree query (tree built each run)  {fast_s * 1000:8.2f} ms")
    print(f"  naive loop of polygon.intersects(point)       {slow_s * 1000:8.2f} ms  "
          f"({slow_s / fast_s:.0f}x ours)")
    first_s, _ = timed(lambda: edges_in(network, area, STRtree(edge_lines(network))), 1)
    roads_s, closed = timed(lambda: edges_in(network, area), args.repeats)
    lines = edge_lines(network)
    vector_s, vector = timed(lambda: shapely.intersects(area, lines), args.repeats)
    assert np.array_equal(closed, vector)

    def naive_roads() -> np.ndarray:
        return np.array([area.intersects(line) for line in lines])

    naive_roads_s, naive_closed = timed(naive_roads, max(1, args.repeats // 2))
    assert np.array_equal(closed, naive_closed)
    print(f"hazard: road segments closed ({int(closed.sum())} of {network.edge_count})")
    print(f"  placehub STRtree query (tree kept per network) {roads_s * 1000:7.2f} ms "
          f"(first query, building the tree: {first_s * 1000:.0f} ms)")
    print(f"  vectorised shapely.intersects over segments   {vector_s * 1000:8.2f} ms")
    print(f"  naive loop over segments                      {naive_roads_s * 1000:8.2f} ms  "
          f"({naive_roads_s / roads_s:.0f}x ours)")

    # -- catchments for 20 facilities
    rng = np.random.default_rng(20)
    chosen = rng.choice(len(homes), 20, replace=False)
    facilities = [Feature(f"f{i}", "facility", f"Facility {i}", float(homes.lon[i]),
                          float(homes.lat[i])) for i in chosen]
    multi_s, built = timed(lambda: by_road(network, homes, facilities), max(1, args.repeats))

    def naive_catchments() -> tuple[np.ndarray, np.ndarray]:
        every = cost_to_each(network, attach(network, homes.lonlat),
                             attach(network, [(f.lon, f.lat) for f in facilities]))
        return every.argmin(axis=1), every.min(axis=1)

    naive_s, (naive_facility, naive_cost) = timed(naive_catchments, max(1, args.repeats))
    assert np.array_equal(built.facility, naive_facility)
    assert np.allclose(built.minutes, naive_cost / 60)
    print(f"catchments: {len(homes)} buildings x 20 facilities by road travel time")
    print(f"  placehub multi-source Dijkstra               {multi_s * 1000:8.1f} ms")
    print(f"  naive Dijkstra per facility + argmin          {naive_s * 1000:8.1f} ms  "
          f"({naive_s / multi_s:.1f}x ours)")
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python "
          f"{platform.python_version()}, Shapely {shapely.__version__}; medians of "
          f"{args.repeats} (naive road loop: {max(1, args.repeats // 2)})")


if __name__ == "__main__":
    main()
