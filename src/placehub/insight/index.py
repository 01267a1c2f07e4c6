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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from placehub import csv_cells
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
    """Scores of every node, the index rank and decile, and what was done to the data.

    ``weights`` holds the weights each node actually used (PCA and factor weights included);
    ``goalposts`` the (low, high) goalpost scores of every item that has goalposts (for a
    higher-is-better index: dystopia, utopia).
    """

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
    goalposts: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def score(self) -> FloatArray:
        return self.scores[self.definition.id]


@dataclass(frozen=True)
class Variant:
    """What one sensitivity run changes in the definition's method (None: as defined).

    ``weights`` maps a node id to the weights of its children (in file order);
    ``normalisation`` replaces every indicator's, ``aggregation`` every node's, ``impute`` every
    indicator's imputation; ``exclude`` drops indicators (their node's other weights are scaled
    to keep the total).
    """

    weights: Mapping[str, FloatArray] | None = None
    normalisation: Normalisation | None = None
    aggregation: str | None = None
    impute: str | None = None
    exclude: frozenset[str] = frozenset()


AS_DEFINED = Variant()


def _oriented_goalposts(indicator: Indicator, polarity: str) -> tuple[float, float] | None:
    """The indicator's goalposts as (low, high) ends on the oriented scale (see
    ``methods.orient``): the end that scores 0 first. For a higher-is-better index that is
    (dystopia, utopia); for a higher-is-worse one (utopia, dystopia)."""
    if indicator.goalposts is None:
        return None
    sign = 1.0 if indicator.direction == polarity else -1.0
    dystopia, utopia = indicator.goalposts
    if polarity == "higher_is_better":
        return sign * dystopia, sign * utopia
    return sign * utopia, sign * dystopia


def transform(values: FloatArray, normalisation: Normalisation,
              goalposts: tuple[float, float] | None = None, where: str = ""
              ) -> tuple[FloatArray, tuple[float, float] | None]:
    """Apply a normalisation to oriented values; also carry (dystopia, utopia) through it.

    Goalposts pass through the same fitted transformation as the values (a z-score with the
    data's mean and standard deviation, a min-max with the data's range), which is how a Social
    Progress-style index rescales a component between its aggregated utopia and dystopia. A
    rank-based method has no value for a point outside the data, so goalposts cannot pass it.
    """
    params = dict(normalisation.params)
    method = normalisation.method
    values = np.asarray(values, dtype=float)
    points = np.array(goalposts if goalposts is not None else (np.nan, np.nan), dtype=float)
    if method == "goalposts":
        if "utopia" in params:  # explicit goalposts in the normalisation's own table
            low, high = float(params["dystopia"]), float(params["utopia"])
        elif goalposts is not None:
            low, high = goalposts
        else:
            raise DefinitionError(
                f"{where}: goalposts without dystopia and utopia: give them, or give every child "
                "goalposts so the node's can be aggregated from them")
        scale = float(params.get("scale", 100.0))
        clip = bool(params.get("clip", True))
        scored = methods.goalposts(values, low, high, scale=scale, clip=clip)
        return scored, (0.0, scale)
    if method == "min_max":
        low, high = params.get("range", [0.0, 100.0])
        lo, hi = np.nanmin(values), np.nanmax(values)
        scored = methods.min_max(values, float(low), float(high))
        if hi == lo:
            carried = np.full(2, (float(low) + float(high)) / 2.0)
        else:
            carried = float(low) + (points - lo) * (float(high) - float(low)) / (hi - lo)
    elif method == "z_score":
        mean, sd = float(params.get("mean", 0.0)), float(params.get("sd", 1.0))
        present = values[~np.isnan(values)]
        spread = float(np.std(present, ddof=1)) if present.size > 1 else 0.0
        scored = methods.z_score(values, mean, sd)
        carried = (np.full(2, mean) if spread == 0.0
                   else mean + sd * (points - float(np.mean(present))) / spread)
    elif method == "none":
        scored, carried = values.copy(), points
    else:
        ties = str(params.get("ties", "min" if method == "exponential" else "average"))
        if method == "rank":
            scored = methods.rank_scores(values, ties)
        elif method == "exponential":
            scored = methods.exponential(values, ties)
        else:
            scored = methods.inverse_normal(values, ties, float(params.get("offset", 0.5)))
        carried = np.full(2, np.nan)
    if goalposts is None or np.isnan(carried).any():
        return scored, None
    return scored, (float(carried[0]), float(carried[1]))


def normalise(values: FloatArray, normalisation: Normalisation, indicator: Indicator,
              polarity: str) -> FloatArray:
    """Orient ``values`` towards the index's polarity and apply the normalisation."""
    return normalise_with_goalposts(values, normalisation, indicator, polarity)[0]


def normalise_with_goalposts(values: FloatArray, normalisation: Normalisation,
                             indicator: Indicator, polarity: str
                             ) -> tuple[FloatArray, tuple[float, float] | None]:
    """``normalise`` plus the indicator's goalposts carried through the same transformation."""
    oriented = methods.orient(values, indicator.direction == polarity)
    goalposts = _oriented_goalposts(indicator, polarity)
    # The indicator's goalposts are in its own units and already oriented above.
    params = {k: v for k, v in normalisation.params.items() if k not in ("dystopia", "utopia")}
    return transform(oriented, Normalisation(normalisation.method, params), goalposts,
                     f"indicator {indicator.id}")


def indicator_values(
    table: PlaceTable, indicator: Indicator, places: list[str], groups: np.ndarray | None,
    missing: list[MissingEntry], notes: list[str], impute: str | None = None,
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
    rule = indicator.impute if impute is None else impute
    gaps = np.flatnonzero(np.isnan(values))
    if gaps.size and rule != "none":
        filled, _ = methods.impute(values, rule, groups)
        for row in gaps:
            missing.append(MissingEntry(places[row], indicator.id, f"imputed ({rule})",
                                        float(filled[row])))
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
    try:
        if node.weighting == "pca":
            return methods.pca_weights(child_scores)
        if node.weighting == "factor":
            return methods.factor_weights(child_scores)
    except ValueError as error:
        raise DefinitionError(f"node {node.id}: {error}") from None
    return np.array([child.weight for child in children], dtype=float)


#: Normalised leaves reused between sensitivity runs: (indicator, normalisation, impute) ->
#: (scores, goalposts).
LeafCache = dict[tuple[str, str, str], tuple[FloatArray, tuple[float, float] | None]]


def compute_index(definition: IndexDefinition, table: PlaceTable | None = None,
                  variant: Variant = AS_DEFINED, leaf_cache: LeafCache | None = None
                  ) -> IndexResult:
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
    goalposts: dict[str, tuple[float, float]] = {}
    for indicator in definition.indicators:
        if indicator.id in variant.exclude:
            continue
        normalisation = variant.normalisation or indicator.normalisation
        impute = variant.impute or indicator.impute
        key = (indicator.id, repr(normalisation), impute)
        if leaf_cache is not None and key in leaf_cache:
            leaf, carried = leaf_cache[key]
        else:
            raw = indicator_values(table, indicator, places, groups, missing, notes, impute)
            leaf, carried = normalise_with_goalposts(raw, normalisation, indicator,
                                                     definition.polarity)
            if leaf_cache is not None:
                leaf_cache[key] = (leaf, carried)
        scores[indicator.id] = leaf
        if carried is not None:
            goalposts[indicator.id] = carried
    weights: dict[str, dict[str, float]] = {}
    for node in definition.node_order():
        declared = definition.children(node.id)
        children = [c for c in declared if c.id in scores]
        if not children:
            if variant.exclude:
                continue  # every indicator under it was excluded: the node drops out too
            raise DefinitionError(f"node {node.id} has no children")
        child_scores = np.column_stack([scores[c.id] for c in children])
        if variant.weights is not None and node.id in variant.weights:
            full: FloatArray | None = np.asarray(variant.weights[node.id], dtype=float)
        elif node.weighting == "fixed":
            full = np.array([child.weight for child in declared], dtype=float)
        else:
            full = None
        if full is not None:
            w = full[[declared.index(c) for c in children]]
            if len(children) < len(declared) and w.sum() > 0:
                w = w * float(full.sum()) / float(w.sum())  # excluded: keep the node's total
        else:
            w = node_weights(definition, node, children, child_scores)
        weights[node.id] = {c.id: float(x) for c, x in zip(children, w, strict=True)}
        gaps = np.isnan(child_scores)
        aggregation = variant.aggregation or node.aggregation
        try:
            result = methods.aggregate(child_scores, w, aggregation, node.power)
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
        carried = None
        if all(c.id in goalposts for c in children):
            ends = np.array([[goalposts[c.id][0] for c in children],
                             [goalposts[c.id][1] for c in children]])
            try:
                dystopia, utopia = methods.aggregate(ends, w, aggregation, node.power)
                carried = (float(dystopia), float(utopia))
            except ValueError:
                carried = None
        if node.normalisation is not None:
            result, carried = transform(result, node.normalisation, carried, f"node {node.id}")
        if carried is not None:
            goalposts[node.id] = carried
        scores[node.id] = result
    index_score = scores[definition.id]
    rank = methods.rank_values(index_score, highest_first=definition.rank_1 == "highest",
                               ties=definition.ties)
    decile = methods.deciles_from_ranks(rank)
    return IndexResult(definition, places, names, areas, area_names, scores, rank, decile,
                       weights, missing, notes, goalposts)


# ---------------------------------------------------------------- larger areas
#
# MHCLG's local-authority summary measures (English Indices of Deprivation 2019 technical
# report, chapter on area summaries and appendix N), generalised to any index: "most deprived"
# reads "rank 1 end" (the places the index ranks first).

#: Extent: the share of rank percentiles 1-10 counts fully, 11 counts 0.95, and each following
#: percentile (0.95 - 0.05) / 19 less, down to 0.05 for the 30th; beyond 30 nothing.
EXTENT_FULL_PERCENTILE = 10
EXTENT_LAST_PERCENTILE = 30
#: Local concentration: the population-weighted mean rank of an area's rank-1-end places that
#: hold exactly this share of its population.
LOCAL_CONCENTRATION_SHARE = 0.10


@dataclass(frozen=True)
class AreaSummary:
    """MHCLG's summary measures of the index for one larger area, and their ranks among areas
    (rank 1 = the area at the rank-1 end: for the IMD, the most deprived)."""

    code: str
    name: str
    places: int
    population: float
    average_score: float
    average_rank: float
    extent: float
    local_concentration: float
    proportion_in_decile_1: float
    scale: float | None
    rank_of_average_score: int | None
    rank_of_average_rank: int | None
    rank_of_extent: int | None
    rank_of_local_concentration: int | None
    rank_of_proportion_in_decile_1: int | None
    rank_of_scale: int | None

    def as_json(self) -> dict[str, Any]:
        """The summary with numbers as JSON numbers (NaN as null)."""
        return {key: json_number(value) for key, value in asdict(self).items()}


def json_number(value: Any) -> Any:
    """A float for JSON: NaN becomes None, whole floats stay floats; other values unchanged."""
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def population_of(definition: IndexDefinition, places: list[str],
                  column: str | None = None) -> FloatArray:
    """Population (or the ``column`` of the population file) per place; NaN where missing."""
    if definition.population is None:
        raise DefinitionError(
            f"{definition.id} has no [population] table: population-weighted summaries need one"
        )
    source = definition.population
    table = read_csv(source.file)
    counts = table.numbers(column or source.column)
    position = {code: i for i, code in enumerate(table.column(source.place))}
    return np.array([counts[position[c]] if c in position else np.nan for c in places])


def extent_weights(rank: FloatArray, count: int) -> FloatArray:
    """MHCLG's extent weight of each place from its national rank percentile.

    Percentile = ceil(rank / (N / 100)); 1-10 weigh 1, 11 weighs 0.95, then each percentile
    (0.95 - 0.05) / 19 less down to 0.05 at 30, and 0 beyond.
    """
    percentile = np.ceil(np.asarray(rank, dtype=float) / (count / 100.0))
    sliding = 0.95 - (0.90 / 19.0) * (percentile - (EXTENT_FULL_PERCENTILE + 1))
    return np.where(percentile <= EXTENT_FULL_PERCENTILE, 1.0,
                    np.where(percentile <= EXTENT_LAST_PERCENTILE, sliding, 0.0))


def local_concentration(rank: FloatArray, population: FloatArray,
                        share: float = LOCAL_CONCENTRATION_SHARE) -> float:
    """Population-weighted mean rank of an area's rank-1-end places holding ``share`` of its
    people; the place that crosses the share counts with only the people needed to reach it."""
    order = np.argsort(rank, kind="stable")
    ranks, people = np.asarray(rank)[order], np.asarray(population)[order]
    target = share * float(people.sum())
    before = np.concatenate(([0.0], np.cumsum(people)[:-1]))
    taken = np.clip(target - before, 0.0, people)
    if taken.sum() <= 0:
        return float("nan")
    return float(np.sum(taken * ranks) / taken.sum())


def _area_ranks(values: dict[str, float], codes: list[str], highest_first: bool
                ) -> list[int | None]:
    ordered = np.array([values[c] for c in codes], dtype=float)
    ranked = methods.rank_values(ordered, highest_first=highest_first, ties="min")
    return [None if np.isnan(r) else int(r) for r in ranked]


def summarise_areas(result: IndexResult, population: FloatArray,
                    scale_counts: FloatArray | None = None) -> list[AreaSummary]:
    """MHCLG's six summary measures per larger area (scale only with ``scale_counts``).

    average score and average rank: population-weighted means of the places' scores and ranks;
    extent: the population share in the rank-1 end, weighted by ``extent_weights``; local
    concentration: see ``local_concentration``; proportion in decile 1: the share of the area's
    places (not people) in the first national decile; scale: the sum of ``scale_counts``.
    Places without a score or a population are left out.
    """
    if not result.definition.data.area:
        raise DefinitionError(f"{result.definition.id}: [data] has no area column to summarise by")
    if result.definition.population is None:
        raise DefinitionError(
            f"{result.definition.id} has no [population] table: area summaries are "
            "population-weighted")
    areas = np.array(result.areas)
    scored = ~np.isnan(result.rank)
    count = int(np.count_nonzero(scored))
    usable = scored & ~np.isnan(population)
    average = methods.population_weighted_mean(np.where(usable, result.score, np.nan),
                                               population, areas)
    avg_rank = methods.population_weighted_mean(np.where(usable, result.rank, np.nan),
                                                population, areas)
    extent = methods.population_weighted_mean(
        np.where(usable, extent_weights(result.rank, count), np.nan), population, areas)
    in_first = np.where(scored, (result.decile == 1).astype(float), np.nan)
    codes = sorted(set(result.areas))
    name_of = dict(zip(result.areas, result.area_names, strict=True))
    places, totals, proportion, concentration, scale = {}, {}, {}, {}, {}
    for code in codes:
        rows = np.flatnonzero(areas == code)
        good = rows[usable[rows]]
        places[code] = len(rows)
        totals[code] = float(np.nansum(population[rows]))
        known = in_first[rows][~np.isnan(in_first[rows])]
        proportion[code] = float(known.mean()) if known.size else float("nan")
        concentration[code] = local_concentration(result.rank[good], population[good])
        if scale_counts is not None:
            scale[code] = float(np.nansum(scale_counts[rows]))
    first_high = result.definition.rank_1 == "highest"
    ranks = {
        "score": _area_ranks(average, codes, first_high),
        "rank": _area_ranks(avg_rank, codes, False),
        "extent": _area_ranks(extent, codes, True),
        "concentration": _area_ranks(concentration, codes, False),
        "proportion": _area_ranks(proportion, codes, True),
    }
    scale_ranks = _area_ranks(scale, codes, True) if scale_counts is not None else None
    return [
        AreaSummary(
            code, name_of[code], places[code], totals[code], average[code], avg_rank[code],
            extent[code], concentration[code], proportion[code],
            scale[code] if scale_counts is not None else None,
            ranks["score"][i], ranks["rank"][i], ranks["extent"][i], ranks["concentration"][i],
            ranks["proportion"][i], scale_ranks[i] if scale_ranks is not None else None)
        for i, code in enumerate(codes)
    ]


def area_summaries(result: IndexResult) -> list[AreaSummary]:
    """``summarise_areas`` with the definition's population (and scale column, if it names one)."""
    definition = result.definition
    population = population_of(definition, result.places)
    scale = None
    if definition.population is not None and definition.population.scale:
        scale = population_of(definition, result.places, definition.population.scale)
    return summarise_areas(result, population, scale)


# ---------------------------------------------------------------- output


def _number(value: float | None, digits: int = 6) -> str:
    if value is None or np.isnan(value):
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
            if item in result.scores:
                out[f"{item}_score"] = _number(result.scores[item][row])
        out["score"] = _number(result.score[row])
        out["rank"] = _number(result.rank[row])
        out["decile"] = _number(result.decile[row])
        yield out


def weight_rows(result: IndexResult) -> Iterator[dict[str, str]]:
    """One CSV row per node and child: the weight actually used and how it was set."""
    nodes = {n.id: n for n in result.definition.node_order()}
    for node_id, children in result.weights.items():
        for child, weight in children.items():
            yield {"node": node_id, "child": child, "weighting": nodes[node_id].weighting,
                   "weight": _number(weight, 6)}


AREA_DIGITS = {"average_score": 3, "average_rank": 3, "extent": 4, "local_concentration": 3,
               "proportion_in_decile_1": 4, "population": 0, "scale": 0}


def area_rows(summaries: Iterable[AreaSummary]) -> Iterator[dict[str, str]]:
    """One CSV row per larger area, MHCLG's rounding (3 decimals for scores and ranks, 4 for
    proportions)."""
    for s in summaries:
        row = asdict(s)
        yield {"area": s.code, **{key: _number(value, AREA_DIGITS.get(key, 6))
                                  if not isinstance(value, str) else value
                                  for key, value in row.items() if key != "code"}}


def write_csv(path: Path, rows: Iterable[dict[str, str]], credit: str = "") -> int:
    """Write rows as CSV (header from the first row), then a credit line; return rows written."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer: Any = None
        for row in rows:
            if writer is None:
                writer = csv_cells.DictWriter(handle, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)
            count += 1
    if credit:
        with path.with_name(path.name + ".credit.txt").open("w", encoding="utf-8") as handle:
            handle.write(credit + "\n")
    return count


@dataclass(frozen=True)
class ScoreAgreement:
    """How one recomputed score (the index's or a node's) agrees with a published column."""

    item: str
    column: str
    places: int
    within_tolerance: int
    max_difference: float


@dataclass(frozen=True)
class Comparison:
    """How the recomputed ranks, deciles and scores agree with the published ones."""

    places: int
    exact_ranks: int
    max_rank_difference: float
    exact_deciles: int
    max_decile_difference: float
    scores: list[ScoreAgreement] = field(default_factory=list)
    tolerance: float = 0.001

    @property
    def exact_share(self) -> float:
        return self.exact_ranks / self.places if self.places else 0.0


def compare_with_published(result: IndexResult, table: PlaceTable) -> Comparison | None:
    """Compare with the definition's [compare] columns; None when it names none."""
    published_columns = result.definition.compare
    wanted = dict(published_columns.scores)
    if published_columns.score:
        wanted[result.definition.id] = published_columns.score
    if not published_columns.rank and not wanted:
        return None
    places = exact = exact_deciles = 0
    max_gap = max_decile_gap = float("nan")
    if published_columns.rank:
        published = table.numbers(published_columns.rank)
        rank_gap = np.abs(result.rank - published)
        if published_columns.decile:
            decile_gap = np.abs(result.decile - table.numbers(published_columns.decile))
        else:
            decile_gap = np.abs(result.decile - methods.deciles_from_ranks(published))
        places = int(np.count_nonzero(~np.isnan(published)))
        exact = int(np.count_nonzero(rank_gap == 0))
        max_gap = float(np.nanmax(rank_gap))
        exact_deciles = int(np.count_nonzero(decile_gap == 0))
        max_decile_gap = float(np.nanmax(decile_gap))
    agreements = []
    for item, column in wanted.items():
        if item not in result.scores:
            continue
        published = table.numbers(column)
        gap = np.abs(result.scores[item] - published)
        known = ~np.isnan(gap)
        agreements.append(ScoreAgreement(
            item, column, int(known.sum()),
            int(np.count_nonzero(gap[known] <= published_columns.tolerance)),
            float(gap[known].max()) if known.any() else float("nan")))
    return Comparison(places, exact, max_gap, exact_deciles, max_decile_gap, agreements,
                      published_columns.tolerance)


def result_with_population(definition: IndexDefinition) -> tuple[IndexResult, FloatArray]:
    """The computed index and each place's population (NaN without a [population] table)."""
    result = compute_index(definition)
    try:
        population = population_of(definition, result.places)
    except DefinitionError:  # a definition without population still gives place scores
        population = np.full(len(result.places), np.nan)
    return result, population
