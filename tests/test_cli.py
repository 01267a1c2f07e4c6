"""The `placehub` command: errors from the data end in one plain line, from any command."""

from pathlib import Path

from typer.testing import CliRunner

from placehub.cli import app


def test_data_errors_are_one_plain_line_with_exit_code_1(tmp_path: Path) -> None:
    """A PlacehubError raised deep in a command prints "Error: ..." and exits 1, no traceback."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    result = CliRunner().invoke(app, ["--database-url", url, "alerts", "show", "999"])
    assert result.exit_code == 1
    assert "Error:" in result.output and "no alert 999" in result.output
    assert "Traceback" not in result.output
    unknown = CliRunner().invoke(app, ["--database-url", url, "users", "grant", "nobody",
                                       "rutland", "admin"])
    assert unknown.exit_code == 1 and "placehub users add" in unknown.output


def _list_commands() -> list[list[str]]:
    """Every `... list` command of placehub, as its argv."""
    import typer.main

    found: list[list[str]] = []

    def walk(group: object, path: list[str]) -> None:
        for name, command in getattr(group, "commands", {}).items():
            if name == "list":
                found.append([*path, name])
            walk(command, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_every_list_command_prints_json(tmp_path: Path) -> None:
    """Each list command takes --json and prints JSON a script can read, on an empty hub."""
    import json

    url = f"sqlite:///{tmp_path / 'lists.sqlite3'}"
    runner = CliRunner()
    assert runner.invoke(app, ["--database-url", url, "db", "upgrade"]).exit_code == 0
    commands = _list_commands()
    assert ["profiles", "list"] in commands and ["devices", "list"] in commands
    assert len(commands) >= 12
    for argv in commands:
        result = runner.invoke(app, ["--database-url", url, *argv, "--json"])
        assert result.exit_code == 0, (argv, result.output)
        if argv == ["audit", "list"]:  # JSON lines, one entry a line (none yet)
            assert all(json.loads(line) for line in result.stdout.splitlines())
        else:
            json.loads(result.stdout)
