"""Run records and the live transparency records built from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Connection

from placehub.access.service import create_token, create_user, grant_role
from placehub.db import Database
from placehub.governance import runs
from tests.rounds.conftest import add_asset, add_organisation

AT = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
DAY = timedelta(days=1)
BIN = {"asset_type": "litter_bin", "empty_distance_mm": 1000, "full_distance_mm": 200,
       "capacity_litres": 120}


def _bins(conn: Connection, count: int = 8) -> str:
    """Bins in Oakham filling at different rates over a week, and an editor's token."""
    org = add_organisation(conn)
    for i in range(count):
        rate = 0.1 + 0.1 * (i % 4)
        readings = [(AT - 7 * DAY + k * DAY / 2, 1000 - 800 * min(rate * k / 2, 1.0))
                    for k in range(15)]
        add_asset(conn, f"Bin {i}", -0.73 + 0.002 * i, 52.67 + 0.001 * i, BIN, "distance",
                  readings)
    user = create_user(conn, "crew")
    grant_role(conn, user, org, "editor")
    return create_token(conn, user)


def test_a_plan_run_produces_a_run_record_shown_in_the_atrs_json(
        client: TestClient, database: Database) -> None:
    """POSTing a plan stores a run record (seed, parameters, inputs, outcome); the public
    ATRS JSON of the rounds planner shows those parameters, the run count and its history."""
    with database.begin() as conn:
        token = _bins(conn)
    response = client.post("/api/rounds/plans", headers={"Authorization": f"Bearer {token}"},
                           json={"service": "waste", "date": "2026-11-23", "seed": 11,
                                 "at": AT.isoformat(), "runtime_seconds": 0.3})
    assert response.status_code == 201, response.text
    plan = response.json()
    with database.connect() as conn:
        stored = runs.list_runs(conn, runs.ROUNDS_PLANNING)
    assert len(stored) == 1
    run = stored[0]
    assert run["seed"] == 11 and run["reference"] == f"plan {plan['id']}"
    assert run["parameters"]["service"] == "waste" and run["parameters"]["day"] == "2026-11-23"
    assert run["parameters"]["forecaster"] == plan["solver"]["forecaster"]
    assert run["volumes"]["assets_considered"] == 8
    assert run["inputs"][0]["last"].startswith("2026-11-22T18:00")
    assert run["outcome"] in {"ok", "partial"} and "PyVRP" in run["version"]

    record = client.get("/api/algorithms/rounds-planning").json()
    assert record["metadata"]["standard_version"] == "3.0"
    live = record["tier_2"]["tool_specification"]["live"]
    assert live["seed"] == 11 and live["parameters"] == run["parameters"]
    assert live["performance"]["km"] == run["metrics"]["km"]
    assert "created_by" not in str(live) and "crew" not in str(live["recent_runs"])
    frequency = record["tier_2"]["decision_making_process"]["frequency_and_scale_measured"]
    assert frequency["runs_total"] == 1
    assert sum(frequency["runs_per_month"].values()) == 1
    assert [h["source"] for h in record["history"]].count("run records") == 1
    listed = {r["id"]: r for r in client.get("/api/algorithms").json()["value"]}
    assert listed["rounds-planning"]["runs_total"] == 1
    assert listed["alert-rules"]["runs_total"] == 0
    assert client.get("/api/algorithms/astrology").status_code == 404


def test_history_records_parameter_changes_between_runs(database: Database) -> None:
    """Two runs with the same parameters make one history entry; a changed parameter adds one
    that names it."""
    base = dict(algorithm=runs.COMPOSITE_INDEX, duration_seconds=0.5, seed=None)
    with database.begin() as conn:
        for n, weights in enumerate([{"income": 0.225}, {"income": 0.225}, {"income": 0.3}]):
            runs.record_run(conn, runs.RunRecord(
                started_at=AT + n * DAY, parameters={"weights": weights, "ties": "min"},
                **base))  # type: ignore[arg-type]
        changes = runs.configuration_changes(conn, runs.COMPOSITE_INDEX)
        per_month = runs.runs_per_month(conn, runs.COMPOSITE_INDEX, AT + 20 * DAY, months=3)
    assert [c["summary"] for c in changes] == ["first run", "parameters changed: weights"]
    assert per_month == {"2026-10": 0, "2026-11": 3, "2026-12": 0}


def test_a_run_record_refuses_an_unknown_outcome_and_a_naive_time() -> None:
    """Outcomes are ok, partial or failed; start times carry a timezone."""
    import pytest

    with pytest.raises(ValueError, match="outcome"):
        runs.RunRecord(runs.ALERT_RULES, AT, 1.0, {}, outcome="great")
    with pytest.raises(ValueError, match="timezone"):
        runs.RunRecord(runs.ALERT_RULES, AT.replace(tzinfo=None), 1.0, {})


def test_the_rounds_record_publishes_plans_and_simulated_savings(
        client: TestClient, database: Database) -> None:
    """A plan and a later simulation both count for the rounds-planning record; each one's
    measured performance is published (the simulation's saving against fixed rounds beside
    the plan's km) and the history names each."""
    with database.begin() as conn:
        runs.record_run(conn, runs.RunRecord(
            runs.ROUNDS_PLANNING, AT, 0.3, {"service": "waste", "day": "2026-11-23"}, seed=11,
            metrics={"km": 41.2, "vehicles_used": 2}, reference="plan 1"))
        runs.record_run(conn, runs.RunRecord(
            runs.ROUNDS_SIMULATION, AT + DAY, 95.0, {"service": "waste", "seeds": [1, 2, 3]},
            metrics={"placehub_km_saving_vs_fixed": 0.2731, "fixed_km": 1830.4,
                     "placehub_km": 1330.5, "seeds": 3}, reference="simulation"))
    record = client.get("/api/algorithms/rounds-planning").json()
    live = record["tier_2"]["tool_specification"]["live"]
    measured = live["performance_by_algorithm"]
    assert measured["rounds-planning"]["km"] == 41.2
    assert measured["rounds-simulation"]["placehub_km_saving_vs_fixed"] == 0.2731
    assert measured["rounds-simulation"]["measured_at"].startswith("2026-11-23T18:00")
    frequency = record["tier_2"]["decision_making_process"]["frequency_and_scale_measured"]
    assert frequency["runs_total"] == 2
    assert [h["summary"] for h in record["history"] if h["source"] == "run records"] == [
        "rounds-planning: first run", "rounds-simulation: first run"]
    page = client.get("/algorithms/rounds-planning").text
    assert "Measured performance of rounds simulation" in page and "0.2731" in page
