"""The deployment example (docs/deploy) and docs/scale.md name only settings and commands that
placehub has."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main

from placehub.cli import app
from placehub.config import SETTINGS

DOCS = Path(__file__).resolve().parents[1] / "docs"
PLACEHUB = "/opt/placehub/.venv/bin/placehub"


def deploy_files() -> list[Path]:
    return sorted(p for p in (DOCS / "deploy").rglob("*") if p.is_file())


def command_lines() -> list[str]:
    """Every placehub command line: the units' ExecStart and scale.md's shell examples."""
    lines = [line.split("=", 1)[1].replace(PLACEHUB, "placehub")
             for path in deploy_files() for line in path.read_text().splitlines()
             if line.startswith("ExecStart=") and PLACEHUB in line]
    fenced = False
    for line in (DOCS / "scale.md").read_text().splitlines():
        fenced ^= line.startswith("```")
        if fenced and line.startswith("placehub "):
            lines.append(line)
    return lines


def test_deploy_example_uses_only_real_settings() -> None:
    """Every PLACEHUB_* name in docs/deploy and docs/scale.md is a placehub setting."""
    known = {setting.env_var for setting in SETTINGS}
    texts = [p.read_text() for p in deploy_files()] + [(DOCS / "scale.md").read_text()]
    used = {name for text in texts for name in re.findall(r"PLACEHUB_[A-Z0-9_]+", text)}
    assert "PLACEHUB_NATS_URL" in used and "PLACEHUB_ALERTS_SHARED_STATE" in used
    assert used <= known | {"PLACEHUB_UPLINKS"}, sorted(used - known)  # the stream's name


@pytest.mark.parametrize("line", command_lines())
def test_deploy_example_commands_parse(line: str) -> None:
    """Each placehub command of the example is a real command whose options parse."""
    words = shlex.split(line.split("#")[0])
    assert words[0] == "placehub"
    command: Any = typer.main.get_command(app)
    args = words[1:]
    while hasattr(command, "commands") and args and not args[0].startswith("-"):
        found = command.commands.get(args[0])
        assert found is not None, f"no command {args[0]!r} in {line!r}"
        command, args = found, args[1:]
    assert not hasattr(command, "commands"), f"{line!r} names a group, not a command"
    command.make_context(words[-1], list(args))  # raises on an unknown or missing option
