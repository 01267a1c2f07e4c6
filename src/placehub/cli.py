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


@app.command()
def serve(
    ctx: typer.Context,
    host: str = typer.Option(None, help="Address to listen on (PLACEHUB_HOST)."),
    port: int = typer.Option(None, help="Port to listen on (PLACEHUB_PORT)."),
) -> None:
    """Run the web server: the UI, /api, /sta/v1.1 and the ingest webhooks."""
    settings = with_overrides(ctx, host=host, port=port)
    run_server(settings)


def run_server(settings: Settings) -> None:
    """Create or migrate the database (saying so) and serve the app with uvicorn until stopped."""
    from placehub.web.app import create_app

    if settings.anonymous_write and not is_loopback(settings.host):
        fail(
            "PLACEHUB_ANONYMOUS_WRITE=true lets anyone write: it is only allowed when the server "
            "listens on loopback (--host 127.0.0.1)."
        )
    migrate_schema(settings.database_url)
    application = create_app(settings)
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
    uvicorn.run(application, host=settings.host, port=settings.port, log_level=settings.log_level,
                proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips)


# Each concern adds its commands (imported here, after ``app`` exists: the demo's commands
# use ``run_server`` from this module).
from placehub.access import cli as access_cli  # noqa: E402
from placehub.alerts import cli as alerts_cli  # noqa: E402
from placehub.area import cli as area_cli  # noqa: E402
from placehub.assets import cli as assets_cli  # noqa: E402
from placehub.demo import cli as demo_cli  # noqa: E402
from placehub.ingest import cli as ingest_cli  # noqa: E402
from placehub.insight import cli as insight_cli  # noqa: E402
from placehub.places import cli as places_cli  # noqa: E402
from placehub.planning import cli as planning_cli  # noqa: E402
from placehub.rounds import cli as rounds_cli  # noqa: E402
from placehub.sta import cli as sta_cli  # noqa: E402

for _register in (access_cli.register, ingest_cli.register, places_cli.register,
                  area_cli.register, assets_cli.register, rounds_cli.register, alerts_cli.register,
                  insight_cli.register, demo_cli.register, sta_cli.register,
                  planning_cli.register):
    _register(app)


def main() -> None:
    app()
