"""Disclosure control: suppress 1-7, round the rest to the nearest 5, 0 stays 0."""

from __future__ import annotations

import pytest

from placehub.insight.disclosure import disclose_count


@pytest.mark.parametrize(("count", "published"), [
    (0, 0),      # a true zero is published
    (1, None),   # lowest suppressed count
    (7, None),   # highest suppressed count
    (8, 10),     # first published count rounds up to 10
    (12, 10),    # 12 is nearer 10 than 15
    (13, 15),    # 13 is nearer 15
    (15, 15), (1296, 1295), (1298, 1300),
])
def test_boundary_values(count: int, published: int | None) -> None:
    """The boundary values of the rule give the published figure (None = suppressed)."""
    assert disclose_count(count) == published


@pytest.mark.parametrize(("count", "published"), [
    (7.4, None), (7.5, 10), (12.5, 15), (17.5, 20), (0.2, None),
])
def test_non_whole_counts_suppress_below_7_5_and_round_halves_up(
        count: float, published: int | None) -> None:
    """An estimate rounding to 1-7 is suppressed; a half between multiples of 5 rounds up."""
    assert disclose_count(count) == published


def test_missing_stays_missing_and_negative_is_refused() -> None:
    """None passes through; a negative or NaN count is a data error."""
    assert disclose_count(None) is None
    with pytest.raises(ValueError, match="not a count"):
        disclose_count(-1)
    with pytest.raises(ValueError, match="not a count"):
        disclose_count(float("nan"))


# ---------------------------------------------------------------- rates and secondary suppression

from itertools import product  # noqa: E402

from placehub.insight.disclosure import (  # noqa: E402
    ProtectedCounts,
    Relation,
    disclose_rate,
    feasible_ranges,
    protect_counts,
)


def test_a_rate_follows_its_counts() -> None:
    """A rate beside a suppressed count is suppressed; otherwise it is computed from the
    disclosed counts (1/15 is never published as 0.067)."""
    assert disclose_rate(disclose_count(1), disclose_count(15)) is None
    assert disclose_rate(disclose_count(12), disclose_count(4), None) is None  # type: ignore[arg-type]
    assert disclose_rate(disclose_count(12), disclose_count(0)) is None
    assert disclose_rate(disclose_count(12), disclose_count(148), 1000) == pytest.approx(
        10 / 150 * 1000)


def attack(published: dict[str, int | None], protected: ProtectedCounts,
           base: list[str], totals: dict[str, list[str]]) -> dict[str, set[int]]:
    """Recover suppressed cells by subtraction: try every whole-number value of the base cells
    that fits what is published (rounded counts +-2, primary 1-7, secondary 0-40) and keep the
    assignments whose totals also fit; return each suppressed cell's possible values."""
    def options(cell: str) -> range:
        if cell in protected.primary:
            return range(1, 8)
        if cell in protected.secondary:
            return range(0, 41)
        value = published[cell]
        assert value is not None
        return range(max(0, value - 2), value + 3) if value else range(0, 1)

    def fits(cell: str, value: int) -> bool:
        return value in options(cell)

    possible: dict[str, set[int]] = {c: set() for c in published
                                     if protected.suppressed(c)}
    for values in product(*(options(c) for c in base)):
        cells = dict(zip(base, values, strict=True))
        for total, parts in totals.items():  # totals in order: inner ones first
            cells[total] = sum(cells[p] for p in parts)
        if all(fits(total, cells[total]) for total in totals):
            for cell in possible:
                possible[cell].add(cells[cell])
    return possible


def test_the_reported_ward_leak_is_closed_by_secondary_suppression() -> None:
    """A ward of 13 with LSOAs 6, 7, 0, 0: without secondary suppression the two suppressed
    LSOAs are narrowed to 6 or 7 by subtraction; with it, each could be anything from 1 to 7."""
    counts = {"ward": 13, "a": 6, "b": 7, "c": 0, "d": 0}
    relation = Relation("ward", ("a", "b", "c", "d"))
    primary_only = ProtectedCounts({k: disclose_count(v) for k, v in counts.items()},
                                   primary={"a", "b"})
    leaked = attack(primary_only.published, primary_only, ["a", "b", "c", "d"],
                    {"ward": ["a", "b", "c", "d"]})
    assert leaked["a"] == {6, 7} and leaked["b"] == {6, 7}
    protected = protect_counts(counts, [relation])
    assert protected.secondary == {"ward"} and protected.published["ward"] is None
    safe = attack(protected.published, protected, ["a", "b", "c", "d"],
                  {"ward": ["a", "b", "c", "d"]})
    assert safe["a"] == set(range(1, 8)) and safe["b"] == set(range(1, 8))
    # The audit's linear programme agrees with the brute force.
    ranges = feasible_ranges(protected, [relation])
    assert ranges["a"] == (1, 7)


def test_two_levels_of_totals_cannot_narrow_a_suppressed_cell() -> None:
    """District = wards, ward = LSOAs: after protection, every suppressed cell keeps at least
    five possible values under a brute-force subtraction attack, and primary cells are 1-7."""
    counts = {"a": 3, "b": 0, "c": 0, "d": 9, "e": 30, "w1": 3, "w2": 39, "district": 42}
    relations = [Relation("w1", ("a", "b", "c")), Relation("w2", ("d", "e")),
                 Relation("district", ("w1", "w2"))]
    protected = protect_counts(counts, relations)
    assert protected.primary == {"a", "w1"}
    assert protected.secondary  # the published district total alone would narrow w1 to 1-4
    possible = attack(protected.published, protected, ["a", "b", "c", "d", "e"],
                      {"w1": ["a", "b", "c"], "w2": ["d", "e"], "district": ["w1", "w2"]})
    for cell, values in possible.items():
        assert max(values) - min(values) >= 5 - 1, (cell, sorted(values))
        assert counts[cell] in values  # the truth is among them: the audit assumed nothing false
    assert len(possible["a"]) >= 5


def test_relations_that_do_not_hold_are_ignored() -> None:
    """A ward total that is not the sum of the LSOAs given (boundaries that do not nest) adds
    no constraint and causes no secondary suppression."""
    counts = {"ward": 40, "a": 6, "b": 7}
    protected = protect_counts(counts, [Relation("ward", ("a", "b"))])
    assert protected.secondary == set() and protected.published["ward"] == 40
