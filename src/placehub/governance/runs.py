"""Run records: every run of an algorithm the transparency records describe says which version,
parameters, seed and input data it used, how much it handled, how long it took and how it went.

The live transparency records (``placehub.governance.atrs``) are built from these rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, String, cast, func, insert, select

from placehub import __version__
from placehub.governance.tables import algorithm_runs

# The algorithms with transparency records (ids of placehub/insight/transparency/*.toml).
ROUNDS_PLANNING = "rounds-planning"
# Simulations of rounds policies on one demand: the measured savings against fixed rounds.
ROUNDS_SIMULATION = "rounds-simulation"
ALERT_RULES = "alert-rules"
COMPOSITE_INDEX = "composite-index"
OUTCOMES = ("ok", "partial", "failed")


@dataclass(frozen=True)
class InputData:
    """One input data set of a run and the times it covered."""

    name: str
    rows: int
    first: datetime | None = None
    last: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "rows": self.rows,
                "first": self.first.isoformat() if self.first else None,
                "last": self.last.isoformat() if self.last else None}


@dataclass
class RunRecord:
    """One run of an algorithm."""

    algorithm: str
    started_at: datetime
    duration_seconds: float | None
    parameters: dict[str, Any]
    outcome: str = "ok"
    seed: int | None = None
    inputs: Sequence[InputData] = ()
    volumes: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    organisation_id: int | None = None
    actor: str = ""
    reference: str | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome {self.outcome!r} not understood: use one of {OUTCOMES}")
        if self.started_at.tzinfo is None:
            raise ValueError("started_at needs a timezone")
        if not self.version:
            self.version = f"placehub {__version__}"


def record_run(conn: Connection, run: RunRecord) -> int:
    """Store ``run`` inside ``conn``'s transaction; answer its id."""
    inserted = conn.execute(insert(algorithm_runs).values(
        algorithm=run.algorithm[:100], version=run.version[:100], started_at=run.started_at,
        duration_seconds=run.duration_seconds, parameters=run.parameters, seed=run.seed,
        inputs=[i.as_json() for i in run.inputs], volumes=run.volumes, outcome=run.outcome,
        metrics=run.metrics or None, organisation_id=run.organisation_id,
        actor=run.actor[:200], reference=run.reference))
    return int(inserted.inserted_primary_key[0])  # type: ignore[index]


# One algorithm id, or several (a transparency record that covers several tools).
Algorithms = str | Sequence[str]


def _ids(algorithm: Algorithms) -> list[str]:
    return [algorithm] if isinstance(algorithm, str) else list(algorithm)


def _of(algorithm: Algorithms) -> ColumnElement[bool]:
    ids = _ids(algorithm)
    return (algorithm_runs.c.algorithm == ids[0] if len(ids) == 1
            else algorithm_runs.c.algorithm.in_(ids))


def list_runs(conn: Connection, algorithm: Algorithms | None = None, limit: int = 50
              ) -> list[dict[str, Any]]:
    """The newest runs, of one algorithm (or several) if given."""
    query = select(algorithm_runs).order_by(algorithm_runs.c.started_at.desc(),
                                            algorithm_runs.c.id.desc()).limit(limit)
    if algorithm:
        query = query.where(_of(algorithm))
    return [dict(row) for row in conn.execute(query).mappings()]


def runs_per_month(conn: Connection, algorithm: Algorithms, now: datetime, months: int = 12
                   ) -> dict[str, int]:
    """Runs of ``algorithm`` (one id or several) per calendar month (YYYY-MM): the ``months``
    months up to and including the one of ``now``, one index range count each."""
    year, month = now.year, now.month
    starts = []
    for _ in range(months):
        starts.append(datetime(year, month, 1, tzinfo=UTC))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    starts.reverse()
    ends: list[datetime | None] = [*starts[1:], None]
    counts: dict[str, int] = {}
    for first, end in zip(starts, ends, strict=True):
        query = select(func.count()).select_from(algorithm_runs).where(
            _of(algorithm), algorithm_runs.c.started_at >= first)
        if end is not None:
            query = query.where(algorithm_runs.c.started_at < end)
        counts[first.strftime("%Y-%m")] = int(conn.execute(query).scalar_one())
    return counts


def latest_measured(conn: Connection, algorithm: str) -> dict[str, Any] | None:
    """The newest run of ``algorithm`` that measured its performance (has metrics: a run
    without them holds SQL NULL or, from JSON columns, a JSON null)."""
    metrics = algorithm_runs.c.metrics
    row = conn.execute(select(algorithm_runs).where(
        algorithm_runs.c.algorithm == algorithm, metrics.is_not(None),
        cast(metrics, String) != "null").order_by(
        algorithm_runs.c.started_at.desc(), algorithm_runs.c.id.desc()).limit(1)).mappings().first()
    return dict(row) if row is not None else None


def run_count(conn: Connection, algorithm: Algorithms) -> int:
    return int(conn.execute(select(func.count()).select_from(algorithm_runs).where(
        _of(algorithm))).scalar_one())


def configuration_changes(conn: Connection, algorithm: Algorithms) -> list[dict[str, Any]]:
    """When the version or parameters of ``algorithm`` changed from one run to the next
    (oldest first): the live part of the record's history. Of several algorithms, each is
    followed on its own and the summaries name it."""
    ids = _ids(algorithm)
    if len(ids) > 1:
        merged = [{**change, "summary": f"{name}: {change['summary']}"}
                  for name in ids for change in configuration_changes(conn, name)]
        return sorted(merged, key=lambda change: (change["date"], change["run_id"]))
    changes: list[dict[str, Any]] = []
    before: tuple[str, Any] | None = None
    for row in conn.execute(select(algorithm_runs.c.started_at, algorithm_runs.c.version,
                                   algorithm_runs.c.parameters, algorithm_runs.c.id)
                            .where(_of(algorithm))
                            .order_by(algorithm_runs.c.started_at, algorithm_runs.c.id)):
        now = (row.version, row.parameters)
        if before is None or now != before:
            what = []
            if before is None:
                what.append("first run")
            else:
                if row.version != before[0]:
                    what.append(f"version {before[0]} -> {row.version}")
                if row.parameters != before[1]:
                    keys = sorted(k for k in set(before[1] or {}) | set(row.parameters or {})
                                  if (before[1] or {}).get(k) != (row.parameters or {}).get(k))
                    what.append("parameters changed: " + ", ".join(keys))
            changes.append({"date": row.started_at.isoformat(), "source": "run records",
                            "run_id": int(row.id), "summary": "; ".join(what)})
        before = now
    return changes


__all__ = ["ALERT_RULES", "Algorithms", "COMPOSITE_INDEX", "InputData", "OUTCOMES",
           "ROUNDS_PLANNING", "ROUNDS_SIMULATION", "RunRecord", "configuration_changes",
           "latest_measured", "list_runs", "record_run", "run_count", "runs_per_month"]
