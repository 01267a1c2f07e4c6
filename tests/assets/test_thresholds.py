"""Thresholds: type defaults, organisation overrides, an asset's own, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from placehub.access.service import ensure_organisation
from placehub.assets.thresholds import (
    ThresholdBook,
    checked_value,
    clear_organisation_threshold,
    load_book,
    organisation_thresholds,
    set_organisation_threshold,
    silence_rule,
    thresholds_version,
    type_defaults,
)
from placehub.db import Database

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def test_type_defaults_say_where_they_come_from() -> None:
    """A bin is full at its full line, a bed dry at 20%, an air station silent after 3 h."""
    bin_ = type_defaults("litter_bin")
    assert (bin_.full, bin_.nearly_full, bin_.dry, bin_.silent_hours) == (1.0, 0.75, 20.0, 12.0)
    assert type_defaults("air_quality_station").silent_hours == 3.0
    assert set(bin_.sources.values()) == {"type default"}
    assert silence_rule() == "no reading for 12 h (air quality stations 3 h)"


def test_asset_overrides_organisation_overrides_type() -> None:
    """The asset's own value wins over its organisation's, which wins over the type's."""
    book = ThresholdBook({(7, "litter_bin"): {"full": 0.9, "silent_hours": 6.0}})
    mine = book.for_asset("litter_bin", 7, {"thresholds": {"full": 0.85}})
    assert (mine.full, mine.silent_hours, mine.nearly_full) == (0.85, 6.0, 0.75)
    assert mine.sources["full"] == "asset" and mine.sources["silent_hours"] == "organisation"
    other = book.for_asset("litter_bin", 8, {})
    assert (other.full, other.sources["full"]) == (1.0, "type default")


def test_watering_threshold_is_a_beds_dry_line_and_bad_values_are_named() -> None:
    """``watering_threshold`` sets ``dry``; an impossible value is ignored and said so."""
    bed = ThresholdBook().for_asset("flowerbed", None, {"watering_threshold": 22})
    assert bed.dry == 22.0 and bed.sources["dry"] == "asset"
    odd = ThresholdBook().for_asset("litter_bin", None, {"thresholds": {"full": "lots",
                                                                          "nearly_full": 0.5}})
    assert odd.full == 1.0 and odd.nearly_full == 0.5
    assert "must be a number" in odd.sources["ignored asset full"]


def test_one_book_resolves_each_asset_by_its_own_values() -> None:
    """The book shares resolved thresholds between assets with the same type, organisation and
    own values, and never mixes up values that compare equal (1 and True) or lists."""
    book = ThresholdBook({(7, "litter_bin"): {"full": 0.9}})
    plain = [book.for_asset("litter_bin", 7, {"dev_eui": str(n)}) for n in range(3)]
    assert plain[0] is plain[1] is plain[2] and plain[0].full == 0.9
    assert book.for_asset("litter_bin", 7, {"thresholds": {"full": 1}}).full == 1.0
    flagged = book.for_asset("litter_bin", 7, {"thresholds": {"full": True}})
    assert flagged.full == 0.9 and "ignored asset full" in flagged.sources
    assert book.for_asset("litter_bin", 8, {}).full == 1.0
    assert book.for_asset("flowerbed", 7, {}).full == 1.0
    listed = book.for_asset("litter_bin", 7, {"thresholds": {"full": [0.5]}})
    assert listed.full == 0.9 and "ignored asset full" in listed.sources


def test_nearly_full_never_above_full() -> None:
    """A full line set below the nearly-full one pulls nearly-full down with it."""
    low = ThresholdBook().for_asset("litter_bin", None, {"thresholds": {"full": 0.6}})
    assert (low.full, low.nearly_full) == (0.6, 0.6)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("fullness", 1, "unknown threshold 'fullness'"),
    ("full", 2.5, "outside (0, 1.1]"),
    ("dry", -1, "outside (0, 100]"),
    ("silent_hours", True, "must be a number"),
])
def test_checked_value_says_what_to_fix(name: str, value: object, message: str) -> None:
    """Unknown names, out-of-range and non-numeric values are refused with the reason."""
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        checked_value(name, value)


def test_organisation_thresholds_are_stored_listed_and_cleared(database: Database) -> None:
    """Setting twice replaces; the book reads it; clearing goes back to the default; the
    version changes with every change of content (so cached rules reload)."""
    with database.begin() as conn:
        org = ensure_organisation(conn, "rutland", "Rutland")
        before = thresholds_version(conn)
        set_organisation_threshold(conn, org, "litter_bin", "full", 0.8, NOW, "admin")
        set_organisation_threshold(conn, org, "litter_bin", "full", 0.9, NOW, "admin")
        after_set = thresholds_version(conn)
        with pytest.raises(ValueError, match="unknown asset type 'lamp'"):
            set_organisation_threshold(conn, org, "lamp", "full", 0.9, NOW)
    with database.connect() as conn:
        assert load_book(conn).for_asset("litter_bin", org, {}).full == 0.9
        assert [(r["name"], r["value"], r["updated_by"]) for r in organisation_thresholds(conn)
                ] == [("full", 0.9, "admin")]
    with database.begin() as conn:
        assert clear_organisation_threshold(conn, org, "litter_bin", "full")
        assert not clear_organisation_threshold(conn, org, "litter_bin", "full")
        assert before != after_set != thresholds_version(conn)
        assert load_book(conn).for_asset("litter_bin", org, {}).full == 1.0
