"""Uncertainty and sensitivity of an index's ranks: seeded Monte Carlo over weights and methods.

Each run draws every node's weights around the definition's own (Dirichlet or uniform
perturbation, keeping their total), one normalisation from the alternatives and one aggregation
from the alternatives, recomputes the whole hierarchy and ranks the places. Runs are evaluated in
blocks as NumPy arrays of places x runs, so tens of thousands of places x hundreds of runs take
seconds. Per place the result gives the median rank and the interval (e.g. 5th-95th
percentile) it falls in: a narrow interval is a robust ranking.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import rankdata

from placehub.insight import methods
from placehub.insight.definition import (
    DefinitionError,
    IndexDefinition,
    Indicator,
    Node,
    Normalisation,
    Sensitivity,
)
from placehub.insight.index import (
    IndexResult,
    PlaceTable,
    compute_index,
    indicator_values,
    load_place_table,
    normalise,
)
from placehub.insight.methods import FloatArray

BLOCK_RUNS = 32


#: The options of a sensitivity analysis are the definition's [sensitivity] table type.
SensitivityOptions = Sensitivity


@dataclass
class SensitivityResult:
    """Per place: the nominal rank, the median rank and the interval over the runs."""

    nominal: IndexResult
    options: SensitivityOptions
    median_rank: FloatArray
    low_rank: FloatArray
    high_rank: FloatArray
    normalisation_counts: dict[str, int] = field(default_factory=dict)
    aggregation_counts: dict[str, int] = field(default_factory=dict)

    @property
    def width(self) -> FloatArray:
        return self.high_rank - self.low_rank


def _perturbed_weights(rng: np.random.Generator, nominal: FloatArray, runs: int,
                       options: SensitivityOptions) -> FloatArray:
    """Weights per run (children x runs) around ``nominal``, keeping their total."""
    total = float(nominal.sum())
    if options.weights == "fixed" or nominal.size == 1 or total <= 0:
        return np.repeat(nominal[:, None], runs, axis=1)
    share = nominal / total
    if options.weights == "dirichlet":
        alpha = np.maximum(options.concentration * share * nominal.size, 1e-6)
        drawn = rng.dirichlet(alpha, size=runs).T
    else:
        factors = rng.uniform(1 - options.spread, 1 + options.spread, size=(nominal.size, runs))
        drawn = share[:, None] * factors
        drawn /= drawn.sum(axis=0, keepdims=True)
    return np.asarray(drawn * total)


def _aggregate_runs(child_scores: FloatArray, weights: FloatArray, chosen: list[str],
                    node: Node) -> FloatArray:
    """Aggregate places x children x runs with per-run weights and per-run aggregation."""
    out = np.empty((child_scores.shape[0], child_scores.shape[2]))
    for method in set(chosen):
        columns = [i for i, m in enumerate(chosen) if m == method]
        block = child_scores[:, :, columns]
        w = weights[:, columns][None, :, :]
        try:
            out[:, columns] = methods.aggregate(block, w, method, node.power)
        except ValueError as error:
            raise DefinitionError(
                f"sensitivity: {method} aggregation of {node.id} failed: {error}") from None
    return out


def run_sensitivity(definition: IndexDefinition, options: SensitivityOptions,
                    table: PlaceTable | None = None) -> SensitivityResult:
    """Monte Carlo over weights and methods; the same seed always gives the same result."""
    table = load_place_table(definition) if table is None else table
    nominal = compute_index(definition, table)
    rng = np.random.default_rng(options.seed)
    n = len(nominal.places)
    groups = np.array(nominal.areas) if definition.data.area else None

    # Every normalisation alternative of every indicator, computed once: (alternatives, places).
    alternatives: list[Normalisation | None] = [None, *options.normalisations]
    leaves: dict[str, FloatArray] = {}
    for indicator in definition.indicators:
        raw = indicator_values(table, indicator, nominal.places, groups, [], [])
        leaves[indicator.id] = np.stack([
            normalise(raw, alt or indicator.normalisation, indicator, definition.polarity)
            for alt in alternatives
        ])
    order = definition.node_order()
    # Alternative 0 is each indicator's own normalisation; with alternatives listed, every run
    # draws one of them (list the defined method among them to keep it in play).
    run_normalisation = (rng.integers(1, len(alternatives), size=options.runs)
                         if options.normalisations else np.zeros(options.runs, dtype=int))
    run_aggregation = (rng.integers(0, len(options.aggregations), size=options.runs)
                       if options.aggregations else None)
    run_weights = {
        node.id: _perturbed_weights(
            rng, np.array(list(nominal.weights[node.id].values())), options.runs, options)
        for node in order
    }

    ranks = np.empty((n, options.runs), dtype=np.float32)
    highest_first = definition.rank_1 == "highest"
    for start in range(0, options.runs, BLOCK_RUNS):
        stop = min(start + BLOCK_RUNS, options.runs)
        block_norm = run_normalisation[start:stop]
        scores: dict[str, FloatArray] = {
            ident: values[block_norm].T for ident, values in leaves.items()
        }
        for node in order:
            children: list[Indicator | Node] = definition.children(node.id)
            child_scores = np.stack([scores[c.id] for c in children], axis=1)
            chosen = ([options.aggregations[i] for i in run_aggregation[start:stop]]
                      if run_aggregation is not None else [node.aggregation] * (stop - start))
            aggregated = _aggregate_runs(
                child_scores, run_weights[node.id][:, start:stop], chosen, node)
            if node.missing == "require":
                aggregated[np.isnan(child_scores).any(axis=1)] = np.nan
            scores[node.id] = aggregated
        root = scores[definition.id]
        keyed = -root if highest_first else root
        # NaN (unscored places) rank last in every run.
        keyed = np.where(np.isnan(keyed), np.inf, keyed)
        ranks[:, start:stop] = rankdata(keyed, method=definition.ties, axis=0)
    low, mid, high = np.percentile(
        ranks, [options.interval[0], 50.0, options.interval[1]], axis=1, method="nearest")
    unscored = np.isnan(nominal.score)
    for array in (low, mid, high):
        array[unscored] = np.nan
    names = ["as defined"] + [a.method for a in options.normalisations]
    normalisation_counts = Counter(names[i] for i in run_normalisation)
    aggregation_counts = (Counter(options.aggregations[i] for i in run_aggregation)
                          if run_aggregation is not None else Counter({"as defined": options.runs}))
    return SensitivityResult(nominal, options, mid.astype(float), low.astype(float),
                             high.astype(float), dict(normalisation_counts),
                             dict(aggregation_counts))


def sensitivity_rows(result: SensitivityResult) -> list[dict[str, str]]:
    """One CSV row per place: nominal rank, median rank, interval and its width."""
    low_p, high_p = result.options.interval
    rows = []
    for i, code in enumerate(result.nominal.places):
        def cell(value: float) -> str:
            return "" if np.isnan(value) else str(int(value))
        rows.append({
            "place": code, "name": result.nominal.place_names[i],
            "area": result.nominal.areas[i],
            "rank": cell(result.nominal.rank[i]),
            "median_rank": cell(result.median_rank[i]),
            f"rank_p{low_p:g}": cell(result.low_rank[i]),
            f"rank_p{high_p:g}": cell(result.high_rank[i]),
            "interval_width": cell(result.width[i]),
        })
    return rows
