"""Benchmark: plan one waste day for 1,000 Rutland bins and 4 vehicles, and check convergence.

Prints the time to plan (forecasts, selection, solve) with the given solver time, and the
plan's cost beside the same solver given ten times the time (the baseline of this run, seed
1), searching for all of it (the planner's stop after a long search without improvement is
off for the baseline only). Target: planning <= 60 s, cost within 2% of the ten-times run, as
the median over at least three different days (``--days 3``: bins seeds 1, 2, 3, each its own
day). The short runs use seeds 1, 101, 201, ...; their median cost is compared, and seed 1's
own gap is printed too.
Every run forecasts and selects again from the same morning readings, so all plan the same day.
Plans are crew-ready: the day ends at the tip, a 30-minute break, town-centre bins before
10:00, a payload limit. The load average is printed before and after each day: the solver is
time-limited, so a loaded machine gives it fewer iterations.

    PYTHONPATH=src python bench/bench_rounds.py [--runtime 55] [--seeds 3] [--days 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

from placehub.config import Settings, load_settings
from placehub.rounds.demand import DemandModel, villages_from_osm
from placehub.rounds.planning import DEFAULT_TUNING, Plan, SolverTuning, check_plan, plan_day
from placehub.rounds.service import distance_from_settings
from placehub.rounds.simulation import Simulation, SimulationConfig, _at, rutland_bins
from timing import timed_runs

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runtime", type=float, default=56.0,
                        help="seconds per plan: forecasts, selection and the solve")
    parser.add_argument("--seeds", type=int, default=3, help="short runs (median reported)")
    parser.add_argument("--factor", type=float, default=10.0,
                        help="the baseline run gets this many times the solver time")
    parser.add_argument("--bins", type=int, default=1000)
    parser.add_argument("--bins-seed", type=int, default=1,
                        help="the first day: which bins are generated on the streets")
    parser.add_argument("--days", type=int, default=3,
                        help="days to plan (bins seeds --bins-seed, +1, ...); median gap")
    parser.add_argument("--restarts", type=int, default=3,
                        help="solver restarts per plan (the rounds_restarts default)")
    parser.add_argument("--workers", type=int, default=1,
                        help="restarts run at once in this many processes")
    parser.add_argument("--neighbours", type=int, default=DEFAULT_TUNING.num_neighbours,
                        help="PyVRP granular neighbourhood size (PyVRP's default: 50)")
    parser.add_argument("--history", type=int, default=DEFAULT_TUNING.history_length,
                        help="PyVRP late-acceptance history length (PyVRP's default: 300)")
    parser.add_argument("--pyvrp-defaults", action="store_true",
                        help="PyVRP's own parameters (overrides the two above)")
    args = parser.parse_args()

    settings = load_settings(data_dir=os.environ.get("PLACEHUB_DATA_DIR",
                                                     str(REPO.parent / "shared" / "data")))
    gaps, times = [], []
    for bins_seed in range(args.bins_seed, args.bins_seed + args.days):
        gap, seconds = bench_day(args, settings, bins_seed)
        gaps.append(gap)
        times.append(seconds)
    print(f"over {args.days} days: planning time median {statistics.median(times):.1f} s "
          f"(max {max(times):.1f} s; target <= 60 s); cost gap median "
          f"{statistics.median(gaps):+.2%} (days: {', '.join(f'{g:+.2%}' for g in gaps)}; "
          "target <= 2%)")


def bench_day(args: argparse.Namespace, settings: Settings, bins_seed: int
              ) -> tuple[float, float]:
    """Plan one day (one set of bins) short and long; answer the gap and the planning time."""
    pbf = str(settings.data_path / "rutland" / "roads.osm.pbf")
    started = time.perf_counter()
    sites = rutland_bins(pbf, args.bins, seed=bins_seed)
    distance = distance_from_settings(settings)
    config = SimulationConfig(days=1, seed=1, vehicles=4)
    simulation = Simulation(sites, DemandModel(1, villages_from_osm(pbf)), distance, config)
    setup_seconds = time.perf_counter() - started
    states = simulation.initial_states()  # 14 days of readings and fixed rounds per bin
    day = config.start
    tuning = None if args.pyvrp_defaults else SolverTuning(args.neighbours, args.history)
    instances: set[tuple[object, ...]] = set()
    selecting: list[float] = []

    def plan_once(seed: int, runtime: float, budget: bool) -> Plan:
        # The morning readings come from the scenario's draws (keyed by bin and time), so every
        # run (short and ten-times) plans the very same day.
        started = time.perf_counter()
        simulation._morning(states, day)
        candidates = simulation._placehub(states, day)
        instances.add(tuple((c.asset_id, c.mandatory, c.prize) for c in candidates))
        # A short run's ``runtime`` is the whole planning budget: the solver gets what the
        # forecasts and the selection left of it (a loaded machine leaves it less).
        spent = time.perf_counter() - started
        solve = max(runtime - spent, 5.0) if budget else runtime
        selecting.append(spent)
        # The baseline searches for its whole time: with the idle stop it would end where the
        # short run of the same seed ends, and "ten times the time" would buy nothing.
        plan = plan_day(candidates, simulation.fleet, simulation.distance, service="waste",
                        shift_start=_at(day, 7), snapshot_time=_at(day, 6), seed=seed,
                        runtime_seconds=solve, restarts=args.restarts,
                        with_geometry=False, solve_params=tuning, workers=args.workers,
                        stop_when_idle=budget)
        for state in states.values():  # undo the morning reading for the next run
            if state.readings and state.readings[-1].time == _at(day, 6):
                state.readings.pop()
                state.arrivals.pop()
        return plan

    load_before = Path("/proc/loadavg").read_text().split()[:3]
    short_seconds, short = timed_runs(
        lambda run: plan_once(1 + 100 * run, args.runtime, True), args.seeds)
    long_seconds, (long_plan,) = timed_runs(
        lambda _run: plan_once(1, args.runtime * args.factor, False), 1)
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    costs = [plan.cost for plan in short]
    short_cost = statistics.median(costs)
    plan = short[0]
    problems = check_plan(plan)
    print(f"== day {bins_seed} ==")
    print(f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores, Python "
          f"{platform.python_version()}; load average before {' '.join(load_before)}, after "
          f"{' '.join(load_after)}")
    print(f"distance source: {distance.name}")
    print(f"bins: {len(sites)} (seed {bins_seed}), vehicles: {config.vehicles}; set-up "
          f"(bins, 1002x1002 matrix, 14-day history): {setup_seconds:.1f} s")
    print(f"mandatory: {len(plan.mandatory_ids)}, served: {plan.stop_count}, "
          f"left out: {len(plan.left_out)}, vehicles used: {plan.summary()['vehicles_used']}, "
          f"plan checks: {problems or 'ok'}")
    print(f"solver: {plan.solver['parameters']}")
    print(f"plan one day (forecast + select + solve within {args.runtime:g} s; forecasts and "
          f"selection took {statistics.median(selecting[:-1]):.1f} s), median of "
          f"{args.seeds} seeds: {short_seconds:.1f} s; costs {costs}")
    print(f"baseline, same solver searching for {args.runtime * args.factor:g} s (seed 1): "
          f"{long_seconds:.1f} s, cost {long_plan.cost}")
    gap = (short_cost - long_plan.cost) / long_plan.cost
    seed_gap = (costs[0] - long_plan.cost) / long_plan.cost
    print(f"cost gap of the median short run to the baseline: {gap:+.2%} (seed 1 alone: "
          f"{seed_gap:+.2%}; target <= 2%); time ratio {long_seconds / short_seconds:.1f}x")
    assert len(instances) == 1, "the runs planned different days"
    print(f"feasible: short {[p.feasible for p in short]}, long {long_plan.feasible}",
          flush=True)
    return gap, short_seconds


if __name__ == "__main__":
    main()
