"""Simulating watering rounds like waste rounds: fixed watering days against placehub's choice.

Flowerbeds dry by season and weather (``DemandModel.daily_drying``: drying by month, rain shared
by every bed on 30% of days) with the scenario's county-wide weather factor on top (a hot spell
dries every bed faster for days); soil sensors read at 06:00 and 18:00 with the scenario's faults.
Watering brings a bed back to field capacity. Policies:

- ``fixed``: every bed on the parks team's watering days (Tuesday and Friday by default, as the
  demo's history), except the morning after a day of rain (crews do not water wet beds);
- ``placehub``: on the same watering days, only the beds the forecaster says are at risk of
  falling below their watering threshold before the next watering day (and nearby beds worth
  the detour), with the same selection and router as waste.

Bowsers start at the depot and refill at the water point there. A bed-day is dry when the bed's
soil moisture is below its threshold at any moment of the day.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from placehub.places.distance import LonLat
from placehub.rounds.demand import BinSite, DemandModel
from placehub.rounds.forecast import (
    FLOWERBED,
    AssetHistory,
    Forecaster,
    PlacehubForecaster,
    Reading,
)
from placehub.rounds.planning import (
    WATERING,
    Candidate,
    Fleet,
    SelectionRules,
    Vehicle,
    plan_day,
    rules_for,
    select_candidates,
)
from placehub.rounds.scenarios import REALISTIC, Scenario, ScenarioWorld
from placehub.rounds.simulation import CREW_SIZE, PrecomputedDistance

WATERING_POLICIES = ("fixed", "placehub")
FIXED_WATERING_DAYS = (1, 4)  # Tuesday and Friday, as the demo's parks team
# A bed watered comes back to about field capacity (volumetric %, the demo's history uses 38).
WATERED_TO = 38.0
FIELD_CAPACITY = 45.0
MOISTURE_NOISE = 0.5
# A day with more rain than this (moisture points) makes the fixed round skip the next morning.
RAIN_SKIP_POINTS = 4.0
READING_HOURS = (6, 18)
SHIFT_START = time(7, 0)
WATERING_BASE_SECONDS = 180
WATERING_LITRES_PER_MINUTE = 20.0
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Bed:
    """A flowerbed: where, its watering threshold (%) and the water one watering takes."""

    id: int
    lon: float
    lat: float
    name: str = ""
    threshold: float = 22.0
    water_litres: int = 120


@dataclass(frozen=True)
class WateringConfig:
    """Everything that defines a watering simulation run (recorded in its output)."""

    days: int = 28
    seed: int = 1
    start: date = date(2026, 6, 1)  # a Monday in June: beds dry fast
    warmup_days: int = 14
    vehicles: int = 2
    bowser_litres: int = 1000
    shift_hours: float = 7.5
    depot: LonLat = (-0.7395, 52.6745)
    max_iterations: int = 800
    rules: SelectionRules = field(default_factory=lambda: rules_for(WATERING))
    scenario: Scenario = REALISTIC
    fixed_days: tuple[int, ...] = FIXED_WATERING_DAYS
    break_minutes: int = 30
    break_after_hours: float = 6.0

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"days {self.days} < 1 not understood.")
        if self.warmup_days < 2:
            raise ValueError(f"warmup_days {self.warmup_days} < 2: the forecaster needs history.")


@dataclass
class WateringResult:
    """What a watering policy cost and how well it kept beds moist."""

    policy: str
    days: int
    beds: int
    km: float = 0.0
    stops: int = 0
    vehicle_days: int = 0
    vehicle_hours: float = 0.0
    dry_bed_days: int = 0
    water_litres: int = 0

    def as_dict(self) -> dict[str, object]:
        bed_days = self.days * self.beds
        return {"policy": self.policy, "km": round(self.km, 1), "stops": self.stops,
                "vehicle_days": self.vehicle_days,
                "crew_hours": round(self.vehicle_hours * CREW_SIZE, 1),
                "vehicle_hours": round(self.vehicle_hours, 1),
                "dry_bed_days": self.dry_bed_days, "bed_days": bed_days,
                "overflow_bin_days": self.dry_bed_days,  # the shared spread's name for misses
                "overflow_share": round(self.dry_bed_days / bed_days, 5) if bed_days else 0.0,
                "water_litres": self.water_litres}


@dataclass
class BedState:
    """A simulated bed: its true moisture and what placehub heard of it."""

    bed: Bed
    moisture: float
    readings: list[Reading] = field(default_factory=list)
    arrivals: list[datetime] = field(default_factory=list)
    services: list[datetime] = field(default_factory=list)
    reported: list[datetime] = field(default_factory=list)
    frozen: float | None = None

    def copy(self) -> BedState:
        return BedState(self.bed, self.moisture, list(self.readings), list(self.arrivals),
                        list(self.services), list(self.reported), self.frozen)

    def history(self, at: datetime) -> AssetHistory:
        readings = sorted((r for r, a in zip(self.readings, self.arrivals, strict=True)
                           if a <= at), key=lambda r: r.time)
        services = [s for s, r in zip(self.services, self.reported, strict=True) if r <= at]
        return AssetHistory(self.bed.id, FLOWERBED, readings, services,
                            watering_threshold=self.bed.threshold)


def _at(day: date, hour: float) -> datetime:
    return datetime.combine(day, time(0, 0), UTC) + timedelta(hours=hour)


class WateringSimulation:
    """Fixed watering days against placehub's need-driven watering, on the same weather."""

    def __init__(self, beds: Sequence[Bed], demand: DemandModel, distance: PrecomputedDistance,
                 config: WateringConfig, forecaster: Forecaster | None = None) -> None:
        if not beds:
            raise ValueError("no flowerbeds to simulate.")
        self.beds = list(beds)
        self.demand = demand
        self.config = config
        self.forecaster = forecaster or PlacehubForecaster()
        self.distance = distance
        shift = int(config.shift_hours * 3600)
        self.fleet = Fleet(tuple(
            Vehicle(f"Bowser {i + 1}", config.bowser_litres, shift, config.depot, config.depot,
                    break_seconds=config.break_minutes * 60,
                    break_after_seconds=int(config.break_after_hours * 3600))
            for i in range(config.vehicles)), config.depot, reload_seconds=600,
            reload_name="water point")
        first = config.start - config.warmup_days * DAY
        # The scenario's sensors and operations apply to beds as to bins (keyed by bed id).
        sites = [BinSite(b.id, b.lon, b.lat, name=b.name, settlement=b.name) for b in beds]
        self.world = ScenarioWorld(config.scenario, config.seed, sites, first,
                                   config.start + (config.days - 1) * DAY,
                                   places={b.id: "" for b in beds})
        self.rng = np.random.default_rng([config.seed, 98])
        self._change: dict[date, dict[int, float]] = {}

    def change(self, day: date) -> dict[int, float]:
        """Each bed's moisture change on ``day``: rain minus drying, drying x the weather."""
        if day not in self._change:
            index = (day - self.world.first).days
            weather = float(self.world.weather[index]) if 0 <= index < self.world.days else 1.0
            changes = {}
            rain = self.demand.rain(day)
            for bed in self.beds:
                changes[bed.id] = rain - self.demand.drying(bed.id, day) * weather
            self._change[day] = changes
        return self._change[day]

    def rained(self, day: date) -> bool:
        """Whether ``day`` brought real rain (the fixed round skips the next morning)."""
        return self.demand.rain(day) > RAIN_SKIP_POINTS

    def _read(self, state: BedState, day: date, slot: int, value: float) -> None:
        when = _at(day, READING_HOURS[slot])
        sent = self.world.reading(state.bed.id, day, slot, value, state.frozen, MOISTURE_NOISE,
                                  top=60.0)
        if sent.value is None:
            return
        if state.frozen is None and self.world.stuck_now(state.bed.id, day, slot):
            state.frozen = sent.value
        state.readings.append(Reading(when, sent.value))
        state.arrivals.append(when + timedelta(hours=sent.delay_hours))

    def _live_day(self, states: dict[int, BedState], day: date, visits: dict[int, datetime],
                  result: WateringResult | None) -> None:
        midnight = _at(day, 0)
        changes = self.change(day)
        for bed_id, state in states.items():
            change = changes[bed_id]
            start = state.moisture
            visit = visits.get(bed_id)
            lowest = start
            after = start
            if visit is not None:
                outcome = self.world.visit(bed_id, day)
                before = start + change * (visit - midnight) / DAY
                lowest = min(lowest, before)
                if not outcome.missed:
                    watered = WATERED_TO if not outcome.left_share else (before + WATERED_TO) / 2
                    after = max(before, watered)
                    state.services.append(visit)
                    state.reported.append(visit + timedelta(hours=outcome.report_delay_hours))
                    if result is not None:
                        result.water_litres += state.bed.water_litres
                else:
                    visit = None

            def level(when: datetime, visit: datetime | None = visit, start: float = start,
                      after: float = after, change: float = change) -> float:
                fraction = (when - midnight) / DAY
                if visit is not None and when >= visit:
                    return after + change * (fraction - (visit - midnight) / DAY)
                return start + change * fraction

            self._read(state, day, 1, level(midnight + timedelta(hours=READING_HOURS[1])))
            end = min(level(midnight + DAY), FIELD_CAPACITY)
            lowest = min(lowest, end, level(midnight + timedelta(hours=READING_HOURS[1])))
            state.moisture = max(end, 5.0)
            if result is not None and lowest < state.bed.threshold:
                result.dry_bed_days += 1

    def _morning(self, states: dict[int, BedState], day: date) -> None:
        changes = self.change(day)
        for bed_id, state in states.items():
            self._read(state, day, 0, state.moisture + changes[bed_id] * READING_HOURS[0] / 24)

    def _candidate(self, state: BedState, mandatory: bool, prize: int, level: float,
                   probability: float, reason: str) -> Candidate:
        litres = state.bed.water_litres
        seconds = WATERING_BASE_SECONDS + int(litres / WATERING_LITRES_PER_MINUTE * 60)
        return Candidate(state.bed.id, state.bed.name, state.bed.lon, state.bed.lat, litres,
                         seconds, mandatory, prize, level, probability, reason,
                         weight_kg=litres)

    def _fixed(self, states: dict[int, BedState], day: date) -> list[Candidate]:
        if day.weekday() not in self.config.fixed_days or self.rained(day - DAY):
            return []
        return [self._candidate(s, True, 0, s.moisture, 0.0, "fixed watering day")
                for s in states.values()]

    def next_watering_day(self, day: date) -> date:
        """The watering day after ``day`` (the crew's next chance)."""
        later = day + DAY
        while self.config.fixed_days and later.weekday() not in self.config.fixed_days:
            later += DAY
        return later

    def _placehub(self, states: dict[int, BedState], day: date) -> list[Candidate]:
        # The parks team waters on its watering days, as the fixed round does: placehub only
        # chooses which beds, those at risk of drying out before the next watering day.
        if self.config.fixed_days and day.weekday() not in self.config.fixed_days:
            return []
        at = _at(day, 6)
        rules = self.config.rules
        next_visit = _at(self.next_watering_day(day), 7) + timedelta(
            hours=self.config.shift_hours * rules.next_visit_shift_fraction)
        rows, soon, later = [], [], []
        for state in states.values():
            history = state.history(at)
            soon.append(self.forecaster.forecast(history, at, next_visit))
            later.append(self.forecaster.forecast(
                history, at, next_visit + rules.prize_horizon_days * DAY))
            base = self._candidate(state, False, 0, 0.0, 0.0, "")
            rows.append((base.asset_id, base.name, base.lon, base.lat, base.load_litres,
                         base.service_seconds))
        candidates, _ = select_candidates(rows, soon, later, rules)
        return [replace(c, weight_kg=c.load_litres) for c in candidates]

    def initial_states(self) -> dict[int, BedState]:
        states = {b.id: BedState(b, float(self.rng.uniform(28, 38))) for b in self.beds}
        warmup_start = self.config.start - self.config.warmup_days * DAY
        for offset in range(self.config.warmup_days):
            day = warmup_start + offset * DAY
            self._morning(states, day)
            visits = {c.asset_id: _at(day, 10) for c in self._fixed(states, day)}
            self._live_day(states, day, visits, None)
        return states

    def run(self, policies: Sequence[str] = WATERING_POLICIES,
            on_day: Callable[[str, int], None] | None = None) -> dict[str, WateringResult]:
        unknown = set(policies) - set(WATERING_POLICIES)
        if unknown:
            raise ValueError(f"unknown policy {sorted(unknown)}: use "
                             f"{', '.join(WATERING_POLICIES)}.")
        choose = {"fixed": self._fixed, "placehub": self._placehub}
        start_states = self.initial_states()
        results = {}
        for policy in policies:
            states = {k: v.copy() for k, v in start_states.items()}
            result = WateringResult(policy, self.config.days, len(self.beds))
            for offset in range(self.config.days):
                day = self.config.start + offset * DAY
                self._morning(states, day)
                visits = self._route(choose[policy](states, day), day, result)
                self._live_day(states, day, visits, result)
                if on_day is not None:
                    on_day(policy, offset)
            results[policy] = result
        return results

    def _route(self, candidates: list[Candidate], day: date,
               result: WateringResult) -> dict[int, datetime]:
        if not candidates:
            return {}
        plan = plan_day(candidates, self.fleet, self.distance, service=WATERING,
                        shift_start=_at(day, SHIFT_START.hour), snapshot_time=_at(day, 6),
                        seed=self.config.seed, max_iterations=self.config.max_iterations,
                        with_geometry=False, solve_params=None)
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


def watering_report(results: dict[str, WateringResult], config: WateringConfig,
                    distance_name: str, beds_source: str) -> dict[str, object]:
    """The watering simulation's JSON output, shaped like the waste one."""
    figures = {name: r.as_dict() for name, r in results.items()}
    savings: dict[str, object] = {}
    if "fixed" in figures and "placehub" in figures:
        fixed_km = float(figures["fixed"]["km"])  # type: ignore[arg-type]
        savings = {
            "placehub_km_saving_vs_fixed": round(
                1 - float(figures["placehub"]["km"]) / fixed_km, 4)  # type: ignore[arg-type]
            if fixed_km else None,
            "placehub_dry_bed_days_vs_fixed": (figures["placehub"]["dry_bed_days"],
                                               figures["fixed"]["dry_bed_days"]),
        }
    return {"service": WATERING, "days": config.days, "seed": config.seed,
            "start": config.start.isoformat(), "warmup_days": config.warmup_days,
            "beds": next(iter(results.values())).beds if results else 0,
            "beds_source": beds_source, "distance_source": distance_name,
            "scenario": config.scenario.describe(),
            "fixed_watering_days": list(config.fixed_days),
            "fleet": {"bowsers": config.vehicles, "bowser_litres": config.bowser_litres,
                      "shift_hours": config.shift_hours, "depot": config.depot},
            "solver": {"name": "PyVRP", "max_iterations_per_day": config.max_iterations},
            "policies": figures, "savings": savings}


@dataclass(frozen=True)
class WateringJob:
    """One seed of a watering simulation, self-contained for a worker process."""

    beds: tuple[Bed, ...]
    distance: PrecomputedDistance
    config: WateringConfig
    policies: tuple[str, ...]
    beds_source: str


def run_watering_seed(job: WateringJob) -> dict[str, object]:
    """Simulate one seed of watering and answer its report."""
    simulation = WateringSimulation(job.beds, DemandModel(job.config.seed), job.distance,
                                    job.config)
    return watering_report(simulation.run(job.policies), job.config, job.distance.name,
                           job.beds_source)


def rutland_beds(pbf_path: str, count: int, seed: int) -> list[Bed]:
    """Flowerbeds in Rutland's parks and gardens (OSM leisure=park/garden), one per green space
    first, then more in the bigger ones, seeded."""
    from placehub.places.osm import read_areas

    areas = [a for a in read_areas(pbf_path, "leisure", frozenset({"park", "garden"}))
             if a.tags.get("access") not in {"private", "no"}]
    areas.sort(key=lambda a: (-a.geometry.area, a.osm_id))
    rng = np.random.default_rng([seed, 12])
    beds: list[Bed] = []
    while len(beds) < count and areas:
        area = areas[len(beds) % len(areas)]
        point = area.geometry.representative_point()
        lon = point.x + float(rng.normal(0, 0.0003))
        lat = point.y + float(rng.normal(0, 0.0002))
        beds.append(Bed(len(beds) + 1, lon, lat, f"Flowerbed {len(beds) + 1} "
                                                 f"({area.tags.get('name', 'green space')})"))
    return beds
