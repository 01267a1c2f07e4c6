"""Uncertainty and sensitivity of an index's ranks: seeded Monte Carlo over weights and methods.

Each run draws every node's weights around the definition's own (Dirichlet or uniform
perturbation, keeping their total), one normalisation from the alternatives and one aggregation
from the alternatives, recomputes the whole hierarchy and ranks the places. Runs are evaluated in
blocks as NumPy arrays of places x runs, so tens of thousands of places x hundreds of runs take
seconds. Per place the result gives the median rank and the interval (e.g. 5th-95th
percentile) it falls in: a narrow interval is a robust ranking.

``run_sobol`` apportions the uncertainty of the ranking to its inputs (Sobol' indices with
SALib, below).
"""

from __future__ import annotations

from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field

import numpy as np

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
    LeafCache,
    PlaceTable,
    Variant,
    compute_index,
    indicator_values,
    load_place_table,
    normalise_with_goalposts,
    transform,
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
    # Goalposts of each leaf under each alternative, (alternatives, 2); NaN where it has none.
    leaf_goalposts: dict[str, FloatArray] = {}
    for indicator in definition.indicators:
        raw = indicator_values(table, indicator, nominal.places, groups, [], [])
        normalised = [normalise_with_goalposts(raw, alt or indicator.normalisation, indicator,
                                               definition.polarity) for alt in alternatives]
        leaves[indicator.id] = np.stack([scores for scores, _ in normalised])
        leaf_goalposts[indicator.id] = np.array(
            [ends if ends is not None else (np.nan, np.nan) for _, ends in normalised])
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
        ends: dict[str, FloatArray] = {  # (2, runs): goalpost scores, NaN where none
            ident: values[block_norm].T for ident, values in leaf_goalposts.items()
        }
        for node in order:
            children: list[Indicator | Node] = definition.children(node.id)
            child_scores = np.stack([scores[c.id] for c in children], axis=1)
            chosen = ([options.aggregations[i] for i in run_aggregation[start:stop]]
                      if run_aggregation is not None else [node.aggregation] * (stop - start))
            block_weights = run_weights[node.id][:, start:stop]
            aggregated = _aggregate_runs(child_scores, block_weights, chosen, node)
            if node.missing == "require":
                aggregated[np.isnan(child_scores).any(axis=1)] = np.nan
            child_ends = np.stack([ends[c.id] for c in children], axis=1)
            node_ends = np.full((2, stop - start), np.nan)
            if not np.isnan(child_ends).any():
                # Goalposts a mean cannot take (e.g. a zero) leave the node without any.
                with suppress(DefinitionError):
                    node_ends = _aggregate_runs(child_ends, block_weights, chosen, node)
            if node.normalisation is not None:
                for run in range(stop - start):
                    carried = (None if np.isnan(node_ends[:, run]).any()
                               else (float(node_ends[0, run]), float(node_ends[1, run])))
                    aggregated[:, run], moved = transform(
                        aggregated[:, run], node.normalisation, carried, f"node {node.id}")
                    node_ends[:, run] = moved if moved is not None else (np.nan, np.nan)
            scores[node.id] = aggregated
            ends[node.id] = node_ends
        root = scores[definition.id]
        keyed = -root if highest_first else root
        # NaN (unscored places) rank last in every run.
        keyed = np.where(np.isnan(keyed), np.inf, keyed)
        from scipy.stats import rankdata  # slow to import: on use

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


# ---------------------------------------------------------------- Sobol' variance decomposition
#
# Global sensitivity analysis as COINr does it: each uncertain input is a factor with a list of
# alternatives (weight sets, normalisations, aggregations, imputations, indicator left out), a
# Sobol' sequence (SALib, Saltelli's scheme) picks one alternative per factor per run, and the
# output is the mean absolute shift of the places' ranks from the nominal ranks. SALib's
# ``sobol.analyze`` gives each factor's first-order index (the share of the output variance it
# explains alone) and total-effect index (alone and with every interaction), with bootstrap
# confidence intervals.

SOBOL_OUTPUT = "mean absolute rank shift from the nominal ranks"


@dataclass(frozen=True)
class SobolFactor:
    """One uncertain input, its alternatives, and its Sobol' indices with their intervals."""

    name: str
    alternatives: list[str]
    first_order: float
    first_order_interval: float
    total: float
    total_interval: float

    def as_json(self) -> dict[str, object]:
        def number(value: float) -> float | None:
            return None if np.isnan(value) else float(value)

        return {"factor": self.name, "alternatives": self.alternatives,
                "first_order": number(self.first_order),
                "first_order_interval": number(self.first_order_interval),
                "total": number(self.total), "total_interval": number(self.total_interval)}


@dataclass
class SobolResult:
    """First-order and total-effect indices of every varied factor, and what was run."""

    nominal: IndexResult
    options: SensitivityOptions
    factors: list[SobolFactor]
    not_varied: list[str]
    runs: int
    distinct_configurations: int
    output_mean: float
    output_sd: float


def _factor_alternatives(definition: IndexDefinition, nominal: IndexResult,
                         options: SensitivityOptions, rng: np.random.Generator
                         ) -> dict[str, list[tuple[str, dict[str, object]]]]:
    """Each factor's alternatives as (label, change to a ``Variant``)."""
    found: dict[str, list[tuple[str, dict[str, object]]]] = {}
    if "weights" in options.factors and options.weights != "fixed":
        order = definition.node_order()
        drawn = {node.id: _perturbed_weights(
            rng, np.array(list(nominal.weights[node.id].values())), options.weight_sets - 1,
            options) for node in order}
        sets: list[tuple[str, dict[str, object]]] = [("as defined", {})]
        for k in range(options.weight_sets - 1):
            sets.append((f"{options.weights} draw {k + 1}",
                         {"weights": {node: drawn[node][:, k] for node in drawn}}))
        found["weights"] = sets
    if "normalisation" in options.factors and options.normalisations:
        found["normalisation"] = [(n.method if not n.params else f"{n.method} {n.params}",
                                   {"normalisation": n}) for n in options.normalisations]
    if "aggregation" in options.factors and options.aggregations:
        found["aggregation"] = [(a, {"aggregation": a}) for a in options.aggregations]
    if "imputation" in options.factors and options.imputations:
        found["imputation"] = [(i, {"impute": i}) for i in options.imputations]
    if "inclusion" in options.factors and len(definition.indicators) > 1:
        found["inclusion"] = [("all indicators", {})] + [
            (f"without {i.id}", {"exclude": frozenset({i.id})}) for i in definition.indicators]
    return {name: alts for name, alts in found.items() if len(alts) > 1}


def run_sobol(definition: IndexDefinition, options: SensitivityOptions,
              table: PlaceTable | None = None) -> SobolResult:
    """Sobol' first-order and total-effect indices of the factors in ``options.factors``.

    Runs ``options.samples x (factors + 2)`` configurations of the index (SALib's Saltelli
    scheme without second-order terms); configurations repeat because the factors are
    discrete, and each distinct one is computed once. Same seed, same result.
    """
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    table = load_place_table(definition) if table is None else table
    nominal = compute_index(definition, table)
    rng = np.random.default_rng(options.seed)
    alternatives = _factor_alternatives(definition, nominal, options, rng)
    names = list(alternatives)
    not_varied = [f for f in options.factors if f not in alternatives]
    if not names:
        raise DefinitionError(
            "sobol: no factor has two or more alternatives: list normalisations, "
            "aggregations or imputations in [sensitivity], or vary the weights")
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    sample = sobol_sample.sample(problem, options.samples, calc_second_order=False,
                                 seed=options.seed)
    scored = ~np.isnan(nominal.rank)
    cache: LeafCache = {}
    outputs: dict[tuple[int, ...], float] = {}
    y = np.empty(len(sample))
    for row, point in enumerate(sample):
        choice = tuple(min(int(u * len(alternatives[f])), len(alternatives[f]) - 1)
                       for u, f in zip(point, names, strict=True))
        if choice not in outputs:
            changes: dict[str, object] = {}
            for factor, index in zip(names, choice, strict=True):
                changes.update(alternatives[factor][index][1])
            result = compute_index(definition, table, Variant(**changes),  # type: ignore[arg-type]
                                   leaf_cache=cache)
            both = scored & ~np.isnan(result.rank)
            outputs[choice] = float(np.mean(np.abs(result.rank[both] - nominal.rank[both])))
        y[row] = outputs[choice]
    if np.ptp(y) == 0:
        indices = {key: np.zeros(len(names)) for key in ("S1", "S1_conf", "ST", "ST_conf")}
    else:
        indices = sobol_analyze.analyze(problem, y, calc_second_order=False,
                                        num_resamples=options.bootstrap,
                                        conf_level=options.confidence, seed=options.seed)
    factors = [
        SobolFactor(name, [label for label, _ in alternatives[name]],
                    float(indices["S1"][i]), float(indices["S1_conf"][i]),
                    float(indices["ST"][i]), float(indices["ST_conf"][i]))
        for i, name in enumerate(names)
    ]
    return SobolResult(nominal, options, factors, not_varied, len(sample), len(outputs),
                       float(y.mean()), float(y.std()))
