"""Simulating waste rounds under several policies on the same demand, to measure the savings.

The same bins, the same seeded demand (``placehub.rounds.demand``) and the same router (PyVRP,
iteration-limited so runs are reproducible) serve every policy; only the choice of bins differs:

- ``fixed``: today's fixed rounds, each bin emptied on fixed weekdays by its setting
  (``placehub.rounds.demand.fixed_round_weekdays``, the schedule the demo's history uses too);
- ``threshold``: every bin whose latest reading is 80% or more;
- ``placehub``: the forecaster's overflow probabilities, mandatory and prize-collecting choice.

Each simulated day: sensors read at 06:00 and 18:00 (2% noise, capped at full); the policy picks
bins from what it knows at 06:00; the fleet drives from 07:00 and empties each bin at its
arrival time; demand accrues evenly through the day. A bin-day overflows when the bin's content
exceeds its capacity at any moment of the day. All policies start from the same state after a
warm-up of fixed rounds, which also gives the forecaster its history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from placehub.places.distance import DistanceSource, LonLat, metres_between
from placehub.rounds.demand import SETTINGS, BinSite, DemandModel, fixed_round_weekdays
from placehub.rounds.forecast import (
    LITTER_BIN,
    AssetHistory,
    Forecaster,
    PlacehubForecaster,
    Reading,
)
from placehub.rounds.planning import (
    WASTE,
    Candidate,
    Fleet,
    SelectionRules,
    Vehicle,
    plan_day,
    select_candidates,
)

POLICIES = ("fixed", "threshold", "placehub")
# Diesel rigid HGV > 17 t at UK average load (a refuse collection vehicle): 0.19234 kg CO2e per
# tonne-km x 5.08 t average payload = 0.977 kg CO2e per vehicle-km (Defra/DECC GHG conversion
# factors, Annex 7, table 7e; direct emissions). A parameter: use the current DESNZ table.
CO2_KG_PER_KM = 0.977
CREW_SIZE = 2
THRESHOLD = 0.8
READING_HOURS = (6, 18)
READING_NOISE = 0.02
SHIFT_START = time(7, 0)
BIN_SERVICE_SECONDS = 90
DAY = timedelta(days=1)

DEFAULT_DEPOT: LonLat = (-0.7395, 52.6745)
DEFAULT_TIP: LonLat = (-0.7145, 52.6905)


class PrecomputedDistance:
    """A DistanceSource over a fixed set of points, computed once (simulation and benchmark)."""

    def __init__(self, source: DistanceSource, points: Sequence[LonLat]) -> None:
        self.source = source
        self.name = source.name
        self.index = {p: i for i, p in enumerate(points)}
        self.metres, self.seconds = source.matrices(list(points))

    def matrices(self, points: Sequence[LonLat]) -> tuple[np.ndarray, np.ndarray]:
        try:
            rows = np.array([self.index[p] for p in points])
        except KeyError as error:
            raise ValueError(f"point {error} was not precomputed") from None
        return self.metres[np.ix_(rows, rows)], self.seconds[np.ix_(rows, rows)]

    def path(self, start: LonLat, end: LonLat) -> list[LonLat]:
        return self.source.path(start, end)


@dataclass
class PolicyResult:
    """What a policy cost and how well it served, over the simulated days."""

    policy: str
    days: int
    bins: int
    km: float = 0.0
    stops: int = 0
    vehicle_days: int = 0
    vehicle_hours: float = 0.0
    overflow_bin_days: int = 0
    fills_at_emptying: list[float] = field(default_factory=list)
    mandatory_left_out: int = 0
    solver_seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        """The figures reported per policy (JSON-ready)."""
        bin_days = self.days * self.bins
        return {
            "policy": self.policy,
            "km": round(self.km, 1),
            "stops": self.stops,
            "vehicle_days": self.vehicle_days,
            "crew_hours": round(self.vehicle_hours * CREW_SIZE, 1),
            "vehicle_hours": round(self.vehicle_hours, 1),
            "overflow_bin_days": self.overflow_bin_days,
            "bin_days": bin_days,
            "overflow_share": round(self.overflow_bin_days / bin_days, 5) if bin_days else 0.0,
            "mean_fill_at_emptying": round(float(np.mean(self.fills_at_emptying)), 3)
            if self.fills_at_emptying else None,
            "co2_kg": round(self.km * CO2_KG_PER_KM, 1),
            "mandatory_left_out": self.mandatory_left_out,
            "solver_seconds": round(self.solver_seconds, 1),
        }


@dataclass
class BinState:
    """A simulated bin: its true content (fraction of capacity) and what its sensor reported."""

    site: BinSite
    setting: str
    fill: float
    readings: list[Reading] = field(default_factory=list)
    services: list[datetime] = field(default_factory=list)

    def copy(self) -> BinState:
        return BinState(self.site, self.setting, self.fill, list(self.readings),
                        list(self.services))


@dataclass(frozen=True)
class SimulationConfig:
    """Everything that defines a simulation run (recorded in its output)."""

    days: int = 28
    seed: int = 1
    start: date = date(2026, 1, 5)  # a Monday
    warmup_days: int = 14
    vehicles: int = 4
    vehicle_litres: int = 6000
    shift_hours: float = 7.5
    depot: LonLat = DEFAULT_DEPOT
    tip: LonLat = DEFAULT_TIP
    max_iterations: int = 800
    rules: SelectionRules = field(default_factory=SelectionRules)

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"days {self.days} < 1 not understood.")
        if self.warmup_days < 2:
            raise ValueError(f"warmup_days {self.warmup_days} < 2: the forecaster needs history.")


def _at(day: date, hour: float) -> datetime:
    return datetime.combine(day, time(0, 0), UTC) + timedelta(hours=hour)


class Simulation:
    """Runs policies over the same bins and demand; see the module docstring for the method."""

    def __init__(self, sites: Sequence[BinSite], demand: DemandModel, distance: DistanceSource,
                 config: SimulationConfig, forecaster: Forecaster | None = None) -> None:
        if not sites:
            raise ValueError("no bins to simulate.")
        self.sites = list(sites)
        self.demand = demand
        self.config = config
        self.forecaster = forecaster or PlacehubForecaster()
        self.rng = np.random.default_rng([config.seed, 99])
        points = [config.depot, config.tip] + [(s.lon, s.lat) for s in sites]
        self.distance = PrecomputedDistance(distance, points)
        shift = int(config.shift_hours * 3600)
        self.fleet = Fleet(tuple(Vehicle(f"RCV {i + 1}", config.vehicle_litres, shift,
                                         config.depot, config.depot)
                                 for i in range(config.vehicles)), config.tip)
        self.settings = {s.id: demand.setting(s) for s in sites}

    # -- the world --------------------------------------------------------------------------

    def _read(self, state: BinState, when: datetime, fill: float) -> None:
        value = min(fill, 1.0) + float(self.rng.normal(0, READING_NOISE))
        state.readings.append(Reading(when, min(max(value, 0.0), 1.0)))

    def _live_day(self, states: dict[int, BinState], day: date,
                  visits: dict[int, datetime], result: PolicyResult | None) -> None:
        """One day of demand, sensor readings and emptyings at the given visit times."""
        midnight = _at(day, 0)
        for bin_id, state in states.items():
            added = self.demand.daily_fill(state.site, day)
            start_fill = state.fill
            visit = visits.get(bin_id)
            overflowed = False

            def fill_at(when: datetime, start_fill: float = start_fill,
                        visit: datetime | None = visit, added: float = added) -> float:
                fraction = (when - midnight) / DAY
                if visit is not None and when >= visit:
                    return added * (fraction - (visit - midnight) / DAY)
                return start_fill + added * fraction

            if visit is not None:
                before = fill_at(visit - timedelta(seconds=1))
                overflowed = before > 1.0
                if result is not None:
                    result.fills_at_emptying.append(min(before, 1.0))
                state.services.append(visit)
            for hour in READING_HOURS[1:]:  # the morning reading was taken before planning
                when = midnight + timedelta(hours=hour)
                self._read(state, when, fill_at(when))
            state.fill = fill_at(midnight + DAY)
            overflowed = overflowed or state.fill > 1.0
            if result is not None and overflowed:
                result.overflow_bin_days += 1

    def _morning(self, states: dict[int, BinState], day: date) -> None:
        """The first reading of the day, taken before the round is planned."""
        hour = READING_HOURS[0]
        for state in states.values():
            added = self.demand.daily_fill(state.site, day)
            self._read(state, _at(day, hour), state.fill + added * hour / 24)

    # -- policies ---------------------------------------------------------------------------

    def _fixed(self, states: dict[int, BinState], day: date) -> list[Candidate]:
        wanted = [s for s in states.values()
                  if day.weekday() in fixed_round_weekdays(s.setting, s.site.settlement)]
        return [self._candidate(s, 0.5, True, 0) for s in wanted]

    def _threshold(self, states: dict[int, BinState], day: date) -> list[Candidate]:
        at = _at(day, 6)
        chosen = []
        for state in states.values():
            latest = state.readings[-1] if state.readings else None
            if latest is not None and latest.time <= at and latest.value >= THRESHOLD:
                chosen.append(self._candidate(state, latest.value, True, 0))
        return chosen

    def _placehub(self, states: dict[int, BinState], day: date) -> list[Candidate]:
        at = _at(day, 6)
        visit = _at(day, 7) + timedelta(hours=self.config.shift_hours / 2)
        rules = self.config.rules
        next_visit = _at(day, 7) + timedelta(
            hours=self.config.shift_hours * rules.next_visit_shift_fraction) + DAY
        rows, soon, later = [], [], []
        for state in states.values():
            history = AssetHistory(state.site.id, LITTER_BIN, state.readings, state.services)
            today = self.forecaster.forecast(history, at, visit)
            soon.append(self.forecaster.forecast(history, at, next_visit))
            later.append(self.forecaster.forecast(
                history, at, next_visit + rules.prize_horizon_days * DAY))
            load = int(state.site.capacity_litres * min(max(today.expected_level, 0.1), 1.0))
            rows.append((state.site.id, state.site.name, state.site.lon, state.site.lat, load,
                         BIN_SERVICE_SECONDS))
        candidates, _ = select_candidates(rows, soon, later, self.config.rules)
        return candidates

    def _candidate(self, state: BinState, level: float, mandatory: bool,
                   prize: int) -> Candidate:
        load = int(state.site.capacity_litres * min(max(level, 0.1), 1.0))
        return Candidate(state.site.id, state.site.name, state.site.lon, state.site.lat, load,
                         BIN_SERVICE_SECONDS, mandatory, prize, level, 0.0, "policy")

    # -- running ----------------------------------------------------------------------------

    def initial_states(self) -> dict[int, BinState]:
        """Bins after the warm-up of fixed rounds (same for every policy)."""
        states = {s.id: BinState(s, self.settings[s.id], float(self.rng.uniform(0, 0.5)))
                  for s in self.sites}
        warmup_start = self.config.start - self.config.warmup_days * DAY
        for offset in range(self.config.warmup_days):
            day = warmup_start + offset * DAY
            self._morning(states, day)
            visits = {c.asset_id: _at(day, 10) for c in self._fixed(states, day)}
            self._live_day(states, day, visits, None)
        return states

    def run(self, policies: Sequence[str] = POLICIES,
            on_day: Callable[[str, int], None] | None = None) -> dict[str, PolicyResult]:
        """Simulate each policy over the configured days; answer their results."""
        unknown = set(policies) - set(POLICIES)
        if unknown:
            raise ValueError(f"unknown policy {sorted(unknown)}: use {', '.join(POLICIES)}.")
        choose = {"fixed": self._fixed, "threshold": self._threshold,
                  "placehub": self._placehub}
        start_states = self.initial_states()
        results = {}
        for policy in policies:
            # Each policy sees the same sensor noise and the same demand.
            self.rng = np.random.default_rng([self.config.seed, 7])
            states = {k: v.copy() for k, v in start_states.items()}
            result = PolicyResult(policy, self.config.days, len(self.sites))
            for offset in range(self.config.days):
                day = self.config.start + offset * DAY
                self._morning(states, day)
                candidates = choose[policy](states, day)
                visits = self._route(candidates, day, result)
                self._live_day(states, day, visits, result)
                if on_day is not None:
                    on_day(policy, offset)
            results[policy] = result
        return results

    def _route(self, candidates: list[Candidate], day: date,
               result: PolicyResult) -> dict[int, datetime]:
        if not candidates:
            return {}
        plan = plan_day(candidates, self.fleet, self.distance, service=WASTE,
                        shift_start=_at(day, SHIFT_START.hour), snapshot_time=_at(day, 6),
                        seed=self.config.seed, max_iterations=self.config.max_iterations,
                        # PyVRP's own parameters: the documented simulation figures used them.
                        with_geometry=False, solve_params=None)
        result.solver_seconds += float(plan.solver["runtime_seconds"])  # type: ignore[arg-type]
        result.mandatory_left_out += sum(1 for x in plan.left_out if x.mandatory)
        visits = {}
        for route in plan.routes:
            if not route.asset_stops:
                continue
            result.km += route.km
            result.vehicle_days += 1
            result.vehicle_hours += route.work_seconds / 3600
            for stop in route.asset_stops:
                assert stop.asset_id is not None
                visits[stop.asset_id] = stop.arrival
                result.stops += 1
        return visits


def rutland_bins(pbf_path: str, count: int, seed: int) -> list[BinSite]:
    """Bin positions on Rutland's streets: OSM waste baskets, then seeded points along streets.

    Streets are drawn by setting (town centre 10%, town 25%, village 45%, rural 20% of the
    bins), weighted by length; bins within 200 m of a park are marked ``near_park``.
    """
    import osmium

    from placehub.rounds.demand import villages_from_osm

    villages = villages_from_osm(pbf_path)
    model = DemandModel(seed, villages)
    baskets: list[LonLat] = []
    parks: list[LonLat] = []
    segments: list[tuple[LonLat, LonLat, float]] = []
    streets = {"residential", "unclassified", "tertiary", "secondary", "primary",
               "living_street", "pedestrian"}
    for obj in osmium.FileProcessor(pbf_path).with_locations():
        tags = obj.tags
        if isinstance(obj, osmium.osm.Node):
            if tags.get("amenity") == "waste_basket":
                baskets.append((obj.location.lon, obj.location.lat))
        elif isinstance(obj, osmium.osm.Way):
            coords = [(n.location.lon, n.location.lat) for n in obj.nodes
                      if n.location.valid()]
            if tags.get("leisure") == "park" and coords:
                parks.append((float(np.mean([c[0] for c in coords])),
                              float(np.mean([c[1] for c in coords]))))
            if tags.get("highway") in streets:
                for a, b in zip(coords, coords[1:], strict=False):
                    length = metres_between(a, b)
                    if length > 5:
                        segments.append((a, b, length))
    rng = np.random.default_rng([seed, 11])
    sites: list[BinSite] = []

    def near_park(point: LonLat) -> bool:
        return any(metres_between(point, p) <= 200 for p in parks)

    for point in baskets[:count]:
        sites.append(BinSite(len(sites) + 1, point[0], point[1], 120.0, near_park(point),
                             f"Litter bin {len(sites) + 1} (OSM)"))
    by_setting: dict[str, list[int]] = {k: [] for k in SETTINGS}
    for i, (a, b, _) in enumerate(segments):
        mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        by_setting[model.setting(BinSite(0, mid[0], mid[1]))].append(i)
    shares = {"town_centre": 0.10, "town": 0.25, "village": 0.45, "rural": 0.20}
    remaining = count - len(sites)
    for setting, share in shares.items():
        pool = by_setting[setting]
        if not pool or remaining <= 0:
            continue
        n = round(share * (count - len(baskets))) if setting != "rural" else remaining
        n = min(n, remaining)
        weights = np.array([segments[i][2] for i in pool])
        picks = rng.choice(pool, size=n, p=weights / weights.sum())
        for i in picks:
            a, b, _ = segments[i]
            t = float(rng.uniform(0.1, 0.9))
            point = (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
            capacity = 240.0 if setting == "town_centre" else 120.0
            village = (min(villages, key=lambda v: metres_between(point, villages[v]))
                       if setting == "village" and villages else "")
            sites.append(BinSite(len(sites) + 1, point[0], point[1], capacity, near_park(point),
                                 f"Litter bin {len(sites) + 1} ({setting.replace('_', ' ')})",
                                 setting, village))
        remaining -= n
    return sites



def report(results: dict[str, PolicyResult], config: SimulationConfig, distance_name: str,
           bins_source: str) -> dict[str, object]:
    """The simulation's JSON output: per-policy figures, savings and how it was run."""
    figures = {name: r.as_dict() for name, r in results.items()}
    savings: dict[str, object] = {}
    if "fixed" in figures and "placehub" in figures:
        fixed_km = float(figures["fixed"]["km"])  # type: ignore[arg-type]
        placehub_km = float(figures["placehub"]["km"])  # type: ignore[arg-type]
        savings = {
            "placehub_km_saving_vs_fixed": round(1 - placehub_km / fixed_km, 4)
            if fixed_km else None,
            "placehub_overflow_bin_days_vs_fixed": (
                figures["placehub"]["overflow_bin_days"], figures["fixed"]["overflow_bin_days"]),
        }
    return {
        "service": WASTE,
        "days": config.days,
        "seed": config.seed,
        "start": config.start.isoformat(),
        "warmup_days": config.warmup_days,
        "bins": next(iter(results.values())).bins if results else 0,
        "bins_source": bins_source,
        "distance_source": distance_name,
        "fleet": {"vehicles": config.vehicles, "vehicle_litres": config.vehicle_litres,
                  "shift_hours": config.shift_hours, "depot": config.depot, "tip": config.tip},
        "solver": {"name": "PyVRP", "max_iterations_per_day": config.max_iterations},
        "co2_kg_per_km": CO2_KG_PER_KM,
        "co2_factor_source": "Defra/DECC GHG conversion factors, diesel rigid HGV > 17 t, UK "
                             "average load: 0.19234 kg CO2e/tonne-km x 5.08 t",
        "crew_size": CREW_SIZE,
        "policies": figures,
        "savings": savings,
    }
