"""The composite-index engine: from a definition and a place table to scores, ranks and deciles.

Each indicator is read, winsorised and imputed if the definition asks (both reported), oriented
so that a higher value means more of what the index measures, and normalised; nodes aggregate
their children bottom-up with fixed, equal or PCA weights. The index is ranked (ties explicit),
cut into deciles, and summarised for larger areas weighted by population.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from placehub.insight import methods
from placehub.insight.definition import (
    DefinitionError,
    IndexDefinition,
    Indicator,
    Node,
    Normalisation,
)
from placehub.insight.methods import FloatArray

MISSING_TOKENS = {"", "na", "n/a", "nan", "null", "..", ":", "-", "*", "x"}


@dataclass
class PlaceTable:
    """Columns of a place table as strings, one row per place."""

    columns: dict[str, list[str]]

    @property
    def size(self) -> int:
        return len(next(iter(self.columns.values()), []))

    def column(self, name: str) -> list[str]:
        try:
            return self.columns[name]
        except KeyError:
            known = ", ".join(list(self.columns)[:12])
            raise DefinitionError(
                f"no column {name!r} in the data (columns: {known} ...)") from None

    def numbers(self, name: str) -> FloatArray:
        """A column as floats: thousands separators removed, blanks and NA tokens as NaN."""
        values = np.full(self.size, np.nan)
        for row, text in enumerate(self.column(name)):
            cleaned = text.strip().replace(",", "")
            if cleaned.lower() in MISSING_TOKENS:
                continue
            try:
                values[row] = float(cleaned)
            except ValueError:
                raise DefinitionError(
                    f"column {name!r} row {row + 2}: {text!r} is not a number"
                ) from None
        return values


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def read_csv(path: Path) -> PlaceTable:
    """Read a CSV (optionally gzipped, BOM tolerated) into a ``PlaceTable``."""
    if not path.exists():
        raise DefinitionError(
            f"data file {path} not found: check data_dir (PLACEHUB_DATA_DIR) or the file key"
        )
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    columns: dict[str, list[str]] = {name: [] for name in header}
    for row in rows:
        for name, value in zip(header, row, strict=False):
            columns[name].append(value)
    return PlaceTable(columns)


def load_place_table(definition: IndexDefinition) -> PlaceTable:
    """The definition's data file with any joined files' columns added by place code."""
    table = read_csv(definition.data.file)
    codes = table.column(definition.data.place)
    for path, key in definition.data.joins:
        other = read_csv(path)
        position = {code: i for i, code in enumerate(other.column(key))}
        for name, values in other.columns.items():
            if name in table.columns:
                continue
            table.columns[name] = [
                values[position[c]] if c in position else "" for c in codes
            ]
    return table


@dataclass(frozen=True)
class MissingEntry:
    """One treatment of a missing value, for the report."""

    place: str
    item: str
    action: str
    value: float | None = None


@dataclass
class IndexResult:
    """Scores of every node, the index rank and decile, and what was done to the data."""

    definition: IndexDefinition
    places: list[str]
    place_names: list[str]
    areas: list[str]
    area_names: list[str]
    scores: dict[str, FloatArray]
    rank: FloatArray
    decile: FloatArray
    weights: dict[str, dict[str, float]]
    missing: list[MissingEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def score(self) -> FloatArray:
        return self.scores[self.definition.id]


def normalise(values: FloatArray, normalisation: Normalisation, indicator: Indicator,
              polarity: str) -> FloatArray:
    """Orient ``values`` towards the index's polarity and apply the normalisation."""
    agrees = indicator.direction == polarity
    oriented = methods.orient(values, agrees)
    params = dict(normalisation.params)
    method = normalisation.method
    if method == "goalposts":
        # Goalposts are given in the indicator's own units: orient them with the values.
        dystopia = float(params.pop("dystopia"))
        utopia = float(params.pop("utopia"))
        better_high = polarity == "higher_is_better"
        low, high = (dystopia, utopia) if better_high else (utopia, dystopia)
        sign = 1.0 if agrees else -1.0
        return methods.goalposts(oriented, sign * low, sign * high,
                                 scale=float(params.get("scale", 100.0)),
                                 clip=bool(params.get("clip", True)))
    if method == "min_max":
        low, high = params.get("range", [0.0, 100.0])
        return methods.min_max(oriented, float(low), float(high))
    if method == "z_score":
        return methods.z_score(oriented, float(params.get("mean", 0.0)),
                               float(params.get("sd", 1.0)))
    if method == "rank":
        return methods.rank_scores(oriented, str(params.get("ties", "average")))
    if method == "exponential":
        return methods.exponential(oriented, str(params.get("ties", "min")))
    return oriented


def indicator_values(
    table: PlaceTable, indicator: Indicator, places: list[str], groups: np.ndarray | None,
    missing: list[MissingEntry], notes: list[str],
) -> FloatArray:
    """Raw values of one indicator after rate, winsorising and imputation (all reported)."""
    values = table.numbers(indicator.column)
    if indicator.per:
        denominator = table.numbers(indicator.per)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(denominator > 0, values / denominator, np.nan)
    values = values * indicator.multiplier
    if indicator.winsorise:
        values, clipped = methods.winsorise(values, *indicator.winsorise)
        if clipped:
            notes.append(f"{indicator.id}: {clipped} value(s) winsorised to the "
                         f"{indicator.winsorise[0]:g}-{indicator.winsorise[1]:g} quantiles")
    gaps = np.flatnonzero(np.isnan(values))
    if gaps.size and indicator.impute != "none":
        filled, _ = methods.impute(values, indicator.impute, groups)
        for row in gaps:
            missing.append(MissingEntry(places[row], indicator.id,
                                        f"imputed ({indicator.impute})", float(filled[row])))
        values = filled
    present = values[~np.isnan(values)]
    if present.size and np.all(present == present[0]):
        notes.append(f"{indicator.id}: constant indicator, it changes no rank")
    return values


def node_weights(definition: IndexDefinition, node: Node, children: list[Indicator | Node],
                 child_scores: FloatArray) -> FloatArray:
    """The weights of ``node``'s children by its weighting rule."""
    if node.weighting == "equal":
        return methods.equal_weights(len(children))
    if node.weighting == "pca":
        return methods.pca_weights(child_scores)
    return np.array([child.weight for child in children], dtype=float)


def compute_index(definition: IndexDefinition, table: PlaceTable | None = None) -> IndexResult:
    """Compute every node's score, the index rank and decile for all places in the data."""
    table = load_place_table(definition) if table is None else table
    data = definition.data
    places = table.column(data.place)
    names = table.column(data.place_name) if data.place_name else [""] * len(places)
    areas = table.column(data.area) if data.area else [""] * len(places)
    area_names = table.column(data.area_name) if data.area_name else [""] * len(places)
    groups = np.array(areas) if data.area else None
    missing: list[MissingEntry] = []
    notes: list[str] = []
    scores: dict[str, FloatArray] = {}
    for indicator in definition.indicators:
        raw = indicator_values(table, indicator, places, groups, missing, notes)
        scores[indicator.id] = normalise(raw, indicator.normalisation, indicator,
                                         definition.polarity)
    weights: dict[str, dict[str, float]] = {}
    for node in definition.node_order():
        children = definition.children(node.id)
        if not children:
            raise DefinitionError(f"node {node.id} has no children")
        child_scores = np.column_stack([scores[c.id] for c in children])
        w = node_weights(definition, node, children, child_scores)
        weights[node.id] = {c.id: float(x) for c, x in zip(children, w, strict=True)}
        gaps = np.isnan(child_scores)
        try:
            result = methods.aggregate(child_scores, w, node.aggregation, node.power)
        except ValueError as error:
            raise DefinitionError(f"node {node.id}: {error}") from None
        if node.missing == "require":
            result[gaps.any(axis=1)] = np.nan
        else:
            partial = gaps.any(axis=1) & ~gaps.all(axis=1)
            for row in np.flatnonzero(partial):
                absent = [children[j].id for j in np.flatnonzero(gaps[row])]
                missing.append(MissingEntry(
                    places[row], node.id,
                    f"skipped {', '.join(absent)}; other weights re-scaled"))
        for row in np.flatnonzero(np.isnan(result)):
            missing.append(MissingEntry(places[row], node.id, "no score: children missing"))
        scores[node.id] = result
    index_score = scores[definition.id]
    rank = methods.rank_values(index_score, highest_first=definition.rank_1 == "highest",
                               ties=definition.ties)
    decile = methods.deciles_from_ranks(rank)
    return IndexResult(definition, places, names, areas, area_names, scores, rank, decile,
                       weights, missing, notes)


# ---------------------------------------------------------------- larger areas


@dataclass(frozen=True)
class AreaSummary:
    """Population-weighted summary of the index for one larger area."""

    code: str
    name: str
    places: int
    population: float
    average_score: float
    average_rank: float
    share_in_decile_1: float
    rank_of_average_score: float


def population_of(definition: IndexDefinition, places: list[str]) -> FloatArray:
    """Population per place (NaN where the population file has none)."""
    if definition.population is None:
        raise DefinitionError(
            f"{definition.id} has no [population] table: population-weighted summaries need one"
        )
    source = definition.population
    table = read_csv(source.file)
    counts = table.numbers(source.column)
    position = {code: i for i, code in enumerate(table.column(source.place))}
    return np.array([counts[position[c]] if c in position else np.nan for c in places])


def summarise_areas(result: IndexResult, population: FloatArray) -> list[AreaSummary]:
    """Per larger area: population-weighted average score and rank, share in decile 1."""
    areas = np.array(result.areas)
    if not result.definition.data.area:
        raise DefinitionError(f"{result.definition.id}: [data] has no area column to summarise by")
    average = methods.population_weighted_mean(result.score, population, areas)
    avg_rank = methods.population_weighted_mean(result.rank, population, areas)
    in_first = (result.decile == 1).astype(float)
    share = methods.population_weighted_mean(in_first, population, areas)
    codes = sorted(average)
    ordered = np.array([average[c] for c in codes])
    area_rank = methods.rank_values(ordered, highest_first=result.definition.rank_1 == "highest",
                                    ties="min")
    name_of = dict(zip(result.areas, result.area_names, strict=True))
    counts: dict[str, int] = {}
    totals: dict[str, float] = {}
    for code, people in zip(result.areas, population, strict=True):
        counts[code] = counts.get(code, 0) + 1
        totals[code] = totals.get(code, 0.0) + (0.0 if np.isnan(people) else float(people))
    return [
        AreaSummary(code, name_of[code], counts[code], totals[code], average[code],
                    avg_rank[code], share[code], float(area_rank[i]))
        for i, code in enumerate(codes)
    ]


# ---------------------------------------------------------------- output


def _number(value: float, digits: int = 6) -> str:
    if np.isnan(value):
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


def result_rows(result: IndexResult) -> Iterator[dict[str, str]]:
    """One CSV row per place: codes, each node's score, the index score, rank and decile."""
    definition = result.definition
    score_ids = [i.id for i in definition.indicators] + [n.id for n in definition.nodes]
    for row, code in enumerate(result.places):
        out = {"place": code, "name": result.place_names[row], "area": result.areas[row]}
        for item in score_ids:
            out[f"{item}_score"] = _number(result.scores[item][row])
        out["score"] = _number(result.score[row])
        out["rank"] = _number(result.rank[row])
        out["decile"] = _number(result.decile[row])
        yield out


def area_rows(summaries: Iterable[AreaSummary]) -> Iterator[dict[str, str]]:
    """One CSV row per larger area."""
    for s in summaries:
        yield {
            "area": s.code, "name": s.name, "places": str(s.places),
            "population": _number(s.population), "average_score": _number(s.average_score, 3),
            "average_rank": _number(s.average_rank, 1),
            "share_in_decile_1": _number(s.share_in_decile_1, 4),
            "rank_of_average_score": _number(s.rank_of_average_score),
        }


def write_csv(path: Path, rows: Iterable[dict[str, str]], credit: str = "") -> int:
    """Write rows as CSV (header from the first row), then a credit line; return rows written."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer: Any = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(handle, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)
            count += 1
    if credit:
        with path.with_name(path.name + ".credit.txt").open("w", encoding="utf-8") as handle:
            handle.write(credit + "\n")
    return count


@dataclass(frozen=True)
class Comparison:
    """How the recomputed ranks and deciles agree with the published ones."""

    places: int
    exact_ranks: int
    max_rank_difference: float
    exact_deciles: int
    max_decile_difference: float

    @property
    def exact_share(self) -> float:
        return self.exact_ranks / self.places if self.places else 0.0


def compare_with_published(result: IndexResult, table: PlaceTable) -> Comparison | None:
    """Compare with the definition's [compare] columns; None when it names none."""
    definition = result.definition
    if not definition.compare_rank:
        return None
    published = table.numbers(definition.compare_rank)
    rank_gap = np.abs(result.rank - published)
    if definition.compare_decile:
        decile_gap = np.abs(result.decile - table.numbers(definition.compare_decile))
    else:
        decile_gap = np.abs(result.decile - methods.deciles_from_ranks(published))
    return Comparison(
        places=int(np.count_nonzero(~np.isnan(published))),
        exact_ranks=int(np.count_nonzero(rank_gap == 0)),
        max_rank_difference=float(np.nanmax(rank_gap)),
        exact_deciles=int(np.count_nonzero(decile_gap == 0)),
        max_decile_difference=float(np.nanmax(decile_gap)),
    )
