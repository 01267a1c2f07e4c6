"""Air-quality statistics: hourly/daily means, capture rules, exceedance counts, ppb conversion."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from placehub.alerts import air_quality as aq


def test_hourly_means_average_sub_hourly_values_and_leave_gaps_empty() -> None:
    """Values within one UTC hour are averaged; hours without a value are NaN."""
    start = datetime(2021, 3, 1, tzinfo=UTC)
    t0 = start.timestamp()
    times = np.array([t0 + 60, t0 + 1800, t0 + 7200 + 5])
    values = np.array([10.0, 30.0, 50.0])
    hourly = aq.hourly_means(times, values, start, 4)
    assert hourly[0] == 20.0
    assert np.isnan(hourly[1])
    assert hourly[2] == 50.0
    assert np.isnan(hourly[3])


def test_daily_mean_needs_eighteen_hours() -> None:
    """A 24-hour mean is valid with 18 of 24 hours (75%) and missing with 17."""
    day_ok = np.full(24, 60.0)
    day_ok[:6] = np.nan
    day_short = np.full(24, 60.0)
    day_short[:7] = np.nan
    daily = aq.daily_means(np.concatenate([day_ok, day_short]))
    assert daily[0] == 60.0
    assert np.isnan(daily[1])


def test_exceeding_means_strictly_above_the_limit() -> None:
    """An hour at exactly 200 µg/m³ does not count; 200.1 does; 19 such hours fail the objective."""
    hourly = np.full(aq.hours_in_year(2023), 30.0)
    hourly[:50] = 200.0
    hourly[100:119] = 200.1
    stats = aq.pollutant_year("no2", 2023, hourly)
    assert stats.hours_above_200 == 19
    hourly_result = next(o for o in stats.objectives if o.kind == "hourly_exceedances")
    assert hourly_result.exceeded is True
    hourly[118] = 150.0
    assert next(o for o in aq.pollutant_year("no2", 2023, hourly).objectives
                if o.kind == "hourly_exceedances").exceeded is False


def test_pm10_days_above_fifty_and_thirty_five_allowed() -> None:
    """36 days with a 24-hour mean above 50 fail the PM10 objective; 35 pass."""
    hourly = np.full(aq.hours_in_year(2022), 20.0)
    for day in range(36):
        hourly[day * 24:(day + 1) * 24] = 55.0
    stats = aq.pollutant_year("pm10", 2022, hourly)
    assert stats.days_above_50 == 36
    assert next(o for o in stats.objectives if o.kind == "daily_exceedances").exceeded is True
    hourly[35 * 24:36 * 24] = 20.0
    stats = aq.pollutant_year("pm10", 2022, hourly)
    assert stats.days_above_50 == 35
    assert next(o for o in stats.objectives if o.kind == "daily_exceedances").exceeded is False


def test_low_capture_makes_annual_mean_indicative() -> None:
    """80% capture is indicative at Defra's 85% but not at the objectives' 75%."""
    hourly = np.full(aq.hours_in_year(2021), 45.0)
    hourly[: int(0.2 * len(hourly))] = np.nan
    defra = aq.pollutant_year("no2", 2021, hourly)
    assert defra.data_capture == pytest.approx(0.8, abs=1e-3)
    annual = next(o for o in defra.objectives if o.kind == "annual_mean")
    assert annual.indicative and annual.exceeded and "indicative" in annual.note
    lenient = aq.pollutant_year("no2", 2021, hourly, capture_threshold=0.75)
    assert not next(o for o in lenient.objectives if o.kind == "annual_mean").indicative


def test_pm25_is_compared_with_the_limit_and_the_interim_and_final_targets() -> None:
    """An 11 µg/m³ PM2.5 annual mean meets the 20 limit and the 2028 interim target (12) but
    not 2040's (10); 20.5 breaks all three."""
    stats = aq.pollutant_year("pm2_5", 2024, np.full(aq.hours_in_year(2024), 11.0))
    outcome = {o.limit: o.exceeded for o in stats.objectives}
    assert outcome == {20.0: False, 12.0: False, 10.0: True}
    high = aq.pollutant_year("pm2_5", 2024, np.full(aq.hours_in_year(2024), 20.5))
    assert {o.limit: o.exceeded for o in high.objectives} == {20.0: True, 12.0: True,
                                                               10.0: True}
    assert high.pollutant_name == "Fine particulate matter (PM2.5)"
    assert all(o.pollutant_name == high.pollutant_name for o in high.objectives)


def test_below_the_capture_floor_no_verdict_is_given() -> None:
    """0.5% capture of an NO2 level far above 40 gives a mean but no verdict, with the reason;
    30% capture (above the 25% floor) gives an indicative verdict."""
    hourly = np.full(aq.hours_in_year(2023), np.nan)
    hourly[:44] = 90.0  # 44 of 8,760 hours: 0.5%
    stats = aq.pollutant_year("no2", 2023, hourly)
    assert stats.data_capture == pytest.approx(0.005, abs=1e-4)
    for outcome in stats.objectives:
        assert outcome.exceeded is None
        assert "no verdict" in outcome.note and "25%" in outcome.note
    annual = next(o for o in stats.objectives if o.kind == "annual_mean")
    assert annual.value == 90.0
    hourly[: int(0.3 * len(hourly))] = 90.0
    judged = aq.pollutant_year("no2", 2023, hourly)
    annual = next(o for o in judged.objectives if o.kind == "annual_mean")
    assert annual.exceeded is True and annual.indicative


def test_a_proven_exceedance_count_is_a_verdict_at_any_capture() -> None:
    """19 hours above 200 ug/m3 break the NO2 hourly objective (18 allowed) even at 1% capture:
    more data can only add exceedances, so the count is proven; the annual mean stays unjudged."""
    hourly = np.full(aq.hours_in_year(2023), np.nan)
    hourly[:88] = 30.0  # 1% capture
    hourly[:19] = 250.0
    stats = aq.pollutant_year("no2", 2023, hourly)
    by_kind = {o.kind: o for o in stats.objectives}
    assert by_kind["hourly_exceedances"].exceeded is True
    assert by_kind["hourly_exceedances"].value == 19
    assert by_kind["annual_mean"].exceeded is None


def test_a_floor_above_the_threshold_is_refused() -> None:
    """A capture floor above the indicative threshold makes no sense and is refused."""
    with pytest.raises(ValueError, match="capture floor"):
        aq.pollutant_year("no2", 2023, np.full(aq.hours_in_year(2023), 5.0),
                          capture_threshold=0.75, capture_floor=0.8)


def test_monthly_capture_counts_hours_with_data() -> None:
    """Monthly capture is hours with data over hours in each month."""
    hourly = np.full(aq.hours_in_year(2021), 5.0)
    hourly[: 31 * 24 // 2] = np.nan  # half of January missing
    stats = aq.pollutant_year("no2", 2021, hourly)
    assert stats.monthly_capture[0] == pytest.approx(0.5, abs=0.01)
    assert stats.monthly_capture[1:] == [1.0] * 11


def test_ppb_conversion_uses_defra_factor() -> None:
    """NO2: 1 ppb is 1.91 µg/m³; an unknown pollutant is refused with a message."""
    assert aq.ppb_to_ugm3("no2", 100.0) == pytest.approx(191.0)
    with pytest.raises(ValueError, match="no ppb"):
        aq.ppb_to_ugm3("pm10", 1.0)
