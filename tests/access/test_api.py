"""The access JSON API: /api/me, /api/tokens, /api/organisations and /api/audit."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from placehub.access import service
from placehub.access.tables import api_tokens
from placehub.cli import app as cli_app
from placehub.config import Settings
from placehub.db import Database
from tests.access.conftest import Council, bearer
from tests.sta.conftest import oven


def test_me_describes_the_caller(client: TestClient, database: Database, rutland: Council,
                                 sutton: Council) -> None:
    """/api/me names the token's user with its roles and partner organisations; anonymous
    callers are told they are anonymous."""
    with database.begin() as conn:
        service.add_partner(conn, sutton.id, rutland.id)
    me = client.get("/api/me", headers=bearer(rutland.editor)).json()
    assert me["username"] == "rutland-editor"
    assert me["display_name"] == "Rutland County Council editor"
    assert me["anonymous"] is False
    assert me["roles"] == [{"organisation": "rutland",
                            "organisation_name": "Rutland County Council", "role": "editor"}]
    assert me["reads_partner_data_of"] == ["sutton"]
    anonymous = client.get("/api/me").json()
    assert anonymous["anonymous"] is True and anonymous["roles"] == []


def test_bad_token_is_401(client: TestClient, rutland: Council) -> None:
    """An unknown bearer token is a 401 with a message, not an anonymous answer."""
    response = client.get("/api/me", headers=bearer("ph_not-a-token"))
    assert response.status_code == 401
    assert "unknown API token" in response.json()["error"]["message"]


def test_token_holder_creates_a_token_for_themself(
    client: TestClient, database: Database, rutland: Council
) -> None:
    """POST /api/tokens returns a new working token once, stores only its hash, audits it."""
    response = client.post("/api/tokens", json={"name": "ci pipeline"},
                           headers=bearer(rutland.viewer))
    assert response.status_code == 201, response.text
    body = response.json()
    token = body["token"]
    assert token.startswith("ph_") and body["prefix"] == token[:10]
    assert body["username"] == "rutland-viewer" and body["name"] == "ci pipeline"
    assert client.get("/api/me", headers=bearer(token)).json()["username"] == "rutland-viewer"
    with database.connect() as conn:
        stored = conn.execute(select(api_tokens.c.token_hash, api_tokens.c.user_id)
                              .where(api_tokens.c.prefix == token[:10])).one()
    assert stored.token_hash == service.hash_token(token)
    assert stored.user_id == rutland.user_ids["viewer"]
    trail = client.get("/api/audit", params={"entity": "ApiToken", "actor": "rutland-viewer"},
                       headers=bearer(rutland.admin)).json()["value"]
    assert [(e["action"], e["entity_id"]) for e in trail] == [("create", token[:10])]


def test_token_creation_refusals(client: TestClient, rutland: Council) -> None:
    """Anonymous callers get 401; a non-JSON or malformed body is a 400 saying what to send."""
    assert client.post("/api/tokens", json={}).status_code == 401
    form = client.post("/api/tokens", data={"name": "x"}, headers=bearer(rutland.editor))
    assert form.status_code == 400 and "application/json" in form.json()["error"]["message"]
    wrong = client.post("/api/tokens", json={"name": 7}, headers=bearer(rutland.editor))
    assert wrong.status_code == 400
    broken = client.post("/api/tokens", content=b"{", headers={
        **bearer(rutland.editor), "Content-Type": "application/json"})
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]["message"]


def test_organisations_list(client: TestClient, rutland: Council, sutton: Council) -> None:
    """Everyone sees organisation slugs and names; only an organisation's admins see its
    membership count."""
    anonymous = client.get("/api/organisations").json()["value"]
    assert [(o["slug"], o["name"], o["role"]) for o in anonymous] == [
        ("rutland", "Rutland County Council", None),
        ("sutton", "London Borough of Sutton", None)]
    assert all("members" not in o for o in anonymous)
    as_admin = {o["slug"]: o for o in client.get(
        "/api/organisations", headers=bearer(rutland.admin)).json()["value"]}
    assert as_admin["rutland"]["role"] == "admin" and as_admin["rutland"]["members"] == 3
    assert "members" not in as_admin["sutton"]


def test_audit_api_scoping_filters_and_paging(
    client: TestClient, rutland: Council, sutton: Council
) -> None:
    """Admins page through their own organisation's entries with filters; other councils'
    entries never appear; editors get 403 and anonymous callers 401."""
    for name in ("Bin OAK-010", "Bin OAK-011", "Bin OAK-012"):
        assert client.post("/sta/v1.1/Things", json=oven(name),
                           headers=bearer(rutland.editor)).status_code == 201
    assert client.post("/sta/v1.1/Things", json=oven("Bin SUT-001"),
                       headers=bearer(sutton.editor)).status_code == 201

    things = client.get("/api/audit", params={"entity": "Thing"},
                        headers=bearer(rutland.admin)).json()["value"]
    assert [e["actor"] for e in things] == ["rutland-editor"] * 3
    assert things[0]["id"] > things[-1]["id"]  # newest first
    assert things[0]["at"].endswith("Z")

    first = client.get("/api/audit", params={"limit": 2}, headers=bearer(rutland.admin)).json()
    assert len(first["value"]) == 2
    seen = [e["id"] for e in first["value"]]
    next_link = first["nextLink"]
    while next_link:
        query = parse_qs(urlparse(next_link).query)
        assert query["limit"] == ["2"]
        page = client.get(next_link, headers=bearer(rutland.admin)).json()
        seen += [e["id"] for e in page["value"]]
        next_link = page.get("nextLink")
    everything = client.get("/api/audit", params={"limit": 1000},
                            headers=bearer(rutland.admin)).json()["value"]
    assert seen == [e["id"] for e in everything]
    assert not any(e["actor"].startswith("sutton") for e in everything)

    later = client.get("/api/audit", params={"since": "2999-01-01T00:00:00Z"},
                       headers=bearer(rutland.admin)).json()
    assert later == {"value": []}
    assert client.get("/api/audit", params={"organisation": "sutton"},
                      headers=bearer(rutland.admin)).status_code == 403
    assert client.get("/api/audit", headers=bearer(rutland.editor)).status_code == 403
    assert client.get("/api/audit").status_code == 401


def test_audit_api_rejects_bad_parameters(client: TestClient, rutland: Council) -> None:
    """Unreadable times, naive times, limits out of range and unknown organisations are 4xx
    with a message, never a 500."""
    admin = bearer(rutland.admin)
    for params, status, words in [
        ({"since": "yesterday"}, 400, "ISO 8601"),
        ({"until": "2026-01-01T00:00:00"}, 400, "timezone"),
        ({"limit": 0}, 400, "limit"),
        ({"limit": 5000}, 400, "limit"),
        ({"limit": "ten"}, 400, "limit"),
        ({"organisation": "nowhere"}, 404, "unknown organisation"),
    ]:
        response = client.get("/api/audit", params=params, headers=admin)
        assert response.status_code == status, (params, response.text)
        assert words in response.json()["error"]["message"]


def test_anonymous_writer_on_loopback(settings: Settings, database: Database) -> None:
    """With PLACEHUB_ANONYMOUS_WRITE on loopback, /api/me says so, writes are audited as
    anonymous-writer and the trail is readable; it cannot create tokens (it is no user)."""
    from placehub.web.app import create_app

    app = create_app(settings.replace(anonymous_write=True, host="127.0.0.1"), database=database)
    with TestClient(app) as local:
        assert local.get("/api/me").json()["write_anywhere"] is True
        assert local.post("/sta/v1.1/Things", json=oven("Bin OAK-030")).status_code == 201
        trail = local.get("/api/audit", params={"entity": "Thing"}).json()["value"]
        assert [e["actor"] for e in trail] == ["anonymous-writer"]
        assert local.post("/api/tokens", json={}).status_code == 401


def test_serve_refuses_anonymous_write_off_loopback(database: Database) -> None:
    """`placehub serve` with anonymous writes on a public address stops before listening."""
    result = CliRunner().invoke(cli_app, ["--database-url", database.url, "--set",
                                          "anonymous_write=true", "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "only allowed when the server listens on loopback" in " ".join(result.output.split())
