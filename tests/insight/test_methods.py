"""Each numerical method against values worked by hand, with ties, constants and gaps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from placehub.insight import methods

nan = float("nan")


def test_min_max_maps_extremes_to_the_range() -> None:
    """min_max sends the minimum to 0, the maximum to 100 and 5 of 0..10 to 50."""
    assert methods.min_max(np.array([0.0, 5.0, 10.0])).tolist() == [0.0, 50.0, 100.0]
    assert methods.min_max(np.array([2.0, 4.0]), 1, 3).tolist() == [1.0, 3.0]


def test_min_max_of_a_constant_indicator_is_the_middle_and_keeps_gaps() -> None:
    """A constant indicator gets the middle of the range; a missing value stays missing."""
    out = methods.min_max(np.array([7.0, 7.0, nan]))
    assert out[:2].tolist() == [50.0, 50.0] and math.isnan(out[2])


def test_z_score_uses_the_sample_standard_deviation() -> None:
    """[1, 2, 3] has mean 2 and sample sd 1, so z = [-1, 0, 1]; NaN is ignored."""
    out = methods.z_score(np.array([1.0, 2.0, 3.0, nan]))
    assert out[:3] == pytest.approx([-1.0, 0.0, 1.0]) and math.isnan(out[3])
    assert methods.z_score(np.array([4.0, 4.0])).tolist() == [0.0, 0.0]


def test_rank_scores_average_ties_from_the_lowest() -> None:
    """Ranks run from the lowest value (1); two tied values share rank 2.5."""
    assert methods.rank_scores(np.array([10.0, 30.0, 30.0, 5.0])).tolist() == [2.0, 3.5, 3.5, 1.0]


@pytest.mark.parametrize(("ties", "expected"), [
    ("min", [1, 2, 2, 4]), ("max", [1, 3, 3, 4]), ("average", [1, 2.5, 2.5, 4]),
    ("dense", [1, 2, 2, 3]), ("ordinal", [1, 2, 3, 4]),
])
def test_rank_values_handle_ties_as_asked(ties: str, expected: list[float]) -> None:
    """Ranking 9, 5, 5, 1 highest-first gives the tie rule's ranks."""
    assert methods.rank_values(np.array([9.0, 5.0, 5.0, 1.0]), ties=ties).tolist() == expected


def test_rank_values_keep_missing_values_unranked() -> None:
    """A missing value gets no rank and does not count in N."""
    out = methods.rank_values(np.array([3.0, nan, 1.0]))
    assert out[0] == 1 and math.isnan(out[1]) and out[2] == 2


def test_deciles_follow_ceil_rank_over_tenth_of_n() -> None:
    """With N = 25, N/10 = 2.5: ranks 1, 2 are decile 1; 3 is decile 2; 25 is decile 10."""
    ranks = np.arange(1, 26, dtype=float)
    deciles = methods.deciles_from_ranks(ranks)
    assert deciles[[0, 1, 2, 4, 5, 24]].tolist() == [1, 1, 2, 2, 3, 10]


def test_goalposts_scale_between_dystopia_and_utopia_and_cap() -> None:
    """Between goalposts 20 and 80: 50 scores 50, beyond a goalpost is capped at 0 or 100."""
    out = methods.goalposts(np.array([50.0, 20.0, 95.0, 0.0]), 20.0, 80.0)
    assert out.tolist() == [50.0, 0.0, 100.0, 0.0]
    with pytest.raises(ValueError, match="equal"):
        methods.goalposts(np.array([1.0]), 3.0, 3.0)


def test_exponential_transformation_of_ranks_by_hand() -> None:
    """N = 4: rank 1 scores 100; rank 4 (R = 1/4) scores -23 ln(1 - (1 - e^(-100/23))/4)."""
    out = methods.exponential_from_ranks(np.array([1.0, 2.0, 4.0]), count=4)
    c = 1 - math.exp(-100 / 23)
    assert out[0] == pytest.approx(100.0)
    assert out[1] == pytest.approx(-23 * math.log(1 - 0.75 * c))
    assert out[2] == pytest.approx(-23 * math.log(1 - 0.25 * c))


def test_exponential_ranks_the_highest_value_first_and_ties_share_a_rank() -> None:
    """Values 9, 5, 5, 1: 9 is rank 1 (100); the tied 5s both take rank 2."""
    out = methods.exponential(np.array([9.0, 5.0, 5.0, 1.0]))
    assert out[0] == pytest.approx(100.0) and out[1] == out[2]
    assert out[1] == pytest.approx(methods.exponential_from_ranks(np.array([2.0]), count=4)[0])


def test_winsorise_clips_to_quantiles_and_counts() -> None:
    """0..100 clipped to the 10th and 90th percentiles (10 and 90) changes 20 values."""
    values = np.arange(101, dtype=float)
    out, changed = methods.winsorise(values, 0.1, 0.9)
    assert out.min() == 10 and out.max() == 90 and changed == 20


def test_impute_mean_median_and_group_mean() -> None:
    """Gaps filled by the mean (2 of 1, 2, 3), the median (1.5 of 1, 2) or the group mean."""
    values = np.array([1.0, 2.0, nan, 3.0])
    filled, fill = methods.impute(values, "mean")
    assert fill == 2.0 and filled[2] == 2.0
    filled, fill = methods.impute(np.array([1.0, 2.0, nan]), "median")
    assert fill == 1.5
    groups = np.array(["a", "a", "a", "b"])
    filled, _ = methods.impute(values, "group_mean", groups)
    assert filled[2] == 1.5


def test_equal_weights() -> None:
    """Four children weigh a quarter each."""
    assert methods.equal_weights(4).tolist() == [0.25] * 4


def test_pca_weights_by_hand() -> None:
    """Two identical children and one unrelated: the first component is (1, 1, 0)/sqrt 2."""
    t = np.array([1.0, 2.0, 3.0, 4.0])
    unrelated = np.array([1.0, -1.0, -1.0, 1.0])  # uncorrelated with t
    weights = methods.pca_weights(np.column_stack([t, 2 * t, unrelated]))
    assert weights == pytest.approx([0.5, 0.5, 0.0], abs=1e-9)


def test_pca_weights_give_a_constant_child_no_weight() -> None:
    """A constant child has no variance: weight 0; the other two, correlated, share equally."""
    t = np.array([1.0, 2.0, 4.0])
    weights = methods.pca_weights(np.column_stack([t, np.full(3, 5.0), -t]))
    assert weights == pytest.approx([0.5, 0.0, 0.5])


def test_arithmetic_aggregation_uses_weights_as_given() -> None:
    """0.6*10 + 0.3*20 = 12 (weights summing to 0.9 are not rescaled)."""
    out = methods.aggregate(np.array([[10.0, 20.0]]), np.array([0.6, 0.3]))
    assert out.tolist() == pytest.approx([12.0])


def test_arithmetic_aggregation_skips_missing_and_reweights() -> None:
    """With the second child missing, the first carries the whole weight 0.9: 0.9*10 = 9."""
    out = methods.aggregate(np.array([[10.0, nan], [nan, nan]]), np.array([0.6, 0.3]))
    assert out[0] == pytest.approx(9.0) and math.isnan(out[1])


def test_geometric_aggregation_by_hand() -> None:
    """Equal weights: the geometric mean of 4 and 16 is 8; weights 3:1 give 4^0.75 16^0.25."""
    assert methods.aggregate(np.array([[4.0, 16.0]]), np.array([0.5, 0.5]), "geometric")[0] == (
        pytest.approx(8.0))
    assert methods.aggregate(np.array([[4.0, 16.0]]), np.array([3.0, 1.0]), "geometric")[0] == (
        pytest.approx(4**0.75 * 16**0.25))


def test_harmonic_and_power_means_by_hand() -> None:
    """Harmonic mean of 2 and 6 is 3; the power mean p = 2 of 2 and 6 is sqrt(20)."""
    scores = np.array([[2.0, 6.0]])
    assert methods.aggregate(scores, np.array([1.0, 1.0]), "harmonic")[0] == pytest.approx(3.0)
    assert methods.aggregate(scores, np.array([1.0, 1.0]), "power_mean", 2.0)[0] == (
        pytest.approx(math.sqrt(20)))


def test_geometric_aggregation_refuses_zero_with_advice() -> None:
    """A zero score cannot enter a geometric mean: the error says how to normalise instead."""
    with pytest.raises(ValueError, match="range above 0"):
        methods.aggregate(np.array([[0.0, 1.0]]), np.array([1.0, 1.0]), "geometric")


def test_population_weighted_mean_per_group() -> None:
    """Group a: (10*100 + 20*300)/400 = 17.5; group b: a missing score is left out."""
    out = methods.population_weighted_mean(
        np.array([10.0, 20.0, 5.0, nan]), np.array([100.0, 300.0, 50.0, 80.0]),
        np.array(["a", "a", "b", "b"]))
    assert out == {"a": pytest.approx(17.5), "b": pytest.approx(5.0)}


def test_inverse_normal_follows_rank_over_n_plus_one_through_the_normal_quantile() -> None:
    """Rankit scores of 4, 1, 9, 9 are Phi^-1((r - 0.5) / 4) with average ranks for the tie."""
    from statistics import NormalDist

    from placehub.insight.methods import inverse_normal

    scores = inverse_normal(np.array([4.0, 1.0, 9.0, 9.0, np.nan]))
    ranks = [2.0, 1.0, 3.5, 3.5]
    expected = [NormalDist().inv_cdf((r - 0.5) / 4) for r in ranks]
    assert scores[:4] == pytest.approx(expected)
    assert np.isnan(scores[4])
    blom = inverse_normal(np.array([1.0, 2.0, 3.0]), offset=0.375)
    assert blom == pytest.approx([NormalDist().inv_cdf((r - 0.375) / 3.25) for r in (1, 2, 3)])


def test_factor_weights_recover_loadings_over_uniquenesses() -> None:
    """On data from one factor with loadings 0.9, 0.7, 0.5, 0.3, the weights approach
    lambda / psi (psi = 1 - lambda^2) scaled to sum to 1, the factor-score coefficients."""
    from placehub.insight.methods import factor_weights

    rng = np.random.default_rng(4)
    loadings = np.array([0.9, 0.7, 0.5, 0.3])
    uniqueness = 1 - loadings**2
    factor = rng.normal(size=20000)
    data = factor[:, None] * loadings + rng.normal(size=(20000, 4)) * np.sqrt(uniqueness)
    expected = (loadings / uniqueness) / (loadings / uniqueness).sum()
    weights = factor_weights(data * [1, 10, 0.1, 3] + [0, 5, -2, 100])  # units do not matter
    assert weights == pytest.approx(expected, abs=0.02)
    assert weights.sum() == pytest.approx(1.0)
    # The noisiest child weighs least, unlike equal weights.
    assert weights.argmin() == 3 and weights.argmax() == 0
