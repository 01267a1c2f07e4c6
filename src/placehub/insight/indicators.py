"""Indicators: definitions and values per place and layer, stored and imported from CSV.

An import either succeeds whole or writes nothing; its report lists every bad row and why.
Importing an indicator for a layer and period replaces its earlier values there.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, delete, insert, select, update

from placehub.access.service import Principal
from placehub.access.visibility import can_read_sources
from placehub.errors import BadRequest, NotFound
from placehub.insight.definition import DIRECTIONS
from placehub.insight.tables import indicator_values, indicators

INDICATOR_ID = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
DEFINITION_FIELDS = ("id", "name", "unit", "direction", "source", "licence", "period",
                     "description", "counts_people", "numerator", "denominator", "multiplier")


@dataclass(frozen=True)
class IndicatorDefinition:
    """What an indicator measures and where it comes from."""

    id: str
    name: str
    direction: str
    unit: str = ""
    source: str = ""
    licence: str = ""
    period: str = ""
    description: str = ""
    kind: str = "official"
    counts_people: bool = False
    derivation: dict[str, Any] | None = None
    #: A rate: the ids of its count indicators; published as the disclosed counts allow.
    numerator: str | None = None
    denominator: str | None = None
    multiplier: float = 1.0

    @property
    def is_rate(self) -> bool:
        return self.numerator is not None and self.denominator is not None

    def __post_init__(self) -> None:
        if not INDICATOR_ID.match(self.id):
            raise BadRequest(f"indicator id {self.id!r}: use lower-case letters, digits and _, "
                             "starting with a letter (e.g. no2_mean)")
        if self.direction not in DIRECTIONS:
            raise BadRequest(f"indicator {self.id}: direction {self.direction!r}; use "
                             f"{' or '.join(DIRECTIONS)}")
        if not self.name.strip():
            raise BadRequest(f"indicator {self.id}: give it a name")
        if (self.numerator is None) != (self.denominator is None):
            raise BadRequest(f"indicator {self.id}: a rate needs both numerator and denominator "
                             "(the ids of its count indicators)")
        if self.is_rate and self.counts_people:
            raise BadRequest(f"indicator {self.id}: a rate is not itself a count of people; "
                             "mark its numerator and denominator as counts instead")


@dataclass(frozen=True)
class IndicatorValue:
    """One value of one indicator for one place in one period."""

    indicator_id: str
    layer: str
    place_code: str
    period: str
    value: float | None
    denominator: float | None = None
    note: str | None = None


def published_openly(definition: IndicatorDefinition) -> bool:
    """May anyone see this indicator? Official (imported, published) statistics yes; a derived
    one only when it was computed from public sensors alone, since its values would otherwise
    reveal readings of organisation or restricted assets."""
    if definition.kind != "derived":
        return True
    return bool((definition.derivation or {}).get("public_only", False))


def readable_by(principal: Principal, definition: IndicatorDefinition) -> bool:
    """May ``principal`` see this indicator's values? Those published openly, yes; a derived
    one computed from non-public sensors only when it may read every Thing behind it (the
    ``sources`` its derivation recorded); one without that record only the local operator."""
    if published_openly(definition):
        return True
    sources = (definition.derivation or {}).get("sources")
    if sources is None:
        return principal.write_anywhere
    return can_read_sources(principal, ((int(o), str(v)) for o, v in sources))


def now() -> datetime:
    return datetime.now(UTC)


def save_definition(conn: Connection, definition: IndicatorDefinition) -> None:
    """Create an indicator, or update its description if it exists."""
    row = {
        "name": definition.name, "description": definition.description, "unit": definition.unit,
        "direction": definition.direction, "source": definition.source,
        "licence": definition.licence, "period": definition.period, "kind": definition.kind,
        "counts_people": definition.counts_people, "derivation": definition.derivation,
        "numerator": definition.numerator, "denominator": definition.denominator,
        "multiplier": definition.multiplier, "updated_at": now(),
    }
    exists = conn.execute(select(indicators.c.id).where(indicators.c.id == definition.id)).first()
    if exists:
        conn.execute(update(indicators).where(indicators.c.id == definition.id).values(**row))
    else:
        conn.execute(insert(indicators).values(id=definition.id, **row))


def _definition_from_row(row: RowMapping) -> IndicatorDefinition:
    return IndicatorDefinition(
        id=row["id"], name=row["name"], direction=row["direction"], unit=row["unit"],
        source=row["source"], licence=row["licence"], period=row["period"],
        description=row["description"], kind=row["kind"],
        counts_people=bool(row["counts_people"]), derivation=row["derivation"],
        numerator=row["numerator"], denominator=row["denominator"],
        multiplier=float(row["multiplier"] if row["multiplier"] is not None else 1.0),
    )


def list_definitions(conn: Connection) -> list[IndicatorDefinition]:
    """Every indicator, by id."""
    rows = conn.execute(select(indicators).order_by(indicators.c.id)).mappings()
    return [_definition_from_row(r) for r in rows]


def get_definition(conn: Connection, indicator_id: str) -> IndicatorDefinition:
    """One indicator; NotFound names the command that lists them."""
    row = conn.execute(select(indicators).where(indicators.c.id == indicator_id)).mappings().first()
    if row is None:
        raise NotFound(f"no indicator {indicator_id!r}: see 'placehub indicators list'")
    return _definition_from_row(row)


def clear_values(conn: Connection, indicator_id: str, layer: str, period: str) -> None:
    """Remove an indicator's values for a layer and period (before a full recomputation)."""
    conn.execute(delete(indicator_values).where(and_(
        indicator_values.c.indicator_id == indicator_id,
        indicator_values.c.layer == layer, indicator_values.c.period == period)))


def replace_values(conn: Connection, values: Sequence[IndicatorValue]) -> int:
    """Store values, replacing those of the same indicator, layer and period; return the count."""
    keys = {(v.indicator_id, v.layer, v.period) for v in values}
    for indicator_id, layer, period in keys:
        clear_values(conn, indicator_id, layer, period)
    stamp = now()
    rows = [{"indicator_id": v.indicator_id, "layer": v.layer, "place_code": v.place_code,
             "period": v.period, "value": v.value, "denominator": v.denominator,
             "note": v.note, "updated_at": stamp} for v in values]
    for start in range(0, len(rows), 5000):
        conn.execute(insert(indicator_values), rows[start:start + 5000])
    return len(rows)


def values_for_place(conn: Connection, layer: str, place_code: str) -> list[IndicatorValue]:
    """All values of every indicator for one place, newest period last."""
    rows = conn.execute(
        select(indicator_values)
        .where(indicator_values.c.layer == layer, indicator_values.c.place_code == place_code)
        .order_by(indicator_values.c.indicator_id, indicator_values.c.period)
    ).mappings()
    return [_value_from_row(r) for r in rows]


def values_for_layer(conn: Connection, layer: str, indicator_id: str | None = None
                     ) -> list[IndicatorValue]:
    """All values in a layer (optionally of one indicator), for district comparisons."""
    query = select(indicator_values).where(indicator_values.c.layer == layer)
    if indicator_id is not None:
        query = query.where(indicator_values.c.indicator_id == indicator_id)
    return [_value_from_row(r) for r in conn.execute(query).mappings()]


def values_for_indicator(conn: Connection, indicator_id: str) -> list[IndicatorValue]:
    """All values of one indicator in every layer and period."""
    query = select(indicator_values).where(indicator_values.c.indicator_id == indicator_id)
    return [_value_from_row(r) for r in conn.execute(query).mappings()]


def _value_from_row(row: RowMapping) -> IndicatorValue:
    return IndicatorValue(row["indicator_id"], row["layer"], row["place_code"], row["period"],
                          row["value"], row["denominator"], row["note"])


# ---------------------------------------------------------------- CSV import


@dataclass
class ImportReport:
    """What an import did, or every reason it refused to."""

    rows: int = 0
    values: int = 0
    indicators: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_definitions_csv(text: str) -> tuple[list[IndicatorDefinition], list[str]]:
    """Indicator definitions from CSV (columns id, name, direction, unit, source, licence,
    period, description, counts_people, and for a rate numerator, denominator, multiplier);
    also the list of bad rows."""
    definitions: list[IndicatorDefinition] = []
    errors: list[str] = []
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"id", "name", "direction"} - set(reader.fieldnames or [])
    if missing:
        return [], [f"definitions file: missing column(s) {', '.join(sorted(missing))}"]
    for line, row in enumerate(reader, start=2):
        try:
            definitions.append(IndicatorDefinition(
                id=row["id"].strip(), name=row["name"].strip(),
                direction=row["direction"].strip(), unit=(row.get("unit") or "").strip(),
                source=(row.get("source") or "").strip(),
                licence=(row.get("licence") or "").strip(),
                period=(row.get("period") or "").strip(),
                description=(row.get("description") or "").strip(),
                counts_people=(row.get("counts_people") or "").strip().lower()
                in {"1", "true", "yes"},
                numerator=(row.get("numerator") or "").strip() or None,
                denominator=(row.get("denominator") or "").strip() or None,
                multiplier=float((row.get("multiplier") or "").strip() or 1.0),
            ))
        except ValueError:
            errors.append(f"definitions line {line}: multiplier {row.get('multiplier')!r} is "
                          "not a number")
        except BadRequest as error:
            errors.append(f"definitions line {line}: {error.message}")
    return definitions, errors


def parse_number(text: str) -> float | None:
    """A CSV cell as a number; blank or a suppression mark ("", "..", "*", "c", "x") is None."""
    cleaned = text.strip().replace(",", "")
    if cleaned.lower() in {"", "..", ".", "*", "c", "x", "na", "n/a", ":", "-"}:
        return None
    return float(cleaned)


def import_values_csv(
    conn: Connection,
    text: str,
    *,
    layer: str,
    place_column: str,
    period: str | None = None,
    columns: Iterable[str] | None = None,
    definitions: Iterable[IndicatorDefinition] = (),
) -> ImportReport:
    """Import a wide CSV (one row per place, one column per indicator) all or nothing.

    Indicator columns are ``columns`` or every column but the place column; each must be a known
    indicator or be defined in ``definitions``. ``period`` defaults to each indicator's period.
    """
    report = ImportReport()
    given = {d.id: d for d in definitions}
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    if place_column not in header:
        report.errors.append(f"no column {place_column!r} (the place codes); columns are "
                             f"{', '.join(header)}")
        return report
    chosen = list(columns) if columns else [c for c in header if c != place_column]
    for column in chosen:
        if column not in header:
            report.errors.append(f"no column {column!r} in the file")
    known = {d.id: d for d in list_definitions(conn)}
    for column in chosen:
        if column not in known and column not in given:
            report.errors.append(
                f"column {column!r} is no known indicator: define it first "
                "('placehub indicators define' or --definitions FILE.csv)")
    if report.errors:
        return report
    values: list[IndicatorValue] = []
    seen: set[str] = set()
    for line, row in enumerate(reader, start=2):
        report.rows += 1
        code = (row.get(place_column) or "").strip()
        if not code:
            report.errors.append(f"line {line}: no place code")
            continue
        if code in seen:
            report.errors.append(f"line {line}: place {code} appears twice")
            continue
        seen.add(code)
        for column in chosen:
            try:
                value = parse_number(row.get(column) or "")
            except ValueError:
                report.errors.append(f"line {line}: {column} = {row[column]!r} is not a number")
                continue
            definition = given.get(column) or known[column]
            if value is not None and not math.isfinite(value):
                report.errors.append(f"line {line}: {column} = {row[column]!r} is not a finite "
                                     "number")
                continue
            if value is not None and value < 0 and definition.counts_people:
                report.errors.append(f"line {line}: {column} = {row[column]!r} is negative, but "
                                     f"{column} counts people: give a count of 0 or more")
                continue
            values.append(IndicatorValue(column, layer, code,
                                         period if period is not None else definition.period,
                                         value))
    if report.errors:
        return report
    for definition in given.values():
        save_definition(conn, definition)
    report.values = replace_values(conn, values)
    report.indicators = chosen
    return report
