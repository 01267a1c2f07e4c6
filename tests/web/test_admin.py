"""The admin pages over HTTP: only an organisation's admins see or use them; each change goes
through the domain (the same functions as the CLI and API) and leaves an audit entry shown on
the page; refusals are shown on the form with the GOV.UK error summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from placehub.access import audit, service
from placehub.alerts import notify, store
from placehub.db import Database
from placehub.ingest.integrations import WebhookAuthenticator
from tests.web.conftest import csrf_of, sign_in
from tests.web.seed import PASSWORD


@dataclass
class Council:
    """Rutland with an admin, an editor and a viewer; a neighbour council with its own admin."""

    organisation: int
    other: int
    users: dict[str, int]


@pytest.fixture
def council(database: Database) -> Council:
    """Two councils and their people, made through the access domain as the CLI does."""
    with database.begin() as conn:
        rutland = service.create_organisation(conn, "rutland", "Rutland County Council")
        other = service.create_organisation(conn, "melton", "Melton Borough Council")
        users = {}
        for name, organisation, role in (("ann", rutland, "admin"), ("ed", rutland, "editor"),
                                         ("vic", rutland, "viewer"), ("mel", other, "admin")):
            users[name] = service.create_user(conn, name, password=PASSWORD)
            service.grant_role(conn, users[name], organisation, role)
    return Council(rutland, other, users)


def _client(app: FastAPI, username: str) -> TestClient:
    client = TestClient(app, base_url="http://testserver")
    sign_in(client, username)
    return client


def _post(client: TestClient, url: str, data: dict[str, Any] | None = None) -> Any:
    """POST a form with the session's CSRF token (on every page, in the sign-out form)."""
    token = csrf_of(client.get("/devices").text)
    return client.post(url, data={**(data or {}), "csrf_token": token}, follow_redirects=False)


def _trail(database: Database, entity: str) -> list[dict[str, Any]]:
    with database.connect() as conn:
        return list(audit.list_entries(conn, audit.AuditQuery(entity=entity)))


PAGES = ["/admin", "/admin/rutland/users", "/admin/rutland/users/new", "/admin/rutland/tokens",
         "/admin/rutland/integrations", "/admin/rutland/alert-rules",
         "/admin/rutland/alert-rules/new", "/admin/rutland/alert-teams"]


def test_only_the_organisations_admins_see_the_admin_pages(app: FastAPI,
                                                           council: Council) -> None:
    """An editor or viewer of the council, and an admin of another, get 403 on every admin
    page; the council's admin gets each page, with the Admin link in the navigation."""
    for username in ("ed", "vic", "mel"):
        client = _client(app, username)
        for url in PAGES:
            if username == "mel" and url == "/admin":
                continue  # mel administers Melton: the index lists it
            assert client.get(url).status_code == 403, (username, url)
        assert 'href="/admin"' not in client.get("/devices").text or username == "mel"
    ann = _client(app, "ann")
    for url in PAGES:
        response = ann.get(url)
        assert response.status_code == 200, (url, response.text[:300])
        assert 'href="/admin"' in response.text
    assert ann.get("/admin/nowhere/users").status_code == 404


def test_viewer_and_editor_cannot_change_anything(app: FastAPI, council: Council,
                                                  database: Database) -> None:
    """Every kind of admin change is refused with 403 for the council's editor and viewer,
    and nothing reaches the audit trail."""
    before = len(_trail(database, "User"))
    for username in ("ed", "vic"):
        client = _client(app, username)
        for url, data in (
                ("/admin/rutland/users/new", {"username": "x", "password": "long enough",
                                              "role": "admin"}),
                (f"/admin/rutland/users/{council.users['vic']}/role", {"role": "admin"}),
                (f"/admin/rutland/users/{council.users['ann']}/active", {"active": "false"}),
                ("/admin/rutland/tokens", {"user": str(council.users["ed"]), "name": "x"}),
                ("/admin/rutland/integrations", {"name": "x", "network": "tts"}),
                ("/admin/rutland/alert-rules/new", {"name": "x"}),
                ("/admin/rutland/alert-teams", {"name": "x", "email": "a@example.org"})):
            assert _post(client, url, data).status_code == 403, (username, url)
    assert len(_trail(database, "User")) == before


def test_admin_adds_a_user_who_can_sign_in(app: FastAPI, council: Council,
                                           database: Database) -> None:
    """The form creates the account with its role in this council; the trail records who
    did it, on the users page too; the new user signs in."""
    ann = _client(app, "ann")
    response = _post(ann, "/admin/rutland/users/new", {
        "username": "jo.bloggs", "display_name": "Jo Bloggs", "email": "jo@example.org",
        "password": "a long password", "role": "editor"})
    assert response.status_code == 303 and response.headers["location"] == "/admin/rutland/users"
    with database.connect() as conn:
        jo = next(u for u in service.list_users(conn, council.organisation)
                  if u["username"] == "jo.bloggs")
    assert jo["roles"] == {"rutland": "editor"} and jo["email"] == "jo@example.org"
    created = _trail(database, "User")
    assert {(e["actor"], e["action"]) for e in created} >= {("ann", "create"),
                                                           ("ann", "grant_role")}
    page = ann.get("/admin/rutland/users").text
    assert "jo.bloggs added as editor" in page and "Grant role User jo.bloggs" in page
    sign_in(TestClient(app, base_url="http://testserver"), "jo.bloggs", "a long password")


def test_user_form_shows_every_problem_in_the_error_summary(app: FastAPI,
                                                            council: Council) -> None:
    """An empty username, a bad email and a short password come back on the form (400) with
    an error summary linking to each field; a taken username is said on its field."""
    ann = _client(app, "ann")
    response = _post(ann, "/admin/rutland/users/new", {
        "username": "", "email": "nope", "password": "short", "role": "viewer"})
    assert response.status_code == 400
    assert "govuk-error-summary" in response.text
    for field in ("username", "email", "password"):
        assert f'href="#{field}"' in response.text
    assert response.text.count("<title>Error: ") == 1
    taken = _post(ann, "/admin/rutland/users/new", {
        "username": "ed", "password": "a long password", "role": "viewer"})
    assert taken.status_code == 400 and "User &#39;ed&#39; exists already" in taken.text


def test_roles_change_but_the_last_admin_stays(app: FastAPI, council: Council,
                                               database: Database) -> None:
    """An admin makes the viewer an editor (audited); demoting the council's only admin is
    refused on the page, and the admin keeps the role."""
    ann = _client(app, "ann")
    vic, me = council.users["vic"], council.users["ann"]
    assert _post(ann, f"/admin/rutland/users/{vic}/role", {"role": "editor"}).status_code == 303
    refused = _post(ann, f"/admin/rutland/users/{me}/role", {"role": "viewer"})
    assert refused.status_code == 400
    assert "last admin" in refused.text and f'href="#role-{me}"' in refused.text
    with database.connect() as conn:
        assert service.roles_of(conn, vic) == {council.organisation: "editor"}
        assert service.roles_of(conn, me) == {council.organisation: "admin"}
    grants = [e for e in _trail(database, "User") if e["action"] == "grant_role"
              and e["actor"] == "ann"]
    assert grants and grants[0]["detail"] == {"role": "editor", "previous": "viewer"}
    outsider = _post(ann, f"/admin/rutland/users/{council.users['mel']}/role", {"role": "admin"})
    assert outsider.status_code == 404


def test_disabling_a_user_ends_their_session(app: FastAPI, council: Council,
                                             database: Database) -> None:
    """A disabled editor is signed out at once and cannot sign in; the admin cannot disable
    themselves, nor an account that also belongs to another council."""
    ed_client = _client(app, "ed")
    assert ed_client.get("/devices").status_code == 200
    ann = _client(app, "ann")
    done = _post(ann, f"/admin/rutland/users/{council.users['ed']}/active", {"active": "false"})
    assert done.status_code == 303
    assert ed_client.get("/devices", follow_redirects=False).headers["location"].startswith(
        "/login")
    assert _trail(database, "User")[0]["action"] == "disable"
    assert _post(ann, f"/admin/rutland/users/{council.users['ann']}/active",
                 {"active": "false"}).status_code == 403
    with database.begin() as conn:
        service.grant_role(conn, council.users["vic"], council.other, "viewer")
    shared = _post(ann, f"/admin/rutland/users/{council.users['vic']}/active",
                   {"active": "false"})
    assert shared.status_code == 403 and "another organisation" in shared.text


def test_token_is_shown_once_works_and_is_revoked(app: FastAPI, council: Council,
                                                  database: Database) -> None:
    """A token made for the editor is on the page once (not stored by the browser), opens
    the API as the editor, and is refused once revoked; both changes are audited."""
    ann = _client(app, "ann")
    made = _post(ann, "/admin/rutland/tokens", {"user": str(council.users["ed"]),
                                                "name": "Gully import"})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    token = made.text.split('id="secret" name="secret" type="text" value="')[1].split('"')[0]
    assert token.startswith("ph_")
    api = TestClient(app, base_url="http://testserver")
    assert api.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()[
        "username"] == "ed"
    listing = ann.get("/admin/rutland/tokens").text
    assert token not in listing and token[:10] in listing and "Gully import" in listing
    revoked = _post(ann, f"/admin/rutland/tokens/{token[:10]}/revoke")
    assert revoked.status_code == 303
    assert api.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert [e["action"] for e in _trail(database, "ApiToken")] == ["revoke", "create"]
    assert _post(ann, f"/admin/rutland/tokens/{token[:10]}/revoke").status_code == 404
    empty = _post(ann, "/admin/rutland/tokens", {"user": "", "name": ""})
    assert empty.status_code == 400 and 'href="#user"' in empty.text


def test_integration_secret_is_created_rotated_and_revoked(app: FastAPI, council: Council,
                                                           database: Database) -> None:
    """The admin creates a webhook integration whose secret opens the webhook; rotating
    gives a new one and closes the old; revoking closes it; each change is on the page's
    trail."""
    ann = _client(app, "ann")
    made = _post(ann, "/admin/rutland/integrations", {"name": "rutland-tts", "network": "tts"})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    secret = made.text.split('id="secret" name="secret" type="text" value="')[1].split('"')[0]
    check = WebhookAuthenticator(database, refresh_seconds=0)
    found = check.check("tts", {"x-placehub-secret": secret})
    assert found is not None and found.organisation_id == council.organisation
    rotated = _post(ann, "/admin/rutland/integrations/rutland-tts/rotate")
    new = rotated.text.split('id="secret" name="secret" type="text" value="')[1].split('"')[0]
    assert new != secret and check.check("tts", {"x-placehub-secret": secret}) is None
    assert check.check("tts", {"x-placehub-secret": new}) is not None
    assert _post(ann, "/admin/rutland/integrations/rutland-tts/revoke").status_code == 303
    assert check.check("tts", {"x-placehub-secret": new}) is None
    assert [e["action"] for e in _trail(database, "Integration")] == ["revoke", "rotate",
                                                                      "create"]
    page = ann.get("/admin/rutland/integrations").text
    assert "Revoke Integration rutland-tts" in page and new not in page
    again = _post(ann, "/admin/rutland/integrations", {"name": "rutland-tts",
                                                       "network": "tts"})
    assert again.status_code == 400 and "exists already" in again.text
    melton = _client(app, "mel")
    assert _post(melton, "/admin/melton/integrations/rutland-tts/rotate").status_code == 404


def test_alert_rule_is_added_changed_and_turned_off(app: FastAPI, council: Council,
                                                    database: Database) -> None:
    """A rule for every litter bin is added, its severity changed and turned off through the
    alerts concern; bad parameters come back on the form; every change is audited and
    readable by the other council's admin too (the rule is for every council)."""
    ann = _client(app, "ann")
    form = {"name": "Bin almost full", "key": "almost_full", "asset_type": "litter_bin",
            "kind": "threshold", "quantity": "fill_level", "params": "{not json",
            "severity": "warning", "hold_off_s": "600"}
    bad = _post(ann, "/admin/rutland/alert-rules/new", form)
    assert bad.status_code == 400 and 'href="#params"' in bad.text
    form["params"] = '{"value": 0.85, "direction": "above"}'
    assert _post(ann, "/admin/rutland/alert-rules/new", form).status_code == 303
    with database.connect() as conn:
        rule = next(r for r in store.load_rules(conn) if r.key == "almost_full")
    assert rule.params == {"value": 0.85, "direction": "above"} and rule.hold_off_s == 600
    edit = _post(ann, f"/admin/rutland/alert-rules/{rule.id}", {
        "name": "Bin almost full", "params": "{}", "severity": "critical", "hold_off_s": "0"})
    assert edit.status_code == 303
    assert _post(ann, f"/admin/rutland/alert-rules/{rule.id}/enabled",
                 {"enabled": "false"}).status_code == 303
    with database.connect() as conn:
        changed = store.get_rule(conn, rule.id)
    assert changed.severity == "critical" and not changed.enabled
    assert [e["action"] for e in _trail(database, "AlertRule")] == ["disable", "update",
                                                                    "create"]
    melton = _client(app, "mel").get("/admin/melton/alert-rules").text
    assert "Disable AlertRule" in melton and "Bin almost full" in melton


def test_team_subscription_is_added_changed_and_ended(app: FastAPI, council: Council,
                                                      database: Database) -> None:
    """A team is added and subscribed to critical bin alerts, the subscription is changed to
    the daily digest and ended; each step is audited under the council."""
    ann = _client(app, "ann")
    missing = _post(ann, "/admin/rutland/alert-teams", {"name": "", "daily_digest": "true"})
    assert missing.status_code == 400 and 'href="#name"' in missing.text
    assert _post(ann, "/admin/rutland/alert-teams", {
        "name": "Oakham cleansing", "email": "clean@example.org",
        "daily_digest": "true"}).status_code == 303
    with database.connect() as conn:
        team = notify.list_teams(conn, [council.organisation])[0]
    url = f"/admin/rutland/alert-teams/{team['id']}/subscriptions/new"
    webhook = _post(ann, url, {"channels": "webhook", "min_severity": "info",
                               "immediate": "true"})
    assert webhook.status_code == 400 and "has no webhook URL" in webhook.text
    assert _post(ann, url, {"channels": "email", "asset_types": "litter_bin",
                            "min_severity": "critical", "immediate": "true"}).status_code == 303
    with database.connect() as conn:
        sub = notify.list_teams(conn, [council.organisation])[0]["subscriptions"][0]
    assert sub["asset_types"] == ["litter_bin"] and sub["min_severity"] == "critical"
    edit = f"/admin/rutland/alert-subscriptions/{sub['id']}"
    assert ann.get(edit).status_code == 200
    assert _post(ann, edit, {"channels": "email", "min_severity": "warning",
                             "immediate": "false"}).status_code == 303
    assert _post(ann, edit + "/delete").status_code == 303
    with database.connect() as conn:
        assert notify.list_teams(conn, [council.organisation])[0]["subscriptions"] == []
    trail = _trail(database, "AlertSubscription")
    assert [e["action"] for e in trail] == ["delete", "update", "create"]
    assert {e["organisation_id"] for e in trail} == {council.organisation}
    assert "Delete AlertSubscription" in ann.get("/admin/rutland/alert-teams").text
    assert _client(app, "mel").get(edit).status_code == 403
