"""Commands of placehub.assets: the thresholds statuses are judged by, and one asset in full."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table
from sqlalchemy import Connection

from placehub.access.service import COMMAND_LINE, organisation_id
from placehub.assets.detail import asset_detail
from placehub.assets.thresholds import (
    THRESHOLD_HELP,
    THRESHOLD_NAMES,
    clear_organisation_threshold,
    organisation_thresholds,
    set_organisation_threshold,
    type_defaults,
)
from placehub.assets.types import ASSET_TYPES
from placehub.console import console, fail, open_database, print_json, settings_of
from placehub.errors import NotFound

app = typer.Typer(help="Council assets: thresholds and one asset in full.", no_args_is_help=True)
thresholds_app = typer.Typer(help="Thresholds: type defaults and organisation overrides.",
                             no_args_is_help=True)
app.add_typer(thresholds_app, name="thresholds")


def _organisation(conn: Connection, slug: str) -> int:
    try:
        return organisation_id(conn, slug)
    except NotFound:
        fail(f"no organisation {slug!r}: list them with 'placehub orgs list'")


@thresholds_app.command("list")
def list_command(ctx: typer.Context,
                 as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show each asset type's default thresholds and every organisation's overrides."""
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        overrides = organisation_thresholds(conn)
    if as_json:
        print_json({"type_defaults": {name: type_defaults(name).values()
                                      for name in ASSET_TYPES},
                    "organisations": overrides})
        return
    table = Table("asset type", *THRESHOLD_NAMES)
    for name in ASSET_TYPES:
        table.add_row(name, *(f"{v:g}" for v in type_defaults(name).values().values()))
    console.print(table)
    if overrides:
        table = Table("organisation", "asset type", "threshold", "value", "set by", "when")
        for row in overrides:
            table.add_row(str(row["organisation_id"]), row["asset_type"], row["name"],
                          f"{row['value']:g}", row["updated_by"], row["updated_at"])
        console.print(table)
    else:
        console.print("No organisation overrides: every asset uses its type's defaults "
                      "(and its own properties.thresholds, if set).")


@thresholds_app.command("set")
def set_command(ctx: typer.Context, organisation: str = typer.Argument(..., help="slug"),
                asset_type: str = typer.Argument(...), name: str = typer.Argument(...),
                value: float = typer.Argument(...),
                by: str = typer.Option("cli", "--by", help="Who made the change.")) -> None:
    """Set an organisation's threshold for its assets of a type, e.g. litter_bin full 0.9."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        org = _organisation(conn, organisation)
        try:
            number = set_organisation_threshold(conn, org, asset_type, name, value,
                                                datetime.now(UTC), by)
        except ValueError as error:
            fail(str(error))
    console.print(f"{organisation}: {asset_type} {name} = {number:g} ({THRESHOLD_HELP[name]})")


@thresholds_app.command("clear")
def clear_command(ctx: typer.Context, organisation: str = typer.Argument(..., help="slug"),
                  asset_type: str = typer.Argument(...), name: str = typer.Argument(...)) -> None:
    """Go back to the type default for one of an organisation's thresholds."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        removed = clear_organisation_threshold(conn, _organisation(conn, organisation),
                                               asset_type, name)
    console.print(f"{organisation}: {asset_type} {name} "
                  + ("back to the type default" if removed else "had no override"))


@app.command("show")
def show_command(ctx: typer.Context, thing_id: int = typer.Argument(..., help="Thing id"),
                 as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """One asset: status, level, ward and LSOA, forecast, open alerts, service history."""
    at = datetime.now(UTC)
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        try:
            detail = asset_detail(conn, COMMAND_LINE, thing_id, at).as_dict()
        except NotFound as error:
            fail(error.message)
    if as_json:
        print_json(detail)
        return
    console.print(f"[bold]{detail['name']}[/] ({detail['type_label']}): "
                  f"{detail['status_label']}")
    for place in detail["places"]:
        console.print(f"  {place['layer']}: {place['name']} ({place['code']})")
    forecast = detail["forecast"]
    if forecast:
        console.print(f"  {forecast['probability']:.0%} chance of {forecast['event']} by "
                      f"{forecast['until']} ({forecast['method']})")
    console.print(f"  open alerts: {len(detail['alerts'])}; services recorded: "
                  f"{len(detail['service_history'])}")


def register(root: typer.Typer) -> None:
    """Add this concern's commands to the `placehub` command."""
    root.add_typer(app, name="assets")
