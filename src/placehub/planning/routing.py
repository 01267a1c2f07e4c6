"""Travel costs over the road network with some roads closed, by SciPy's sparse Dijkstra.

Points (homes, rest centres, facilities) join the network where ``RoadNetwork.snap`` puts them,
exactly as the road matrices do: along their segment at its speed, plus the leg between the
point and the road at walking-and-reversing speed. One multi-source Dijkstra on the reversed
graph from all targets gives every origin its nearest target and the cost to reach it.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely import STRtree, linestrings

from placehub.places.distance import LonLat
from placehub.places.roads import ACCESS_SPEED_KMH, RoadNetwork


@dataclass(frozen=True)
class Attached:
    """Points joined to the network: their segment, how far along it, and the leg to it."""

    edge: np.ndarray
    fraction: np.ndarray
    offset_m: np.ndarray

    def __len__(self) -> int:
        return len(self.edge)


@dataclass(frozen=True)
class Reach:
    """For each origin: the cost to its nearest reachable target (inf when none) and which."""

    cost: np.ndarray
    target: np.ndarray  # index into the targets, -1 when none is reachable


def attach(network: RoadNetwork, lonlat: Sequence[LonLat] | np.ndarray) -> Attached:
    """Join points to their nearest road segment."""
    coords = np.asarray(lonlat, dtype=float).reshape(-1, 2)
    if not len(coords):
        empty = np.zeros(0)
        return Attached(empty.astype(np.int64), empty, empty)
    snap = network.snap(coords)  # type: ignore[arg-type]  # an (n, 2) array reads the same
    return Attached(np.asarray(snap.edge, dtype=np.int64), snap.fraction, snap.offset_m)


def edge_lines(network: RoadNetwork) -> np.ndarray:
    """Each road segment as a lon/lat LineString (for area queries)."""
    return linestrings(np.stack([
        np.column_stack([network.lon[network.tail], network.lat[network.tail]]),
        np.column_stack([network.lon[network.head], network.lat[network.head]]),
    ], axis=1))


_EDGE_TREES: weakref.WeakKeyDictionary[RoadNetwork, STRtree] = weakref.WeakKeyDictionary()


def edge_tree(network: RoadNetwork) -> STRtree:
    """An STRtree of the network's segments in lon/lat, built once per loaded network."""
    tree = _EDGE_TREES.get(network)
    if tree is None:
        tree = _EDGE_TREES[network] = STRtree(edge_lines(network))
    return tree


def edges_in(network: RoadNetwork, area: object, tree: STRtree | None = None) -> np.ndarray:
    """Boolean mask of the segments that touch ``area`` (a Shapely geometry in lon/lat)."""
    tree = tree if tree is not None else edge_tree(network)
    mask = np.zeros(network.edge_count, dtype=bool)
    mask[tree.query(area, predicate="intersects")] = True
    return mask


def _weights(network: RoadNetwork, kind: str) -> np.ndarray:
    if kind not in {"seconds", "metres"}:
        raise ValueError(f"cost kind {kind!r}: use seconds or metres")
    return network.seconds if kind == "seconds" else network.length_m


def _leg(attached: Attached, kind: str) -> np.ndarray:
    return attached.offset_m / (ACCESS_SPEED_KMH / 3.6) if kind == "seconds" else attached.offset_m


def _csr_min(rows: np.ndarray, cols: np.ndarray, data: np.ndarray, size: int) -> csr_matrix:
    """A sparse graph keeping the cheapest of parallel edges (csr would add them up)."""
    order = np.lexsort((data, cols, rows))
    rows, cols, data = rows[order], cols[order], data[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    # A zero-cost edge would vanish from a sparse matrix; keep it just above zero.
    return csr_matrix((np.maximum(data[first], 1e-6), (rows[first], cols[first])),
                      shape=(size, size))


def reversed_graph_to(network: RoadNetwork, targets: Attached, kind: str = "seconds",
                      closed: np.ndarray | None = None) -> csr_matrix:
    """The road graph reversed (so Dijkstra from a target gives the cost *to* it), without the
    ``closed`` segments, plus one node per target numbered after the road nodes."""
    weights = _weights(network, kind)
    open_ = np.ones(network.edge_count, dtype=bool) if closed is None else ~closed
    two = open_ & network.two_way
    # Original edges tail -> head (and head -> tail where two-way), stored reversed.
    rows = [network.head[open_], network.tail[two]]
    cols = [network.tail[open_], network.head[two]]
    data = [weights[open_], weights[two]]
    n, k = network.node_count, len(targets)
    node = n + np.arange(k)
    e = targets.edge
    along = weights[e]
    leg = _leg(targets, kind)
    usable = open_[e]
    # Arriving at a target from its segment's tail, or from the head on a two-way street.
    rows += [node[usable], node[usable & network.two_way[e]]]
    cols += [network.tail[e][usable], network.head[e][usable & network.two_way[e]]]
    data += [(targets.fraction * along + leg)[usable],
             ((1 - targets.fraction) * along + leg)[usable & network.two_way[e]]]
    return _csr_min(np.concatenate(rows), np.concatenate(cols), np.concatenate(data), n + k)


def _origin_costs(network: RoadNetwork, origins: Attached, to_node: np.ndarray, kind: str,
                  closed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Cost from each origin by its segment's head and by its tail (inf where not allowed)."""
    weights = _weights(network, kind)
    e = origins.edge
    along = weights[e]
    leg = _leg(origins, kind)
    blocked = np.zeros(len(e), dtype=bool) if closed is None else closed[e]
    via_head = np.where(blocked, np.inf, (1 - origins.fraction) * along + to_node[network.head[e]])
    via_tail = np.where(blocked | ~network.two_way[e], np.inf,
                        origins.fraction * along + to_node[network.tail[e]])
    return via_head + leg, via_tail + leg


def _same_segment(network: RoadNetwork, origins: Attached, targets: Attached, kind: str,
                  closed: np.ndarray | None) -> np.ndarray:
    """Origins x targets: the direct cost along a shared segment (inf where they do not share)."""
    weights = _weights(network, kind)
    direct = np.full((len(origins), len(targets)), np.inf)
    origin_leg, target_leg = _leg(origins, kind), _leg(targets, kind)
    for j in range(len(targets)):
        e = targets.edge[j]
        if closed is not None and closed[e]:
            continue
        on = np.flatnonzero(origins.edge == e)
        if not len(on):
            continue
        ahead = targets.fraction[j] - origins.fraction[on]
        allowed = (ahead >= 0) | bool(network.two_way[e])
        direct[on, j] = np.where(allowed, np.abs(ahead) * weights[e] + origin_leg[on]
                                 + target_leg[j], np.inf)
    return direct


def nearest_target(network: RoadNetwork, origins: Attached, targets: Attached,
                   kind: str = "seconds", closed: np.ndarray | None = None) -> Reach:
    """Each origin's nearest target by road (one multi-source Dijkstra), with the cost."""
    if not len(targets):
        return Reach(np.full(len(origins), np.inf), np.full(len(origins), -1))
    graph = reversed_graph_to(network, targets, kind, closed)
    n = network.node_count
    cost, _, sources = dijkstra(graph, directed=True, indices=n + np.arange(len(targets)),
                                min_only=True, return_predecessors=True)
    source_target = np.where(sources >= n, sources - n, -1)
    via_head, via_tail = _origin_costs(network, origins, cost, kind, closed)
    e = origins.edge
    best = np.minimum(via_head, via_tail)
    target = np.where(via_head <= via_tail, source_target[network.head[e]],
                      source_target[network.tail[e]])
    direct = _same_segment(network, origins, targets, kind, closed)
    if np.isfinite(direct).any():
        closer = direct.min(axis=1) < best
        best = np.where(closer, direct.min(axis=1), best)
        target = np.where(closer, direct.argmin(axis=1), target)
    target = np.where(np.isfinite(best), target, -1)
    return Reach(best, target)


def cost_to_each(network: RoadNetwork, origins: Attached, targets: Attached,
                 kind: str = "seconds", closed: np.ndarray | None = None) -> np.ndarray:
    """Origins x targets: the cost from each origin to every target (one Dijkstra per target)."""
    graph = reversed_graph_to(network, targets, kind, closed)
    n = network.node_count
    result = np.empty((len(origins), len(targets)))
    for j in range(len(targets)):
        to_node = dijkstra(graph, directed=True, indices=n + j)
        via_head, via_tail = _origin_costs(network, origins, to_node, kind, closed)
        result[:, j] = np.minimum(via_head, via_tail)
    return np.minimum(result, _same_segment(network, origins, targets, kind, closed))
