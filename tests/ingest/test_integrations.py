"""Integrations belong to one council: a secret writes only to its organisation's devices, the
device's registered network and application are checked, and admins create, list, rotate and
revoke secrets (hashed at rest) by CLI and API."""

from __future__ import annotations

import hashlib
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from placehub.access.requests import ANONYMOUS_WRITER
from placehub.access.service import create_organisation, create_token, create_user, grant_role
from placehub.cli import app as cli_app
from placehub.db import Database
from placehub.ingest.devices import DeviceSpec, register_device
from placehub.ingest.integrations import create_integration
from placehub.ingest.tables import ingest_integrations, ingest_journal
from placehub.web.app import create_app

from .conftest import wait_processed
from .messages import chirpstack_uplink, ldds75, tts_uplink

NORTH_BIN = "A84041000181C0DE"
SOUTH_BIN = "A84041000181C0DF"


@pytest.fixture
def councils(database: Database) -> dict[str, int]:
    """Two councils, each with one registered bin sensor."""
    with database.begin() as conn:
        ids = {slug: create_organisation(conn, slug, f"{slug.title()} Council")
               for slug in ("north", "south")}
        for eui, slug in ((NORTH_BIN, "north"), (SOUTH_BIN, "south")):
            register_device(conn, ANONYMOUS_WRITER, DeviceSpec(
                dev_eui=eui, name=f"Bin {slug}", profile="dragino-ldds75-bin",
                latitude=52.67, longitude=-0.73, organisation=slug,
                network="tts" if slug == "north" else None,
                application_id="north-bins" if slug == "north" else None,
            ))
    return ids


@pytest.fixture
def server(settings, database) -> TestClient:  # type: ignore[no-untyped-def]
    """The app as deployed: no anonymous writes."""
    with TestClient(create_app(settings, database=database)) as client:
        yield client


def journal(database: Database) -> list:
    with database.connect() as conn:
        return list(conn.execute(select(ingest_journal).order_by(ingest_journal.c.id)))


def test_council_b_secret_cannot_write_to_council_a_devices(server, database, councils) -> None:
    """South's secret is accepted for the journal but its uplink to North's bin is a dead letter
    naming the reason; North's own secret writes."""
    with database.begin() as conn:
        north = create_integration(conn, "north-tts", "tts", organisation_id=councils["north"])
        south = create_integration(conn, "south-tts", "tts", organisation_id=councils["south"])
    intruder = server.post("/ingest/ttn", json=tts_uplink(NORTH_BIN, ldds75(500), 1, app="north-bins"),
                           headers={"X-Placehub-Secret": south})
    assert intruder.status_code == 200
    own = server.post("/ingest/ttn", json=tts_uplink(NORTH_BIN, ldds75(500), 2, app="north-bins"),
                      headers={"X-Placehub-Secret": north})
    assert own.status_code == 200
    wait_processed(database)
    first, second = journal(database)
    assert first.status == "dead_letter" and first.observation_count == 0
    assert "south-tts may only write to its own organisation's devices" in first.reason
    assert first.integration == "south-tts" and first.organisation_id == councils["south"]
    assert second.status == "processed" and second.observation_count == 3


def test_network_and_application_must_match_the_registration(server, database, councils) -> None:
    """An uplink from another network server or application than registered is a dead letter."""
    with database.begin() as conn:
        secret = create_integration(conn, "shared", "any", organisation_id=None)
    headers = {"X-Placehub-Secret": secret}
    assert server.post("/ingest/ttn", json=tts_uplink(NORTH_BIN, ldds75(500), 1, app="other-app"),
                       headers=headers).status_code == 200
    assert server.post("/ingest/chirpstack", json=chirpstack_uplink(NORTH_BIN, ldds75(500), 2),
                       headers=headers).status_code == 200
    wait_processed(database)
    wrong_app, wrong_network = journal(database)
    assert wrong_app.reason.startswith("application mismatch")
    assert wrong_network.reason.startswith("network mismatch")


def test_admin_api_creates_lists_rotates_and_revokes_within_its_council(
    server, database, councils
) -> None:
    """North's admin manages North's integrations only; secrets are stored hashed; a rotated
    or revoked secret stops working."""
    with database.begin() as conn:
        admin = create_user(conn, "north-admin")
        grant_role(conn, admin, councils["north"], "admin")
        token = create_token(conn, admin)
        editor = create_user(conn, "north-editor")
        grant_role(conn, editor, councils["north"], "editor")
        editor_token = create_token(conn, editor)
        create_integration(conn, "south-cs", "chirpstack", organisation_id=councils["south"])
    auth = {"Authorization": f"Bearer {token}"}
    created = server.post("/api/ingest/integrations", headers=auth, json={
        "name": "north-tts", "network": "tts", "organisation": "north"})
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    with database.connect() as conn:
        stored = conn.execute(select(ingest_integrations.c.secret_hash)
                              .where(ingest_integrations.c.name == "north-tts")).scalar_one()
    assert stored == hashlib.sha256(secret.encode()).hexdigest() and secret not in stored
    assert server.post("/api/ingest/integrations", headers=auth, json={
        "name": "x", "network": "tts", "organisation": "south"}).status_code == 403
    assert server.get("/api/ingest/integrations",
                      headers={"Authorization": f"Bearer {editor_token}"}).status_code == 403
    listed = server.get("/api/ingest/integrations", headers=auth).json()["integrations"]
    assert [i["name"] for i in listed] == ["north-tts"]  # not South's
    assert "secret" not in json.dumps(listed).replace("secret_hash", "")
    uplink = tts_uplink(NORTH_BIN, ldds75(500), 1, app="north-bins")
    assert server.post("/ingest/ttn", json=uplink, headers={"X-Placehub-Secret": secret}
                       ).status_code == 200
    rotated = server.post("/api/ingest/integrations/north-tts/rotate", headers=auth)
    new_secret = rotated.json()["secret"]
    assert server.post("/ingest/ttn", json=uplink, headers={"X-Placehub-Secret": secret}
                       ).status_code == 401
    assert server.post("/ingest/ttn", json=uplink, headers={"X-Placehub-Secret": new_secret}
                       ).status_code == 200
    assert server.post("/api/ingest/integrations/south-cs/rotate", headers=auth).status_code == 404
    assert server.delete("/api/ingest/integrations/north-tts", headers=auth).status_code == 204
    assert server.post("/ingest/ttn", json=uplink, headers={"X-Placehub-Secret": new_secret}
                       ).status_code == 401
    (revoked,) = server.get("/api/ingest/integrations", headers=auth).json()["integrations"]
    assert revoked["revoked_at"] is not None


def test_cli_adds_rotates_revokes_and_lists_integrations(settings, database, councils) -> None:
    """The CLI asks whose devices an integration writes to, and manages its secret."""
    runner = CliRunner()
    env = {"PLACEHUB_DATABASE_URL": database.url}
    refused = runner.invoke(cli_app, ["ingest", "integrations", "add", "n", "--network", "tts"],
                            env=env)
    assert refused.exit_code != 0 and "--organisation" in refused.output
    added = runner.invoke(cli_app, ["ingest", "integrations", "add", "north-tts", "--network",
                                    "tts", "--organisation", "north"], env=env)
    assert added.exit_code == 0, added.output
    assert runner.invoke(cli_app, ["ingest", "integrations", "rotate", "north-tts"], env=env
                         ).exit_code == 0
    assert runner.invoke(cli_app, ["ingest", "integrations", "revoke", "north-tts"], env=env
                         ).exit_code == 0
    listed = runner.invoke(cli_app, ["ingest", "integrations", "list", "--json"], env=env)
    (row,) = json.loads(listed.output)
    assert row["organisation"] == "north" and row["revoked_at"] and row["rotated_at"]
