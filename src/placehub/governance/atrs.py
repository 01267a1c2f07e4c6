"""Live transparency records: the static text of each algorithm's ATRS record joined with what
its run records say (last run, runs per month, parameters, seed, input data, measured
performance) and a history of changes from both.

The JSON follows the sections of the Algorithmic Transparency Recording Standard (v3.0):
metadata, Tier 1 overview and the five Tier 2 sections, with the live facts under
``tool_specification``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from placehub.governance import runs
from placehub.insight.transparency import TransparencyRecord

STANDARD = "Algorithmic Transparency Recording Standard"
STANDARD_VERSION = "3.0"
# Run-record fields published (never who ran it: that is for the audit trail).
_PUBLISHED = ("started_at", "version", "duration_seconds", "parameters", "seed", "inputs",
              "volumes", "outcome", "metrics", "reference")


def _public_run(row: dict[str, Any]) -> dict[str, Any]:
    out = {name: row.get(name) for name in _PUBLISHED}
    out["started_at"] = row["started_at"].isoformat()
    out["id"] = int(row["id"])
    out["algorithm"] = row.get("algorithm")
    return out


@dataclass(frozen=True)
class LiveFacts:
    """What the run records say about one algorithm."""

    runs_total: int
    runs_per_month: dict[str, int]
    last_run: dict[str, Any] | None
    recent_runs: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    # Per algorithm id the record covers: the newest run that measured its performance.
    measured: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def performance(self) -> dict[str, Any]:
        """The measured performance of the last run that measured it."""
        for run in self.recent_runs:
            if run.get("metrics"):
                return {"measured_at": run["started_at"], **run["metrics"]}
        return {}

    def performance_by_algorithm(self) -> dict[str, dict[str, Any]]:
        """Per algorithm id, the measured performance of its newest run that measured it
        (a record covering plans and simulations shows both)."""
        return {name: {"measured_at": run["started_at"], **run["metrics"]}
                for name, run in self.measured.items()}

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for run in self.recent_runs:
            counts[run["outcome"]] = counts.get(run["outcome"], 0) + 1
        return counts


def live_facts(conn: Connection, algorithm: runs.Algorithms, now: datetime, recent: int = 20
               ) -> LiveFacts:
    """The live facts of ``algorithm`` (a record's ``algorithms``: one id or several) at
    ``now``."""
    rows = [_public_run(r) for r in runs.list_runs(conn, algorithm, limit=recent)]
    measured = {}
    for name in ([algorithm] if isinstance(algorithm, str) else algorithm):
        found = runs.latest_measured(conn, name)
        if found is not None:
            measured[name] = _public_run(found)
    return LiveFacts(runs.run_count(conn, algorithm), runs.runs_per_month(conn, algorithm, now),
                     rows[0] if rows else None, rows, runs.configuration_changes(conn, algorithm),
                     measured)


def history(record: TransparencyRecord, facts: LiveFacts) -> list[dict[str, Any]]:
    """Changes of the record's text and of the algorithm's version and parameters, oldest
    first."""
    entries = [{"date": str(h.get("date", "")), "source": "record text",
                "version": str(h.get("version", "")), "summary": str(h.get("summary", ""))}
               for h in record.history]
    entries += facts.changes
    return sorted(entries, key=lambda e: e["date"])


def atrs_json(record: TransparencyRecord, facts: LiveFacts) -> dict[str, Any]:
    """The record as ATRS-shaped JSON with its live facts and history."""
    t2 = record.tier2
    changes = history(record, facts)
    last = facts.last_run
    return {
        "metadata": {
            "id": record.id, "standard": STANDARD, "standard_version": STANDARD_VERSION,
            "record_version": record.version, "date_completion": record.updated,
            "date_update": sorted({e["date"][:10] for e in changes}),
        },
        "tier_1": dict(record.tier1),
        "tier_2": {
            "owner_and_responsibility": t2["owner"],
            "description_and_rationale": t2["description"],
            "decision_making_process": {
                **t2["decision_making"],
                "frequency_and_scale_measured": {
                    "runs_total": facts.runs_total, "runs_per_month": facts.runs_per_month,
                    "last_run": last["started_at"] if last else None},
            },
            "tool_specification": {
                **t2["tool"],
                "data": t2["data"],
                "live": {
                    "version": last["version"] if last else None,
                    "parameters": last["parameters"] if last else None,
                    "seed": last["seed"] if last else None,
                    "inputs": last["inputs"] if last else [],
                    "volumes": last["volumes"] if last else {},
                    "duration_seconds": last["duration_seconds"] if last else None,
                    "outcomes_of_recent_runs": facts.outcomes(),
                    "performance": facts.performance,
                    "performance_by_algorithm": facts.performance_by_algorithm(),
                    "recent_runs": facts.recent_runs,
                },
            },
            "risks_mitigations_and_impact_assessments": {
                "risks": t2["risks"], "impact_assessments": t2["impact_assessments"]},
        },
        "history": changes,
    }


__all__ = ["LiveFacts", "STANDARD", "STANDARD_VERSION", "atrs_json", "history", "live_facts"]
