"""Forecasts of assets against their lines, as the forecast alerts read them."""

from datetime import UTC, datetime, timedelta

import numpy as np

from placehub.alerts.rules import forecast_decision
from placehub.assets.forecasting import crossing_of
from placehub.assets.history import Asset
from placehub.rounds.forecast import LITTER_BIN, AssetHistory, Reading

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
EVERY = timedelta(hours=3)


def bin_read(levels: list[float], last: datetime) -> Asset:
    """A litter bin whose sensor read ``levels`` every 3 hours up to ``last``; no emptying was
    recorded."""
    start = last - EVERY * (len(levels) - 1)
    readings = [Reading(start + k * EVERY, level) for k, level in enumerate(levels)]
    return Asset(1, "Litter bin 001", 1, LITTER_BIN, -0.72, 52.67, {},
                 AssetHistory(1, LITTER_BIN, readings))


def test_an_unrecorded_emptying_does_not_confirm_an_overflow_alert() -> None:
    """A bin at 90% emptied without a record: the forecast at the fall keeps the riskier
    reading but rests on the reading before it, so the alert rule (70% to open, confirmed by
    a newer reading) opens nothing; the next low reading brings the forecast down."""
    rng = np.random.default_rng(3)
    # Three days at 30% a day from an emptying, with 1-point noise, up to about 90% three
    # hours before NOW; emptied then, read at 4% at NOW and 6% three hours later.
    climb = [min(0.3 * k / 8 + rng.normal(0, 0.01), 0.95) for k in range(25)]
    asset = bin_read([*climb, 0.04, 0.06], NOW + EVERY)
    before, at_fall, after = (crossing_of(asset, at, at + timedelta(hours=24))
                              for at in (NOW - EVERY, NOW, NOW + EVERY))

    assert before.probability >= 0.7 and before.newest_reading == NOW - EVERY
    assert at_fall.probability >= 0.7 and at_fall.need.rests_on == NOW - EVERY
    assert at_fall.newest_reading == NOW - EVERY
    assert after.probability < 0.4 and after.newest_reading == NOW + EVERY
    active, pending = False, None
    for crossing in (before, at_fall, after):
        newest = crossing.newest_reading
        active, pending = forecast_decision(active, crossing.probability,
                                            newest.timestamp() if newest else None,
                                            pending, 0.7, 0.4, confirm=True)
        assert not active
