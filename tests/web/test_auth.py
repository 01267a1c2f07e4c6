"""Signing in and out over HTTP: throttling, server-side sessions, Secure cookies and HSTS, and
JSON-only writes for signed-in browsers."""

from __future__ import annotations

from fastapi.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from placehub.access import service, signin
from placehub.config import Settings
from placehub.db import Database
from placehub.web.app import create_app
from tests.web.conftest import csrf_of, sign_in
from tests.web.seed import PASSWORD, Seeded


def _attempt(client: TestClient, password: str, username: str = "officer") -> object:
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token}, follow_redirects=False)


def test_wrong_passwords_are_throttled_then_the_right_one_waits(client: TestClient,
                                                                 seeded: Seeded) -> None:
    """After five wrong passwords the sixth attempt, even the right password, is a 429 with
    Retry-After and a message on the form; nothing is hashed meanwhile."""
    for _ in range(5):
        assert _attempt(client, "wrong-password").status_code == 400  # type: ignore[attr-defined]
    refused = _attempt(client, PASSWORD)
    assert refused.status_code == 429  # type: ignore[attr-defined]
    assert refused.headers["Retry-After"] == "1"  # type: ignore[attr-defined]
    assert "Too many wrong passwords" in refused.text  # type: ignore[attr-defined]


def test_cookie_replayed_after_sign_out_or_password_change_is_anonymous(
        client: TestClient, seeded: Seeded, database: Database) -> None:
    """A copied session cookie stops working when its session signs out, and every session
    of a user stops when the password changes."""
    sign_in(client)
    copied = dict(client.cookies)
    assert client.get("/api/me").json()["username"] == "officer"
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/overview").text)},
                follow_redirects=False)
    with TestClient(client.app, cookies=copied) as replay:
        ended = replay.get("/api/me")
        assert ended.status_code == 401 and "sign in again" in ended.json()["error"]["message"]
        assert replay.get("/overview", follow_redirects=False).status_code == 303
    sign_in(client)
    with TestClient(client.app, cookies=dict(client.cookies)) as other_browser:
        assert other_browser.get("/api/me").json()["username"] == "officer"
        with database.begin() as conn:
            signin.set_password(conn, service.user_id(conn, "officer"), "a-new-password")
        assert other_browser.get("/api/me").status_code == 401
    assert client.get("/api/me").status_code == 401


def test_secure_cookie_and_hsts_over_https_only(settings: Settings, database: Database,
                                                seeded: Seeded) -> None:
    """Over plain HTTP the cookie has no Secure flag and no HSTS is sent; over HTTPS, or from a
    trusted proxy saying X-Forwarded-Proto: https, both are."""
    app = create_app(settings, database=database)
    with TestClient(app, base_url="http://testserver") as plain:
        response = plain.get("/login")
        assert "secure" not in response.headers["set-cookie"].lower()
        assert "strict-transport-security" not in response.headers
    with TestClient(app, base_url="https://testserver") as direct:
        response = direct.get("/login")
        assert response.headers["set-cookie"].lower().endswith("; secure")
        assert response.headers["strict-transport-security"] == "max-age=31536000"
    proxied = ProxyHeadersMiddleware(app, trusted_hosts="testclient")
    with TestClient(proxied, base_url="http://testserver") as behind:  # type: ignore[arg-type]
        response = behind.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "; secure" in response.headers["set-cookie"].lower()
        assert "strict-transport-security" in response.headers
    untrusted = ProxyHeadersMiddleware(app, trusted_hosts="10.9.9.9")
    with TestClient(untrusted, base_url="http://testserver") as spoofed:  # type: ignore[arg-type]
        response = spoofed.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in response.headers
    always = create_app(settings.replace(cookie_secure="always", hsts_seconds=0),
                        database=database)
    with TestClient(always, base_url="https://testserver") as forced:
        response = forced.get("/login")
        assert "; secure" in response.headers["set-cookie"].lower()
        assert "strict-transport-security" not in response.headers


def test_signed_in_browser_writes_only_json(officer_client: TestClient) -> None:
    """A signed-in browser's text/plain or form-encoded write to the JSON APIs is a 415 (what a
    cross-site form could send); the same request as JSON is judged on its merits."""
    observation = '{"result": 1, "Datastream": {"@iot.id": 1}}'
    for path in ("/sta/v1.1/Observations", "/sta/v1.1/Things", "/sta/v1.1/CreateObservations",
                 "/api/dead-letters/replay"):
        for content_type in ("text/plain", "application/x-www-form-urlencoded",
                             "multipart/form-data; boundary=x"):
            response = officer_client.post(path, content=observation,
                                           headers={"Content-Type": content_type})
            assert response.status_code == 415, (path, content_type, response.text)
            assert "application/json" in response.json()["error"]["message"]
        response = officer_client.post(path, content=observation,
                                       headers={"Content-Type": "application/json"})
        assert response.status_code != 415, path
