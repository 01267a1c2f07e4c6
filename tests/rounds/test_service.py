"""Round planning service: where the fleet starts and empties."""

from placehub.config import load_settings
from placehub.rounds.service import fleet_from_settings


def test_fleet_takes_depot_and_tip_things_unless_settings_name_them() -> None:
    """The demo's depot and tip Things place the fleet; explicit settings still win."""
    sites = {"depot": (-0.7301, 52.6712), "tip": (-0.6402, 52.7123)}
    fleet = fleet_from_settings(load_settings({}), "waste", sites)
    assert fleet.vehicles[0].start == sites["depot"] and fleet.reload_point == sites["tip"]
    chosen = load_settings({"PLACEHUB_ROUNDS_TIP": "-0.70,52.68"})
    assert fleet_from_settings(chosen, "waste", sites).reload_point == (-0.70, 52.68)
    assert fleet_from_settings(chosen, "waste", sites).vehicles[0].start == sites["depot"]
    assert fleet_from_settings(load_settings({}), "waste").vehicles[0].start == (-0.7395, 52.6745)


def test_tomorrow_is_the_councils() -> None:
    """Tomorrow is taken in the council's time zone: at 23:30 UTC in July (00:30 BST) it is two
    UTC dates on; in December (GMT) one."""
    from datetime import UTC, date, datetime

    from placehub.rounds.service import tomorrow

    settings = load_settings({})
    assert tomorrow(settings, datetime(2026, 7, 14, 23, 30, tzinfo=UTC)) == date(2026, 7, 16)
    assert tomorrow(settings, datetime(2026, 7, 14, 22, 30, tzinfo=UTC)) == date(2026, 7, 15)
    assert tomorrow(settings, datetime(2026, 12, 14, 23, 30, tzinfo=UTC)) == date(2026, 12, 15)
