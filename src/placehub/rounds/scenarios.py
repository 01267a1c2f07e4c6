"""Simulation scenarios: a world that departs from what the forecaster assumes.

The demand model (``placehub.rounds.demand``) has exactly the structure the forecaster estimates:
a steady rate per bin, a weekday profile and independent daily noise. A ``Scenario`` adds what
councils meet on the street, in three groups:

- **demand**: a county-wide weather factor shared by every bin and persistent from day to day,
  bank holidays and local events (a town's or a village's bins fill several times faster on the
  day), and a share of bins whose rate drifts week by week or jumps once (a new takeaway, a
  bus stop moved);
- **sensors**: dead sensors, sensors stuck on one value, spikes, missing readings, readings that
  arrive late, and batteries that fade out;
- **operations**: emptyings missed (blocked access), partial (a liner stuck, bags left) and
  reported late (the crew marks stops done at the end of the day or the next morning).

``ScenarioWorld`` draws all of it for one seed, keyed by bin and time only, so every policy of a
simulation meets the same weather, the same faulty sensors and the same bad luck. The defaults
and their sources are in docs/rounds.md ("Scenarios").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, timedelta

import numpy as np

from placehub.places.distance import metres_between
from placehub.rounds.demand import TOWN_CENTRES, BinSite

DAY = timedelta(days=1)
READINGS_PER_DAY = 2

# Bank holidays in England (GOV.UK, "UK bank holidays", England and Wales), 2025-2027.
BANK_HOLIDAYS_ENGLAND: frozenset[date] = frozenset(date.fromisoformat(d) for d in (
    "2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25",
    "2025-12-25", "2025-12-26",
    "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31",
    "2026-12-25", "2026-12-28",
    "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30",
    "2027-12-27", "2027-12-28",
))


@dataclass(frozen=True)
class Scenario:
    """How the simulated world departs from the forecaster's model (see docs/rounds.md).

    Shares are of bins (or sensors, or visits); probabilities are per reading.
    """

    name: str = "realistic"
    # -- demand ---------------------------------------------------------------------------
    # Standard deviation of the log of the county-wide daily demand factor, and how much of
    # yesterday's factor carries over to today (AR(1) coefficient).
    weather_sd: float = 0.2
    weather_persistence: float = 0.7
    # Demand on a bank holiday: town-centre and park bins x this, others half as much extra.
    bank_holiday_factor: float = 1.8
    # Local events (a fair, a match, a festival) per 28 days; on the day, every bin of one
    # town or village fills this many times faster.
    events_per_28_days: float = 2.0
    event_factor: float = 2.5
    # Bins whose rate drifts (up to +/- drift_per_week of the base rate per week) ...
    drift_share: float = 0.10
    drift_per_week: float = 0.15
    # ... and bins whose rate jumps once, to between half and 2.5 times the old rate.
    jump_share: float = 0.05
    # -- sensors --------------------------------------------------------------------------
    dead_share: float = 0.02
    stuck_share: float = 0.03
    battery_death_share: float = 0.02
    spike_probability: float = 0.01
    missing_probability: float = 0.05
    # A share of readings arrives late, by up to late_reading_hours.
    late_reading_share: float = 0.10
    late_reading_hours: float = 12.0
    # -- operations -----------------------------------------------------------------------
    missed_share: float = 0.02
    partial_share: float = 0.05
    partial_left: float = 0.3
    late_report_share: float = 0.3
    late_report_hours: float = 24.0

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, float) and (value < 0 or not math.isfinite(value)):
                raise ValueError(f"scenario {item.name} = {value} not understood: use a "
                                 "number >= 0.")
        shares = ("dead_share", "stuck_share", "battery_death_share", "spike_probability",
                  "missing_probability", "late_reading_share", "missed_share",
                  "partial_share", "partial_left", "late_report_share", "drift_share",
                  "jump_share", "weather_persistence")
        for name in shares:
            if getattr(self, name) > 1:
                raise ValueError(f"scenario {name} = {getattr(self, name)} is a share: use a "
                                 "number from 0 to 1.")
        if self.dead_share + self.stuck_share + self.battery_death_share > 1:
            raise ValueError("dead, stuck and battery-death shares add up to more than 1.")
        if self.weather_persistence >= 1:
            raise ValueError("weather_persistence must be below 1.")

    def describe(self) -> dict[str, object]:
        """The scenario's parameters, for the simulation's report."""
        return asdict(self)


PERFECT = Scenario(
    name="perfect", weather_sd=0.0, bank_holiday_factor=1.0, events_per_28_days=0.0,
    drift_share=0.0, jump_share=0.0, dead_share=0.0, stuck_share=0.0,
    battery_death_share=0.0, spike_probability=0.0, missing_probability=0.0,
    late_reading_share=0.0, missed_share=0.0, partial_share=0.0, late_report_share=0.0)
REALISTIC = Scenario()
_DEMAND = ("weather_sd", "bank_holiday_factor", "events_per_28_days", "drift_share",
           "jump_share")
_SENSORS = ("dead_share", "stuck_share", "battery_death_share", "spike_probability",
            "missing_probability", "late_reading_share")
_OPERATIONS = ("missed_share", "partial_share", "late_report_share")


def _only(name: str, keep: tuple[str, ...]) -> Scenario:
    """The realistic scenario with only the ``keep`` group switched on."""
    values = {key: getattr(REALISTIC, key) for key in keep}
    return replace(PERFECT, name=name, **values)


SCENARIOS: dict[str, Scenario] = {
    "realistic": REALISTIC,
    "perfect": PERFECT,
    "demand": _only("demand", _DEMAND),
    "sensor-faults": _only("sensor-faults", _SENSORS),
    "operations": _only("operations", _OPERATIONS),
}


def scenario_named(name: str, **overrides: float) -> Scenario:
    """A preset scenario by name, with some parameters overridden (None values are ignored)."""
    if name not in SCENARIOS:
        raise ValueError(f"scenario {name!r} not understood: use one of {', '.join(SCENARIOS)}.")
    given = {k: float(v) for k, v in overrides.items() if v is not None}
    unknown = set(given) - {f.name for f in fields(Scenario)}
    if unknown:
        raise ValueError(f"unknown scenario parameter {sorted(unknown)}")
    return replace(SCENARIOS[name], **given) if given else SCENARIOS[name]  # type: ignore[arg-type]


@dataclass(frozen=True)
class SensorFate:
    """What goes wrong with one bin's sensor: nothing, or a fault from ``since`` (a day index)."""

    fault: str  # "", "dead", "stuck" or "battery"
    since: float  # days from the start of the world


@dataclass(frozen=True)
class Reading:
    """What the sensor sends for one reading slot: a value (None: lost) and when it arrives."""

    value: float | None
    delay_hours: float


@dataclass(frozen=True)
class Visit:
    """What happens when a crew reaches a bin: emptied fully, partly (share left) or not."""

    missed: bool
    left_share: float
    report_delay_hours: float


class ScenarioWorld:
    """One seed's draws of a scenario over the days ``first``..``last`` (inclusive)."""

    def __init__(self, scenario: Scenario, seed: int, sites: Sequence[BinSite], first: date,
                 last: date, places: dict[int, str] | None = None) -> None:
        if last < first:
            raise ValueError(f"last day {last} is before first day {first}.")
        self.scenario = scenario
        self.seed = seed
        self.first = first
        self.days = (last - first).days + 1
        rng = np.random.default_rng([seed, 501])
        # Weather: an AR(1) process on the log scale, mean factor 1.
        sd, phi = scenario.weather_sd, scenario.weather_persistence
        x = np.zeros(self.days)
        x[0] = rng.normal(0, sd)
        for t in range(1, self.days):
            x[t] = phi * x[t - 1] + math.sqrt(1 - phi**2) * rng.normal(0, sd)
        self.weather = np.exp(x - sd**2 / 2)
        self.places = dict(places) if places is not None else {s.id: place_of(s) for s in sites}
        names = sorted(set(self.places.values()))
        count = int(rng.poisson(scenario.events_per_28_days * self.days / 28)) if names else 0
        self.events: dict[int, set[str]] = {}
        for _ in range(count):
            day = int(rng.integers(0, self.days))
            self.events.setdefault(day, set()).add(names[int(rng.integers(0, len(names)))])
        self._drift: dict[int, float] = {}
        self._jump: dict[int, tuple[float, float]] = {}
        self._fate: dict[int, SensorFate] = {}
        for site in sites:
            own = np.random.default_rng([seed, 502, site.id])
            if own.random() < scenario.drift_share:
                self._drift[site.id] = float(own.uniform(-1, 1)) * scenario.drift_per_week
            if own.random() < scenario.jump_share:
                self._jump[site.id] = (float(own.uniform(7, max(self.days, 8))),
                                       float(own.uniform(0.5, 2.5)))
            draw = own.random()
            since = float(own.uniform(3, max(self.days, 4)))
            dead, stuck = scenario.dead_share, scenario.stuck_share
            if draw < dead:
                self._fate[site.id] = SensorFate("dead", since)
            elif draw < dead + stuck:
                self._fate[site.id] = SensorFate("stuck", since)
            elif draw < dead + stuck + scenario.battery_death_share:
                self._fate[site.id] = SensorFate("battery", since)

    # -- demand -------------------------------------------------------------------------------

    def demand_factor(self, site: BinSite, setting: str, day: date) -> float:
        """How many times the model's demand the bin sees on ``day``."""
        index = (day - self.first).days
        if not 0 <= index < self.days:
            return 1.0
        s = self.scenario
        factor = float(self.weather[index])
        if day in BANK_HOLIDAYS_ENGLAND:
            busy = setting == "town_centre" or site.near_park
            factor *= s.bank_holiday_factor if busy else 1 + (s.bank_holiday_factor - 1) / 2
        if self.places.get(site.id) in self.events.get(index, ()):
            factor *= s.event_factor
        if site.id in self._drift:
            factor *= max(0.2, 1 + self._drift[site.id] * index / 7)
        if site.id in self._jump and index >= self._jump[site.id][0]:
            factor *= self._jump[site.id][1]
        return factor

    def event_days(self) -> list[tuple[date, str]]:
        """The local events drawn: (day, town or village)."""
        return sorted((self.first + i * DAY, place)
                      for i, places in self.events.items() for place in places)

    # -- sensors ------------------------------------------------------------------------------

    def fate(self, site_id: int) -> SensorFate:
        """The sensor fault of a bin, if any."""
        return self._fate.get(site_id, SensorFate("", math.inf))

    def reading(self, site_id: int, day: date, slot: int, true_value: float,
                frozen: float | None, noise_sd: float, top: float = 1.0) -> Reading:
        """What the sensor sends for reading ``slot`` of ``day`` (``frozen``: a stuck value).

        Values are clipped to [0, ``top``]; a spike reads 0 or ``top``.
        """
        s = self.scenario
        index = (day - self.first).days
        rng = np.random.default_rng([self.seed, 503, site_id, index, slot])
        noise = float(rng.normal(0, noise_sd))
        fate = self.fate(site_id)
        when = index + (slot + 0.5) / READINGS_PER_DAY
        lost = rng.random() < s.missing_probability
        if fate.fault in ("dead", "battery") and when >= fate.since:
            lost = True
        if fate.fault == "battery" and fate.since - 3 <= when < fate.since:
            lost = lost or rng.random() < (when - (fate.since - 3)) / 3  # a fading battery
        delay = float(rng.uniform(0, s.late_reading_hours)) \
            if rng.random() < s.late_reading_share else 0.0
        if lost:
            return Reading(None, delay)
        if fate.fault == "stuck" and when >= fate.since and frozen is not None:
            return Reading(frozen, delay)
        if rng.random() < s.spike_probability:
            return Reading(top if rng.random() < 0.5 else 0.0, delay)
        return Reading(min(max(min(true_value, top) + noise, 0.0), top), delay)

    def stuck_now(self, site_id: int, day: date, slot: int) -> bool:
        """Whether the bin's sensor is stuck by reading ``slot`` of ``day``."""
        fate = self.fate(site_id)
        when = (day - self.first).days + (slot + 0.5) / READINGS_PER_DAY
        return fate.fault == "stuck" and when >= fate.since

    # -- operations ---------------------------------------------------------------------------

    def visit(self, site_id: int, day: date) -> Visit:
        """What happens at the bin's emptying on ``day`` (the same for every policy)."""
        s = self.scenario
        rng = np.random.default_rng([self.seed, 504, site_id, (day - self.first).days])
        missed = rng.random() < s.missed_share
        left = s.partial_left if rng.random() < s.partial_share else 0.0
        delay = float(rng.uniform(0, s.late_report_hours)) \
            if rng.random() < s.late_report_share else 0.0
        return Visit(missed, left, delay)


def place_of(site: BinSite) -> str:
    """The town or village a bin belongs to (its settlement, else the nearest town)."""
    if site.settlement:
        return site.settlement
    return min(TOWN_CENTRES, key=lambda t: metres_between((site.lon, site.lat), TOWN_CENTRES[t]))
