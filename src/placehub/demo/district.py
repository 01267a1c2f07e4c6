"""The demo district: where the depot, the tip, the bins, flowerbeds and air stations are.

Pure functions of an area's data (its wards, LSOAs and OpenStreetMap extract) and a seed: the
same seed always gives the same district. Real OpenStreetMap features come first (the council
offices, the recycling centre, mapped waste baskets, parks and gardens); the rest of the ~300
bins are placed along streets of the towns and villages, denser towards each centre. Every
asset lies inside exactly one ward and one LSOA.

Rutland has a plan written by hand (Oakham and Uppingham, the council offices at Catmose, the
Cottesmore recycling centre, air stations at named places and on the A1). Any other area gets
one derived from its extract: towns (or suburbs) by how much street they have, air stations in
the largest centres and on the fastest road near the largest, the town hall as the depot and a
recycling centre as the tip.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from shapely import STRtree, points
from shapely.geometry import Point, shape

from placehub.area import AreaFiles
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
# Settlements counted as towns (the rest are villages) in an area without a hand-made plan:
# London boroughs and cities are made of suburbs.
TOWN_KINDS = frozenset({"city", "town", "suburb"})
SETTLEMENT_KINDS = TOWN_KINDS | {"village"}
# The share of placed bins that goes to towns in a derived plan (Rutland's: 0.42 + 0.22).
TOWN_BIN_SHARE = 0.64
MAX_PLAN_TOWNS = 6


@dataclass(frozen=True)
class SiteMatch:
    """How the depot or tip is found in OpenStreetMap, and where it goes when it is not."""

    key: str
    values: frozenset[str]
    name: str | None = None  # match this name exactly; None: the first such area in the area
    tags: tuple[tuple[str, str], ...] = ()  # further tags it must have
    fallback: LonLat | None = None  # None: beside a road in the largest town


@dataclass(frozen=True)
class DistrictPlan:
    """Which settlements get the placed bins, where the air stations and the depot and tip go."""

    town_shares: dict[str, float]
    town_radius_m: dict[str, float]
    # (name, settlement, profile, vendor, visibility, on a main road)
    air_stations: tuple[tuple[str, str, str, str, str, bool], ...]
    depot: SiteMatch
    tip: SiteMatch
    depot_name: str
    tip_name: str
    main_road_kmh: float  # roads at least this fast count as the main road for a station
    town_kinds: frozenset[str] = frozenset({"town"})
    settlement_kinds: frozenset[str] = frozenset({"town", "village"})


RUTLAND_PLAN = DistrictPlan(
    TOWN_SHARES, TOWN_RADIUS_M, AIR_STATIONS,
    SiteMatch("amenity", frozenset({"public_building", "townhall"}), DEPOT_NAME,
              fallback=(-0.7247, 52.6682)),
    SiteMatch("amenity", frozenset({"recycling"}), TIP_NAME, fallback=(-0.6700, 52.7100)),
    "Council depot, Catmose, Oakham", "Cottesmore Household Waste Recycling Centre (tip)",
    main_road_kmh=80.0)


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

    def __init__(self, files: AreaFiles) -> None:
        self.layers = []
        for path in (files.wards, files.lsoas):
            data = json.loads(path.read_text(encoding="utf-8"))
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


def _site_point(pbf: Path, match: SiteMatch, boundaries: Boundaries
                ) -> tuple[LonLat, str] | None:
    """A point inside the OSM area ``match`` describes, and where it came from; or None."""
    for area in sorted(read_areas(pbf, match.key, match.values), key=lambda a: a.osm_id):
        if match.name is not None and area.tags.get("name") != match.name:
            continue
        if any(area.tags.get(k) != v for k, v in match.tags):
            continue
        point = area.geometry.representative_point()
        if match.name is None and not boundaries.inside_one_each((point.x, point.y)):
            continue
        return (point.x, point.y), f"OpenStreetMap {area.osm_id}"
    return None


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


def _settlements(pbf: Path, boundaries: Boundaries, plan: DistrictPlan) -> list[OsmPlace]:
    """Named settlements inside the area, each either a "town" or a "village" for the plan."""
    found = []
    for place in read_places(pbf, plan.settlement_kinds):
        if boundaries.inside_one_each(place.lonlat):
            kind = "town" if place.kind in plan.town_kinds else "village"
            found.append(OsmPlace(place.osm_id, place.name, kind, place.lonlat))
    # Two OSM nodes can share a name (a suburb and its station): keep the first.
    unique: dict[str, OsmPlace] = {}
    for place in sorted(found, key=lambda p: p.osm_id):
        unique.setdefault(place.name, place)
    return sorted(unique.values(), key=lambda p: p.osm_id)


def _street_metres(network: RoadNetwork, centre: LonLat, radius: float) -> float:
    """Metres of road within ``radius`` of ``centre``: how big a settlement is."""
    cos = math.cos(math.radians(centre[1]))
    mid_lon = (network.lon[network.tail] + network.lon[network.head]) / 2
    mid_lat = (network.lat[network.tail] + network.lat[network.head]) / 2
    near = np.hypot((mid_lon - centre[0]) * cos, mid_lat - centre[1]) * 111_195.0 <= radius
    return float(network.length_m[near].sum())


def derived_plan(pbf: Path, boundaries: Boundaries, network: RoadNetwork) -> DistrictPlan:
    """A plan for an area without a hand-made one, from its settlements and roads."""
    draft = DistrictPlan({}, {}, (), RUTLAND_PLAN.depot, RUTLAND_PLAN.tip, "", "", 0.0,
                         town_kinds=TOWN_KINDS, settlement_kinds=SETTLEMENT_KINDS)
    settlements = _settlements(pbf, boundaries, draft)
    if not settlements:
        raise ValueError(f"no named town, suburb or village inside the area in {pbf}: the demo "
                         "places its assets around them")
    size = {s.name: _street_metres(network, s.lonlat, 1000.0) for s in settlements}
    by_size = sorted(settlements, key=lambda s: (-size[s.name], s.osm_id))
    towns = [s for s in by_size if s.kind == "town"][:MAX_PLAN_TOWNS] or by_size[:1]
    town_total = sum(size[t.name] for t in towns) or 1.0
    shares = {t.name: TOWN_BIN_SHARE * size[t.name] / town_total for t in towns}
    radius = {t.name: 1500.0 if i == 0 else 1000.0 for i, t in enumerate(towns)}
    largest = towns[0]
    # The main road: the fastest class of road within 5 km of the largest centre.
    cos = math.cos(math.radians(largest.lonlat[1]))
    near = np.hypot((network.lon[network.tail] - largest.lonlat[0]) * cos,
                    network.lat[network.tail] - largest.lonlat[1]) * 111_195.0 <= 5000.0
    main_kmh = float(network.speed_kmh[near].max()) if near.any() else 0.0
    others = [s for s in by_size if s.name != largest.name]
    second = others[0] if others else largest
    rest = (others[1:] + [largest] * 3)[:3]
    stations = (
        (f"{largest.name} centre air quality", largest.name, "netvox-ra0715-air", "netvox",
         "public", False),
        (f"{second.name} air quality", second.name, "netvox-ra0715-air", "netvox", "public",
         False),
        (f"Main road by {largest.name} air quality", largest.name, "netvox-ra0715-air",
         "netvox", "public", True),
        *((f"{s.name} air quality" + (f" {i}" if s is largest else ""), s.name,
           "decentlab-pm-air", "decentlab", "public" if i == 0 else "organisation", False)
          for i, s in enumerate(rest)),
    )
    return replace(
        draft, town_shares=shares, town_radius_m=radius, air_stations=stations,
        depot=SiteMatch("amenity", frozenset({"townhall"})),
        tip=SiteMatch("amenity", frozenset({"recycling"}), tags=(("recycling_type", "centre"),)),
        depot_name=f"Council depot, {largest.name}",
        tip_name="Household Waste Recycling Centre (tip)", main_road_kmh=main_kmh)


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


def plan_for(area: str, pbf: Path, boundaries: Boundaries, network: RoadNetwork
             ) -> DistrictPlan:
    """Rutland's hand-made plan, or one derived from any other area's data."""
    return RUTLAND_PLAN if area == "rutland" else derived_plan(pbf, boundaries, network)


def _site(pbf: Path, match: SiteMatch, name: str, boundaries: Boundaries,
          network: RoadNetwork, centre: LonLat, min_kmh: float = 0.0) -> Site:
    """The depot or tip: the OSM feature, else the plan's fallback, else beside the road of at
    least ``min_kmh`` nearest the largest centre."""
    found = _site_point(pbf, match, boundaries)
    if found is not None:
        point, source = found
        return Site(name, *point, source)
    where = match.fallback or _station_spot(network, centre, boundaries, min_kmh)
    return Site(name, *where, "placed by the demo (not found in the extract)")


def generate_district(data_dir: str | Path, network: RoadNetwork, seed: int = 2024,
                      area: str = "rutland") -> District:
    """The demo district of ``area`` (a folder of ``data_dir``) for ``seed``."""
    files = AreaFiles(Path(data_dir), area)
    pbf = files.roads
    rng = np.random.default_rng(seed)
    boundaries = Boundaries(files)
    plan = plan_for(area, pbf, boundaries, network)
    # A plan may make its largest village the town (an area without a town).
    settlements = [OsmPlace(p.osm_id, p.name, "town" if p.name in plan.town_shares else p.kind,
                            p.lonlat) for p in _settlements(pbf, boundaries, plan)]
    towns = {p.name: p.lonlat for p in settlements if p.kind == "town"}
    villages = [p for p in settlements if p.kind == "village"]
    largest = next(iter(plan.town_shares), None)
    centre = towns.get(largest or "") or settlements[0].lonlat

    depot = _site(pbf, plan.depot, plan.depot_name, boundaries, network, centre)
    tip = _site(pbf, plan.tip, plan.tip_name, boundaries, network, centre, plan.main_road_kmh)

    # Bins: the waste baskets mapped in OSM first, then placed ones.
    positions: list[tuple[LonLat, dict[str, Any]]] = []
    for osm_id, lonlat in read_amenity_nodes(pbf, "waste_basket"):
        if boundaries.inside_one_each(lonlat) and len(positions) < BIN_TARGET:
            positions.append((lonlat, {"source": "OpenStreetMap amenity=waste_basket",
                                       "osm_node": osm_id}))
    remaining = BIN_TARGET - len(positions)
    taken = [p for p, _ in positions]
    quotas = {name: round(remaining * share) for name, share in plan.town_shares.items()}
    village_total = remaining - sum(quotas.values())
    if villages:
        quotas.update(_village_quotas(network, villages, village_total, rng))
    for settlement in [*[p for p in settlements if p.kind == "town"], *villages]:
        is_town = settlement.kind == "town"
        placed = _place_bins_near(
            network, settlement.lonlat,
            plan.town_radius_m.get(settlement.name, 1000.0) if is_town else VILLAGE_RADIUS_M,
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
            plan.air_stations, start=1):
        at = next((s.lonlat for s in settlements if s.name == place), centre)
        lonlat = _station_spot(network, at, boundaries,
                               plan.main_road_kmh if main_road else 0.0)
        key = f"air-{number}"
        air.append(AssetSpec(
            key=key, name=name, asset_type="air_quality_station", profile=profile,
            dev_eui=dev_eui(vendor, seed, key), network="tts" if vendor == "netvox" else
            "chirpstack", lon=lonlat[0], lat=lonlat[1], visibility=visibility,
            properties={"demo_key": key, "settlement": place, "roadside": main_road},
        ))
    return District(seed, depot, tip, tuple(bins), tuple(flowerbeds), tuple(air))


def _station_spot(network: RoadNetwork, at: LonLat, boundaries: Boundaries,
                  min_kmh: float) -> LonLat:
    """Beside the nearest road of at least ``min_kmh`` to ``at``, inside the area."""
    for speed in (min_kmh, 0.0):
        for offset in (4.0, -4.0):
            spot = _snap_to_road(network, at, offset_m=offset, min_kmh=speed)
            if boundaries.inside_one_each(spot):
                return spot
    return at


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
