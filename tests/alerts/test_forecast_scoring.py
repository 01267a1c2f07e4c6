"""The live measurement of the forecast alert rules: each forecast alert checked against the
line alert of its asset, on a scripted timeline and on bins run through the real engine and
forecaster."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select

from placehub.alerts.clock import FakeClock
from placehub.alerts.engine import attach_engine
from placehub.alerts.forecast_scoring import Span, measure, record_measurement, score
from placehub.alerts.tables import alerts
from placehub.db import Database
from placehub.governance import runs
from placehub.sta.observations import NewObservation, write_observations
from tests.alerts.conftest import START, make_asset

H = timedelta(hours=1)


def test_alerts_are_right_when_the_line_follows_within_the_horizon() -> None:
    """A warning 6 h before the bin filled is right (lead 6 h); one for a bin that never filled
    is wrong; one while the bin was already full is right (lead 0); one whose 24 h have not
    passed is not scored; a fill with no warning is a miss; a fill too early in the period to
    have been warned inside it is not counted."""
    since, until = START, START + 10 * 24 * H
    forecasts = [Span(1, "bin_overflow_forecast", since + 30 * H),
                 Span(2, "bin_overflow_forecast", since + 40 * H, since + 50 * H),
                 Span(3, "bin_overflow_forecast", since + 60 * H),
                 Span(4, "bin_overflow_forecast", until - 2 * H)]
    lines = [Span(1, "bin_full", since + 36 * H, since + 40 * H),
             Span(3, "bin_full", since + 59 * H),
             Span(5, "bin_full", since + 100 * H),
             Span(6, "bin_full", since + 5 * H)]
    (result,) = score(forecasts, lines, {"bin_overflow_forecast": 24.0}, since, until,
                      {t: "bin_overflow_forecast" for t in range(1, 7)}).values()
    assert (result.alerts, result.right) == (3, 2)
    assert sorted(result.lead_hours) == [0.0, 6.0]
    # Lines: bin 1 warned 6 h ahead; bin 3's line opened an hour before its alert; bin 5 missed.
    assert (result.events, result.warned) == (3, 1)
    assert result.precision == 2 / 3 and result.recall == 1 / 3


def _fill_track(rng: np.random.Generator, hours: int) -> list[float]:
    """A town-centre bin: fills about 5% an hour by day and 1% at night, with sensor noise,
    and is emptied six hours after it fills (the crew comes late)."""
    fill, track, full_for = float(rng.uniform(0.1, 0.4)), [], 0
    for hour in range(hours):
        daytime = 7 <= (START.hour + hour) % 24 < 21
        fill += float(rng.normal(0.05 if daytime else 0.01, 0.01))
        full_for = full_for + 1 if fill >= 1.0 else 0
        if full_for > 6:
            fill, full_for = 0.05, 0
        track.append(fill)
    return track


def test_bins_run_through_the_engine_are_measured_against_what_they_did(
        database: Database) -> None:
    """Four days of hourly readings from two filling bins and a quiet one through the real
    engine and forecaster: the measurement counts every line alert of the filling bins, calls a
    forecast alert right exactly when its bin's line alert followed within 24 h, and the
    run record keeps the measures for the transparency record."""
    clock = FakeClock(START)
    rng = np.random.default_rng(7)
    hours = 96
    streams = {}
    tracks = {}
    for name in ("Bin A", "Bin B", "Bin Q"):
        thing, by_quantity = make_asset(database, "litter_bin", ["fill_level"], name=name)
        streams[thing] = by_quantity["fill_level"]
        tracks[thing] = ([0.3 + float(rng.normal(0, 0.02)) for _ in range(hours)]
                         if name == "Bin Q" else _fill_track(rng, hours))
    engine = attach_engine(database, clock)
    try:
        for hour in range(hours):
            at = START + hour * H
            clock.set(at)
            rows = [NewObservation(stream, at, round(min(tracks[thing][hour], 1.1) * 100, 1))
                    for thing, stream in streams.items()]
            with database.begin() as conn:
                written = write_observations(conn, rows).written
            database.events.publish("observations.written", written)
            for minutes in (0, 30):
                clock.set(at + timedelta(minutes=minutes))
                engine.tick()
    finally:
        engine.detach()
    until = START + hours * H
    with database.connect() as conn:
        measured = measure(conn, until, days=4)
        rows = conn.execute(select(alerts.c.thing_id, alerts.c.rule_key, alerts.c.opened_at,
                                   alerts.c.resolved_at)).all()
    result = measured.scores["bin_overflow_forecast"]
    quiet = next(t for t in streams if tracks[t][0] < 0.35 and max(tracks[t]) < 0.5)
    lines = [r for r in rows if r.rule_key == "bin_full"]
    forecasts = [r for r in rows if r.rule_key == "bin_overflow_forecast"]
    assert lines and forecasts, "the filling bins raised both kinds of alert"
    assert not any(r.thing_id == quiet for r in rows)
    assert result.events == sum(1 for r in lines if r.opened_at >= START + 24 * H)
    scored = [f for f in forecasts if f.opened_at <= until - 24 * H]
    followed = [f for f in scored if any(
        line.thing_id == f.thing_id and (
            f.opened_at <= line.opened_at <= f.opened_at + 24 * H
            or (line.opened_at <= f.opened_at
                and (line.resolved_at is None or line.resolved_at > f.opened_at)))
        for line in lines)]
    assert (result.alerts, result.right) == (len(scored), len(followed))
    assert result.recall is not None and 0 < result.recall <= 1

    run_id, again = record_measurement(database, until, days=4)
    assert again.scores["bin_overflow_forecast"].alerts == result.alerts
    with database.connect() as conn:
        stored = runs.latest_measured(conn, runs.ALERT_RULES)
    assert stored is not None and stored["id"] == run_id
    assert stored["metrics"]["bin_overflow_forecast recall"] == round(result.recall, 3)
    assert stored["metrics"]["line_alerts"] >= result.events


def test_the_transparency_record_shows_the_newest_measurement(
        client: TestClient, database: Database) -> None:
    """After many forecast rounds without measures, the alert rules' ATRS JSON and page still
    show the last measurement's precision and recall."""
    thing, _ = make_asset(database, "litter_bin", ["fill_level"], name="Bin M")
    with database.begin() as conn:
        from placehub.alerts.store import ensure_default_rules, load_rules

        ensure_default_rules(conn, START)
        rule_ids = {r.key: r.id for r in load_rules(conn) if r.asset_type == "litter_bin"}
        conn.execute(alerts.insert(), [
            {"rule_id": rule_ids[key], "rule_key": key, "kind": kind, "severity": "warning",
             "subject": f"thing:{thing}", "thing_id": thing, "status": "resolved",
             "title": key, "message": "", "opened_at": START + opened * H,
             "resolved_at": START + (opened + 3) * H}
            for key, kind, opened in (("bin_overflow_forecast", "forecast", 30),
                                      ("bin_full", "threshold", 40),
                                      ("bin_overflow_forecast", "forecast", 70))])
    record_measurement(database, START + 5 * 24 * H, days=5)
    with database.begin() as conn:
        for n in range(250):  # a day of forecast rounds, each its own run record
            runs.record_run(conn, runs.RunRecord(runs.ALERT_RULES, START + 5 * 24 * H
                                                 + n * timedelta(minutes=5), 0.01, {}))
    record = client.get("/api/algorithms/alert-rules").json()
    performance = record["tier_2"]["tool_specification"]["live"]["performance_by_algorithm"]
    measured = performance[runs.ALERT_RULES]
    assert measured["precision"] == 0.5 and measured["recall"] == 1.0
    assert measured["median_lead_hours"] == 10.0
    page = client.get("/algorithms/alert-rules")
    assert page.status_code == 200 and "bin overflow forecast precision" in page.text


def test_the_measure_command_prints_each_rule_and_keeps_a_run(database: Database,
                                                              settings: object) -> None:
    """'placehub algorithms measure-alerts --json' on a hub with no alerts yet reports each
    forecast rule with nothing scored (no made-up rates) and keeps the run record."""
    import json

    from typer.testing import CliRunner

    from placehub.cli import app

    with database.begin() as conn:
        from placehub.alerts.store import ensure_default_rules

        ensure_default_rules(conn, START)
    result = CliRunner().invoke(app, ["--database-url", settings.database_url,  # type: ignore[attr-defined]
                                      "algorithms", "measure-alerts", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["alerts_scored"] == 0 and report["precision"] is None
    assert report["bin_overflow_forecast recall"] is None and "dry_forecast precision" in report
    with database.connect() as conn:
        assert runs.latest_measured(conn, runs.ALERT_RULES)["id"] == report["run_id"]  # type: ignore[index]
    bad = CliRunner().invoke(app, ["--database-url", settings.database_url,  # type: ignore[attr-defined]
                                   "algorithms", "measure-alerts", "--days", "0"])
    assert bad.exit_code == 2 and "greater than or equal to 1" in " ".join(bad.output.split())
