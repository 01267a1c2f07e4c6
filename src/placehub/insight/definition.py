"""Composite-index definition files (TOML): parsing and validation into plain dataclasses.

The format is documented key by key in docs/insight.md; shipped definitions live in
``placehub/insight/definitions/NAME.toml`` and are found by name.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from placehub.insight.methods import AGGREGATIONS, NORMALISERS, TIE_METHODS

DEFINITIONS_DIR = Path(__file__).with_name("definitions")
DIRECTIONS = ("higher_is_better", "higher_is_worse")
WEIGHTINGS = ("fixed", "equal", "pca")
MISSING_RULES = ("skip", "require")
IMPUTATIONS = ("none", "mean", "median", "group_mean")


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


@dataclass(frozen=True)
class Node:
    """An aggregate (component, dimension or the index itself) of its children."""

    id: str
    name: str
    parent: str | None
    weight: float
    aggregation: str = "arithmetic"
    weighting: str = "fixed"
    power: float = 1.0
    missing: str = "skip"


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
    """A population count per place, for population-weighted summaries of larger areas."""

    file: Path
    place: str
    column: str


@dataclass(frozen=True)
class Sensitivity:
    """What a sensitivity analysis varies, how many runs with which seed (the definition's
    [sensitivity] table gives the defaults of ``placehub index sensitivity``)."""

    runs: int = 200
    seed: int = 1
    weights: str = "dirichlet"
    concentration: float = 50.0
    spread: float = 0.25
    normalisations: tuple[Normalisation, ...] = ()
    aggregations: tuple[str, ...] = ()
    interval: tuple[float, float] = (5.0, 95.0)

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise ValueError(f"runs = {self.runs} not understood: give at least 1 run")
        if self.weights not in ("dirichlet", "uniform", "fixed"):
            raise ValueError(f"weights = {self.weights!r}: use dirichlet, uniform or fixed")
        if self.concentration <= 0:
            raise ValueError(f"concentration = {self.concentration}: must be above 0")
        if not 0 <= self.spread < 1:
            raise ValueError(f"spread = {self.spread}: must be at least 0 and below 1")
        low, high = self.interval
        if not 0 <= low <= high <= 100:
            raise ValueError(f"interval = {self.interval}: percentiles between 0 and 100")

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
    compare_rank: str | None
    compare_decile: str | None
    sensitivity: Sensitivity
    source: str = ""
    licence: str = ""
    credit: str = ""
    path: Path | None = None

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
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise DefinitionError(f"{path}: not valid TOML ({error})") from None
    return parse_definition(document, data_dir, path)


def _resolve_file(raw: str, data_dir: Path, definition_path: Path | None) -> Path:
    """Absolute paths as given; others under data_dir, else beside the definition file."""
    candidate = Path(raw).expanduser()
    if candidate.is_absolute():
        return candidate
    under_data = data_dir / candidate
    if under_data.exists() or definition_path is None:
        return under_data
    beside = definition_path.parent / candidate
    return beside if beside.exists() else under_data


def _choice(
    table: dict[str, Any], key: str, allowed: tuple[str, ...], default: str, where: str
) -> str:
    value = table.get(key, default)
    if value not in allowed:
        raise DefinitionError(
            f"{where}: {key} = {value!r} not understood; use {', '.join(allowed)}")
    return str(value)


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
    if method == "goalposts" and not {"dystopia", "utopia"} <= set(params):
        raise DefinitionError(f"{where}: goalposts need both dystopia and utopia values")
    if "ties" in params and params["ties"] not in TIE_METHODS:
        raise DefinitionError(f"{where}: ties = {params['ties']!r}; use {', '.join(TIE_METHODS)}")
    return Normalisation(method, params)


def _node(table: dict[str, Any], where: str, parent: str | None) -> Node:
    if "id" not in table:
        raise DefinitionError(f"{where}: every node needs an id")
    power = float(table.get("power", 1.0))
    return Node(
        id=str(table["id"]),
        name=str(table.get("name", table["id"])),
        parent=parent,
        weight=float(table.get("weight", 1.0)),
        aggregation=_choice(table, "aggregation", AGGREGATIONS, "arithmetic", where),
        weighting=_choice(table, "weighting", WEIGHTINGS, "equal", where),
        power=power,
        missing=_choice(table, "missing", MISSING_RULES, "skip", where),
    )


def parse_definition(
    document: dict[str, Any], data_dir: Path, path: Path | None = None
) -> IndexDefinition:
    """Validate a parsed TOML document into an ``IndexDefinition``."""
    where = str(path or "definition")
    index = document.get("index")
    if not isinstance(index, dict):
        raise DefinitionError(f"{where}: missing the [index] table")
    root = _node(index, f"{where} [index]", None)
    nodes = tuple(
        _node(t, f"{where} [[node]] {t.get('id', '?')}", str(t.get("parent", root.id)))
        for t in document.get("node", [])
    )
    indicators: list[Indicator] = []
    for table in document.get("indicator", []):
        spot = f"{where} [[indicator]] {table.get('id', '?')}"
        for key in ("id", "column"):
            if key not in table:
                raise DefinitionError(f"{spot}: needs {key}")
        winsor = table.get("winsorise")
        if winsor is not None and (not isinstance(winsor, list) or len(winsor) != 2):
            raise DefinitionError(
                f"{spot}: winsorise = [lower, upper] quantiles, e.g. [0.05, 0.95]")
        normalisation = _normalisation(table.get("normalisation", "min_max"), spot)
        direction = _choice(table, "direction", DIRECTIONS, "higher_is_better", spot)
        if normalisation.method == "goalposts":
            better = normalisation.params["utopia"] > normalisation.params["dystopia"]
            if better != (direction == "higher_is_better"):
                raise DefinitionError(
                    f"{spot}: utopia {normalisation.params['utopia']} is on the wrong side of "
                    f"dystopia {normalisation.params['dystopia']} for direction {direction}"
                )
        indicators.append(Indicator(
            id=str(table["id"]),
            name=str(table.get("name", table["id"])),
            column=str(table["column"]),
            parent=str(table.get("parent", root.id)),
            weight=float(table.get("weight", 1.0)),
            direction=direction,
            normalisation=normalisation,
            per=table.get("per"),
            multiplier=float(table.get("multiplier", 1.0)),
            impute=_choice(table, "impute", IMPUTATIONS, "none", spot),
            winsorise=(float(winsor[0]), float(winsor[1])) if winsor else None,
            unit=str(table.get("unit", "")),
        ))
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

    data = document.get("data")
    if not isinstance(data, dict) or "file" not in data or "place" not in data:
        raise DefinitionError(f"{where}: [data] needs file and place (the place code column)")
    joins = tuple(
        (_resolve_file(j["file"], data_dir, path), str(j.get("place", data["place"])))
        for j in data.get("join", [])
    )
    source = DataSource(
        file=_resolve_file(data["file"], data_dir, path),
        place=str(data["place"]),
        place_name=data.get("place_name"),
        area=data.get("area"),
        area_name=data.get("area_name"),
        layer=str(data.get("layer", "place")),
        area_layer=str(data.get("area_layer", "area")),
        joins=joins,
    )
    population = None
    if "population" in document:
        pop = document["population"]
        if "column" not in pop:
            raise DefinitionError(f"{where}: [population] needs column (the population count)")
        population = PopulationSource(
            file=_resolve_file(pop.get("file", data["file"]), data_dir, path),
            place=str(pop.get("place", data["place"])),
            column=str(pop["column"]),
        )
    compare = document.get("compare", {})
    sens = document.get("sensitivity", {})
    try:
        sensitivity = _sensitivity(sens, where)
    except ValueError as error:
        raise DefinitionError(f"{where} [sensitivity]: {error}") from None
    return IndexDefinition(
        id=root.id,
        name=root.name,
        description=str(index.get("description", "")),
        polarity=_choice(index, "polarity", DIRECTIONS, "higher_is_better", f"{where} [index]"),
        rank_1=_choice(index, "rank_1", ("highest", "lowest"), "highest", f"{where} [index]"),
        ties=_choice(index, "ties", TIE_METHODS, "min", f"{where} [index]"),
        root=root,
        nodes=nodes,
        indicators=tuple(indicators),
        data=source,
        population=population,
        compare_rank=compare.get("rank"),
        compare_decile=compare.get("decile"),
        sensitivity=sensitivity,
        source=str(index.get("source", "")),
        licence=str(index.get("licence", "")),
        credit=str(index.get("credit", "")),
        path=path,
    )


def _sensitivity(sens: dict[str, Any], where: str) -> Sensitivity:
    interval = sens.get("interval", [5, 95])
    return Sensitivity(
        runs=int(sens.get("runs", 200)),
        seed=int(sens.get("seed", 1)),
        weights=_choice(sens, "weights", ("dirichlet", "uniform", "fixed"), "dirichlet", where),
        concentration=float(sens.get("concentration", 50.0)),
        spread=float(sens.get("spread", 0.25)),
        normalisations=tuple(
            _normalisation(n, f"{where} [sensitivity]") for n in sens.get("normalisations", [])
        ),
        aggregations=tuple(
            _choice({"aggregation": a}, "aggregation", AGGREGATIONS, "arithmetic", where)
            for a in sens.get("aggregations", [])
        ),
        interval=(float(interval[0]), float(interval[1])),
    )
