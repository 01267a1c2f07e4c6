"""Car parks and their occupancy from bay sensors, and a tariff suggestion from a demand model.

Occupancy: each bay sensor reports its state (occupied or free) when it changes and in
heartbeats; the bay holds its last reported state until the next report. The occupancy of a
car park over an hour is the time its monitored bays were occupied divided by the time they
were observed (a bay counts from its first report). Profiles average that by weekday and hour
in local time, weighted by observed time.

Tariff: a constant-elasticity demand model, occupancy ∝ price ** elasticity. To move occupancy
from ``o`` to the target ``o*`` the price becomes ``p × (o*/o) ** (1/elasticity)``, limited to
a step per review and rounded to 10p; within a dead band around the target the price stays.

- Target occupancy 85%: the "85 per cent rule" (one space in seven free on each block so drivers
  need not cruise), D. Shoup, *The High Cost of Free Parking*, APA Planners Press, 2005.
- Price elasticity of parking demand −0.3: within the −0.1 to −0.6 range of the studies
  reviewed by TRL (R. Balcombe et al., *The demand for public transport: a practical guide*,
  TRL593, 2004, section on parking charges) and close to the mean (−0.39) of the meta-analysis
  by S. Concas and N. Nayak, "A meta-analysis of parking pricing elasticity", Transportation
  Research Board 91st Annual Meeting, 2012. Both are settings: use local evidence if you have it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from shapely import STRtree, points

from placehub.places.distance import EARTH_RADIUS_M
from placehub.planning.features import Feature

# Gross area per space of a surface car park (bay 2.4 m x 4.8 m plus its share of the aisles and
# landscaping), for car parks with no capacity tag: a planning rule of thumb (25 m2/space).
SQUARE_METRES_PER_SPACE = 25.0
# A bay sensor this far (metres) outside every mapped car park belongs to none (on-street).
BAY_MATCH_M = 30.0
FULL_AT = 0.95


@dataclass(frozen=True)
class CarPark:
    """A car park: where it is, its zone (the town it serves) and how many spaces it has."""

    ref: str
    name: str
    zone: str
    lon: float
    lat: float
    capacity: int | None
    capacity_source: str  # "osm tag", "estimated from area", "unknown"

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "name": self.name, "zone": self.zone,
                "lon": round(self.lon, 6), "lat": round(self.lat, 6), "capacity": self.capacity,
                "capacity_source": self.capacity_source}


def _project_area_m2(geometry: Any) -> float:
    from shapely import transform

    lat0 = math.radians(geometry.centroid.y)
    scale = np.array([math.cos(lat0) * EARTH_RADIUS_M * math.pi / 180,
                      EARTH_RADIUS_M * math.pi / 180])
    return float(transform(geometry, lambda xy: xy * scale).area)


def capacity_of(feature: Feature) -> tuple[int | None, str]:
    """Spaces from the ``capacity`` tag, else estimated from the mapped outline's area."""
    tag = (feature.tags.get("capacity") or "").strip()
    if tag.isdigit() and int(tag) > 0:
        return int(tag), "osm tag"
    if feature.outline is not None:
        spaces = int(_project_area_m2(feature.outline) // SQUARE_METRES_PER_SPACE)
        if spaces > 0:
            return spaces, "estimated from area"
    return None, "unknown"


def car_parks(features: Sequence[Feature], towns: Sequence[tuple[str, float, float]]
              ) -> list[CarPark]:
    """Public car parks (not private or customers-only) with capacity and zone (nearest town)."""
    found = []
    town_points = np.array([(lon, lat) for _, lon, lat in towns]) if towns else None
    for feature in features:
        if feature.kind != "car_park" or feature.tags.get("access") in {"private", "customers",
                                                                         "no"}:
            continue
        zone = ""
        if town_points is not None:
            d = np.hypot((town_points[:, 0] - feature.lon) * math.cos(math.radians(feature.lat)),
                         town_points[:, 1] - feature.lat)
            zone = towns[int(d.argmin())][0]
        capacity, source = capacity_of(feature)
        found.append(CarPark(feature.ref, feature.name, zone, feature.lon, feature.lat,
                             capacity, source))
    return found


def match_bays(parks: Sequence[Feature], bay_lonlat: np.ndarray) -> np.ndarray:
    """Index of the car park each bay lies in (or within BAY_MATCH_M of), -1 for none."""
    if not len(parks) or not len(bay_lonlat):
        return np.full(len(bay_lonlat), -1)
    lat0 = math.radians(float(np.mean(bay_lonlat[:, 1])))
    kx = math.cos(lat0) * EARTH_RADIUS_M * math.pi / 180
    ky = EARTH_RADIUS_M * math.pi / 180
    from shapely import transform

    shapes = [transform(p.outline, lambda xy: xy * np.array([kx, ky])) if p.outline is not None
              else points(p.lon * kx, p.lat * ky) for p in parks]
    tree = STRtree(shapes)
    bays = points(bay_lonlat[:, 0] * kx, bay_lonlat[:, 1] * ky)
    bay_index, park_index = tree.query_nearest(bays, max_distance=BAY_MATCH_M,
                                               all_matches=False)
    found = np.full(len(bay_lonlat), -1)
    found[bay_index] = park_index
    return found


@dataclass(frozen=True)
class BayHistory:
    """The reported states of one bay sensor, in time order (epoch seconds)."""

    bay: int
    car_park: str
    times: np.ndarray
    states: np.ndarray  # bool


def _cumulative(history: BayHistory, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Occupied and observed seconds of one bay from its first report until each ``at``."""
    t = history.times.astype(float)
    s = history.states.astype(float)
    if not len(t):
        zero = np.zeros(len(at))
        return zero, zero
    occupied_before = np.concatenate([[0.0], np.cumsum(s[:-1] * np.diff(t))])
    k = np.searchsorted(t, at, side="right") - 1
    started = k >= 0
    kk = np.maximum(k, 0)
    occupied = np.where(started, occupied_before[kk] + s[kk] * (at - t[kk]), 0.0)
    observed = np.where(started, at - t[0], 0.0)
    return occupied, observed


@dataclass
class Occupancy:
    """Per car park: hourly occupied and observed bay-seconds from ``start``."""

    start: datetime
    hours: int
    occupied: dict[str, np.ndarray] = field(default_factory=dict)
    observed: dict[str, np.ndarray] = field(default_factory=dict)
    bays: dict[str, int] = field(default_factory=dict)

    def rate(self, car_park: str) -> np.ndarray:
        """Occupancy (0 to 1) per hour, NaN where no bay was observed."""
        observed = self.observed[car_park]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(observed > 0, self.occupied[car_park] / observed, np.nan)


def hourly_occupancy(histories: Sequence[BayHistory], start: datetime, hours: int
                     ) -> Occupancy:
    """Time-weighted occupancy of each car park, hour by hour, from ``start`` (UTC)."""
    edges = start.timestamp() + 3600.0 * np.arange(hours + 1)
    result = Occupancy(start, hours)
    for history in histories:
        occupied, observed = _cumulative(history, edges)
        park = history.car_park
        if park not in result.occupied:
            result.occupied[park] = np.zeros(hours)
            result.observed[park] = np.zeros(hours)
            result.bays[park] = 0
        result.occupied[park] += np.diff(occupied)
        result.observed[park] += np.diff(observed)
        result.bays[park] += 1
    return result


def weekly_profile(occupancy: Occupancy, car_parks_: Sequence[str], timezone: str
                   ) -> dict[tuple[int, int], float]:
    """Occupancy by (weekday 0=Monday, local hour) over the given car parks, NaN-free."""
    zone = ZoneInfo(timezone)
    occupied: dict[tuple[int, int], float] = {}
    observed: dict[tuple[int, int], float] = {}
    for h in range(occupancy.hours):
        local = (occupancy.start + timedelta(hours=h)).astimezone(zone)
        key = (local.weekday(), local.hour)
        for park in car_parks_:
            occupied[key] = occupied.get(key, 0.0) + float(occupancy.occupied[park][h])
            observed[key] = observed.get(key, 0.0) + float(occupancy.observed[park][h])
    return {key: occupied[key] / observed[key] for key in sorted(observed) if observed[key] > 0}


def current(histories: Sequence[BayHistory], at: datetime) -> dict[str, tuple[int, int]]:
    """Per car park: (occupied bays, monitored bays) from each bay's last report before ``at``."""
    found: dict[str, list[int]] = {}
    moment = at.timestamp()
    for history in histories:
        k = int(np.searchsorted(history.times, moment, side="right")) - 1
        entry = found.setdefault(history.car_park, [0, 0])
        if k >= 0:
            entry[0] += int(bool(history.states[k]))
            entry[1] += 1
    return {park: (occupied, monitored) for park, (occupied, monitored) in found.items()}


# -- tariffs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TariffModel:
    """The demand model's settings (see the module docstring for the sources)."""

    target_occupancy: float = 0.85
    elasticity: float = -0.3
    dead_band: float = 0.05    # no change while occupancy is within target ± this
    max_step: float = 0.25     # at most ±25% per review
    minimum_price: float = 0.0
    # A free car park above target starts charging this (a ratio cannot move zero).
    starting_price: float = 0.50
    round_to: float = 0.10
    source: str = ("target: Shoup (2005) 85% rule; elasticity: TRL593 (2004) range -0.1 to "
                   "-0.6, Concas & Nayak (2012) meta-analysis mean -0.39")

    def __post_init__(self) -> None:
        if not 0 < self.target_occupancy < 1:
            raise ValueError("target occupancy must be between 0 and 1 (e.g. 0.85)")
        if not self.elasticity < 0:
            raise ValueError("price elasticity of parking demand must be negative (e.g. -0.3)")
        if not 0 < self.max_step < 1:
            raise ValueError("max step must be between 0 and 1 (e.g. 0.25)")


def suggest_price(current_price: float, occupancy: float, model: TariffModel) -> float:
    """The price that would bring ``occupancy`` to the target under the model, limited to one
    step and rounded; unchanged inside the dead band or without data."""
    if current_price < 0:
        raise ValueError("a price cannot be negative")
    if math.isnan(occupancy) or abs(occupancy - model.target_occupancy) <= model.dead_band:
        return current_price
    if current_price == 0:
        return model.starting_price if occupancy > model.target_occupancy else 0.0
    ratio = (model.target_occupancy / max(occupancy, 0.01)) ** (1 / model.elasticity)
    ratio = min(max(ratio, 1 - model.max_step), 1 + model.max_step)
    price = max(model.minimum_price, current_price * ratio)
    rounded = round(price / model.round_to) * model.round_to
    # Rounding must not undo the direction of a change the occupancy calls for.
    if occupancy > model.target_occupancy and rounded <= current_price:
        rounded = current_price + model.round_to
    if occupancy < model.target_occupancy and rounded >= current_price:
        rounded = max(model.minimum_price, current_price - model.round_to)
    return round(rounded, 2)


def tariff_table(profile: dict[tuple[int, int], float], prices: dict[tuple[int, int], float],
                 model: TariffModel) -> list[dict[str, Any]]:
    """Per weekday and hour: occupancy, current price, suggested price."""
    rows = []
    for (day, hour), occupancy in sorted(profile.items()):
        price = prices.get((day, hour), prices.get((-1, -1), 0.0))
        rows.append({"weekday": day, "hour": hour, "occupancy": round(occupancy, 3),
                     "price": price, "suggested": suggest_price(price, occupancy, model)})
    return rows
