"""Simulating waste rounds under several policies on the same demand, to measure the savings.

The same bins, the same seeded demand (``placehub.rounds.demand``), the same scenario
(``placehub.rounds.scenarios``: weather, events, faulty sensors, missed emptyings ...) and the same
router (PyVRP, iteration-limited so runs are reproducible) serve every policy; only the choice of
bins differs:

- ``fixed``: today's fixed rounds, each bin emptied on fixed weekdays by its setting
  (``placehub.rounds.demand.fixed_round_weekdays``; the schedule is an option), routed with the
  bins' **true** loads (the most favourable planning a fixed round can have);
- ``threshold``: every bin whose latest reading is 80% or more;
- ``placehub``: the forecaster's overflow probabilities, mandatory and prize-collecting choice;
- ``oracle``: placehub's selection and router fed with each bin's **true** future content
  instead of forecasts (it cannot know missed emptyings): not a policy a council can run, but
  the bound on what any forecaster could add, so that a saving short of a target can be laid
  either at the forecasts' door or at the rounds' own shape.

Each simulated day: sensors read at 06:00 and 18:00 (2% noise, capped at full; the scenario
loses, delays, freezes or spikes some readings); the policy picks bins from what has reached it
by 06:00; the fleet drives from 07:00 with the crews' break, town-centre bins before 10:00, and
ends its day at the tip; each bin is emptied at its arrival time (unless the scenario says the
emptying was missed or partial; the crew's report may reach the forecaster late); demand accrues
evenly through the day. A bin-day overflows when the bin's content exceeds its capacity at any
moment of the day. All policies start from the same state after a warm-up of fixed rounds,
which also gives the forecaster its history.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from placehub.governance import runs
from placehub.places.distance import DistanceSource, LonLat, metres_between
from placehub.rounds.calendar import (
    DEFAULT_BANK_HOLIDAY_FACTOR,
    DEFAULT_EVENT_FACTOR,
    DemandCalendar,
    Event,
)
from placehub.rounds.demand import (
    DEFAULT_FIXED_SCHEDULE,
    SETTINGS,
    BinSite,
    DemandModel,
    fixed_round_weekdays,
)
from placehub.rounds.forecast import (
    LITTER_BIN,
    AssetHistory,
    Forecaster,
    Need,
    PlacehubForecaster,
    Reading,
)
from placehub.rounds.planning import (
    LOCAL_TIME,
    WASTE,
    Candidate,
    Fleet,
    SelectionRules,
    Vehicle,
    plan_day,
    rules_for,
    select_candidates,
    with_details,
)
from placehub.rounds.scenarios import REALISTIC, Scenario, ScenarioWorld

POLICIES = ("fixed", "threshold", "placehub", "oracle")
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
# When a fixed round expects to reach a bin: half-way through the shift.
FIXED_VISIT_HOUR = 11.0

DEFAULT_DEPOT: LonLat = (-0.7395, 52.6745)
DEFAULT_TIP: LonLat = (-0.7145, 52.6905)


class PrecomputedDistance:
    """A DistanceSource over a fixed set of points, computed once (simulation and benchmark).

    Made from a source (``from_source``) or from matrices already computed (they pickle, so
    worker processes need not load the road network); ``path`` needs the source.
    """

    def __init__(self, name: str, points: Sequence[LonLat], metres: np.ndarray,
                 seconds: np.ndarray, source: DistanceSource | None = None) -> None:
        self.name = name
        self.source = source
        self.points = list(points)
        self.index = {p: i for i, p in enumerate(points)}
        self.metres, self.seconds = metres, seconds

    @classmethod
    def from_source(cls, source: DistanceSource, points: Sequence[LonLat]
                    ) -> PrecomputedDistance:
        metres, seconds = source.matrices(list(points))
        return cls(source.name, points, metres, seconds, source)

    def matrices(self, points: Sequence[LonLat]) -> tuple[np.ndarray, np.ndarray]:
        try:
            rows = np.array([self.index[p] for p in points])
        except KeyError as error:
            raise ValueError(f"point {error} was not precomputed") from None
        return self.metres[np.ix_(rows, rows)], self.seconds[np.ix_(rows, rows)]

    def path(self, start: LonLat, end: LonLat) -> list[LonLat]:
        if self.source is None:
            return [start, end]
        return self.source.path(start, end)

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "source": None}


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
    # Trips whose true load (what the bins really held at the crew's arrival) exceeded the
    # vehicle: the plan's loads were estimates.
    trips_over_capacity: int = 0
    missed_emptyings: int = 0
    routes_not_ending_at_tip: int = 0

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
            "trips_over_capacity": self.trips_over_capacity,
            "missed_emptyings": self.missed_emptyings,
            "routes_not_ending_at_tip": self.routes_not_ending_at_tip,
            "solver_seconds": round(self.solver_seconds, 1),
        }


@dataclass
class BinState:
    """A simulated bin: its true content (fraction of capacity) and what placehub heard of it.

    ``arrivals[i]`` is when ``readings[i]`` reached placehub and ``reported[i]`` when the
    emptying ``services[i]`` was reported: the forecaster only sees what has arrived.
    """

    site: BinSite
    setting: str
    fill: float
    readings: list[Reading] = field(default_factory=list)
    arrivals: list[datetime] = field(default_factory=list)
    services: list[datetime] = field(default_factory=list)
    reported: list[datetime] = field(default_factory=list)
    frozen: float | None = None  # a stuck sensor's value

    def copy(self) -> BinState:
        return BinState(self.site, self.setting, self.fill, list(self.readings),
                        list(self.arrivals), list(self.services), list(self.reported),
                        self.frozen)

    def history(self, at: datetime) -> AssetHistory:
        """What placehub knows of the bin at ``at``."""
        readings = sorted((r for r, a in zip(self.readings, self.arrivals, strict=True)
                           if a <= at), key=lambda r: r.time)
        services = [s for s, r in zip(self.services, self.reported, strict=True) if r <= at]
        return AssetHistory(self.site.id, LITTER_BIN, readings, services)

    def latest_reading(self, at: datetime) -> Reading | None:
        arrived = [r for r, a in zip(self.readings, self.arrivals, strict=True) if a <= at]
        return max(arrived, key=lambda r: r.time) if arrived else None


@dataclass(frozen=True)
class SimulationConfig:
    """Everything that defines a simulation run (recorded in its output)."""

    days: int = 28
    seed: int = 1
    start: date = date(2026, 3, 30)  # a Monday; Easter (3 and 6 April 2026) falls inside
    warmup_days: int = 14
    vehicles: int = 4
    vehicle_litres: int = 6000
    shift_hours: float = 7.5
    depot: LonLat = DEFAULT_DEPOT
    tip: LonLat = DEFAULT_TIP
    max_iterations: int = 800
    rules: SelectionRules = field(default_factory=lambda: rules_for(WASTE))
    scenario: Scenario = REALISTIC
    fixed_schedule: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FIXED_SCHEDULE))
    # Crew-ready plans, for every policy alike (docs/rounds.md, "Plans a crew can drive").
    vehicle_kg: int = 1000
    compaction_ratio: float = 1.0
    kg_per_litre: float = 0.15
    break_minutes: int = 30
    break_after_hours: float = 6.0
    town_centre_before_hour: float | None = 10.0
    # What the council knows in advance (docs/rounds.md, "Calendar"): England's bank holidays
    # and the events it licenses (the scenario's events), at its own estimates of their factors.
    # placehub's forecaster uses them; fixed rounds add an emptying of the bins a surge day
    # concerns (town-centre and park bins on a bank holiday, the place's bins on an event day).
    calendar: bool = True
    calendar_bank_holiday_factor: float = DEFAULT_BANK_HOLIDAY_FACTOR
    calendar_event_factor: float = DEFAULT_EVENT_FACTOR
    fixed_extra_on_surge_days: bool = True

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"days {self.days} < 1 not understood.")
        if self.warmup_days < 2:
            raise ValueError(f"warmup_days {self.warmup_days} < 2: the forecaster needs history.")

    def describe(self) -> dict[str, object]:
        """The crew and vehicle rules of the run, for its report."""
        return {"vehicle_kg": self.vehicle_kg, "compaction_ratio": self.compaction_ratio,
                "kg_per_litre": self.kg_per_litre, "break_minutes": self.break_minutes,
                "break_after_hours": self.break_after_hours,
                "town_centre_before": (f"{int(self.town_centre_before_hour):02d}:00"
                                       if self.town_centre_before_hour is not None else None),
                "ends_at_tip": True}

    def describe_calendar(self) -> dict[str, object]:
        """What the council is assumed to know in advance, for the run's report."""
        return {"known": self.calendar,
                "bank_holidays": "England and Wales (holidays package)" if self.calendar
                else None,
                "events": "the scenario's events, announced" if self.calendar else None,
                "bank_holiday_factor": self.calendar_bank_holiday_factor,
                "event_factor": self.calendar_event_factor,
                "fixed_extra_on_surge_days": self.calendar and self.fixed_extra_on_surge_days}


def _at(day: date, hour: float) -> datetime:
    return datetime.combine(day, time(0, 0), UTC) + timedelta(hours=hour)


class Simulation:
    """Runs policies over the same bins, demand and scenario; see the module docstring."""

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
        self.distance = (distance if isinstance(distance, PrecomputedDistance)
                         and set(points) <= set(distance.index)
                         else PrecomputedDistance.from_source(distance, points))
        shift = int(config.shift_hours * 3600)
        self.fleet = Fleet(tuple(
            Vehicle(f"RCV {i + 1}", config.vehicle_litres, shift, config.depot, config.depot,
                    capacity_kg=config.vehicle_kg, compaction_ratio=config.compaction_ratio,
                    break_seconds=config.break_minutes * 60,
                    break_after_seconds=int(config.break_after_hours * 3600))
            for i in range(config.vehicles)), config.tip, end_at_reload=True)
        self.settings = {s.id: demand.setting(s) for s in sites}
        first = config.start - config.warmup_days * DAY
        self.world = ScenarioWorld(config.scenario, config.seed, self.sites, first,
                                   config.start + (config.days - 1) * DAY)
        self._added: dict[date, dict[int, float]] = {}
        self._today = config.start  # the day being planned (its local time windows)
        last = config.start + (config.days - 1) * DAY
        # The council's calendar: every bin's known surge days and their estimated factors.
        self.known: dict[int, dict[date, float]] = {s.id: {} for s in sites}
        # Days a fixed round adds an emptying of the bin: its place's event days, and bank
        # holidays for town-centre and park bins (where councils put on extra litter rounds).
        self.extra_days: dict[int, set[date]] = {s.id: set() for s in sites}
        if config.calendar:
            events = [Event(day, place, config.calendar_event_factor)
                      for day, place in self.world.event_days()]
            calendar = DemandCalendar.england(first, last, events,
                                              config.calendar_bank_holiday_factor)
            for site in sites:
                busy = self.settings[site.id] == "town_centre" or site.near_park
                self.known[site.id] = calendar.factors(self.world.places[site.id], busy,
                                                       first, last)
                self.extra_days[site.id] = {e.day for e in events
                                            if e.place == self.world.places[site.id]}
                if busy:
                    self.extra_days[site.id] |= set(calendar.bank_holidays)

    # -- the world --------------------------------------------------------------------------

    def added(self, day: date) -> dict[int, float]:
        """Each bin's fill added on ``day`` (model x scenario), the same for every policy."""
        if day not in self._added:
            self._added[day] = {
                s.id: self.demand.daily_fill(s, day)
                * self.world.demand_factor(s, self.settings[s.id], day)
                for s in self.sites}
        return self._added[day]

    def _read(self, state: BinState, day: date, slot: int, fill: float) -> None:
        """A reading slot of the bin's sensor, as the scenario lets it through."""
        when = _at(day, READING_HOURS[slot])
        sent = self.world.reading(state.site.id, day, slot, fill, state.frozen, READING_NOISE)
        if sent.value is None:
            return
        if state.frozen is None and self.world.stuck_now(state.site.id, day, slot):
            state.frozen = sent.value
        state.readings.append(Reading(when, sent.value))
        state.arrivals.append(when + timedelta(hours=sent.delay_hours))

    def _live_day(self, states: dict[int, BinState], day: date,
                  visits: dict[int, datetime], result: PolicyResult | None) -> None:
        """One day of demand, sensor readings and emptyings at the given visit times."""
        midnight = _at(day, 0)
        added_today = self.added(day)
        for bin_id, state in states.items():
            added = added_today[bin_id]
            start_fill = state.fill
            visit = visits.get(bin_id)
            left = start_fill
            overflowed = False
            if visit is not None:
                outcome = self.world.visit(bin_id, day)
                before = start_fill + added * (visit - midnight) / DAY
                overflowed = before > 1.0
                if outcome.missed:
                    visit = None
                    if result is not None:
                        result.missed_emptyings += 1
                else:
                    left = min(before, 1.0) * outcome.left_share
                    if result is not None:
                        result.fills_at_emptying.append(min(before, 1.0))
                    state.services.append(visit)
                    state.reported.append(visit + timedelta(hours=outcome.report_delay_hours))

            def fill_at(when: datetime, start_fill: float = start_fill,
                        visit: datetime | None = visit, added: float = added,
                        left: float = left) -> float:
                fraction = (when - midnight) / DAY
                if visit is not None and when >= visit:
                    return left + added * (fraction - (visit - midnight) / DAY)
                return start_fill + added * fraction

            for slot in range(1, len(READING_HOURS)):  # the morning reading came before
                self._read(state, day, slot, fill_at(midnight + timedelta(
                    hours=READING_HOURS[slot])))
            state.fill = fill_at(midnight + DAY)
            overflowed = overflowed or state.fill > 1.0
            if result is not None and overflowed:
                result.overflow_bin_days += 1

    def _morning(self, states: dict[int, BinState], day: date) -> None:
        """The first reading of the day, taken before the round is planned."""
        hour = READING_HOURS[0]
        added_today = self.added(day)
        for bin_id, state in states.items():
            self._read(state, day, 0, state.fill + added_today[bin_id] * hour / 24)

    # -- policies ---------------------------------------------------------------------------

    def _fixed(self, states: dict[int, BinState], day: date) -> list[Candidate]:
        self._today = day
        added_today = self.added(day)
        extra = self.config.fixed_extra_on_surge_days
        wanted = [s for s in states.values()
                  if day.weekday() in fixed_round_weekdays(s.setting, s.site.settlement,
                                                           self.config.fixed_schedule)
                  # An extra emptying on a known surge day, as councils add for events.
                  or (extra and day in self.extra_days[s.site.id])]
        # Planned with the true loads: the best a fixed round could know.
        return [self._candidate(s, min(s.fill + added_today[s.site.id] * FIXED_VISIT_HOUR / 24,
                                       1.0), True, 0) for s in wanted]

    def _threshold(self, states: dict[int, BinState], day: date) -> list[Candidate]:
        self._today = day
        at = _at(day, 6)
        chosen = []
        for state in states.values():
            latest = state.latest_reading(at)
            if latest is not None and latest.value >= THRESHOLD:
                chosen.append(self._candidate(state, latest.value, True, 0))
        return chosen

    def _placehub(self, states: dict[int, BinState], day: date) -> list[Candidate]:
        def forecasts(state: BinState, at: datetime, horizons: Sequence[datetime]
                      ) -> list[Need]:
            history = state.history(at)
            history.demand_factors = self.known[state.site.id]
            return [self.forecaster.forecast(history, at, until) for until in horizons]

        return self._select(states, day, forecasts)

    def _oracle(self, states: dict[int, BinState], day: date) -> list[Candidate]:
        """placehub's selection on the bins' true future content (what no forecaster knows)."""
        return self._select(states, day, lambda state, at, horizons: [
            self._true_need(state, at, until) for until in horizons])

    def _select(self, states: dict[int, BinState], day: date,
                needs: Callable[[BinState, datetime, Sequence[datetime]], list[Need]]
                ) -> list[Candidate]:
        """placehub's selection at 06:00 from each bin's needs by half-way through today's
        shift (its load), by the next chance and by the prize horizon after it."""
        self._today = day
        at = _at(day, 6)
        visit = _at(day, 7) + timedelta(hours=self.config.shift_hours / 2)
        rules = self.config.rules
        next_visit = _at(day, 7) + timedelta(
            hours=self.config.shift_hours * rules.next_visit_shift_fraction) + DAY
        rows, soon, later = [], [], []
        details: dict[int, dict[str, object]] = {}
        for state in states.values():
            today, next_chance, after = needs(
                state, at, (visit, next_visit, next_visit + rules.prize_horizon_days * DAY))
            soon.append(next_chance)
            later.append(after)
            load = self._litres(state, today.expected_level)
            rows.append((state.site.id, state.site.name, state.site.lon, state.site.lat, load,
                         BIN_SERVICE_SECONDS))
            details[state.site.id] = self._details(state, load)
        candidates, _ = select_candidates(rows, soon, later, rules)
        return with_details(candidates, details)

    def _true_content(self, state: BinState, day: date, when: datetime) -> float:
        """The bin's true content at ``when`` (from the start of ``day``) if nobody empties it."""
        content, midnight = state.fill, _at(day, 0)
        while midnight < when:
            share = min((when - midnight) / DAY, 1.0)
            content += self.added(midnight.date())[state.site.id] * share
            midnight += DAY
        return content

    def _true_need(self, state: BinState, at: datetime, until: datetime) -> Need:
        """A certain forecast: the true level now and whether the bin overflows by ``until``."""
        now = self._true_content(state, at.date(), at)
        then = self._true_content(state, at.date(), until)
        return Need(state.site.id, LITTER_BIN, at, until, min(now, 1.1), 0.0, then,
                    1.0 if then > 1.0 else 0.0, None, None, 0, "oracle")

    def _litres(self, state: BinState, level: float) -> int:
        return int(state.site.capacity_litres * min(max(level, 0.1), 1.0))

    def _details(self, state: BinState, litres: int) -> dict[str, object]:
        """Weight and time window of a bin's stop (the same rules for every policy)."""
        details: dict[str, object] = {"weight_kg": int(math.ceil(litres
                                                                 * self.config.kg_per_litre))}
        before = self.config.town_centre_before_hour
        if before is not None and state.setting == "town_centre":
            # The window is in local time (British Summer Time moves it an hour earlier in
            # UTC); shifts start at 07:00 UTC.
            day = self._today
            latest = datetime.combine(day, time(int(before), 0), LOCAL_TIME).astimezone(UTC)
            details["window"] = (0, max(int((latest - _at(day, SHIFT_START.hour))
                                            .total_seconds()), 0))
            details["window_text"] = f"before {int(before):02d}:00"
        return details

    def _candidate(self, state: BinState, level: float, mandatory: bool,
                   prize: int) -> Candidate:
        load = self._litres(state, level)
        candidate = Candidate(state.site.id, state.site.name, state.site.lon, state.site.lat,
                              load, BIN_SERVICE_SECONDS, mandatory, prize, level, 0.0, "policy")
        return with_details([candidate], {state.site.id: self._details(state, load)})[0]

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
                  "placehub": self._placehub, "oracle": self._oracle}
        start_states = self.initial_states()
        results = {}
        for policy in policies:
            states = {k: v.copy() for k, v in start_states.items()}
            result = PolicyResult(policy, self.config.days, len(self.sites))
            for offset in range(self.config.days):
                day = self.config.start + offset * DAY
                self._morning(states, day)
                candidates = choose[policy](states, day)
                visits = self._route(candidates, day, result, states)
                self._live_day(states, day, visits, result)
                if on_day is not None:
                    on_day(policy, offset)
            results[policy] = result
        return results

    def _route(self, candidates: list[Candidate], day: date, result: PolicyResult,
               states: dict[int, BinState]) -> dict[int, datetime]:
        if not candidates:
            return {}
        plan = plan_day(candidates, self.fleet, self.distance, service=WASTE,
                        shift_start=_at(day, SHIFT_START.hour), snapshot_time=_at(day, 6),
                        seed=self.config.seed, max_iterations=self.config.max_iterations,
                        # PyVRP's own parameters: the documented simulation figures used them.
                        with_geometry=False, solve_params=None)
        result.solver_seconds += float(plan.solver["runtime_seconds"])  # type: ignore[arg-type]
        result.mandatory_left_out += sum(1 for x in plan.left_out if x.mandatory)
        midnight = _at(day, 0)
        added_today = self.added(day)
        visits = {}
        for route in plan.routes:
            if not route.asset_stops:
                continue
            result.km += route.km
            result.vehicle_days += 1
            result.vehicle_hours += route.work_seconds / 3600
            if route.stops[-1].kind != "reload":
                result.routes_not_ending_at_tip += 1
            true_load: dict[int, float] = {}
            for stop in route.asset_stops:
                assert stop.asset_id is not None
                visits[stop.asset_id] = stop.arrival
                result.stops += 1
                state = states[stop.asset_id]
                content = min(state.fill + added_today[stop.asset_id]
                              * (stop.arrival - midnight) / DAY, 1.0)
                true_load[stop.trip] = (true_load.get(stop.trip, 0.0)
                                        + content * state.site.capacity_litres)
            result.trips_over_capacity += sum(1 for litres in true_load.values()
                                              if litres > route.capacity_litres)
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
    fixed_km = float(figures["fixed"]["km"]) if "fixed" in figures else 0.0  # type: ignore[arg-type]
    for name in ("placehub", "oracle"):
        if "fixed" in figures and name in figures:
            km = float(figures[name]["km"])  # type: ignore[arg-type]
            savings[f"{name}_km_saving_vs_fixed"] = round(1 - km / fixed_km, 4) \
                if fixed_km else None
            savings[f"{name}_overflow_bin_days_vs_fixed"] = (
                figures[name]["overflow_bin_days"], figures["fixed"]["overflow_bin_days"])
    return {
        "service": WASTE,
        "days": config.days,
        "seed": config.seed,
        "start": config.start.isoformat(),
        "warmup_days": config.warmup_days,
        "bins": next(iter(results.values())).bins if results else 0,
        "bins_source": bins_source,
        "distance_source": distance_name,
        "scenario": config.scenario.describe(),
        "fixed_schedule": config.fixed_schedule,
        "calendar": config.describe_calendar(),
        "fleet": {"vehicles": config.vehicles, "vehicle_litres": config.vehicle_litres,
                  "shift_hours": config.shift_hours, "depot": config.depot, "tip": config.tip,
                  **config.describe()},
        "selection_rules": {"mandatory_probability": config.rules.mandatory_probability,
                            "nearby_boost": config.rules.nearby_boost,
                            "prize_horizon_days": config.rules.prize_horizon_days,
                            "risk_prize_m": config.rules.risk_prize_m},
        "solver": {"name": "PyVRP", "max_iterations_per_day": config.max_iterations},
        "co2_kg_per_km": CO2_KG_PER_KM,
        "co2_factor_source": "Defra/DECC GHG conversion factors, diesel rigid HGV > 17 t, UK "
                             "average load: 0.19234 kg CO2e/tonne-km x 5.08 t",
        "crew_size": CREW_SIZE,
        "policies": figures,
        "savings": savings,
    }


@dataclass(frozen=True)
class SeedJob:
    """One seed of a multi-seed simulation, self-contained so a worker process can run it."""

    sites: tuple[BinSite, ...]
    villages: dict[str, LonLat]
    distance: PrecomputedDistance
    config: SimulationConfig
    policies: tuple[str, ...]
    bins_source: str


def run_seed(job: SeedJob, on_day: Callable[[str, int], None] | None = None
             ) -> dict[str, object]:
    """Simulate one seed and answer its report (module level, so a process pool can run it)."""
    simulation = Simulation(job.sites, DemandModel(job.config.seed, job.villages), job.distance,
                            job.config)
    return report(simulation.run(job.policies, on_day=on_day), job.config, job.distance.name,
                  job.bins_source)


def run_seeds(jobs: Sequence[SeedJob], workers: int = 1,
              on_done: Callable[[dict[str, object]], None] | None = None
              ) -> list[dict[str, object]]:
    """Reports of several seeds, run ``workers`` at a time, in the order of ``jobs``."""
    if workers < 1:
        raise ValueError(f"workers {workers} < 1 not understood.")
    if workers == 1 or len(jobs) == 1:
        reports = []
        for job in jobs:
            reports.append(run_seed(job))
            if on_done is not None:
                on_done(reports[-1])
        return reports
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        futures = [pool.submit(run_seed, job) for job in jobs]
        reports = []
        for future in futures:
            reports.append(future.result())
            if on_done is not None:
                on_done(reports[-1])
    return reports


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {"median": round(float(statistics.median(values)), 4),
            "min": round(float(min(values)), 4), "max": round(float(max(values)), 4)}


def spread(reports: Sequence[dict[str, object]], overflow_limit: float = 0.01
           ) -> dict[str, object]:
    """Figures over seeds: median, min and max per policy, and for placehub (and the oracle,
    when run) the km saving against fixed rounds per seed and whether each seed keeps its
    overflow at most fixed's and at most ``overflow_limit`` of bin-days."""
    if not reports:
        raise ValueError("no reports to summarise.")
    policies: dict[str, dict[str, object]] = {}
    names = list(reports[0]["policies"])  # type: ignore[call-overload]
    for name in names:
        rows = [r["policies"][name] for r in reports]  # type: ignore[index]
        policies[name] = {key: _spread([float(row[key]) for row in rows])
                          for key in ("km", "overflow_bin_days", "overflow_share", "stops",
                                      "vehicle_days", "crew_hours")}
    summary: dict[str, object] = {"seeds": [r["seed"] for r in reports], "policies": policies}
    for name in ("placehub", "oracle"):
        if "fixed" in names and name in names:
            summary[f"{name}_vs_fixed"] = _versus_fixed(reports, name, overflow_limit)
    return summary


def _versus_fixed(reports: Sequence[dict[str, object]], name: str, overflow_limit: float
                  ) -> dict[str, object]:
    """A policy's km saving against fixed rounds per seed and over the seeds, and in how many
    seeds its overflow stayed at most fixed's and at most ``overflow_limit`` of bin-days."""
    per_seed = []
    for r in reports:
        fixed, policy = r["policies"]["fixed"], r["policies"][name]  # type: ignore[index]
        saving = 1 - float(policy["km"]) / float(fixed["km"]) if fixed["km"] else 0.0
        per_seed.append({
            "seed": r["seed"], "km_saving": round(saving, 4),
            "overflow_bin_days": [policy["overflow_bin_days"], fixed["overflow_bin_days"]],
            "overflow_share": policy["overflow_share"],
            "overflow_at_most_fixed": policy["overflow_bin_days"] <= fixed["overflow_bin_days"],
            "overflow_at_most_limit": float(policy["overflow_share"]) <= overflow_limit,
        })
    return {
        "km_saving": _spread([row["km_saving"] for row in per_seed]),
        "seeds_with_overflow_at_most_fixed": sum(
            bool(row["overflow_at_most_fixed"]) for row in per_seed),
        "seeds_with_overflow_at_most_limit": sum(
            bool(row["overflow_at_most_limit"]) for row in per_seed),
        "overflow_limit": overflow_limit,
        "per_seed": per_seed,
    }


def _median_of(values: list[object]) -> object:
    """The median of numbers, or of each component of equal-length pairs (None if none)."""
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if numbers:
        return round(float(statistics.median(numbers)), 4)
    pairs = [v for v in values if isinstance(v, list | tuple) and v]
    if pairs and len({len(p) for p in pairs}) == 1:
        return [_median_of([p[n] for p in pairs]) for n in range(len(pairs[0]))]
    return None


def simulation_run(reports: Sequence[dict[str, object]], started_at: datetime, seconds: float,
                   actor: str) -> runs.RunRecord:
    """The run record of a simulation (waste or watering, one seed or several): how it was
    set up and, as measured performance, placehub's savings against fixed rounds and each
    policy's km (medians over the seeds)."""
    first = reports[0]
    kind = "beds" if "beds" in first else "bins"
    savings = [r.get("savings") or {} for r in reports]
    metrics: dict[str, object] = {
        key: _median_of([s.get(key) for s in savings])  # type: ignore[attr-defined]
        for key in sorted({k for s in savings for k in s})}  # type: ignore[attr-defined]
    for policy in first["policies"]:  # type: ignore[attr-defined]
        metrics[f"{policy}_km"] = _median_of(
            [r["policies"][policy]["km"] for r in reports])  # type: ignore[index]
    metrics["seeds"] = len(reports)
    named = ("service", "days", "start", "distance_source", "fixed_schedule",
             "fixed_watering_days", "selection_rules", "solver", "fleet")
    parameters: dict[str, Any] = {key: first[key] for key in named if key in first}
    parameters["scenario"] = (first.get("scenario") or {}).get("name")  # type: ignore[attr-defined]
    parameters["policies"] = list(first["policies"])  # type: ignore[call-overload]
    parameters["seeds"] = [r["seed"] for r in reports]
    return runs.RunRecord(
        runs.ROUNDS_SIMULATION, started_at, round(seconds, 3), parameters,
        seed=int(first["seed"]) if len(reports) == 1 else None,  # type: ignore[call-overload]
        inputs=[runs.InputData(str(first.get(f"{kind}_source", kind)),
                               int(first.get(kind, 0)))],  # type: ignore[call-overload]
        volumes={kind: first.get(kind, 0), "days": first.get("days"), "seeds": len(reports)},
        metrics=metrics, actor=actor, reference="simulation")
