"""The transparency run record of one composite index computation."""

from __future__ import annotations

from datetime import datetime

from placehub.governance import runs
from placehub.insight.index import Comparison, IndexResult


def index_run(result: IndexResult, comparison: Comparison | None, started_at: datetime,
              seconds: float, actor: str) -> runs.RunRecord:
    """What an index build used (definition, weights, data file, places) and, where the
    definition names published figures, how closely it reproduced them."""
    definition = result.definition
    files = [definition.data.file, *(path for path, _ in definition.data.joins)]
    metrics: dict[str, object] = {}
    if comparison is not None and comparison.places:
        metrics = {"published_ranks_compared": comparison.places,
                   "exact_rank_share": round(comparison.exact_share, 6),
                   "max_rank_difference": float(comparison.max_rank_difference),
                   "exact_deciles": comparison.exact_deciles}
    return runs.RunRecord(
        runs.COMPOSITE_INDEX, started_at, round(seconds, 4),
        {"definition": definition.id, "name": definition.name, "ties": definition.ties,
         "polarity": definition.polarity,
         "weights": {node: {k: round(v, 6) for k, v in w.items()}
                     for node, w in result.weights.items()}},
        inputs=[runs.InputData(path.name, len(result.places)) for path in files],
        volumes={"places": len(result.places), "indicators": len(definition.indicators),
                 "missing_values_treated": len(result.missing)},
        metrics=metrics, actor=actor, reference=definition.id)


__all__ = ["index_run"]
