"""The ``placehub`` command. Each concern adds its own commands through ``register``."""

from __future__ import annotations

import gc
import json
from typing import Any

import typer
import uvicorn
from rich.table import Table
from typer.core import TyperGroup

from placehub.config import (
    SETTINGS,
    SettingError,
    Settings,
    is_loopback,
    load_settings,
    settings_markdown,
)
from placehub.console import (
    console,
    fail,
    migrate_schema,
    print_table,
    settings_of,
    with_overrides,
)
from placehub.errors import PlacehubError


class PlainErrorsGroup(TyperGroup):
    """The root command: any PlacehubError from any command ends in one plain "Error: ..." line.

    One place for every command (and for tests that invoke the app directly), so commands need
    no try/except of their own for errors that come from the data.
    """

    def invoke(self, ctx: Any) -> Any:  # click.Context (vendored inside typer)
        try:
            return super().invoke(ctx)
        except PlacehubError as error:
            fail(error.message)


app = typer.Typer(
    name="placehub",
    cls=PlainErrorsGroup,
    help="placehub: the open connected-places hub for councils.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Create or migrate the database.", no_args_is_help=True)
app.add_typer(db_app, name="db")

# Modules that add commands: each has ``register(app: typer.Typer) -> None``.


@app.callback()
def root(
    ctx: typer.Context,
    database_url: str = typer.Option(
        None, "--database-url", help="Database URL (PLACEHUB_DATABASE_URL)."
    ),
    data_dir: str = typer.Option(
        None, "--data-dir", help="Folder of the shared public data (PLACEHUB_DATA_DIR)."
    ),
    set_: list[str] = typer.Option(
        [], "--set", "-s", help="Any setting as NAME=VALUE; see 'placehub settings'."
    ),
) -> None:
    """Read the settings once for every command."""
    overrides: dict[str, str] = {}
    for item in set_:
        if "=" not in item:
            fail(f"--set {item!r}: write it as NAME=VALUE, e.g. --set port=8080")
        name, value = item.split("=", 1)
        overrides[name.strip().lower()] = value
    try:
        settings = load_settings(None, **overrides)
        ctx.obj = settings.replace(database_url=database_url, data_dir=data_dir)
    except SettingError as error:
        fail(str(error))


@app.command("settings")
def show_settings(
    ctx: typer.Context,
    markdown: bool = typer.Option(False, "--markdown", help="Print the docs table."),
    as_json: bool = typer.Option(False, "--json", help="Print values as JSON."),
) -> None:
    """Show every setting, its value, where the value came from and what it does."""
    settings = settings_of(ctx)
    if markdown:
        print(settings_markdown(), end="")
        return
    if as_json:
        print(json.dumps(dict(settings.values), indent=2, default=str))
        return
    table = Table("setting", "value", "from", "what it does")
    for s in SETTINGS:
        table.add_row(s.env_var, str(settings.values[s.name]), settings.sources[s.name], s.help)
    print_table(table)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create the database or migrate it to the newest schema."""
    from placehub.db.migrate import describe_url

    url = settings_of(ctx).database_url
    if not migrate_schema(url):
        console.print(f"Database at [bold]{describe_url(url)}[/] is already up to date.")


@db_app.command("partition")
def db_partition(
    ctx: typer.Context,
    months_ahead: int = typer.Option(3, "--months-ahead", help="Months to create ahead."),
) -> None:
    """PostgreSQL: partition Observations by month (once), then create the months ahead.

    Run it again daily (a timer): it adds the coming months and gives readings that arrived
    for a month without a partition their own.
    """
    from datetime import UTC, datetime

    from placehub.console import open_database
    from placehub.db.partitions import list_partitions, partition_observations

    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        moved = partition_observations(conn, datetime.now(UTC), months_ahead)
        partitions = list_partitions(conn)
    if moved:
        console.print(f"Observations partitioned by month ({moved} rows moved).")
    table = Table("partition", "month", "rows (estimate)")
    for p in partitions:
        table.add_row(p.name, f"{p.month:%Y-%m}", str(p.rows))
    print_table(table)


@db_app.command("drop-month")
def db_drop_month(
    ctx: typer.Context,
    month: str = typer.Argument(..., help="The month to drop, as YYYY-MM."),
    yes: bool = typer.Option(False, "--yes", help="Really drop it (there is no undo)."),
) -> None:
    """PostgreSQL: drop every Observation of one past month (retention by partition)."""
    import time

    from placehub.console import open_database
    from placehub.db.partitions import drop_month, parse_month

    wanted = parse_month(month)
    if not yes:
        fail(f"dropping {wanted:%Y-%m} deletes its Observations for good: add --yes")
    started = time.perf_counter()
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        rows = drop_month(conn, wanted)
    console.print(f"Dropped {wanted:%Y-%m} (about {rows} Observations) in "
                  f"{time.perf_counter() - started:.2f} s.")


@app.command()
def serve(
    ctx: typer.Context,
    host: str = typer.Option(None, help="Address to listen on (PLACEHUB_HOST)."),
    port: int = typer.Option(None, help="Port to listen on (PLACEHUB_PORT)."),
) -> None:
    """Run the web server: the UI, /api, /sta/v1.1 and the ingest webhooks."""
    settings = with_overrides(ctx, host=host, port=port)
    run_server(settings)


def server_url(settings: Settings) -> str:
    """The address to open in a browser on this machine for the server ``settings`` describe
    (a server listening on every address is reached through loopback)."""
    host = "127.0.0.1" if settings.host in {"0.0.0.0", "::", ""} else settings.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.port}"


def run_server(settings: Settings) -> None:
    """Create or migrate the database (saying so) and serve the app with uvicorn until stopped.

    While no administrator exists, a one-time link to create the first one is printed.
    """
    from placehub.access import first_run
    from placehub.care import schedule as care_schedule
    from placehub.governance import schedule as retention_schedule
    from placehub.web.app import create_app

    if settings.anonymous_write and not is_loopback(settings.host):
        fail(
            "PLACEHUB_ANONYMOUS_WRITE=true lets anyone write: it is only allowed when the server "
            "listens on loopback (--host 127.0.0.1)."
        )
    migrate_schema(settings.database_url)
    application = create_app(settings)
    retention_schedule.attach(application)
    care_schedule.attach(application)
    # The street map's features (from its cache file, or a couple of seconds reading the OSM
    # extract the first time), so the first map a visitor opens does not wait for them.
    from placehub.places.basemap import basemap_of
    from placehub.web.basemap import basemap_extract

    basemap_of(basemap_extract(settings), settings.basemap_file or None)
    # Everything loaded so far lives as long as the server: keep it out of the collector's full
    # passes, which otherwise rescan it every few requests (about 10% of a 1,000-row
    # CreateObservations request).
    gc.freeze()
    console.print(
        f"placehub serving at http://{settings.host}:{settings.port}/ (SensorThings at /sta/v1.1)"
    )
    with application.state.database.begin() as conn:
        token = first_run.offer_setup(conn)
    if token:
        console.print(
            "[bold]No administrator yet.[/] Create the first one at\n"
            f"  {server_url(settings)}/setup?token={token}\n"
            f"(the link works once, for {first_run.SETUP_HOURS} hours; each start makes a new "
            "one, and none once an administrator exists)", soft_wrap=True)
    uvicorn.run(application, host=settings.host, port=settings.port, log_level=settings.log_level,
                proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips)


# Each concern adds its commands (imported here, after ``app`` exists: the demo's commands
# use ``run_server`` from this module).
from placehub.access import cli as access_cli  # noqa: E402
from placehub.alerts import cli as alerts_cli  # noqa: E402
from placehub.area import cli as area_cli  # noqa: E402
from placehub.assets import cli as assets_cli  # noqa: E402
from placehub.care import cli as care_cli  # noqa: E402
from placehub.demo import cli as demo_cli  # noqa: E402
from placehub.governance import cli as governance_cli  # noqa: E402
from placehub.ingest import cli as ingest_cli  # noqa: E402
from placehub.insight import cli as insight_cli  # noqa: E402
from placehub.places import cli as places_cli  # noqa: E402
from placehub.planning import cli as planning_cli  # noqa: E402
from placehub.reports import cli as reports_cli  # noqa: E402
from placehub.rounds import cli as rounds_cli  # noqa: E402
from placehub.sta import cli as sta_cli  # noqa: E402

for _register in (access_cli.register, ingest_cli.register, places_cli.register,
                  area_cli.register, assets_cli.register, rounds_cli.register, alerts_cli.register,
                  insight_cli.register, demo_cli.register, sta_cli.register,
                  planning_cli.register, reports_cli.register, governance_cli.register,
                  care_cli.register):
    _register(app)


def main() -> None:
    app()
