"""From uplink to Observations with imported, network-server and native profiles: unmapped
fields kept as Observation parameters, misbehaving codecs kept as dead letters."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from placehub.access.requests import ANONYMOUS_WRITER
from placehub.config import Settings
from placehub.db import Database
from placehub.ingest.adapters import parse_message
from placehub.ingest.deadletters import list_dead_letters
from placehub.ingest.devices import DeviceSpec, register_device
from placehub.ingest.journal import write_entries
from placehub.ingest.processing import process_all
from placehub.ingest.repository import import_repository
from placehub.sta.tables import datastreams, observations
from placehub.web.app import create_app

from .conftest import wait_processed
from .device_repository import build_small
from .messages import chirpstack_uplink, tts_uplink

LEVEL = "A840410001810001"
FRAMES = itertools.count(1000)  # unique frame counters across Hypothesis examples
NS_DECODED = "A840410001810002"


@pytest.fixture
def profiles_dir(tmp_path: Path) -> Path:
    into = tmp_path / "profiles"
    import_repository(build_small(tmp_path / "repo"), into)
    (into / "office-climate.toml").write_text(
        """
id = "office-climate"
name = "Room climate decoded by the network server"
codec = "none"
asset_type = "room"

[object_fields]
"climate.temperature" = { quantity = "temperature" }
"climate.humidity" = { quantity = "relative_humidity", unit = "%" }
battery = { quantity = "battery_voltage", unit = "mV" }

[[datastreams]]
key = "temperature"

[[datastreams]]
key = "relative_humidity"
"""
    )
    return into


@pytest.fixture
def hub(settings: Settings, database: Database, profiles_dir: Path) -> Iterator[TestClient]:
    configured = settings.replace(anonymous_write=True, ingest_profiles_dir=str(profiles_dir))
    with TestClient(create_app(configured, database=database)) as client:
        yield client


def register(database: Database, dev_eui: str, profile: str, profiles_dir: Path) -> dict:
    with database.begin() as conn:
        return register_device(
            conn,
            ANONYMOUS_WRITER,
            DeviceSpec(dev_eui=dev_eui, name=f"Sensor {dev_eui[-4:]}", profile=profile,
                       latitude=52.67, longitude=-0.73),  # fmt: skip
            extra_profiles=str(profiles_dir),
        )


def stored(database: Database) -> list[tuple[str, object, dict]]:
    """(Datastream key, result, parameters) of every Observation."""
    with database.connect() as conn:
        rows = conn.execute(
            select(datastreams.c.properties, observations.c.result_number, observations.c.parameters)
            .join(datastreams, datastreams.c.id == observations.c.datastream_id)
            .order_by(observations.c.id)
        )
        return [(r.properties["key"], r.result_number, r.parameters) for r in rows]


def test_imported_codec_uplinks_become_observations_with_unmapped_fields(
    hub: TestClient, database: Database, profiles_dir: Path
) -> None:
    """A webhook uplink decoded by the imported JavaScript codec gives its Observations; the
    fields nothing maps (lid_open, status) are on every Observation's parameters."""
    register(database, LEVEL, "acme/level-sensor", profiles_dir)
    response = hub.post("/ingest/ttn", json=tts_uplink(LEVEL, bytes.fromhex("023f0e101504"), 1, 1))
    assert response.status_code == 200
    wait_processed(database)
    rows = stored(database)
    assert sorted((key, result) for key, result, _ in rows) == [
        ("battery_voltage", 3.6),
        ("distance", 575.0),
        ("temperature", 21.0),
    ]
    for _key, _result, parameters in rows:
        assert parameters["unmapped"] == {"lid_open": "NO", "status": 2}
        assert parameters["f_port"] == 1 and parameters["f_cnt"] == 1


@pytest.mark.parametrize(
    ("first_byte", "reason"),
    [
        ("ee", "the codec threw Error: unexpected frame type 238"),
        ("ef", "ran longer than its time limit"),
        ("f0", "used more memory than its limit"),
        ("f1", "returned 42 instead of {data}"),
    ],
)
def test_a_misbehaving_codec_makes_a_dead_letter_and_ingest_goes_on(
    hub: TestClient, database: Database, profiles_dir: Path, first_byte: str, reason: str
) -> None:
    """An uplink the codec throws on, loops on, allocates without bound on or answers with
    garbage is a dead letter with the reason; the next uplink is stored as usual."""
    register(database, LEVEL, "acme/level-sensor", profiles_dir)
    bad = bytes.fromhex(first_byte + "3f0e101504")
    assert hub.post("/ingest/ttn", json=tts_uplink(LEVEL, bad, 1, 1)).status_code == 200
    good = bytes.fromhex("023f0e101504")
    assert hub.post("/ingest/ttn", json=tts_uplink(LEVEL, good, 2, 1)).status_code == 200
    wait_processed(database)
    with database.connect() as conn:
        letters = list_dead_letters(conn, LEVEL)
    assert len(letters) == 1
    assert letters[0]["reason"].startswith("cannot decode: acme/level-sensor")
    assert reason in letters[0]["reason"]
    assert len(stored(database)) == 3


def test_codec_none_profile_takes_the_network_servers_decoded_object(
    hub: TestClient, database: Database, profiles_dir: Path
) -> None:
    """A profile with codec 'none' maps the ChirpStack object (nested fields, units); an
    uplink without a decoded object is a dead letter saying how to fix it."""
    register(database, NS_DECODED, "office-climate", profiles_dir)
    decoded = {"climate": {"temperature": 21.5, "humidity": "48 %"}, "battery": 3012, "rssi": -80}
    body = chirpstack_uplink(NS_DECODED, b"\x01\x02", 1, f_port=3, obj=decoded)
    assert hub.post("/ingest/chirpstack?event=up", json=body).status_code == 200
    bare = chirpstack_uplink(NS_DECODED, b"\x01\x02", 2, f_port=3)
    assert hub.post("/ingest/chirpstack?event=up", json=bare).status_code == 200
    wait_processed(database)
    rows = stored(database)
    assert sorted((key, result) for key, result, _ in rows) == [
        ("relative_humidity", 48.0),
        ("temperature", 21.5),
    ]
    # The battery has no Datastream and rssi no mapping: both kept, not dropped.
    assert rows[0][2]["unmapped"] == {"rssi": -80, "battery_voltage": 3.012}
    with database.connect() as conn:
        letters = list_dead_letters(conn, NS_DECODED)
    assert len(letters) == 1 and "codec 'none'" in letters[0]["reason"]


def test_native_status_fields_are_kept_as_parameters(hub: TestClient, database: Database) -> None:
    """A native codec's status and diagnostic fields (Decentlab DL-MBX sample count, protocol
    and device id) are on the Observations' parameters."""
    register(database, LEVEL, "decentlab/dl-mbx", Path("/nonexistent"))
    payload = bytes.fromhex("02012f000304d200010bb1")
    assert hub.post("/ingest/ttn", json=tts_uplink(LEVEL, payload, 1, 1)).status_code == 200
    wait_processed(database)
    rows = stored(database)
    assert sorted(key for key, _, _ in rows) == ["battery_voltage", "distance"]
    assert rows[0][2]["unmapped"] == {
        "device_id": 303,
        "protocol_version": 2,
        "number_of_valid_samples": 1,
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payloads=st.lists(st.binary(max_size=12), min_size=1, max_size=8))
def test_random_bytes_through_the_worker_never_crash_it(
    database: Database, profiles_dir: Path, payloads: list[bytes]
) -> None:
    """Random payloads for a device with a sandboxed codec all end processed or dead letters
    with a reason; processing never raises."""
    if not stored_device(database):
        register(database, LEVEL, "acme/level-sensor", profiles_dir)
    entries = [
        parse_message("tts", tts_uplink(LEVEL, payload, next(FRAMES), 1 + n % 2))
        for n, payload in enumerate(payloads)
    ]
    with database.begin() as conn:
        write_entries(conn, entries)
    result = process_all(database, extra_profiles=str(profiles_dir))
    assert result.processed + result.dead_letters == len(payloads)


def stored_device(database: Database) -> bool:
    from placehub.ingest.tables import ingest_devices

    with database.connect() as conn:
        return conn.execute(select(ingest_devices.c.id).limit(1)).first() is not None
