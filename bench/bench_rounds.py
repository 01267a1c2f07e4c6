"""Benchmark: plan one waste day for 1,000 Rutland bins and 4 vehicles, and check convergence.

Prints the time to plan (distance matrix, forecasts, selection, solve) with the default solver
time, and the plan's cost beside the same solver given ten times the time (the baseline of
this run). Target: planning <= 60 s, cost within 2% of the ten-times run.

    PYTHONPATH=src python bench/bench_rounds.py [--runtime 10] [--seeds 3]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

from placehub.config import load_settings
from placehub.rounds.demand import DemandModel, villages_from_osm
from placehub.rounds.planning import Plan, SolverTuning, check_plan, plan_day
from placehub.rounds.service import distance_from_settings
from placehub.rounds.simulation import Simulation, SimulationConfig, _at, rutland_bins

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runtime", type=float, default=10.0, help="solver seconds per plan")
    parser.add_argument("--seeds", type=int, default=3, help="short runs (median reported)")
    parser.add_argument("--bins", type=int, default=1000)
    parser.add_argument("--restarts", type=int, default=1, help="solver restarts per plan")
    parser.add_argument("--workers", type=int, default=1,
                        help="restarts run at once in this many processes")
    parser.add_argument("--neighbours", type=int, default=0,
                        help="PyVRP granular neighbourhood size (0: its default, 50)")
    parser.add_argument("--history", type=int, default=0,
                        help="PyVRP late-acceptance history length (0: its default, 300)")
    args = parser.parse_args()

    settings = load_settings(data_dir=str(REPO.parent / "shared" / "data"))
    pbf = str(settings.data_path / "rutland" / "roads.osm.pbf")
    started = time.perf_counter()
    sites = rutland_bins(pbf, args.bins, seed=1)
    distance = distance_from_settings(settings)
    config = SimulationConfig(days=1, seed=1, vehicles=4)
    simulation = Simulation(sites, DemandModel(1, villages_from_osm(pbf)), distance, config)
    setup_seconds = time.perf_counter() - started
    states = simulation.initial_states()  # 14 days of readings and fixed rounds per bin
    day = config.start

    params = None
    if args.neighbours or args.history:
        params = SolverTuning(args.neighbours or 50, args.history or 300)

    def plan_once(seed: int, runtime: float) -> tuple[float, int, Plan]:
        start = time.perf_counter()
        simulation._morning(states, day)
        candidates = simulation._placehub(states, day)
        plan = plan_day(candidates, simulation.fleet, simulation.distance, service="waste",
                        shift_start=_at(day, 7), snapshot_time=_at(day, 6), seed=seed,
                        runtime_seconds=runtime, restarts=args.restarts,
                        with_geometry=False, solve_params=params, workers=args.workers)
        for state in states.values():  # undo the morning reading for the next run
            state.readings.pop()
        return time.perf_counter() - start, plan.cost, plan

    short = [plan_once(1 + 100 * i, args.runtime) for i in range(args.seeds)]
    long_seconds, long_cost, long_plan = plan_once(1, args.runtime * 10)
    short_seconds = statistics.median(s[0] for s in short)
    short_cost = statistics.median(s[1] for s in short)
    plan = short[0][2]
    problems = check_plan(plan)
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, shared by "
          "other engineers' jobs while running")
    print(f"distance source: {distance.name}")
    print(f"bins: {len(sites)}, vehicles: {config.vehicles}; set-up (bins, 1002x1002 matrix, "
          f"14-day history): {setup_seconds:.1f} s")
    print(f"mandatory: {len(plan.mandatory_ids)}, served: {plan.stop_count}, "
          f"left out: {len(plan.left_out)}, plan checks: {problems or 'ok'}")
    print(f"plan one day (forecast 1,000 bins + select + solve {args.runtime:g} s in "
          f"{args.restarts} restarts, {args.workers} at once; neighbours "
          f"{args.neighbours or 50}, history {args.history or 300}), median of "
          f"{args.seeds}: {short_seconds:.1f} s; costs {[s[1] for s in short]}")
    print(f"baseline, same solver with {args.runtime * 10:g} s: {long_seconds:.1f} s, "
          f"cost {long_cost}")
    gap = (short_cost - long_cost) / long_cost if long_cost > 0 else float("nan")
    print(f"cost gap of the median short run to the long run: {gap:+.2%} "
          f"(target <= 2%); time ratio {long_seconds / short_seconds:.1f}x")
    print(f"feasible: short {plan.feasible}, long {long_plan.feasible}")


if __name__ == "__main__":
    main()
