"""Loading a fetched area in one step: boundaries, postcodes, buildings, roads, indices.

Each step is the loader ``placehub load ...`` uses, so loading an area twice updates it in
place. The indices step stores the IoD 2019 of the area's LSOAs as official indicators: the
published IMD rank and decile, and the IMD score recomputed with the published method from
all of England's domain ranks (``placehub index build iod2019`` computes the same).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from placehub.area.files import AreaFiles
from placehub.db import Database
from placehub.errors import BadRequest
from placehub.insight.definition import load_definition
from placehub.insight.index import compute_index, load_place_table
from placehub.insight.indicators import (
    IndicatorDefinition,
    IndicatorValue,
    replace_values,
    save_definition,
)
from placehub.places.layers import (
    LoadReport,
    guess_property,
    load_boundaries,
    load_buildings,
    load_points_csv,
    read_geojson,
)
from placehub.places.roads import load_road_network

LOAD_STEPS = ("wards", "lsoas", "postcodes", "buildings", "roads", "indices")
IOD_PERIOD = "2019"
# (step, done, total): the CLI shows these as progress bars.
Progress = Callable[[str, int, int], None]


def _quiet(_step: str, _done: int, _total: int) -> None:
    pass


@dataclass
class LoadStep:
    """One step of an area load: how many things it loaded and what it noticed."""

    name: str
    loaded: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def layer_title(path: Path, layer: str) -> str:
    """'Wards (2013)' from the vintage in the code property (WD13CD), else 'Wards'."""
    features = read_geojson(path)
    code = guess_property((features[0].get("properties") or {}) if features else {}, "CD")
    year = re.search(r"(\d\d)CD$", code or "")
    label = "LSOAs" if layer == "lsoas" else layer.capitalize()
    return f"{label} (20{year.group(1)})" if year else label


def deprivation_indicators() -> list[IndicatorDefinition]:
    """The IoD 2019 figures stored per LSOA."""
    source = "English Indices of Deprivation 2019 (MHCLG)"
    return [
        IndicatorDefinition("imd2019_rank", "Index of Multiple Deprivation 2019: rank in England "
                            "(1 = most deprived of 32,844)", "higher_is_better",
                            source=source, licence="OGL v3", period=IOD_PERIOD),
        IndicatorDefinition("imd2019_decile", "Index of Multiple Deprivation 2019: decile "
                            "(1 = most deprived 10%)", "higher_is_better", source=source,
                            licence="OGL v3", period=IOD_PERIOD),
        IndicatorDefinition("imd2019_score", "Index of Multiple Deprivation 2019: score "
                            "(recomputed from the domain ranks with the published method)",
                            "higher_is_worse", source=source, licence="OGL v3",
                            period=IOD_PERIOD),
    ]


def deprivation_values(files: AreaFiles, lsoa_codes: Sequence[str]
                       ) -> tuple[list[IndicatorValue], list[str]]:
    """IoD 2019 indicator values of ``lsoa_codes`` (layer lsoas), and notes."""
    definition = load_definition("iod2019", files.data_dir)
    table = load_place_table(definition)
    result = compute_index(definition, table)
    position = {code: i for i, code in enumerate(result.places)}
    published_rank = table.column(definition.compare_rank or "")
    published_decile = table.column(definition.compare_decile or "")
    values: list[IndicatorValue] = []
    missing = []
    for code in lsoa_codes:
        at = position.get(code)
        if at is None:
            missing.append(code)
            continue
        for indicator, value in (("imd2019_rank", published_rank[at]),
                                 ("imd2019_decile", published_decile[at]),
                                 ("imd2019_score", result.score[at])):
            number = float(str(value).replace(",", ""))
            if not np.isnan(number):
                values.append(IndicatorValue(indicator, "lsoas", code, IOD_PERIOD, number))
    notes = [f"no IoD 2019 row for {len(missing)} LSOA(s): {', '.join(missing[:5])}"
             ] if missing else []
    exact = sum(1 for code in lsoa_codes if code in position and
                int(result.rank[position[code]]) == int(published_rank[position[code]]))
    found = len(lsoa_codes) - len(missing)
    if found:
        notes.append(f"recomputed IMD rank equals the published one for {exact} of {found}")
    return values, notes


def load_area(database: Database, files: AreaFiles, road_network_file: str | Path,
              *, skip: Sequence[str] = (), progress: Progress = _quiet) -> list[LoadStep]:
    """Load every fetched file of the area; returns one ``LoadStep`` per step run."""
    unknown = sorted(set(skip) - set(LOAD_STEPS))
    if unknown:
        raise BadRequest(f"unknown step {', '.join(unknown)}: steps are {', '.join(LOAD_STEPS)}")
    for needed in (files.wards, files.lsoas):
        if not needed.exists():
            raise BadRequest(f"no {needed}: run 'placehub area fetch {files.slug}' first")
    steps: list[LoadStep] = []

    def run(name: str, work: Callable[[LoadStep], None]) -> None:
        if name in skip:
            return
        step = LoadStep(name)
        started = time.perf_counter()
        work(step)
        step.seconds = time.perf_counter() - started
        steps.append(step)

    def from_report(step: LoadStep, report: LoadReport) -> None:
        step.loaded, step.skipped = report.loaded, report.skipped
        step.notes.extend(report.notes)

    def boundaries(layer: str, path: Path) -> Callable[[LoadStep], None]:
        def work(step: LoadStep) -> None:
            with database.begin() as conn:
                from_report(step, load_boundaries(
                    conn, path, layer, title=layer_title(path, layer),
                    progress=lambda d, t: progress(layer, d, t)))
        return work

    def postcodes(step: LoadStep) -> None:
        if not files.postcodes.exists():
            step.notes.append("no postcodes.csv fetched (fetch --only postcodes)")
            return
        with database.begin() as conn:
            from_report(step, load_points_csv(conn, files.postcodes, f"{files.slug}-postcodes",
                                              progress=lambda d, t: progress("postcodes", d, t)))

    def buildings(step: LoadStep) -> None:
        if not files.roads.exists():
            step.notes.append("no roads.osm.pbf fetched (fetch --only osm)")
            return
        with database.begin() as conn:
            from_report(step, load_buildings(conn, files.roads,
                                             progress=lambda d, t: progress("buildings", d, t)))

    def roads(step: LoadStep) -> None:
        if not files.roads.exists():
            step.notes.append("no roads.osm.pbf fetched (fetch --only osm)")
            return
        cache = Path(road_network_file)
        cache.unlink(missing_ok=True)  # loading an area always re-parses its roads
        progress("roads", 0, 1)
        network = load_road_network(files.roads, cache)
        progress("roads", 1, 1)
        step.loaded = network.edge_count
        step.notes.append(f"{network.node_count} nodes, {network.edge_count} edges, cached at "
                          f"{cache}")

    def indices(step: LoadStep) -> None:
        if not files.domain_ranks.exists():
            step.notes.append("no IoD 2019 files fetched (fetch --only iod)")
            return
        codes = [str((f.get("properties") or {}).get("LSOA11CD") or "")
                 for f in read_geojson(files.lsoas)]
        codes = [c for c in codes if c]
        if not codes:
            step.notes.append("the LSOA boundaries have no LSOA11CD: the IoD 2019 is on 2011 "
                              "LSOAs")
            return
        progress("indices", 0, 1)
        values, notes = deprivation_values(files, codes)
        with database.begin() as conn:
            for definition in deprivation_indicators():
                save_definition(conn, definition)
            replace_values(conn, values)
        progress("indices", 1, 1)
        step.loaded = len({v.place_code for v in values})
        step.notes.extend(notes)

    run("wards", boundaries("wards", files.wards))
    run("lsoas", boundaries("lsoas", files.lsoas))
    run("postcodes", postcodes)
    run("buildings", buildings)
    run("roads", roads)
    run("indices", indices)
    return steps
