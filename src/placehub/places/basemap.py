"""A street map of the area drawn from its OSM extract: roads with their names, settlement names,
water, woods, parks and built-up land, cut into Mapbox vector tiles for MapLibre GL.

One pyosmium pass (a couple of seconds for a county) reads the features into Web Mercator
metres; the result is cached as a compressed ``.npz`` beside the road network (WKB and
properties, keyed by the extract's fingerprint), so a server start reads it in milliseconds.
A tile is the features whose box meets the tile's, clipped and simplified to the tile's pixel
size (Shapely), then encoded by ``mapbox-vector-tile``; each feature has a first zoom, so a
district view shows main roads and towns and a street view every lane and hamlet.
"""

from __future__ import annotations

import gzip
import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
import osmium
import shapely
from shapely import STRtree

from placehub.atomic_files import write_atomically
from placehub.places.roads import file_fingerprint

# Web Mercator (EPSG:3857): the sphere's radius and half the world's width in metres.
EARTH_RADIUS = 6378137.0
HALF_WORLD = math.pi * EARTH_RADIUS
MAX_ZOOM = 14  # MapLibre over-zooms the z14 tiles for closer views
EXTENT = 4096  # tile coordinates per side
BUFFER = 64 / EXTENT  # features reach this far past the tile's edge, so lines join seamlessly
CACHE_FORMAT = 1
TILE_CACHE_SIZE = 2048

# First zoom at which each kind of road is drawn, and its group for the style.
ROAD_KINDS: dict[str, tuple[str, int]] = {
    "motorway": ("major", 5), "trunk": ("major", 5), "primary": ("major", 6),
    "motorway_link": ("major", 10), "trunk_link": ("major", 10), "primary_link": ("major", 10),
    "secondary": ("secondary", 8), "secondary_link": ("secondary", 11),
    "tertiary": ("tertiary", 10), "tertiary_link": ("tertiary", 12),
    "unclassified": ("minor", 12), "residential": ("minor", 12), "living_street": ("minor", 13),
    "road": ("minor", 12), "pedestrian": ("minor", 13), "service": ("service", 14),
    "track": ("path", 14), "footway": ("path", 14), "path": ("path", 14),
    "cycleway": ("path", 14), "bridleway": ("path", 14), "steps": ("path", 14),
}
PLACE_KINDS: dict[str, int] = {"city": 6, "town": 8, "village": 10, "suburb": 12, "hamlet": 12,
                               "neighbourhood": 13, "locality": 14}
WATERWAY_KINDS: dict[str, int] = {"river": 10, "canal": 10, "stream": 13, "drain": 14,
                                  "ditch": 14}
# Areas by (key, value): their group for the style.
AREA_KINDS: dict[tuple[str, str], str] = {
    ("natural", "water"): "water", ("landuse", "reservoir"): "water",
    ("landuse", "basin"): "water", ("waterway", "riverbank"): "water",
    ("natural", "wood"): "wood", ("landuse", "forest"): "wood",
    ("leisure", "park"): "park", ("leisure", "garden"): "park",
    ("leisure", "recreation_ground"): "park", ("landuse", "recreation_ground"): "park",
    ("leisure", "golf_course"): "park", ("leisure", "pitch"): "park",
    ("landuse", "cemetery"): "park", ("landuse", "allotments"): "park",
    ("landuse", "grass"): "grass", ("landuse", "meadow"): "grass",
    ("natural", "grassland"): "grass", ("natural", "scrub"): "grass",
    ("landuse", "residential"): "residential",
    ("landuse", "industrial"): "industrial", ("landuse", "commercial"): "industrial",
    ("landuse", "retail"): "industrial", ("landuse", "quarry"): "industrial",
}
AREA_KEYS = tuple(dict.fromkeys(key for key, _ in AREA_KINDS))  # water first, in this order
# An area is drawn from the zoom at which it covers this many square pixels (256-pixel tiles).
MIN_AREA_PIXELS = 24.0


@dataclass(frozen=True, eq=False)
class Layer:
    """One tile layer: geometries in Web Mercator metres, their properties and first zooms."""

    geometries: np.ndarray
    properties: list[dict[str, str]]
    min_zoom: np.ndarray
    tree: STRtree = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tree", STRtree(self.geometries))

    def __len__(self) -> int:
        return len(self.geometries)


class Basemap:
    """The area's map features by tile layer, and its tiles (made once each, kept in memory)."""

    def __init__(self, layers: dict[str, Layer], version: str) -> None:
        self.layers = layers
        self.version = version
        self._tiles: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def bounds(self) -> list[float]:
        """West, south, east, north in degrees of everything on the map."""
        boxes = [shapely.total_bounds(layer.geometries) for layer in self.layers.values()
                 if len(layer)]
        if not boxes:
            return [-180.0, -85.0, 180.0, 85.0]
        west, south = np.min([b[:2] for b in boxes], axis=0)
        east, north = np.max([b[2:] for b in boxes], axis=0)
        (w, s), (e, n) = to_lonlat(west, south), to_lonlat(east, north)
        return [round(w, 5), round(s, 5), round(e, 5), round(n, 5)]

    def tile(self, z: int, x: int, y: int) -> bytes:
        """The gzipped vector tile z/x/y (an empty tile outside the area)."""
        key = (z, x, y)
        with self._lock:
            if key in self._tiles:
                self._tiles.move_to_end(key)
                return self._tiles[key]
        body = gzip.compress(self.encode(z, x, y), compresslevel=6, mtime=0)
        with self._lock:
            self._tiles[key] = body
            while len(self._tiles) > TILE_CACHE_SIZE:
                self._tiles.popitem(last=False)
        return body

    def encode(self, z: int, x: int, y: int) -> bytes:
        """The vector tile z/x/y, not compressed (see ``tile``)."""
        size = 2 * HALF_WORLD / 2**z
        west, north = -HALF_WORLD + x * size, HALF_WORLD - y * size
        pad = size * BUFFER
        box = (west - pad, north - size - pad, west + size + pad, north + pad)
        scale = EXTENT / size
        layers = []
        for name, layer in self.layers.items():
            features = _tile_features(layer, z, box, west, north, scale)
            if features:
                layers.append({"name": name, "features": features})
        if not layers:
            return b""
        # Geometries arrive in tile coordinates, rounded and oriented: the encoder only packs.
        return bytes(mapbox_vector_tile.encode(layers, default_options={
            "y_coord_down": True, "extents": EXTENT, "check_winding_order": False}))


DRAWN_TYPES = frozenset({"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                         "MultiPolygon"})


def _tile_features(layer: Layer, z: int, box: tuple[float, float, float, float], west: float,
                   north: float, scale: float) -> list[dict[str, Any]]:
    """The layer's features drawn at zoom ``z`` within ``box``, clipped, in whole tile units
    (y down) with exteriors anticlockwise by the surveyor's formula, as MVT wants."""
    if not len(layer):
        return []
    hits = layer.tree.query(shapely.box(*box))
    hits = hits[layer.min_zoom[hits] <= z]
    if not len(hits):
        return []
    hits.sort()  # the file's order, so overlapping areas draw the same way in every tile
    geometries = shapely.clip_by_rect(layer.geometries[hits], *box)
    geometries = shapely.transform(geometries, lambda xy: np.column_stack(
        ((xy[:, 0] - west) * scale, (north - xy[:, 1]) * scale)))
    # A vertex that moves a line less than an eighth of a pixel is dropped; then whole units.
    geometries = shapely.simplify(geometries, 2.0, preserve_topology=True)
    geometries = shapely.orient_polygons(shapely.set_precision(geometries, 1.0))
    features = []
    for index, geometry in zip(hits, geometries, strict=True):
        if geometry is None or geometry.is_empty or geometry.geom_type not in DRAWN_TYPES:
            continue
        features.append({"geometry": geometry, "properties": layer.properties[index]})
    return features


def to_mercator(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Web Mercator metres of degrees (arrays or numbers)."""
    lat = np.clip(lat, -85.05112878, 85.05112878)
    return (np.radians(lon) * EARTH_RADIUS,
            np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * EARTH_RADIUS)


def to_lonlat(x: float, y: float) -> tuple[float, float]:
    """Degrees of a Web Mercator point."""
    return (math.degrees(x / EARTH_RADIUS),
            math.degrees(2 * math.atan(math.exp(y / EARTH_RADIUS)) - math.pi / 2))


def _project(geometry: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geometry, lambda xy: np.column_stack(to_mercator(xy[:, 0],
                                                                              xy[:, 1])))


def area_min_zoom(area_m2: float) -> int:
    """The first zoom at which an area of ``area_m2`` (Mercator) covers ``MIN_AREA_PIXELS``."""
    if area_m2 <= 0:
        return MAX_ZOOM
    pixel_at_zero = 2 * HALF_WORLD / 256
    zoom = math.ceil(0.5 * math.log2(pixel_at_zero**2 * MIN_AREA_PIXELS / area_m2))
    return int(min(max(zoom, 0), MAX_ZOOM))


def read_basemap(pbf_path: str | Path) -> Basemap:
    """The map features of an OSM extract (one pass with pyosmium)."""
    factory = osmium.geom.WKBFactory()
    found: dict[str, tuple[list[bytes], list[dict[str, str]], list[int]]] = {
        name: ([], [], []) for name in ("water", "landuse", "waterways", "roads", "places")}

    def add(layer: str, geometry: bytes, properties: dict[str, str], min_zoom: int) -> None:
        found[layer][0].append(geometry)
        found[layer][1].append(properties)
        found[layer][2].append(min_zoom)

    processor = osmium.FileProcessor(str(pbf_path)).with_locations().with_areas(
        osmium.filter.KeyFilter(*AREA_KEYS))
    for entity in processor:
        if isinstance(entity, osmium.osm.Node):
            kind = _tag(entity, "place")
            name = _tag(entity, "name")
            if kind in PLACE_KINDS and name:
                add("places", bytes.fromhex(factory.create_point(entity)),
                    {"kind": kind, "name": name}, PLACE_KINDS[kind])
        elif isinstance(entity, osmium.osm.Way):
            highway, waterway = _tag(entity, "highway"), _tag(entity, "waterway")
            road = ROAD_KINDS.get(highway)
            if road is None and waterway not in WATERWAY_KINDS:
                continue
            try:
                line = bytes.fromhex(factory.create_linestring(entity))
            except RuntimeError:
                continue  # a way with nodes outside the extract
            if road is not None:
                properties = {"kind": road[0], "class": highway}
                for key in ("name", "ref"):
                    if _tag(entity, key):
                        properties[key] = _tag(entity, key)
                add("roads", line, properties, road[1])
            else:
                properties = {"kind": waterway}
                if _tag(entity, "name"):
                    properties["name"] = _tag(entity, "name")
                add("waterways", line, properties, WATERWAY_KINDS[waterway])
        elif isinstance(entity, osmium.osm.Area):
            area_kind = next((AREA_KINDS[(k, _tag(entity, k))] for k in AREA_KEYS
                              if (k, _tag(entity, k)) in AREA_KINDS), None)
            if area_kind is None:
                continue
            try:
                polygon = bytes.fromhex(factory.create_multipolygon(entity))
            except RuntimeError:
                continue  # broken rings in the extract: skip the area, not the map
            properties = {"kind": area_kind}
            if _tag(entity, "name"):
                properties["name"] = _tag(entity, "name")
            add("water" if area_kind == "water" else "landuse", polygon, properties, -1)
    layers: dict[str, Layer] = {}
    for name, (wkbs, rows, zooms) in found.items():
        geometries = _project(shapely.from_wkb(wkbs)) if wkbs else np.array([], dtype=object)
        min_zoom = np.array(zooms, dtype=np.int8)
        if name in ("water", "landuse") and len(geometries):
            # Areas appear when they are big enough to see.
            min_zoom = np.array([area_min_zoom(a) for a in shapely.area(geometries)],
                                dtype=np.int8)
        layers[name] = Layer(np.asarray(geometries, dtype=object), rows, min_zoom)
    return Basemap(layers, file_fingerprint(Path(pbf_path)))


def _tag(entity: osmium.osm.OSMObject, key: str) -> str:
    return entity.tags.get(key) or ""


def save_basemap(basemap: Basemap, cache_path: str | Path) -> None:
    """Write the features to a compressed ``.npz`` (WKB, JSON properties, first zooms)."""
    arrays: dict[str, Any] = {"version": np.array(basemap.version),
                              "format": np.array(CACHE_FORMAT)}
    for name, layer in basemap.layers.items():
        arrays[f"{name}_wkb"] = np.array(shapely.to_wkb(layer.geometries), dtype=object)
        arrays[f"{name}_properties"] = np.array(json.dumps(layer.properties))
        arrays[f"{name}_min_zoom"] = layer.min_zoom
    write_atomically(cache_path, lambda file: np.savez_compressed(file, **arrays))


def load_basemap_cache(cache_path: str | Path, version: str) -> Basemap | None:
    """The cached features when they were made from the extract of ``version``, else None."""
    path = Path(cache_path)
    if not path.exists():
        return None
    with np.load(path, allow_pickle=True) as data:
        if str(data["version"]) != version or int(data["format"]) != CACHE_FORMAT:
            return None
        names = [key[:-4] for key in data.files if key.endswith("_wkb")]
        layers = {name: Layer(np.asarray(shapely.from_wkb(list(data[f"{name}_wkb"])),
                                         dtype=object),
                              json.loads(str(data[f"{name}_properties"])),
                              np.asarray(data[f"{name}_min_zoom"], dtype=np.int8))
                  for name in names}
    return Basemap(layers, version)


def load_basemap(pbf_path: str | Path, cache_path: str | Path | None = None) -> Basemap:
    """The basemap of an OSM extract, from ``cache_path`` when it was made from this file."""
    version = file_fingerprint(Path(pbf_path))
    if cache_path is not None:
        cached = load_basemap_cache(cache_path, version)
        if cached is not None:
            return cached
    basemap = read_basemap(pbf_path)
    if cache_path is not None:
        save_basemap(basemap, cache_path)
    return basemap


_LOADED: dict[tuple[str, str], Basemap] = {}
_LOADING = threading.Lock()


def basemap_of(pbf_path: str | Path, cache_path: str | Path | None) -> Basemap | None:
    """The basemap of the extract at ``pbf_path`` (None when there is none), made once per
    process and extract version; concurrent first requests wait for one read."""
    path = Path(pbf_path)
    if not path.is_file():
        return None
    key = (str(path.resolve()), file_fingerprint(path))
    if key not in _LOADED:
        with _LOADING:
            if key not in _LOADED:
                basemap = load_basemap(path, cache_path)
                _LOADED.clear()
                _LOADED[key] = basemap
    return _LOADED[key]
