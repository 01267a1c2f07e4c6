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
