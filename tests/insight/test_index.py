"""The index engine on small definitions worked by hand, and the IoD 2019 reproduction."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from placehub.insight.definition import DefinitionError, load_definition, parse_definition
from placehub.insight.index import (
    compare_with_published,
    compute_index,
    load_place_table,
    population_of,
    summarise_areas,
)

PLACES = """code,name,area,jobs,crime,people
A,Alpha,X,10,5,100
B,Beta,X,20,1,300
C,Gamma,Y,25,,200
D,Delta,Y,40,3,400
"""


def small_definition(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    """A two-indicator index over four places, with crime missing for C."""
    (tmp_path / "places.csv").write_text(PLACES)
    document: dict[str, Any] = {
        "index": {"id": "demo", "polarity": "higher_is_better", "aggregation": "arithmetic",
                  "weighting": "equal"},
        "data": {"file": "places.csv", "place": "code", "place_name": "name", "area": "area"},
        "population": {"column": "people"},
        "indicator": [
            {"id": "jobs", "column": "jobs", "direction": "higher_is_better",
             "normalisation": "min_max"},
            {"id": "crime", "column": "crime", "direction": "higher_is_worse",
             "normalisation": "min_max"},
        ],
    }
    for key, value in changes.items():
        document[key] = value
    return document


def test_min_max_equal_weights_with_a_missing_value_skipped_and_reported(tmp_path: Path) -> None:
    """jobs -> 0, 33.3, 50, 100; crime (worse when high) -> 0, 100, -, 50; C uses jobs only."""
    result = compute_index(parse_definition(small_definition(tmp_path), tmp_path))
    assert result.scores["jobs"] == pytest.approx([0, 100 / 3, 50, 100])
    assert result.scores["crime"][[0, 1, 3]] == pytest.approx([0, 100, 50])
    # Equal weights 0.5 each; C's single indicator carries the whole weight.
    assert result.score == pytest.approx([0, (100 / 3 + 100) / 2, 50, 75])
    assert result.rank.tolist() == [4, 2, 3, 1]
    assert [(m.place, m.item) for m in result.missing] == [("C", "demo")]
    assert "skipped crime" in result.missing[0].action


def test_mean_imputation_is_reported_with_the_value(tmp_path: Path) -> None:
    """Imputing crime by its mean (3) gives C crime 3, listed in the missing-data report."""
    document = small_definition(tmp_path)
    document["indicator"][1]["impute"] = "mean"
    result = compute_index(parse_definition(document, tmp_path))
    assert result.scores["crime"][2] == pytest.approx(50.0)
    assert [(m.place, m.item, m.value) for m in result.missing] == [("C", "crime", 3.0)]


def test_require_rule_leaves_an_incomplete_place_unranked(tmp_path: Path) -> None:
    """missing = "require" gives C no score and no rank; the others rank 1..3."""
    document = small_definition(tmp_path)
    document["index"]["missing"] = "require"
    result = compute_index(parse_definition(document, tmp_path))
    assert math.isnan(result.score[2]) and math.isnan(result.rank[2])
    assert sorted(result.rank[[0, 1, 3]].tolist()) == [1, 2, 3]


def test_hierarchy_of_nodes_with_fixed_weights_and_geometric_mean(tmp_path: Path) -> None:
    """Indicators -> component (geometric) -> index: the component is the geometric mean."""
    document = small_definition(tmp_path)
    document["index"]["weighting"] = "fixed"
    document["node"] = [{"id": "safety", "aggregation": "geometric", "weighting": "equal",
                         "weight": 0.25}]
    document["indicator"][0].update(weight=0.75, normalisation={"method": "min_max",
                                                                 "range": [1, 100]})
    document["indicator"][1].update(parent="safety", normalisation="rank")
    result = compute_index(parse_definition(document, tmp_path))
    # crime oriented (lower is better): ranks from worst: A(5)=1, D(3)=2, B(1)=3.
    assert result.scores["safety"][[0, 1, 3]] == pytest.approx([1, 3, 2])
    jobs = np.array([1, 34, 50.5, 100])
    assert result.score[0] == pytest.approx(0.75 * jobs[0] + 0.25 * 1)
    assert result.weights["demo"] == {"jobs": 0.75, "safety": 0.25}


def test_ties_in_the_index_share_the_best_rank(tmp_path: Path) -> None:
    """Two places with the same score share rank 1 under ties = "min"; the next is rank 3."""
    (tmp_path / "tied.csv").write_text("code,v\nA,5\nB,5\nC,1\n")
    document = {
        "index": {"id": "t", "ties": "min"},
        "data": {"file": "tied.csv", "place": "code"},
        "indicator": [{"id": "v", "column": "v", "normalisation": "none"}],
    }
    result = compute_index(parse_definition(document, tmp_path))
    assert result.rank.tolist() == [1, 1, 3]


def test_constant_indicator_is_noted_and_changes_no_rank(tmp_path: Path) -> None:
    """A constant indicator adds the same amount everywhere and is named in the notes."""
    (tmp_path / "c.csv").write_text("code,v,k\nA,1,7\nB,3,7\nC,2,7\n")
    document = {
        "index": {"id": "t", "weighting": "equal"},
        "data": {"file": "c.csv", "place": "code"},
        "indicator": [{"id": "v", "column": "v"}, {"id": "k", "column": "k"}],
    }
    result = compute_index(parse_definition(document, tmp_path))
    assert result.rank.tolist() == [3, 1, 2]
    assert any("k: constant" in note for note in result.notes)


def test_goalposts_orient_with_direction(tmp_path: Path) -> None:
    """Crime (worse when high) between dystopia 5 and utopia 1: 1 -> 100, 3 -> 50, 5 -> 0."""
    document = small_definition(tmp_path)
    document["indicator"] = [{"id": "crime", "column": "crime", "direction": "higher_is_worse",
                              "normalisation": {"method": "goalposts", "dystopia": 5,
                                                "utopia": 1}}]
    result = compute_index(parse_definition(document, tmp_path))
    assert result.scores["crime"][[0, 1, 3]] == pytest.approx([0, 100, 50])


def test_goalposts_on_the_wrong_side_are_refused(tmp_path: Path) -> None:
    """utopia below dystopia for a higher-is-better indicator is a definition error."""
    document = small_definition(tmp_path)
    document["indicator"][0]["normalisation"] = {"method": "goalposts", "dystopia": 50,
                                                 "utopia": 0}
    with pytest.raises(DefinitionError, match="wrong side"):
        parse_definition(document, tmp_path)


def test_unknown_parent_and_method_are_refused_with_the_key(tmp_path: Path) -> None:
    """A parent that is no node, or an unknown normalisation, names what to fix."""
    document = small_definition(tmp_path)
    document["indicator"][0]["parent"] = "nowhere"
    with pytest.raises(DefinitionError, match="nowhere"):
        parse_definition(document, tmp_path)
    document = small_definition(tmp_path)
    document["indicator"][0]["normalisation"] = "cube_root"
    with pytest.raises(DefinitionError, match="cube_root"):
        parse_definition(document, tmp_path)


def test_population_weighted_area_summary(tmp_path: Path) -> None:
    """Area X: (0*100 + 66.67*300)/400; with N = 4 no place is in decile 1."""
    definition = parse_definition(small_definition(tmp_path), tmp_path)
    result = compute_index(definition)
    areas = {a.code: a for a in summarise_areas(result, population_of(definition, result.places))}
    x_score = (0 * 100 + result.score[1] * 300) / 400
    assert areas["X"].average_score == pytest.approx(x_score)
    assert areas["X"].population == 400 and areas["Y"].places == 2
    # N = 4: decile 1 holds ranks <= 0.4, i.e. none; decile of rank 1 is ceil(1/0.4) = 3.
    assert areas["Y"].proportion_in_decile_1 == 0.0


def test_iod2019_reproduces_the_published_imd(data_dir: Path) -> None:
    """IMD 2019 recomputed from domain ranks: >= 99.6% exact ranks, all within 2, deciles equal."""
    definition = load_definition("iod2019", data_dir)
    table = load_place_table(definition)
    result = compute_index(definition, table)
    comparison = compare_with_published(result, table)
    assert comparison is not None and comparison.places == 32844
    assert comparison.exact_share >= 0.996
    assert comparison.max_rank_difference <= 2
    assert comparison.exact_deciles == 32844
    assert result.score.max() <= 100 and result.score.min() >= 0


def test_node_exponential_transform_of_sub_domains(tmp_path: Path) -> None:
    """A node normalised "exponential" (the IoD's sub-domain step) ranks its aggregated score
    and applies X = -23 ln(1 - R (1 - e^(-100/23))) before its parent combines it."""
    (tmp_path / "s.csv").write_text("code,a,b,c\nA,1,9,5\nB,4,2,6\nC,3,3,1\nD,8,7,2\n")
    document = {
        "index": {"id": "t", "weighting": "fixed"},
        "data": {"file": "s.csv", "place": "code"},
        "node": [{"id": "sub", "weighting": "equal", "weight": 0.6,
                  "normalisation": "exponential"}],
        "indicator": [{"id": "a", "column": "a", "parent": "sub", "normalisation": "rank"},
                      {"id": "b", "column": "b", "parent": "sub", "normalisation": "rank"},
                      {"id": "c", "column": "c", "weight": 0.4, "normalisation": "rank"}],
    }
    result = compute_index(parse_definition(document, tmp_path))
    raw = (np.array([1, 4, 3, 8.0]).argsort().argsort() + 1
           + np.array([9, 2, 3, 7.0]).argsort().argsort() + 1) / 2  # 2.5, 2, 2, 3.5
    order = np.argsort(-raw, kind="stable")
    rank = np.empty(4)
    for position, row in enumerate(order):  # ties share the best (min) rank
        rank[row] = 1 + position
    for i in range(4):
        rank[i] = min(rank[j] for j in range(4) if raw[j] == raw[i])
    r = (4 - rank + 1) / 4
    expected = -23 * np.log(1 - r * (1 - np.exp(-100 / 23)))
    assert result.scores["sub"] == pytest.approx(expected)
    assert result.score == pytest.approx(0.6 * expected + 0.4 * result.scores["c"])


def test_compare_on_scores_reports_agreement_within_the_tolerance(tmp_path: Path) -> None:
    """[compare] score and scores check the index and a node against published columns."""
    (tmp_path / "p.csv").write_text("code,v,pub,pub_v\nA,1,0,0\nB,3,100.0004,100\n"
                                    "C,2,50.01,50\n")
    document = {
        "index": {"id": "t"},
        "data": {"file": "p.csv", "place": "code"},
        "compare": {"score": "pub", "scores": {"v": "pub_v"}, "tolerance": 0.001},
        "indicator": [{"id": "v", "column": "v"}],
    }
    definition = parse_definition(document, tmp_path)
    table = load_place_table(definition)
    comparison = compare_with_published(compute_index(definition, table), table)
    assert comparison is not None and comparison.places == 0
    by_item = {a.item: a for a in comparison.scores}
    assert by_item["t"].within_tolerance == 2 and by_item["t"].places == 3
    assert by_item["t"].max_difference == pytest.approx(0.01)
    assert by_item["v"].within_tolerance == 3


# MHCLG, English Indices of Deprivation 2019, File 10 "Local Authority District Summaries
# (lower-tier)", sheet IMD: "IMD - Average score", "IMD - Proportion of LSOAs in most deprived
# 10% nationally", "IMD 2019 - Extent" (published rounded to 3 and 4 decimals). The values were
# read from the spreadsheet's transcription in the humaniverse/IMD repository,
# data-raw/imd_england_lad.csv (commit b432a88d), which reads File 10 with readxl.
PUBLISHED_IMD_2019 = {
    "E06000017": ("Rutland", 8.381, 0.0, 0.0),
    "E09000029": ("Sutton", 13.987, 0.0083, 0.0582),
    "E06000001": ("Hartlepool", 35.037, 0.3621, 0.4973),
    "E06000009": ("Blackpool", 45.039, 0.4149, 0.5766),
    "E08000012": ("Liverpool", 42.412, 0.4866, 0.6213),
    "E09000012": ("Hackney", 32.526, 0.1111, 0.4319),
}


def test_iod2019_la_summaries_match_the_published_figures(data_dir: Path) -> None:
    """Average score, proportion of LSOAs in the most deprived 10% and extent of six local
    authorities are within 0.001 of MHCLG's published File 10 (data with their rounding)."""
    definition = load_definition("iod2019", data_dir)
    result = compute_index(definition)
    areas = {a.code: a for a in summarise_areas(result, population_of(definition,
                                                                      result.places))}
    for code, (name, score, proportion, extent) in PUBLISHED_IMD_2019.items():
        area = areas[code]
        assert area.name == name
        assert area.average_score == pytest.approx(score, abs=0.001)
        assert area.proportion_in_decile_1 == pytest.approx(proportion, abs=0.001)
        assert area.extent == pytest.approx(extent, abs=0.001)


def test_iod2019_average_rank_and_local_concentration_follow_mhclg_formulas(
        data_dir: Path) -> None:
    """Average rank and local concentration (not in the shared data's published files) agree
    with a direct loop over each authority's LSOAs: the population-weighted mean rank, and the
    population-weighted mean rank of its most deprived LSOAs holding exactly 10% of its people."""
    definition = load_definition("iod2019", data_dir)
    result = compute_index(definition)
    population = population_of(definition, result.places)
    areas = {a.code: a for a in summarise_areas(result, population)}
    for code in ("E06000017", "E09000029", "E08000012"):
        rows = sorted((result.rank[i], population[i]) for i, a in enumerate(result.areas)
                      if a == code)
        people = sum(p for _, p in rows)
        assert areas[code].average_rank == pytest.approx(
            sum(r * p for r, p in rows) / people, abs=1e-6)
        remaining, weighted, taken = people / 10, 0.0, 0.0
        for rank, count in rows:
            use = min(count, remaining)
            weighted, taken, remaining = weighted + rank * use, taken + use, remaining - use
            if remaining <= 0:
                break
        assert areas[code].local_concentration == pytest.approx(weighted / taken, abs=1e-6)
    ranked = sorted(areas.values(), key=lambda a: a.rank_of_average_score)
    assert [a.name for a in ranked[:5]] == ["Blackpool", "Knowsley", "Liverpool",
                                            "Kingston upon Hull, City of", "Middlesbrough"]
    # Rank 1 of local concentration is the lowest (most deprived) value.
    first = min(areas.values(), key=lambda a: a.local_concentration)
    assert first.rank_of_local_concentration == 1
    assert areas["E06000017"].scale is None  # no count column in the shared data


def test_iod2019_local_authority_summaries(data_dir: Path) -> None:
    """All 317 local authorities get a population-weighted average score from their LSOAs."""
    definition = load_definition("iod2019", data_dir)
    result = compute_index(definition)
    population = population_of(definition, result.places)
    assert not np.isnan(population).any()
    areas = summarise_areas(result, population)
    assert len(areas) == 317
    assert sum(a.places for a in areas) == 32844
    # Recompute one authority's average independently from the rows.
    code = areas[0].code
    rows = [i for i, a in enumerate(result.areas) if a == code]
    expected = np.average(result.score[rows], weights=population[rows])
    assert areas[0].average_score == pytest.approx(expected)
    assert all(0 < a.average_score < 100 for a in areas)


def test_no_normalisation_still_orients_against_the_polarity(tmp_path: Path) -> None:
    """normalisation = "none" with a higher-is-worse indicator in a higher-is-better index
    negates the values, so the lowest raw value ranks first."""
    (tmp_path / "n.csv").write_text("code,v\nA,5\nB,1\nC,3\n")
    document = {
        "index": {"id": "t", "polarity": "higher_is_better"},
        "data": {"file": "n.csv", "place": "code"},
        "indicator": [{"id": "v", "column": "v", "normalisation": "none",
                       "direction": "higher_is_worse"}],
    }
    result = compute_index(parse_definition(document, tmp_path))
    assert result.scores["v"].tolist() == [-5.0, -1.0, -3.0]
    assert result.rank.tolist() == [3, 1, 2]


def test_geometric_mean_of_a_zero_score_names_the_node(tmp_path: Path) -> None:
    """min_max to [0, 100] gives a zero, which a geometric mean refuses, naming the node."""
    document = small_definition(tmp_path)
    document["index"]["aggregation"] = "geometric"
    with pytest.raises(DefinitionError, match="node demo: geometric aggregation needs positive"):
        compute_index(parse_definition(document, tmp_path))
