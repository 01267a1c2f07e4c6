"""The device registry: registering creates the SensorThings entities; CSV import is all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from placehub.access.requests import ANONYMOUS_WRITER
from placehub.cli import app as cli_app
from placehub.db import Database
from placehub.errors import BadRequest
from placehub.ingest.devices import import_devices
from placehub.ingest.tables import ingest_devices
from placehub.sta.tables import datastreams, locations, observed_properties, sensors, things
from placehub.web.app import create_app


def count(database: Database, table) -> int:  # type: ignore[no-untyped-def]
    with database.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_post_device_creates_thing_location_sensor_and_datastreams(client, database) -> None:
    """POST /api/devices makes the Thing (asset and bin properties), its Location and Datastreams."""
    response = client.post(
        "/api/devices",
        json={
            "dev_eui": "a8-40-41-00-01-81-c0-01",
            "name": "Bin 1, Oakham Market Place",
            "profile": "dragino-ldds75-bin",
            "latitude": 52.6703,
            "longitude": -0.7301,
        },
    )
    assert response.status_code == 201, response.text
    device = response.json()
    assert device["dev_eui"] == "A84041000181C001"
    assert set(device["datastreams"]) == {"fill_level", "distance", "battery_voltage"}
    with database.connect() as conn:
        thing = conn.execute(select(things).where(things.c.id == device["thing_id"])).one()
        streams = conn.execute(select(datastreams).where(datastreams.c.thing_id == thing.id)).all()
        location = conn.execute(select(locations)).one()
    assert thing.properties["asset_type"] == "litter_bin"
    assert (
        thing.properties["empty_distance_mm"] == 1000 and thing.properties["capacity_litres"] == 240
    )
    assert {s.properties["quantity"] for s in streams} == {
        "fill_level",
        "distance",
        "battery_voltage",
    }
    assert {s.unit_of_measurement["name"] for s in streams} == {"%", "mm", "V"}
    assert location.location == {"type": "Point", "coordinates": [-0.7301, 52.6703]}
    assert count(database, sensors) == 1
    listed = client.get("/api/devices").json()["devices"]
    assert [d["dev_eui"] for d in listed] == ["A84041000181C001"]
    again = client.post(
        "/api/devices",
        json={
            "dev_eui": "A84041000181C001",
            "name": "Again",
            "profile": "dragino-ldds75-bin",
            "latitude": 52.6,
            "longitude": -0.7,
        },
    )
    assert again.status_code == 409


def test_second_device_reuses_observed_properties(client, database) -> None:
    """ObservedProperties are shared by devices of one organisation, not created per device."""
    for eui in ("A84041000181C001", "A84041000181C002"):
        client.post(
            "/api/devices",
            json={
                "dev_eui": eui,
                "name": f"Bin {eui[-1]}",
                "profile": "dragino-ldds75-bin",
                "latitude": 52.67,
                "longitude": -0.73,
            },
        )
    assert count(database, observed_properties) == 3
    assert count(database, datastreams) == 6


def test_post_device_rejects_bad_input_with_reasons(client) -> None:
    """An unknown profile and an out-of-range latitude are both named in the 400."""
    response = client.post(
        "/api/devices",
        json={"dev_eui": "XYZ", "name": "x", "profile": "nope", "latitude": 123, "longitude": 0},
    )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert (
        "dev_eui" in message
        and "unknown device profile 'nope'" in message
        and "latitude" in message
    )


CSV_GOOD = """dev_eui,name,profile,latitude,longitude,asset_type,organisation,visibility
A84041000181D001,Bin 1 Oakham,dragino-ldds75-bin,52.6703,-0.7301,litter_bin,,public
A84041000181D002,Flowerbed Uppingham,dragino-lse01-flowerbed,52.5893,-0.7225,flowerbed,,
24E124136B123456,Bin 3 Oakham,milesight-em310-udl-bin,52.671,-0.729,,,
"""

CSV_BAD = """dev_eui,name,profile,latitude,longitude,asset_type,organisation,visibility
A84041000181D001,Bin 1 Oakham,dragino-ldds75-bin,52.6703,-0.7301,litter_bin,,public
A84041000181D001,Bin 1 again,dragino-ldds75-bin,52.6703,-0.7301,litter_bin,,
A84041000181D003,Bin 3,no-such-profile,52.6,-0.7,litter_bin,,
A84041000181D004,Bin 4,dragino-ldds75-bin,north,-0.7,litter_bin,,
A84041000181D005,Bin 5,dragino-ldds75-bin,52.6,-0.7,Litter Bin,nowhere-council,secret
"""


def test_csv_import_registers_everything(database) -> None:
    """A valid CSV registers every device, with the visibility asked for."""
    with database.begin() as conn:
        report = import_devices(conn, ANONYMOUS_WRITER, CSV_GOOD)
    assert report.ok and len(report.registered) == 3
    with database.connect() as conn:
        visibility = conn.execute(select(things.c.name, things.c.visibility)).all()
    assert ("Bin 1 Oakham", "public") in visibility
    assert count(database, ingest_devices) == 3


def test_csv_import_reports_every_bad_row_and_imports_nothing(database) -> None:
    """Duplicate EUI, unknown profile, bad number, bad asset type/organisation/visibility: all listed."""
    with database.begin() as conn:
        report = import_devices(conn, ANONYMOUS_WRITER, CSV_BAD)
    assert not report.ok
    lines = {line for line, _ in report.problems}
    assert lines == {3, 4, 5, 6}
    text = report.text()
    for expected in (
        "already appears on line 2",
        "unknown device profile 'no-such-profile'",
        "latitude: 'north' is not a number",
        "asset_type",
        "unknown organisation",
        "visibility",
    ):
        assert expected in text
    assert count(database, ingest_devices) == 0 and count(database, things) == 0


def test_csv_import_names_each_bad_row_and_reports_progress(database) -> None:
    """The report groups problems by line with what the row holds; progress only rises and
    reaches the last device."""
    with database.begin() as conn:
        bad = import_devices(conn, ANONYMOUS_WRITER, CSV_BAD)
    by_line = {line: (label, messages) for line, label, messages in bad.problems_by_line()}
    assert sorted(by_line) == [3, 4, 5, 6]
    assert by_line[6][0] == "A84041000181D005 Bin 5" and len(by_line[6][1]) == 3
    heard: list[tuple[float, str]] = []
    with database.begin() as conn:
        good = import_devices(conn, ANONYMOUS_WRITER, CSV_GOOD,
                              progress=lambda f, m: heard.append((f, m)))
    assert good.ok and [f for f, _ in heard] == sorted(f for f, _ in heard)
    assert heard[-1][1] == "Registering device 3 of 3"


def test_csv_import_without_required_columns(database) -> None:
    """A CSV missing columns is refused naming them."""
    with database.begin() as conn:
        report = import_devices(conn, ANONYMOUS_WRITER, "dev_eui,name\nA84041000181D001,x\n")
    assert "latitude" in report.text() and "profile" in report.text()


def test_cli_devices_import_and_add(settings, database, tmp_path: Path) -> None:
    """`placehub devices import` prints the report and exits 1 on bad rows; `devices add` registers."""
    runner = CliRunner()
    env = {"PLACEHUB_DATABASE_URL": database.url}
    bad = tmp_path / "bad.csv"
    bad.write_text(CSV_BAD)
    result = runner.invoke(cli_app, ["devices", "import", str(bad)], env=env)
    assert result.exit_code == 1 and "nothing imported" in result.output
    assert count(database, ingest_devices) == 0
    good = tmp_path / "good.csv"
    good.write_text(CSV_GOOD)
    result = runner.invoke(cli_app, ["devices", "import", str(good)], env=env)
    assert result.exit_code == 0, result.output
    add = [
        "devices",
        "add",
        "A84041000181E001",
        "--name",
        "Bin E",
        "--profile",
        "dragino-ldds75-bin",
        "--lat",
        "52.67",
        "--lon",
        "-0.73",
    ]
    result = runner.invoke(cli_app, add, env=env)
    assert result.exit_code == 0, result.output
    assert count(database, ingest_devices) == 4
    result = runner.invoke(cli_app, add, env=env)
    assert result.exit_code == 1 and "already registered" in result.output


def test_register_device_refuses_unknown_profile(database) -> None:
    """register_device says which profile is unknown and lists the known ones."""
    from placehub.ingest.devices import DeviceSpec, register_device

    with pytest.raises(BadRequest, match="unknown device profile 'x'"), database.begin() as conn:
        register_device(conn, ANONYMOUS_WRITER, DeviceSpec("A84041000181E001", "n", "x", 52, 0))


def test_health_of_a_private_device_is_hidden_from_anonymous_readers(
    settings, database, register
) -> None:
    """Health of a device whose Thing is organisation-only is a 404 for an anonymous reader."""
    register("A84041000181E0F1")
    with TestClient(create_app(settings, database=database)) as anonymous:
        response = anonymous.get("/api/devices/A84041000181E0F1/health")
    assert response.status_code == 404


def test_devices_and_their_health_follow_the_device_rule(settings, database, register) -> None:
    """A restricted device (list and health) is for its organisation's editors; a DevEUI heard
    from but not registered (or whose Thing was deleted) is a 404 for anonymous callers and
    viewers, and shown to editors, who may claim it."""
    from datetime import UTC, datetime

    from sqlalchemy import insert, update

    from placehub.access import service
    from placehub.ingest.tables import ingest_device_health
    from placehub.sta.tables import things

    device = register("A84041000181E0F2")
    now = datetime.now(UTC)
    with database.begin() as conn:
        conn.execute(update(things).where(things.c.id == device["thing_id"]).values(
            visibility="restricted"))
        org = conn.execute(select(things.c.organisation_id).where(
            things.c.id == device["thing_id"])).scalar_one()
        for eui in ("FFEEDDCCBBAA0099", "A84041000181E0F2"):
            conn.execute(insert(ingest_device_health).values(
                dev_eui=eui, last_seen=now, frames_received=3, frames_lost=0, updated_at=now))
        tokens = {}
        for name, role in (("viewer", "viewer"), ("editor", "editor")):
            user = service.create_user(conn, name)
            service.grant_role(conn, user, org, role)
            tokens[name] = {"Authorization": f"Bearer {service.create_token(conn, user)}"}
    with TestClient(create_app(settings, database=database)) as client:
        for who, headers in (("anonymous", {}), ("viewer", tokens["viewer"])):
            assert client.get("/api/devices", headers=headers).json()["devices"] == [], who
            for eui in ("A84041000181E0F2", "FFEEDDCCBBAA0099"):
                assert client.get(f"/api/devices/{eui}/health",
                                  headers=headers).status_code == 404, (who, eui)
        editor = tokens["editor"]
        assert [d["dev_eui"] for d in client.get("/api/devices", headers=editor).json()[
            "devices"]] == ["A84041000181E0F2"]
        stranger = client.get("/api/devices/FFEEDDCCBBAA0099/health", headers=editor).json()
        assert stranger["registered"] is False and stranger["frames_received"] == 3
        assert client.get("/api/devices/A84041000181E0F2/health",
                          headers=editor).status_code == 200
        # Its Thing deleted, the device is no one's: unregistered again.
        assert client.delete(f"/sta/v1.1/Things({device['thing_id']})",
                             headers=editor).status_code in {200, 204}
        assert client.get("/api/devices/A84041000181E0F2/health",
                          headers=tokens["viewer"]).status_code == 404
        assert client.get("/api/devices/A84041000181E0F2/health",
                          headers=editor).json()["registered"] is False
