"""What every CLI command shares: the settings, the database, progress bars and plain errors."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, NoReturn

import typer
from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from placehub.config import Settings, load_settings
from placehub.db import Database

console = Console()
err_console = Console(stderr=True)


def settings_of(ctx: typer.Context) -> Settings:
    """The settings resolved by the root command (env vars plus --set and options)."""
    root = ctx.find_root()
    if root.obj is None:
        root.obj = load_settings()
    return root.obj  # type: ignore[no-any-return,unused-ignore]


def with_overrides(ctx: typer.Context, **overrides: Any) -> Settings:
    """Settings with a command's own options applied, stored for later calls."""
    settings = settings_of(ctx).replace(**overrides)
    ctx.find_root().obj = settings
    return settings


@contextmanager
def open_database(settings: Settings, *, upgrade: bool = False) -> Iterator[Database]:
    """The configured database, whose schema must be current.

    Only `placehub db upgrade`, `serve` and `demo` pass ``upgrade=True``: they create or migrate
    the schema and say so. Every other command changes no schema: on a missing, empty or older
    database it stops with what to run (``SchemaNotReady``, one plain "Error:" line).
    """
    from placehub.db import migrate  # Alembic: only for commands that open the database

    if upgrade:
        migrate_schema(settings.database_url)
    else:
        migrate.require_current_schema(settings.database_url)
    database = Database(settings.database_url)
    try:
        yield database
    finally:
        database.dispose()


def migrate_schema(url: str) -> bool:
    """Create or migrate the schema at ``url``, saying so when there is work; True if it did."""
    from placehub.db import migrate

    state = migrate.schema_state(url)
    if state.current:
        return False
    if not state.upgradable:
        raise migrate.SchemaNotReady(state.problem)
    what = (f"applying {len(state.pending)} migration(s)" if state.kind == "behind"
            else "creating the tables")
    err_console.print(f"Database at {migrate.describe_url(url)}: {what} ...")
    migrate.upgrade(url)
    err_console.print("Database schema is up to date.")
    return True


def print_table(table: RenderableType) -> None:
    """Print a table whole: in a terminal it fits the window, piped it is never cut to 80
    columns (a file or another program gets every id and value in full)."""
    if console.is_terminal:
        console.print(table)
        return
    width = console.measure(table, options=console.options.update_width(100_000)).maximum
    # Rich never renders wider than the console, so a console as wide as the table prints it.
    Console(file=console.file, width=max(width, 1)).print(table)


def print_json(data: Any) -> None:
    """Print data as JSON for scripts (``--json`` of every list command)."""
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def fail(message: str, code: int = 1) -> NoReturn:
    """Say what went wrong in plain words and stop."""
    err_console.print(f"[bold red]Error:[/] {message}")
    raise typer.Exit(code)


def progress() -> Progress:
    """A Rich progress bar for long work; quiet when output is not a terminal."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )


@contextmanager
def progress_bars() -> Iterator[Callable[[str, int, int | None], None]]:
    """Rich progress bars fed by ``(what, done, total)`` callbacks: one bar per ``what``."""
    with progress() as bar:
        tasks: dict[str, TaskID] = {}

        def show(what: str, done: int, total: int | None) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done, total=total)

        yield show


@contextmanager
def until_stopped() -> Iterator[None]:
    """Run a foreground service until Ctrl+C or SIGTERM, then let its clean-up run.

    Both signals end the block as a ``KeyboardInterrupt``. SIGINT is set explicitly because a
    shell starts background jobs with it ignored (Python then keeps it ignored), and service
    managers such as systemd stop a service with SIGTERM.
    """

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    except KeyboardInterrupt:
        console.print("Stopped.")
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
