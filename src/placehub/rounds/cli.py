"""Commands of placehub.rounds: plan a day, print round sheets, simulate policies."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy import select

from placehub.access.tables import organisations
from placehub.config import Settings
from placehub.console import (
    console,
    fail,
    open_database,
    print_table,
    progress,
    settings_of,
)
from placehub.rounds import service as rounds
from placehub.rounds import sheets
from placehub.rounds.demand import BinSite

app = typer.Typer(help="Service rounds: forecast need, plan rounds, round sheets, simulation.",
                  no_args_is_help=True)


class Service(StrEnum):
    waste = "waste"
    watering = "watering"


class SheetFormat(StrEnum):
    html = "html"
    csv = "csv"
    gpx = "gpx"


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"date {text!r} is not YYYY-MM-DD")


def _parse_at(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--at {text!r} is not an ISO time such as 2026-11-23T06:00:00+00:00")
    if value.tzinfo is None:
        fail(f"--at {text!r} has no timezone: add Z or +00:00")
    return value.astimezone(UTC)


@app.command("plan")
def plan_command(
    ctx: typer.Context,
    service: Service = typer.Option(..., help="waste (litter bins) or watering (flowerbeds)."),
    day: str = typer.Option(..., "--date", help="Day of the round, YYYY-MM-DD."),
    at: str = typer.Option(None, help="Use readings up to this time (default: now)."),
    organisation: str = typer.Option(None, help="Organisation slug (needed if several)."),
    seed: int = typer.Option(None, help="Solver seed (default: the rounds_seed setting)."),
    runtime: float = typer.Option(None, help="Solver time in seconds (default: setting)."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole plan as JSON."),
) -> None:
    """Forecast need, choose assets and route the fleet for a day; store the plan."""
    settings = settings_of(ctx)
    with open_database(settings) as database, database.begin() as conn:
        rows = conn.execute(select(organisations.c.id, organisations.c.slug)).all()
        if organisation:
            chosen = [r.id for r in rows if r.slug == organisation]
            if not chosen:
                fail(f"no organisation {organisation!r}: see 'placehub users' commands")
        elif len(rows) == 1:
            chosen = [rows[0].id]
        else:
            fail("say which organisation with --organisation SLUG"
                 if rows else "no organisation yet: create one (or run the demo) first")
        request = rounds.PlanRequest(service.value, _parse_day(day), _parse_at(at), chosen[0],
                                     seed, runtime)
        with console.status("Forecasting and routing..."):
            plan = rounds.make_plan(conn, settings, request)
        plan_id = rounds.save_plan(conn, plan, chosen[0], "cli", datetime.now(UTC))
        detail = rounds.plan_detail(conn, plan_id)
    if as_json:
        print(json.dumps(detail, indent=2))
        return
    table = Table(title=f"Plan {plan_id}: {service.value} round on {plan.day}")
    for column in ("vehicle", "stops", "trips", "km", "drive h", "work h", "start", "back"):
        table.add_column(column)
    for route in plan.routes:
        table.add_row(route.vehicle, str(len(route.asset_stops)), str(route.trips),
                      f"{route.km:.1f}", f"{route.drive_seconds / 3600:.1f}",
                      f"{route.work_seconds / 3600:.1f}", route.start_time.strftime("%H:%M"),
                      route.end_time.strftime("%H:%M"))
    print_table(table)
    summary = plan.summary()
    console.print(f"{summary['stops']} stops, {summary['km']} km; {summary['mandatory']} "
                  f"mandatory ({summary['mandatory_left_out']} did not fit); "
                  f"{summary['left_out']} assets left out with reasons "
                  f"(placehub rounds show {plan_id}). Distances: {plan.distance_source}.")
    for note in plan.notes:
        console.print(f"[yellow]Note:[/] {note}")


@app.command("show")
def show_command(ctx: typer.Context, plan_id: int) -> None:
    """Print a stored plan as JSON."""
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        print(json.dumps(rounds.plan_detail(conn, plan_id), indent=2))


@app.command("sheet")
def sheet_command(
    ctx: typer.Context,
    plan_id: int,
    vehicle: int = typer.Option(1, help="Vehicle number on the plan (1-based)."),
    fmt: SheetFormat = typer.Option(SheetFormat.html, "--format", help="html, csv or gpx."),
    output: Path = typer.Option(None, "-o", "--output", help="File to write (default: stdout)."),
) -> None:
    """Write a vehicle's round sheet: printable HTML, CSV, or GPX for navigation."""
    settings = settings_of(ctx)
    with open_database(settings) as database, database.connect() as conn:
        detail = rounds.plan_detail(conn, plan_id)
        if fmt is SheetFormat.html:
            text = sheets.sheet_html(detail, vehicle, settings.council_name)
        elif fmt is SheetFormat.csv:
            text = sheets.sheet_csv(detail, vehicle)
        else:
            text = sheets.sheet_gpx(detail, vehicle)
    if output:
        output.write_text(text)
        console.print(f"Wrote {output}")
    else:
        print(text, end="")


@app.command("simulate")
def simulate_command(
    ctx: typer.Context,
    service: Service = typer.Option(Service.waste, help="Only waste is simulated."),
    days: int = typer.Option(28, help="Days to simulate (after a 14-day warm-up)."),
    seed: int = typer.Option(1, help="Seed of the demand, the sensors and the solver."),
    bins: int = typer.Option(400, help="Bins to generate when the database has none."),
    policies: str = typer.Option("fixed,threshold,placehub", help="Comma-separated policies."),
    iterations: int = typer.Option(1500, help="Solver iterations per day (reproducible)."),
    vehicles: int = typer.Option(4, help="Vehicles available each day."),
    as_json: bool = typer.Option(False, "--json", help="Print the full JSON report."),
) -> None:
    """Compare fixed rounds, a fill threshold and placehub's forecast + routing on one demand."""
    from placehub.rounds.demand import DemandModel, villages_from_osm
    from placehub.rounds.simulation import (
        POLICIES,
        Simulation,
        SimulationConfig,
        report,
        rutland_bins,
    )

    if service is not Service.waste:
        fail("only --service waste can be simulated so far")
    chosen = [p.strip() for p in policies.split(",") if p.strip()]
    unknown = sorted(set(chosen) - set(POLICIES))
    if unknown:
        fail(f"unknown policy {', '.join(unknown)}: use {', '.join(POLICIES)}")
    settings = settings_of(ctx)
    pbf = settings.rounds_road_network or str(settings.data_path / "rutland" / "roads.osm.pbf")
    if not Path(pbf).exists():
        fail(f"no OSM extract at {pbf}: set PLACEHUB_DATA_DIR or rounds_road_network")
    sites, source, places = _demo_bins(settings)
    if not sites:
        sites, source = rutland_bins(pbf, bins, seed), f"{bins} generated on Rutland streets"
    where = {key: places[key] for key in ("depot", "tip") if key in places}
    try:
        config = SimulationConfig(days=days, seed=seed, max_iterations=iterations,
                                  vehicles=vehicles, **where)  # type: ignore[arg-type]
    except ValueError as error:
        fail(str(error))
    distance = rounds.distance_from_settings(settings)
    simulation = Simulation(sites, DemandModel(seed, villages_from_osm(pbf)), distance, config)
    with progress() as bar:
        task = bar.add_task("Simulating", total=days * len(chosen))
        results = simulation.run(chosen, on_day=lambda _p, _d: bar.advance(task))
    output = report(results, config, distance.name, source)
    if as_json:
        print(json.dumps(output, indent=2))
        return
    table = Table(title=f"{days} days, {len(sites)} bins, seed {seed} ({distance.name})")
    columns = ("policy", "km", "stops", "vehicle_days", "crew_hours", "overflow_bin_days",
               "overflow_share", "mean_fill_at_emptying", "co2_kg")
    for column in columns:
        table.add_column(column)
    for figures in output["policies"].values():  # type: ignore[attr-defined]
        table.add_row(*(str(figures[c]) for c in columns))
    print_table(table)
    console.print(f"CO2 at {output['co2_kg_per_km']} kg/km ({output['co2_factor_source']}).")
    if output["savings"]:
        console.print(f"Savings: {output['savings']}")


def _demo_bins(settings: Settings) -> tuple[list[BinSite], str, dict[str, tuple[float, float]]]:
    """The database's litter bins (e.g. the Rutland demo's) and its depot and tip, if any.

    A demo bin keeps its setting, settlement and ``near_park`` and is known to the demand
    model by its demo key, so the simulation draws the same demand the demo's history did.
    """
    from placehub.db import Database
    from placehub.db.migrate import schema_state
    from placehub.rounds.assets import read_assets
    from placehub.rounds.demand import site_from_properties

    if not schema_state(settings.database_url).current:
        return [], "", {}  # no usable database (nothing is created or migrated): generate bins
    database = Database(settings.database_url)
    try:
        with database.connect() as conn:
            found = read_assets(conn, "litter_bin", datetime.now(UTC), lookback_days=1)
            places = rounds.service_sites(conn)
    except Exception:  # noqa: BLE001 - no usable database means "generate bins"
        return [], "", {}
    finally:
        database.dispose()
    sites = [site_from_properties(a.thing_id, a.lon, a.lat,
                                  {**a.properties, "capacity_litres": a.capacity_litres}, a.name)
             for a in found.assets]
    return sites, f"{len(sites)} litter bins from the database", places


def register(app_: typer.Typer) -> None:
    """Add this concern's commands to the `placehub` command."""
    app_.add_typer(app, name="rounds")
