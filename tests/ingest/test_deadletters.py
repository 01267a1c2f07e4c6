"""Dead letters and replay: nothing lost, and replays never duplicate Observations."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from typer.testing import CliRunner

from placehub.access.service import (
    Principal,
    create_organisation,
    create_token,
    create_user,
    grant_role,
)
from placehub.cli import app as cli_app
from placehub.db import Database
from placehub.ingest.deadletters import (
    count_dead_letters,
    dead_letter_scope,
    list_dead_letters,
    replay,
)
from placehub.ingest.processing import process_all
from placehub.ingest.tables import ingest_devices
from placehub.sta.tables import observations

from .conftest import wait_processed
from .messages import BASE_TIME, ldds75, tts_uplink

EUI = "A84041000181F00D"


def observation_count(database: Database) -> int:
    with database.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(observations)).scalar_one())


def test_unknown_device_is_a_dead_letter_until_registered_and_replayed(
    client, database, register
) -> None:
    """Uplinks of an unregistered device get 200, wait as dead letters, and replay exactly once."""
    for f_cnt in (1, 2):
        assert (
            client.post("/ingest/ttn", json=tts_uplink(EUI, ldds75(500), f_cnt)).status_code == 200
        )
    wait_processed(database)
    letters = client.get("/api/dead-letters").json()["dead_letters"]
    assert len(letters) == 2 and "unknown device A84041000181F00D" in letters[0]["reason"]
    register(EUI)
    result = client.post("/api/dead-letters/replay").json()
    assert result["replayed"] == 2 and result["processed"] == 2 and result["new_observations"] == 6
    assert observation_count(database) == 6
    # Replaying a time range that covers them again changes nothing.
    again = replay(database, since=BASE_TIME, until=BASE_TIME + timedelta(days=1))
    assert again["replayed"] == 2 and again["new_observations"] == 0
    assert observation_count(database) == 6
    assert client.get("/api/dead-letters").json()["dead_letters"] == []


def test_wrong_port_undecodable_and_impossible_values_are_dead_letters(
    client, database, register
) -> None:
    """Wrong fPort, short payload and a 279.9 °C probe reading are each kept with their reason."""
    register(EUI, profile="dragino-lse01-flowerbed")
    client.post(
        "/ingest/ttn", json=tts_uplink(EUI, bytes.fromhex("ce2900f107a5099b6e2890"), 1, f_port=9)
    )
    client.post("/ingest/ttn", json=tts_uplink(EUI, b"\x0d\x3b", 2))
    # The vendor's LSE01 example bytes: external probe at 279.9 °C cannot be real.
    client.post("/ingest/ttn", json=tts_uplink(EUI, bytes.fromhex("0d3b0aef00000000000001"), 3))
    wait_processed(database)
    reasons = [
        d["reason"] for d in client.get(f"/api/dead-letters?dev_eui={EUI}").json()["dead_letters"]
    ]
    assert len(reasons) == 3
    assert any("fPort 9 is not used" in r for r in reasons)
    assert any("payload must be 11 bytes" in r for r in reasons)
    assert any("impossible values: temperature:external=279.9" in r for r in reasons)
    assert observation_count(database) == 0
    health = client.get(f"/api/devices/{EUI}/health").json()
    assert health["dead_letters"] == 3


def test_replay_is_idempotent_without_a_server(settings, database, register) -> None:
    """Processing the same journal twice (a crash between write and status) stores Observations once."""
    from placehub.ingest.adapters import parse_message
    from placehub.ingest.journal import JournalWriter

    register(EUI)
    writer = JournalWriter(database)
    writer.store([parse_message("tts", tts_uplink(EUI, ldds75(200 + i), i)) for i in range(1, 6)])
    writer.stop()
    first = process_all(database)
    assert first.processed == 5 and first.observations == 15
    result = replay(database, since=BASE_TIME, until=BASE_TIME + timedelta(hours=1))
    assert result["new_observations"] == 0 and observation_count(database) == 15


def test_cli_dead_letters_and_replay(database, register) -> None:
    """`placehub ingest dead-letters` lists them; `placehub ingest replay --dead-letters` fixes them."""
    from placehub.ingest.adapters import parse_message
    from placehub.ingest.journal import JournalWriter

    writer = JournalWriter(database)
    writer.store([parse_message("tts", tts_uplink(EUI, ldds75(650), 4))])
    writer.stop()
    process_all(database)
    runner = CliRunner()
    env = {"PLACEHUB_DATABASE_URL": database.url}
    listed = runner.invoke(cli_app, ["ingest", "dead-letters", "--json"], env=env)
    assert listed.exit_code == 0 and "unknown device" in listed.output
    register(EUI)
    replayed = runner.invoke(cli_app, ["ingest", "replay", "--dead-letters"], env=env)
    assert replayed.exit_code == 0, replayed.output
    assert "3 new Observations" in replayed.output
    nothing = runner.invoke(cli_app, ["ingest", "replay"], env=env)
    assert nothing.exit_code == 1 and "say what to replay" in nothing.output


def test_replay_does_not_count_frames_twice_in_health(client, database, register) -> None:
    """Replaying processed uplinks leaves the device health's frame counts as they were."""
    register(EUI)
    for f_cnt in (1, 2, 4):
        client.post("/ingest/ttn", json=tts_uplink(EUI, ldds75(500), f_cnt))
    wait_processed(database)
    before = client.get(f"/api/devices/{EUI}/health").json()
    replay(database, since=BASE_TIME, until=BASE_TIME + timedelta(days=1))
    after = client.get(f"/api/devices/{EUI}/health").json()
    assert (after["frames_received"], after["frames_lost"]) == (3, 1)
    assert (before["frames_received"], before["frames_lost"]) == (3, 1)


def test_dead_letters_of_a_registered_device_stay_within_its_organisation(
    client, database, register
) -> None:
    """Another council's editor sees unregistered devices' dead letters but not ours; our
    editor and the CLI (no principal) see both."""
    register(EUI, profile="dragino-lse01-flowerbed")
    with database.connect() as conn:
        ours = conn.execute(select(ingest_devices.c.organisation_id)
                            .where(ingest_devices.c.dev_eui == EUI)).scalar_one()
    stranger = "A84041000181F0EE"
    client.post("/ingest/ttn", json=tts_uplink(EUI, b"\x0d\x3b", 1))  # too short: dead letter
    client.post("/ingest/ttn", json=tts_uplink(stranger, ldds75(500), 1))  # unknown device
    wait_processed(database)
    with database.begin() as conn:
        other = create_organisation(conn, "elsewhere", "Elsewhere Council")
        user = create_user(conn, "elsewhere-editor")
        grant_role(conn, user, other, "editor")
        token = create_token(conn, user)
    editor_elsewhere = Principal(user_id=user, roles={other: "editor", ours: "viewer"})
    assert dead_letter_scope(editor_elsewhere) == {other}
    assert dead_letter_scope(Principal(user_id=1, roles={}, write_anywhere=True)) is None
    with database.connect() as conn:
        assert {d["dev_eui"] for d in list_dead_letters(conn)} == {EUI, stranger}
        assert {d["dev_eui"] for d in list_dead_letters(conn, organisations={ours})} == {
            EUI, stranger}
        assert [d["dev_eui"] for d in list_dead_letters(conn, organisations={other})] == [
            stranger]
        assert count_dead_letters(conn, {other}) == 1 and count_dead_letters(conn) == 2
    seen = client.get("/api/dead-letters", headers={"Authorization": f"Bearer {token}"})
    assert [d["dev_eui"] for d in seen.json()["dead_letters"]] == [stranger]
    with database.begin() as conn:
        viewer = create_user(conn, "elsewhere-viewer")
        grant_role(conn, viewer, other, "viewer")
        viewer_token = create_token(conn, viewer)
    refused = client.get("/api/dead-letters",
                         headers={"Authorization": f"Bearer {viewer_token}"})
    assert refused.status_code == 403 and "editors and admins" in refused.json()["error"]["message"]
    replayed = client.post("/api/dead-letters/replay",
                           headers={"Authorization": f"Bearer {token}"}).json()
    assert replayed["replayed"] == 1, "another council's editor replays only what it may see"
    assert replay(database, dead_letters=True, organisations={ours})["replayed"] == 2
    with database.connect() as conn:
        assert count_dead_letters(conn) == 2, "both were still undecodable or unregistered"
