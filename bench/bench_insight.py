"""Benchmark: IoD 2019 build and the vectorised sensitivity analysis against a per-run loop.

Baseline measured in the same run: recomputing the whole index once per Monte Carlo run with
``compute_index`` (what a straightforward implementation does), extrapolated from a few runs.
Usage: PYTHONPATH=src python bench/bench_insight.py [--data-dir ../shared/data] [--runs 200]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from placehub.insight.definition import load_definition
from placehub.insight.index import compute_index, load_place_table
from placehub.insight.sensitivity import SensitivityOptions, run_sensitivity
from timing import median_seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[1].parent
                                                  / "shared" / "data"))
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    definition = load_definition("iod2019", Path(args.data_dir))
    table = load_place_table(definition)

    build = median_seconds(lambda: compute_index(definition, table), 5)
    options = SensitivityOptions.from_definition(definition, runs=args.runs, seed=1)
    vectorised = median_seconds(lambda: run_sensitivity(definition, options, table), 3)

    # Baseline: one full compute_index per run with Dirichlet weights (arithmetic only).
    rng = np.random.default_rng(1)
    weights = np.array([i.weight for i in definition.indicators])
    loop_runs = 10

    def per_run_loop() -> None:
        for _ in range(loop_runs):
            drawn = rng.dirichlet(50 * weights / weights.sum() * len(weights)) * weights.sum()
            indicators = tuple(dataclasses.replace(i, weight=float(w))
                               for i, w in zip(definition.indicators, drawn, strict=True))
            compute_index(dataclasses.replace(definition, indicators=indicators), table)

    loop = median_seconds(per_run_loop, 3) / loop_runs * args.runs
    places = len(table.column(definition.data.place))
    print(f"IoD 2019 build, {places} LSOAs: median {build:.3f} s")
    print(f"sensitivity {args.runs} runs (vectorised, weights + normalisation + aggregation): "
          f"median {vectorised:.2f} s")
    print(f"baseline: compute_index per run (weights only), extrapolated to {args.runs} runs: "
          f"{loop:.2f} s; ratio baseline / vectorised = {loop / vectorised:.1f}")


if __name__ == "__main__":
    main()
