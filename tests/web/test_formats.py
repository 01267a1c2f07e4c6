"""The GOV.UK forms of dates, times, counts and tags used by every page."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from placehub.web.formats import govuk_datetime, plural, tag_class
from placehub.web.templating import environment


@pytest.mark.parametrize(("value", "style", "expected"), [
    # Winter: London is on GMT.
    (datetime(2026, 12, 7, 15, 5, tzinfo=UTC), "datetime", "7 December 2026 at 3:05pm"),
    # Summer: BST, an hour ahead of UTC, and the date turns over before UTC's does.
    (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), "datetime", "1 July 2026 at 12:30am"),
    (datetime(2026, 6, 1, 11, 0, tzinfo=UTC), "time", "midday"),
    (datetime(2026, 1, 1, 0, 0, tzinfo=UTC), "time", "midnight"),
    (datetime(2026, 1, 1, 9, 0, tzinfo=UTC), "time", "9am"),
    (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "short", "29 Mar 2026, 12:59am"),
    (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "short", "29 Mar 2026, 2am"),  # clocks go forward
    (datetime(2026, 12, 7, 15, 5), "date", "7 December 2026"),  # naive: taken as UTC
    ("2026-07-04T08:15:00+00:00", "datetime", "4 July 2026 at 9:15am"),
    ("2026-11-23", "datetime", "23 November 2026"),
    (date(2026, 2, 1), "datetime", "1 February 2026"),
    (None, "datetime", "never"),
])
def test_govuk_datetime_writes_london_times_the_govuk_way(value: object, style: str,
                                                          expected: str) -> None:
    """Dates and times come out in Europe/London as the GOV.UK style guide writes them."""
    assert govuk_datetime(value, style) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("count", "noun", "expected"), [
    (1, "reading", "1 reading"), (0, "reading", "0 readings"), (12, "litter bin", "12 litter bins"),
    (2, "property", "2 properties"), (3, "air quality station", "3 air quality stations"),
    (2, "batch", "2 batches"), (2, "day", "2 days"), (1500, "hour", "1,500 hours"),
])
def test_plural_agrees_with_the_count(count: int, noun: str, expected: str) -> None:
    """Counts agree with their noun: "1 reading", "12 litter bins", "2 properties"."""
    assert plural(count, noun) == expected


def test_filters_and_tag_macro_in_templates() -> None:
    """Templates reach the filters; the tag macro colours severities and statuses."""
    template = environment.from_string(
        '{% import "macros.html" as ph %}{{ n | plural("litter bin") }} · '
        '{{ when | govuk_datetime }} · {{ ph.tag("critical") }} {{ ph.tag("acknowledged") }}')
    html = template.render(n=12, when=datetime(2026, 12, 7, 9, 30, tzinfo=UTC))
    assert "12 litter bins · 7 December 2026 at 9:30am" in html
    assert '<strong class="govuk-tag govuk-tag--red">Critical</strong>' in html
    assert '<strong class="govuk-tag govuk-tag--yellow">Acknowledged</strong>' in html
    assert tag_class("no-such-status") == "govuk-tag--grey"
