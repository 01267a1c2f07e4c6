"""Who a request comes from: Bearer tokens, HTTP Basic with a token as the password, and the
WWW-Authenticate challenge on every 401."""

from __future__ import annotations

import base64

import httpx
import pytest
from fastapi.testclient import TestClient

from placehub.access.requests import basic_token
from placehub.errors import Unauthorized
from tests.access.conftest import Council, bearer


def basic(user: str, password: str) -> dict[str, str]:
    """The Authorization header of HTTP Basic credentials."""
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def test_basic_credentials_carry_the_token_as_password() -> None:
    """The password of 'user:password' is the token; a colon inside the password is kept."""
    assert basic_token(base64.b64encode(b"alice:ph_abc:def").decode()) == "ph_abc:def"
    assert basic_token(" " + base64.b64encode(b":ph_xyz").decode()) == "ph_xyz"


@pytest.mark.parametrize("credentials", [
    "not base64!", base64.b64encode(b"no colon").decode(), base64.b64encode(b"alice:").decode(),
    base64.b64encode(b"\xff\xfe:x").decode(),
])
def test_unusable_basic_credentials_say_what_to_send(credentials: str) -> None:
    """Malformed Basic credentials, or an empty password, are 401s asking for a token."""
    with pytest.raises(Unauthorized, match="token"):
        basic_token(credentials)


def test_basic_auth_with_a_token_is_that_tokens_user(client: TestClient,
                                                     rutland: Council) -> None:
    """HTTP Basic with any user name and an API token as the password identifies the token's
    user, exactly as 'Authorization: Bearer <token>' does (httpx's own Basic auth encoder)."""
    by_basic = client.get("/api/me", auth=httpx.BasicAuth("anyone", rutland.editor))
    assert by_basic.status_code == 200, by_basic.text
    assert by_basic.json() == client.get("/api/me", headers=bearer(rutland.editor)).json()
    assert by_basic.json()["username"] == "rutland-editor"


def test_basic_auth_with_a_password_that_is_no_token_is_401(client: TestClient,
                                                            rutland: Council) -> None:
    """A user's sign-in password, or a revoked or unknown token, is not accepted over Basic:
    401 with a message and the challenge."""
    response = client.get("/api/me", headers=basic("rutland-editor", "correct horse"))
    assert response.status_code == 401
    assert "unknown API token" in response.json()["error"]["message"]
    assert "Basic" in response.headers["www-authenticate"]


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer ph_nope"}, {"Authorization": "Basic %%%"},
])
def test_every_401_names_the_schemes(client: TestClient, rutland: Council,
                                     headers: dict[str, str]) -> None:
    """RFC 9110 11.6.1: a 401 carries WWW-Authenticate with the schemes placehub accepts
    (Bearer and Basic, realm placehub), for missing and for wrong credentials alike."""
    response = client.post("/sta/v1.1/Things", json={"name": "x", "description": "y"},
                           headers=headers)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="placehub"')
    assert 'Basic realm="placehub"' in challenge


def test_other_errors_carry_no_challenge(client: TestClient, rutland: Council) -> None:
    """Only 401s challenge: a 403 or 404 has no WWW-Authenticate header."""
    assert "www-authenticate" not in client.get("/sta/v1.1/Things(12345)").headers
    refused = client.get("/api/audit", headers=bearer(rutland.editor))
    assert refused.status_code == 403
    assert "www-authenticate" not in refused.headers
