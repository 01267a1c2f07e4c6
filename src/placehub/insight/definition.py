"""Composite-index definition files (TOML): strict parsing and validation into plain dataclasses.

The format is documented key by key in docs/insight.md; shipped definitions live in
``placehub/insight/definitions/NAME.toml`` and are found by name. Every table is checked against
a pydantic model that forbids unknown keys, so a typing slip (``weigth = 0.5``) or a key in the
wrong table stops the build with the key and the keys allowed there.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from placehub.insight.methods import NORMALISERS, TIE_METHODS

DEFINITIONS_DIR = Path(__file__).with_name("definitions")
DIRECTIONS = ("higher_is_better", "higher_is_worse")
WEIGHTINGS = ("fixed", "equal", "pca", "factor")
MISSING_RULES = ("skip", "require")
IMPUTATIONS = ("none", "mean", "median", "group_mean")
SENSITIVITY_WEIGHTS = ("dirichlet", "uniform", "fixed")
#: The uncertain inputs a Sobol analysis can vary (see ``placehub.insight.sensitivity``).
SOBOL_FACTORS = ("weights", "normalisation", "aggregation", "imputation", "inclusion")

#: The parameters each normalisation method takes (anything else is an error).
NORMALISATION_PARAMS: dict[str, tuple[str, ...]] = {
    "none": (),
    "min_max": ("range",),
    "z_score": ("mean", "sd"),
    "rank": ("ties",),
    "goalposts": ("dystopia", "utopia", "scale", "clip"),
    "exponential": ("ties",),
    "inverse_normal": ("ties", "offset"),
}


class DefinitionError(ValueError):
    """A definition file that cannot be used; the message says which key to fix."""


@dataclass(frozen=True)
class Normalisation:
    """One normalisation method and its parameters (range, goalposts, ties...)."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Indicator:
    """A leaf of the hierarchy: one column of the data, oriented, treated and normalised."""

    id: str
    name: str
    column: str
    parent: str
    weight: float
    direction: str
    normalisation: Normalisation
    per: str | None = None
    multiplier: float = 1.0
    impute: str = "none"
    winsorise: tuple[float, float] | None = None
    unit: str = ""
    #: (dystopia, utopia) in the indicator's own units, when it has goalposts.
    goalposts: tuple[float, float] | None = None


@dataclass(frozen=True)
class Node:
    """An aggregate (component, dimension or the index itself) of its children.

    ``normalisation`` (optional) transforms the node's aggregated score before its parent uses
    it: the IoD's exponential transformation of sub-domain scores, or the Social Progress
    Index's rescaling of a component between its utopia and dystopia.
    """

    id: str
    name: str
    parent: str | None
    weight: float
    aggregation: str = "arithmetic"
    weighting: str = "fixed"
    power: float = 1.0
    missing: str = "skip"
    normalisation: Normalisation | None = None


@dataclass(frozen=True)
class DataSource:
    """Where the place table comes from and which columns name the places and larger areas."""

    file: Path
    place: str
    place_name: str | None = None
    area: str | None = None
    area_name: str | None = None
    layer: str = "place"
    area_layer: str = "area"
    joins: tuple[tuple[Path, str], ...] = ()


@dataclass(frozen=True)
class PopulationSource:
    """A population count per place, for population-weighted summaries of larger areas; and
    optionally a count summed per area for MHCLG's "scale" measure (e.g. income-deprived
    people)."""

    file: Path
    place: str
    column: str
    scale: str | None = None


@dataclass(frozen=True)
class PublishedColumns:
    """Published figures the recomputation is checked against ([compare])."""

    rank: str | None = None
    decile: str | None = None
    score: str | None = None
    scores: dict[str, str] = field(default_factory=dict)
    tolerance: float = 0.001


@dataclass(frozen=True)
class Sensitivity:
    """What a sensitivity analysis varies, how many runs with which seed (the definition's
    [sensitivity] table gives the defaults of ``placehub index sensitivity`` and ``sobol``)."""

    runs: int = 200
    seed: int = 1
    weights: str = "dirichlet"
    concentration: float = 50.0
    spread: float = 0.25
    normalisations: tuple[Normalisation, ...] = ()
    aggregations: tuple[str, ...] = ()
    imputations: tuple[str, ...] = ()
    interval: tuple[float, float] = (5.0, 95.0)
    factors: tuple[str, ...] = SOBOL_FACTORS
    samples: int = 64
    weight_sets: int = 16
    bootstrap: int = 200
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise ValueError(f"runs = {self.runs} not understood: give at least 1 run")
        if self.weights not in SENSITIVITY_WEIGHTS:
            raise ValueError(f"weights = {self.weights!r}: use dirichlet, uniform or fixed")
        if self.concentration <= 0:
            raise ValueError(f"concentration = {self.concentration}: must be above 0")
        if not 0 <= self.spread < 1:
            raise ValueError(f"spread = {self.spread}: must be at least 0 and below 1")
        low, high = self.interval
        if not 0 <= low <= high <= 100:
            raise ValueError(f"interval = {self.interval}: percentiles between 0 and 100")
        unknown = [f for f in self.factors if f not in SOBOL_FACTORS]
        if unknown or not self.factors:
            raise ValueError(f"factors = {list(self.factors)}: use some of "
                             f"{', '.join(SOBOL_FACTORS)}")
        if self.samples < 2 or self.samples & (self.samples - 1):
            raise ValueError(f"samples = {self.samples}: a power of 2 (e.g. 64), as Sobol' "
                             "sequences need")
        if self.weight_sets < 2:
            raise ValueError(f"weight_sets = {self.weight_sets}: at least 2")
        if self.bootstrap < 10:
            raise ValueError(f"bootstrap = {self.bootstrap}: at least 10 resamples")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence = {self.confidence}: between 0 and 1, e.g. 0.95")

    @classmethod
    def from_definition(cls, definition: IndexDefinition, **overrides: Any) -> Sensitivity:
        """The definition's [sensitivity] table with explicit overrides (None = keep)."""
        return replace(definition.sensitivity,
                       **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class IndexDefinition:
    """A whole composite index: data, hierarchy, ranking and sensitivity settings."""

    id: str
    name: str
    description: str
    polarity: str
    rank_1: str
    ties: str
    root: Node
    nodes: tuple[Node, ...]
    indicators: tuple[Indicator, ...]
    data: DataSource
    population: PopulationSource | None
    compare: PublishedColumns
    sensitivity: Sensitivity
    source: str = ""
    licence: str = ""
    credit: str = ""
    path: Path | None = None

    @property
    def compare_rank(self) -> str | None:
        return self.compare.rank

    @property
    def compare_decile(self) -> str | None:
        return self.compare.decile

    def children(self, node_id: str) -> list[Indicator | Node]:
        """Indicators and nodes directly under ``node_id``, in file order."""
        found: list[Indicator | Node] = [n for n in self.nodes if n.parent == node_id]
        found += [i for i in self.indicators if i.parent == node_id]
        return found

    def node_order(self) -> list[Node]:
        """Aggregation nodes bottom-up, so each node comes after all of its children."""
        ordered: list[Node] = []

        def visit(node: Node) -> None:
            for child in self.children(node.id):
                if isinstance(child, Node):
                    visit(child)
            ordered.append(node)

        visit(self.root)
        return ordered


# ---------------------------------------------------------------- the file's tables (strict)


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


NormalisationKey = str | dict[str, Any] | None


class _NodeKeys(_Table):
    id: str
    name: str | None = None
    weighting: Literal["fixed", "equal", "pca", "factor"] = "equal"
    aggregation: Literal["arithmetic", "geometric", "harmonic", "power_mean"] = "arithmetic"
    power: float = 1.0
    missing: Literal["skip", "require"] = "skip"
    normalisation: NormalisationKey = None


class _NodeTable(_NodeKeys):
    parent: str | None = None
    weight: float = 1.0


class _IndexTable(_NodeKeys):
    description: str = ""
    polarity: Literal["higher_is_better", "higher_is_worse"] = "higher_is_better"
    rank_1: Literal["highest", "lowest"] = "highest"
    ties: Literal["min", "max", "average", "dense", "ordinal"] = "min"
    source: str = ""
    licence: str = ""
    credit: str = ""


class _IndicatorTable(_Table):
    id: str
    column: str
    name: str | None = None
    unit: str = ""
    per: str | None = None
    multiplier: float = 1.0
    parent: str | None = None
    weight: float = 1.0
    direction: Literal["higher_is_better", "higher_is_worse"] = "higher_is_better"
    normalisation: NormalisationKey = "min_max"
    impute: Literal["none", "mean", "median", "group_mean"] = "none"
    winsorise: tuple[float, float] | None = None
    dystopia: float | None = None
    utopia: float | None = None


class _JoinTable(_Table):
    file: str
    place: str | None = None


class _DataTable(_Table):
    file: str
    place: str
    place_name: str | None = None
    area: str | None = None
    area_name: str | None = None
    layer: str = "place"
    area_layer: str = "area"
    join: list[_JoinTable] = []


class _PopulationTable(_Table):
    column: str
    file: str | None = None
    place: str | None = None
    scale: str | None = None


class _CompareTable(_Table):
    rank: str | None = None
    decile: str | None = None
    score: str | None = None
    scores: dict[str, str] = {}
    tolerance: float = 0.001


class _SensitivityTable(_Table):
    runs: int = 200
    seed: int = 1
    weights: Literal["dirichlet", "uniform", "fixed"] = "dirichlet"
    concentration: float = 50.0
    spread: float = 0.25
    normalisations: list[str | dict[str, Any]] = []
    aggregations: list[Literal["arithmetic", "geometric", "harmonic", "power_mean"]] = []
    imputations: list[Literal["none", "mean", "median", "group_mean"]] = []
    interval: tuple[float, float] = (5.0, 95.0)
    factors: list[str] = list(SOBOL_FACTORS)
    samples: int = 64
    weight_sets: int = 16
    bootstrap: int = 200
    confidence: float = 0.95


class _Document(_Table):
    index: dict[str, Any]
    data: dict[str, Any]
    node: list[dict[str, Any]] = []
    indicator: list[dict[str, Any]] = []
    population: dict[str, Any] | None = None
    compare: dict[str, Any] | None = None
    sensitivity: dict[str, Any] | None = None


_M = TypeVar("_M", bound=BaseModel)


def _allowed(model: type[BaseModel]) -> str:
    return ", ".join(model.model_fields)


def _validate(model: type[_M], raw: Any, where: str) -> _M:
    """Validate one table; errors name the key and, for an unknown key, the allowed ones."""
    if not isinstance(raw, dict):
        raise DefinitionError(f"{where}: expected a table, got {raw!r}")
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            key = ".".join(str(part) for part in item["loc"])
            if item["type"] == "extra_forbidden":
                problems.append(f"unknown key {key!r} (allowed: {_allowed(model)})")
            elif item["type"] == "missing":
                problems.append(f"missing key {key!r}")
            elif item["type"] == "literal_error":
                problems.append(f"{key} = {item.get('input')!r} not understood; "
                                f"{item['msg'].replace('Input should be', 'use')}")
            else:
                problems.append(f"{key} = {item.get('input')!r}: {item['msg']}")
        raise DefinitionError(f"{where}: " + "; ".join(problems)) from None


def available_definitions() -> list[str]:
    """Names of the definitions shipped with placehub."""
    return sorted(p.stem for p in DEFINITIONS_DIR.glob("*.toml"))


def resolve_definition_path(name_or_path: str) -> Path:
    """A shipped definition's file by name, or the given path to a TOML file."""
    shipped = DEFINITIONS_DIR / f"{name_or_path}.toml"
    if shipped.exists():
        return shipped
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    raise DefinitionError(
        f"no definition {name_or_path!r}: give a path to a .toml file or one of "
        f"{', '.join(available_definitions())}"
    )


def load_definition(name_or_path: str, data_dir: Path) -> IndexDefinition:
    """Read and validate a definition; data files resolve against ``data_dir``."""
    path = resolve_definition_path(name_or_path)
    return parse_definition_text(path.read_text(encoding="utf-8"), data_dir, path)


def parse_definition_text(text: str, data_dir: Path, path: Path | None = None, *,
                          data_dir_only: bool = False) -> IndexDefinition:
    """Parse TOML text into a validated definition.

    ``data_dir_only`` (for definitions uploaded over HTTP) allows only relative data files that
    stay inside ``data_dir``: an uploaded definition must not read other files on the server.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DefinitionError(f"{path or 'definition'}: not valid TOML ({error})") from None
    return parse_definition(document, data_dir, path, data_dir_only=data_dir_only)


def _resolve_file(raw: str, data_dir: Path, definition_path: Path | None,
                  data_dir_only: bool = False) -> Path:
    """Absolute paths as given; others under data_dir, else beside the definition file."""
    candidate = Path(raw).expanduser()
    if data_dir_only:
        resolved = (data_dir / candidate).resolve()
        if candidate.is_absolute() or not resolved.is_relative_to(data_dir.resolve()):
            raise DefinitionError(
                f"data file {raw!r}: give a path relative to the data folder, inside it")
        return resolved
    if candidate.is_absolute():
        return candidate
    under_data = data_dir / candidate
    if under_data.exists() or definition_path is None:
        return under_data
    beside = definition_path.parent / candidate
    return beside if beside.exists() else under_data


def _normalisation(raw: Any, where: str) -> Normalisation:
    """A normalisation from a method name or a table {method = ..., params...}."""
    if isinstance(raw, str):
        raw = {"method": raw}
    if not isinstance(raw, dict) or "method" not in raw:
        raise DefinitionError(
            f"{where}: normalisation must be a method name or a table with method")
    method = raw["method"]
    if method not in NORMALISERS:
        raise DefinitionError(
            f"{where}: normalisation {method!r} not understood; use {', '.join(NORMALISERS)}"
        )
    params = {k: v for k, v in raw.items() if k != "method"}
    allowed = NORMALISATION_PARAMS[method]
    for key in params:
        if key not in allowed:
            raise DefinitionError(
                f"{where}: normalisation {method} has no parameter {key!r} (allowed: "
                f"{', '.join(allowed) or 'none'})")
    if "ties" in params and params["ties"] not in TIE_METHODS:
        raise DefinitionError(f"{where}: ties = {params['ties']!r}; use {', '.join(TIE_METHODS)}")
    if "range" in params:
        bounds = params["range"]
        if (not isinstance(bounds, list) or len(bounds) != 2
                or not all(isinstance(b, int | float) for b in bounds) or bounds[0] >= bounds[1]):
            raise DefinitionError(f"{where}: range = [low, high] with low < high, e.g. [0, 100]")
    for key in ("mean", "sd", "scale", "dystopia", "utopia", "offset"):
        if key in params and not isinstance(params[key], int | float):
            raise DefinitionError(f"{where}: {key} = {params[key]!r} must be a number")
    if "offset" in params and not 0 <= params["offset"] < 1:
        raise DefinitionError(f"{where}: offset = {params['offset']} must be in [0, 1), e.g. "
                              "0.5 (rankit) or 0.375 (Blom)")
    if "clip" in params and not isinstance(params["clip"], bool):
        raise DefinitionError(f"{where}: clip = true or false")
    if ("dystopia" in params) != ("utopia" in params):
        raise DefinitionError(f"{where}: give both dystopia and utopia, or neither")
    return Normalisation(method, params)


def _node(table: _NodeKeys, where: str, parent: str | None, weight: float) -> Node:
    normalisation = None
    if table.normalisation is not None:
        normalisation = _normalisation(table.normalisation, where)
        given = normalisation.params
        if normalisation.method == "goalposts" and given.get("utopia", 0) == given.get(
                "dystopia", 1):
            raise DefinitionError(f"{where}: utopia and dystopia are equal")
    return Node(
        id=table.id, name=table.name or table.id, parent=parent, weight=weight,
        aggregation=table.aggregation, weighting=table.weighting, power=table.power,
        missing=table.missing, normalisation=normalisation,
    )


def _indicator(table: _IndicatorTable, where: str, root_id: str) -> Indicator:
    normalisation = _normalisation(table.normalisation, where)
    direction = table.direction
    goalposts: tuple[float, float] | None = None
    if (table.dystopia is None) != (table.utopia is None):
        raise DefinitionError(f"{where}: give both dystopia and utopia, or neither")
    if table.dystopia is not None and table.utopia is not None:
        goalposts = (table.dystopia, table.utopia)
    if normalisation.method == "goalposts":
        given = normalisation.params
        if "utopia" in given:
            if goalposts is not None:
                raise DefinitionError(f"{where}: goalposts given twice (in the normalisation and "
                                      "as dystopia/utopia keys): give them once")
            goalposts = (float(given["dystopia"]), float(given["utopia"]))
        if goalposts is None:
            raise DefinitionError(f"{where}: goalposts need both dystopia and utopia values")
    if goalposts is not None:
        dystopia, utopia = goalposts
        if utopia == dystopia:
            raise DefinitionError(f"{where}: utopia and dystopia are equal")
        if (utopia > dystopia) != (direction == "higher_is_better"):
            raise DefinitionError(
                f"{where}: utopia {utopia:g} is on the wrong side of dystopia {dystopia:g} "
                f"for direction {direction}")
    if table.winsorise is not None and not 0 <= table.winsorise[0] < table.winsorise[1] <= 1:
        raise DefinitionError(
            f"{where}: winsorise = [lower, upper] quantiles, e.g. [0.05, 0.95]")
    return Indicator(
        id=table.id, name=table.name or table.id, column=table.column,
        parent=table.parent or root_id, weight=table.weight, direction=direction,
        normalisation=normalisation, per=table.per, multiplier=table.multiplier,
        impute=table.impute, winsorise=table.winsorise, unit=table.unit, goalposts=goalposts,
    )


def parse_definition(
    document: dict[str, Any], data_dir: Path, path: Path | None = None, *,
    data_dir_only: bool = False,
) -> IndexDefinition:
    """Validate a parsed TOML document into an ``IndexDefinition``."""
    where = str(path or "definition")
    if "index" not in document:
        raise DefinitionError(f"{where}: missing the [index] table")
    if "data" not in document:
        raise DefinitionError(f"{where}: missing the [data] table (file and place column)")
    top = _validate(_Document, document, where)
    index = _validate(_IndexTable, top.index, f"{where} [index]")
    root = _node(index, f"{where} [index]", None, 1.0)
    nodes = []
    for raw in top.node:
        spot = f"{where} [[node]] {raw.get('id', '?') if isinstance(raw, dict) else '?'}"
        table = _validate(_NodeTable, raw, spot)
        nodes.append(_node(table, spot, table.parent or root.id, table.weight))
    indicators = []
    for raw in top.indicator:
        spot = f"{where} [[indicator]] {raw.get('id', '?') if isinstance(raw, dict) else '?'}"
        indicators.append(_indicator(_validate(_IndicatorTable, raw, spot), spot, root.id))
    ids = [root.id] + [n.id for n in nodes] + [i.id for i in indicators]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise DefinitionError(f"{where}: ids used twice: {', '.join(duplicates)}")
    node_ids = {root.id} | {n.id for n in nodes}
    items: list[Node | Indicator] = [*nodes, *indicators]
    for item in items:
        if item.parent not in node_ids:
            raise DefinitionError(
                f"{where}: {item.id} has parent {item.parent!r}, which is no node")
    if not indicators:
        raise DefinitionError(f"{where}: no [[indicator]] tables")

    data = _validate(_DataTable, top.data, f"{where} [data]")
    joins = tuple(
        (_resolve_file(j.file, data_dir, path, data_dir_only), j.place or data.place)
        for j in data.join
    )
    source = DataSource(
        file=_resolve_file(data.file, data_dir, path, data_dir_only), place=data.place,
        place_name=data.place_name, area=data.area, area_name=data.area_name, layer=data.layer,
        area_layer=data.area_layer, joins=joins,
    )
    population = None
    if top.population is not None:
        pop = _validate(_PopulationTable, top.population, f"{where} [population]")
        population = PopulationSource(
            file=_resolve_file(pop.file or data.file, data_dir, path, data_dir_only),
            place=pop.place or data.place, column=pop.column, scale=pop.scale)
    compare = PublishedColumns()
    if top.compare is not None:
        published = _validate(_CompareTable, top.compare, f"{where} [compare]")
        unknown = sorted(set(published.scores) - set(ids))
        if unknown:
            raise DefinitionError(f"{where} [compare]: scores of {', '.join(unknown)}, which are "
                                  "no node or indicator ids")
        compare = PublishedColumns(published.rank, published.decile, published.score,
                                   dict(published.scores), published.tolerance)
    sens = _validate(_SensitivityTable, top.sensitivity or {}, f"{where} [sensitivity]")
    try:
        sensitivity = Sensitivity(
            runs=sens.runs, seed=sens.seed, weights=sens.weights,
            concentration=sens.concentration, spread=sens.spread,
            normalisations=tuple(_normalisation(n, f"{where} [sensitivity]")
                                 for n in sens.normalisations),
            aggregations=tuple(sens.aggregations), imputations=tuple(sens.imputations),
            interval=sens.interval, factors=tuple(sens.factors), samples=sens.samples,
            weight_sets=sens.weight_sets, bootstrap=sens.bootstrap, confidence=sens.confidence,
        )
    except ValueError as error:
        raise DefinitionError(f"{where} [sensitivity]: {error}") from None
    return IndexDefinition(
        id=root.id, name=root.name, description=index.description, polarity=index.polarity,
        rank_1=index.rank_1, ties=index.ties, root=root, nodes=tuple(nodes),
        indicators=tuple(indicators), data=source, population=population, compare=compare,
        sensitivity=sensitivity, source=index.source, licence=index.licence,
        credit=index.credit, path=path,
    )
