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
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pyvrp
from pyvrp.stop import MaxIterations, MaxRuntime, StoppingCriterion

from placehub.places.distance import DistanceSource, LonLat, metres_between
from placehub.rounds.forecast import Need

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
    capacity_litres: int
    shift_seconds: int
    start: LonLat
    end: LonLat

    def __post_init__(self) -> None:
        if self.capacity_litres <= 0:
            raise ValueError(f"vehicle {self.name}: capacity {self.capacity_litres} L <= 0.")
        if self.shift_seconds <= 0:
            raise ValueError(f"vehicle {self.name}: shift {self.shift_seconds} s <= 0.")


@dataclass(frozen=True)
class Fleet:
    """The vehicles of one service and where they empty (tip) or refill (water point)."""

    vehicles: tuple[Vehicle, ...]
    reload_point: LonLat | None
    reload_seconds: int = 1200
    reload_name: str = "tip"
    max_reloads: int = 6

    def __post_init__(self) -> None:
        if not self.vehicles:
            raise ValueError("a fleet needs at least one vehicle.")


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


@dataclass(frozen=True)
class LeftOut:
    """An asset not in the plan, and why."""

    asset_id: int
    name: str
    reason: str
    mandatory: bool = False


@dataclass(frozen=True)
class SelectionRules:
    """How needs become mandatory stops, optional prizes, or nothing.

    Prizes are in metres of driving: an optional bin is collected when the detour to it costs
    less than its prize.
    """

    mandatory_probability: float = 0.7
    optional_min_level: float = 0.5
    optional_min_probability: float = 0.5
    level_value_m: float = 300.0
    risk_value_m: float = 500.0
    # How far into tomorrow's shift the next possible visit is assumed (1.0: its very end).
    next_visit_shift_fraction: float = 1.0
    # The optional prize looks this many days past the next round.
    prize_horizon_days: float = 3.0
    # An optional asset this close to a mandatory one is worth ``nearby_boost`` times more: a
    # vehicle goes there anyway, and emptying it now keeps the area's bins in step, so the
    # area needs fewer visits later (tuned on the simulation, see docs/rounds.md).
    nearby_metres: float = 2500.0
    nearby_boost: float = 8.0


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
        if must:
            candidates.append(Candidate(
                asset_id, name, lon, lat, load, service, True, 0, soon.level, risk_soon,
                f"{risk_soon:.0%} risk before the next round"))
            continue
        level = min(max(soon.level, 0.0), 1.0)
        if level < rules.optional_min_level and later.probability < rules.optional_min_probability:
            left_out.append(LeftOut(asset_id, name, f"not needed yet: level {level:.0%}, "
                                    f"{later.probability:.0%} risk within "
                                    f"{rules.prize_horizon_days:g} days after the next round"))
            continue
        prize = rules.level_value_m * level**2 + rules.risk_value_m * later.probability
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
            later.probability, f"optional: level {level:.0%}, {later.probability:.0%} risk "
            f"within {rules.prize_horizon_days:g} days after the next round"
            + ("; near a mandatory stop" if near else "")))
    return candidates, left_out


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


def _solve_run(data: pyvrp.ProblemData, seed: int, runtime_seconds: float,
               max_iterations: int | None, tuning: SolverTuning | None) -> pyvrp.Result:
    """One PyVRP run (module level, so a process pool can run it)."""
    stop: StoppingCriterion = (MaxIterations(max_iterations) if max_iterations
                               else MaxRuntime(runtime_seconds))
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

    def build(strict: bool) -> pyvrp.ProblemData:
        locations = [pyvrp.Location(x=int(p[0] * 1e6), y=int(p[1] * 1e6)) for p in points]
        depots = [pyvrp.Depot(location=i, name=f"depot {i}") for i in range(len(depot_points))]
        reload_ids: list[int] = []
        if fleet.reload_point is not None:
            reload_ids = [len(depots)]
            depots.append(pyvrp.Depot(location=len(depot_points),
                                      service_duration=fleet.reload_seconds,
                                      name=fleet.reload_name))
        first_client = len(depots)
        clients = []
        for i, c in enumerate(candidates):
            load = [c.load_litres]
            clients.append(pyvrp.Client(
                location=first_client + i,
                pickup=load if service == WASTE else [0],
                delivery=load if service == WATERING else [0],
                service_duration=c.service_seconds,
                prize=c.prize if not c.mandatory else (0 if strict else MANDATORY_FALLBACK_PRIZE),
                required=c.mandatory and strict,
                name=str(c.asset_id),
            ))
        vehicle_types = [
            pyvrp.VehicleType(
                num_available=1,
                capacity=[v.capacity_litres],
                start_depot=depot_points.index(v.start),
                end_depot=depot_points.index(v.end),
                shift_duration=v.shift_seconds,
                reload_depots=reload_ids,
                max_reloads=fleet.max_reloads if reload_ids else 0,
                name=v.name,
            )
            for v in fleet.vehicles
        ]
        return pyvrp.ProblemData(locations, clients, depots, vehicle_types,
                                 [metres], [seconds])  # type: ignore[list-item]

    if workers < 1:
        raise ValueError(f"workers {workers} < 1 not understood.")
    parallel = min(workers, restarts)
    iterations_per_run = max(max_iterations * parallel // restarts, 1) if max_iterations else None
    runtime_per_run = runtime_seconds * parallel / restarts

    def solve(data: pyvrp.ProblemData) -> pyvrp.Result:
        best: pyvrp.Result | None = None
        jobs = [(data, seed + run, runtime_per_run, iterations_per_run, solve_params)
                for run in range(restarts)]
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
                  "max_iterations": max_iterations, "restarts": restarts, "workers": parallel,
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
    first_client = data.num_depots

    routes: list[VehicleRoute] = []
    visited: set[int] = set()
    by_type = {route.vehicle_type(): route for route in solution.routes()}
    for type_index, vehicle in enumerate(fleet.vehicles):
        route = by_type.get(type_index)
        routes.append(_describe_route(
            route, vehicle, fleet, candidates, points, metres, seconds, first_client,
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
    )


def _describe_route(
    route: pyvrp.Route | None,
    vehicle: Vehicle,
    fleet: Fleet,
    candidates: Sequence[Candidate],
    points: list[LonLat],
    metres: np.ndarray,
    seconds: np.ndarray,
    first_client: int,
    depot_points: list[LonLat],
    shift_start: datetime,
    service: str,
    distance: DistanceSource,
    with_geometry: bool,
) -> VehicleRoute:
    """Turn PyVRP's route into stops with clock times, loads and the road geometry."""
    start_index = depot_points.index(vehicle.start)
    end_index = depot_points.index(vehicle.end)
    if route is None:
        return VehicleRoute(vehicle.name, vehicle.capacity_litres, vehicle.shift_seconds,
                            vehicle.start, vehicle.end, shift_start, shift_start, [], 0.0, 0, 0,
                            0, [])
    schedule = route.schedule()
    stops: list[PlannedStop] = []
    location_sequence = [start_index]
    # Load on board: waste grows from empty; water starts with the trip's whole delivery.
    trip_loads: dict[int, int] = {}
    for activity in schedule:
        if activity.is_client():
            trip_loads[activity.trip] = (trip_loads.get(activity.trip, 0)
                                         + candidates[activity.idx].load_litres)
    trip = 0
    on_board = 0 if service == WASTE else trip_loads.get(0, 0)
    last = len(schedule) - 1
    for position, activity in enumerate(schedule):
        if position in (0, last):
            continue
        arrival = shift_start + timedelta(seconds=int(activity.start_time - activity.wait_duration))
        departure = shift_start + timedelta(seconds=int(activity.end_time))
        if activity.is_client():
            c = candidates[activity.idx]
            on_board += c.load_litres if service == WASTE else -c.load_litres
            stops.append(PlannedStop(len(stops) + 1, "asset", c.asset_id, c.name, c.lon, c.lat,
                                     arrival, departure, on_board, activity.trip))
            location_sequence.append(first_client + activity.idx)
        else:  # a reload depot between trips
            trip = activity.trip
            on_board = 0 if service == WASTE else trip_loads.get(trip, 0)
            reload_point = fleet.reload_point or vehicle.end
            stops.append(PlannedStop(len(stops) + 1, "reload", None, fleet.reload_name,
                                     reload_point[0], reload_point[1], arrival, departure,
                                     on_board, trip))
            location_sequence.append(len(depot_points))
    location_sequence.append(end_index)
    km = sum(int(metres[a, b]) for a, b in zip(location_sequence, location_sequence[1:],
                                                strict=False)) / 1000
    legs: list[list[LonLat]] = []
    if with_geometry:
        for a, b in zip(location_sequence, location_sequence[1:], strict=False):
            legs.append([tuple(p) for p in distance.path(points[a], points[b])])  # type: ignore[misc]
    return VehicleRoute(
        vehicle=vehicle.name, capacity_litres=vehicle.capacity_litres,
        shift_seconds=vehicle.shift_seconds, start=vehicle.start, end=vehicle.end,
        start_time=shift_start + timedelta(seconds=int(route.start_time())),
        end_time=shift_start + timedelta(seconds=int(route.end_time())),
        stops=stops, km=km, drive_seconds=int(route.travel_duration()),
        work_seconds=int(route.duration()), trips=int(route.num_trips()), legs=legs,
    )



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
        if route.work_seconds > route.shift_seconds:
            problems.append(f"{route.vehicle}: works {route.work_seconds} s, shift is "
                            f"{route.shift_seconds} s")
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
        "vehicles": [
            {
                "vehicle": r.vehicle, "capacity_litres": r.capacity_litres,
                "shift_seconds": r.shift_seconds, "start": list(r.start), "end": list(r.end),
                "start_time": when(r.start_time), "end_time": when(r.end_time),
                "km": round(r.km, 3), "drive_seconds": r.drive_seconds,
                "work_seconds": r.work_seconds, "trips": r.trips,
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
