"""Batch (NumPy) rule evaluation gives exactly what judging every reading one by one gives."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from placehub.alerts import batch_rules
from placehub.alerts.clock import FakeClock
from placehub.alerts.engine import RuleEngine
from placehub.alerts.store import create_rule
from placehub.alerts.tables import alert_events, alerts
from placehub.db import Database
from placehub.sta.observations import NewObservation, write_observations

from .conftest import START, make_asset

# Every batch-judged kind, with hold-offs from none (resolve and reopen within one batch) to
# longer than a batch, and one rule that waits for a person.
RULES: list[dict[str, Any]] = [
    {"kind": "threshold", "params": {"op": "above", "value": 90.0, "for_s": 1800}},
    {"kind": "threshold", "params": {"op": "above", "value": 96.0}, "hold_off_s": 0},
    {"kind": "threshold", "params": {"op": "below", "value": 2.0, "for_s": 600}},
    {"kind": "threshold", "params": {"op": "above", "value": 80.0}, "auto_resolve": False},
    {"kind": "rate_of_change", "params": {"max_change": 6.0, "direction": "rise"},
     "hold_off_s": 0},
    {"kind": "rate_of_change", "params": {"max_change": 60.0, "direction": "any"}},
    {"kind": "threshold", "params": {"op": "at_least", "threshold": "nearly_full",
                                     "for_s": 1200}, "hold_off_s": 0},
    {"kind": "threshold", "params": {"op": "at_most", "value": 3.0}},
    {"kind": "air_hourly_mean", "params": {"limit": 92.0}},
    {"kind": "air_hours_above_limit", "params": {"limit": 85.0, "allowed": 3}},
]
STREAMS = 6
BATCHES = 40
PER_BATCH = 6  # readings per Datastream and batch, 10 minutes apart


def _readings(rng: random.Random) -> list[list[list[tuple[int, float]]]]:
    """Per batch, per Datastream: (minute, fill level) — bins filling fast with noise and
    spikes, emptied past 100%, now and then a reading arriving late or lost."""
    levels = [rng.uniform(0, 90) for _ in range(STREAMS)]
    batches = []
    for b in range(BATCHES):
        batch = []
        for s in range(STREAMS):
            rows = []
            for k in range(PER_BATCH):
                level = levels[s] + rng.uniform(-0.5, 3.0)
                if rng.random() < 0.03:
                    level += 15.0  # fly-tipping
                levels[s] = 0.0 if level > 101 else level
                rows.append((10 * (b * PER_BATCH + k), levels[s]))
            if rng.random() < 0.05:
                rows[1], rows[2] = rows[2], rows[1]  # a late reading: judged one by one
            if rng.random() < 0.2:
                del rows[rng.randrange(1, PER_BATCH):]  # fewer readings this time (lost)
            batch.append(rows)
        batches.append(batch)
    return batches


def _publish(database: Database, engine: RuleEngine, streams: list[int],
             batch: list[list[tuple[int, float]]]) -> None:
    rows = [NewObservation(datastream_id=ds, phenomenon_time=START + timedelta(minutes=m),
                           result=v) for k in range(PER_BATCH)
            for ds, readings in zip(streams, batch, strict=True) if k < len(readings)
            for m, v in [readings[k]]]
    with database.begin() as conn:
        written = write_observations(conn, rows).written
    engine.attach()
    try:
        database.events.publish("observations.written", written)
    finally:
        engine.detach()


def _alerts_by_stream(database: Database, streams: list[int]) -> list[list[tuple[Any, ...]]]:
    """Per Datastream: its alerts with their history, comparable across assets."""
    out = []
    with database.connect() as conn:
        for ds in streams:
            rows = conn.execute(select(alerts).where(alerts.c.subject == f"ds:{ds}")
                                .order_by(alerts.c.rule_key, alerts.c.id)).all()
            out.append([
                (a.rule_key, a.status, a.value, a.message, a.condition_since, a.opened_at,
                 a.resolved_at, [(e.action, e.note) for e in conn.execute(
                     select(alert_events).where(alert_events.c.alert_id == a.id)
                     .order_by(alert_events.c.at, alert_events.c.id))])
                for a in rows])
    return out


def test_batch_evaluation_matches_judging_reading_by_reading(
        database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same alerts, histories and rule states from both paths, on bins filling for days
    (rules with fixed values and rules on the asset's own thresholds alike)."""
    clock = FakeClock(START)
    with database.begin() as conn:
        for i, spec in enumerate(RULES):
            create_rule(conn, clock.now(), key=f"r{i}", name=f"rule {i}", kind=spec["kind"],
                        params=spec["params"], asset_type="test_bin", quantity="fill_level",
                        hold_off_s=spec.get("hold_off_s", 1800),
                        auto_resolve=spec.get("auto_resolve", True))
    by_batch = [make_asset(database, "test_bin", ["fill_level"], name=f"a{i}")[1]["fill_level"]
                for i in range(STREAMS)]
    one_by_one = [make_asset(database, "test_bin", ["fill_level"], name=f"b{i}")[1][
        "fill_level"] for i in range(STREAMS)]
    batched = RuleEngine(database, clock)
    reference = RuleEngine(database, clock, batch=False)
    settled = []
    real_settle = batch_rules.settle

    def counting_settle(*args: Any) -> Any:
        result = real_settle(*args)
        settled.extend(flag for part in result for flag in part.tolist())
        return result

    monkeypatch.setattr(batch_rules, "settle", counting_settle)
    for b, batch in enumerate(_readings(random.Random(7))):
        clock.set(START + timedelta(minutes=10 * PER_BATCH * (b + 1)))
        _publish(database, batched, by_batch, batch)
        _publish(database, reference, one_by_one, batch)
    assert _alerts_by_stream(database, by_batch) == _alerts_by_stream(database, one_by_one)
    with database.connect() as conn:
        rule_ids = [r.id for r in conn.execute(select(alerts.c.rule_id.label("id")).distinct())]
    for mine, theirs in zip(by_batch, one_by_one, strict=True):
        for rule_id in rule_ids:
            assert batched.state_of(rule_id, f"ds:{mine}") == reference.state_of(
                rule_id, f"ds:{theirs}")
    # The data exercised both paths and every rule, and episodes that end and start again
    # within one batch.
    assert 0.5 < np.mean(settled) < 1.0
    per_stream = _alerts_by_stream(database, by_batch)
    fired = {a[0] for stream in per_stream for a in stream}
    assert fired == {f"r{i}" for i in range(len(RULES))}
    assert any(a[6] is not None and b[5] == a[6] and a[0] == b[0]
               for stream in per_stream for a, b in itertools.pairwise(stream))


def test_lay_out_keeps_numbers_in_arrival_order_per_datastream() -> None:
    """Rows follow each Datastream's first reading; booleans count as 1/0, text is left out."""
    from dataclasses import dataclass
    from datetime import datetime

    @dataclass
    class Written:
        datastream_id: int
        phenomenon_time: datetime
        result: Any
        phenomenon_time_end: datetime | None = None

    at = [START + timedelta(minutes=m) for m in range(5)]
    readings = batch_rules.lay_out([
        Written(7, at[0], 1.5), Written(3, at[1], True), Written(7, at[2], "full"),
        Written(7, at[3], 2), Written(3, at[4], float("nan"))])
    assert readings.datastreams == [7, 3]
    assert readings.values[0].tolist() == [1.5, 2.0]
    assert readings.values[1, 0] == 1.0 and not readings.valid[1, 1]
    assert readings.row(0) == ([at[0].timestamp(), at[3].timestamp()], [1.5, 2.0], [None, None])
