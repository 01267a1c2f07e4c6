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
