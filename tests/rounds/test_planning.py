"""Planning: selection from needs, PyVRP routing with reloads, and plans checked on their own."""

from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from placehub.places.distance import HaversineDistance
from placehub.rounds.forecast import LITTER_BIN, Need
from placehub.rounds.planning import (
    DEFAULT_TUNING,
    WASTE,
    WATERING,
    Candidate,
    Fleet,
    SelectionRules,
    SolverTuning,
    Vehicle,
    check_plan,
    plan_day,
    plan_document,
    rules_for,
    select_candidates,
)

START = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
DEPOT = (-0.7395, 52.6745)
TIP = (-0.7145, 52.6905)


def candidates(count: int, seed: int = 1, mandatory_every: int = 3, load: int = 100) -> list:
    """Bins scattered around Oakham, every third one mandatory."""
    rng = np.random.default_rng(seed)
    return [
        Candidate(i, f"Bin {i}", -0.73 + rng.uniform(-0.04, 0.04),
                  52.67 + rng.uniform(-0.03, 0.03), load, 90, i % mandatory_every == 0,
                  0 if i % mandatory_every == 0 else int(rng.uniform(500, 4000)), 0.6, 0.1,
                  "test")
        for i in range(count)
    ]


def fleet(vehicles: int = 2, litres: int = 2000, hours: float = 7.5) -> Fleet:
    """Refuse vehicles from the depot, tipping at the tip."""
    return Fleet(tuple(Vehicle(f"RCV {i + 1}", litres, int(hours * 3600), DEPOT, DEPOT)
                       for i in range(vehicles)), TIP)


def need(probability: float, level: float) -> Need:
    """A bin need with a given risk and level."""
    return Need(1, LITTER_BIN, START, START, level, 0.1, level, probability, None, None, 5, "t")


def test_selection_mandatory_optional_and_left_out() -> None:
    """High risk is mandatory, a fairly full bin optional with a prize, an empty one left out."""
    assets = [(1, "a", 0, 0, 100, 90), (2, "b", 0, 0, 100, 90), (3, "c", 0, 0, 100, 90)]
    soon = [need(0.8, 0.9), need(0.01, 0.7), need(0.0, 0.1)]
    later = [need(0.9, 1.0), need(0.3, 0.8), need(0.0, 0.2)]
    chosen, left = select_candidates(assets, soon, later, SelectionRules())
    assert [(c.asset_id, c.mandatory) for c in chosen] == [(1, True), (2, False)]
    assert chosen[1].prize > 0
    assert [x.asset_id for x in left] == [3] and "not needed yet" in left[0].reason


def test_watering_accepts_more_risk_than_waste() -> None:
    """A 40% risk before the next chance makes a bin a mandatory stop but not a flowerbed (a
    bed dry for a day harms less than a bin overflowing onto the street)."""
    assets = [(1, "a", 0, 0, 100, 90)]
    soon, later = [need(0.4, 0.6)], [need(0.45, 0.65)]
    bin_chosen, _ = select_candidates(assets, soon, later, rules_for(WASTE))
    bed_chosen, _ = select_candidates(assets, soon, later, rules_for(WATERING))
    assert [c.mandatory for c in bin_chosen] == [True]
    assert [c.mandatory for c in bed_chosen] in ([], [False])


def test_a_risk_prize_makes_a_risky_bin_worth_a_detour_before_it_is_mandatory() -> None:
    """With a risk prize of 8 km and a 35% mandatory line, a bin at 30% risk before the next
    chance is an optional stop whose prize is 8 km x 0.3 higher, said in its reason; without a
    risk prize (the default) the two bins are worth the same."""
    assets = [(1, "a", 0, 0, 100, 90), (2, "b", 0, 0, 100, 90)]
    soon = [need(0.3, 0.6), need(0.0, 0.6)]
    later = [need(0.6, 0.8), need(0.6, 0.8)]
    priced = SelectionRules(mandatory_probability=0.35, risk_prize_m=8000)
    chosen, _ = select_candidates(assets, soon, later, priced)
    assert [c.mandatory for c in chosen] == [False, False]
    assert chosen[0].prize - chosen[1].prize == pytest.approx(0.3 * 8000, abs=1)
    assert "30% risk before the next round" in chosen[0].reason
    assert "before the next round" not in chosen[1].reason
    plain, _ = select_candidates(assets, soon, later,
                                 replace(priced, risk_prize_m=0.0))
    assert plain[0].prize == plain[1].prize
    assert rules_for(WASTE).risk_prize_m == 0.0 == rules_for(WATERING).risk_prize_m


def test_an_asset_past_its_line_is_mandatory_whatever_the_forecast() -> None:
    """A bin full now (its status from placehub.assets) is a mandatory stop even when the
    forecast gives it little risk (say a sensor the forecaster distrusts)."""
    assets = [(1, "a", 0, 0, 100, 90), (2, "b", 0, 0, 100, 90)]
    soon = [need(0.05, 1.02), need(0.05, 0.2)]
    later = [need(0.1, 1.02), need(0.1, 0.2)]
    chosen, left = select_candidates(assets, soon, later, SelectionRules(),
                                     past_the_line=[True, False])
    assert [(c.asset_id, c.mandatory) for c in chosen] == [(1, True)]
    assert [x.asset_id for x in left] == [2]


def test_plan_is_feasible_on_its_own() -> None:
    """Capacity, shift, mandatory bins and geometry all hold, with several trips via the tip."""
    cands = candidates(90)
    plan = plan_day(cands, fleet(), HaversineDistance(), service=WASTE, shift_start=START,
                    snapshot_time=START - timedelta(hours=1), runtime_seconds=1)
    assert check_plan(plan) == []
    assert plan.feasible
    assert any(r.trips > 1 for r in plan.routes), "90 x 100 L in 2 x 2000 L needs reloads"
    served = {s.asset_id for r in plan.routes for s in r.asset_stops}
    assert {c.asset_id for c in cands if c.mandatory} <= served
    for route in plan.routes:
        times = [s.arrival for s in route.stops]
        assert times == sorted(times)
        assert route.start_time <= times[0] and route.end_time >= times[-1]
        assert any(s.kind == "reload" for s in route.stops) == (route.trips > 1)
        assert route.km > 0 and 0 < route.drive_seconds < route.work_seconds
    left = {x.asset_id for x in plan.left_out}
    assert served | left == {c.asset_id for c in cands}
    assert plan.solver["version"] == "0.14.1" and plan.solver["seed"] == 1


def test_a_small_day_stops_when_the_search_stops_improving() -> None:
    """A time-limited search of 12 stops ends after 5,000 idle iterations, long before its
    30 s budget; run again it stops at the same iteration with the same plan (the early stop
    counts iterations, not seconds)."""
    cands = candidates(12)
    plan = plan_day(cands, fleet(), HaversineDistance(), service=WASTE, shift_start=START,
                    snapshot_time=START, runtime_seconds=30)
    assert plan.solver["parameters"]["idle_iterations"] == 5_000
    assert plan.solver["runtime_seconds"] < 15
    assert plan.solver["iterations"] >= 5_000
    again = plan_day(cands, fleet(), HaversineDistance(), service=WASTE, shift_start=START,
                     snapshot_time=START, runtime_seconds=30)
    assert (again.cost, again.solver["iterations"]) == (plan.cost, plan.solver["iterations"])
    assert check_plan(plan) == [] and plan.feasible


def test_a_search_told_not_to_stop_when_idle_uses_its_whole_time() -> None:
    """A benchmark's baseline search keeps going for its whole budget however long it has
    found nothing better, and its plan records no idle stop."""
    cands = candidates(12)
    plan = plan_day(cands, fleet(), HaversineDistance(), service=WASTE, shift_start=START,
                    snapshot_time=START, runtime_seconds=2, stop_when_idle=False)
    assert plan.solver["parameters"]["idle_iterations"] is None
    assert plan.solver["runtime_seconds"] >= 1.9
    assert plan.solver["iterations"] > 5_000
    assert check_plan(plan) == [] and plan.feasible


def test_check_plan_finds_broken_plans() -> None:
    """The checker notices overload, overtime, a missing mandatory bin and a broken line."""
    plan = plan_day(candidates(30), fleet(), HaversineDistance(), service=WASTE,
                    shift_start=START, snapshot_time=START, runtime_seconds=0.5)
    route = next(r for r in plan.routes if r.stops)
    route.stops[0].load_litres = route.capacity_litres + 1
    route.work_seconds = route.shift_seconds + 1
    route.legs[1] = [(0.0, 0.0), (0.1, 0.1)]
    plan.mandatory_ids.append(999)
    problems = "\n".join(check_plan(plan))
    for expected in ("outside 0..", "shift is", "mandatory asset 999", "does not join"):
        assert expected in problems


def test_too_small_fleet_explains_mandatory_left_out() -> None:
    """When mandatory bins cannot all fit, the plan stays feasible and says which and why."""
    cands = candidates(60, mandatory_every=1, load=100)
    plan = plan_day(cands, fleet(vehicles=1, hours=1.0), HaversineDistance(), service=WASTE,
                    shift_start=START, snapshot_time=START, runtime_seconds=0.5)
    assert plan.feasible and check_plan(plan) == []
    missing = [x for x in plan.left_out if x.mandatory]
    assert missing and "did not fit" in missing[0].reason
    assert plan.notes


def test_watering_delivers_water_with_refills() -> None:
    """Water is a delivery: load falls stop by stop and refills at the water point."""
    beds = [Candidate(i, f"Bed {i}", -0.73 + 0.002 * i, 52.67, 300, 600, True, 0, 15, 0.9, "dry")
            for i in range(8)]
    bowser = Fleet((Vehicle("Bowser 1", 1000, 8 * 3600, DEPOT, DEPOT),), DEPOT,
                   reload_seconds=600, reload_name="water point")
    plan = plan_day(beds, bowser, HaversineDistance(), service=WATERING, shift_start=START,
                    snapshot_time=START, runtime_seconds=0.5)
    assert check_plan(plan) == [] and plan.stop_count == 8
    route = plan.routes[0]
    assert route.trips >= 3
    first_trip = [s.load_litres for s in route.stops if s.trip == 0]
    assert first_trip == sorted(first_trip, reverse=True)
    document = plan_document(plan)
    assert document["vehicles"][0]["geometry"]["type"] == "MultiLineString"


def test_same_seed_same_plan() -> None:
    """With an iteration limit, the same seed gives the same routes (runtime limits may not)."""
    cands = candidates(40)

    def routes(seed: int) -> list[list[int | None]]:
        plan = plan_day(cands, fleet(), HaversineDistance(), service=WASTE, shift_start=START,
                        snapshot_time=START, max_iterations=300, seed=seed)
        assert plan.solver["seed"] == seed and plan.solver["parameters"]["max_iterations"] == 300
        return [[s.asset_id for s in r.stops] for r in plan.routes]

    assert routes(7) == routes(7)


def test_bad_arguments_are_refused() -> None:
    """Unknown services, non-positive runtimes and empty fleets fail with a clear message."""
    with pytest.raises(ValueError, match="service"):
        plan_day([], fleet(), HaversineDistance(), service="gritting", shift_start=START,
                 snapshot_time=START)
    with pytest.raises(ValueError, match="runtime"):
        plan_day([], fleet(), HaversineDistance(), service=WASTE, shift_start=START,
                 snapshot_time=START, runtime_seconds=0)
    with pytest.raises(ValueError, match="at least one vehicle"):
        Fleet((), TIP)


def test_restarts_keep_the_cheapest() -> None:
    """With restarts, the plan is no dearer than the first seed alone, and says so."""
    cands = candidates(40)
    one = plan_day(cands, fleet(), HaversineDistance(), service=WASTE, shift_start=START,
                   snapshot_time=START, max_iterations=100, seed=3)
    three = plan_day(cands, fleet(), HaversineDistance(), service=WASTE, shift_start=START,
                     snapshot_time=START, max_iterations=300, restarts=3, seed=3)
    assert three.cost <= one.cost
    assert three.solver["parameters"]["restarts"] == 3
    assert check_plan(three) == []
    with pytest.raises(ValueError, match="restarts"):
        plan_day(cands, fleet(), HaversineDistance(), service=WASTE, shift_start=START,
                 snapshot_time=START, restarts=0)


def test_parallel_restarts_give_the_same_plan_as_serial_ones() -> None:
    """Restarts run in two processes find the same (seeded) plan as run one after the other."""
    cands = candidates(40)
    serial = plan_day(cands, fleet(), HaversineDistance(), service=WASTE, shift_start=START,
                      snapshot_time=START, max_iterations=200, restarts=2, seed=3)
    parallel = plan_day(cands, fleet(), HaversineDistance(), service=WASTE, shift_start=START,
                        snapshot_time=START, max_iterations=100, restarts=2, workers=2, seed=3)
    assert parallel.cost == serial.cost
    assert parallel.solver["parameters"]["workers"] == 2
    assert check_plan(parallel) == []


def test_solver_tuning_is_used_and_recorded() -> None:
    """PyVRP tuning values reach the solver (in parallel processes too) and the plan says so."""
    plan = plan_day(candidates(30), fleet(), HaversineDistance(), service=WASTE,
                    shift_start=START, snapshot_time=START, max_iterations=100, restarts=2,
                    workers=2, solve_params=SolverTuning(num_neighbours=20, history_length=50))
    assert plan.solver["parameters"]["solve_params"] == {"num_neighbours": 20,
                                                         "history_length": 50}
    assert check_plan(plan) == []


def test_tuned_search_is_the_default() -> None:
    """Plans use DEFAULT_TUNING unless told otherwise; None means PyVRP's own parameters."""
    def parameters(**options: object) -> object:
        plan = plan_day(candidates(20), fleet(), HaversineDistance(), service=WASTE,
                        shift_start=START, snapshot_time=START, max_iterations=50,
                        **options)  # type: ignore[arg-type]
        assert check_plan(plan) == []
        return plan.solver["parameters"]["solve_params"]  # type: ignore[index]

    assert parameters() == asdict(DEFAULT_TUNING)
    assert parameters(solve_params=None) == "PyVRP defaults"


def crew_fleet(vehicles: int = 2, litres: int = 2000, kg: int = 0, hours: float = 7.5,
               break_minutes: int = 30) -> Fleet:
    """Refuse vehicles that end the day at the tip, with a break after 6 h of work."""
    return Fleet(tuple(Vehicle(f"RCV {i + 1}", litres, int(hours * 3600), DEPOT, DEPOT,
                               capacity_kg=kg, break_seconds=break_minutes * 60,
                               break_after_seconds=6 * 3600)
                       for i in range(vehicles)), TIP, end_at_reload=True)


def test_every_loaded_route_ends_at_the_tip() -> None:
    """Waste vehicles empty at the tip before going home: the last stop of every used route is
    the tip, nothing is on board at the end, and the drive home is counted."""
    cands = candidates(60, load=100)
    plan = plan_day(cands, crew_fleet(), HaversineDistance(), service=WASTE, shift_start=START,
                    snapshot_time=START, max_iterations=300)
    assert check_plan(plan) == []
    used = [r for r in plan.routes if r.asset_stops]
    assert used
    for route in used:
        assert route.stops[-1].kind == "reload" and route.stops[-1].name == "tip"
        assert route.stops[-1].load_litres == 0
        home = HaversineDistance().matrices([TIP, DEPOT])[0][0, 1] / 1000
        assert route.km >= home
        assert route.end_time > route.stops[-1].departure
    document = plan_document(plan)
    assert document["ends_at_reload"] is True
    # The checker notices a route that goes home loaded.
    broken = next(r for r in plan.routes if r.asset_stops)
    broken.stops.pop()
    broken.legs = []
    assert any("waste on board" in problem for problem in check_plan(plan))


def test_break_is_taken_before_six_hours_of_work() -> None:
    """A long day gets the crew's 30-minute break within the first six hours; the stops after
    it move back by 30 minutes and the day still fits the shift."""
    cands = candidates(140, load=40, mandatory_every=1)
    plan = plan_day(cands, crew_fleet(vehicles=1, litres=8000, hours=9.0), HaversineDistance(),
                    service=WASTE, shift_start=START, snapshot_time=START, max_iterations=300)
    route = plan.routes[0]
    assert route.work_seconds > 6 * 3600, "the test needs a day longer than six hours"
    assert len(route.breaks) == 1
    start = datetime.fromisoformat(str(route.breaks[0]["start"]))
    end = datetime.fromisoformat(str(route.breaks[0]["end"]))
    assert end - start == timedelta(minutes=30)
    assert start - route.start_time <= timedelta(hours=6)
    after = int(route.breaks[0]["after_sequence"])  # type: ignore[call-overload]
    assert all(s.arrival >= end for s in route.stops if s.sequence > after)
    assert check_plan(plan) == []


def test_time_windows_and_weight_limits_hold() -> None:
    """Stops with a window are reached in it, and the payload limit adds trips to the tip."""
    cands = [replace(c, window=(0, 3 * 3600), window_text="before 10:00", weight_kg=40)
             if c.asset_id % 5 == 0 else replace(c, weight_kg=40)
             for c in candidates(50, load=100)]
    plan = plan_day(cands, crew_fleet(kg=600), HaversineDistance(), service=WASTE,
                    shift_start=START, snapshot_time=START, max_iterations=300)
    assert check_plan(plan) == []
    for route in plan.routes:
        for stop in route.asset_stops:
            assert stop.weight_kg <= 600
            if stop.window:
                assert stop.arrival <= START + timedelta(hours=3)
    served_kg = 40 * plan.stop_count
    assert served_kg > 600
    assert sum(r.trips for r in plan.routes) >= -(-served_kg // 600)  # loads of <= 600 kg
