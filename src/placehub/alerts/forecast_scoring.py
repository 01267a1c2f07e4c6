"""How well the forecast alert rules did on this hub, measured on its own alerts.

Each forecast alert ("Bin predicted to overflow", "Flowerbed drying out") is checked against
what followed: the line alert of the same asset ("Bin full", "Flowerbed dry"), which the
threshold rules raise from the asset's readings against the same line the forecast aims at.

- An alert was right when its asset's line alert opened within the rule's horizon after it,
  or was already open when it fired (precision: right alerts / alerts whose horizon has
  passed).
- A line alert was warned when a forecast alert of its asset opened within the horizon before
  it (recall: warned line alerts / line alerts).

Live precision is a lower bound: a bin emptied on a round because it was predicted to overflow
never reaches its line, and counts against the alert that sent the crew. The offline
benchmark (``bench/bench_forecast_alerts.py``) knows what would have happened unserviced.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, select

from placehub.alerts.rules import ForecastLevel, Rule
from placehub.alerts.store import effective_rules, load_rules
from placehub.alerts.tables import alerts
from placehub.db import Database
from placehub.governance import runs
from placehub.sta.tables import things

# The asset thresholds a forecast rule aims at: a line alert is a threshold rule on one of them.
LINE_THRESHOLDS = ("full", "dry")
DEFAULT_DAYS = 28
_IN_CHUNK = 1000


@dataclass(frozen=True)
class Span:
    """One alert: its asset, rule, when it opened and (if it did) when it was resolved."""

    thing_id: int
    rule_key: str
    opened_at: datetime
    resolved_at: datetime | None = None

    def open_at(self, moment: datetime) -> bool:
        return self.opened_at <= moment and (self.resolved_at is None
                                             or self.resolved_at > moment)


@dataclass
class RuleScore:
    """One forecast rule's alerts and the line alerts of the assets it watches."""

    rule_key: str
    horizon_hours: float
    alerts: int = 0
    right: int = 0
    events: int = 0
    warned: int = 0
    lead_hours: list[float] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return self.right / self.alerts if self.alerts else None

    @property
    def recall(self) -> float | None:
        return self.warned / self.events if self.events else None

    @property
    def median_lead_hours(self) -> float | None:
        return statistics.median(self.lead_hours) if self.lead_hours else None


def horizon_hours(rule: Rule) -> float:
    """How far ahead a forecast rule looks (its ``within_h``)."""
    return ForecastLevel().param(rule, "within_h")


def score(forecasts: Iterable[Span], lines: Iterable[Span], horizons: dict[str, float],
          since: datetime, until: datetime, rule_of_line: dict[int, str]) -> dict[str, RuleScore]:
    """Precision and recall per forecast rule key over ``since``..``until``.

    ``horizons`` gives each forecast rule key's horizon; ``rule_of_line`` the forecast rule key
    watching each asset with line alerts (assets no forecast rule watches are left out).
    Only alerts whose horizon has passed by ``until`` are scored, and only line alerts at least
    a horizon after ``since`` (earlier ones could have been warned before the period)."""
    by_thing_lines: dict[int, list[Span]] = defaultdict(list)
    for line in lines:
        by_thing_lines[line.thing_id].append(line)
    by_thing_forecasts: dict[int, list[Span]] = defaultdict(list)
    scores = {key: RuleScore(key, hours) for key, hours in horizons.items()}
    for forecast in forecasts:
        result = scores.get(forecast.rule_key)
        if result is None:
            continue
        by_thing_forecasts[forecast.thing_id].append(forecast)
        horizon = timedelta(hours=result.horizon_hours)
        if not since <= forecast.opened_at <= until - horizon:
            continue
        result.alerts += 1
        followed = [line for line in by_thing_lines[forecast.thing_id]
                    if line.open_at(forecast.opened_at)
                    or forecast.opened_at <= line.opened_at <= forecast.opened_at + horizon]
        if followed:
            result.right += 1
            first = min(line.opened_at for line in followed)
            result.lead_hours.append(max(0.0, (first - forecast.opened_at).total_seconds() / 3600))
    for thing_id, thing_lines in by_thing_lines.items():
        result = scores.get(rule_of_line.get(thing_id, ""))
        if result is None:
            continue
        horizon = timedelta(hours=result.horizon_hours)
        for line in thing_lines:
            if not since + horizon <= line.opened_at <= until:
                continue
            result.events += 1
            if any(line.opened_at - horizon <= f.opened_at <= line.opened_at
                   for f in by_thing_forecasts[thing_id] if f.rule_key == result.rule_key):
                result.warned += 1
    return scores


@dataclass(frozen=True)
class Measurement:
    """Forecast alert rules measured on a period of this hub's alerts."""

    since: datetime
    until: datetime
    scores: dict[str, RuleScore]

    def metrics(self) -> dict[str, Any]:
        """Flat measures for the run record (and the transparency page's table)."""
        total = RuleScore("all", 0.0)
        out: dict[str, Any] = {}
        for key, result in sorted(self.scores.items()):
            total.alerts += result.alerts
            total.right += result.right
            total.events += result.events
            total.warned += result.warned
            total.lead_hours += result.lead_hours
            out |= _measures(result, f"{key} ")
        return {**_measures(total, ""), "period_days": (self.until - self.since).days,
                "method": "live, against the assets' line alerts (precision is a lower bound: "
                          "assets serviced before their line count against the alert)", **out}


def _measures(result: RuleScore, prefix: str) -> dict[str, Any]:
    rounded = {"precision": result.precision, "recall": result.recall,
               "median_lead_hours": result.median_lead_hours}
    return {f"{prefix}{name}": None if value is None else round(value, 3)
            for name, value in rounded.items()} | {
        f"{prefix}alerts_scored": result.alerts, f"{prefix}line_alerts": result.events}


def _asset_types(conn: Connection, thing_ids: Iterable[int]) -> dict[int, str | None]:
    wanted = sorted(set(thing_ids))
    found: dict[int, str | None] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        for row in conn.execute(select(things.c.id, things.c.properties)
                                .where(things.c.id.in_(wanted[start:start + _IN_CHUNK]))):
            found[int(row.id)] = (row.properties or {}).get("asset_type")
    return found


def measure(conn: Connection, until: datetime, days: int = DEFAULT_DAYS) -> Measurement:
    """The forecast alert rules measured on the alerts of the ``days`` before ``until``."""
    since = until - timedelta(days=days)
    rules = load_rules(conn)
    forecast_rules = {r.id: r for r in rules if r.kind == "forecast"}
    line_rules = {r.id: r for r in rules if r.kind == "threshold"
                  and r.params.get("threshold") in LINE_THRESHOLDS}
    if not forecast_rules:
        return Measurement(since, until, {})
    horizons = {r.key: horizon_hours(r) for r in forecast_rules.values()}
    earliest = since - timedelta(hours=max(horizons.values()))
    c = alerts.c
    rows = conn.execute(select(c.thing_id, c.rule_id, c.rule_key, c.opened_at, c.resolved_at)
                        .where(and_(c.rule_id.in_(sorted({*forecast_rules, *line_rules})),
                                    c.opened_at >= earliest, c.opened_at <= until))).all()
    forecasts = [Span(int(r.thing_id), r.rule_key, r.opened_at, r.resolved_at)
                 for r in rows if r.rule_id in forecast_rules]
    lines = [Span(int(r.thing_id), r.rule_key, r.opened_at, r.resolved_at)
             for r in rows if r.rule_id in line_rules]
    rule_of_line = {}
    for thing_id, asset_type in _asset_types(conn, (s.thing_id for s in lines)).items():
        watching = [r for r in effective_rules(rules, thing_id, asset_type) if r.kind == "forecast"]
        if watching:
            rule_of_line[thing_id] = watching[0].key
    return Measurement(since, until, score(forecasts, lines, horizons, since, until,
                                           rule_of_line))


def record_measurement(database: Database, until: datetime, days: int = DEFAULT_DAYS,
                       actor: str = "daily measurement") -> tuple[int, Measurement]:
    """Measure the forecast alert rules and keep the result as a run record of the alert
    rules (the transparency record shows it as their measured performance)."""
    started = time.perf_counter()
    with database.begin() as conn:
        measurement = measure(conn, until, days)
        metrics = measurement.metrics()
        run_id = runs.record_run(conn, runs.RunRecord(
            runs.ALERT_RULES, until, round(time.perf_counter() - started, 4),
            {"measurement": "forecast alerts against line alerts", "period_days": days,
             "horizons_hours": {k: s.horizon_hours for k, s in measurement.scores.items()}},
            inputs=[runs.InputData("alerts", metrics["alerts_scored"] + metrics["line_alerts"],
                                   measurement.since, measurement.until)],
            volumes={"alerts_scored": metrics["alerts_scored"],
                     "line_alerts": metrics["line_alerts"]},
            metrics=metrics, actor=actor, reference="live measurement"))
    return run_id, measurement


__all__ = ["DEFAULT_DAYS", "LINE_THRESHOLDS", "Measurement", "RuleScore", "Span",
           "horizon_hours", "measure", "record_measurement", "score"]
