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
