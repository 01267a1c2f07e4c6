"""Rule kinds: how each judges one Observation (or a timer tick) from its small saved state.

A kind never reads history: ``observe`` gets one value (a float: the engine turns numbers and
booleans into floats and skips other results) and the state dict of its (rule, subject)
and returns a verdict — ``("B", value, since, message)`` when the condition holds, ``("C", at)``
when it is clear, or None when it cannot tell yet. The engine turns verdicts into alerts (opening
once per episode, resolving after the rule's hold-off). Times are epoch seconds so states stay
small JSON.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from placehub.alerts.sources import FrameCounters
from placehub.assets.forecasting import Crossing
from placehub.assets.thresholds import THRESHOLD_NAMES
from placehub.places.distance import haversine_m

HOUR = 3600.0
Verdict = tuple[Any, ...]
# "Still breaching" within an open episode: nothing to format, the alert is open already.
STILL: Verdict = ("B",)
SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class Rule:
    """A rule as stored in ``alert_rules``."""

    id: int
    key: str
    name: str
    kind: str
    params: dict[str, Any]
    severity: str = "warning"
    quantity: str | None = None
    asset_type: str | None = None
    thing_id: int | None = None
    enabled: bool = True
    hold_off_s: int = 0
    auto_resolve: bool = True


@dataclass
class Context:
    """What a kind may consult besides its state: the asset, its forecast, device health.

    ``extra`` holds the rule's limits resolved from the asset's thresholds when the rule names
    one (``limit`` in the Datastream's unit, ``silence_s``), so the asset's own "full" or "dry"
    line is the one its alert uses.
    """

    thing_id: int
    thing_name: str = ""
    quantity: str | None = None
    crossing: Crossing | None = None
    frame_counters: FrameCounters | None = None
    last_seen: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def number(value: Any) -> float | None:
    """An Observation result as a float (booleans as 1/0); None for anything else."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
        return float(value)
    return None


class RuleKind:
    """Base of the kinds: which Datastreams it watches and how it judges them."""

    name = ""
    # "datastream": one subject per watched Datastream; "thing": one per asset.
    scope = "datastream"
    # Quantities it watches; None with scope "thing" means every Datastream of the asset.
    default_quantities: tuple[str, ...] | None = ()
    required: tuple[str, ...] = ()
    # Evaluated on the timer (no_data, frame counters) rather than on Observations only.
    timer = False

    def quantities(self, rule: Rule) -> tuple[str, ...] | None:
        if rule.quantity:
            return (rule.quantity,)
        return self.default_quantities

    def validate(self, params: dict[str, Any]) -> None:
        missing = [p for p in self.required if p not in params]
        if missing:
            raise ValueError(f"rule kind {self.name} needs {', '.join(missing)}")

    def observe(self, rule: Rule, state: dict[str, Any], t: float, value: float,
                end: float | None, ctx: Context) -> Verdict | None:
        return None

    def tick(self, rule: Rule, state: dict[str, Any], now: float, ctx: Context
             ) -> Verdict | None:
        return None

    def observe_many(self, rule: Rule, state: dict[str, Any], times: list[float],
                     values: list[float], ends: list[float | None], ctx: Context,
                     judge: Callable[[Verdict], None]) -> None:
        """Judge a Datastream's readings of one batch in order, handing each verdict to
        ``judge`` at once (it may change the state the next reading is judged with).

        The engine first judges whole batches with ``batch_rules`` (NumPy); this is the path
        for the rows it cannot settle and the kinds it does not cover.
        """
        observe = self.observe
        for t, v, e in zip(times, values, ends, strict=True):
            verdict = observe(rule, state, t, v, e, ctx)
            if verdict is not None:
                judge(verdict)


# Threshold comparisons: strictly above or below, or at a line and beyond (an asset's "full"
# and "dry" lines count as reached at the line, as its status does).
OPS: dict[str, Callable[[float, float], bool]] = {
    "above": lambda v, limit: v > limit,
    "below": lambda v, limit: v < limit,
    "at_least": lambda v, limit: v >= limit,
    "at_most": lambda v, limit: v <= limit,
}
OP_WORDS = {"above": "above", "below": "below", "at_least": "at or above",
            "at_most": "at or below"}
# Asset thresholds a reading can be compared with (silence is the no_data rule's).
LEVEL_THRESHOLDS = tuple(name for name in THRESHOLD_NAMES if name != "silent_hours")


def limit_of(rule: Rule, ctx: Context) -> float:
    """The rule's limit for this subject: the asset's own threshold when the rule names one."""
    return float(ctx.extra["limit"]) if "limit" in ctx.extra else float(rule.params["value"])


class Threshold(RuleKind):
    """Beyond a ``value`` (or the asset's own ``threshold``, e.g. "full", "dry"), held for
    ``for_s`` seconds of phenomenon time."""

    name = "threshold"

    def validate(self, params: dict[str, Any]) -> None:
        super().validate(params)
        if params.get("op", "above") not in OPS:
            raise ValueError(f"threshold op must be one of {', '.join(OPS)}")
        if ("value" in params) == ("threshold" in params):
            raise ValueError("a threshold rule needs either value (a number) or threshold "
                             "(the name of an asset threshold, e.g. full or dry)")
        if "threshold" in params and params["threshold"] not in LEVEL_THRESHOLDS:
            raise ValueError(f"threshold {params['threshold']!r} not understood: use one of "
                             f"{', '.join(LEVEL_THRESHOLDS)}")

    def observe(self, rule: Rule, state: dict[str, Any], t: float, value: float,
                end: float | None, ctx: Context) -> Verdict | None:
        v = value
        p = rule.params
        breaching = OPS[p.get("op", "above")](v, limit_of(rule, ctx))
        if not breaching:
            if "since" in state:
                del state["since"]
            return ("C", t) if "active" in state else None
        since = state.setdefault("since", t)
        state["last"] = v
        # Within an open episode any breaching reading counts at once (it stops the hold-off).
        if "active" in state:
            return STILL
        if t - since >= p.get("for_s", 0):
            return ("B", v, since, self._message(rule, ctx, v, t - since))
        return None

    def tick(self, rule: Rule, state: dict[str, Any], now: float, ctx: Context
             ) -> Verdict | None:
        # A breach that started and has lasted long enough without a newer reading.
        since = state.get("since")
        if since is not None and not state.get("active") and now - since >= rule.params.get(
                "for_s", 0):
            return ("B", state.get("last"), since,
                    self._message(rule, ctx, state.get("last", 0.0), now - since))
        return None

    def _message(self, rule: Rule, ctx: Context, v: float, held: float) -> str:
        p = rule.params
        word = OP_WORDS[p.get("op", "above")]
        named = f" (its {p['threshold'].replace('_', ' ')} line)" if "threshold" in p else ""
        return (f"{ctx.quantity} {_fmt(v)} is {word} {_fmt(limit_of(rule, ctx))}{named}"
                + (f" for {held / 60:.0f} min" if p.get("for_s") else ""))


class RateOfChange(RuleKind):
    """Change between consecutive readings faster than ``max_change`` per ``per_s`` seconds."""

    name = "rate_of_change"
    required = ("max_change",)

    def observe(self, rule: Rule, state: dict[str, Any], t: float, value: float,
                end: float | None, ctx: Context) -> Verdict | None:
        v = value
        last_t, last_v = state.get("t"), state.get("v")
        if last_t is not None and t <= last_t:
            return None  # a late reading says nothing about the current rate
        state["t"], state["v"] = t, v
        if last_t is None or last_v is None:
            return None
        p = rule.params
        rate = (v - last_v) / (t - last_t) * p.get("per_s", HOUR)
        direction = p.get("direction", "any")
        limit = p["max_change"]
        fast = (rate > limit if direction == "rise" else rate < -limit if direction == "fall"
                else abs(rate) > limit)
        if fast:
            per = p.get("per_s", HOUR) / 60
            return ("B", rate, last_t,
                    f"{ctx.quantity} changed {rate:+.3g} per {per:g} min "
                    f"({_fmt(last_v)} to {_fmt(v)})")
        return ("C", t) if "active" in state else None

class BatteryLow(RuleKind):
    """Battery below ``percent`` (battery_percent) or ``volts`` (battery_voltage)."""

    name = "battery_low"
    scope = "thing"
    default_quantities = ("battery_percent", "battery_voltage")

    def observe(self, rule: Rule, state: dict[str, Any], t: float, value: float,
                end: float | None, ctx: Context) -> Verdict | None:
        v = value
        p = rule.params
        if ctx.quantity == "battery_voltage":
            limit, unit = p.get("volts", 3.2), "V"
        else:
            limit, unit = p.get("percent", 20.0), "%"
        if v < limit:
            state.setdefault("since", t)
            return ("B", v, state["since"], f"battery {_fmt(v)} {unit}, below {_fmt(limit)} "
                                            f"{unit}")
        state.pop("since", None)
        return ("C", t)


class Tilt(RuleKind):
    """Knocked over: ``tilted`` true, or ``tilt_angle`` above ``max_angle`` degrees."""

    name = "tilt"
    scope = "thing"
    default_quantities = ("tilted", "tilt_angle")

    def observe(self, rule: Rule, state: dict[str, Any], t: float, value: float,
                end: float | None, ctx: Context) -> Verdict | None:
        v = value
        if ctx.quantity == "tilt_angle":
            limit = rule.params.get("max_angle", 45.0)
            if abs(v) > limit:
                return ("B", v, t, f"tilted {_fmt(v)}° (more than {_fmt(limit)}°): knocked over?")
        elif v >= 1.0:
            return ("B", v, t, "the sensor reports it is tilted: knocked over?")
        return ("C", t)


class NoData(RuleKind):
    """Silent asset: no Observation on any of its Datastreams for ``silence_s`` seconds (or, with
    ``threshold: silent``, the asset's own ``silent_hours``)."""

    name = "no_data"
    scope = "thing"
    default_quantities = None
    timer = True

    def validate(self, params: dict[str, Any]) -> None:
        if ("silence_s" in params) == (params.get("threshold") == "silent"):
            raise ValueError("a no_data rule needs either silence_s (seconds) or "
                             "threshold: silent (the asset's own silent_hours)")

    def observe(self, rule: Rule, state: dict[str, Any], t: float, value: float,
                end: float | None, ctx: Context) -> Verdict | None:
        return ("C", t) if state.get("active") else None

    def observe_many(self, rule: Rule, state: dict[str, Any], times: list[float],
                     values: list[float], ends: list[float | None], ctx: Context,
                     judge: Callable[[Verdict], None]) -> None:
        if state.get("active"):
            judge(("C", times[0]))

    def tick(self, rule: Rule, state: dict[str, Any], now: float, ctx: Context
             ) -> Verdict | None:
        if ctx.last_seen is None:
            return None  # never reported: nothing to be silent about yet
        silent = now - ctx.last_seen
        allowed = float(ctx.extra.get("silence_s", rule.params.get("silence_s", 0)))
        if silent > allowed:
            return ("B", silent / HOUR, ctx.last_seen,
                    f"no data for {silent / HOUR:.1f} h (allowed {allowed / HOUR:g} h)")
        return ("C", now)


class FrameLoss(RuleKind):
    """Uplinks lost (frame-counter gaps) above ``max_loss`` over at least ``min_frames`` frames."""

    name = "frame_loss"
    scope = "thing"
    default_quantities = ()
    timer = True

    def tick(self, rule: Rule, state: dict[str, Any], now: float, ctx: Context
             ) -> Verdict | None:
        counters = ctx.frame_counters
        if counters is None:
            return None
        if "r" not in state or counters.received < state["r"]:  # first look or counters reset
            state["r"], state["l"] = counters.received, counters.lost
            return None
        received = counters.received - state["r"]
        lost = counters.lost - state["l"]
        if received + lost < rule.params.get("min_frames", 20):
            return None  # judge over enough frames, never over a handful
        state["r"], state["l"] = counters.received, counters.lost
        rate = lost / (received + lost)
        if rate > rule.params.get("max_loss", 0.2):
            return ("B", rate, now, f"{rate:.0%} of uplinks lost ({lost} of {received + lost} "
                                    "frames)")
        return ("C", now)


class LocationChanged(RuleKind):
    """The asset's Location moved more than ``min_distance_m`` metres (bin moved or stolen)."""

    name = "location_changed"
    scope = "thing"
    default_quantities = ()

    def moved(self, rule: Rule, state: dict[str, Any], now: float,
              before: tuple[float, float] | None, after: tuple[float, float], ctx: Context
              ) -> Verdict | None:
        reference = tuple(state["at"]) if "at" in state else before
        state["at"] = list(after)
        if reference is None:
            return None
        metres = float(haversine_m(reference[0], reference[1], after[0], after[1]))
        if metres > rule.params.get("min_distance_m", 25.0):
            return ("B", metres, now, f"moved {metres:.0f} m from where it was")
        return None


class AirHourlyMean(RuleKind):
    """An hourly mean above ``limit`` µg/m³ (NO2: 200); hours close as later data arrives."""

    name = "air_hourly_mean"
    default_quantities = ("no2",)

    def observe(self, rule: Rule, state: dict[str, Any], t: float, value: float,
                end: float | None, ctx: Context) -> Verdict | None:
        return _judge_hours(rule, _add_to_hour(state, t, value, end), ctx)

    def tick(self, rule: Rule, state: dict[str, Any], now: float, ctx: Context
             ) -> Verdict | None:
        # Close the open hour once it has ended (plus a grace period for late readings).
        hour = state.get("h")
        if hour is None or now < (hour + 1) * HOUR + rule.params.get("grace_s", 600):
            return None
        return _judge_hours(rule, _close_hour(state), ctx)


def _judge_hours(rule: Rule, closed: list[tuple[int, float]], ctx: Context) -> Verdict | None:
    """Breach on the first closed hour whose mean is above ``limit``, else clear after the last."""
    verdict: Verdict | None = None
    limit = rule.params.get("limit", 200.0)
    for hour, mean in closed:
        if mean > limit:
            return ("B", mean, hour * HOUR, f"{ctx.quantity} hourly mean {mean:.1f} µg/m³ "
                    f"at {_hour_text(hour)} is above {limit:g} µg/m³")
        verdict = ("C", (hour + 1) * HOUR)
    return verdict


class AirHoursAboveLimit(RuleKind):
    """More than ``allowed`` hourly means above ``limit`` in a calendar year (NO2: 18 × 200)."""

    name = "air_hours_above_limit"
    default_quantities = ("no2",)

    def observe(self, rule: Rule, state: dict[str, Any], t: float, value: float,
                end: float | None, ctx: Context) -> Verdict | None:
        v = value
        return self._count(rule, state, _add_to_hour(state, t, v, end), ctx)

    def tick(self, rule: Rule, state: dict[str, Any], now: float, ctx: Context
             ) -> Verdict | None:
        hour = state.get("h")
        if hour is not None and now >= (hour + 1) * HOUR + rule.params.get("grace_s", 600):
            return self._count(rule, state, _close_hour(state), ctx)
        year = datetime.fromtimestamp(now, UTC).year
        if state.get("active") and state.get("year") and year > state["year"]:
            return ("C", now)  # a new year starts a new count
        return None

    def _count(self, rule: Rule, state: dict[str, Any], closed: list[tuple[int, float]],
               ctx: Context) -> Verdict | None:
        limit = rule.params.get("limit", 200.0)
        allowed = rule.params.get("allowed", 18)
        verdict: Verdict | None = None
        for hour, mean in closed:
            year = _year_of_hour(hour)
            if state.get("year") != year:
                if state.get("year") and year < state["year"]:
                    continue  # an hour of a year already closed
                state["year"], state["hours"] = year, []
                verdict = ("C", hour * HOUR)
            if mean > limit and hour not in state["hours"]:
                state["hours"].append(hour)
            count = len(state["hours"])
            if count > allowed:
                verdict = ("B", float(count), state["hours"][allowed] * HOUR,
                           f"{count} hourly {ctx.quantity} means above {limit:g} µg/m³ in "
                           f"{year}: more than the {allowed} allowed")
        return verdict


class ForecastLevel(RuleKind):
    """The asset predicted to cross its line — a bin to reach its full line, a flowerbed to dry
    to its watering threshold — within ``within_h`` hours.

    Judged on the timer from the one forecaster (``placehub.assets.forecasting``, the rounds
    ``Forecaster``), at most every ``every_s`` seconds per asset. The forecast's probability
    opens an alert at ``open_probability`` or more and, with hysteresis, clears it only below
    ``close_probability``: noise in the readings moves the probability a little, never across
    both lines. With ``confirm`` (the default) it opens only once a forecast from a newer
    reading says so again, so one odd reading (a bag on the lid, a hose on the probe) opens
    nothing. The line itself is the asset's own threshold (``full``, ``dry``).
    """

    name = "forecast"
    scope = "thing"
    default_quantities = ()
    timer = True
    DEFAULTS: dict[str, float] = {"within_h": 24.0, "open_probability": 0.7,
                                  "close_probability": 0.4, "every_s": 1800.0, "confirm": 1.0}

    def quantities(self, rule: Rule) -> tuple[str, ...] | None:
        return ()  # judged on the timer from the forecast, never per Observation

    def param(self, rule: Rule, name: str) -> float:
        return float(rule.params.get(name, self.DEFAULTS[name]))

    def validate(self, params: dict[str, Any]) -> None:
        values = {**self.DEFAULTS, **params}
        try:
            within, opening, closing, every, _ = (float(values[k]) for k in self.DEFAULTS)
        except (TypeError, ValueError):
            raise ValueError(f"forecast rule parameters {', '.join(self.DEFAULTS)} must be "
                             "numbers") from None
        if within <= 0 or every < 0:
            raise ValueError("forecast rule: within_h must be > 0 and every_s >= 0")
        if not 0 < closing <= opening <= 1:
            raise ValueError("forecast rule: need 0 < close_probability <= open_probability "
                             "<= 1")

    def due(self, rule: Rule, state: dict[str, Any], now: float) -> bool:
        """Whether the asset's forecast is old enough to be asked again."""
        return now - state.get("ft", -math.inf) >= self.param(rule, "every_s")

    def tick(self, rule: Rule, state: dict[str, Any], now: float, ctx: Context
             ) -> Verdict | None:
        crossing = ctx.crossing
        if crossing is None:
            return None
        state["ft"] = now
        probability = crossing.probability
        state["p"] = round(probability, 4)
        active = "active" in state
        newest = crossing.newest_reading.timestamp() if crossing.newest_reading else None
        breach, pending = forecast_decision(
            active, probability, newest, state.pop("pend", None),
            self.param(rule, "open_probability"), self.param(rule, "close_probability"),
            bool(self.param(rule, "confirm")))
        if pending is not None:
            state["pend"] = pending
        if not breach:
            return ("C", now) if active else None
        if active:
            return STILL
        due = crossing.need.due
        when = f", expected about {due.strftime('%-d %b %H:%M UTC')}" if due else ""
        what = rule.params.get("what", "predicted to cross its line")
        return ("B", probability, now,
                f"{what}: {probability:.0%} chance within {self.param(rule, 'within_h'):g} h"
                f"{when} (forecast {crossing.forecaster})")


def forecast_decision(active: bool, probability: float, newest: float | None,
                      pending: float | None, open_probability: float, close_probability: float,
                      confirm: bool) -> tuple[bool, float | None]:
    """The forecast rule's judgement: (breach, pending).

    Hysteresis: an alert opens at ``open_probability`` and stays open until the probability
    falls below ``close_probability``. With ``confirm``, the first forecast at or above
    ``open_probability`` only notes its newest reading's time (``pending``); the alert opens
    when a forecast from a newer reading is still there.
    """
    if active:
        return probability >= close_probability, None
    if probability < open_probability:
        return False, None
    if not confirm:
        return True, None
    if pending is None or newest is None or newest <= pending:
        return False, pending if pending is not None else newest
    return True, None


def _add_to_hour(state: dict[str, Any], t: float, v: float, end: float | None
                 ) -> list[tuple[int, float]]:
    """Add a value to the open hour; returns the hours it closes as (epoch hour, mean)."""
    hour = int(t // HOUR)
    closed: list[tuple[int, float]] = []
    open_hour = state.get("h")
    if open_hour is not None and hour > open_hour:
        closed.extend(_close_hour(state))
        open_hour = None
    if math.isnan(v):
        return closed
    if open_hour is None or hour == open_hour:
        state["h"] = hour
        state["s"] = state.get("s", 0.0) + v
        state["n"] = state.get("n", 0) + 1
        if end is not None and end - t >= HOUR - 1:
            closed.extend(_close_hour(state))  # a whole-hour mean closes its hour at once
    elif end is not None and end - t >= HOUR - 1:
        closed.append((hour, v))  # a late, complete hourly mean
    return closed


def _close_hour(state: dict[str, Any]) -> list[tuple[int, float]]:
    hour, total, count = state.pop("h", None), state.pop("s", 0.0), state.pop("n", 0)
    return [(hour, total / count)] if hour is not None and count else []


@lru_cache(maxsize=4096)
def _year_of_day(day: int) -> int:
    return datetime.fromtimestamp(day * 86400, UTC).year


def _year_of_hour(hour: int) -> int:
    return _year_of_day(hour // 24)


def _hour_text(hour: int) -> str:
    return datetime.fromtimestamp(hour * HOUR, UTC).strftime("%Y-%m-%d %H:00 UTC")


class ResidentReport(RuleKind):
    """Alerts opened by residents' reports (placehub.reports), never by readings: it watches
    no Datastream, and its alerts end when an officer or a round deals with the report."""

    name = "resident_report"
    scope = "thing"
    default_quantities = ()


class CareRoutine(RuleKind):
    """Alerts on a change in a resident's routine (placehub.care), judged by the routine
    detectors over the home's recent events rather than one Observation at a time: it watches
    no Datastream, ``placehub care check`` (and ``serve``) opens and resolves them."""

    name = "care_routine"
    scope = "thing"
    default_quantities = ()


KINDS: dict[str, RuleKind] = {
    kind.name: kind for kind in (
        Threshold(), RateOfChange(), BatteryLow(), Tilt(), NoData(), FrameLoss(),
        LocationChanged(), AirHourlyMean(), AirHoursAboveLimit(), ForecastLevel(),
        ResidentReport(), CareRoutine(),
    )
}


@dataclass(frozen=True)
class DefaultRule:
    """A rule every asset of a type gets unless it overrides it."""

    asset_type: str
    key: str
    name: str
    kind: str
    params: dict[str, Any]
    severity: str = "warning"
    quantity: str | None = None
    hold_off_s: int = 0
    auto_resolve: bool = True


def _common(asset_type: str) -> list[DefaultRule]:
    return [
        DefaultRule(asset_type, "battery_low", "Battery low", "battery_low",
                    {"percent": 20.0, "volts": 3.2}, "warning", hold_off_s=6 * 3600),
        DefaultRule(asset_type, "silent", "Sensor silent", "no_data",
                    {"threshold": "silent"}, "warning"),
        DefaultRule(asset_type, "frame_loss", "Uplinks being lost", "frame_loss",
                    {"max_loss": 0.2, "min_frames": 20}, "info", hold_off_s=3600),
    ]


# Lines come from each asset's thresholds (placehub.assets.thresholds): "full" and "dry" here
# are the same lines its status on the map and the rounds planner use.
DEFAULT_RULES: tuple[DefaultRule, ...] = (
    DefaultRule("litter_bin", "bin_full", "Bin full", "threshold",
                {"op": "at_least", "threshold": "full", "for_s": 1800}, "warning",
                "fill_level", hold_off_s=3600),
    # 0.7: the probability at which rounds make a bin a mandatory stop.
    DefaultRule("litter_bin", "bin_overflow_forecast", "Bin predicted to overflow", "forecast",
                {"within_h": 24, "open_probability": 0.7, "close_probability": 0.4,
                 "what": "predicted to overflow"}, "warning"),
    DefaultRule("litter_bin", "bin_fire", "Bin temperature rising fast (fire?)",
                "rate_of_change", {"max_change": 15.0, "per_s": 3600, "direction": "rise"},
                "critical", "temperature", hold_off_s=3600),
    DefaultRule("litter_bin", "bin_tilted", "Bin knocked over", "tilt", {"max_angle": 45.0},
                "critical", hold_off_s=600),
    DefaultRule("litter_bin", "bin_moved", "Bin moved", "location_changed",
                {"min_distance_m": 25.0}, "warning", auto_resolve=False),
    *_common("litter_bin"),
    DefaultRule("flowerbed", "soil_dry", "Flowerbed dry", "threshold",
                {"op": "at_most", "threshold": "dry", "for_s": 7200}, "warning",
                "soil_moisture", hold_off_s=3 * 3600),
    # Beds dry slowly and steadily: their forecast reaches 70% only hours before the line, so
    # they alert from 50% (bench/bench_forecast_alerts.py: same precision, warned twice as early).
    DefaultRule("flowerbed", "dry_forecast", "Flowerbed drying out", "forecast",
                {"within_h": 24, "open_probability": 0.5, "close_probability": 0.3,
                 "what": "predicted to need watering"}, "info"),
    *_common("flowerbed"),
    DefaultRule("air_quality_station", "no2_hourly_200", "NO2 hourly mean above 200 µg/m³",
                "air_hourly_mean", {"limit": 200.0}, "critical", "no2", hold_off_s=3600),
    DefaultRule("air_quality_station", "no2_hours_over_18",
                "NO2 above 200 µg/m³ more than 18 hours this year", "air_hours_above_limit",
                {"limit": 200.0, "allowed": 18}, "critical", "no2"),
    *_common("air_quality_station"),
)

# Built-in rules of earlier versions, by key: (kind, params). A stored built-in rule still
# exactly as one of these was never edited, so it is brought up to today's default.
SUPERSEDED_DEFAULTS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "bin_full": [("threshold", {"op": "above", "value": 90.0, "for_s": 1800})],
    "bin_overflow_forecast": [("forecast", {"level": 100.0, "within_h": 12,
                                            "direction": "rise",
                                            "what": "predicted to overflow"})],
    "soil_dry": [("threshold", {"op": "below", "value": 15.0, "for_s": 7200})],
    "dry_forecast": [("forecast", {"level": 20.0, "within_h": 24, "direction": "fall",
                                   "what": "predicted to need watering"})],
    "silent": [("no_data", {"silence_s": 12 * 3600}), ("no_data", {"silence_s": 3 * 3600})],
}

ASSET_TYPES = ("litter_bin", "flowerbed", "air_quality_station")


# A limit is given as a number or as the name of an asset threshold, never both: setting one
# replaces the other.
ALTERNATIVE_PARAMS = {"value": ("threshold",), "silence_s": ("threshold",),
                      "threshold": ("value", "silence_s")}


def merge_params(params: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A rule's parameters with ``changes`` applied (a limit replacing its alternative)."""
    merged = dict(params)
    for name in changes:
        for other in ALTERNATIVE_PARAMS.get(name, ()):
            merged.pop(other, None)
    return {**merged, **changes}


def validate_rule(kind: str, params: dict[str, Any], severity: str) -> None:
    """Raise ValueError saying what is wrong with a rule definition."""
    if kind not in KINDS:
        raise ValueError(f"unknown rule kind {kind!r}: use one of {', '.join(KINDS)}")
    if severity not in SEVERITY_ORDER:
        raise ValueError(f"severity {severity!r}: use info, warning or critical")
    KINDS[kind].validate(params)

