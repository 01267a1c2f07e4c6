"""The road network drawn on a map: one simplified line per OSM way, as GeoJSON, as a CSV table
and as a summary by speed, from the cached routing network (``places.roads``).

The routing network stores edges (node to node); a way's consecutive edges are chained back into
its line, which is then simplified (a few metres) and rounded (about a metre), so the map draws a
district's roads from a few hundred kilobytes.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from placehub import csv_cells
from placehub.places.roads import RoadNetwork, distance_source

# Douglas-Peucker tolerance in degrees (about 5 m in Britain): invisible at district zoom.
SIMPLIFY_DEGREES = 0.00005
COORDINATE_DECIMALS = 5
KMH_PER_MPH = 1.609344


@dataclass(frozen=True)
class RoadLine:
    """One drawn piece of an OSM way."""

    way_id: int
    coordinates: list[tuple[float, float]]
    length_m: float
    speed_mph: int
    one_way: bool


@dataclass(frozen=True, eq=False)
class RoadMap:
    """The lines of a network and what the map page shows about them."""

    lines: list[RoadLine]

    def geojson(self) -> dict[str, Any]:
        """One MultiLineString per routing speed and direction (a map draws a few large features
        much faster than thousands of small ones): v speed (mph), o one-way (1)."""
        groups: dict[tuple[int, bool], list[list[tuple[float, float]]]] = defaultdict(list)
        for line in self.lines:
            groups[(line.speed_mph, line.one_way)].append(line.coordinates)
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature",
             "geometry": {"type": "MultiLineString", "coordinates": coordinates},
             "properties": {"v": speed, **({"o": 1} if one_way else {})}}
            for (speed, one_way), coordinates in sorted(groups.items())
        ]}

    def csv(self) -> str:
        """One row per way: its OSM id, length, routing speed and whether it is one-way."""
        by_way: dict[int, list[RoadLine]] = defaultdict(list)
        for line in self.lines:
            by_way[line.way_id].append(line)
        out = io.StringIO()
        writer = csv_cells.writer(out, lineterminator="\n")
        writer.writerow(["osm_way_id", "length_m", "speed_mph", "one_way"])
        for way_id, pieces in sorted(by_way.items()):
            writer.writerow([way_id, round(sum(p.length_m for p in pieces)),
                             pieces[0].speed_mph, "yes" if pieces[0].one_way else "no"])
        return out.getvalue()

    @cached_property
    def summary(self) -> list[dict[str, Any]]:
        """Rows by routing speed (fastest first): ways, kilometres, one-way kilometres (made
        once: the map page shows it on every request)."""
        rows: dict[int, dict[str, Any]] = {}
        ways: dict[int, set[int]] = defaultdict(set)
        for line in self.lines:
            row = rows.setdefault(line.speed_mph, {"speed_mph": line.speed_mph, "km": 0.0,
                                                   "one_way_km": 0.0})
            row["km"] += line.length_m / 1000
            row["one_way_km"] += line.length_m / 1000 if line.one_way else 0.0
            ways[line.speed_mph].add(line.way_id)
        return [{**row, "ways": len(ways[speed]), "km": round(row["km"], 1),
                 "one_way_km": round(row["one_way_km"], 1)}
                for speed, row in sorted(rows.items(), reverse=True)]


def road_lines(network: RoadNetwork) -> list[RoadLine]:
    """Chain each way's consecutive edges into lines (a one-way way drawn against traffic is
    stored reversed; a gap left by the network's pruning starts a new line)."""
    chains: list[tuple[int, list[int], int]] = []  # (way id, node indices, first edge)
    tail, head, way_id = network.tail, network.head, network.way_id
    for edge in range(len(tail)):
        if chains and chains[-1][0] == way_id[edge]:
            nodes = chains[-1][1]
            if nodes[-1] == tail[edge]:
                nodes.append(int(head[edge]))
                continue
            if nodes[0] == head[edge]:
                nodes.insert(0, int(tail[edge]))
                continue
        chains.append((int(way_id[edge]), [int(tail[edge]), int(head[edge])], edge))
    if not chains:
        return []
    all_nodes = np.concatenate([n for _, n, _ in chains])
    chain_of_node = np.repeat(np.arange(len(chains)), [len(n) for _, n, _ in chains])
    simplified = shapely.simplify(
        shapely.linestrings(network.lon[all_nodes], network.lat[all_nodes],
                            indices=chain_of_node),
        SIMPLIFY_DEGREES, preserve_topology=False)
    edge_length = np.bincount(np.searchsorted([first for *_, first in chains],
                                              np.arange(len(tail)), side="right") - 1,
                              weights=network.length_m, minlength=len(chains))
    lines = []
    for (way, _, first), geometry, length in zip(chains, simplified, edge_length, strict=True):
        coordinates: list[tuple[float, float]] = []
        for lon, lat in shapely.get_coordinates(geometry):
            point = (round(float(lon), COORDINATE_DECIMALS), round(float(lat), COORDINATE_DECIMALS))
            if not coordinates or coordinates[-1] != point:
                coordinates.append(point)
        if len(coordinates) < 2:
            continue
        lines.append(RoadLine(way, coordinates, float(length),
                              round(float(network.speed_kmh[first]) / KMH_PER_MPH),
                              not bool(network.two_way[first])))
    return lines


_MAPS: dict[tuple[str, int], RoadMap] = {}


def road_map(cache_path: str | Path) -> RoadMap | None:
    """The road map of the network cached at ``cache_path`` (``placehub load roads``), or None
    when there is none; made once per process and file version."""
    path = Path(cache_path)
    if not path.exists():
        return None
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    if key not in _MAPS:
        network = distance_source(path)
        if not isinstance(network, RoadNetwork):
            return None
        _MAPS.clear()
        _MAPS[key] = RoadMap(road_lines(network))
    return _MAPS[key]
