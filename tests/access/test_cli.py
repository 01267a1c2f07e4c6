"""`placehub orgs`, `users`, `tokens` and `audit` commands on a real database."""

from __future__ import annotations

import json
import sys

import pytest
from rich.console import Console
from typer.testing import CliRunner

from placehub.access import cli as access_cli
from placehub.access import service
from placehub.cli import app, main
from placehub.db import Database
from placehub.errors import Unauthorized

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables printed 200 characters wide, so rows stay on one line whatever the terminal."""
    monkeypatch.setattr(access_cli, "console", Console(width=200))


def run(database: Database, *args: str) -> str:
    """Run ``placehub ARGS`` against ``database`` and return what it printed."""
    result = runner.invoke(app, ["--database-url", database.url, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_listing_commands(database: Database) -> None:
    """orgs list and users list show what orgs add / users add / tokens create made."""
    run(database, "orgs", "add", "rutland", "Rutland County Council")
    run(database, "orgs", "add", "leicestershire", "Leicestershire County Council")
    run(database, "orgs", "partner", "rutland", "leicestershire")
    run(database, "users", "add", "ann", "--org", "rutland", "--role", "admin",
        "--password", "correct horse", "--display-name", "Ann Officer")
    run(database, "users", "add", "sensor-gw", "--org", "rutland", "--role", "editor",
        "--no-password")
    run(database, "tokens", "create", "sensor-gw", "--name", "gateway")

    orgs = run(database, "orgs", "list")
    rutland_line = next(line for line in orgs.splitlines() if "rutland " in line)
    assert "Rutland County Council" in rutland_line and " 2 " in rutland_line
    assert "leicestershire" in rutland_line  # its partner
    users = run(database, "users", "list", "--org", "rutland")
    ann = next(line for line in users.splitlines() if "ann " in line)
    assert "Ann Officer" in ann and "admin of rutland" in ann and "yes" in ann
    gateway = next(line for line in users.splitlines() if "sensor-gw" in line)
    assert "token only" in gateway and " 1 " in gateway


def test_disable_enable_and_token_list(database: Database) -> None:
    """users disable stops an account from signing in (audited with the cli: actor), users
    enable restores it; tokens list shows each token's prefix, purpose and owner, never the
    token, and which are revoked."""
    run(database, "orgs", "add", "rutland", "Rutland County Council")
    run(database, "users", "add", "ann", "--org", "rutland", "--password", "correct horse")
    token = run(database, "tokens", "create", "ann", "--name", "laptop").split()[-1]
    run(database, "tokens", "create", "ann", "--name", "gateway")
    run(database, "tokens", "revoke", token[:10])
    listed = run(database, "tokens", "list", "--org", "rutland")
    laptop = next(line for line in listed.splitlines() if "laptop" in line)
    assert token[:10] in laptop and "ann" in laptop and token not in listed
    rows = json.loads(run(database, "tokens", "list", "--json"))
    assert [(r["name"], r["revoked_at"] is None) for r in rows] == [("gateway", True),
                                                                    ("laptop", False)]
    run(database, "users", "disable", "ann")
    with database.connect() as conn, pytest.raises(Unauthorized, match="not active"):
        service.authenticate_password(conn, "ann", "correct horse")
    run(database, "users", "enable", "ann")
    with database.connect() as conn:
        assert service.authenticate_password(conn, "ann", "correct horse").roles
    actions = [json.loads(line)["action"] for line in run(
        database, "audit", "list", "--entity", "User", "--json").splitlines()]
    assert actions[:2] == ["enable", "disable"]


def test_audit_list_filters(database: Database) -> None:
    """audit list shows CLI changes with a cli: actor, filters by entity and since, and the
    --json form gives one entry per line."""
    run(database, "orgs", "add", "rutland", "Rutland County Council")
    run(database, "users", "add", "ann", "--org", "rutland", "--no-password")
    table = run(database, "audit", "list")
    assert "Organisation" in table and "grant_role" in table and "cli:" in table
    lines = run(database, "audit", "list", "--entity", "User", "--since", "1h",
                "--json").splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["action"] for r in rows] == ["grant_role", "create"]
    assert all(r["actor"].startswith("cli") for r in rows)
    assert run(database, "audit", "list", "--since", "2999-01-01").strip() == (
        "No audit entries match.")
    with database.connect() as conn:
        assert service.list_users(conn)[0]["roles"] == {"rutland": "viewer"}


def test_bad_options_fail_in_plain_words(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad --since or --limit, or an unknown organisation, stops the real entry point with
    exit code 1 and a message, no traceback."""
    for args, words in [
        (("audit", "list", "--since", "last tuesday"), "--since"),
        (("audit", "list", "--limit", "0"), "limit 0"),
        (("users", "list", "--org", "nowhere"), "unknown organisation"),
    ]:
        monkeypatch.setattr(sys, "argv", ["placehub", "--database-url", database.url, *args])
        with pytest.raises(SystemExit) as stopped:
            main()
        assert stopped.value.code == 1
        errors = capsys.readouterr().err
        assert "Error:" in errors and words in errors and "Traceback" not in errors
