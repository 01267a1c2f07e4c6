"""The Rutland demo district: where the depot, the tip, the bins, flowerbeds and air stations are.

Pure functions of the shared data and a seed: the same seed always gives the same district. Real
OpenStreetMap features come first (the council offices, the Cottesmore recycling centre, mapped
waste baskets, parks and gardens); the rest of the ~300 bins are placed along streets of Oakham,
Uppingham and the villages, denser towards each centre. Every asset lies inside exactly one
ward and one LSOA.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from shapely import STRtree, points
from shapely.geometry import Point, shape

from placehub.places.distance import LonLat, metres_between
from placehub.places.osm import OsmPlace, read_amenity_nodes, read_areas, read_places
from placehub.places.roads import RoadNetwork

BIN_TARGET = 300
FLOWERBED_TARGET = 40
# A bin this close to a planted park or garden bed counts as "near a park" (demand model).
NEAR_PARK_M = 200.0
# The parks team waters a bed below this soil moisture (%), with about this much water: a
# bed of some 4 m2, 20 cm of soil raised by 15 points of volumetric moisture.
WATERING_THRESHOLD_PERCENT = 22.0
WATER_LITRES_PER_BED = 120
# Shares of the placed bins (after the mapped ones) by settlement.
TOWN_SHARES = {"Oakham": 0.42, "Uppingham": 0.22}
TOWN_RADIUS_M = {"Oakham": 1500.0, "Uppingham": 1000.0}
VILLAGE_RADIUS_M = 450.0
# Bins thin out with distance from the centre: weight exp(-d / scale).
TOWN_DENSITY_SCALE_M = 350.0
VILLAGE_DENSITY_SCALE_M = 220.0
MIN_BIN_SPACING_M = 30.0
# Green spaces larger than about 15 ha are estates and country parks, not council flowerbeds
# (square degrees at Rutland's latitude).
MAX_GREEN_SPACE_DEG2 = 2e-5
PAVEMENT_OFFSET_M = 5.0
# Roads fast enough to be main roads (km/h): no litter bins along them outside settlements.
MAIN_ROAD_KMH = 65.0

# Vendor OUIs used to make plausible DevEUIs (Milesight, Dragino, Netvox, Decentlab).
OUI = {"milesight": "24E124", "dragino": "A84041", "netvox": "00137A", "decentlab": "70B3D5"}

BIN_PROFILES = (
    ("milesight-em310-udl-bin", "milesight", "tts", 0.6),
    ("dragino-ldds75-bin", "dragino", "chirpstack", 0.4),
)
FLOWERBED_PROFILE = ("dragino-lse01-flowerbed", "dragino")

# The six air-quality stations: (name, settlement, profile, vendor, visibility, on main road).
AIR_STATIONS = (
    ("Oakham High Street air quality", "Oakham", "netvox-ra0715-air", "netvox", "public", False),
    ("Uppingham Market Place air quality", "Uppingham", "netvox-ra0715-air", "netvox",
     "public", False),
    ("A1 Great Casterton air quality", "Great Casterton", "netvox-ra0715-air", "netvox",
     "public", True),
    ("Ketton air quality", "Ketton", "decentlab-pm-air", "decentlab", "public", False),
    ("Empingham air quality", "Empingham", "decentlab-pm-air", "decentlab", "organisation",
     False),
    ("Cottesmore air quality", "Cottesmore", "decentlab-pm-air", "decentlab", "organisation",
     False),
)

# OSM features standing for the depot and the tip (matched by name).
DEPOT_NAME = "Rutland County Council"
TIP_NAME = "Cottesmore Household Waste Recycling Centre"


@dataclass(frozen=True)
class AssetSpec:
    """One demo asset and its LoRaWAN device, ready for ``register_device``."""

    key: str
    name: str
    asset_type: str
    profile: str
    dev_eui: str
    network: str  # "tts" or "chirpstack": which webhook the simulator uses for it
    lon: float
    lat: float
    visibility: str
    properties: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Site:
    """A named place the service works from: the depot or the tip."""

    name: str
    lon: float
    lat: float
    source: str


@dataclass(frozen=True)
class District:
    """Everything the demo places on the map."""

    seed: int
    depot: Site
    tip: Site
    bins: tuple[AssetSpec, ...]
    flowerbeds: tuple[AssetSpec, ...]
    air_stations: tuple[AssetSpec, ...]

    @property
    def assets(self) -> tuple[AssetSpec, ...]:
        return self.bins + self.flowerbeds + self.air_stations


def dev_eui(vendor: str, seed: int, key: str) -> str:
    """A stable DevEUI with the vendor's OUI (the rest hashed from seed and asset key)."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).hexdigest().upper()
    return OUI[vendor] + digest[:10]



class Boundaries:
    """Ward and LSOA polygons: is a point inside exactly one of each?"""

    def __init__(self, data_dir: Path) -> None:
        self.layers = []
        for name in ("wards", "lsoas"):
            data = json.loads((data_dir / "rutland" / f"{name}.geojson").read_text())
            geometries = [shape(f["geometry"]) for f in data["features"]]
            self.layers.append(STRtree(geometries))

    def inside_one_each(self, lonlat: LonLat) -> bool:
        point = Point(lonlat)
        return all(len(tree.query(point, predicate="within")) == 1 and
                   len(tree.query(point, predicate="intersects")) == 1 for tree in self.layers)

    def mask(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Vectorised ``inside_one_each`` for many points."""
        query = points(lon, lat)
        ok = np.ones(len(lon), dtype=bool)
        for tree in self.layers:
            within = np.bincount(tree.query(query, predicate="within")[0], minlength=len(lon))
            touching = np.bincount(tree.query(query, predicate="intersects")[0],
                                   minlength=len(lon))
            ok &= (within == 1) & (touching == 1)
        return ok


def _named_area_point(pbf: Path, key: str, values: frozenset[str], name: str,
                      fallback: LonLat) -> tuple[LonLat, str]:
    """A point inside the OSM area called ``name`` (or the fallback if it is not mapped)."""
    for area in read_areas(pbf, key, values):
        if area.tags.get("name") == name:
            point = area.geometry.representative_point()
            return (point.x, point.y), f"OpenStreetMap {area.osm_id}"
    return fallback, "placed by the demo (not found in the extract)"


def _snap_to_road(network: RoadNetwork, lonlat: LonLat, offset_m: float = 0.0,
                  min_kmh: float = 0.0, rng: np.random.Generator | None = None) -> LonLat:
    """The point beside the nearest road (of at least ``min_kmh``), ``offset_m`` off it."""
    mid_lon = (network.lon[network.tail] + network.lon[network.head]) / 2
    mid_lat = (network.lat[network.tail] + network.lat[network.head]) / 2
    scale = math.cos(math.radians(lonlat[1]))
    d2 = ((mid_lon - lonlat[0]) * scale) ** 2 + (mid_lat - lonlat[1]) ** 2
    d2 = np.where(network.speed_kmh >= min_kmh, d2, np.inf)
    edge = int(np.argmin(d2))
    fraction = 0.5 if rng is None else float(rng.uniform(0.2, 0.8))
    return _beside_edge(network, edge, fraction, offset_m, 1)


def _beside_edge(network: RoadNetwork, edge: int, fraction: float, offset_m: float,
                 side: int) -> LonLat:
    """A point ``fraction`` along an edge, ``offset_m`` to its left (side 1) or right (-1)."""
    t, h = network.tail[edge], network.head[edge]
    lon = network.lon[t] + fraction * (network.lon[h] - network.lon[t])
    lat = network.lat[t] + fraction * (network.lat[h] - network.lat[t])
    scale = math.cos(math.radians(lat))
    dx = (network.lon[h] - network.lon[t]) * scale
    dy = network.lat[h] - network.lat[t]
    norm = math.hypot(dx, dy) or 1.0
    degrees = offset_m / 111_195.0
    return (float(lon - side * dy / norm * degrees / scale),
            float(lat + side * dx / norm * degrees))


def _settlements(pbf: Path, boundaries: Boundaries) -> list[OsmPlace]:
    return [p for p in read_places(pbf) if boundaries.inside_one_each(p.lonlat)]


def _place_bins_near(network: RoadNetwork, centre: LonLat, radius: float, scale: float,
                     count: int, taken: list[LonLat], boundaries: Boundaries,
                     rng: np.random.Generator) -> list[LonLat]:
    """``count`` positions beside streets within ``radius`` of ``centre``, denser at the centre."""
    mid_lon = (network.lon[network.tail] + network.lon[network.head]) / 2
    mid_lat = (network.lat[network.tail] + network.lat[network.head]) / 2
    cos = math.cos(math.radians(centre[1]))
    distance = np.hypot((mid_lon - centre[0]) * cos, mid_lat - centre[1]) * 111_195.0
    usable = (distance <= radius) & (network.speed_kmh < MAIN_ROAD_KMH) & (network.length_m > 8)
    candidates = np.flatnonzero(usable)
    if not len(candidates) or count <= 0:
        return []
    weight = network.length_m[candidates] * np.exp(-distance[candidates] / scale)
    weight = weight / weight.sum()
    placed: list[LonLat] = []
    for _ in range(count * 40):
        if len(placed) >= count:
            break
        edge = int(rng.choice(candidates, p=weight))
        side = 1 if rng.random() < 0.5 else -1
        spot = _beside_edge(network, edge, float(rng.uniform(0.1, 0.9)), PAVEMENT_OFFSET_M, side)
        if any(metres_between(spot, other) < MIN_BIN_SPACING_M for other in [*taken, *placed]):
            continue
        if boundaries.inside_one_each(spot):
            placed.append(spot)
    return placed


def _village_quotas(network: RoadNetwork, villages: list[OsmPlace], total: int,
                    rng: np.random.Generator) -> dict[str, int]:
    """Bins per village, by how much street there is near its centre (a size proxy)."""
    sizes = []
    for village in villages:
        cos = math.cos(math.radians(village.lonlat[1]))
        near = np.hypot((network.lon - village.lonlat[0]) * cos,
                        network.lat - village.lonlat[1]) * 111_195.0 <= VILLAGE_RADIUS_M
        sizes.append(max(int(near.sum()), 1))
    share = np.asarray(sizes, dtype=float) / sum(sizes)
    # Every village gets at least one bin (the one by the bus stop or the church).
    quotas = 1 + np.floor(share * max(total - len(villages), 0)).astype(int)
    while quotas.sum() < total:
        quotas[int(rng.choice(len(villages), p=share))] += 1
    return {v.name: int(q) for v, q in zip(villages, quotas, strict=True)}


def _setting(lonlat: LonLat, towns: dict[str, LonLat]) -> str:
    to_town = min(metres_between(lonlat, c) for c in towns.values())
    if to_town <= 400:
        return "town_centre"
    return "town" if to_town <= 2000 else "village"


def _nearest_name(lonlat: LonLat, settlements: list[OsmPlace]) -> str:
    return min(settlements, key=lambda s: metres_between(lonlat, s.lonlat)).name


def generate_district(data_dir: str | Path, network: RoadNetwork, seed: int = 2024) -> District:
    """The Rutland demo district for ``seed``: depot, tip, bins, flowerbeds, air stations."""
    data = Path(data_dir)
    pbf = data / "rutland" / "roads.osm.pbf"
    rng = np.random.default_rng(seed)
    boundaries = Boundaries(data)
    settlements = _settlements(pbf, boundaries)
    towns = {p.name: p.lonlat for p in settlements if p.kind == "town"}
    villages = [p for p in settlements if p.kind == "village"]

    depot_point, depot_source = _named_area_point(
        pbf, "amenity", frozenset({"public_building", "townhall"}), DEPOT_NAME,
        (-0.7247, 52.6682))
    tip_point, tip_source = _named_area_point(
        pbf, "amenity", frozenset({"recycling"}), TIP_NAME, (-0.6700, 52.7100))
    depot = Site("Council depot, Catmose, Oakham", *depot_point, depot_source)
    tip = Site("Cottesmore Household Waste Recycling Centre (tip)", *tip_point, tip_source)

    # Bins: the waste baskets mapped in OSM first, then placed ones.
    positions: list[tuple[LonLat, dict[str, Any]]] = []
    for osm_id, lonlat in read_amenity_nodes(pbf, "waste_basket"):
        if boundaries.inside_one_each(lonlat):
            positions.append((lonlat, {"source": "OpenStreetMap amenity=waste_basket",
                                       "osm_node": osm_id}))
    remaining = BIN_TARGET - len(positions)
    taken = [p for p, _ in positions]
    quotas = {name: round(remaining * share) for name, share in TOWN_SHARES.items()}
    village_total = remaining - sum(quotas.values())
    quotas.update(_village_quotas(network, villages, village_total, rng))
    for settlement in [*[p for p in settlements if p.kind == "town"], *villages]:
        is_town = settlement.kind == "town"
        placed = _place_bins_near(
            network, settlement.lonlat,
            TOWN_RADIUS_M.get(settlement.name, 1000.0) if is_town else VILLAGE_RADIUS_M,
            TOWN_DENSITY_SCALE_M if is_town else VILLAGE_DENSITY_SCALE_M,
            quotas.get(settlement.name, 0), taken, boundaries, rng)
        taken.extend(placed)
        positions.extend((p, {"source": "placed by the demo generator"}) for p in placed)

    bins = []
    for number, (lonlat, extra) in enumerate(positions, start=1):
        profile, vendor, network_server, _ = BIN_PROFILES[
            0 if rng.random() < BIN_PROFILES[0][3] else 1]
        key = f"bin-{number:03d}"
        place = _nearest_name(lonlat, settlements)
        setting = _setting(lonlat, towns) if place in towns else "village"
        bins.append(AssetSpec(
            key=key, name=f"Litter bin {number:03d}, {place}", asset_type="litter_bin",
            profile=profile, dev_eui=dev_eui(vendor, seed, key), network=network_server,
            lon=lonlat[0], lat=lonlat[1],
            visibility="organisation" if rng.random() < 0.1 else "public",
            properties={"demo_key": key, "settlement": place, "setting": setting, **extra},
        ))

    flowerbeds = _flowerbeds(pbf, boundaries, settlements, seed, rng)
    # The demand model's weekday profile: bins near a planted park or garden are busiest at
    # weekends, like town centres (rounds needs to know which bins those are).
    for bin_spec in bins:
        bin_spec.properties["near_park"] = any(
            metres_between((bin_spec.lon, bin_spec.lat), (bed.lon, bed.lat)) <= NEAR_PARK_M
            for bed in flowerbeds)
    air = []
    for number, (name, place, profile, vendor, visibility, main_road) in enumerate(
            AIR_STATIONS, start=1):
        centre = next((s.lonlat for s in settlements if s.name == place), towns["Oakham"])
        lonlat = _snap_to_road(network, centre, offset_m=4.0,
                               min_kmh=80.0 if main_road else 0.0)
        if not boundaries.inside_one_each(lonlat):
            lonlat = _snap_to_road(network, centre, offset_m=-4.0,
                                   min_kmh=80.0 if main_road else 0.0)
        key = f"air-{number}"
        air.append(AssetSpec(
            key=key, name=name, asset_type="air_quality_station", profile=profile,
            dev_eui=dev_eui(vendor, seed, key), network="tts" if vendor == "netvox" else
            "chirpstack", lon=lonlat[0], lat=lonlat[1], visibility=visibility,
            properties={"demo_key": key, "settlement": place, "roadside": main_road},
        ))
    return District(seed, depot, tip, tuple(bins), tuple(flowerbeds), tuple(air))


def _flowerbeds(pbf: Path, boundaries: Boundaries, settlements: list[OsmPlace], seed: int,
                rng: np.random.Generator) -> list[AssetSpec]:
    """About 40 beds in public parks and gardens mapped in OSM, in or next to a settlement.

    One bed per green space first (parks before gardens, bigger first); then more beds in the
    largest ones until there are enough.
    """
    def near_settlement(lonlat: LonLat) -> bool:
        return any(metres_between(lonlat, s.lonlat) <= (1500 if s.kind == "town" else 600)
                   for s in settlements)

    areas = []
    for area in read_areas(pbf, "leisure", frozenset({"park", "garden"})):
        inside = area.geometry.representative_point()
        if (area.tags.get("access") not in {"private", "no"}
                and area.geometry.area <= MAX_GREEN_SPACE_DEG2
                and near_settlement((inside.x, inside.y))):
            areas.append(area)
    areas.sort(key=lambda a: (a.tags["leisure"] != "park", -a.geometry.area, a.osm_id))
    spots: list[tuple[LonLat, str, str]] = []
    per_place: dict[str, int] = {}
    kinds = {s.name: s.kind for s in settlements}

    def add(lonlat: LonLat, area: Any) -> None:
        place = _nearest_name(lonlat, settlements)
        # A village has a handful of planted beds at most; towns have most of them.
        limit = 16 if kinds.get(place) == "town" else 3
        if (len(spots) < FLOWERBED_TARGET and per_place.get(place, 0) < limit
                and boundaries.inside_one_each(lonlat)
                and all(metres_between(lonlat, s[0]) > 30 for s in spots)):
            label = area.tags.get("name") or area.tags["leisure"]
            spots.append((lonlat, label, area.osm_id))
            per_place[place] = per_place.get(place, 0) + 1

    for area in areas:
        inside = area.geometry.representative_point()
        add((inside.x, inside.y), area)
    for _round in range(3):
        for area in sorted(areas, key=lambda a: -a.geometry.area):
            minx, miny, maxx, maxy = area.geometry.bounds
            for _ in range(20):
                x, y = float(rng.uniform(minx, maxx)), float(rng.uniform(miny, maxy))
                if area.geometry.contains(Point(x, y)):
                    add((x, y), area)
                    break
    profile, vendor = FLOWERBED_PROFILE
    beds = []
    for number, (lonlat, label, osm_id) in enumerate(spots, start=1):
        key = f"bed-{number:02d}"
        place = _nearest_name(lonlat, settlements)
        name = (f"Flowerbed {number:02d}, {place} {label}" if label in {"park", "garden"}
                else f"Flowerbed {number:02d}, {label}, {place}")
        beds.append(AssetSpec(
            key=key, name=name, asset_type="flowerbed", profile=profile,
            dev_eui=dev_eui(vendor, seed, key), network="chirpstack" if number % 2 else "tts",
            lon=lonlat[0], lat=lonlat[1],
            visibility="organisation" if rng.random() < 0.15 else "public",
            properties={"demo_key": key, "settlement": place, "osm_area": osm_id,
                        # What rounds plans watering with: water below this soil moisture
                        # (%), and the water one watering takes.
                        "watering_threshold": WATERING_THRESHOLD_PERCENT,
                        "water_litres": WATER_LITRES_PER_BED},
        ))
    return beds
