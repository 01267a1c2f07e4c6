"""Disclosure control for counts about people published for small areas.

The NHS Digital rule for sub-national figures: a count of 1 to 7 is suppressed, every other count
is rounded to the nearest 5. Choices made explicit here:

- 0 is published as 0 (a true zero is not suppressed under the rule, and rounding 0 gives 0);
- whole counts never fall half-way between multiples of 5, so "nearest" is unambiguous for them;
  a non-whole count (e.g. an estimate) is suppressed when it would round to 1-7 (0 < x < 7.5) and
  otherwise rounded half up (12.5 -> 15);
- negative counts and NaN are refused: they are data errors, not counts.

Sensor data about council assets is not about people and is published as measured.
"""

from __future__ import annotations

import math

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
