"""Ward and LSOA profiles: indicators, indices and assets of one place beside its district.

A profile gathers, for one place of a layer: every indicator value (official and
sensor-derived) with the district's median and mean of the same indicator in the same layer and
period; each configured index (the place's own score, rank and decile, or for a larger place the
population-weighted average of the LSOAs in it) beside the district's; and the assets (Things)
in the place that the reader may see. Counts of people go through disclosure control, and every
export carries the credits of its sources.
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Connection, column, select, table
from sqlalchemy.exc import DBAPIError

from placehub import csv_cells
from placehub.access.service import Principal
from placehub.access.visibility import visible_clause
from placehub.attribution import credits_for
from placehub.errors import NotFound
from placehub.insight import indicators as store
from placehub.insight.definition import load_definition
from placehub.insight.derive import SENSOR_CREDIT
from placehub.insight.disclosure import SUPPRESSED_MARK, disclosure_note
from placehub.insight.index import IndexResult, result_with_population
from placehub.insight.layers import layer_aliases, same_layer
from placehub.insight.publishing import Containment, Published, published_values
from placehub.sta.tables import things


@dataclass(frozen=True)
class PlaceInfo:
    """A place as the places concern holds it."""

    layer: str
    code: str
    name: str
    geometry: dict[str, Any] | None = None


class PlaceDirectory(Protocol):
    """What profiles need to know about places (the places concern's tables in the hub)."""

    def place(self, conn: Connection, layer: str, code: str) -> PlaceInfo | None: ...

    def codes(self, conn: Connection, layer: str) -> list[str]: ...

    def things_in(self, conn: Connection, layer: str, code: str) -> list[int]: ...

    def contained(self, conn: Connection, inner: str, outer: str, code: str) -> list[str]:
        """Codes of the ``inner`` layer's places that lie in place ``code`` of ``outer``."""
        ...


_layers = table("place_layers", column("id"), column("name"))
_places = table("places", column("id"), column("layer_id"), column("code"), column("name"),
                column("geometry"))
_thing_places = table("thing_places", column("thing_id"), column("layer_id"),
                      column("place_id"))


class PlacesTables:
    """Reads the places concern's tables by name; a hub without them has no places yet."""

    def _rows(self, conn: Connection, query: Any) -> list[Any]:
        try:
            with conn.begin_nested():
                return list(conn.execute(query))
        except DBAPIError:
            return []  # the places tables are not there (places not loaded / not migrated)

    def place(self, conn: Connection, layer: str, code: str) -> PlaceInfo | None:
        rows = self._rows(conn, select(_places.c.code, _places.c.name, _places.c.geometry)
                          .join(_layers, _layers.c.id == _places.c.layer_id)
                          .where(_layers.c.name == layer, _places.c.code == code))
        if not rows:
            return None
        geometry = rows[0].geometry
        if isinstance(geometry, str):
            import json

            geometry = json.loads(geometry)
        return PlaceInfo(layer, rows[0].code, rows[0].name, geometry)

    def codes(self, conn: Connection, layer: str) -> list[str]:
        rows = self._rows(conn, select(_places.c.code).join(
            _layers, _layers.c.id == _places.c.layer_id).where(_layers.c.name == layer))
        return [r.code for r in rows]

    def things_in(self, conn: Connection, layer: str, code: str) -> list[int]:
        rows = self._rows(conn, select(_thing_places.c.thing_id)
                          .join(_places, _places.c.id == _thing_places.c.place_id)
                          .join(_layers, _layers.c.id == _thing_places.c.layer_id)
                          .where(_layers.c.name == layer, _places.c.code == code))
        return [int(r.thing_id) for r in rows]

    def contained(self, conn: Connection, inner: str, outer: str, code: str) -> list[str]:
        """Inner places whose representative point lies in the outer place (Shapely)."""
        outer_place = self.place(conn, outer, code)
        if outer_place is None or outer_place.geometry is None:
            return []
        from shapely.geometry import shape
        from shapely.prepared import prep

        boundary = shape(outer_place.geometry)
        container = prep(boundary)
        min_x, min_y, max_x, max_y = boundary.bounds
        bbox = table("places", column("code"), column("geometry"), column("layer_id"),
                     column("min_x"), column("min_y"), column("max_x"), column("max_y"))
        rows = self._rows(conn, select(bbox.c.code, bbox.c.geometry)
                          .join(_layers, _layers.c.id == bbox.c.layer_id)
                          .where(_layers.c.name == inner, bbox.c.max_x >= min_x,
                                 bbox.c.min_x <= max_x, bbox.c.max_y >= min_y,
                                 bbox.c.min_y <= max_y))
        inside = []
        for row in rows:
            geometry = row.geometry
            if isinstance(geometry, str):
                import json

                geometry = json.loads(geometry)
            if container.contains(shape(geometry).representative_point()):
                inside.append(row.code)
        return sorted(inside)


@dataclass
class ProfileIndicator:
    """One indicator for the place, beside the district."""

    id: str
    name: str
    kind: str
    unit: str
    direction: str
    period: str
    value: float | None
    suppressed: bool
    district_median: float | None
    district_mean: float | None
    district_places: int
    source: str
    licence: str
    note: str | None = None


@dataclass
class ProfileIndex:
    """A composite index for the place, beside the district."""

    id: str
    name: str
    basis: str
    score: float | None
    rank: int | None
    decile: int | None
    places_ranked: int
    domains: dict[str, float]
    district: str
    district_median_score: float | None
    district_mean_score: float | None
    credit: str


@dataclass
class ProfileAsset:
    """An asset (Thing) in the place that the reader may see."""

    id: int
    name: str
    asset_type: str
    visibility: str


@dataclass
class Profile:
    """Everything published about one place."""

    layer: str
    code: str
    name: str
    geometry: dict[str, Any] | None
    indicators: list[ProfileIndicator] = field(default_factory=list)
    indices: list[ProfileIndex] = field(default_factory=list)
    assets: list[ProfileAsset] = field(default_factory=list)
    credits: list[str] = field(default_factory=list)
    disclosure: str = field(default_factory=disclosure_note)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _median_mean(values: Iterable[float | None]) -> tuple[float | None, float | None, int]:
    present = [v for v in values if v is not None and not np.isnan(v)]
    if not present:
        return None, None, 0
    return statistics.median(present), statistics.fmean(present), len(present)


def profile_indicators(conn: Connection, layer: str, code: str,
                       district_codes: set[str] | None, reader: Principal | None = None,
                       places: Containment | None = None) -> list[ProfileIndicator]:
    """The place's indicator values with the district median and mean (same layer and period);
    with a ``reader``, only those it may see (``indicators.readable_by``). Values are as
    published (``publishing.published_values``: counts disclosed with secondary suppression
    across layers when ``places`` knows which places lie inside which, rates from their counts).
    """
    definitions = {d.id: d for d in store.list_definitions(conn)}
    published: dict[str, dict[tuple[str, str], Published]] = {}
    found = []
    for value in store.values_for_place(conn, layer, code):
        definition = definitions[value.indicator_id]
        if reader is not None and not store.readable_by(reader, definition):
            continue
        if definition.id not in published:
            published[definition.id] = {
                (p.place, p.period): p
                for p in published_values(conn, places or _NoContainment(), definition, layer)}
        shown = published[definition.id]
        own = shown[(code, value.period)]
        # District figures come from published values, so a suppressed count cannot be
        # recovered by differencing the mean against the published others.
        median, mean, count = _median_mean(
            p.value for (place, period), p in shown.items()
            if period == value.period and (district_codes is None or place in district_codes))
        found.append(ProfileIndicator(
            definition.id, definition.name, definition.kind, definition.unit,
            definition.direction, value.period, own.value, own.suppressed, median, mean, count,
            definition.source, definition.licence, value.note))
    return found


class _NoContainment:
    """No places loaded: no relations between layers are known."""

    def contained(self, conn: Connection, inner: str, outer: str, code: str) -> list[str]:
        return []


def configured_indices(setting: str) -> list[str]:
    """Index names from the comma-separated ``insight_profile_indices`` setting."""
    return [name.strip() for name in str(setting).split(",") if name.strip()]


@lru_cache(maxsize=4)
def _index_result(name: str, data_dir: Path) -> tuple[IndexResult, np.ndarray]:
    return result_with_population(load_definition(name, data_dir))


def index_result(name: str, data_dir: Path) -> tuple[IndexResult, np.ndarray]:
    """A definition's computed index (cached per process; the inputs are files)."""
    return _index_result(name, data_dir.resolve())


def profile_index(name: str, data_dir: Path, layer: str, code: str, inner_codes: list[str]
                  ) -> ProfileIndex | None:
    """The index for the place: its own row, or the population-weighted mean of its LSOAs."""
    result, population = index_result(name, data_dir)
    definition = result.definition
    row_of = {c: i for i, c in enumerate(result.places)}
    own_layer = same_layer(layer, definition.data.layer)
    if own_layer:
        if code not in row_of:
            return None
        rows = [row_of[code]]
        basis = f"{layer} {code}"
    else:
        rows = [row_of[c] for c in inner_codes if c in row_of]
        if not rows:
            return None
        basis = (f"population-weighted average of the {len(rows)} "
                 f"{definition.data.layer} places in this {layer}")
    areas = np.array(result.areas)
    district = str(areas[rows[0]])
    in_district = np.flatnonzero(areas == district)
    weights = population[rows]
    if own_layer:
        score = float(result.score[rows[0]])
        rank = int(result.rank[rows[0]])
        decile = int(result.decile[rows[0]])
        domains = {i.id: float(result.scores[i.id][rows[0]]) for i in definition.indicators}
    else:
        usable = ~np.isnan(weights)
        w = weights[usable] if usable.any() else None
        chosen = np.array(rows)[usable] if usable.any() else np.array(rows)
        score = float(np.average(result.score[chosen], weights=w))
        rank, decile = None, None
        domains = {i.id: float(np.average(result.scores[i.id][chosen], weights=w))
                   for i in definition.indicators}
    return ProfileIndex(
        definition.id, definition.name, basis, score, rank, decile,
        int(np.count_nonzero(~np.isnan(result.rank))), domains,
        f"{definition.data.area_layer} {district} {result.area_names[in_district[0]]}",
        float(np.median(result.score[in_district])), float(np.mean(result.score[in_district])),
        definition.credit)


@dataclass
class AreaRank:
    """One small area's place in a composite index (e.g. an LSOA in the IoD 2019)."""

    code: str
    name: str
    score: float | None
    rank: int | None
    decile: int | None


def inner_ranks(conn: Connection, directory: PlaceDirectory, name: str, data_dir: Path,
                layer: str, code: str) -> tuple[list[AreaRank], int]:
    """The index's own places (e.g. LSOAs) inside place ``code`` of ``layer``, most deprived
    (rank 1) first, and how many places the index ranks in all."""
    index_layer = load_definition(name, data_dir).data.layer
    inner: list[str] = []
    for alias in layer_aliases(index_layer):
        inner = inner or directory.contained(conn, alias, layer, code)
    result, _ = index_result(name, data_dir)
    row_of = {c: i for i, c in enumerate(result.places)}

    def whole(value: float) -> int | None:
        return None if np.isnan(value) else int(value)

    found = [AreaRank(c, result.place_names[row_of[c]],
                      None if np.isnan(result.score[row_of[c]]) else float(result.score[row_of[c]]),
                      whole(result.rank[row_of[c]]), whole(result.decile[row_of[c]]))
             for c in inner if c in row_of]
    found.sort(key=lambda a: (a.rank is None, a.rank or 0))
    return found, int(np.count_nonzero(~np.isnan(result.rank)))


def build_profile(
    conn: Connection, directory: PlaceDirectory, principal: Principal, *, layer: str, code: str,
    data_dir: Path, index_names: Iterable[str] = ("iod2019",),
) -> Profile:
    """The profile of place ``code`` of ``layer``, as ``principal`` may see it."""
    info = None
    for alias in layer_aliases(layer):
        info = directory.place(conn, alias, code)
        if info is not None:
            break
    place_layer = info.layer if info is not None else layer
    district = set(directory.codes(conn, place_layer)) or None
    indicator_rows = [row for alias in layer_aliases(layer)
                      for row in profile_indicators(conn, alias, code, district, places=directory,
                                                    reader=principal)]
    indices = []
    for name in index_names:
        index_layer = load_definition(name, data_dir).data.layer
        inner: list[str] = []
        if info is not None and not same_layer(layer, index_layer):
            for alias in layer_aliases(index_layer):
                inner = inner or directory.contained(conn, alias, place_layer, code)
        found = profile_index(name, data_dir, layer, code, inner)
        if found is not None:
            indices.append(found)
    if info is None and not indicator_rows and not indices:
        raise NotFound(f"no place {code!r} in layer {layer!r}: check the code, or load the "
                       "layer's boundaries or indicators first")
    thing_ids = directory.things_in(conn, place_layer, code)
    assets = []
    if thing_ids:
        query = (select(things.c.id, things.c.name, things.c.properties, things.c.visibility)
                 .where(things.c.id.in_(thing_ids),
                        visible_clause(principal, things.c.organisation_id,
                                       things.c.visibility))
                 .order_by(things.c.id))
        for row in conn.execute(query):
            assets.append(ProfileAsset(row.id, row.name,
                                       str((row.properties or {}).get("asset_type", "")),
                                       row.visibility))
    credits: list[str] = []
    for item in indicator_rows:
        line = f"{item.name}: {item.source}" + (f" ({item.licence})" if item.licence else "")
        if item.source and line not in credits:
            credits.append(line)
    for index in indices:
        if index.credit and index.credit not in credits:
            credits.append(index.credit)
    if info is not None and info.geometry is not None:
        credits += [c for c in credits_for(data_dir, *(f"{a}.geojson" for a in layer_aliases(
            layer))) if c not in credits]
    if assets and SENSOR_CREDIT not in credits:
        credits.append(SENSOR_CREDIT)
    name = info.name if info else code
    return Profile(layer, code, name, info.geometry if info else None, indicator_rows, indices,
                   assets, credits)


def _cell(value: float | None, suppressed: bool = False) -> str:
    if suppressed:
        return SUPPRESSED_MARK
    if value is None:
        return ""
    return f"{value:.6g}"


def profile_csv(profile: Profile) -> str:
    """The profile as CSV: one row per indicator, index domain and asset; credits as rows."""
    out = io.StringIO()
    writer = csv_cells.writer(out)
    writer.writerow(["layer", "code", "section", "id", "name", "value", "unit", "period",
                     "district_median", "district_mean", "source"])
    base = [profile.layer, profile.code]
    for i in profile.indicators:
        writer.writerow(base + [f"indicator ({i.kind})", i.id, i.name,
                                _cell(i.value, i.suppressed), i.unit, i.period,
                                _cell(i.district_median), _cell(i.district_mean), i.source])
    for x in profile.indices:
        writer.writerow(base + ["index", x.id, f"{x.name} score ({x.basis})", _cell(x.score),
                                "", "", _cell(x.district_median_score),
                                _cell(x.district_mean_score), x.credit])
        for label, value in (("rank", x.rank), ("decile", x.decile)):
            writer.writerow(base + ["index", f"{x.id}_{label}", f"{x.name} {label}",
                                    "" if value is None else str(value), "", "", "", "",
                                    x.credit])
        for domain, score in x.domains.items():
            writer.writerow(base + ["index domain", f"{x.id}.{domain}", domain, _cell(score),
                                    "", "", "", "", x.credit])
    for a in profile.assets:
        writer.writerow(base + ["asset", str(a.id), a.name, a.asset_type, "", "", "", "",
                                SENSOR_CREDIT])
    for line in [profile.disclosure, *profile.credits]:
        writer.writerow(base + ["credit", "", line, "", "", "", "", "", ""])
    return out.getvalue()


def profile_geojson(profile: Profile) -> dict[str, Any]:
    """The profile as a GeoJSON Feature: the boundary, everything else in properties."""
    properties = profile.as_json()
    geometry = properties.pop("geometry")
    return {"type": "Feature", "id": f"{profile.layer}/{profile.code}", "geometry": geometry,
            "properties": properties}
