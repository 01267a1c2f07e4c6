"""Disclosure control for counts about people published for small areas.

The NHS Digital rule for sub-national figures: a count of 1 to 7 is suppressed, every other count
is rounded to the nearest 5. Choices made explicit here:

- 0 is published as 0 (a true zero is not suppressed under the rule, and rounding 0 gives 0);
- whole counts never fall half-way between multiples of 5, so "nearest" is unambiguous for them;
  a non-whole count (e.g. an estimate) is suppressed when it would round to 1-7 (0 < x < 7.5) and
  otherwise rounded half up (12.5 -> 15);
- negative counts and NaN are refused: they are data errors, not counts.

Rates follow their counts (``disclose_rate``), and secondary suppression (``protect_counts``)
keeps published totals from revealing suppressed cells.

Sensor data about council assets is not about people and is published as measured.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

SUPPRESSED = None
#: What a suppressed value is written as in CSV exports.
SUPPRESSED_MARK = "*"
SUPPRESS_UP_TO = 7
ROUND_TO = 5


def disclose_count(count: float | int | None) -> int | None:
    """The publishable form of a count of people: None when suppressed, else a multiple of 5."""
    if count is None:
        return None
    value = float(count)
    if math.isnan(value) or value < 0:
        raise ValueError(f"{count!r} is not a count of people: counts are 0 or more")
    if value == 0:
        return 0
    if value < SUPPRESS_UP_TO + 0.5:
        return SUPPRESSED
    return int(math.floor(value / ROUND_TO + 0.5) * ROUND_TO)


def disclosure_note() -> str:
    """The rule in one sentence, for export footers and API responses."""
    return (f"Counts of people: 1-{SUPPRESS_UP_TO} suppressed ({SUPPRESSED_MARK}), others rounded "
            f"to the nearest {ROUND_TO}; 0 shown as 0 (NHS Digital rule for small areas).")


# ---------------------------------------------------------------- rates


def disclose_rate(numerator: int | None, denominator: int | None,
                  multiplier: float = 1.0) -> float | None:
    """A rate as published: from the *disclosed* numerator and denominator, or suppressed.

    A rate is suppressed when either count is suppressed or missing, or the denominator is 0;
    otherwise it is ``numerator / denominator x multiplier`` of the published (rounded) counts,
    so it tells no more than the counts beside it (a rate from the exact counts would undo
    their rounding, and one beside a suppressed count would reveal it).
    """
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator * multiplier


# ---------------------------------------------------------------- secondary suppression
#
# Primary suppression hides counts of 1-7, but a published total minus the published cells
# gives the sum of the suppressed ones, and with their bounds (1-7) a suppressed cell can be
# narrowed or recovered. Secondary suppression hides further cells until no suppressed cell can
# be narrowed to an interval narrower than the rounding base, as an attacker would compute it.
#
# The attacker (stronger than a real one, so protection against it is protection in fact):
# knows the rule, knows which suppressed cells are primary (1-7) and which secondary (0 or more),
# knows each published count c is the true count rounded to the nearest 5 (c - 2 .. c + 2 for
# whole counts; a published 0 is exact), and knows every additive relation total = sum of parts
# that holds on the true counts. The feasible interval of each suppressed cell is the minimum
# and maximum of a linear programme over those constraints (SciPy's HiGHS; for whole counts the
# bounds are rounded inwards to whole numbers). A cell is protected when max - min >= 5.
#
# The method is a simple protective rule, greedy and audited: while some suppressed cell is not
# protected, suppress the smallest non-zero published count in the relations linked to it
# (through it or other suppressed cells: the least information lost), then audit again. A zero
# is suppressed only when nothing else is left around the cell.

PROTECTION_WIDTH = ROUND_TO


@dataclass(frozen=True)
class Relation:
    """An additive relation on the true counts: ``total`` = sum of ``parts``."""

    total: Hashable
    parts: tuple[Hashable, ...]


@dataclass
class ProtectedCounts:
    """Counts as published after primary and secondary suppression."""

    published: dict[Hashable, int | None]
    primary: set[Hashable] = field(default_factory=set)
    secondary: set[Hashable] = field(default_factory=set)

    def suppressed(self, key: Hashable) -> bool:
        return key in self.primary or key in self.secondary


def holding_relations(counts: Mapping[Hashable, float | None],
                      relations: Iterable[Relation]) -> list[Relation]:
    """The relations that hold exactly on the true counts (only those help an attacker)."""
    found = []
    for relation in relations:
        members = (relation.total, *relation.parts)
        if not relation.parts or any(counts.get(m) is None for m in members):
            continue
        values = [float(counts[m] or 0.0) for m in members]
        if abs(values[0] - sum(values[1:])) < 1e-6:
            found.append(relation)
    return found


def feasible_ranges(protected: ProtectedCounts, relations: Sequence[Relation],
                    whole: bool = True) -> dict[Hashable, tuple[float, float]]:
    """The interval an attacker can narrow each suppressed cell to (see the module notes)."""
    cells = sorted({m for r in relations for m in (r.total, *r.parts)}, key=repr)
    position = {cell: i for i, cell in enumerate(cells)}
    half = ROUND_TO // 2 if whole else ROUND_TO / 2
    low_primary = 1.0 if whole else 0.0
    high_primary = float(SUPPRESS_UP_TO) if whole else SUPPRESS_UP_TO + 0.5
    bounds: list[tuple[float | None, float | None]] = []
    for cell in cells:
        if cell in protected.primary:
            bounds.append((low_primary, high_primary))
        elif cell in protected.secondary:
            bounds.append((0.0, None))
        else:
            value = protected.published.get(cell)
            if value is None:
                bounds.append((0.0, None))  # missing: anything
            elif value == 0:
                bounds.append((0.0, 0.0))
            else:
                bounds.append((max(0.0, value - half), value + half))
    equalities = np.zeros((len(relations), len(cells)))
    for row, relation in enumerate(relations):
        equalities[row, position[relation.total]] += 1.0
        for part in relation.parts:
            equalities[row, position[part]] -= 1.0
    ranges: dict[Hashable, tuple[float, float]] = {}
    for cell in cells:
        if not protected.suppressed(cell):
            continue
        ends = []
        for sign in (1.0, -1.0):
            objective = np.zeros(len(cells))
            objective[position[cell]] = sign
            solved = linprog(objective, A_eq=equalities, b_eq=np.zeros(len(relations)),
                             bounds=bounds, method="highs")
            if solved.status == 3:  # unbounded above
                ends.append(math.inf if sign < 0 else -math.inf)
            elif not solved.success:
                raise ValueError(f"disclosure audit failed for {cell!r}: {solved.message}")
            else:
                ends.append(sign * float(solved.fun))
        low, high = ends[0], ends[1]
        if whole:
            low = float(math.ceil(low - 1e-7))
            high = float(math.floor(high + 1e-7)) if math.isfinite(high) else high
        ranges[cell] = (low, high)
    return ranges


def unprotected(protected: ProtectedCounts, relations: Sequence[Relation],
                whole: bool = True) -> list[Hashable]:
    """Suppressed cells an attacker can narrow below the rounding base, in a stable order."""
    ranges = feasible_ranges(protected, relations, whole)
    return sorted((cell for cell, (low, high) in ranges.items()
                   if high - low < PROTECTION_WIDTH), key=repr)


def protect_counts(counts: Mapping[Hashable, float | None],
                   relations: Iterable[Relation] = ()) -> ProtectedCounts:
    """Primary suppression and rounding of every count, then secondary suppression so that no
    suppressed cell can be narrowed below the rounding base through ``relations``."""
    published = {key: disclose_count(value) for key, value in counts.items()}
    protected = ProtectedCounts(
        published, primary={k for k, v in counts.items() if v is not None and published[k] is None})
    holding = holding_relations(counts, relations)
    involved = {m for r in holding for m in (r.total, *r.parts)}
    if not holding or not (protected.primary & involved):
        return protected
    whole = all(float(v).is_integer() for v in counts.values() if v is not None)
    while True:
        failing = unprotected(protected, holding, whole)
        if not failing:
            return protected
        cell = failing[0]
        linked = _linked_cells(cell, holding, protected)
        candidates = sorted(
            (m for m in linked
             if not protected.suppressed(m) and published.get(m) not in (None, 0)),
            key=lambda m: (float(counts[m] or 0.0), repr(m)))
        if not candidates:  # nothing but zeros left around it: hide a zero
            candidates = sorted((m for m in linked if not protected.suppressed(m)
                                 and published.get(m) is not None), key=repr)
            if not candidates:
                raise ValueError(f"cannot protect {cell!r}: every related cell is suppressed")
        chosen = candidates[0]
        protected.secondary.add(chosen)
        published[chosen] = None


def _linked_cells(cell: Hashable, relations: Sequence[Relation],
                  protected: ProtectedCounts) -> set[Hashable]:
    """Cells of the relations reachable from ``cell`` through suppressed cells: the places a
    further suppression can widen its interval."""
    seen_cells, frontier, found = {cell}, [cell], set()
    while frontier:
        current = frontier.pop()
        for relation in relations:
            members = (relation.total, *relation.parts)
            if current not in members:
                continue
            for member in members:
                found.add(member)
                if protected.suppressed(member) and member not in seen_cells:
                    seen_cells.add(member)
                    frontier.append(member)
    return found
