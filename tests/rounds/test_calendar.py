"""The council's calendar: bank holidays and events raise forecasts and are divided out of rates."""

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from placehub.rounds.calendar import (
    DemandCalendar,
    Event,
    bank_holidays_england,
    bank_holidays_from_govuk,
    read_events,
)
from placehub.rounds.forecast import LITTER_BIN, AssetHistory, PlacehubForecaster, Reading

# The fake clock: Thursday 2 April 2026, 06:00; Good Friday is the next day.
NOW = datetime(2026, 4, 2, 6, 0, tzinfo=UTC)
DAY = timedelta(days=1)
GOOD_FRIDAY = date(2026, 4, 3)


def steady_bin(rate: float, days: int = 10, surge: dict[date, float] | None = None
               ) -> AssetHistory:
    """A bin read every 6 hours up to NOW, filling at ``rate`` a day (times ``surge`` on its
    days), never emptied."""
    start = NOW - days * DAY
    level, readings = 0.0, [Reading(start, 0.0)]
    for i in range(1, days * 4 + 1):
        when = start + i * DAY / 4
        level += rate / 4 * (surge or {}).get((when - DAY / 8).date(), 1.0)
        readings.append(Reading(when, level))
    return AssetHistory(1, LITTER_BIN, readings)


def test_england_bank_holidays_include_easter_2026() -> None:
    """The holidays package gives England's Good Friday and Easter Monday 2026, not Scotland's."""
    found = bank_holidays_england(date(2026, 3, 1), date(2026, 8, 31))
    assert {GOOD_FRIDAY, date(2026, 4, 6), date(2026, 5, 4), date(2026, 8, 31)} <= found
    assert date(2026, 8, 3) not in found  # Scotland's summer bank holiday


def test_govuk_bank_holidays_json() -> None:
    """GOV.UK's bank-holidays.json is read for England and Wales; another file is refused."""
    text = json.dumps({"england-and-wales": {"division": "england-and-wales", "events": [
        {"title": "Good Friday", "date": "2026-04-03", "notes": "", "bunting": False}]},
        "scotland": {"division": "scotland", "events": []}})
    assert bank_holidays_from_govuk(text) == {GOOD_FRIDAY}
    with pytest.raises(ValueError, match="bank-holidays.json"):
        bank_holidays_from_govuk('{"events": []}')


def test_events_file(tmp_path: Path) -> None:
    """An events CSV gives dated events with factors (a default when none); a bad date is an
    error naming the line."""
    good = tmp_path / "events.csv"
    good.write_text("date,place,factor,title\n2026-04-11,Oakham,3,Fair\n2026-04-12,Uppingham,,"
                    "Market\n", encoding="utf-8")
    assert read_events(good, default_factor=2.0) == [
        Event(date(2026, 4, 11), "Oakham", 3.0, "Fair"),
        Event(date(2026, 4, 12), "Uppingham", 2.0, "Market")]
    bad = tmp_path / "bad.csv"
    bad.write_text("date,place,factor\n11/04/2026,Oakham,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        read_events(bad)


def test_calendar_factors_by_place_and_setting() -> None:
    """Busy bins get the bank-holiday factor, others half the extra; events only their place."""
    calendar = DemandCalendar(frozenset({GOOD_FRIDAY}), 1.6,
                              (Event(date(2026, 4, 11), "Oakham", 2.5),))
    assert calendar.factor(GOOD_FRIDAY, "Oakham", busy=True) == pytest.approx(1.6)
    assert calendar.factor(GOOD_FRIDAY, "Oakham", busy=False) == pytest.approx(1.3)
    assert calendar.factor(date(2026, 4, 11), "Oakham") == 2.5
    assert calendar.factor(date(2026, 4, 11), "Uppingham") == 1.0
    assert calendar.factors("Uppingham", True, date(2026, 4, 1), date(2026, 4, 30)) == {
        GOOD_FRIDAY: pytest.approx(1.6)}


def test_planted_holiday_raises_the_forecast() -> None:
    """A known bank holiday tomorrow raises the expected level and the overflow risk by the end
    of it; the same bin without the calendar is forecast as an ordinary day."""
    plain = steady_bin(0.15, days=4)
    known = replace(plain, demand_factors={GOOD_FRIDAY: 2.0})
    until = datetime(2026, 4, 3, 23, 0, tzinfo=UTC)
    forecaster = PlacehubForecaster()
    without = forecaster.forecast(plain, NOW, until)
    with_calendar = forecaster.forecast(known, NOW, until)
    # The holiday's 23 hours until ``until`` add another 0.14 of capacity; the rate is unchanged.
    assert with_calendar.expected_level - without.expected_level == pytest.approx(0.144,
                                                                                  abs=0.02)
    assert with_calendar.rate_per_day == pytest.approx(without.rate_per_day)
    assert with_calendar.probability > without.probability + 0.2
    lo, hi = with_calendar.interval or (0, 0)
    assert hi - lo > (without.interval[1] - without.interval[0])  # type: ignore[index]


def test_known_past_surge_is_divided_out_of_the_rate() -> None:
    """An event day that filled a bin 2.5 times faster, known to the calendar, does not raise
    its estimated rate; unknown, it does."""
    event = (NOW - 2 * DAY).date()
    surged = steady_bin(0.1, surge={event: 2.5})
    forecaster = PlacehubForecaster()
    unknown = forecaster.forecast(surged, NOW, NOW + DAY)
    known = forecaster.forecast(replace(surged, demand_factors={event: 2.5}), NOW, NOW + DAY)
    assert known.rate_per_day == pytest.approx(0.1, abs=0.01)
    assert unknown.rate_per_day > known.rate_per_day + 0.01


def test_plans_read_the_councils_calendar(tmp_path: Path) -> None:
    """The settings' events file and bank holidays reach each bin of the event's settlement (and
    busy bins on bank holidays) as known surge days; a broken events file is a 400 naming it."""
    from placehub.assets.history import Asset
    from placehub.config import load_settings
    from placehub.errors import BadRequest
    from placehub.rounds.service import apply_calendar, calendar_from_settings

    events = tmp_path / "events.csv"
    events.write_text("date,place,factor,title\n2026-04-04,Oakham,3,Fair\n", encoding="utf-8")
    settings = load_settings({}, rounds_events_file=str(events))
    calendar = calendar_from_settings(settings, date(2026, 3, 1), date(2026, 4, 30))

    def bin_in(settlement: str, setting: str) -> Asset:
        return Asset(1, "bin", 1, LITTER_BIN, -0.72, 52.67,
                     {"settlement": settlement, "setting": setting},
                     AssetHistory(1, LITTER_BIN, []))

    oakham, village = bin_in("Oakham", "town_centre"), bin_in("Exton", "village")
    apply_calendar([oakham, village], calendar, NOW)
    assert oakham.history.demand_factors == {GOOD_FRIDAY: 1.5, date(2026, 4, 4): 3.0,
                                             date(2026, 4, 6): 1.5}
    assert village.history.demand_factors == {GOOD_FRIDAY: 1.25, date(2026, 4, 6): 1.25}
    events.write_text("date,place\nnext Friday,Oakham\n", encoding="utf-8")
    with pytest.raises(BadRequest, match="events.csv line 2"):
        calendar_from_settings(settings, date(2026, 3, 1), date(2026, 4, 30))
