"""What is published of an indicator: disclosure control across layers, and rates from counts.

Counts of people are rounded and suppressed by the NHS Digital rule, then secondarily
suppressed where a published total (a ward's count) and the published cells inside it (its
LSOAs) would let a suppressed cell be narrowed (``disclosure.protect_counts``). Which places lie
inside which comes from the places concern (``PlaceDirectory.contained``); only relations that
hold exactly on the stored counts are used, since only those help an attacker. A rate declared
with its numerator and denominator is published from their disclosed counts.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection

from placehub.insight import indicators as store
from placehub.insight.disclosure import Relation, disclose_rate, protect_counts
from placehub.insight.indicators import IndicatorDefinition
from placehub.insight.layers import layer_aliases


class Containment(Protocol):
    """Which places of one layer lie inside a place of another (``PlaceDirectory`` has it)."""

    def contained(self, conn: Connection, inner: str, outer: str, code: str) -> list[str]: ...


@dataclass(frozen=True)
class Published:
    """One value as published: None when suppressed or missing."""

    layer: str
    place: str
    period: str
    value: float | None
    suppressed: bool


def _contained(conn: Connection, places: Containment, inner: str, outer: str,
               code: str) -> list[str]:
    for inner_alias in layer_aliases(inner):
        for outer_alias in layer_aliases(outer):
            found = places.contained(conn, inner_alias, outer_alias, code)
            if found:
                return found
    return []


def count_relations(conn: Connection, places: Containment,
                    values: dict[tuple[str, str], float | None]) -> list[Relation]:
    """total = sum of parts relations between the layers holding values of one count: for each
    place of a layer, the places of every smaller layer (more places) that lie inside it."""
    by_layer: dict[str, set[str]] = {}
    for layer, code in values:
        by_layer.setdefault(layer, set()).add(code)
    relations = []
    for outer, outer_codes in by_layer.items():
        for inner, inner_codes in by_layer.items():
            if inner == outer or len(inner_codes) <= len(outer_codes):
                continue
            for code in sorted(outer_codes):
                parts = [c for c in _contained(conn, places, inner, outer, code)
                         if c in inner_codes]
                if parts:
                    relations.append(Relation((outer, code), tuple((inner, p) for p in parts)))
    return relations


def published_counts(conn: Connection, places: Containment, indicator_id: str,
                     period: str) -> dict[Hashable, int | None]:
    """Every layer's disclosed values of a count indicator for one period, keyed (layer, code),
    with secondary suppression across the layers."""
    values: dict[tuple[str, str], float | None] = {
        (v.layer, v.place_code): v.value
        for v in store.values_for_indicator(conn, indicator_id) if v.period == period}
    relations = count_relations(conn, places, values) if len(
        {layer for layer, _ in values}) > 1 else []
    return protect_counts(values, relations).published  # type: ignore[arg-type]


def published_values(conn: Connection, places: Containment, definition: IndicatorDefinition,
                     layer: str) -> list[Published]:
    """An indicator's values in ``layer`` as anyone may see them: counts of people disclosed
    (with secondary suppression), rates from their disclosed counts, the rest as stored."""
    values = sorted(store.values_for_layer(conn, layer, definition.id),
                    key=lambda v: (v.period, v.place_code))
    cache: dict[tuple[str, str], dict[Hashable, int | None]] = {}

    def counts(indicator_id: str, period: str) -> dict[Hashable, int | None]:
        if (indicator_id, period) not in cache:
            cache[indicator_id, period] = published_counts(conn, places, indicator_id, period)
        return cache[indicator_id, period]

    found = []
    for v in values:
        if definition.is_rate:
            assert definition.numerator is not None and definition.denominator is not None
            numerator = counts(definition.numerator, v.period).get((layer, v.place_code))
            denominator = counts(definition.denominator, v.period).get((layer, v.place_code))
            rate = disclose_rate(numerator, denominator, definition.multiplier)
            found.append(Published(layer, v.place_code, v.period, rate,
                                   v.value is not None and rate is None))
        elif definition.counts_people and v.value is not None:
            shown = counts(definition.id, v.period).get((layer, v.place_code))
            found.append(Published(layer, v.place_code, v.period,
                                   None if shown is None else float(shown), shown is None))
        else:
            found.append(Published(layer, v.place_code, v.period, v.value, False))
    return found
