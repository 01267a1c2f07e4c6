"""The rule engine: evaluates rules as Observations arrive, and on a timer; opens/resolves alerts.

It subscribes to ``observations.written`` (and ``locations.changed``, ``things.changed``) on the
database's event bus. Each (rule, subject) has a small state dict kept in memory and saved to
``alert_rule_states`` by the timer (and on shutdown), so the hot path writes only when an alert
opens or resolves. After a restart states are read back; at worst what happened since the last
timer tick is judged again from the next Observations — history is never scanned, and the
alerts table (one unresolved alert per rule and subject) keeps a re-judged episode from opening
a second alert.

Episodes: a breach opens one alert; further breaches of the same episode add nothing; when the
condition clears for the rule's hold-off the alert resolves itself (rules with auto_resolve off
wait for a person). A breach during the hold-off keeps the same alert open — no spam from a
flapping sensor.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Text, bindparam, cast, delete, func, insert, select

from placehub.alerts import batch_rules, lifecycle, notify, ownership
from placehub.alerts.air_quality import PPB_TO_UGM3
from placehub.alerts.clock import Clock, SystemClock
from placehub.alerts.rules import (
    KINDS,
    Context,
    ForecastLevel,
    LocationChanged,
    Rule,
    RuleKind,
    Verdict,
)
from placehub.alerts.sources import DeviceHealthSource, ForecastSource, IngestDeviceHealth
from placehub.alerts.store import effective_rules, ensure_default_rules, load_rules, rules_version
from placehub.alerts.tables import alert_rule_states
from placehub.assets.forecasting import AssetForecasts, Crossing
from placehub.assets.levels import threshold_in_units
from placehub.assets.thresholds import ThresholdBook, Thresholds, load_book, thresholds_version
from placehub.assets.types import asset_type_of
from placehub.db import Database
from placehub.governance import runs
from placehub.sta.tables import (
    datastreams,
    historical_locations,
    location_historical_locations,
    locations,
    thing_locations,
    things,
)

log = logging.getLogger(__name__)
AIR_KINDS = {"air_hourly_mean", "air_hours_above_limit"}
Key = tuple[int, str]


@dataclass(frozen=True)
class Binding:
    """One rule watching one subject (a Datastream or an asset)."""

    rule: Rule
    kind: RuleKind
    key: Key
    thing_id: int
    datastream_id: int | None
    ctx: Context
    scale: float = 1.0  # ppb -> µg/m³ for air-quality rules on ppb Datastreams


@dataclass(frozen=True)
class Plan:
    """What judging a batch with one layout takes: per rule kind, each rule's rows with their
    bindings (in row order); and every state key."""

    kinds: list[tuple[str, list[tuple[batch_rules.RuleRows, list[Binding]]]]]
    keys: frozenset[Key]


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


class RuleEngine:
    """Incremental rule evaluation for one database.

    ``batch=False`` judges every reading one by one (``batch_rules`` must give the same).
    """

    def __init__(self, database: Database, clock: Clock | None = None,
                 forecasts: ForecastSource | None = None,
                 device_health: DeviceHealthSource | None = None, *, batch: bool = True,
                 shared: bool = False) -> None:
        self.database = database
        self.batch = batch
        # Several processes judge Observations: states are read and saved under a lock per
        # Datastream (PostgreSQL advisory locks), in the transaction that writes the alerts.
        self.shared = shared and not database.is_sqlite
        self.clock = clock or SystemClock()
        self.forecasts = forecasts or AssetForecasts()
        self.device_health = device_health or IngestDeviceHealth()
        self._lock = threading.RLock()
        self._rules: list[Rule] | None = None
        self._book: ThresholdBook | None = None
        self._version: Any = None
        self._bindings: dict[int, list[Binding]] = {}  # datastream id -> bindings
        self._by_key: dict[Key, Binding] = {}
        self._states: dict[Key, dict[str, Any]] = {}
        self._touched: set[Key] = set()
        # Per batch layout (its Datastreams in row order): each rule's rows, ready to judge.
        self._plans: dict[tuple[int, ...], Plan] = {}
        self._attached = False
        notify.install()  # opened / resolved alerts queue their notifications

    # --- wiring ----------------------------------------------------------------------------

    def attach(self) -> RuleEngine:
        """Subscribe to the database's events."""
        if not self._attached:
            events = self.database.events
            events.subscribe("observations.written", self.on_observations)
            events.subscribe("locations.changed", self.on_locations_changed)
            events.subscribe("things.changed", self.on_things_changed)
            self._attached = True
        return self

    def save_states(self) -> None:
        """Write the states touched since the last save (the timer and shutdown call this)."""
        with self._lock:
            if self._touched:
                with self.database.begin() as conn:
                    self._save_states(conn, self._touched, self.clock.now())
                self._touched.clear()

    def detach(self) -> None:
        events = self.database.events
        events.unsubscribe("observations.written", self.on_observations)
        events.unsubscribe("locations.changed", self.on_locations_changed)
        events.unsubscribe("things.changed", self.on_things_changed)
        self._attached = False

    def reload(self) -> None:
        """Forget cached rules and bindings (after rules, thresholds or assets changed)."""
        with self._lock:
            self._rules = None
            self._book = None
            self._bindings.clear()
            self._by_key.clear()
            self._plans.clear()

    def on_things_changed(self, thing_ids: Any) -> None:
        with self._lock:
            self._bindings.clear()
            self._plans.clear()
            # Their properties (type, own thresholds) may have changed: bind them afresh.
            changed = set(thing_ids or ())
            for key in [k for k, b in self._by_key.items() if b.thing_id in changed]:
                del self._by_key[key]

    # --- rules and bindings ----------------------------------------------------------------

    def _ensure_rules(self) -> list[Rule]:
        if self._rules is None:
            with self.database.begin() as conn:
                ensure_default_rules(conn, self.clock.now())
                self._rules = load_rules(conn)
                self._book = load_book(conn)
                self._version = (rules_version(conn), thresholds_version(conn))
        return self._rules

    def _check_rules_version(self, conn: Connection) -> None:
        if self._rules is not None and (rules_version(conn),
                                        thresholds_version(conn)) != self._version:
            self.reload()

    def _thresholds(self, organisation_id: int, properties: Any) -> Thresholds:
        book = self._book if self._book is not None else ThresholdBook()
        return book.for_asset(asset_type_of(properties), organisation_id,
                              properties if isinstance(properties, dict) else {})

    def _bind(self, rule: Rule, thing_id: int, thing_name: str, quantity: str | None,
              datastream_id: int | None, unit: str | None, thresholds: Thresholds
              ) -> Binding | None:
        """The rule watching this subject, with the asset's own line resolved into its context
        (None when the rule names a threshold this Datastream does not measure)."""
        kind = KINDS[rule.kind]
        extra: dict[str, Any] = {}
        named = rule.params.get("threshold")
        if named == "silent":
            extra["silence_s"] = thresholds.silent_hours * 3600
        elif named:
            limit = threshold_in_units(thresholds, str(named), quantity, unit or "")
            if limit is None:
                return None
            extra["limit"] = limit
        subject = (f"ds:{datastream_id}" if kind.scope == "datastream"
                   else f"thing:{thing_id}")
        scale = 1.0
        if rule.kind in AIR_KINDS and unit == "ppb" and quantity in PPB_TO_UGM3:
            scale = PPB_TO_UGM3[quantity]
        key = (rule.id, subject)
        binding = Binding(rule, kind, key, thing_id, datastream_id,
                          Context(thing_id, thing_name, quantity, extra=extra), scale)
        self._by_key.setdefault(key, binding)
        return binding

    def _load_bindings(self, conn: Connection, datastream_ids: Iterable[int]) -> None:
        missing = [d for d in datastream_ids if d not in self._bindings]
        if not missing:
            return
        rules = self._ensure_rules()
        per_thing: dict[int, list[Rule]] = {}
        rows = conn.execute(
            select(datastreams.c.id, datastreams.c.thing_id, datastreams.c.properties,
                   datastreams.c.unit_of_measurement, things.c.name, things.c.organisation_id,
                   things.c.properties.label("thing_properties"))
            .join(things, things.c.id == datastreams.c.thing_id)
            .where(datastreams.c.id.in_(missing))
        )
        for row in rows:
            if row.thing_id not in per_thing:
                asset_type = (row.thing_properties or {}).get("asset_type")
                per_thing[row.thing_id] = effective_rules(rules, row.thing_id, asset_type)
            quantity = (row.properties or {}).get("quantity")
            unit = (row.unit_of_measurement or {}).get("symbol")
            thresholds = self._thresholds(row.organisation_id, row.thing_properties)
            bound = []
            for rule in per_thing[row.thing_id]:
                kind = KINDS.get(rule.kind)
                if kind is None:
                    continue
                watched = kind.quantities(rule)
                if watched is None or quantity in watched:
                    binding = self._bind(rule, row.thing_id, row.name, quantity, row.id, unit,
                                         thresholds)
                    if binding is not None:
                        bound.append(binding)
            self._bindings[row.id] = bound
        for d in missing:
            self._bindings.setdefault(d, [])

    # --- states ----------------------------------------------------------------------------

    def _load_states(self, conn: Connection, keys: Iterable[Key]) -> None:
        missing = [k for k in keys if k not in self._states]
        if not missing:
            return
        rule_ids = sorted({k[0] for k in missing})
        subjects = sorted({k[1] for k in missing})
        wanted = set(missing)
        for start in range(0, len(subjects), 500):
            for row in conn.execute(
                select(alert_rule_states.c.rule_id, alert_rule_states.c.subject,
                       alert_rule_states.c.state)
                .where(alert_rule_states.c.rule_id.in_(rule_ids),
                       alert_rule_states.c.subject.in_(subjects[start:start + 500]))
            ):
                key = (int(row.rule_id), str(row.subject))
                if key in wanted:
                    self._states[key] = dict(row.state or {})
        for key in missing:
            self._states.setdefault(key, {})

    def _save_states(self, conn: Connection, keys: Iterable[Key], now: datetime) -> None:
        keys = [k for k in keys if k in self._states]
        if not keys:
            return
        conn.execute(
            delete(alert_rule_states).where(
                alert_rule_states.c.rule_id == bindparam("r"),
                alert_rule_states.c.subject == bindparam("s")),
            [{"r": k[0], "s": k[1]} for k in keys])
        conn.execute(insert(alert_rule_states), [
            {"rule_id": k[0], "subject": k[1], "state": self._states[k], "updated_at": now}
            for k in keys])

    def state_of(self, rule_id: int, subject: str) -> dict[str, Any]:
        """A copy of the state of one (rule, subject) (for inspection and tests)."""
        with self._lock:
            return dict(self._states.get((rule_id, subject), {}))

    # --- evaluation ------------------------------------------------------------------------

    def on_observations(self, written: list[Any]) -> None:
        """Judge newly written Observations (the ``observations.written`` subscriber)."""
        if not written:
            return
        with self._lock:
            bindings = self._bindings
            ds_ids = {w.datastream_id for w in written}
            if not ds_ids.issubset(bindings.keys()) or self._rules is None:
                with self.database.connect() as conn:
                    self._load_bindings(conn, ds_ids)
            if not any(bindings[d] for d in ds_ids):
                return
            readings = batch_rules.lay_out(written)
            plan = self._plans.get(tuple(readings.datastreams)) or self._plan(
                readings.datastreams)
            if self.shared:
                with self.database.begin() as conn:
                    ownership.lock_datastreams(conn, readings.datastreams)
                    self._refresh_states(conn, plan.keys)
                    self._judge_plan(plan, readings, conn)
                    self._save_states(conn, plan.keys, self.clock.now())
                return
            self._touched.update(plan.keys)
            self._judge_plan(plan, readings)

    def _judge_plan(self, plan: Plan, readings: Any, conn: Connection | None = None) -> None:
        """Judge a batch laid out by ``plan``; alert changes written in ``conn`` if given."""
        transitions: list[tuple[str, Binding, Any]] = []
        for kind, groups in plan.kinds:
            if self.batch:
                settled = batch_rules.settle(kind, [rows for rows, _ in groups], readings)
            else:
                settled = [np.zeros(len(rows.rows), dtype=bool) for rows, _ in groups]
            for (rows, bound), done in zip(groups, settled, strict=True):
                # What the batch could not settle is judged reading by reading, in order.
                for i in np.flatnonzero(~done).tolist():
                    b, state = bound[i], rows.states[i]
                    times, values, ends = readings.row(int(rows.rows[i]))
                    if rows.scale != 1.0:
                        values = [v * rows.scale for v in values]
                    b.kind.observe_many(b.rule, state, times, values, ends, b.ctx,
                                        self._judge_for(b, state, transitions))
        if transitions:
            self._apply(transitions, conn)

    def _refresh_states(self, conn: Connection, keys: Iterable[Key]) -> None:
        """Read ``keys``' states again (another process may have changed them), in place:
        cached plans hold the same dicts."""
        wanted = set(keys)
        fresh: dict[Key, dict[str, Any]] = {}
        rule_ids = sorted({k[0] for k in wanted})
        subjects = sorted({k[1] for k in wanted})
        for start in range(0, len(subjects), 500):
            for row in conn.execute(
                select(alert_rule_states.c.rule_id, alert_rule_states.c.subject,
                       alert_rule_states.c.state)
                .where(alert_rule_states.c.rule_id.in_(rule_ids),
                       alert_rule_states.c.subject.in_(subjects[start:start + 500]))
            ):
                key = (int(row.rule_id), str(row.subject))
                if key in wanted:
                    fresh[key] = dict(row.state or {})
        for key in wanted:
            state = self._states.setdefault(key, {})
            state.clear()
            state.update(fresh.get(key, {}))

    def _plan(self, datastreams: list[int]) -> Plan:
        """The rules to judge over a batch laid out with these Datastreams, their states
        loaded (cached: a sensor fleet sends the same layouts again and again)."""
        keys = {b.key for d in datastreams for b in self._bindings[d]}
        if any(k not in self._states for k in keys):
            with self.database.connect() as conn:
                self._load_states(conn, keys)
        groups: dict[tuple[int, float], list[tuple[int, Binding]]] = {}
        for row, datastream_id in enumerate(datastreams):
            for b in self._bindings[datastream_id]:
                groups.setdefault((b.rule.id, b.scale), []).append((row, b))
        kinds: dict[str, list[tuple[batch_rules.RuleRows, list[Binding]]]] = {}
        for (_, scale), members in groups.items():
            bindings = [b for _, b in members]
            kinds.setdefault(bindings[0].rule.kind, []).append((batch_rules.RuleRows(
                bindings[0].rule, np.array([row for row, _ in members], dtype=np.int64), scale,
                [self._states[b.key] for b in bindings], [b.ctx for b in bindings]), bindings))
        plan = Plan(list(kinds.items()), frozenset(keys))
        if len(self._plans) >= 256:
            self._plans.clear()
        self._plans[tuple(datastreams)] = plan
        return plan

    def _judge_for(self, b: Binding, state: dict[str, Any],
                   transitions: list[tuple[str, Binding, Any]]) -> Any:
        def judge(verdict: Verdict) -> None:
            if verdict[0] == "C":
                if "active" in state:
                    self._cleared(b, state, verdict[1], transitions)
            else:
                self._breached(b, state, verdict, transitions)
        return judge

    def _breached(self, b: Binding, state: dict[str, Any], verdict: Verdict,
                  transitions: list[tuple[str, Binding, Any]]) -> None:
        if state.get("active"):
            if "cs" in state:  # back within the hold-off: same episode, same alert
                del state["cs"]
                transitions.append(("returned", b, verdict))
            return
        state["active"] = True
        transitions.append(("open", b, verdict))

    def _cleared(self, b: Binding, state: dict[str, Any], at: float,
                 transitions: list[tuple[str, Binding, Any]]) -> None:
        if not b.rule.auto_resolve:
            # The episode ends, the alert waits for a person; a new breach while it is still
            # unresolved finds it open and adds nothing.
            state.pop("active", None)
            return
        cleared_since = state.setdefault("cs", at)
        if at - cleared_since >= b.rule.hold_off_s:
            state.pop("active", None)
            state.pop("cs", None)
            transitions.append(("resolve", b, at))

    def _apply(self, transitions: list[tuple[str, Binding, Any]],
               conn: Connection | None = None) -> None:
        """Write a batch's alert changes in one transaction, in the order they were judged."""
        changes: list[lifecycle.EpisodeChange] = []
        for action, b, info in transitions:
            if action == "open":
                _, value, since, message = info
                changes.append(lifecycle.EpisodeChange("open", b.key, lifecycle.NewAlert(
                    b.rule, b.key[1], b.thing_id, b.datastream_id,
                    f"{b.rule.name}: {b.ctx.thing_name}", message,
                    None if value is None else float(value), _ts(since),
                    {"quantity": b.ctx.quantity})))
            elif action == "resolve":
                changes.append(lifecycle.EpisodeChange("resolve", b.key))
            else:
                changes.append(lifecycle.EpisodeChange(
                    "returned", b.key, note=info[3] if len(info) > 3 else None))
        if conn is not None:
            lifecycle.write_episodes(conn, changes, self.clock.now(), wait_for_flush=False)
            return
        with self.database.begin() as conn_:
            # Alerts are derived data: if a crash loses the last fraction of a second of them,
            # the next readings open them again (their states were not saved either), so the
            # commit need not wait for the WAL flush.
            lifecycle.write_episodes(conn_, changes, self.clock.now(), wait_for_flush=False)
        # States are saved by the timer, not here: after a crash the alerts table itself stops
        # a second alert for the same rule and subject, and resolving twice is a no-op.

    # --- timer -----------------------------------------------------------------------------

    def tick(self) -> None:
        """Timer work: forecasts, silent sensors, frame losses, held breaches, hold-offs,
        saving states."""
        now = self.clock.now()
        # Forecasting reads histories and takes a while: not under the lock, so Observations
        # arriving meanwhile are judged at once.
        started = time.perf_counter()
        due = self._forecasts_due(now)
        crossings = self._crossings(due, now)
        if due:
            self._record_forecast_run(now, due, crossings, time.perf_counter() - started)
        if self.shared:
            with self._lock, self.database.begin() as conn:
                # Every Datastream's judging waits while the timer judges (and vice versa).
                ownership.lock_all_datastreams(conn)
                self._adopt_active_states(conn)
                self._tick(conn, now, crossings)
            return
        with self._lock:
            self._tick(None, now, crossings)

    def _adopt_active_states(self, conn: Connection) -> None:
        """Read every known state again and take up the states of open episodes, whichever
        process judged them."""
        self._refresh_states(conn, list(self._states))
        rows = conn.execute(
            select(alert_rule_states.c.rule_id, alert_rule_states.c.subject,
                   alert_rule_states.c.state)
            .where(cast(alert_rule_states.c.state, Text).like('%"active"%')))
        datastream_ids: list[int] = []
        for row in rows:
            key = (int(row.rule_id), str(row.subject))
            state = self._states.setdefault(key, {})
            state.clear()
            state.update(dict(row.state or {}))
            if key[1].startswith("ds:"):
                datastream_ids.append(int(key[1][3:]))
        for key, state in self._states.items():
            if "active" in state and key not in self._by_key and key[1].startswith("ds:"):
                datastream_ids.append(int(key[1][3:]))
        self._load_bindings(conn, sorted(set(datastream_ids)))

    def _tick(self, shared_conn: Connection | None, now: datetime,
              crossings: dict[Key, Crossing]) -> None:
        nt = now.timestamp()
        with (contextlib.nullcontext(shared_conn) if shared_conn is not None
              else self.database.connect()) as conn:
            self._check_rules_version(conn)
            rules = self._ensure_rules()
            timer_bindings = self._timer_bindings(conn, rules)
            if shared_conn is not None:
                self._refresh_states(conn, [b.key for b in timer_bindings])
            self._load_states(conn, [b.key for b in timer_bindings])
            last_seen = self._last_seen(conn, {b.thing_id for b in timer_bindings})
            counters = self.device_health.frame_counters(
                conn, {b.thing_id for b in timer_bindings if b.rule.kind == "frame_loss"})
        transitions: list[tuple[str, Binding, Any]] = []
        for b in timer_bindings:
            ctx = Context(b.thing_id, b.ctx.thing_name, None,
                          crossings.get(b.key),
                          frame_counters=counters.get(b.thing_id),
                          last_seen=last_seen.get(b.thing_id), extra=b.ctx.extra)
            self._judge(b, b.kind.tick(b.rule, self._states[b.key], nt, ctx), transitions)
            self._touched.add(b.key)
        for key, state in list(self._states.items()):
            held = self._by_key.get(key)
            if held is None:
                continue
            if not held.kind.timer:
                self._judge(held, held.kind.tick(held.rule, state, nt, held.ctx),
                            transitions)
            # A condition clear for the whole hold-off resolves even with no new reading.
            if state.get("active") and "cs" in state and (
                    nt - state["cs"] >= held.rule.hold_off_s):
                state.pop("active", None)
                state.pop("cs", None)
                transitions.append(("resolve", held, nt))
        if transitions:
            self._apply(transitions, shared_conn)
        if shared_conn is not None:
            self._touched.update(b.key for _, b, _ in transitions)
            self._save_states(shared_conn, self._touched, now)
            self._touched.clear()
        else:
            self.save_states()

    def _record_forecast_run(self, now: datetime, due: dict[float, list[Binding]],
                             crossings: dict[Key, Crossing], seconds: float) -> None:
        """The transparency run record of one round of forecast rules."""
        assets = {b.thing_id for group in due.values() for b in group}
        with self.database.begin() as conn:
            runs.record_run(conn, runs.RunRecord(
                runs.ALERT_RULES, now, round(seconds, 4),
                {"forecaster": self.forecasts.name,
                 "horizons_hours": sorted(due)},
                inputs=[runs.InputData("asset reading histories", len(assets), last=now)],
                volumes={"rules_due": sum(len(g) for g in due.values()),
                         "assets_forecast": len(assets), "crossings_predicted": len(crossings)},
                actor="alerts timer"))

    def _judge(self, b: Binding, verdict: Verdict | None,
               transitions: list[tuple[str, Binding, Any]]) -> None:
        if verdict is None:
            return
        state = self._states[b.key]
        if verdict[0] == "C":
            if "active" in state:
                self._cleared(b, state, verdict[1], transitions)
        else:
            self._breached(b, state, verdict, transitions)

    def _timer_bindings(self, conn: Connection, rules: list[Rule]) -> list[Binding]:
        timer_kinds = {name for name, kind in KINDS.items() if kind.timer}
        if not any(r.kind in timer_kinds and r.enabled for r in rules):
            return []
        out = []
        for row in conn.execute(select(things.c.id, things.c.name, things.c.organisation_id,
                                       things.c.properties)):
            asset_type = (row.properties or {}).get("asset_type")
            thresholds: Thresholds | None = None
            for rule in effective_rules(rules, row.id, asset_type):
                if rule.kind not in timer_kinds:
                    continue
                binding = self._by_key.get((rule.id, f"thing:{row.id}"))
                if binding is None:
                    thresholds = thresholds or self._thresholds(row.organisation_id,
                                                                row.properties)
                    binding = self._bind(rule, row.id, row.name, None, None, None, thresholds)
                if binding is not None:
                    out.append(binding)
        return out

    def _forecasts_due(self, now: datetime) -> dict[float, list[Binding]]:
        """The forecast rules whose asset's forecast is due, by horizon (hours)."""
        due: dict[float, list[Binding]] = {}
        with self._lock, self.database.connect() as conn:
            self._check_rules_version(conn)
            bindings = [b for b in self._timer_bindings(conn, self._ensure_rules())
                        if isinstance(b.kind, ForecastLevel)]
            self._load_states(conn, [b.key for b in bindings])
            for b in bindings:
                kind = b.kind
                if isinstance(kind, ForecastLevel) and kind.due(b.rule, self._states[b.key],
                                                                now.timestamp()):
                    due.setdefault(kind.param(b.rule, "within_h"), []).append(b)
        return due

    def _crossings(self, due: dict[float, list[Binding]], now: datetime
                   ) -> dict[Key, Crossing]:
        """The forecasts of the rules due, fetched once per horizon."""
        found: dict[Key, Crossing] = {}
        if not due:
            return found
        with self.database.connect() as conn:
            for within_h, group in due.items():
                crossings = self.forecasts.crossings(conn, {b.thing_id for b in group}, now,
                                                     timedelta(hours=within_h))
                for b in group:
                    if b.thing_id in crossings:
                        found[b.key] = crossings[b.thing_id]
        return found

    def _last_seen(self, conn: Connection, thing_ids: set[int]) -> dict[int, float]:
        if not thing_ids:
            return {}
        # The materialised latest time per Datastream: no Observation is read.
        rows = conn.execute(
            select(datastreams.c.thing_id, func.max(datastreams.c.latest_phenomenon_time))
            .where(datastreams.c.thing_id.in_(sorted(thing_ids)))
            .group_by(datastreams.c.thing_id))
        return {int(r[0]): r[1].timestamp() for r in rows if r[1] is not None}

    # --- location changes ------------------------------------------------------------------

    def on_locations_changed(self, thing_ids: list[int]) -> None:
        """Judge "moved" rules when Things' Locations change (``locations.changed``)."""
        if not thing_ids:
            return
        with self._lock:
            rules = self._ensure_rules()
            transitions: list[tuple[str, Binding, Any]] = []
            nt = self.clock.now().timestamp()
            with self.database.connect() as conn:
                for row in conn.execute(select(things.c.id, things.c.name, things.c.properties)
                                        .where(things.c.id.in_(list(thing_ids)))):
                    asset_type = (row.properties or {}).get("asset_type")
                    moved_rules = [r for r in effective_rules(rules, row.id, asset_type)
                                   if r.kind == "location_changed"]
                    if not moved_rules:
                        continue
                    current, before = _current_and_previous_point(conn, row.id)
                    if current is None:
                        continue
                    for rule in moved_rules:
                        found = self._by_key.get((rule.id, f"thing:{row.id}")) or self._bind(
                            rule, row.id, row.name, None, None, None, Thresholds())
                        if found is None:
                            continue
                        b = found
                        self._load_states(conn, [b.key])
                        kind = b.kind
                        assert isinstance(kind, LocationChanged)
                        verdict = kind.moved(rule, self._states[b.key], nt, before, current,
                                             b.ctx)
                        self._touched.add(b.key)
                        self._judge(b, verdict, transitions)
            if transitions:
                self._apply(transitions)


def _point(geojson: Any) -> tuple[float, float] | None:
    if isinstance(geojson, dict) and geojson.get("type") == "Feature":
        geojson = geojson.get("geometry")
    if isinstance(geojson, dict) and geojson.get("type") == "Point":
        lon, lat = geojson["coordinates"][:2]
        return float(lon), float(lat)
    return None


def _current_and_previous_point(conn: Connection, thing_id: int
                                ) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """The Thing's current point and the one before it (the two newest HistoricalLocations)."""
    current_row = conn.execute(
        select(locations.c.location)
        .join(thing_locations, thing_locations.c.location_id == locations.c.id)
        .where(thing_locations.c.thing_id == thing_id)).first()
    current = _point(current_row.location) if current_row else None
    history = conn.execute(
        select(locations.c.location)
        .join(location_historical_locations,
              location_historical_locations.c.location_id == locations.c.id)
        .join(historical_locations,
              historical_locations.c.id == location_historical_locations.c.historical_location_id)
        .where(historical_locations.c.thing_id == thing_id)
        .order_by(historical_locations.c.time.desc()).limit(2)).all()
    previous = _point(history[1].location) if len(history) > 1 else None
    return current, previous


def attach_engine(database: Database, clock: Clock | None = None,
                  forecasts: ForecastSource | None = None,
                  device_health: DeviceHealthSource | None = None, *,
                  shared: bool = False) -> RuleEngine:
    """A rule engine for ``database``, subscribed to its events (detach it when done)."""
    return RuleEngine(database, clock, forecasts, device_health, shared=shared).attach()
