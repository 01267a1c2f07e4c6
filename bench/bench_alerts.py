"""Benchmark: ingest throughput with 10 alert rules per Datastream against ingest without rules.

Both sides do the same work per batch — ``write_observations`` of 1,000 Observations (10 each on
100 Datastreams) in one transaction, then ``observations.written`` delivered on the event bus —
and differ only in whether the rule engine is subscribed. Rounds alternate between the two, on
separate Datastreams of the same database, so both see the same machine load; the figure is the
median throughput of each and their ratio (and the best rounds, the figure least disturbed by
outside load on the machine). Target: rules cost at most 20% of throughput.

    PYTHONPATH=src python bench/bench_alerts.py [--rounds 15] [--scenario typical|harsh|both]
                                                [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from placehub.access.service import Principal, ensure_organisation
from placehub.alerts.air_import import station_datastreams
from placehub.alerts.clock import FakeClock
from placehub.alerts.engine import attach_engine
from placehub.alerts.store import create_rule
from placehub.db import Database
from placehub.db.scratch import scratch_postgres
from placehub.sta.model import ORGANISATION_ANNOTATION, VISIBILITY_ANNOTATION
from placehub.sta.observations import NewObservation, write_observations
from placehub.sta.writes import create_entity

BATCH_STREAMS = 100
PER_STREAM = 10
START = datetime(2026, 1, 1, tzinfo=UTC)

# Ten rules on every fill_level Datastream of a "bench_bin", in two mixes.
# "harsh": every evaluating kind, tuned so 8 of the 10 open and resolve an alert in every fill
# cycle (a worst case for alert writes).
HARSH: list[dict[str, Any]] = [
    {"kind": "threshold", "params": {"op": "above", "value": 90.0, "for_s": 1800}},
    {"kind": "threshold", "params": {"op": "above", "value": 97.0}},
    {"kind": "threshold", "params": {"op": "below", "value": 1.0, "for_s": 600}},
    {"kind": "threshold", "params": {"op": "above", "value": 80.0, "for_s": 7200}},
    {"kind": "rate_of_change", "params": {"max_change": 40.0, "direction": "rise"}},
    {"kind": "rate_of_change", "params": {"max_change": 60.0, "direction": "any"}},
    {"kind": "forecast", "params": {"level": 100.0, "within_h": 6, "direction": "rise"}},
    {"kind": "forecast", "params": {"level": 100.0, "within_h": 24, "direction": "rise"}},
    {"kind": "air_hourly_mean", "params": {"limit": 95.0}},
    {"kind": "air_hours_above_limit", "params": {"limit": 95.0, "allowed": 18}},
]
# "typical": what a council might set on a bin's fill level — nearly full, overflow forecasts,
# sensor faults (impossible values), fly-tipping (sudden rise): 2-3 fire per fill cycle.
TYPICAL: list[dict[str, Any]] = [
    {"kind": "threshold", "params": {"op": "above", "value": 90.0, "for_s": 1800}},
    {"kind": "threshold", "params": {"op": "above", "value": 100.0, "for_s": 3600}},
    {"kind": "threshold", "params": {"op": "above", "value": 120.0}},
    {"kind": "threshold", "params": {"op": "below", "value": -5.0}},
    {"kind": "threshold", "params": {"op": "above", "value": 80.0, "for_s": 86400}},
    {"kind": "rate_of_change", "params": {"max_change": 50.0, "direction": "rise"}},
    {"kind": "rate_of_change", "params": {"max_change": 200.0, "direction": "rise",
                                          "per_s": 600}},
    {"kind": "forecast", "params": {"level": 100.0, "within_h": 6, "direction": "rise"}},
    {"kind": "forecast", "params": {"level": 100.0, "within_h": 12, "direction": "rise"}},
    {"kind": "forecast", "params": {"level": 90.0, "within_h": 24, "direction": "rise"}},
]
SCENARIOS = {"typical": TYPICAL, "harsh": HARSH}


def make_streams(database: Database, count: int, name: str) -> list[int]:
    principal = Principal(username="bench", write_anywhere=True)
    ids = []
    with database.begin() as conn:
        ensure_organisation(conn, "bench", "Bench")
        for i in range(count):
            thing = create_entity(conn, principal, "Things", {
                "name": f"{name} {i}", "description": "bench bin",
                "properties": {"asset_type": "bench_bin"},
                ORGANISATION_ANNOTATION: "bench", VISIBILITY_ANNOTATION: "public",
                "Locations": [{"name": "x", "description": "x",
                               "encodingType": "application/geo+json",
                               "location": {"type": "Point",
                                            "coordinates": [-0.7 + i * 1e-4, 52.6]}}],
                "Datastreams": [{
                    "name": f"{name} {i} fill", "description": "fill", "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                    "unitOfMeasurement": {"name": "percent", "symbol": "%", "definition": ""},
                    "properties": {"quantity": "fill_level"},
                    "Sensor": {"name": "s", "description": "s", "encodingType": "text/plain",
                               "metadata": "m"},
                    "ObservedProperty": {"name": "fill", "definition": "urn:fill",
                                         "description": "fill"}}],
            })
            ids.append(station_datastreams(conn, thing)["fill_level"])
    return ids


def batch(streams: list[int], round_no: int, rng: random.Random,
          levels: dict[int, float]) -> list[NewObservation]:
    rows = []
    for k in range(PER_STREAM):
        at = START + timedelta(minutes=10 * (round_no * PER_STREAM + k))
        for ds in streams:
            # A bin read every 10 minutes, filling about 36% a day (full in ~3 days, a busy
            # town-centre bin) and emptied when it passes 100%: each of the 10 rules opens and
            # resolves about once per fill cycle, so ~5% of readings change an alert.
            level = levels.get(ds, rng.uniform(0, 90)) + rng.uniform(0, 0.5)
            levels[ds] = 0.0 if level > 101 else level
            rows.append(NewObservation(datastream_id=ds, phenomenon_time=at, result=level))
    return rows


def settle(database: Database) -> None:
    """Start each round from the same state: SQLite's WAL checkpoint (every 1,000 pages) and
    Python's garbage collector would otherwise land on random rounds of either side."""
    gc.collect()
    if database.dialect == "sqlite":
        with database.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def timed_round(database: Database, rows: list[NewObservation]) -> float:
    settle(database)
    started = time.perf_counter()
    with database.begin() as conn:
        result = write_observations(conn, rows)
    database.events.publish("observations.written", result.written)
    return len(rows) / (time.perf_counter() - started)


def run(url: str, rules: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    """Alternate rounds without and with the rules; medians, ratio, time in alert writes."""
    database = Database(url)
    database.upgrade()
    plain = make_streams(database, BATCH_STREAMS, "plain")
    ruled = make_streams(database, BATCH_STREAMS, "ruled")
    clock = FakeClock(START)
    with database.begin() as conn:
        for i, spec in enumerate(rules):
            create_rule(conn, clock.now(), key=f"bench_{i}", name=f"bench {i}",
                        kind=spec["kind"], params=spec["params"], asset_type="bench_bin",
                        quantity="fill_level", hold_off_s=1800)
    engine = attach_engine(database, clock)
    engine.detach()
    apply_seconds = [0.0]
    original_apply = engine._apply

    def timed_apply(transitions: list[Any]) -> None:
        started = time.perf_counter()
        original_apply(transitions)
        apply_seconds[0] += time.perf_counter() - started

    engine._apply = timed_apply  # type: ignore[method-assign]
    rng = random.Random(1)
    levels: dict[int, float] = {}
    # Warm-up: bind rules and load states once, as a running server would have done.
    engine.attach()
    timed_round(database, batch(ruled, 0, rng, levels))
    engine.detach()
    timed_round(database, batch(plain, 0, rng, levels))
    apply_seconds[0] = 0.0
    without, with_rules = [], []
    for round_no in range(1, rounds + 1):
        without.append(timed_round(database, batch(plain, round_no, rng, levels)))
        engine.attach()
        with_rules.append(timed_round(database, batch(ruled, round_no, rng, levels)))
        engine.detach()
        clock.set(START + timedelta(minutes=10 * (round_no + 1) * PER_STREAM))
    engine.tick()  # timer work is not part of ingest; run once to show it works
    with database.connect() as conn:
        opened = conn.exec_driver_sql("SELECT count(*) FROM alerts").scalar()
    database.dispose()
    base, ruled_median = statistics.median(without), statistics.median(with_rules)
    ruled_seconds = sum(BATCH_STREAMS * PER_STREAM / r for r in with_rules)
    return {"dialect": database.dialect, "without": base, "with": ruled_median,
            "ratio": ruled_median / base, "alerts": opened,
            "best_without": max(without), "best_with": max(with_rules),
            "best_ratio": max(with_rules) / max(without),
            # Each with-rules round against the round just before it: outside load that lasts
            # a few rounds moves both sides of a pair, so this median is the steadiest figure.
            "paired_ratio": statistics.median(w / b for w, b in zip(with_rules, without,
                                                                    strict=True)),
            "alert_write_share": apply_seconds[0] / ruled_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--scenario", choices=[*SCENARIOS, "both"], default="both")
    args = parser.parse_args()
    names = list(SCENARIOS) if args.scenario == "both" else [args.scenario]
    print(f"{args.rounds} rounds of {BATCH_STREAMS * PER_STREAM} Observations "
          f"({BATCH_STREAMS} Datastreams x {PER_STREAM} readings, 10 min apart), 10 rules per "
          f"Datastream; machine {platform.machine()}, Python {platform.python_version()}")
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            dropped = None
            if args.database_url and "sqlite" not in args.database_url:
                url, dropped = scratch_postgres(args.database_url, "bench_alerts")
            try:
                result = run(url, SCENARIOS[name], args.rounds)
            finally:
                if dropped:
                    dropped()
        print(f"[{name}] {result['dialect']}: without rules median {result['without']:,.0f} "
              f"obs/s; with rules {result['with']:,.0f} obs/s; ratio {result['ratio']:.3f} "
              f"(rules cost {1 - result['ratio']:.1%}, target <= 20%); alerts opened "
              f"{result['alerts']}; {result['alert_write_share']:.1%} of the with-rules time "
              "is writing alerts")
        print(f"[{name}] best rounds (least disturbed by other load): without "
              f"{result['best_without']:,.0f} obs/s, with {result['best_with']:,.0f} obs/s, "
              f"ratio {result['best_ratio']:.3f} (rules cost {1 - result['best_ratio']:.1%})")
        print(f"[{name}] median of paired rounds: ratio {result['paired_ratio']:.3f} "
              f"(rules cost {1 - result['paired_ratio']:.1%})")


if __name__ == "__main__":
    main()
