"""Commands of placehub.planning: ``placehub plan hazard|catchments|parking ...``.

The command line runs as the council (officers' figures: exact counts and property lists)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table

from placehub.access.service import COMMAND_LINE
from placehub.console import (
    console,
    fail,
    open_database,
    print_json,
    print_table,
    progress,
    settings_of,
)
from placehub.errors import BadRequest
from placehub.planning import hazards, parking, service, tariffs

plan_app = typer.Typer(help="Hazard areas, catchments and parking.", no_args_is_help=True)


@contextmanager
def _working(description: str, quiet: bool) -> Iterator[None]:
    """A spinner while a job runs (none when the output is JSON for another program)."""
    if quiet:
        yield
        return
    with progress() as bar:
        task = bar.add_task(description, total=None)
        yield
        bar.update(task, total=1, completed=1)


def _write(path: Path | None, text: str, what: str) -> None:
    if path is None:
        return
    path.write_text(text, encoding="utf-8")
    console.print(f"{what} written to {path}")


@plan_app.command("hazard")
def hazard_command(
    ctx: typer.Context,
    area_file: Path = typer.Argument(None, help="GeoJSON area: a Polygon, a Feature or a "
                                     "FeatureCollection (e.g. an EA flood warning area)."),
    from_alert: int = typer.Option(None, help="Instead of a file: the area watched by the "
                                   "sensor of this alert (its 'hazard_area' property)."),
    name: str = typer.Option(None, help="Name of the area (default: from the file)."),
    rest_centre: str = typer.Option(None, help="Rest centre as lon,lat: homes whose road route "
                                    "to it is cut or longer are listed."),
    site_layer: Path = typer.Option(None, help="Council GeoJSON layer of vulnerable sites."),
    csv_out: Path = typer.Option(None, "--csv", help="Write the homes affected as CSV."),
    geojson_out: Path = typer.Option(None, "--geojson", help="Write the area, sites, assets and "
                                     "homes as GeoJSON."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole result as JSON."),
) -> None:
    """What is inside a hazard area, and which homes' routes to a rest centre it cuts."""
    settings = settings_of(ctx)
    if (area_file is None) == (from_alert is None):
        fail("give an area file or --from-alert ALERT_ID")
    if area_file is not None and not area_file.exists():
        fail(f"no area file at {area_file}")
    where = service.parse_lonlat(rest_centre)
    started = time.perf_counter()
    with open_database(settings) as database, _working("assessing the area", as_json):
        with database.connect() as conn:
            area = service.area_from_alert(conn, COMMAND_LINE, from_alert) \
                if from_alert is not None \
                else hazards.read_area(area_file.read_text(encoding="utf-8"), name=name)
            result = service.hazard_job(conn, settings, COMMAND_LINE, area, where, site_layer)
        service.keep_run(database, result, COMMAND_LINE, time.perf_counter() - started)
    _write(csv_out, service.hazard_csv(result), "CSV")
    _write(geojson_out, json.dumps(service.hazard_geojson(result)), "GeoJSON")
    if as_json:
        print_json(result)
        return
    table = Table("measure", "value")
    table.add_row("homes inside", str(result["properties"]))
    for kind, count in result["vulnerable_sites"].items():
        table.add_row(f"vulnerable sites: {kind}", str(count))
    for kind, count in result["assets"].items():
        table.add_row(f"assets: {kind}", str(count))
    table.add_row("roads closed", f"{result['roads_closed']['ways']} ways, "
                  f"{result['roads_closed']['km']} km")
    if result["routes"]:
        table.add_row("homes cut off from the rest centre", str(result["routes"]["cut"]))
        table.add_row("homes with a longer route", str(result["routes"]["longer"]))
    console.print(f"[bold]{area.name}[/bold] ({area.source})")
    print_table(table)


@plan_app.command("catchments")
def catchments_command(
    ctx: typer.Context,
    kind: str = typer.Argument("school", help="Facility kind from OSM: school, library, "
                               "recycling_centre, leisure_centre, gp_surgery, ..."),
    method: str = typer.Option("road", help="road (travel time) or straight (line)."),
    layer: Path = typer.Option(None, help="GeoJSON of your own facilities instead of OSM's."),
    close: list[str] = typer.Option([], help="Ref of a facility to close (repeat)."),
    open_: list[str] = typer.Option([], "--open", help="A new facility as name:lon,lat "
                                    "(repeat)."),
    csv_out: Path = typer.Option(None, "--csv", help="Write the table per facility as CSV."),
    geojson_out: Path = typer.Option(None, "--geojson", help="Write facilities and homes as "
                                     "GeoJSON."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole result as JSON."),
) -> None:
    """Catchments of facilities by road travel time (or straight line), and what-ifs."""
    settings = settings_of(ctx)
    opened = []
    for text in open_:
        name, _, where = text.rpartition(":")
        lonlat = service.parse_lonlat(where)
        if lonlat is None:
            fail(f"--open {text!r}: give name:lon,lat")
        opened.append({"name": name or "New facility", "lon": lonlat[0], "lat": lonlat[1]})
    started = time.perf_counter()
    with open_database(settings) as database, \
            _working(f"{kind} catchments by {method}", as_json):
        with database.connect() as conn:
            result = service.catchment_job(conn, settings, COMMAND_LINE, kind, method, list(close),
                                           opened, layer)
        service.keep_run(database, result, COMMAND_LINE, time.perf_counter() - started)
    _write(csv_out, service.catchment_csv(result), "CSV")
    _write(geojson_out, json.dumps(service.catchment_geojson(result)), "GeoJSON")
    if as_json:
        print_json(result)
        return
    table = Table("ref", "facility", "homes", "people (est.)", "median min", "max min")
    for row in result["facilities"]:
        table.add_row(row["ref"], row["name"], str(row["homes"]), str(row["people_estimate"]),
                      str(row["median_minutes"]), str(row["max_minutes"]))
    print_table(table)
    console.print("homes by travel time: " + ", ".join(
        f"{band} {count}" for band, count in result["bands"].items()))
    if result["change"]:
        console.print(f"homes that change facility: {result['change']['homes_moved']}")
        for flow in result["change"]["flows"][:10]:
            console.print(f"  {flow['from']} -> {flow['to'] or 'none'}: {flow['homes']}")


@plan_app.command("parking")
def parking_command(
    ctx: typer.Context,
    days: int = typer.Option(7, help="Days of sensor history to profile."),
    price: float = typer.Option(1.20, help="Current price per hour (£) in every zone."),
    board_csv: Path | None = typer.Option(
        None, "--tariffs", help="The council's tariff board as CSV (zone,days,from,to,price; "
        "e.g. 'Oakham,Mon-Sat,08:00,18:00,1.20'); zones it names take their prices from it."),
    target: float = typer.Option(0.85, help="Target occupancy (0-1); Shoup's 85% rule."),
    elasticity: float = typer.Option(-0.3, help="Price elasticity of parking demand "
                                     "(TRL593: -0.1 to -0.6)."),
    alerts: bool = typer.Option(False, "--alerts", help="Open 'full' alerts for car parks at "
                                "95% or more now, resolve the others."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole result as JSON."),
) -> None:
    """Car park occupancy now and by weekday and hour, with suggested tariffs per zone."""
    settings = settings_of(ctx)
    try:
        model = parking.TariffModel(target_occupancy=target, elasticity=elasticity)
    except ValueError as error:
        fail(str(error))
    board = _read_board(board_csv) if board_csv else []
    now = datetime.now(UTC)
    started = time.perf_counter()
    with open_database(settings) as database, _working("car park occupancy", as_json):
        with database.begin() as conn:
            result = service.parking_job(conn, settings, COMMAND_LINE, now, days, model, price,
                                         board=board)
            changed = service.update_full_alerts(conn, result, now) if alerts else None
        service.keep_run(database, result, COMMAND_LINE, time.perf_counter() - started)
    if as_json:
        print_json({**result, "alerts": changed})
        return
    table = Table("car park", "zone", "bays", "occupied now", "free now (est.)", "status",
                  f"mean over {days} d")
    for row in result["car_parks"]:
        table.add_row(row["name"], row["zone"], str(row["bays"]),
                      f"{row['occupied_now']}/{row['reporting_now']}", str(row["free_now"]),
                      row["status"], f"{(row['mean_occupancy'] or 0):.0%}")
    print_table(table)
    for zone in result["zones"]:
        busy = [h for h in zone["hours"] if h["suggested"] != h["price"]]
        now_price = ("the tariff board" if zone["price"] is None
                     else f"£{zone['price']:.2f}")
        console.print(f"{zone['zone']}: {len(busy)} of {len(zone['hours'])} weekday-hours would "
                      f"change from {now_price}")
    if changed is not None:
        console.print(f"full alerts opened: {', '.join(changed['opened']) or 'none'}; "
                      f"resolved: {', '.join(changed['resolved']) or 'none'}")


def _read_board(path: Path) -> list[tariffs.TariffBand]:
    """The tariff board in ``path``, or a plain message saying what is wrong with it."""
    try:
        return tariffs.read_board_csv(path.read_text(encoding="utf-8"))
    except OSError as error:
        fail(f"cannot read the tariff board {path}: {error.strerror or error}")
    except UnicodeDecodeError:
        fail(f"the tariff board {path} is not UTF-8 text: save it as CSV (UTF-8)")
    except BadRequest as error:
        fail(f"{path}: {error.message}")


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the `placehub` command."""
    app.add_typer(plan_app, name="plan")
