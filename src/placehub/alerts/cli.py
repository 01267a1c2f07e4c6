"""`placehub air ...` (air-quality import and annual report) and `placehub alerts ...`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from placehub.access.service import Principal, ensure_organisation
from placehub.alerts import air_import, air_report
from placehub.alerts import air_quality as aq
from placehub.console import console, fail, open_database, progress, settings_of
from placehub.errors import PlacehubError

# The CLI runs with the database's own rights (whoever can run it can read the file).
CLI_PRINCIPAL = Principal(username="cli", write_anywhere=True)

air_app = typer.Typer(help="Air quality: import hourly series, report against the UK objectives.",
                      no_args_is_help=True)


@air_app.command("import")
def air_import_command(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="CSV in the Defra/openair layout (date, no2, pm10, ...)."),
    site: str = typer.Option(..., "--site", help="Station name, e.g. 'London Marylebone Road'."),
    latitude: float = typer.Option(..., "--latitude", help="Station latitude (WGS84)."),
    longitude: float = typer.Option(..., "--longitude", help="Station longitude (WGS84)."),
    org: str = typer.Option("council", "--org", help="Owning organisation slug (created if "
                            "missing)."),
    visibility: str = typer.Option("public", help="public, partners, organisation or "
                                   "restricted."),
    columns: str = typer.Option("", help="Only these columns, comma separated (default all)."),
    ppb: str = typer.Option("", help="Columns reported in ppb (e.g. no2); converted to µg/m³ "
                            "in reports."),
    source: str = typer.Option("", help="Where the data comes from, kept on the Thing."),
) -> None:
    """Load an hourly series as Observations of one station; importing again adds nothing."""
    settings = settings_of(ctx)
    if visibility not in ("public", "partners", "organisation", "restricted"):
        fail(f"visibility {visibility!r}: use public, partners, organisation or restricted")
    wanted = [c.strip().lower() for c in columns.split(",") if c.strip()] or None
    in_ppb = {air_import.COLUMNS[c].quantity for c in ppb.split(",") if c.strip()
              in air_import.COLUMNS}
    total = air_import.count_rows(file)
    try:
        with open_database(settings) as database:
            with database.begin() as conn:
                organisation = ensure_organisation(conn, org, org)
            with progress() as bar:
                task = bar.add_task(f"Importing {file.name}", total=total)
                report = air_import.import_series(
                    database, CLI_PRINCIPAL, file, site=site, latitude=latitude,
                    longitude=longitude, organisation_id=organisation,
                    visibility=visibility, columns=wanted, ppb=in_ppb, source=source,
                    on_progress=lambda done: bar.update(task, completed=done))
    except PlacehubError as error:
        fail(error.message)
    console.print(
        f"Station [bold]{site}[/] (Thing {report.thing_id}): {report.rows_read} rows, "
        f"{report.observations_written} observations written, {report.duplicates} already "
        f"there, {report.missing_values} missing values."
    )
    for problem in report.errors[:20]:
        console.print(f"[red]{problem}[/]")


@air_app.command("sites")
def air_sites_command(ctx: typer.Context,
                      as_json: bool = typer.Option(False, "--json")) -> None:
    """List the air-quality stations and the pollutants they measure."""
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        sites = air_report.air_sites(conn, CLI_PRINCIPAL)
    if as_json:
        print(json.dumps(sites, indent=2, default=str))
        return
    table = Table("id", "station", "pollutants", "years")
    for s in sites:
        years = sorted({y for d in s["datastreams"].values() for y in d["years"]})
        table.add_row(str(s["id"]), s["name"], ", ".join(s["datastreams"]),
                      f"{years[0]}–{years[-1]}" if years else "")
    console.print(table)


@air_app.command("report")
def air_report_command(
    ctx: typer.Context,
    year: int = typer.Option(..., "--year", help="Calendar year (UTC)."),
    site: str = typer.Option(None, "--site", help="Station id or name (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON."),
    csv_path: Path = typer.Option(None, "--csv", help="Also write the table as CSV here "
                                  "('-' for standard output)."),
    capture_threshold: float = typer.Option(
        aq.ANNUAL_CAPTURE_THRESHOLD, "--capture-threshold",
        help="Data capture below which annual results are indicative (0.85 Defra practice; "
             "0.75 the objectives' minimum)."),
) -> None:
    """How every station did against the UK air-quality objectives in YEAR."""
    try:
        with open_database(settings_of(ctx)) as database, database.connect() as conn:
            report = air_report.annual_report(conn, CLI_PRINCIPAL, year, site,
                                              capture_threshold)
    except PlacehubError as error:
        fail(error.message)
    except ValueError as error:
        fail(str(error))
    if csv_path is not None:
        text = air_report.report_csv(report)
        if str(csv_path) == "-":
            print(text, end="")
            return
        csv_path.write_text(text, encoding="utf-8")
    if as_json:
        print(json.dumps(report, indent=2))
        return
    if not report:
        console.print(f"No air-quality stations with data for {year}.")
        return
    table = Table("station", "objective", "value", "limit", "capture", "result",
                  title=f"Air quality objectives {year}")
    for row in air_report.report_rows(report):
        if row["exceeded"] is None:
            outcome = "no data"
        else:
            outcome = "[red]exceeded[/]" if row["exceeded"] else "[green]met[/]"
        if row["indicative"]:
            outcome += " (indicative)"
        value = row["value"]
        shown = "" if value is None else (f"{value:g} µg/m³" if row["allowed_exceedances"]
                                          is None else f"{value:g} times")
        limit = f"{row['limit_ugm3']:g}" + (
            f" (> {row['allowed_exceedances']}×)" if row["allowed_exceedances"] is not None
            else "")
        table.add_row(row["site"], row["objective"], shown, limit,
                      f"{row['data_capture']:.1%}", outcome)
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add `placehub air` and `placehub alerts` to the `placehub` command."""
    app.add_typer(air_app, name="air")
