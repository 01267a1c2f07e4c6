"""The `placehub` command: errors from the data end in one plain line, from any command, and only
`db upgrade`, `serve` and `demo` change the database schema."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from enum import EnumMeta
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import create_engine, inspect, text
from typer.testing import CliRunner

from placehub import cli as placehub_cli
from placehub.cli import app
from placehub.db.migrate import applied_revisions, head_revisions, known_revisions, upgrade
from placehub.db.scratch import scratch_postgres

runner = CliRunner()

# Commands that create or migrate the schema, saying so.
MIGRATING = {"db upgrade", "serve", "demo"}
# Commands that never open the database (codecs, index files, settings, simulation on
# generated bins when the database is not usable, broker files).
DATABASE_FREE = {"settings", "decode", "profiles list", "profiles codecs",
                 "profiles import-repository", "index list", "index build", "index sensitivity",
                 "index sobol", "rounds simulate", "load roads", "area fetch",
                 "area list", "area sources", "mqtt acl"}


def table_names(url: str) -> set[str]:
    """The tables in the database at ``url`` (an empty set when it has none)."""
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def says(result: Any, *phrases: str) -> bool:
    """Whether the command printed every phrase (ignoring where the console wrapped lines)."""
    printed = "".join(result.output.split())
    return all("".join(phrase.split()) in printed for phrase in phrases)


def commands() -> list[list[str]]:
    """Every leaf command of `placehub`, as its words (``["alerts", "rules", "list"]``)."""
    found: list[list[str]] = []

    def walk(command: Any, words: list[str]) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, [*words, name])
        else:
            found.append(words)

    walk(typer.main.get_command(app), [])
    return found


def plausible_arguments(words: list[str], tmp_path: Path) -> list[str]:
    """Values for a command's required parameters that get past parsing (a file that exists,
    a number where a number is wanted, the first of a choice); every file option, required or
    not, points into ``tmp_path`` so that no command touches a file outside it."""
    command: Any = typer.main.get_command(app)
    for word in words:
        command = command.commands[word]
    a_file = tmp_path / "input.csv"
    a_file.write_text("a,b\n1,2\n")
    arguments: list[str] = []
    for param in command.params:
        annotation = param.type_descriptor.annotation
        if not param.required:
            if annotation is Path and param.param_type_name == "argument":  # a file it reads
                arguments.append(str(a_file))
            elif annotation is Path and param.name.endswith("_file"):  # files a command writes
                arguments += [param.opts[0], str(tmp_path / f"{param.name}.out")]
            continue
        value = ("2026-03-02" if param.name in {"day", "date"} else
                 "higher_is_better" if param.name == "direction" else
                 "1" if annotation in {int, float} else
                 next(iter(annotation)).value if isinstance(annotation, EnumMeta) else
                 str(tmp_path) if annotation is Path
                 and param.type_descriptor.parameter_info.file_okay is False else
                 str(a_file) if annotation is Path else
                 "x")
        if param.param_type_name == "argument":
            arguments.append(value)
        else:
            arguments += [param.opts[0], value]
    # A service command that checks its configuration before the database.
    if words == ["ingest", "mqtt"]:
        arguments += ["--url", "mqtt://127.0.0.1:9", "--topics", "tts:v3/x/devices/+/up"]
    if words == ["worker"]:
        arguments += ["--nats-url", "nats://127.0.0.1:9"]
    if words == ["db", "drop-month"]:
        arguments = ["2026-01", "--yes"]
    # Commands that check their arguments before the database: give them valid ones.
    if words == ["algorithms", "show"]:
        arguments = ["rounds-planning"]
    if words == ["reads", "who-looked"]:
        arguments = ["--thing", "1"]
    return arguments


def test_data_errors_are_one_plain_line_with_exit_code_1(tmp_path: Path) -> None:
    """A PlacehubError raised deep in a command prints "Error: ..." and exits 1, no traceback."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    assert runner.invoke(app, ["--database-url", url, "db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["--database-url", url, "alerts", "show", "999"])
    assert result.exit_code == 1
    assert "Error:" in result.output and "no alert 999" in result.output
    assert "Traceback" not in result.output
    unknown = runner.invoke(app, ["--database-url", url, "users", "grant", "nobody",
                                  "rutland", "admin"])
    assert unknown.exit_code == 1 and "placehub users add" in unknown.output


@pytest.mark.parametrize(("option", "value", "says_what"), [
    ("--prize-horizon-days", "-1", "use 0 to 28 days"),
    ("--prize-horizon-days", "nan", "use 0 to 28 days"),
    ("--prize-horizon-days", "inf", "use 0 to 28 days"),
    ("--nearby-boost", "nan", "use a number of 1 or more"),
    ("--nearby-boost", "0.5", "use a number of 1 or more"),
    ("--risk-threshold", "nan", "use a probability between 0 and 1"),
    ("--risk-prize-km", "nan", "use 0 to 1000 km"),
    ("--risk-prize-km", "-2", "use 0 to 1000 km"),
])
def test_simulate_refuses_selection_options_out_of_range(tmp_path: Path, option: str,
                                                         value: str, says_what: str) -> None:
    """An impossible selection option for `rounds simulate` is one plain line naming the
    option and what to give, exit code 1, before any simulation starts."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    result = runner.invoke(app, ["--database-url", url, "rounds", "simulate", "--days", "2",
                                 option, value])
    assert result.exit_code == 1, result.output
    assert says(result, option, says_what) and "Traceback" not in result.output


def test_a_command_on_a_missing_database_says_what_to_run_and_creates_nothing(
        tmp_path: Path) -> None:
    """`placehub audit list` where no database exists names the file and `placehub db
    upgrade`, exits 1 and leaves no file behind."""
    path = tmp_path / "var" / "placehub.sqlite3"
    result = runner.invoke(app, ["--database-url", f"sqlite:///{path}", "audit", "list"])
    assert result.exit_code == 1, result.output
    assert says(result, f"no database at {path}", "placehub db upgrade"), result.output
    assert "Traceback" not in result.output
    assert not path.exists()


def test_no_command_but_upgrade_serve_and_demo_changes_an_empty_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every other command, given an empty SQLite file, leaves it without tables; each one that
    reads the database says to run `placehub db upgrade`."""
    monkeypatch.chdir(tmp_path)  # relative default paths (var/...) land here
    path = tmp_path / "empty.sqlite3"
    sqlite3.connect(path).close()
    url = f"sqlite:///{path}"
    silent: list[str] = []
    for words in commands():
        name = " ".join(words)
        if name in MIGRATING:
            continue
        result = runner.invoke(app, ["--database-url", url, "--data-dir", str(tmp_path),
                                     "--set", f"road_network_file={tmp_path / 'roads.npz'}",
                                     *words, *plausible_arguments(words, tmp_path)],
                               input="correct horse battery\n" * 2)
        assert table_names(url) == set(), f"`placehub {name}` created tables"
        if name not in DATABASE_FREE and not (result.exit_code == 1
                                               and says(result, "placehub db upgrade")):
            silent.append(f"{name}: exit {result.exit_code}: {result.output[-300:]}")
    assert not silent, silent
    assert len(commands()) > 40  # the sweep saw the whole command tree


def test_a_database_behind_this_placehub_is_left_alone_until_db_upgrade(tmp_path: Path) -> None:
    """On a database with only the core migration, a command lists what is missing and
    changes nothing; `db upgrade` applies it and says so; a second upgrade has nothing to do."""
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, "core@head")
    before = applied_revisions(url)
    missing = len(known_revisions(url) - before)
    assert missing >= 6  # every concern's branch
    result = runner.invoke(app, ["--database-url", url, "alerts", "list"])
    assert result.exit_code == 1
    assert says(result, f"needs {missing} migration(s)", "alerts_0001", "placehub db upgrade")
    assert applied_revisions(url) == before
    upgraded = runner.invoke(app, ["--database-url", url, "db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert says(upgraded, f"applying {missing} migration(s)")
    assert head_revisions(url) <= applied_revisions(url)
    again = runner.invoke(app, ["--database-url", url, "db", "upgrade"])
    assert again.exit_code == 0 and says(again, "already up to date")
    assert runner.invoke(app, ["--database-url", url, "alerts", "list"]).exit_code == 0


def test_a_database_from_a_newer_placehub_is_refused_by_every_command(tmp_path: Path) -> None:
    """A revision this placehub does not know stops both ordinary commands and `db upgrade`
    with a plain message, and nothing is migrated."""
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO alembic_version VALUES ('zz_0001')"))
    engine.dispose()
    for args in (["audit", "list"], ["db", "upgrade"]):
        result = runner.invoke(app, ["--database-url", url, *args])
        assert result.exit_code == 1 and says(result, "newer placehub", "zz_0001"), result.output
        assert "Traceback" not in result.output


def test_serve_says_it_creates_the_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    """`placehub serve` on a new database file says it creates the tables, creates them, then
    hands the app to uvicorn."""
    served: list[Any] = []
    monkeypatch.setattr(placehub_cli.uvicorn, "run", lambda application, **_: served.append(
        application))
    url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    result = runner.invoke(app, ["--database-url", url, "serve", "--port", "8999"])
    assert result.exit_code == 0, result.output
    assert says(result, "creating the tables")
    assert head_revisions(url) <= applied_revisions(url) and len(served) == 1


@pytest.fixture
def empty_postgresql() -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards)."""
    from tests.conftest import missing_service

    server = os.environ.get("PLACEHUB_TEST_POSTGRES_URL")
    if not server:
        missing_service("PostgreSQL (PLACEHUB_TEST_POSTGRES_URL)")
    url, drop = scratch_postgres(str(server), f"placehub_empty_{os.getpid()}")
    try:
        yield url
    finally:
        drop()


@pytest.mark.postgres
def test_an_empty_postgresql_database_is_not_migrated_by_audit_list(empty_postgresql: str
                                                                    ) -> None:
    """`placehub audit list` on an empty PostgreSQL database says to run `placehub db upgrade`
    and creates no table."""
    result = runner.invoke(app, ["--database-url", empty_postgresql, "audit", "list"])
    assert result.exit_code == 1
    assert says(result, "no placehub tables yet", "placehub db upgrade"), result.output
    assert table_names(empty_postgresql.replace("postgresql://", "postgresql+psycopg://")) == set()


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
