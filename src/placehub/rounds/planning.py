"""Planning a day's round: choose which assets to visit from their need, then route the fleet.

Selection: an asset likely to overflow (or dry out) before the next round is mandatory; others
are optional with a prize (in metres of driving it is worth) from their overflow probability and
fill; assets with little need are left out with the reason. Routing: PyVRP's prize-collecting
VRP on a ``DistanceSource``'s road distances and travel times, with capacities, shift lengths,
start/end depots and multiple trips via the tip (waste) or the water point (watering) as reload
depots. A ``Plan`` carries everything a crew and an auditor need, including how it was made.
"""

from __future__ import annotations

import importlib.metadata
import math
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyvrp
from pyvrp.stop import (
    MaxIterations,
    MaxRuntime,
    MultipleCriteria,
    NoImprovement,
    StoppingCriterion,
)

from placehub.places.distance import DistanceSource, LonLat, metres_between
from placehub.rounds.forecast import LITTER_BIN, Need

# Crews read times in the council's local time; plans store UTC.
LOCAL_TIME = ZoneInfo("Europe/London")

WASTE = "waste"
WATERING = "watering"
SERVICES = (WASTE, WATERING)

# Route legs whose ends are further apart than this from their stops are "not continuous".
CONTINUITY_TOLERANCE_M = 250.0
# Prize (metres) of a mandatory asset when some must be dropped (see plan_day): far above any
# optional prize, yet small enough that the solver still steers to feasible routes.
MANDATORY_FALLBACK_PRIZE = 200_000


@dataclass(frozen=True)
class Vehicle:
    """One vehicle and crew for a day."""

    name: str
    capacity_litres: int  # body volume (waste: of compacted waste; watering: of water)
    shift_seconds: int
    start: LonLat
    end: LonLat
    # Payload limit in kilograms (0: no limit modelled).
    capacity_kg: int = 0
    # Litres of loose waste one litre of body holds (1: an open caged tipper; an RCV 3-4).
    compaction_ratio: float = 1.0
    # A break of break_seconds, taken before break_after_seconds of work (0: none).
    break_seconds: int = 0
    break_after_seconds: int = 0
    # Already on board at the start (a re-plan during the day), loose litres and kilograms.
    initial_load_litres: int = 0
    initial_load_kg: int = 0

    def __post_init__(self) -> None:
        if self.capacity_litres <= 0:
            raise ValueError(f"vehicle {self.name}: capacity {self.capacity_litres} L <= 0.")
        if self.shift_seconds <= 0:
            raise ValueError(f"vehicle {self.name}: shift {self.shift_seconds} s <= 0.")
        if self.capacity_kg < 0:
            raise ValueError(f"vehicle {self.name}: weight limit {self.capacity_kg} kg < 0.")
        if not self.compaction_ratio >= 1:
            raise ValueError(f"vehicle {self.name}: compaction ratio {self.compaction_ratio} "
                             "< 1 not understood.")
        if self.break_seconds < 0 or self.break_after_seconds < 0:
            raise ValueError(f"vehicle {self.name}: break times must be >= 0.")

    @property
    def loose_litres(self) -> int:
        """What the body holds in litres of loose waste (or water)."""
        return int(self.capacity_litres * self.compaction_ratio)


@dataclass(frozen=True)
class Fleet:
    """The vehicles of one service and where they empty (tip) or refill (water point)."""

    vehicles: tuple[Vehicle, ...]
    reload_point: LonLat | None
    reload_seconds: int = 1200
    reload_name: str = "tip"
    max_reloads: int = 6
    # Waste: every vehicle ends its day at the tip (then drives back to its depot), so nothing
    # stays on board overnight.
    end_at_reload: bool = False

    def __post_init__(self) -> None:
        if not self.vehicles:
            raise ValueError("a fleet needs at least one vehicle.")
        if self.end_at_reload and self.reload_point is None:
            raise ValueError("a fleet that ends at the tip needs a reload point.")


@dataclass(frozen=True)
class Candidate:
    """An asset the planner may visit: where, how much load, how long, and how much it matters."""

    asset_id: int
    name: str
    lon: float
    lat: float
    load_litres: int
    service_seconds: int
    mandatory: bool
    prize: int
    level: float
    probability: float
    reason: str
    weight_kg: int = 0
    # Earliest and latest start of service, seconds after the shift starts (None: any time).
    window: tuple[int, int] | None = None
    window_text: str = ""  # the window as the crew reads it, e.g. "before 10:00"
    expected_level: float | None = None
    street: str = ""
    locality: str = ""


@dataclass(frozen=True)
class LeftOut:
    """An asset not in the plan, and why."""

    asset_id: int
    name: str
    reason: str
    mandatory: bool = False


# Waste: a bin is a mandatory stop from a 20% risk of overflowing before the next chance, and
# an optional one when it would need a visit within 1.5 days after that; an optional bin near
# a mandatory one is worth 3 times its prize. Chosen on the waste simulation's tuning seeds
# 101-110 (realistic scenario), one setting after another, as the highest median km saved that
# kept every seed's overflow at most the fixed rounds' and as many seeds at most 1% as before
# (docs/rounds.md: 0.3 and 3 days emptied bins 40% full on average; a boost of 8 emptied
# villages' bins early). A risk prize (``risk_prize_m``) saves more km but let faulty sensors'
# bins overflow more than fixed rounds in some seeds, so it is off by default (docs/rounds.md).
WASTE_RISK_THRESHOLD = 0.2
WASTE_PRIZE_HORIZON_DAYS = 1.5
WASTE_NEARBY_BOOST = 3.0
WASTE_RISK_PRIZE_M = 0.0
# A bed a little dry for a day harms less than a bin overflowing onto the street: watering
# accepts more risk (0.5, chosen on the watering simulation's tuning seeds 101-110 as the highest
# threshold whose dry bed-days stayed under 90% of the fixed rounds', with a 3-day prize
# horizon; docs/rounds.md).
WATERING_RISK_THRESHOLD = 0.5
WATERING_PRIZE_HORIZON_DAYS = 3.0
WATERING_NEARBY_BOOST = 8.0
WATERING_RISK_PRIZE_M = 0.0


@dataclass(frozen=True)
class SelectionRules:
    """How needs become mandatory stops, optional prizes, or nothing.

    Prizes are in metres of driving: an optional bin is collected when the detour to it costs
    less than its prize.
    """

    # The defaults are waste's; watering has its own (``rules_for``).
    mandatory_probability: float = WASTE_RISK_THRESHOLD
    optional_min_level: float = 0.5
    optional_min_probability: float = 0.5
    level_value_m: float = 300.0
    risk_value_m: float = 500.0
    # How far into tomorrow's shift the next possible visit is assumed (1.0: its very end).
    next_visit_shift_fraction: float = 1.0
    # The optional prize looks this many days past the next round.
    prize_horizon_days: float = WASTE_PRIZE_HORIZON_DAYS
    # An optional asset this close to a mandatory one is worth ``nearby_boost`` times more: a
    # vehicle goes there anyway, and emptying it now keeps the area's bins in step, so the
    # area needs fewer visits later (tuned on the simulation, see docs/rounds.md).
    nearby_metres: float = 2500.0
    nearby_boost: float = WASTE_NEARBY_BOOST
    # Metres of driving a risk of 1 before the next chance is worth, for an asset not yet
    # mandatory (0: the risk counts only once it makes the asset mandatory).
    risk_prize_m: float = WASTE_RISK_PRIZE_M


def rules_for(service: str) -> SelectionRules:
    """The default selection rules of ``service`` (waste or watering)."""
    if service == WATERING:
        return SelectionRules(mandatory_probability=WATERING_RISK_THRESHOLD,
                              prize_horizon_days=WATERING_PRIZE_HORIZON_DAYS,
                              nearby_boost=WATERING_NEARBY_BOOST,
                              risk_prize_m=WATERING_RISK_PRIZE_M)
    return SelectionRules()


@dataclass
class PlannedStop:
    """A stop on a vehicle's route: an asset, or the tip/water point between trips."""

    sequence: int
    kind: str  # "asset" or "reload"
    asset_id: int | None
    name: str
    lon: float
    lat: float
    arrival: datetime
    departure: datetime
    load_litres: int  # on board when leaving the stop
    trip: int
    weight_kg: int = 0  # on board when leaving the stop
    mandatory: bool = False
    why: str = ""  # why the asset is on the round (the selection's reason)
    level: float | None = None  # level (fill or moisture) now, from the forecast
    expected_level: float | None = None  # forecast level at the visit
    probability: float | None = None  # the risk behind the choice
    window: str = ""
    street: str = ""
    locality: str = ""


@dataclass
class VehicleRoute:
    """One vehicle's day: stops in order, figures and the line to drive."""

    vehicle: str
    capacity_litres: int
    shift_seconds: int
    start: LonLat
    end: LonLat
    start_time: datetime
    end_time: datetime
    stops: list[PlannedStop]
    km: float
    drive_seconds: int
    work_seconds: int
    trips: int
    legs: list[list[LonLat]]  # one polyline per leg: start->stop1, stop1->stop2, ..., ->end
    capacity_kg: int = 0
    # Breaks: {"after_sequence": n, "start": iso, "end": iso} (after stop n; 0 = before any).
    breaks: list[dict[str, object]] = field(default_factory=list)
    break_after_seconds: int = 0

    @property
    def asset_stops(self) -> list[PlannedStop]:
        return [s for s in self.stops if s.kind == "asset"]


@dataclass
class Plan:
    """A day's round for one service, and how it was made."""

    service: str
    day: str
    snapshot_time: datetime
    routes: list[VehicleRoute]
    left_out: list[LeftOut]
    mandatory_ids: list[int]
    solver: dict[str, object]
    distance_source: str
    cost: int
    feasible: bool
    notes: list[str] = field(default_factory=list)
    ends_at_reload: bool = False  # waste: every loaded vehicle ends its day at the tip
    replan_of: int | None = None  # the plan whose remaining stops this one re-plans

    @property
    def km(self) -> float:
        return sum(r.km for r in self.routes)

    @property
    def stop_count(self) -> int:
        return sum(len(r.asset_stops) for r in self.routes)

    def summary(self) -> dict[str, object]:
        """Headline figures for lists and the API."""
        used = [r for r in self.routes if r.asset_stops]
        return {
            "km": round(self.km, 2),
            "stops": self.stop_count,
            "vehicles_used": len(used),
            "drive_hours": round(sum(r.drive_seconds for r in used) / 3600, 2),
            "work_hours": round(sum(r.work_seconds for r in used) / 3600, 2),
            "left_out": len(self.left_out),
            "mandatory": len(self.mandatory_ids),
            "mandatory_left_out": sum(1 for x in self.left_out if x.mandatory),
            "feasible": self.feasible,
        }


def select_candidates(
    assets: Sequence[tuple[int, str, float, float, int, int]],
    next_round: Sequence[Need],
    round_after: Sequence[Need],
    rules: SelectionRules,
    past_the_line: Sequence[bool] | None = None,
) -> tuple[list[Candidate], list[LeftOut]]:
    """Split assets into mandatory and optional candidates (with prizes) and those left out.

    ``assets`` are (id, name, lon, lat, load litres, service seconds); ``next_round`` holds each
    asset's need until the next possible visit, ``round_after`` until ``prize_horizon_days``
    later; ``past_the_line`` says which are full or dry now (``placehub.assets`` status): those
    are mandatory whatever the forecast. An optional asset near a mandatory one gets its prize
    multiplied by ``nearby_boost``: a vehicle goes there anyway, and emptying it now saves a
    trip later.
    """
    past = past_the_line if past_the_line is not None else [False] * len(next_round)
    mandatory = [soon.probability >= rules.mandatory_probability or now
                 for soon, now in zip(next_round, past, strict=True)]
    anchors = np.radians([[a[2], a[3]] for a, m in zip(assets, mandatory, strict=True) if m])
    candidates: list[Candidate] = []
    left_out: list[LeftOut] = []
    for (asset_id, name, lon, lat, load, service), soon, later, must in zip(
        assets, next_round, round_after, mandatory, strict=True
    ):
        risk_soon = soon.probability
        # An untrusted sensor's need comes from history: say so wherever the asset appears.
        caveat = "".join(f"; {flag}" for flag in soon.flags if "history" in flag
                         or "not yet believed" in flag)
        if must:
            candidates.append(Candidate(
                asset_id, name, lon, lat, load, service, True, 0, soon.level, risk_soon,
                f"{risk_soon:.0%} risk before the next round{caveat}",
                expected_level=soon.expected_level))
            continue
        # A bin's fill is worth emptying in itself; a bed's moisture is not a fill: only its
        # risk of drying out counts.
        level = min(max(soon.level, 0.0), 1.0) if soon.asset_type == LITTER_BIN else 0.0
        if level < rules.optional_min_level and later.probability < rules.optional_min_probability:
            left_out.append(LeftOut(asset_id, name, f"not needed yet: level {level:.0%}, "
                                    f"{later.probability:.0%} risk within "
                                    f"{rules.prize_horizon_days:g} days after the next round"
                                    f"{caveat}"))
            continue
        prize = rules.level_value_m * level**2 + rules.risk_value_m * later.probability
        # The risk before the next chance is a prize too: a risky bin a short detour away is
        # collected, a remote one waits until its risk makes it mandatory.
        prize += rules.risk_prize_m * risk_soon
        near = False
        if len(anchors):
            # Equirectangular distance to the nearest mandatory asset.
            here = np.radians([lon, lat])
            dx = (anchors[:, 0] - here[0]) * math.cos(here[1])
            near = bool(np.min(np.hypot(dx, anchors[:, 1] - here[1])) * 6_371_008.8
                        <= rules.nearby_metres)
        if near:
            prize *= rules.nearby_boost
        candidates.append(Candidate(
            asset_id, name, lon, lat, load, service, False, max(int(prize), 1), level,
            later.probability, f"optional: level {level:.0%}, "
            + (f"{risk_soon:.0%} risk before the next round, " if rules.risk_prize_m
               and risk_soon >= 0.005 else "")
            + f"{later.probability:.0%} risk within {rules.prize_horizon_days:g} days after the "
            "next round"
            + ("; near a mandatory stop" if near else "") + caveat,
            expected_level=soon.expected_level))
    return candidates, left_out


def with_details(candidates: Sequence[Candidate],
                 details: dict[int, dict[str, object]]) -> list[Candidate]:
    """Candidates with crew details added by asset id (window, weight, street, ...)."""
    return [replace(c, **details[c.asset_id]) if c.asset_id in details else c  # type: ignore[arg-type]
            for c in candidates]


@dataclass(frozen=True)
class SolverTuning:
    """PyVRP search parameters differing from its defaults (plain values, so they pickle)."""

    num_neighbours: int = 50  # granular neighbourhood size
    history_length: int = 300  # late-acceptance history of the iterated local search

    def solve_params(self) -> pyvrp.SolveParams:
        """The PyVRP ``SolveParams`` these values stand for."""
        from pyvrp import IteratedLocalSearchParams
        from pyvrp.search import NeighbourhoodParams

        return pyvrp.SolveParams(
            ils=IteratedLocalSearchParams(history_length=self.history_length),
            neighbourhood=NeighbourhoodParams(num_neighbours=self.num_neighbours))


# Measured on 1,000 Rutland bins (bench/bench_rounds.py, docs/rounds.md): a smaller granular
# neighbourhood and a shorter late-acceptance history settle faster than PyVRP's 50 and 300.
DEFAULT_TUNING = SolverTuning(num_neighbours=20, history_length=50)


# A time-limited search also stops after this many iterations without a better solution, at
# least IDLE_ITERATIONS_MIN: a day of a dozen stops is solved in under half a second, of 40 in
# about two, instead of the whole budget, with the same plans (bench/RESULTS.md). On 1,000 bins
# (200,000 idle iterations, 100-2,000 s at the 100-2,000 iterations a second measured there)
# the time limit always comes first, so large plans are unchanged; their search does improve
# after plateaus of tens of thousands of iterations.
IDLE_ITERATIONS_PER_CLIENT = 200
IDLE_ITERATIONS_MIN = 5_000


def idle_iterations(num_clients: int) -> int:
    """Iterations without improvement after which a time-limited search stops."""
    return max(IDLE_ITERATIONS_MIN, IDLE_ITERATIONS_PER_CLIENT * num_clients)


def _solve_run(data: pyvrp.ProblemData, seed: int, runtime_seconds: float,
               max_iterations: int | None, tuning: SolverTuning | None,
               stop_when_idle: bool = True) -> pyvrp.Result:
    """One PyVRP run (module level, so a process pool can run it)."""
    stop: StoppingCriterion
    if max_iterations:
        stop = MaxIterations(max_iterations)
    elif stop_when_idle:
        stop = MultipleCriteria([MaxRuntime(runtime_seconds),
                                 NoImprovement(idle_iterations(data.num_clients))])
    else:
        stop = MaxRuntime(runtime_seconds)
    params = tuning.solve_params() if tuning else pyvrp.SolveParams()
    return pyvrp.solve(data, stop=stop, seed=seed, display=False, params=params)


def _describe_params(tuning: SolverTuning | None) -> dict[str, object] | str:
    """The PyVRP parameters that differ from the defaults, for the plan's provenance."""
    return asdict(tuning) if tuning else "PyVRP defaults"


def solver_version() -> str:
    """The installed PyVRP version, recorded in every plan."""
    return importlib.metadata.version("pyvrp")


def _matrices(distance: DistanceSource, points: list[LonLat]) -> tuple[np.ndarray, np.ndarray]:
    metres, seconds = distance.matrices(points)
    return np.rint(metres).astype(np.int64), np.rint(seconds).astype(np.int64)


def plan_day(
    candidates: Sequence[Candidate],
    fleet: Fleet,
    distance: DistanceSource,
    *,
    service: str,
    shift_start: datetime,
    snapshot_time: datetime,
    left_out: Sequence[LeftOut] = (),
    seed: int = 1,
    runtime_seconds: float = 2.0,
    max_iterations: int | None = None,
    restarts: int = 1,
    with_geometry: bool = True,
    solve_params: SolverTuning | None = DEFAULT_TUNING,
    workers: int = 1,
    stop_when_idle: bool = True,
) -> Plan:
    """Route the fleet over the candidates with PyVRP and describe the result as a ``Plan``.

    Mandatory candidates are required clients. When the fleet cannot serve them all (the best
    solution is infeasible), the day is solved again with them optional at a very large prize,
    so the plan stays drivable and says which mandatory assets did not fit. With
    ``max_iterations`` the search stops after that many iterations instead of after
    ``runtime_seconds``: the same seed then gives the same plan on any machine. With
    ``restarts`` > 1 the search runs that many times (seeds ``seed``, ``seed + 1``, ...), each
    with an equal share of the time or the iterations, and keeps the cheapest feasible result:
    on 1,000 bins the spread between seeds is larger than what ten times the time buys.
    With ``workers`` > 1 that many restarts run at once in separate processes, so each gets
    ``workers`` times the share of the time (the same wall-clock budget on that many cores).
    ``solve_params`` (default ``DEFAULT_TUNING``; None: PyVRP's own) tune the search.
    ``stop_when_idle`` False keeps a time-limited search going for its whole time (a benchmark's
    baseline), rather than stopping when it has long found nothing better.
    """
    if restarts < 1:
        raise ValueError(f"restarts {restarts} < 1 not understood.")
    if service not in SERVICES:
        raise ValueError(f"service {service!r} not understood: use one of {', '.join(SERVICES)}.")
    if runtime_seconds <= 0:
        raise ValueError(f"runtime_seconds {runtime_seconds} <= 0 not understood.")
    depot_points: list[LonLat] = []
    for vehicle in fleet.vehicles:
        for point in (vehicle.start, vehicle.end):
            if point not in depot_points:
                depot_points.append(point)
    points = list(depot_points)
    if fleet.reload_point is not None:
        points.append(fleet.reload_point)
    points += [(c.lon, c.lat) for c in candidates]
    metres, seconds = _matrices(distance, points)
    reload_location = len(depot_points)
    first_point = reload_location + (1 if fleet.reload_point is not None else 0)
    weighed = any(v.capacity_kg for v in fleet.vehicles)
    # Clients are shared by every vehicle, so a window closing after the first break could
    # close up to one break later in the day than the solver sees: it sees it closing earlier.
    break_seconds = max(v.break_seconds for v in fleet.vehicles)
    break_after = min((v.break_after_seconds for v in fleet.vehicles if v.break_seconds),
                      default=0)

    def window(c: Candidate) -> tuple[int, int]:
        if c.window is None:
            return 0, np.iinfo(np.int64).max
        early, late = c.window
        if break_seconds and late > break_after:
            late = max(late - break_seconds, early)
        return early, late

    def closing_seconds(v: Vehicle) -> int:
        """Time a vehicle needs after its last stop that the solver does not see."""
        extra = v.break_seconds
        if fleet.end_at_reload:
            extra += fleet.reload_seconds + int(seconds[reload_location,
                                                        depot_points.index(v.end)])
        return extra

    def build(strict: bool) -> pyvrp.ProblemData:
        locations = [pyvrp.Location(x=int(p[0] * 1e6), y=int(p[1] * 1e6)) for p in points]
        depots = [pyvrp.Depot(location=i, name=f"depot {i}") for i in range(len(depot_points))]
        reload_ids: list[int] = []
        end_tip = -1
        if fleet.reload_point is not None:
            reload_ids = [len(depots)]
            depots.append(pyvrp.Depot(location=reload_location,
                                      service_duration=fleet.reload_seconds,
                                      name=fleet.reload_name))
            if fleet.end_at_reload:
                # The day ends at the tip: an end depot there, without a trip after it.
                end_tip = len(depots)
                depots.append(pyvrp.Depot(location=reload_location,
                                          name=f"{fleet.reload_name} (end of day)"))
        clients = []
        for i, c in enumerate(candidates):
            load = [c.load_litres, c.weight_kg] if weighed else [c.load_litres]
            none = [0] * len(load)
            early, late = window(c)
            clients.append(pyvrp.Client(
                location=first_point + i,
                pickup=load if service == WASTE else none,
                delivery=load if service == WATERING else none,
                service_duration=c.service_seconds,
                tw_early=early, tw_late=late,
                prize=c.prize if not c.mandatory else (0 if strict else MANDATORY_FALLBACK_PRIZE),
                required=c.mandatory and strict,
                name=str(c.asset_id),
            ))
        vehicle_types = []
        for v in fleet.vehicles:
            capacity = [v.loose_litres, v.capacity_kg or 10**9] if weighed else [v.loose_litres]
            initial = [v.initial_load_litres, v.initial_load_kg] if weighed \
                else [v.initial_load_litres]
            end = end_tip if end_tip >= 0 else depot_points.index(v.end)
            vehicle_types.append(pyvrp.VehicleType(
                num_available=1,
                capacity=capacity,
                start_depot=depot_points.index(v.start),
                end_depot=end,
                # The drive home from the tip is the same whatever the route: a fixed cost.
                fixed_cost=int(metres[reload_location, depot_points.index(v.end)])
                if end_tip >= 0 else 0,
                shift_duration=max(v.shift_seconds - closing_seconds(v), 1),
                initial_load=initial if service == WASTE else [0] * len(capacity),
                reload_depots=reload_ids,
                max_reloads=fleet.max_reloads if reload_ids else 0,
                name=v.name,
            ))
        return pyvrp.ProblemData(locations, clients, depots, vehicle_types,
                                 [metres], [seconds])  # type: ignore[list-item]

    if workers < 1:
        raise ValueError(f"workers {workers} < 1 not understood.")
    parallel = min(workers, restarts)
    iterations_per_run = max(max_iterations * parallel // restarts, 1) if max_iterations else None
    runtime_per_run = runtime_seconds * parallel / restarts

    def solve(data: pyvrp.ProblemData) -> pyvrp.Result:
        best: pyvrp.Result | None = None
        jobs = [(data, seed + run, runtime_per_run, iterations_per_run, solve_params,
                 stop_when_idle) for run in range(restarts)]
        if parallel > 1:
            with ProcessPoolExecutor(max_workers=parallel) as pool:
                results = list(pool.map(_solve_run, *zip(*jobs, strict=True)))
        else:
            results = [_solve_run(*job) for job in jobs]
        for result in results:
            key = (not result.best.is_feasible(), result.cost())
            if best is None or key < (not best.best.is_feasible(), best.cost()):
                best = result
        assert best is not None
        return best

    parameters = {"runtime_seconds": None if max_iterations else runtime_seconds,
                  "max_iterations": max_iterations,
                  "idle_iterations": None if max_iterations or not stop_when_idle
                  else idle_iterations(len(candidates)),
                  "restarts": restarts, "workers": parallel,
                  "objective": "distance (m) minus prizes",
                  "max_reloads": fleet.max_reloads, "reload_seconds": fleet.reload_seconds,
                  "solve_params": _describe_params(solve_params)}
    notes: list[str] = []
    data = build(strict=True)
    result = solve(data)
    if not result.best.is_feasible():
        notes.append("the fleet could not serve every mandatory asset within its capacity and "
                     "shifts; solved again with mandatory assets at a very large prize")
        data = build(strict=False)
        result = solve(data)
    solution = result.best

    routes: list[VehicleRoute] = []
    visited: set[int] = set()
    by_type = {route.vehicle_type(): route for route in solution.routes()}
    for type_index, vehicle in enumerate(fleet.vehicles):
        route = by_type.get(type_index)
        routes.append(_describe_route(
            route, vehicle, fleet, candidates, points, metres, seconds, first_point,
            depot_points, shift_start, service, distance, with_geometry))
        visited.update(s.asset_id for s in routes[-1].asset_stops if s.asset_id is not None)

    explained = list(left_out)
    for c in candidates:
        if c.asset_id in visited:
            continue
        if c.mandatory:
            reason = (f"mandatory ({c.reason}) but did not fit in the fleet's capacity and "
                      "shifts: add a vehicle or extend a shift")
        else:
            reason = f"{c.reason}; not worth the detour today (prize {c.prize} m)"
        explained.append(LeftOut(c.asset_id, c.name, reason, c.mandatory))
    return Plan(
        service=service,
        day=shift_start.date().isoformat(),
        snapshot_time=snapshot_time,
        routes=routes,
        left_out=explained,
        mandatory_ids=[c.asset_id for c in candidates if c.mandatory],
        solver={"name": "PyVRP", "version": solver_version(), "seed": seed,
                "parameters": parameters, "iterations": result.num_iterations,
                "runtime_seconds": round(result.runtime, 3)},
        distance_source=distance.name,
        cost=int(result.cost()) if solution.is_feasible() else -1,
        feasible=bool(solution.is_feasible()),
        notes=notes,
        ends_at_reload=fleet.end_at_reload,
    )


def _describe_route(
    route: pyvrp.Route | None,
    vehicle: Vehicle,
    fleet: Fleet,
    candidates: Sequence[Candidate],
    points: list[LonLat],
    metres: np.ndarray,
    seconds: np.ndarray,
    first_point: int,
    depot_points: list[LonLat],
    shift_start: datetime,
    service: str,
    distance: DistanceSource,
    with_geometry: bool,
) -> VehicleRoute:
    """Turn PyVRP's route into stops with clock times, loads, breaks and the road geometry."""
    start_index = depot_points.index(vehicle.start)
    end_index = depot_points.index(vehicle.end)
    reload_index = len(depot_points)
    if route is None:
        return VehicleRoute(vehicle.name, vehicle.loose_litres, vehicle.shift_seconds,
                            vehicle.start, vehicle.end, shift_start, shift_start, [], 0.0, 0, 0,
                            0, [], capacity_kg=vehicle.capacity_kg,
                            break_after_seconds=vehicle.break_after_seconds)
    schedule = route.schedule()
    stops: list[PlannedStop] = []
    location_sequence = [start_index]
    # Load on board: waste grows from what is already on board; water starts with the trip's
    # whole delivery.
    trip_loads: dict[int, tuple[int, int]] = {}
    for activity in schedule:
        if activity.is_client():
            litres, kg = trip_loads.get(activity.trip, (0, 0))
            c = candidates[activity.idx]
            trip_loads[activity.trip] = (litres + c.load_litres, kg + c.weight_kg)
    if service == WASTE:
        on_board, on_board_kg = vehicle.initial_load_litres, vehicle.initial_load_kg
    else:
        on_board, on_board_kg = trip_loads.get(0, (0, 0))
    last = len(schedule) - 1
    reload_point = fleet.reload_point or vehicle.end
    for position, activity in enumerate(schedule):
        if position in (0, last):
            continue
        arrival = shift_start + timedelta(seconds=int(activity.start_time - activity.wait_duration))
        departure = shift_start + timedelta(seconds=int(activity.end_time))
        if activity.is_client():
            c = candidates[activity.idx]
            sign = 1 if service == WASTE else -1
            on_board += sign * c.load_litres
            on_board_kg += sign * c.weight_kg
            stops.append(PlannedStop(
                len(stops) + 1, "asset", c.asset_id, c.name, c.lon, c.lat, arrival, departure,
                on_board, activity.trip, weight_kg=on_board_kg, mandatory=c.mandatory,
                why=c.reason, level=round(c.level, 3),
                expected_level=None if c.expected_level is None else round(c.expected_level, 3),
                probability=round(c.probability, 3), window=c.window_text, street=c.street,
                locality=c.locality))
            location_sequence.append(first_point + activity.idx)
        else:  # a reload depot between trips
            if service == WASTE:
                on_board = on_board_kg = 0
            else:
                on_board, on_board_kg = trip_loads.get(activity.trip, (0, 0))
            stops.append(PlannedStop(len(stops) + 1, "reload", None, fleet.reload_name,
                                     reload_point[0], reload_point[1], arrival, departure,
                                     on_board, activity.trip, weight_kg=on_board_kg))
            location_sequence.append(reload_index)
    end_time = shift_start + timedelta(seconds=int(route.end_time()))
    drive = int(route.travel_duration())
    work = int(route.duration())
    trips = int(route.num_trips())
    if fleet.end_at_reload:
        # The solver's route ends at the tip; empty there, then drive home.
        departure = end_time + timedelta(seconds=fleet.reload_seconds)
        stops.append(PlannedStop(len(stops) + 1, "reload", None, fleet.reload_name,
                                 reload_point[0], reload_point[1], end_time, departure, 0,
                                 trips - 1))
        location_sequence.append(reload_index)
        home = int(seconds[reload_index, end_index])
        end_time = departure + timedelta(seconds=home)
        drive += home
        work += fleet.reload_seconds + home
    location_sequence.append(end_index)
    route_start = shift_start + timedelta(seconds=int(route.start_time()))
    breaks = _insert_break(stops, vehicle, route_start, work)
    if breaks:
        end_time += timedelta(seconds=vehicle.break_seconds)
        work += vehicle.break_seconds
    km = sum(int(metres[a, b]) for a, b in zip(location_sequence, location_sequence[1:],
                                                strict=False)) / 1000
    legs: list[list[LonLat]] = []
    if with_geometry:
        for a, b in zip(location_sequence, location_sequence[1:], strict=False):
            legs.append([tuple(p) for p in distance.path(points[a], points[b])])  # type: ignore[misc]
    return VehicleRoute(
        vehicle=vehicle.name, capacity_litres=vehicle.loose_litres,
        shift_seconds=vehicle.shift_seconds, start=vehicle.start, end=vehicle.end,
        start_time=route_start, end_time=end_time,
        stops=stops, km=km, drive_seconds=drive, work_seconds=work, trips=trips, legs=legs,
        capacity_kg=vehicle.capacity_kg, breaks=breaks,
        break_after_seconds=vehicle.break_after_seconds,
    )


def _insert_break(stops: list[PlannedStop], vehicle: Vehicle, route_start: datetime,
                  work_seconds: int) -> list[dict[str, object]]:
    """Put the crew's break after the last stop they leave before ``break_after_seconds`` of
    work, and move every later stop back by its length (the solver kept that time free)."""
    if not vehicle.break_seconds or work_seconds <= vehicle.break_after_seconds or not stops:
        return []
    limit = route_start + timedelta(seconds=vehicle.break_after_seconds)
    before = [i for i, stop in enumerate(stops) if stop.departure <= limit]
    after = before[-1] + 1 if before else 0
    start = stops[after - 1].departure if after else route_start
    length = timedelta(seconds=vehicle.break_seconds)
    for stop in stops[after:]:
        stop.arrival += length
        stop.departure += length
    return [{"after_sequence": after, "start": start.isoformat(),
             "end": (start + length).isoformat()}]


def check_plan(plan: Plan, tolerance_m: float = CONTINUITY_TOLERANCE_M) -> list[str]:
    """Problems with a plan, checked on its own: capacity, shift, mandatory assets, geometry."""
    problems: list[str] = []
    served = {s.asset_id for r in plan.routes for s in r.asset_stops}
    explained = {x.asset_id for x in plan.left_out}
    for asset_id in plan.mandatory_ids:
        if asset_id not in served and asset_id not in explained:
            problems.append(f"mandatory asset {asset_id} neither served nor explained")
    seen: set[int] = set()
    for route in plan.routes:
        if not route.stops:
            continue
        for stop in route.stops:
            if not 0 <= stop.load_litres <= route.capacity_litres:
                problems.append(f"{route.vehicle} stop {stop.sequence}: load {stop.load_litres} L "
                                f"outside 0..{route.capacity_litres} L")
            if stop.asset_id is not None:
                if stop.asset_id in seen:
                    problems.append(f"asset {stop.asset_id} visited twice")
                seen.add(stop.asset_id)
            if route.capacity_kg and stop.weight_kg > route.capacity_kg:
                problems.append(f"{route.vehicle} stop {stop.sequence}: {stop.weight_kg} kg on "
                                f"board, limit {route.capacity_kg} kg")
            if stop.window.startswith("before ") and stop.kind == "asset":
                latest = stop.window.removeprefix("before ")
                if _local_hhmm(stop.arrival) > latest:
                    problems.append(f"{route.vehicle} stop {stop.sequence}: arrives "
                                    f"{_local_hhmm(stop.arrival)}, {stop.window}")
        if route.work_seconds > route.shift_seconds:
            problems.append(f"{route.vehicle}: works {route.work_seconds} s, shift is "
                            f"{route.shift_seconds} s")
        if plan.ends_at_reload and route.asset_stops and route.stops[-1].kind != "reload":
            problems.append(f"{route.vehicle}: ends its day with waste on board (last stop "
                            f"{route.stops[-1].name}, not the tip)")
        if route.break_after_seconds and route.breaks:
            first_break = datetime.fromisoformat(str(route.breaks[0]["start"]))
            if (first_break - route.start_time).total_seconds() > route.break_after_seconds:
                problems.append(f"{route.vehicle}: break starts after "
                                f"{route.break_after_seconds / 3600:g} h of work")
        if route.legs:
            waypoints = [route.start] + [(s.lon, s.lat) for s in route.stops] + [route.end]
            if len(route.legs) != len(waypoints) - 1:
                problems.append(f"{route.vehicle}: {len(route.legs)} legs for "
                                f"{len(waypoints)} waypoints")
                continue
            for i, leg in enumerate(route.legs):
                if (metres_between(leg[0], waypoints[i]) > tolerance_m
                        or metres_between(leg[-1], waypoints[i + 1]) > tolerance_m):
                    problems.append(f"{route.vehicle}: leg {i} does not join its stops")
                if i and metres_between(route.legs[i - 1][-1], leg[0]) > tolerance_m:
                    problems.append(f"{route.vehicle}: gap between legs {i - 1} and {i}")
    return problems


def _local_hhmm(value: datetime) -> str:
    return value.astimezone(LOCAL_TIME).strftime("%H:%M")


def plan_document(plan: Plan) -> dict[str, object]:
    """The plan as JSON-ready data (stored with the plan and returned by the API)."""

    def when(value: datetime) -> str:
        return value.isoformat()

    return {
        "service": plan.service,
        "date": plan.day,
        "snapshot_time": when(plan.snapshot_time),
        "summary": plan.summary(),
        "solver": plan.solver,
        "distance_source": plan.distance_source,
        "cost": plan.cost,
        "notes": plan.notes,
        "mandatory_ids": plan.mandatory_ids,
        "ends_at_reload": plan.ends_at_reload,
        "replan_of": plan.replan_of,
        "vehicles": [
            {
                "vehicle": r.vehicle, "capacity_litres": r.capacity_litres,
                "shift_seconds": r.shift_seconds, "start": list(r.start), "end": list(r.end),
                "start_time": when(r.start_time), "end_time": when(r.end_time),
                "km": round(r.km, 3), "drive_seconds": r.drive_seconds,
                "work_seconds": r.work_seconds, "trips": r.trips,
                "capacity_kg": r.capacity_kg, "breaks": r.breaks,
                "stops": [
                    {**asdict(s), "arrival": when(s.arrival), "departure": when(s.departure)}
                    for s in r.stops
                ],
                "geometry": {"type": "MultiLineString",
                             "coordinates": [[list(p) for p in leg] for leg in r.legs]},
            }
            for r in plan.routes
        ],
        "left_out": [asdict(x) for x in plan.left_out],
    }
