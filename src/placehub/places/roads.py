"""The road network from an OSM extract: drivable ways as a SciPy sparse graph, with snapping,
distance and travel-time matrices by sparse Dijkstra, and the road geometry of a path.

A refuse lorry only uses public drivable roads, respects one-way streets and roundabouts, and
drives no faster than the limit (tagged ``maxspeed``) or a typical speed for the road class.
Parsing a county extract takes a second or so; the result is cached as a compressed ``.npz``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import osmium
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from shapely import STRtree, linestrings, points

from placehub.atomic_files import write_atomically
from placehub.places.distance import (
    EARTH_RADIUS_M,
    DistanceSource,
    HaversineDistance,
    LonLat,
    haversine_m,
)

# Typical speed in km/h by highway class where no maxspeed is tagged (UK roads, a lorry).
CLASS_SPEED_KMH: dict[str, float] = {
    "motorway": 90, "motorway_link": 60,
    "trunk": 80, "trunk_link": 50,
    "primary": 65, "primary_link": 45,
    "secondary": 55, "secondary_link": 40,
    "tertiary": 45, "tertiary_link": 35,
    "unclassified": 40,
    "residential": 25,
    "living_street": 10,
    "road": 30,
    "service": 15,
}
DRIVABLE_CLASSES = frozenset(CLASS_SPEED_KMH)
# Large goods vehicles over 7.5 t: 50 mph on single carriageways (dual 60 mph); one cap keeps it
# simple and on the safe side.
LORRY_MAX_KMH = 80.0
# Service roads a refuse lorry does not use to reach a street bin.
EXCLUDED_SERVICE = frozenset({"driveway", "drive-through", "emergency_access"})
EXCLUDED_ACCESS = frozenset({"no", "private"})
# The last few metres between a point and its road are done slowly (reversing, walking the bin).
ACCESS_SPEED_KMH = 5.0

MPH = 1.609344
NATIONAL_LIMITS_KMH = {
    "gb:nsl_single": 60 * MPH, "gb:nsl_dual": 70 * MPH, "gb:motorway": 70 * MPH,
    "national": 60 * MPH, "gb:national": 60 * MPH, "uk:nsl_single": 60 * MPH,
    "uk:nsl_dual": 70 * MPH, "gb:zone20": 20 * MPH, "walk": 6.0,
}
CACHE_FORMAT = 1


def parse_maxspeed(value: str | None) -> float | None:
    """km/h from an OSM ``maxspeed`` tag ("30 mph", "50", "GB:nsl_single"); None if unreadable."""
    if not value:
        return None
    text = value.strip().lower()
    if text in NATIONAL_LIMITS_KMH:
        return NATIONAL_LIMITS_KMH[text]
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?", text)
    if not match:
        return None
    speed = float(match.group(1))
    if speed <= 0:
        return None
    return speed * MPH if match.group(2) == "mph" else speed


def way_direction(tags: dict[str, str]) -> int:
    """1 one-way forward, -1 one-way against the drawn direction, 0 both ways."""
    oneway = tags.get("oneway", "").lower()
    if oneway in {"yes", "true", "1"}:
        return 1
    if oneway == "-1" or oneway == "reverse":
        return -1
    if oneway == "no":
        return 0
    if tags.get("junction") in {"roundabout", "circular"} or tags.get("highway") == "motorway":
        return 1
    return 0


def is_drivable(tags: dict[str, str]) -> bool:
    """True for ways a refuse lorry may drive on."""
    if tags.get("highway") not in DRIVABLE_CLASSES or tags.get("area") == "yes":
        return False
    if tags.get("access") in EXCLUDED_ACCESS or tags.get("motor_vehicle") in EXCLUDED_ACCESS:
        return False
    return tags.get("service") not in EXCLUDED_SERVICE


class _WayCollector(osmium.SimpleHandler):
    """Collects drivable ways: node ids, locations, direction and speed."""

    def __init__(self) -> None:
        super().__init__()
        self.node_ids: list[int] = []
        self.lons: list[float] = []
        self.lats: list[float] = []
        self.way_starts: list[int] = [0]
        self.way_ids: list[int] = []
        self.directions: list[int] = []
        self.speeds: list[float] = []

    def way(self, way: osmium.osm.Way) -> None:
        tags = {tag.k: tag.v for tag in way.tags}
        if not is_drivable(tags):
            return
        refs = [(n.ref, n.location) for n in way.nodes if n.location.valid()]
        if len(refs) < 2:
            return
        for ref, location in refs:
            self.node_ids.append(ref)
            self.lons.append(location.lon)
            self.lats.append(location.lat)
        self.way_starts.append(len(self.node_ids))
        self.way_ids.append(way.id)
        self.directions.append(way_direction(tags))
        speed = parse_maxspeed(tags.get("maxspeed")) or CLASS_SPEED_KMH[tags["highway"]]
        self.speeds.append(min(speed, LORRY_MAX_KMH))


@dataclass(frozen=True)
class _Snap:
    """Where points meet the road: the edge, how far along it, and the way off the road."""

    edge: np.ndarray        # index into the edge arrays
    fraction: np.ndarray    # 0 at the edge's tail, 1 at its head
    lon: np.ndarray         # the snapped position
    lat: np.ndarray
    offset_m: np.ndarray    # straight line from the point to the snapped position


class RoadNetwork:
    """A directed road graph: nodes (lon/lat) and edges (tail, head, metres, seconds, way id).

    Only the largest strongly connected part is kept, so every snapped point can reach every
    other (a slip road cut off by the extract's edge would otherwise give infinite distances).
    """

    name = "road network (OpenStreetMap)"

    def __init__(
        self,
        lon: np.ndarray,
        lat: np.ndarray,
        tail: np.ndarray,
        head: np.ndarray,
        way_id: np.ndarray,
        speed_kmh: np.ndarray,
        two_way: np.ndarray,
        source: str = "",
    ) -> None:
        if not len(tail):
            raise ValueError("road network has no drivable edges: is this an OSM road extract?")
        self.lon = np.asarray(lon, dtype=float)
        self.lat = np.asarray(lat, dtype=float)
        self.tail = np.asarray(tail, dtype=np.int64)
        self.head = np.asarray(head, dtype=np.int64)
        self.way_id = np.asarray(way_id, dtype=np.int64)
        self.speed_kmh = np.asarray(speed_kmh, dtype=float)
        # One stored edge per drawn segment; two_way edges are also usable head -> tail.
        self.two_way = np.asarray(two_way, dtype=bool)
        self.source = source
        self.length_m = haversine_m(
            self.lon[self.tail], self.lat[self.tail], self.lon[self.head], self.lat[self.head])
        self.seconds = self.length_m / (self.speed_kmh / 3.6)
        self._graphs = {
            "metres": self._graph(self.length_m),
            "seconds": self._graph(self.seconds),
        }
        # Local metric projection (equirectangular about the centre): exact enough for snapping
        # within a county, and no projection library round trip per point.
        self._lat0 = float(np.radians(np.mean(self.lat)))
        self._edge_tree = STRtree(linestrings(np.stack([
            np.column_stack(self._project(self.lon[self.tail], self.lat[self.tail])),
            np.column_stack(self._project(self.lon[self.head], self.lat[self.head])),
        ], axis=1)))

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_pbf(cls, pbf_path: str | Path) -> RoadNetwork:
        """Parse an OSM PBF (or .osm/.osm.bz2) extract into a road network."""
        path = Path(pbf_path)
        if not path.exists():
            raise FileNotFoundError(f"no OSM extract at {path}")
        collector = _WayCollector()
        collector.apply_file(str(path), locations=True, idx="flex_mem")
        node_ids = np.asarray(collector.node_ids, dtype=np.int64)
        unique_ids, node_index = np.unique(node_ids, return_inverse=True)
        lon = np.zeros(len(unique_ids))
        lat = np.zeros(len(unique_ids))
        lon[node_index] = collector.lons
        lat[node_index] = collector.lats
        starts = np.asarray(collector.way_starts, dtype=np.int64)
        counts = np.diff(starts)
        # Consecutive node pairs inside each way (no pair across two ways).
        last_in_way = np.zeros(len(node_ids), dtype=bool)
        last_in_way[starts[1:] - 1] = True
        first = np.flatnonzero(~last_in_way)
        way_of_pair = np.repeat(np.arange(len(counts)), counts - 1)
        direction = np.asarray(collector.directions)[way_of_pair]
        tail = node_index[first]
        head = node_index[first + 1]
        # Ways drawn against their one-way direction are stored the way traffic flows.
        reverse = direction == -1
        tail, head = np.where(reverse, head, tail), np.where(reverse, tail, head)
        keep = tail != head
        return cls._largest_component(
            lon, lat, tail[keep], head[keep],
            np.asarray(collector.way_ids)[way_of_pair][keep],
            np.asarray(collector.speeds)[way_of_pair][keep],
            (direction == 0)[keep], source=str(path),
        )

    @classmethod
    def _largest_component(
        cls, lon: np.ndarray, lat: np.ndarray, tail: np.ndarray, head: np.ndarray,
        way_id: np.ndarray, speed: np.ndarray, two_way: np.ndarray, source: str,
    ) -> RoadNetwork:
        n = len(lon)
        rows = np.concatenate([tail, head[two_way]])
        cols = np.concatenate([head, tail[two_way]])
        graph = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
        _, labels = connected_components(graph, directed=True, connection="strong")
        used = np.zeros(n, dtype=bool)
        used[tail] = used[head] = True
        largest = np.bincount(labels[used]).argmax()
        keep_node = labels == largest
        new_index = np.cumsum(keep_node) - 1
        keep_edge = keep_node[tail] & keep_node[head]
        return cls(
            lon[keep_node], lat[keep_node], new_index[tail[keep_edge]], new_index[head[keep_edge]],
            way_id[keep_edge], speed[keep_edge], two_way[keep_edge], source=source,
        )

    def _graph(self, weights: np.ndarray) -> csr_matrix:
        n = len(self.lon)
        rows = np.concatenate([self.tail, self.head[self.two_way]])
        cols = np.concatenate([self.head, self.tail[self.two_way]])
        data = np.concatenate([weights, weights[self.two_way]])
        # Parallel edges between the same two nodes: csr sums duplicates, so keep the shortest.
        order = np.lexsort((data, cols, rows))
        rows, cols, data = rows[order], cols[order], data[order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        # A zero-length edge would vanish from a sparse matrix; keep it just above zero.
        return csr_matrix(
            (np.maximum(data[first], 1e-6), (rows[first], cols[first])), shape=(n, n))

    # -- cache ------------------------------------------------------------------------------

    def save(self, path: str | Path, fingerprint: str = "") -> None:
        """Write the network as a compressed .npz (loaded in milliseconds by ``load``)."""
        write_atomically(path, lambda handle: np.savez_compressed(
            handle, format=np.array(CACHE_FORMAT), fingerprint=np.array(fingerprint),
            source=np.array(self.source), lon=self.lon, lat=self.lat, tail=self.tail,
            head=self.head, way_id=self.way_id, speed_kmh=self.speed_kmh,
            two_way=self.two_way,
        ))

    @classmethod
    def load(cls, path: str | Path) -> RoadNetwork:
        """Read a network written by ``save``."""
        with np.load(path) as data:
            if int(data["format"]) != CACHE_FORMAT:
                raise ValueError(f"{path} was written by another placehub version: reload it")
            return cls(
                data["lon"], data["lat"], data["tail"], data["head"], data["way_id"],
                data["speed_kmh"], data["two_way"], source=str(data["source"]),
            )

    # -- queries ----------------------------------------------------------------------------

    @property
    def node_count(self) -> int:
        return len(self.lon)

    @property
    def edge_count(self) -> int:
        return len(self.tail)

    def _project(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.radians(np.asarray(lon, dtype=float)) * np.cos(self._lat0) * EARTH_RADIUS_M
        y = np.radians(np.asarray(lat, dtype=float)) * EARTH_RADIUS_M
        return x, y

    def snap(self, lonlat: Sequence[LonLat]) -> _Snap:
        """The nearest road segment to each point, and where on it the point meets the road."""
        coords = np.asarray(lonlat, dtype=float).reshape(-1, 2)
        x, y = self._project(coords[:, 0], coords[:, 1])
        _, edge = self._edge_tree.query_nearest(points(x, y), all_matches=False)
        tx, ty = self._project(self.lon[self.tail[edge]], self.lat[self.tail[edge]])
        hx, hy = self._project(self.lon[self.head[edge]], self.lat[self.head[edge]])
        dx, dy = hx - tx, hy - ty
        squared = dx * dx + dy * dy
        fraction = np.where(
            squared > 0, ((x - tx) * dx + (y - ty) * dy) / np.where(squared > 0, squared, 1), 0.0)
        fraction = np.clip(fraction, 0.0, 1.0)
        tail, head = self.tail[edge], self.head[edge]
        lon = self.lon[tail] + fraction * (self.lon[head] - self.lon[tail])
        lat = self.lat[tail] + fraction * (self.lat[head] - self.lat[tail])
        offset = haversine_m(coords[:, 0], coords[:, 1], lon, lat)
        return _Snap(edge, fraction, lon, lat, offset)

    def _with_points(self, snap: _Snap, kind: str) -> csr_matrix:
        """The graph plus one node per snapped point, joined to its edge's ends.

        Leaving a point on edge tail->head goes to the head, and to the tail as well when the
        street is two-way; arriving is the mirror image. Point nodes are numbered after the road
        nodes. Passing through a point node costs exactly the edge it sits on, so it is never a
        shortcut.
        """
        weights = self.length_m if kind == "metres" else self.seconds
        base = self._graphs[kind]
        n, k = self.node_count, len(snap.edge)
        point_node = n + np.arange(k)
        tail, head = self.tail[snap.edge], self.head[snap.edge]
        along = weights[snap.edge]
        to_head = (1 - snap.fraction) * along
        to_tail = snap.fraction * along
        two_way = self.two_way[snap.edge]
        base_coo = base.tocoo()
        rows = np.concatenate([base_coo.row, point_node, tail, point_node[two_way], head[two_way]])
        cols = np.concatenate([base_coo.col, head, point_node, tail[two_way], point_node[two_way]])
        data = np.concatenate([base_coo.data, to_head, to_tail, to_tail[two_way], to_head[two_way]])
        # Keep the cheapest of parallel edges (csr would sum them) and zero lengths just above 0.
        order = np.lexsort((data, cols, rows))
        rows, cols, data = rows[order], cols[order], data[order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        return csr_matrix(
            (np.maximum(data[first], 1e-6), (rows[first], cols[first])), shape=(n + k, n + k))

    def _matrix(self, snap: _Snap, kind: str, chunk: int = 100) -> np.ndarray:
        """Shortest road cost between every pair of snapped points (without the access legs)."""
        weights = self.length_m if kind == "metres" else self.seconds
        graph = self._with_points(snap, kind)
        k = len(snap.edge)
        point_nodes = self.node_count + np.arange(k)
        best = np.empty((k, k))
        # Dijkstra in chunks of sources: full rows over every node would take (points x nodes)
        # memory; only the point columns are kept.
        for start in range(0, k, chunk):
            rows = dijkstra(graph, directed=True, indices=point_nodes[start:start + chunk])
            best[start:start + chunk] = rows[:, point_nodes]
        # Two points on the same segment, the second further along the way traffic may go.
        same_edge = snap.edge[:, None] == snap.edge[None, :]
        ahead = snap.fraction[None, :] - snap.fraction[:, None]
        direct = np.where(
            same_edge & ((ahead >= 0) | self.two_way[snap.edge][:, None]),
            np.abs(ahead) * weights[snap.edge][:, None], np.inf)
        np.minimum(best, direct, out=best)
        np.fill_diagonal(best, 0.0)
        return best

    def _access(self, snap: _Snap, kind: str) -> np.ndarray:
        """The legs between each point and its road, added at both ends of a trip."""
        leg = snap.offset_m if kind == "metres" else snap.offset_m / (ACCESS_SPEED_KMH / 3.6)
        access = leg[:, None] + leg[None, :]
        np.fill_diagonal(access, 0.0)
        return access

    def matrices(self, points: Sequence[LonLat]) -> tuple[np.ndarray, np.ndarray]:
        """Square matrices of metres (shortest) and seconds (fastest) between the points."""
        snap = self.snap(points)
        return (self._matrix(snap, "metres") + self._access(snap, "metres"),
                self._matrix(snap, "seconds") + self._access(snap, "seconds"))

    def distance_matrix(self, points: Sequence[LonLat]) -> np.ndarray:
        """Metres by road between every pair of points (rows from, columns to)."""
        snap = self.snap(points)
        return self._matrix(snap, "metres") + self._access(snap, "metres")

    def travel_time_matrix(self, points: Sequence[LonLat]) -> np.ndarray:
        """Seconds by road between every pair of points (rows from, columns to)."""
        snap = self.snap(points)
        return self._matrix(snap, "seconds") + self._access(snap, "seconds")

    def path(self, start: LonLat, end: LonLat) -> list[LonLat]:
        """The shortest road line from ``start`` to ``end`` (lon/lat), for drawing a route."""
        start = (float(start[0]), float(start[1]))
        end = (float(end[0]), float(end[1]))
        snap = self.snap([start, end])
        snapped = [(float(snap.lon[i]), float(snap.lat[i])) for i in range(2)]
        same = snap.edge[0] == snap.edge[1]
        if same and (snap.fraction[1] >= snap.fraction[0] or self.two_way[snap.edge[0]]):
            return [start, snapped[0], snapped[1], end]
        n = self.node_count
        _, predecessors = dijkstra(
            self._with_points(snap, "metres"), directed=True, indices=n,
            return_predecessors=True)
        node_path = [n + 1]
        while node_path[-1] != n:
            previous = int(predecessors[node_path[-1]])
            if previous < 0:
                return [start, end]  # unreachable (cannot happen in one strong component)
            node_path.append(previous)
        node_path.reverse()
        middle = [(float(self.lon[i]), float(self.lat[i])) for i in node_path[1:-1]]
        return [start, snapped[0], *middle, snapped[1], end]

    def one_way_way_ids(self) -> np.ndarray:
        """OSM ids of ways kept as one-way streets (roundabouts included)."""
        return np.unique(self.way_id[~self.two_way])


def file_fingerprint(path: Path) -> str:
    """Identifies an extract by name, size and modification time (cheap; no full read)."""
    stat = path.stat()
    text = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{CACHE_FORMAT}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_road_network(pbf_path: str | Path, cache_path: str | Path | None = None) -> RoadNetwork:
    """The road network of an OSM extract, from ``cache_path`` when it was made from this file."""
    pbf = Path(pbf_path)
    if cache_path is not None:
        cache = Path(cache_path)
        if cache.exists():
            with np.load(cache) as data:
                current = str(data["fingerprint"]) if "fingerprint" in data else ""
            if pbf.exists() and current == file_fingerprint(pbf):
                return RoadNetwork.load(cache)
    network = RoadNetwork.from_pbf(pbf)
    if cache_path is not None:
        network.save(cache_path, file_fingerprint(pbf))
    return network


_LOADED: dict[tuple[str, int], RoadNetwork] = {}


def distance_source(cache_path: str | Path) -> DistanceSource:
    """The road network cached at ``cache_path`` (by ``placehub load roads``), else the fallback.

    Loaded once per process and file version, so every request shares one network.
    """
    path = Path(cache_path)
    if not path.exists():
        return HaversineDistance()
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = RoadNetwork.load(path)
    return _LOADED[key]
