"""Indicators derived from sensor Observations on Things assigned to places."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from placehub.db import Database
from placehub.insight.derive import MappingPlaces, derive_indicators
from placehub.insight.indicators import values_for_layer
from placehub.sta.observations import NewObservation, write_observations
from placehub.sta.tables import things
from tests.sta.factories import make_datastream

START = datetime(2025, 6, 2, tzinfo=UTC)  # a Monday; BST, so local midnight is 23:00 UTC


def _thing(conn, name: str, quantity: str, asset_type: str, unit: dict | None = None,
           visibility: str = "public", **props: object) -> dict[str, int]:
    ids = make_datastream(conn, name=f"{name} {quantity} stream", quantity=quantity, unit=unit,
                          visibility=visibility)
    conn.execute(update(things).where(things.c.id == ids["thing"]).values(
        properties={"asset_type": asset_type, **props}))
    return ids


def _write(conn, datastream: int, values: list[tuple[datetime, float]]) -> None:
    outcome = write_observations(conn, [NewObservation(datastream, t, v) for t, v in values])
    assert all(o.error is None for o in outcome.outcomes)


def test_derived_indicators_per_ward(database: Database) -> None:
    """NO2 mean of station means, share of full bin-days and of dry flowerbed-days per ward."""
    hour = timedelta(hours=1)
    with database.begin() as conn:
        # Ward A: two NO2 stations, one hourly (means 30) and one reporting in ppb (10 ppb).
        s1 = _thing(conn, "Station 1", "no2", "air_quality_station",
                    unit={"name": "microgram per cubic metre", "symbol": "ug/m3"})
        s2 = _thing(conn, "Station 2", "no2", "air_quality_station",
                    unit={"name": "parts per billion", "symbol": "[ppb]"})
        _write(conn, s1["datastream"], [(START + i * hour, v) for i, v in
                                        enumerate([20, 40, 30, 30])])
        _write(conn, s2["datastream"], [(START, 10.0)])
        # Ward A bin: full on day 1 only (of 2 days); ward B bin: never full (3 days).
        b1 = _thing(conn, "Bin 1", "fill_level", "litter_bin")
        _write(conn, b1["datastream"], [(START + 10 * hour, 40.0), (START + 14 * hour, 100.0),
                                        (START + 34 * hour, 70.0)])
        b2 = _thing(conn, "Bin 2", "fill_level", "litter_bin")
        _write(conn, b2["datastream"], [(START + d * 24 * hour + 12 * hour, 50.0)
                                        for d in range(3)])
        # A private bin in ward B, full every day: left out of published indicators.
        b3 = _thing(conn, "Bin 3", "fill_level", "litter_bin", visibility="organisation")
        _write(conn, b3["datastream"], [(START + 12 * hour, 100.0)])
        # Ward B flowerbed with threshold 25: daily means 30, 22, 18 -> two dry days of three.
        f1 = _thing(conn, "Bed 1", "soil_moisture", "flowerbed", watering_threshold=25)
        _write(conn, f1["datastream"], [(START + 8 * hour, 32.0), (START + 16 * hour, 28.0),
                                        (START + 32 * hour, 22.0),
                                        (START + 56 * hour, 18.0)])
        places = MappingPlaces({"ward": {
            s1["thing"]: "A", s2["thing"]: "A", b1["thing"]: "A",
            b2["thing"]: "B", b3["thing"]: "B", f1["thing"]: "B"}})
        outcomes = derive_indicators(conn, places, layer="ward", period="2025-06")
    assert {o.indicator_id: o.places for o in outcomes} == {
        "no2_mean": 1, "bin_full_share": 2, "flowerbed_dry_share": 1}
    with database.connect() as conn:
        found = {(v.indicator_id, v.place_code): v for v in values_for_layer(conn, "ward")}
    assert found[("no2_mean", "A")].value == pytest.approx((30 + 10 * 1.91) / 2)
    assert found[("no2_mean", "A")].denominator == 2
    assert found[("bin_full_share", "A")].value == pytest.approx(1 / 2)
    assert found[("bin_full_share", "B")].value == 0.0
    assert found[("bin_full_share", "B")].denominator == 3
    assert found[("flowerbed_dry_share", "B")].value == pytest.approx(2 / 3)


def test_recompute_replaces_and_an_unassigned_thing_is_ignored(database: Database) -> None:
    """Deriving again replaces the values; a Thing in no place contributes nothing."""
    with database.begin() as conn:
        b1 = _thing(conn, "Bin 1", "fill_level", "litter_bin")
        _write(conn, b1["datastream"], [(START, 100.0)])
        stray = _thing(conn, "Bin 9", "fill_level", "litter_bin")
        _write(conn, stray["datastream"], [(START, 0.0)])
        places = MappingPlaces({"ward": {b1["thing"]: "A"}})
        derive_indicators(conn, places, layer="ward", only=["bin_full_share"])
        _write(conn, b1["datastream"], [(START + timedelta(days=1), 10.0)])
        derive_indicators(conn, places, layer="ward", only=["bin_full_share"])
    with database.connect() as conn:
        values = values_for_layer(conn, "ward", "bin_full_share")
    assert [(v.place_code, v.value) for v in values] == [("A", 0.5)]


def test_derive_on_demand_through_the_api(app, client, database: Database) -> None:  # type: ignore[no-untyped-def]
    """POST /api/indicators/derive needs an editor; it stores the values it reports."""
    from placehub.access import service

    with database.begin() as conn:
        b1 = _thing(conn, "Bin 1", "fill_level", "litter_bin")
        _write(conn, b1["datastream"], [(START, 100.0), (START + timedelta(days=1), 20.0)])
        org = service.organisation_id(conn, "rutland")
        editor = service.create_user(conn, "editor", password="a long password 123")
        service.grant_role(conn, editor, org, "editor")
        token = service.create_token(conn, editor)
    app.state.thing_places = MappingPlaces({"wards": {b1["thing"]: "E05001820"}})
    assert client.post("/api/indicators/derive").status_code == 401
    response = client.post("/api/indicators/derive?layer=wards&period=2025-06",
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    outcomes = {o["indicator"]: o["places"] for o in response.json()["value"]}
    assert outcomes["bin_full_share"] == 1
    values = client.get("/api/indicators/bin_full_share/values?layer=wards").json()["value"]
    assert values == [{"place": "E05001820", "period": "2025-06", "value": 0.5,
                       "suppressed": False}]


def test_full_and_dry_are_each_assets_own_lines(database: Database) -> None:
    """A council that counts its bins full at 90% sees a 95% bin-day as full; a bed's own
    watering threshold is its dry line (the same lines as the map and rounds)."""
    from placehub.assets.thresholds import set_organisation_threshold

    hour = timedelta(hours=1)
    with database.begin() as conn:
        b1 = _thing(conn, "Bin 1", "fill_level", "litter_bin")
        _write(conn, b1["datastream"], [(START + 12 * hour, 95.0),
                                        (START + 36 * hour, 85.0)])
        f1 = _thing(conn, "Bed 1", "soil_moisture", "flowerbed", watering_threshold=22)
        _write(conn, f1["datastream"], [(START + 12 * hour, 22.0), (START + 36 * hour, 23.0)])
        places = MappingPlaces({"ward": {b1["thing"]: "A", f1["thing"]: "A"}})
        derive_indicators(conn, places, layer="ward")
        before = {v.indicator_id: v.value for v in values_for_layer(conn, "ward")}
        set_organisation_threshold(conn, b1["organisation"], "litter_bin", "full", 0.9, START)
        derive_indicators(conn, places, layer="ward")
        after = {v.indicator_id: v.value for v in values_for_layer(conn, "ward")}
    assert before["bin_full_share"] == 0.0 and after["bin_full_share"] == 0.5
    assert after["flowerbed_dry_share"] == 0.5  # 22% is at the bed's line: dry
