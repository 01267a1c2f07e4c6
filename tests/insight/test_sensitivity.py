"""Monte Carlo sensitivity: reproducible with a seed, zero-width where a rank cannot move."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from placehub.cli import app
from placehub.insight.definition import Normalisation, load_definition, parse_definition
from placehub.insight.sensitivity import SensitivityOptions, run_sensitivity


def dominated_definition(tmp_path: Path) -> dict[str, Any]:
    """Five places on three indicators; place A is the worst on every one of them."""
    (tmp_path / "p.csv").write_text(
        "code,a,b,c\nA,90,80,70\nB,10,60,20\nC,40,10,50\nD,20,30,60\nE,60,50,10\n")
    return {
        "index": {"id": "need", "polarity": "higher_is_worse", "weighting": "fixed"},
        "data": {"file": "p.csv", "place": "code"},
        "indicator": [
            {"id": i, "column": i, "direction": "higher_is_worse", "weight": w,
             "normalisation": {"method": "min_max", "range": [1, 100]}}
            for i, w in (("a", 0.5), ("b", 0.3), ("c", 0.2))
        ],
    }


def test_a_place_worst_on_everything_has_a_zero_width_interval(tmp_path: Path) -> None:
    """A dominates on every indicator: rank 1 in every run, whatever weights or methods."""
    definition = parse_definition(dominated_definition(tmp_path), tmp_path)
    options = SensitivityOptions(
        runs=300, seed=3, weights="dirichlet", concentration=2.0,
        normalisations=(Normalisation("rank"), Normalisation("z_score"),
                        Normalisation("min_max", {"range": [1, 100]})),
        aggregations=("arithmetic",))
    result = run_sensitivity(definition, options)
    assert (result.low_rank[0], result.median_rank[0], result.high_rank[0]) == (1, 1, 1)
    assert result.width[0] == 0
    # The others do move under such wide weight changes.
    assert result.width[1:].max() > 0


def test_geometric_alternative_keeps_a_dominating_place_first(tmp_path: Path) -> None:
    """With geometric and arithmetic means drawn per run, A still never leaves rank 1."""
    definition = parse_definition(dominated_definition(tmp_path), tmp_path)
    options = SensitivityOptions(runs=100, seed=5, aggregations=("arithmetic", "geometric"))
    result = run_sensitivity(definition, options)
    assert result.width[0] == 0 and result.median_rank[0] == 1
    assert set(result.aggregation_counts) == {"arithmetic", "geometric"}


def test_same_seed_same_result_other_seed_differs(data_dir: Path) -> None:
    """Two runs of IoD 2019 with seed 11 agree exactly; seed 12 gives other intervals."""
    definition = load_definition("iod2019", data_dir)
    first = run_sensitivity(definition, SensitivityOptions.from_definition(definition, runs=24,
                                                                           seed=11))
    again = run_sensitivity(definition, SensitivityOptions.from_definition(definition, runs=24,
                                                                           seed=11))
    other = run_sensitivity(definition, SensitivityOptions.from_definition(definition, runs=24,
                                                                           seed=12))
    assert np.array_equal(first.low_rank, again.low_rank)
    assert np.array_equal(first.high_rank, again.high_rank)
    assert np.array_equal(first.median_rank, again.median_rank)
    assert not np.array_equal(first.high_rank, other.high_rank)
    assert len(first.median_rank) == 32844
    assert np.all(first.low_rank <= first.median_rank)
    assert np.all(first.median_rank <= first.high_rank)


def test_fixed_weights_and_no_alternatives_reproduce_the_nominal_ranks(data_dir: Path) -> None:
    """With nothing varied every run is the published method: every interval has zero width."""
    definition = load_definition("iod2019", data_dir)
    options = SensitivityOptions(runs=3, seed=1, weights="fixed")
    result = run_sensitivity(definition, options)
    assert np.array_equal(result.median_rank, result.nominal.rank)
    assert result.width.max() == 0


def test_bad_options_are_refused_with_a_reason() -> None:
    """Zero runs, or percentiles outside 0..100, are refused with what to give instead."""
    with pytest.raises(ValueError, match="at least 1 run"):
        SensitivityOptions(runs=0)
    with pytest.raises(ValueError, match="between 0 and 100"):
        SensitivityOptions(interval=(5, 105))


def test_cli_sensitivity_writes_intervals(data_dir: Path, tmp_path: Path) -> None:
    """`placehub index sensitivity iod2019 --runs 8 --seed 4` writes one row per LSOA."""
    out = tmp_path / "s.csv"
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), "index", "sensitivity",
                                      "iod2019", "--runs", "8", "--seed", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0].split(",")[3:] == ["rank", "median_rank", "rank_p5", "rank_p95",
                                       "interval_width"]
    assert len(lines) == 32845


def test_sobol_gives_the_whole_variance_to_the_one_input_that_matters(tmp_path: Path) -> None:
    """With fixed weights, aggregation alternatives that reorder places and an imputation
    alternative on data with no gaps, aggregation's indices are near 1 and imputation's 0."""
    from placehub.insight.sensitivity import run_sobol

    definition = parse_definition(dominated_definition(tmp_path), tmp_path)
    options = SensitivityOptions(
        weights="fixed", aggregations=("arithmetic", "geometric", "harmonic"),
        imputations=("none", "mean"), factors=("weights", "aggregation", "imputation"),
        samples=64, bootstrap=100, seed=3)
    result = run_sobol(definition, options)
    by_name = {f.name: f for f in result.factors}
    assert set(by_name) == {"aggregation", "imputation"} and result.not_varied == ["weights"]
    assert result.output_sd > 0  # the aggregation does move ranks here
    assert by_name["aggregation"].first_order == pytest.approx(1.0, abs=0.1)
    assert by_name["aggregation"].total == pytest.approx(1.0, abs=0.1)
    assert abs(by_name["imputation"].first_order) < 0.05
    assert abs(by_name["imputation"].total) < 0.05
    assert by_name["aggregation"].total_interval >= 0
    assert result.runs == 64 * (2 + 2)


def test_sobol_on_iod2019_is_reproducible_and_ranks_aggregation_first(data_dir: Path) -> None:
    """IoD 2019 with its [sensitivity] alternatives: the same seed gives the same indices, and
    the choice of arithmetic or geometric mean explains more than the weights."""
    from placehub.insight.sensitivity import run_sobol

    definition = load_definition("iod2019", data_dir)
    options = SensitivityOptions.from_definition(definition, samples=8, bootstrap=50, seed=9)
    first = run_sobol(definition, options)
    again = run_sobol(definition, options)
    assert [f.total for f in first.factors] == [f.total for f in again.factors]
    totals = {f.name: f.total for f in first.factors}
    assert set(totals) == {"weights", "normalisation", "aggregation", "inclusion"}
    assert totals["aggregation"] > totals["weights"]
    assert first.distinct_configurations <= first.runs
