"""The simulated demand model: how fast each litter bin fills and each flowerbed dries, day by day.

Shared by the rounds simulation and the demo's back-fill, so both tell the same story. The model:

- every bin has a **setting** from its distance to the centres of Oakham and Uppingham and to the
  nearest village: ``town_centre`` (within 400 m of a town centre), ``town`` (within 2 km),
  ``village`` (within 700 m of a village) or ``rural``;
- a **base fill rate** (fraction of the bin's capacity per day) by setting, times a per-bin factor
  drawn once from a log-normal distribution (sd 0.35), so neighbours differ as real bins do;
- a **weekday profile**: town centres and bins near parks peak at the weekend, other bins a little;
- **daily noise**: a gamma-distributed multiplier with mean 1 and coefficient of variation 0.3.

Draws depend only on ``(seed, bin id, date)``, so any day of any bin can be asked for in any
order and always gives the same answer. Flowerbeds dry by a weather-driven rate (fraction of
volumetric soil moisture per day) with the same seeding.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from placehub.places.distance import LonLat, metres_between

TOWN_CENTRES: dict[str, LonLat] = {
    "Oakham": (-0.7284623, 52.6699351),
    "Uppingham": (-0.7234249, 52.5887243),
}

SETTINGS = ("town_centre", "town", "village", "rural")

# Mean fraction of capacity filled per day, by setting (before the per-bin factor).
BASE_FILL_RATE: dict[str, float] = {
    "town_centre": 0.30,
    "town": 0.16,
    "village": 0.10,
    "rural": 0.06,
}

# Monday .. Sunday multipliers (mean about 1 over the week).
BUSY_WEEKDAYS = (0.85, 0.85, 0.9, 0.95, 1.1, 1.3, 1.25)
QUIET_WEEKDAYS = (0.95, 0.95, 0.95, 1.0, 1.0, 1.1, 1.05)

PER_BIN_SD = 0.35
DAILY_CV = 0.30

# Flowerbeds: mean drying in volumetric moisture percentage points per day, by month (Jan..Dec).
MONTHLY_DRYING_POINTS = (0.6, 0.8, 1.2, 2.0, 2.8, 3.4, 3.8, 3.4, 2.4, 1.4, 0.8, 0.6)
RAIN_PROBABILITY = 0.3
RAIN_POINTS_MEAN = 6.0


# Today's fixed rounds (Monday = 0), the baseline both the demo's history and the simulation
# use. An assumption (Rutland's real schedule is not published as data), sized as a council
# sizes fixed rounds: so that bins rarely overflow even in a busy week. Town-centre bins every
# day, other town bins three times a week (Monday, Wednesday, Friday), village bins twice a week
# on one of two village rounds (Monday and Thursday, or Tuesday and Friday, by a hash of the
# village's name), bins out in the country weekly (Wednesday).
FREQUENCIES = ("daily", "3x", "2x", "weekly")
VILLAGE_ROUNDS: tuple[tuple[int, ...], ...] = ((0, 3), (1, 4))
DEFAULT_FIXED_SCHEDULE: dict[str, str] = {
    "town_centre": "daily", "town": "3x", "village": "2x", "rural": "weekly",
}

def parse_fixed_schedule(text: str) -> dict[str, str]:
    """A schedule from "town_centre=daily,town=3x,village=2x,rural=weekly" (missing areas keep
    the default); a clear error for unknown areas or frequencies."""
    schedule = dict(DEFAULT_FIXED_SCHEDULE)
    for part in (p.strip() for p in text.split(",") if p.strip()):
        area, _, frequency = part.partition("=")
        area, frequency = area.strip(), frequency.strip()
        if area not in DEFAULT_FIXED_SCHEDULE:
            raise ValueError(f"area {area!r} not understood: use {', '.join(SETTINGS)}.")
        if frequency not in FREQUENCIES:
            raise ValueError(f"frequency {frequency!r} for {area} not understood: use "
                             f"{', '.join(FREQUENCIES)}.")
        schedule[area] = frequency
    return schedule


def fixed_round_weekdays(setting: str, settlement: str = "",
                         schedule: dict[str, str] | None = None) -> tuple[int, ...]:
    """Weekdays (Monday = 0) a bin of ``setting`` in ``settlement`` is emptied on fixed rounds.

    ``schedule`` maps each setting to a frequency (default ``DEFAULT_FIXED_SCHEDULE``): daily;
    3x (Monday, Wednesday, Friday); 2x (one of the two village rounds, by a hash of the
    settlement's name); weekly (Wednesday).
    """
    frequency = (schedule or DEFAULT_FIXED_SCHEDULE).get(setting, "2x")
    if frequency == "daily":
        return (0, 1, 2, 3, 4, 5, 6)
    if frequency == "3x":
        return (0, 2, 4)
    if frequency == "weekly":
        return (2,)
    pick = int(hashlib.sha256(settlement.encode()).hexdigest(), 16) % len(VILLAGE_ROUNDS)
    return VILLAGE_ROUNDS[pick]


@dataclass(frozen=True)
class BinSite:
    """Where a bin stands and what it holds: enough for the demand model and the planner."""

    id: int
    lon: float
    lat: float
    capacity_litres: float = 120.0
    near_park: bool = False
    name: str = ""
    # The setting when the caller knows it (the demo's bins carry theirs); "" derives it from
    # the position.
    setting: str = ""
    settlement: str = ""  # the town or village it belongs to (its fixed round day)


def stable_id(key: str) -> int:
    """A bin or bed number for the model's draws from a stable text key (e.g. a demo key)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "little")


def site_from_properties(fallback_id: int, lon: float, lat: float, properties: dict[str, Any],
                         name: str = "") -> BinSite:
    """A bin as the model sees it, from its Thing properties (the demo's bins carry them all).

    A bin with a ``demo_key`` is known by it, so the demo's history and a simulation of the
    demo's bins draw the same demand; ``setting``, ``settlement``, ``near_park`` and
    ``capacity_litres`` are used when present.
    """
    key = properties.get("demo_key")
    return BinSite(stable_id(str(key)) if key else fallback_id, lon, lat,
                   float(properties.get("capacity_litres") or 120.0),
                   bool(properties.get("near_park", False)), name,
                   str(properties.get("setting", "")), str(properties.get("settlement", "")))



class DemandModel:
    """Seeded daily fill of litter bins and drying of flowerbeds (see the module docstring)."""

    def __init__(self, seed: int = 1, villages: dict[str, LonLat] | None = None) -> None:
        if seed < 0:
            raise ValueError(f"seed {seed} < 0 not understood.")
        self.seed = seed
        self.villages = dict(villages or {})

    def _rng(self, *keys: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *keys])

    def setting(self, site: BinSite) -> str:
        """The bin's setting: town_centre, town, village or rural."""
        if site.setting in SETTINGS:
            return site.setting
        to_town = min(metres_between((site.lon, site.lat), c) for c in TOWN_CENTRES.values())
        if to_town <= 400:
            return "town_centre"
        if to_town <= 2000:
            return "town"
        if any(metres_between((site.lon, site.lat), v) <= 700 for v in self.villages.values()):
            return "village"
        return "rural"

    def weekday_factors(self, site: BinSite) -> tuple[float, ...]:
        """Monday..Sunday multipliers of the bin's base rate."""
        busy = site.near_park or self.setting(site) == "town_centre"
        return BUSY_WEEKDAYS if busy else QUIET_WEEKDAYS

    def base_rate(self, site: BinSite) -> float:
        """The bin's mean fill per day (fraction of capacity), fixed for the bin and the seed."""
        factor = float(self._rng(1, site.id).lognormal(-PER_BIN_SD**2 / 2, PER_BIN_SD))
        return BASE_FILL_RATE[self.setting(site)] * factor

    def expected_fill(self, site: BinSite, day: date) -> float:
        """Mean fill added on ``day`` (fraction of capacity), without the daily noise."""
        return self.base_rate(site) * self.weekday_factors(site)[day.weekday()]

    def daily_fill(self, site: BinSite, day: date) -> float:
        """Fill added on ``day`` (fraction of capacity): the expected fill times gamma noise."""
        shape = 1 / DAILY_CV**2
        noise = float(self._rng(2, site.id, day.toordinal()).gamma(shape, 1 / shape))
        return self.expected_fill(site, day) * noise

    def drying(self, bed_id: int, day: date) -> float:
        """Moisture a flowerbed loses on ``day`` (percentage points), before any rain."""
        rng = self._rng(3, bed_id, day.toordinal())
        return MONTHLY_DRYING_POINTS[day.month - 1] * float(rng.lognormal(0.0, 0.15))

    def rain(self, day: date) -> float:
        """Rain on ``day`` in moisture points, the same for every bed (0 on dry days)."""
        weather = self._rng(4, day.toordinal())
        if weather.random() < RAIN_PROBABILITY:
            return float(weather.exponential(RAIN_POINTS_MEAN))
        return 0.0

    def daily_drying(self, bed_id: int, day: date) -> float:
        """Change of a flowerbed's soil moisture on ``day`` in percentage points (rain: up)."""
        # Beds share the weather: rain is drawn from the day only, drying varies per bed a little.
        return self.rain(day) - self.drying(bed_id, day)


def villages_from_osm(pbf_path: str) -> dict[str, LonLat]:
    """Village and hamlet centres (OSM place nodes) from an extract, for ``DemandModel``."""
    import osmium

    found: dict[str, LonLat] = {}
    for obj in osmium.FileProcessor(pbf_path).with_filter(osmium.filter.KeyFilter("place")):
        if isinstance(obj, osmium.osm.Node) and obj.tags.get("place") in {"village", "hamlet"}:
            found[obj.tags.get("name") or f"place {obj.id}"] = (obj.location.lon, obj.location.lat)
    return found
