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
