"""`placehub care`: a resident, consent, carers, break-glass and checks from the command line
on a migrated SQLite database."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from placehub.cli import app

runner = CliRunner()


def _commands(tmp_path: Path) -> tuple[list[str], Callable[..., str]]:
    """The database option for a fresh SQLite file, and a runner of commands that must work."""
    base = ["--database-url", f"sqlite:///{tmp_path / 'care.sqlite3'}"]

    def run(*words: str) -> str:
        result = runner.invoke(app, [*base, *words])
        assert result.exit_code == 0, result.output
        return result.output

    return base, run


def test_care_commands_from_residents_to_withdrawal(tmp_path: Path) -> None:
    """The commands add a resident with consent and a carer, refuse break-glass without a
    reason, check the home and record the withdrawal of consent."""
    base, run = _commands(tmp_path)
    run("db", "upgrade")
    run("orgs", "add", "rutland", "Rutland County Council")
    run("users", "add", "duty-admin", "--org", "rutland", "--role", "admin", "--no-password")
    run("care", "residents", "--add", "HS-4001", "--name", "Edith Crane", "--council", "rutland")
    run("users", "add", "carer-jo", "--org", "care-hs-4001", "--no-password")
    run("care", "consent", "HS-4001", "--given-by", "Edith Crane", "--purpose", "routine_alerts")
    run("care", "carers", "HS-4001", "--add", "carer-jo")
    listed = json.loads(run("care", "residents", "--json"))
    assert listed == [{"reference": "HS-4001", "display_name": "Edith Crane",
                       "collecting": True, "carers": ["carer-jo"], "sensors": 0}]
    refused = runner.invoke(app, [*base, "care", "break-glass", "HS-4001", "--user",
                                  "duty-admin", "--reason", "why"])
    assert refused.exit_code == 1 and "needs a reason" in refused.output
    assert "until" in run("care", "break-glass", "HS-4001", "--user", "duty-admin",
                          "--reason", "Carer reports a fall, no answer")
    assert "Carer reports a fall" in run("care", "break-glass", "HS-4001")
    assert json.loads(run("care", "check", "--json"))[0]["findings"] == []
    run("care", "consent", "HS-4001", "--withdraw", "--note", "moved away")
    assert json.loads(run("care", "check", "--json"))[0]["skipped"] == "no current consent"


def test_home_sensors_are_registered_by_kind_and_model(tmp_path: Path) -> None:
    """`care sensors --add` registers an Elsys or a Milesight sensor for the care circle, lists
    it, and refuses a model that is not of that kind with the ones that are."""
    base, run = _commands(tmp_path)
    run("db", "upgrade")
    run("orgs", "add", "rutland", "Rutland County Council")
    run("care", "residents", "--add", "HS-4002", "--name", "Ray Bell", "--council", "rutland")
    run("care", "sensors", "HS-4002", "--add", "front_door", "--model", "milesight-ws301",
        "--dev-eui", "24E124136B000001", "--lat", "52.67", "--lon", "-0.73")
    run("care", "sensors", "HS-4002", "--add", "motion", "--dev-eui", "A81758FFFE000001",
        "--lat", "52.67", "--lon", "-0.73")
    listed = run("care", "sensors", "HS-4002")
    assert "front_door" in listed and "motion" in listed
    devices = json.loads(run("devices", "list", "--json"))
    profiles = {d["dev_eui"]: d["profile"] for d in devices}
    assert profiles == {"24E124136B000001": "care/milesight-ws301-door-contact",
                        "A81758FFFE000001": "care/elsys-ers-motion"}
    wrong = runner.invoke(app, [*base, "care", "sensors", "HS-4002", "--add", "motion",
                                "--model", "milesight-ws301", "--dev-eui", "24E124136B000002",
                                "--lat", "52.67", "--lon", "-0.73"])
    assert wrong.exit_code == 1 and "elsys-ers or milesight-ws202" in wrong.output
    stray = runner.invoke(app, [*base, "care", "sensors", "HS-4002", "--model", "elsys-ers"])
    assert stray.exit_code == 1 and "--add KIND" in stray.output
