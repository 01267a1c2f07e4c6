"""The demand model: seeded, location- and weekday-dependent fill rates."""

from datetime import date, timedelta

import numpy as np

from placehub.rounds.demand import TOWN_CENTRES, BinSite, DemandModel, villages_from_osm

OAKHAM = TOWN_CENTRES["Oakham"]


def test_same_seed_same_fill_in_any_order() -> None:
    """A day's fill depends only on (seed, bin, date), not on the order of the questions."""
    site = BinSite(7, OAKHAM[0] + 0.001, OAKHAM[1])
    days = [date(2026, 11, 1) + timedelta(days=i) for i in range(10)]
    forward = [DemandModel(3).daily_fill(site, d) for d in days]
    backward = [DemandModel(3).daily_fill(site, d) for d in reversed(days)]
    assert forward == list(reversed(backward))
    assert forward != [DemandModel(4).daily_fill(site, d) for d in days]


def test_town_centre_fills_faster_than_rural(data_dir) -> None:  # type: ignore[no-untyped-def]
    """Town-centre bins fill faster on average than village and rural bins."""
    model = DemandModel(1, villages_from_osm(str(data_dir / "rutland" / "roads.osm.pbf")))
    centre = [BinSite(i, OAKHAM[0] + 0.0005 * (i % 5), OAKHAM[1]) for i in range(40)]
    rural = [BinSite(100 + i, -0.60 + 0.001 * i, 52.78) for i in range(40)]
    assert {model.setting(s) for s in centre} == {"town_centre"}
    assert {model.setting(s) for s in rural} == {"rural"}
    assert np.mean([model.base_rate(s) for s in centre]) > 3 * np.mean(
        [model.base_rate(s) for s in rural]
    )


def test_weekend_peak_in_town_centre() -> None:
    """Over many weeks, Saturdays in a town centre fill more than Tuesdays."""
    model = DemandModel(2)
    site = BinSite(1, OAKHAM[0], OAKHAM[1])
    start = date(2026, 1, 5)  # a Monday
    tuesdays = [model.daily_fill(site, start + timedelta(days=7 * w + 1)) for w in range(40)]
    saturdays = [model.daily_fill(site, start + timedelta(days=7 * w + 5)) for w in range(40)]
    assert np.mean(saturdays) > 1.2 * np.mean(tuesdays)


def test_flowerbeds_dry_faster_in_summer() -> None:
    """Net moisture change is more negative in July than in January."""
    model = DemandModel(1)
    july = [model.daily_drying(5, date(2026, 7, 1) + timedelta(days=i)) for i in range(60)]
    january = [model.daily_drying(5, date(2026, 1, 1) + timedelta(days=i)) for i in range(60)]
    assert np.mean(july) < np.mean(january)
