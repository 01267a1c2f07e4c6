"""The rule engine with a controllable clock: every rule kind, hold-off, auto-resolve, episodes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update

from placehub.alerts.clock import FakeClock
from placehub.alerts.engine import RuleEngine
from placehub.alerts.sources import FrameCounters
from placehub.alerts.store import override_rule
from placehub.alerts.tables import alert_events, alert_rule_states, alerts
from placehub.assets.forecasting import Crossing
from placehub.db import Database
from placehub.rounds.forecast import Need
from placehub.sta.tables import (
    historical_locations,
    location_historical_locations,
    locations,
    thing_locations,
    things,
)

from .conftest import START, Post, make_asset


def alerts_of(database: Database, key: str | None = None) -> list[Any]:
    """All alerts (optionally of one rule key), oldest first."""
    query = select(alerts).order_by(alerts.c.id)
    if key:
        query = query.where(alerts.c.rule_key == key)
    with database.connect() as conn:
        return list(conn.execute(query))


def test_threshold_held_for_a_duration_opens_once_and_resolves_after_hold_off(
        database: Database, engine: RuleEngine, post: Post) -> None:
    """Bin at its full line for 30 min opens one alert; more readings add none; clear 1 h resolves
    it."""
    _, streams = make_asset(database, "litter_bin", ["fill_level"])
    fill = streams["fill_level"]
    post(fill, (0, 80.0), (10, 100.0), (20, 101.0))
    assert alerts_of(database, "bin_full") == []  # above, but not yet for 30 minutes
    post(fill, (40, 103.0))
    (alert,) = alerts_of(database, "bin_full")
    assert alert.status == "open" and alert.value == 103.0
    assert alert.condition_since == START + timedelta(minutes=10)
    post(fill, (50, 105.0), (60, 107.0))
    assert len(alerts_of(database, "bin_full")) == 1  # same episode: no second alert
    post(fill, (70, 20.0))  # emptied, but the hold-off (1 h) has not passed
    assert alerts_of(database, "bin_full")[0].status == "open"
    post(fill, (140, 22.0))
    (alert,) = alerts_of(database, "bin_full")
    assert alert.status == "resolved" and alert.resolution == "auto"


def test_flapping_sensor_keeps_one_alert(database: Database, engine: RuleEngine,
                                         post: Post) -> None:
    """A reading that dips below and back above within the hold-off keeps the same alert."""
    _, streams = make_asset(database, "litter_bin", ["fill_level"])
    fill = streams["fill_level"]
    post(fill, (0, 103.0), (31, 104.0))
    for minute in range(40, 200, 10):  # alternating every 10 minutes
        post(fill, (minute, 50.0 if minute % 20 else 104.0))
    (alert,) = alerts_of(database, "bin_full")
    assert alert.status == "open"
    with database.connect() as conn:
        actions = [r.action for r in conn.execute(
            select(alert_events.c.action).where(alert_events.c.alert_id == alert.id))]
    assert actions.count("opened") == 1 and "condition_returned" in actions


def test_new_episode_after_resolution_opens_a_new_alert(database: Database, engine: RuleEngine,
                                                        post: Post) -> None:
    """After an alert resolved, a new breach is a new episode with a new alert."""
    _, streams = make_asset(database, "litter_bin", ["fill_level"])
    fill = streams["fill_level"]
    post(fill, (0, 103.0), (30, 103.0), (40, 10.0), (110, 10.0))
    post(fill, (200, 103.0), (240, 104.0))
    statuses = [a.status for a in alerts_of(database, "bin_full")]
    assert statuses == ["resolved", "open"]


def test_manual_resolve_does_not_reopen_within_the_episode(
        database: Database, engine: RuleEngine, post: Post, clock: FakeClock) -> None:
    """Resolved by hand while still breaching: later readings of that episode open nothing."""
    from placehub.alerts.lifecycle import resolve

    _, streams = make_asset(database, "litter_bin", ["fill_level"])
    fill = streams["fill_level"]
    post(fill, (0, 103.0), (30, 104.0))
    (alert,) = alerts_of(database, "bin_full")
    from .conftest import WRITER
    with database.begin() as conn:
        resolve(conn, WRITER, alert.id, clock.now(), "emptying booked")
    post(fill, (45, 105.0), (60, 106.0))
    assert [a.status for a in alerts_of(database, "bin_full")] == ["resolved"]


def test_threshold_below_for_flowerbed(database: Database, engine: RuleEngine,
                                       post: Post) -> None:
    """Soil moisture below 15% for 2 h opens "Flowerbed dry"."""
    _, streams = make_asset(database, "flowerbed", ["soil_moisture"])
    post(streams["soil_moisture"], (0, 14.0), (60, 13.5))
    assert alerts_of(database, "soil_dry") == []
    post(streams["soil_moisture"], (120, 13.0))
    assert [a.severity for a in alerts_of(database, "soil_dry")] == ["warning"]


def test_held_breach_fires_on_the_timer_without_new_readings(
        database: Database, engine: RuleEngine, post: Post, clock: FakeClock) -> None:
    """A breach that started and then went quiet still fires once its duration passes."""
    _, streams = make_asset(database, "litter_bin", ["fill_level"])
    post(streams["fill_level"], (0, 103.0))
    engine.tick()
    assert alerts_of(database, "bin_full") == []
    clock.advance(timedelta(minutes=31))
    engine.tick()
    engine.tick()
    assert len(alerts_of(database, "bin_full")) == 1


def test_rate_of_change(database: Database, engine: RuleEngine, post: Post) -> None:
    """Bin temperature rising 20 °C in 30 min (40 °C/h) is a critical alert; steady clears."""
    _, streams = make_asset(database, "litter_bin", ["temperature"])
    temp = streams["temperature"]
    post(temp, (0, 18.0), (30, 19.0))
    assert alerts_of(database, "bin_fire") == []
    post(temp, (60, 39.0))
    (alert,) = alerts_of(database, "bin_fire")
    assert alert.severity == "critical" and alert.value == 40.0
    post(temp, (90, 39.5), (150, 39.0))
    assert alerts_of(database, "bin_fire")[0].status == "resolved"


def test_battery_low_by_voltage_and_percent_is_one_alert_per_asset(
        database: Database, engine: RuleEngine, post: Post) -> None:
    """Low voltage and low percentage of one device give one battery alert for the asset."""
    _, streams = make_asset(database, "litter_bin", ["battery_voltage", "battery_percent"])
    post(streams["battery_voltage"], (0, 3.1))
    post(streams["battery_percent"], (0, 12.0))
    (alert,) = alerts_of(database, "battery_low")
    assert alert.subject.startswith("thing:")
    assert "3.1 V" in alert.message


def test_tilt_and_knocked_over(database: Database, engine: RuleEngine, post: Post) -> None:
    """A bin tilted 80° raises "Bin knocked over"; upright again for 10 min resolves it."""
    _, streams = make_asset(database, "litter_bin", ["tilt_angle"])
    post(streams["tilt_angle"], (0, 3.0), (5, 80.0))
    (alert,) = alerts_of(database, "bin_tilted")
    assert alert.status == "open"
    post(streams["tilt_angle"], (10, 2.0), (25, 2.0))
    assert alerts_of(database, "bin_tilted")[0].status == "resolved"


def test_silent_sensor_on_the_timer(database: Database, engine: RuleEngine, post: Post,
                                    clock: FakeClock) -> None:
    """No data for more than 12 h opens "Sensor silent" on the timer; a new reading resolves."""
    _, streams = make_asset(database, "litter_bin", ["fill_level"])
    post(streams["fill_level"], (0, 30.0))
    clock.advance(timedelta(hours=11))
    engine.tick()
    assert alerts_of(database, "silent") == []
    clock.advance(timedelta(hours=2))
    engine.tick()
    engine.tick()
    (alert,) = alerts_of(database, "silent")
    assert alert.status == "open" and alert.value > 12
    post(streams["fill_level"], (13 * 60 + 5, 31.0))
    assert alerts_of(database, "silent")[0].status == "resolved"


class FakeHealth:
    """Frame counters a test sets by hand."""

    def __init__(self) -> None:
        self.counters: dict[int, FrameCounters] = {}

    def frame_counters(self, conn: Any, thing_ids: Any) -> dict[int, FrameCounters]:
        return {t: c for t, c in self.counters.items() if t in set(thing_ids)}


def test_frame_counter_losses(database: Database, clock: FakeClock) -> None:
    """More than 20% of uplinks lost over 20+ frames opens an alert; a clean run resolves it."""
    from placehub.alerts.engine import attach_engine

    health = FakeHealth()
    engine = attach_engine(database, clock, device_health=health)
    try:
        thing, _ = make_asset(database, "flowerbed", ["soil_moisture"])
        health.counters[thing] = FrameCounters(100, 2)
        engine.tick()
        health.counters[thing] = FrameCounters(110, 8)  # 6 lost of 16: too few frames to judge
        engine.tick()
        assert alerts_of(database, "frame_loss") == []
        health.counters[thing] = FrameCounters(120, 12)  # 10 lost of 30 since the baseline
        engine.tick()
        (alert,) = alerts_of(database, "frame_loss")
        assert alert.value == 10 / 30
        health.counters[thing] = FrameCounters(150, 12)
        engine.tick()  # clear from now on; the hold-off (1 h) starts
        assert alerts_of(database, "frame_loss")[0].status == "open"
        clock.advance(timedelta(hours=2))
        engine.tick()
        assert alerts_of(database, "frame_loss")[0].status == "resolved"
    finally:
        engine.detach()


def test_location_changed(database: Database, engine: RuleEngine, clock: FakeClock) -> None:
    """A bin whose Location moves 300 m raises "Bin moved"; 5 m of GPS jitter does not."""
    thing, _ = make_asset(database, "litter_bin", ["fill_level"], point=(-0.7275, 52.6698))

    def move_to(lon: float, lat: float) -> None:
        with database.begin() as conn:
            loc = conn.execute(insert(locations).values(
                name="new", description="", encoding_type="application/geo+json",
                location={"type": "Point", "coordinates": [lon, lat]},
                organisation_id=1)).inserted_primary_key[0]
            conn.execute(update(thing_locations).where(thing_locations.c.thing_id == thing)
                         .values(location_id=loc))
            hist = conn.execute(insert(historical_locations).values(
                time=clock.advance(60), thing_id=thing)).inserted_primary_key[0]
            conn.execute(insert(location_historical_locations).values(
                location_id=loc, historical_location_id=hist))
        database.events.publish("locations.changed", [thing])

    move_to(-0.7275, 52.6698)  # first history entry: the baseline
    move_to(-0.72755, 52.66982)
    assert alerts_of(database, "bin_moved") == []
    move_to(-0.7275, 52.6725)
    (alert,) = alerts_of(database, "bin_moved")
    assert 280 < alert.value < 320


class ScriptedForecasts:
    """A forecast source answering the probabilities a test sets, and noting what it was asked."""

    name = "scripted"

    def __init__(self) -> None:
        self.probability: dict[int, float] = {}
        self.asked: list[tuple[frozenset[int], float]] = []
        self.newest_reading: Any = None  # None: a reading just before each forecast

    def crossings(self, conn: Any, thing_ids: Any, at: Any, within: timedelta
                  ) -> dict[int, Crossing]:
        self.asked.append((frozenset(thing_ids), within.total_seconds() / 3600))
        newest = self.newest_reading or at - timedelta(minutes=5)
        return {t: Crossing(t, "litter_bin", 1.0, Need(
            t, "litter_bin", at, at + within, 0.5, 0.2, 0.9, p, at + within, None, 10, "test"),
            self.name, newest) for t, p in self.probability.items() if t in thing_ids}


def test_forecast_alert_opens_at_the_threshold_and_clears_below_the_lower_line(
        database: Database, clock: FakeClock) -> None:
    """Opens at 70% and not at 69%, once a forecast from a newer reading confirms it; stays
    open at 50% (hysteresis); clears below 40%; the forecast is asked once per asset per 30
    minutes of the clock."""
    thing, _ = make_asset(database, "litter_bin", ["fill_level"])
    forecasts = ScriptedForecasts()
    engine = RuleEngine(database, clock, forecasts)
    forecasts.probability[thing] = 0.69
    engine.tick()
    assert alerts_of(database, "bin_overflow_forecast") == []
    assert forecasts.asked == [(frozenset({thing}), 24.0)]
    forecasts.probability[thing] = 0.95
    clock.advance(timedelta(minutes=10))
    engine.tick()  # asked 10 minutes ago: not asked again yet
    assert len(forecasts.asked) == 1 and alerts_of(database, "bin_overflow_forecast") == []
    clock.advance(timedelta(minutes=20))
    engine.tick()  # 95%: waits for a forecast from a newer reading
    assert alerts_of(database, "bin_overflow_forecast") == []
    clock.advance(timedelta(minutes=30))
    engine.tick()
    (alert,) = alerts_of(database, "bin_overflow_forecast")
    assert alert.status == "open" and alert.value == 0.95
    assert "95% chance within 24 h" in alert.message
    for probability, status in ((0.5, "open"), (0.41, "open"), (0.39, "resolved")):
        forecasts.probability[thing] = probability
        clock.advance(timedelta(minutes=30))
        engine.tick()
        (alert,) = alerts_of(database, "bin_overflow_forecast")
        assert alert.status == status, probability


def test_one_odd_reading_opens_no_forecast_alert(database: Database, clock: FakeClock) -> None:
    """A high forecast that no newer reading confirms (the sensor has not reported since, or
    the next reading brings it down) opens nothing."""
    thing, _ = make_asset(database, "litter_bin", ["fill_level"])
    forecasts = ScriptedForecasts()
    forecasts.newest_reading = clock.now()
    engine = RuleEngine(database, clock, forecasts)
    forecasts.probability[thing] = 0.9
    for _ in range(4):  # two hours of forecasts, all from the same reading
        engine.tick()
        clock.advance(timedelta(minutes=30))
    assert alerts_of(database, "bin_overflow_forecast") == []
    forecasts.newest_reading = None  # newer readings now, but the odd one is gone
    forecasts.probability[thing] = 0.1
    engine.tick()
    clock.advance(timedelta(minutes=30))
    forecasts.probability[thing] = 0.9
    engine.tick()
    assert alerts_of(database, "bin_overflow_forecast") == []


def _post_series(post: Post, datastream: int, days: int, start: float, per_day: float,
             noise: float, seed: int) -> float:
    """Three-hourly readings over ``days`` days rising ``per_day`` (falling if negative) with
    uniform noise; returns the last value."""
    import random

    rng = random.Random(seed)
    rows = []
    for k in range(days * 8 + 1):
        level = start + per_day * k / 8
        rows.append((-(days * 8 - k) * 180, round(level + rng.uniform(-noise, noise), 1)))
    post(datastream, *rows)
    return start + per_day * days


def test_forecast_alerts_from_the_rounds_forecaster(database: Database, post: Post,
                                                    clock: FakeClock) -> None:
    """With the one forecaster: a bin at 85% filling 25%/day and a bed drying 3 points a day
    towards its 22% line alert; a noisy bin under half full filling 10%/day does not."""
    from placehub.alerts.engine import attach_engine

    busy, busy_streams = make_asset(database, "litter_bin", ["fill_level"], name="busy")
    quiet, quiet_streams = make_asset(database, "litter_bin", ["fill_level"], name="quiet")
    bed, bed_streams = make_asset(database, "flowerbed", ["soil_moisture"], name="bed")
    with database.begin() as conn:
        conn.execute(update(things).where(things.c.id == bed).values(properties={
            "asset_type": "flowerbed", "organisation": "rutland", "visibility": "public",
            "watering_threshold": 22.0}))
    _post_series(post, busy_streams["fill_level"], 3, 10.0, 25.0, 1.5, 1)
    _post_series(post, quiet_streams["fill_level"], 3, 15.0, 10.0, 4.0, 2)
    _post_series(post, bed_streams["soil_moisture"], 4, 36.0, -3.0, 0.4, 3)
    engine = attach_engine(database, clock)
    try:
        engine.tick()  # the forecasts say so; a newer reading must confirm them
        assert [a for a in alerts_of(database) if a.kind == "forecast"] == []
        post(busy_streams["fill_level"], (30, 86.5))
        post(quiet_streams["fill_level"], (30, 44.0))
        post(bed_streams["soil_moisture"], (30, 23.7))
        engine.tick()
    finally:
        engine.detach()
    opened = {a.thing_id: a for a in alerts_of(database) if a.kind == "forecast"}
    assert set(opened) == {busy, bed}
    assert opened[busy].rule_key == "bin_overflow_forecast" and opened[busy].value >= 0.7
    assert opened[bed].rule_key == "dry_forecast" and "need watering" in opened[bed].message
    assert quiet not in opened


def test_no2_hourly_mean_above_200_and_more_than_18_hours(
        database: Database, engine: RuleEngine, post: Post) -> None:
    """An hourly NO2 mean above 200 µg/m³ alerts; the 19th such hour of the year alerts too."""
    _, streams = make_asset(database, "air_quality_station", ["no2"])
    no2 = streams["no2"]
    # Sub-hourly readings: the hour 08:00 averages 190 (no alert), 09:00 averages 205.
    post(no2, (0, 180.0), (30, 200.0), (60, 200.0), (90, 210.0))
    assert alerts_of(database, "no2_hourly_200") == []
    post(no2, (120, 50.0))  # closes 09:00
    (alert,) = alerts_of(database, "no2_hourly_200")
    assert alert.value == 205.0 and alert.condition_since == START + timedelta(hours=1)
    assert alerts_of(database, "no2_hours_over_18") == []
    # Hourly means (whole-hour Observations), 18 more hours above 200 in the year.
    post(no2, *[(60 * h, 250.0) for h in range(3, 20)], hourly=True)
    assert alerts_of(database, "no2_hours_over_18") == []  # 18 hours so far: allowed
    post(no2, (60 * 20, 201.0), hourly=True)
    (count_alert,) = alerts_of(database, "no2_hours_over_18")
    assert count_alert.value == 19.0 and count_alert.severity == "critical"
    assert len(alerts_of(database, "no2_hourly_200")) == 1  # one episode of high hours


def test_no2_in_ppb_is_converted(database: Database, engine: RuleEngine, post: Post) -> None:
    """A sensor reporting 110 ppb NO2 (210 µg/m³) triggers the 200 µg/m³ hourly alert."""
    _, streams = make_asset(database, "air_quality_station", ["no2"], units={"no2": "ppb"})
    post(streams["no2"], (0, 110.0), hourly=True)
    (alert,) = alerts_of(database, "no2_hourly_200")
    assert abs(alert.value - 210.1) < 0.01


def test_override_per_asset(database: Database, engine: RuleEngine, post: Post,
                            clock: FakeClock) -> None:
    """An asset's override (bin full at 70%, at once) replaces its type's default for it only."""
    thing, streams = make_asset(database, "litter_bin", ["fill_level"], name="a")
    _, other = make_asset(database, "litter_bin", ["fill_level"], name="b")
    with database.begin() as conn:
        override_rule(conn, clock.now(), thing, "bin_full", params={"value": 70.0, "for_s": 0})
    engine.reload()
    post(streams["fill_level"], (0, 75.0))
    post(other["fill_level"], (0, 75.0))
    (alert,) = alerts_of(database, "bin_full")
    assert alert.thing_id == thing


def test_states_survive_a_restart(database: Database, clock: FakeClock, post: Post) -> None:
    """A new engine continues from saved states: an open episode is not opened again."""
    from placehub.alerts.engine import attach_engine

    first = attach_engine(database, clock)
    _, streams = make_asset(database, "litter_bin", ["fill_level"])
    post(streams["fill_level"], (0, 103.0), (31, 104.0))
    first.tick()  # saves states
    first.detach()
    second = attach_engine(database, clock)
    try:
        post(streams["fill_level"], (40, 105.0))
        assert len(alerts_of(database, "bin_full")) == 1
        with database.connect() as conn:
            assert conn.execute(select(alert_rule_states)).first() is not None
    finally:
        second.detach()


def _instant_threshold(database: Database, clock: FakeClock, hold_off_s: int) -> None:
    """A bin rule firing at once above 90%, resolving after ``hold_off_s`` clear."""
    from placehub.alerts.store import create_rule

    with database.begin() as conn:
        create_rule(conn, clock.now(), key="over_90", name="Over 90%", kind="threshold",
                    params={"op": "above", "value": 90.0}, asset_type="litter_bin",
                    quantity="fill_level", hold_off_s=hold_off_s)


def _history(database: Database, alert_id: int) -> list[str]:
    with database.connect() as conn:
        return [r.action for r in conn.execute(
            select(alert_events.c.action).where(alert_events.c.alert_id == alert_id)
            .order_by(alert_events.c.at, alert_events.c.id))]


def test_alert_resolving_and_reopening_within_one_batch_gives_two_alerts(
        database: Database, engine: RuleEngine, post: Post, clock: FakeClock) -> None:
    """Breach, clear, breach in one batch (no hold-off): the second episode has its own alert."""
    _instant_threshold(database, clock, hold_off_s=0)
    _, streams = make_asset(database, "litter_bin", ["fill_level"])
    post(streams["fill_level"], (0, 103.0), (10, 50.0), (20, 104.0))
    first, second = alerts_of(database, "over_90")
    assert (first.status, second.status) == ("resolved", "open")
    assert second.value == 104.0
    assert _history(database, first.id) == ["opened", "resolved"]
    assert _history(database, second.id) == ["opened"]


def test_alert_open_from_an_earlier_batch_resolves_and_reopens_in_the_next(
        database: Database, engine: RuleEngine, post: Post, clock: FakeClock) -> None:
    """An alert open before the batch resolves in it and a new one opens in the same batch."""
    _instant_threshold(database, clock, hold_off_s=0)
    _, streams = make_asset(database, "litter_bin", ["fill_level"])
    post(streams["fill_level"], (0, 103.0))
    post(streams["fill_level"], (10, 50.0), (20, 105.0))
    assert [(a.status, a.value) for a in alerts_of(database, "over_90")] == [
        ("resolved", 103.0), ("open", 105.0)]


def test_history_lines_of_one_batch_keep_their_order(
        database: Database, engine: RuleEngine, post: Post, clock: FakeClock) -> None:
    """Opened, back within the hold-off, resolved — all in one batch — read in that order."""
    _instant_threshold(database, clock, hold_off_s=1800)
    _, streams = make_asset(database, "litter_bin", ["fill_level"])
    post(streams["fill_level"], (0, 103.0), (10, 50.0), (20, 104.0), (30, 50.0), (70, 50.0))
    (alert,) = alerts_of(database, "over_90")
    assert alert.status == "resolved"
    assert _history(database, alert.id) == ["opened", "condition_returned", "resolved"]


def test_listeners_hear_once_per_batch(database: Database, engine: RuleEngine, post: Post,
                                       clock: FakeClock, monkeypatch: Any) -> None:
    """Alerts opened and resolved by one batch reach each listener in one call."""
    from placehub.alerts import lifecycle

    calls: list[dict[str, list[int]]] = []
    monkeypatch.setattr(lifecycle, "LISTENERS",
                        [*lifecycle.LISTENERS, lambda _conn, events, _now: calls.append(events)])
    _instant_threshold(database, clock, hold_off_s=0)
    _, streams = make_asset(database, "litter_bin", ["fill_level"])
    post(streams["fill_level"], (0, 103.0), (10, 50.0), (20, 104.0))
    first, second = alerts_of(database, "over_90")
    (events,) = calls
    assert events["resolved"] == [first.id]
    assert {first.id, second.id} <= set(events["opened"])
    assert set(events["opened"]) == {a.id for a in alerts_of(database)}


def test_unedited_builtins_of_earlier_versions_are_brought_up_to_date(
        database: Database, clock: FakeClock) -> None:
    """A stored built-in rule still as an earlier version shipped it takes today's default
    (the asset's own lines); one a council edited keeps its edit."""
    from placehub.alerts.store import ensure_default_rules, load_rules
    from placehub.alerts.tables import alert_rules

    with database.begin() as conn:
        ensure_default_rules(conn, clock.now())
        conn.execute(update(alert_rules).where(alert_rules.c.key == "bin_full").values(
            params={"op": "above", "value": 90.0, "for_s": 1800}))
        conn.execute(update(alert_rules).where(alert_rules.c.key == "soil_dry").values(
            params={"op": "below", "value": 12.0, "for_s": 7200}))
        ensure_default_rules(conn, clock.now())
        rules = {r.key: r for r in load_rules(conn) if r.thing_id is None}
    assert rules["bin_full"].params == {"op": "at_least", "threshold": "full", "for_s": 1800}
    assert rules["soil_dry"].params["value"] == 12.0


def test_each_round_of_forecast_rules_keeps_a_run_record(database: Database,
                                                          clock: FakeClock) -> None:
    """A tick with forecast rules due keeps one alert-rules run record (forecaster, horizons,
    assets forecast, crossings predicted); a tick with none due keeps none."""
    from placehub.governance.runs import ALERT_RULES, list_runs

    thing, _ = make_asset(database, "litter_bin", ["fill_level"])
    forecasts = ScriptedForecasts()
    forecasts.probability[thing] = 0.9
    engine = RuleEngine(database, clock, forecasts)
    engine.tick()
    clock.advance(timedelta(minutes=10))
    engine.tick()  # asked 10 minutes ago: nothing due, no run
    with database.connect() as conn:
        (run,) = list_runs(conn, ALERT_RULES)
    assert run["started_at"] == clock.now() - timedelta(minutes=10)
    assert run["parameters"] == {"forecaster": "scripted", "horizons_hours": [24.0]}
    assert run["volumes"]["assets_forecast"] == 1
    assert run["volumes"]["crossings_predicted"] == 1 and run["outcome"] == "ok"
    assert run["inputs"][0]["rows"] == 1 and run["actor"] == "alerts timer"
