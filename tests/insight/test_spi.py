"""A Social Progress Index-style index reproduced against an independent computation.

The SPI method (Social Progress Imperative, methodology report): each indicator is standardised
(z-score); inside a component, weights come from a principal component analysis of its
indicators, scaled to sum to 1; the component's raw score is the weighted sum, and it is rescaled
to 0-100 between the component's dystopia and utopia, which are the same weighted sums of the
indicators' standardised goalposts; dimensions average their components, the index its
dimensions. The data are built here: 80 places, three components of three indicators each
(one higher-is-worse), two dimensions.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from placehub.insight.definition import parse_definition
from placehub.insight.index import compute_index

COMPONENTS = {"nutrition": ("food", "water", "stunting"), "safety": ("homicide", "traffic",
                                                                     "crime"),
              "schools": ("enrolment", "literacy", "completion")}
DIMENSIONS = {"basic_needs": ("nutrition", "safety"), "opportunity": ("schools",)}
WORSE = {"stunting", "homicide", "traffic", "crime"}
# Goalposts in each indicator's own units: (dystopia, utopia).
GOALPOSTS = {"food": (40, 100), "water": (20, 100), "stunting": (60, 0), "homicide": (40, 0),
             "traffic": (30, 0), "crime": (200, 10), "enrolment": (30, 100),
             "literacy": (20, 100), "completion": (10, 100)}


def build_data(tmp_path: Path, seed: int = 11) -> dict[str, np.ndarray]:
    """Indicators driven by one latent level per component plus noise, inside the goalposts."""
    rng = np.random.default_rng(seed)
    places = 80
    columns: dict[str, np.ndarray] = {}
    for indicators in COMPONENTS.values():
        level = rng.uniform(0.1, 0.9, places)
        for k, name in enumerate(indicators):
            dystopia, utopia = GOALPOSTS[name]
            share = np.clip(level * (0.6 + 0.2 * k) + rng.normal(0, 0.08, places), 0.02, 0.98)
            # Rounded as written to the CSV, so both computations read the same numbers.
            columns[name] = np.round(dystopia + share * (utopia - dystopia), 6)
    with (tmp_path / "spi.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", *columns])
        for i in range(places):
            writer.writerow([f"P{i:03d}", *(f"{columns[c][i]:.6f}" for c in columns)])
    return columns


def definition_document() -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {"id": d, "weighting": "equal", "aggregation": "arithmetic"} for d in DIMENSIONS]
    for dimension, components in DIMENSIONS.items():
        nodes += [{"id": c, "parent": dimension, "weighting": "pca",
                   "normalisation": "goalposts"} for c in components]
    indicators = [
        {"id": name, "column": name, "parent": component,
         "direction": "higher_is_worse" if name in WORSE else "higher_is_better",
         "normalisation": "z_score", "dystopia": GOALPOSTS[name][0],
         "utopia": GOALPOSTS[name][1]}
        for component, names in COMPONENTS.items() for name in names]
    return {"index": {"id": "spi", "polarity": "higher_is_better", "weighting": "equal"},
            "data": {"file": "spi.csv", "place": "code"}, "node": nodes,
            "indicator": indicators}


def independent_spi(columns: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The SPI computed directly: z-scores, PCA by SVD, goalpost rescaling, plain means."""
    component_scores = {}
    weights = {}
    for component, names in COMPONENTS.items():
        sign = np.array([-1.0 if n in WORSE else 1.0 for n in names])
        raw = np.column_stack([columns[n] for n in names]) * sign
        mean, sd = raw.mean(axis=0), raw.std(axis=0, ddof=1)
        z = (raw - mean) / sd
        # First principal component of the standardised data (SVD, not an eigen-solver).
        _, _, vt = np.linalg.svd(z - z.mean(axis=0), full_matrices=False)
        loading = np.abs(vt[0])
        w = loading / loading.sum()
        weights[component] = w
        dystopia = np.array([GOALPOSTS[n][0] for n in names]) * sign
        utopia = np.array([GOALPOSTS[n][1] for n in names]) * sign
        low = ((dystopia - mean) / sd) @ w
        high = ((utopia - mean) / sd) @ w
        component_scores[component] = np.clip((z @ w - low) / (high - low), 0, 1) * 100
    dimensions = [np.mean([component_scores[c] for c in comps], axis=0)
                  for comps in DIMENSIONS.values()]
    return np.mean(dimensions, axis=0), {**component_scores, **{
        f"weights:{c}": w for c, w in weights.items()}}


def test_spi_style_index_matches_an_independent_computation(tmp_path: Path) -> None:
    """Component scores, PCA weights and the index agree with the direct computation to 1e-9."""
    columns = build_data(tmp_path)
    result = compute_index(parse_definition(definition_document(), tmp_path))
    expected, parts = independent_spi(columns)
    for component, names in COMPONENTS.items():
        used = np.array([result.weights[component][n] for n in names])
        assert used == pytest.approx(parts[f"weights:{component}"], abs=1e-9)
        assert result.scores[component] == pytest.approx(parts[component], abs=1e-9)
        # The component's goalposts were rescaled to 0 and 100.
        assert result.goalposts[component] == pytest.approx((0.0, 100.0))
    assert result.score == pytest.approx(expected, abs=1e-9)
    assert result.score.min() >= 0 and result.score.max() <= 100
    # Different PCA weights inside each component: not equal weighting by accident.
    assert max(parts["weights:nutrition"]) - min(parts["weights:nutrition"]) > 0.001


def test_component_rescaling_moves_scores_off_the_raw_weighted_sum(tmp_path: Path) -> None:
    """Without the component's goalposts rescaling the index differs: the node step matters."""
    build_data(tmp_path)
    document = definition_document()
    plain = compute_index(parse_definition(document, tmp_path))
    for node in document["node"]:
        node.pop("normalisation", None)
    unscaled = compute_index(parse_definition(document, tmp_path))
    assert np.abs(plain.score - unscaled.score).max() > 1.0
