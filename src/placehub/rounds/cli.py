"""Commands of placehub.rounds: plan a day, print round sheets, simulate policies."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from sqlalchemy import Connection, select

from placehub.access.service import COMMAND_LINE
from placehub.access.tables import organisations
from placehub.area import area_files
from placehub.assets.history import Asset
from placehub.config import Settings
from placehub.console import (
    console,
    fail,
    open_database,
    print_table,
    progress,
    settings_of,
)
from placehub.errors import BadRequest
from placehub.governance.cli import keep_run
from placehub.places.distance import DistanceSource
from placehub.rounds import access, sheets
from placehub.rounds import service as rounds
from placehub.rounds.demand import BinSite
from placehub.rounds.planning import SelectionRules, rules_for
from placehub.rounds.scenarios import Scenario
from placehub.rounds.watering import Bed

# A prize looking further ahead than the forecaster's four-week lookback says nothing more.
MAX_PRIZE_HORIZON_DAYS = 28
# A risk prize beyond the length of any round would make every risky asset a stop anyway.
MAX_RISK_PRIZE_KM = 1000

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


def _planning_organisation(conn: Connection, slug: str | None, service: Service) -> int:
    """The organisation named by ``slug``, or the one that owns the service's assets."""
    rows = conn.execute(select(organisations.c.id, organisations.c.slug)).all()
    if not rows:
        fail("no organisation yet: create one (or run the demo) first")
    requested = None
    if slug:
        requested = next((int(r.id) for r in rows if r.slug == slug), None)
        if requested is None:
            fail(f"no organisation {slug!r}: see 'placehub users' commands")
    try:
        return access.planning_organisation(conn, COMMAND_LINE, requested, service.value)
    except BadRequest:
        fail("say which organisation with --organisation SLUG: several could plan this round")


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
    with open_database(settings) as database:
        # Read, solve, then write: the solve holds no transaction (nor SQLite's write lock).
        with database.connect() as conn:
            organisation_id = _planning_organisation(conn, organisation, service)
            request = rounds.PlanRequest(service.value, _parse_day(day), _parse_at(at),
                                         organisation_id, seed, runtime)
            with console.status("Forecasting..."):
                inputs = rounds.prepare_plan(conn, settings, request)
        with console.status(f"Routing {len(inputs.candidates)} candidates..."):
            plan = rounds.solve_plan(inputs, settings)
        with database.begin() as conn:
            plan_id = rounds.save_plan(conn, plan, organisation_id, "cli", datetime.now(UTC))
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


def parse_seeds(text: str) -> list[int]:
    """Seeds from "1-10", "1,4,7" or "3" (a clear error otherwise)."""
    seeds: list[int] = []
    try:
        for part in (p.strip() for p in text.split(",") if p.strip()):
            first, _, last = part.partition("-")
            low, high = int(first), int(last or first)
            if low < 0 or high < low:
                raise ValueError
            seeds.extend(range(low, high + 1))
    except ValueError:
        fail(f"--seeds {text!r} is not a list of seeds such as 1-10 or 1,4,7")
    if not seeds:
        fail("--seeds names no seed: use e.g. 1-10")
    return seeds


def _option(help_text: str) -> Any:
    return typer.Option(None, help=help_text, rich_help_panel="Scenario (overrides)")


@app.command("simulate")
def simulate_command(
    ctx: typer.Context,
    service: Service = typer.Option(Service.waste, help="waste (litter bins) or watering."),
    days: int = typer.Option(28, help="Days to simulate (after a 14-day warm-up)."),
    seed: int = typer.Option(1, help="Seed of the demand, the sensors and the solver."),
    seeds: str = typer.Option(None, help="Several seeds, e.g. 1-10: prints the spread."),
    start: str = typer.Option(None, help="First simulated day, YYYY-MM-DD (default: waste "
                                         "2026-03-30, over Easter; watering 2026-06-01)."),
    bins: int = typer.Option(400, help="Bins to generate when the database has none."),
    beds: int = typer.Option(40, help="Flowerbeds to generate when the database has none."),
    policies: str = typer.Option(None, help="Comma-separated policies (default: fixed and "
                                            "placehub; waste also has threshold, and oracle: "
                                            "placehub's selection on the true future fill)."),
    iterations: int = typer.Option(600, help="Solver iterations per day (reproducible)."),
    vehicles: int = typer.Option(None, help="Vehicles available each day (waste 4, "
                                            "watering 2 bowsers)."),
    scenario: str = typer.Option("realistic", help="realistic, perfect, demand, "
                                                   "sensor-faults or operations."),
    fixed_schedule: str = typer.Option(
        "", help="Fixed rounds per area, e.g. town_centre=daily,town=3x,village=2x,"
                 "rural=weekly (frequencies daily, 3x, 2x, weekly)."),
    workers: int = typer.Option(1, help="Seeds simulated at once (processes)."),
    risk_threshold: float = typer.Option(
        None, help="placehub's selection: visit when the risk of overflow (or of a dry bed) "
                   "before the next chance exceeds this (default: waste 0.2, watering 0.5)."),
    nearby_boost: float = typer.Option(
        None, help="placehub's selection: prize multiplier of optional assets near a "
                   "mandatory one (default: waste 3, watering 8)."),
    risk_prize_km: float = typer.Option(
        None, help="placehub's selection: km of driving that a risk of 1 before the next "
                   "chance is worth for an asset not yet mandatory (default: 0, off)."),
    prize_horizon_days: float = typer.Option(
        None, help="placehub's selection: an asset is optional when it would need a visit "
                   "within this many days after the next chance (default: waste 1.5, "
                   "watering 3)."),
    calendar: bool = typer.Option(
        True, "--calendar/--no-calendar",
        help="The council knows bank holidays and its events in advance: placehub forecasts "
             "them, fixed rounds add emptyings on them (see --fixed-extra)."),
    known_bank_holiday_factor: float = typer.Option(
        1.5, help="The council's estimate of bank-holiday litter (town centres, parks)."),
    known_event_factor: float = typer.Option(
        2.0, help="The council's estimate of an event day's litter."),
    fixed_extra: bool = typer.Option(
        True, "--fixed-extra/--no-fixed-extra",
        help="With --calendar, fixed rounds also empty the bins a surge day concerns."),
    as_json: bool = typer.Option(False, "--json", help="Print the full JSON report."),
    weather_sd: float = _option("SD of the log county-wide daily demand factor."),
    weather_persistence: float = _option("Share of yesterday's weather carried to today."),
    bank_holiday_factor: float = _option("Demand on bank holidays (town centres, parks)."),
    events_per_28_days: float = _option("Local events (a town's bins fill faster)."),
    event_factor: float = _option("Demand multiplier of an event day."),
    drift_share: float = _option("Share of bins whose rate drifts."),
    drift_per_week: float = _option("Largest drift of a rate per week."),
    jump_share: float = _option("Share of bins whose rate jumps once."),
    dead_share: float = _option("Share of sensors that die."),
    stuck_share: float = _option("Share of sensors that get stuck on one value."),
    battery_death_share: float = _option("Share of sensors whose battery fades out."),
    spike_probability: float = _option("Probability a reading is a spike."),
    missing_probability: float = _option("Probability a reading is lost."),
    late_reading_share: float = _option("Share of readings that arrive late."),
    late_reading_hours: float = _option("Longest delay of a late reading (hours)."),
    missed_share: float = _option("Share of emptyings missed."),
    partial_share: float = _option("Share of emptyings that leave some waste."),
    partial_left: float = _option("Share of the content a partial emptying leaves."),
    late_report_share: float = _option("Share of emptyings reported late."),
    late_report_hours: float = _option("Longest delay of a late report (hours)."),
) -> None:
    """Compare fixed rounds, a fill threshold and placehub's forecast + routing on one demand,
    in a world that departs from the forecaster's model (see docs/rounds.md, "Scenarios")."""
    from placehub.rounds.demand import parse_fixed_schedule, villages_from_osm
    from placehub.rounds.scenarios import scenario_named

    overrides = {
        "weather_sd": weather_sd, "weather_persistence": weather_persistence,
        "bank_holiday_factor": bank_holiday_factor, "events_per_28_days": events_per_28_days,
        "event_factor": event_factor, "drift_share": drift_share,
        "drift_per_week": drift_per_week, "jump_share": jump_share, "dead_share": dead_share,
        "stuck_share": stuck_share, "battery_death_share": battery_death_share,
        "spike_probability": spike_probability, "missing_probability": missing_probability,
        "late_reading_share": late_reading_share, "late_reading_hours": late_reading_hours,
        "missed_share": missed_share, "partial_share": partial_share,
        "partial_left": partial_left, "late_report_share": late_report_share,
        "late_report_hours": late_report_hours,
    }
    try:
        world = scenario_named(scenario, **overrides)
        schedule = parse_fixed_schedule(fixed_schedule)
    except ValueError as error:
        fail(str(error))
    chosen_seeds = parse_seeds(seeds) if seeds else [seed]
    for name, value in (("--known-bank-holiday-factor", known_bank_holiday_factor),
                        ("--known-event-factor", known_event_factor)):
        if not value > 0:
            fail(f"{name} {value}: use a factor above 0 (1: an ordinary day)")
    rules = rules_for(service.value)
    if risk_threshold is not None:
        if not 0 < risk_threshold <= 1:
            fail(f"--risk-threshold {risk_threshold}: use a probability between 0 and 1")
        rules = dataclasses.replace(rules, mandatory_probability=risk_threshold)
    if nearby_boost is not None:
        if not 1 <= nearby_boost < math.inf:
            fail(f"--nearby-boost {nearby_boost}: use a number of 1 or more")
        rules = dataclasses.replace(rules, nearby_boost=nearby_boost)
    if prize_horizon_days is not None:
        if not 0 <= prize_horizon_days <= MAX_PRIZE_HORIZON_DAYS:
            fail(f"--prize-horizon-days {prize_horizon_days}: use 0 to "
                 f"{MAX_PRIZE_HORIZON_DAYS} days")
        rules = dataclasses.replace(rules, prize_horizon_days=prize_horizon_days)
    if risk_prize_km is not None:
        if not 0 <= risk_prize_km <= MAX_RISK_PRIZE_KM:
            fail(f"--risk-prize-km {risk_prize_km}: use 0 to {MAX_RISK_PRIZE_KM} km")
        rules = dataclasses.replace(rules, risk_prize_m=risk_prize_km * 1000)
    first_day = _parse_day(start) if start else None
    settings = settings_of(ctx)
    pbf = settings.rounds_road_network or str(area_files(settings).roads)
    if not Path(pbf).exists():
        fail(f"no OSM extract at {pbf}: set PLACEHUB_DATA_DIR or rounds_road_network")
    if workers < 1:
        fail(f"--workers {workers}: use 1 or more")
    distance = rounds.distance_from_settings(settings)
    villages = villages_from_osm(pbf)
    from placehub.rounds.simulation import simulation_run

    started_at, started = datetime.now(UTC), time.perf_counter()
    if service is Service.watering:
        reports = _simulate_watering(settings, pbf, distance, days, chosen_seeds, first_day,
                                     beds, policies, iterations, vehicles or 2, world, workers,
                                     as_json, rules)
        keep_run(settings, simulation_run(reports, started_at, time.perf_counter() - started,
                                          "cli"))
        return
    from placehub.rounds.simulation import (
        POLICIES,
        PrecomputedDistance,
        SeedJob,
        SimulationConfig,
        run_seeds,
        rutland_bins,
        spread,
    )

    chosen = [p.strip() for p in (policies or "fixed,placehub").split(",") if p.strip()]
    unknown = sorted(set(chosen) - set(POLICIES))
    if unknown:
        fail(f"unknown policy {', '.join(unknown)}: use {', '.join(POLICIES)}")
    sites, source, places = _demo_bins(settings)
    where = {key: places[key] for key in ("depot", "tip") if key in places}
    jobs: list[SeedJob] = []
    options: dict[str, Any] = {str(k): v for k, v in where.items()}
    if first_day:
        options["start"] = first_day
    with console.status("Preparing bins and road distances..."):
        for number in chosen_seeds:
            run_sites = sites or rutland_bins(pbf, bins, number)
            run_source = source or f"{bins} generated on Rutland streets"
            try:
                config = SimulationConfig(
                    days=days, seed=number, max_iterations=iterations, vehicles=vehicles or 4,
                    scenario=world, fixed_schedule=schedule, rules=rules, calendar=calendar,
                    calendar_bank_holiday_factor=known_bank_holiday_factor,
                    calendar_event_factor=known_event_factor,
                    fixed_extra_on_surge_days=fixed_extra, **options)
            except ValueError as error:
                fail(str(error))
            points = [config.depot, config.tip] + [(s.lon, s.lat) for s in run_sites]
            if not jobs or not sites:
                matrices = PrecomputedDistance.from_source(distance, points)
            jobs.append(SeedJob(tuple(run_sites), villages, matrices, config, tuple(chosen),
                                run_source))
    with progress() as bar:
        task = bar.add_task(f"Simulating {len(jobs)} seed{'s' if len(jobs) != 1 else ''}",
                            total=len(jobs))
        reports = run_seeds(jobs, workers, on_done=lambda _r: bar.advance(task))
    _print_simulation(reports, spread, as_json, days, len(jobs[0].sites), distance.name)
    keep_run(settings, simulation_run(reports, started_at, time.perf_counter() - started, "cli"))


def _print_simulation(reports: list[dict[str, object]], summarise: object, as_json: bool,
                      days: int, assets: int, distance_name: str) -> None:
    """Print one report, or several with their spread (JSON or tables)."""
    assert callable(summarise)
    if len(reports) == 1:
        output: dict[str, object] = reports[0]
    else:
        output = {"seeds": [r["seed"] for r in reports], "spread": summarise(reports),
                  "runs": reports}
    if as_json:
        print(json.dumps(output, indent=2))
        return
    first = reports[0]
    columns = [c for c in ("policy", "km", "stops", "vehicle_days", "crew_hours",
                           "overflow_bin_days", "dry_bed_days", "overflow_share",
                           "mean_fill_at_emptying", "co2_kg")
               if c in next(iter(first["policies"].values()))]  # type: ignore[attr-defined]
    for r in reports:
        table = Table(title=f"{days} days, {assets} assets, seed {r['seed']}, scenario "
                            f"{r['scenario']['name']} ({distance_name})")  # type: ignore[index]
        for column in columns:
            table.add_column(column)
        for figures in r["policies"].values():  # type: ignore[attr-defined]
            table.add_row(*(str(figures[c]) for c in columns))
        print_table(table)
        if r["savings"]:
            console.print(f"Savings: {r['savings']}")
    if len(reports) > 1:
        console.print_json(data=output["spread"])


def _database_assets(settings: Settings, asset_type: str
                     ) -> tuple[list[Asset], dict[str, tuple[float, float]]]:
    """The database's assets of a type and its depot and tip, if the database is usable."""
    from sqlalchemy.engine import make_url

    from placehub.assets.history import read_assets
    from placehub.db import Database
    from placehub.db.migrate import schema_state

    url = make_url(str(settings.database_url))
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        return [], {}  # do not create a database just to find it empty
    if not schema_state(settings.database_url).current:
        return [], {}  # nothing is created or migrated unasked: generate the assets
    database = Database(settings.database_url)
    try:
        with database.connect() as conn:
            found = read_assets(conn, asset_type, datetime.now(UTC), lookback_days=1)
            places = rounds.service_sites(conn)
    except Exception:  # noqa: BLE001 - no usable database means "generate the assets"
        return [], {}
    finally:
        database.dispose()
    return found.assets, places


def _demo_bins(settings: Settings) -> tuple[list[BinSite], str, dict[str, tuple[float, float]]]:
    """The database's litter bins (e.g. the Rutland demo's) and its depot and tip, if any.

    A demo bin keeps its setting, settlement and ``near_park`` and is known to the demand
    model by its demo key, so the simulation draws the same demand the demo's history did.
    """
    from placehub.rounds.demand import site_from_properties

    assets, places = _database_assets(settings, "litter_bin")
    sites = [site_from_properties(a.thing_id, a.lon, a.lat,
                                  {**a.properties, "capacity_litres": a.capacity_litres}, a.name)
             for a in assets]
    return sites, f"{len(sites)} litter bins from the database" if sites else "", places


def _database_beds(settings: Settings) -> tuple[list[Bed], str, dict[str, tuple[float, float]]]:
    """The database's flowerbeds (e.g. the Rutland demo's) and its depot, if any."""
    from placehub.rounds.demand import stable_id

    assets, places = _database_assets(settings, "flowerbed")
    beds = [Bed(stable_id(str(a.properties["demo_key"])) if a.properties.get("demo_key")
                else a.thing_id, a.lon, a.lat, a.name,
                float(a.properties.get("watering_threshold") or 22.0),
                int(a.capacity_litres))
            for a in assets]
    return beds, f"{len(beds)} flowerbeds from the database" if beds else "", places


def register(app_: typer.Typer) -> None:
    """Add this concern's commands to the `placehub` command."""
    app_.add_typer(app, name="rounds")


def _simulate_watering(settings: Settings, pbf: str, distance: DistanceSource, days: int,
                       seeds: list[int], first_day: date | None, beds: int,
                       policies: str | None, iterations: int, bowsers: int, world: Scenario,
                       workers: int, as_json: bool, rules: SelectionRules
                       ) -> list[dict[str, object]]:
    """``simulate --service watering``: fixed watering days against placehub's choice (its
    reports, once printed)."""
    from placehub.rounds.simulation import PrecomputedDistance, spread
    from placehub.rounds.watering import (
        WATERING_POLICIES,
        WateringConfig,
        WateringJob,
        run_watering_seed,
        rutland_beds,
    )

    chosen = [p.strip() for p in (policies or ",".join(WATERING_POLICIES)).split(",")
              if p.strip()]
    unknown = sorted(set(chosen) - set(WATERING_POLICIES))
    if unknown:
        fail(f"unknown watering policy {', '.join(unknown)}: use {', '.join(WATERING_POLICIES)}")
    found, source, places = _database_beds(settings)
    jobs: list[WateringJob] = []
    options: dict[str, Any] = {}
    if first_day:
        options["start"] = first_day
    if "depot" in places:
        options["depot"] = places["depot"]
    with console.status("Preparing flowerbeds and road distances..."):
        for number in seeds:
            run_beds = found or rutland_beds(pbf, beds, number)
            try:
                config = WateringConfig(days=days, seed=number, max_iterations=iterations,
                                        vehicles=bowsers, scenario=world, rules=rules,
                                        **options)
            except ValueError as error:
                fail(str(error))
            points = [config.depot] + [(b.lon, b.lat) for b in run_beds]
            if not jobs or not found:
                matrices = PrecomputedDistance.from_source(distance, points)
            jobs.append(WateringJob(tuple(run_beds), matrices, config, tuple(chosen),
                                    source or f"{beds} generated in Rutland's parks"))
    with progress() as bar:
        task = bar.add_task(f"Simulating watering, {len(jobs)} seed"
                            f"{'s' if len(jobs) != 1 else ''}", total=len(jobs))
        if workers > 1 and len(jobs) > 1:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
                futures = [pool.submit(run_watering_seed, job) for job in jobs]
                reports = []
                for future in futures:
                    reports.append(future.result())
                    bar.advance(task)
        else:
            reports = []
            for job in jobs:
                reports.append(run_watering_seed(job))
                bar.advance(task)
    _print_simulation(reports, spread, as_json, days, len(jobs[0].beds), distance.name)
    return reports
