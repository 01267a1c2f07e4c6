"""Commands of placehub.places: ``placehub load ...`` and ``placehub places ...``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy import func, select

from placehub.console import (
    console,
    fail,
    open_database,
    print_json,
    print_table,
    progress,
    settings_of,
)
from placehub.places.assign import assign_everything
from placehub.places.layers import (
    LoadReport,
    PointColumns,
    load_boundaries,
    load_buildings,
    load_points_csv,
)
from placehub.places.roads import load_road_network
from placehub.places.tables import place_layers, places, property_point_places, property_points

load_app = typer.Typer(help="Load boundaries, property points, buildings and roads.",
                       no_args_is_help=True)
places_app = typer.Typer(help="Place layers and spatial assignment.", no_args_is_help=True)


@contextmanager
def _bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar fed by (done, total) callbacks."""
    with progress() as bar:
        task = bar.add_task(description, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def _report(what: str, report: LoadReport) -> None:
    console.print(f"{what}: {report.loaded} loaded, {report.removed} removed, "
                  f"{report.skipped} skipped")
    for note in report.notes[:10]:
        console.print(f"  {note}")


@load_app.command("boundaries")
def load_boundaries_command(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="GeoJSON FeatureCollection of boundaries (lon/lat)."),
    layer: str = typer.Option(..., "--layer", help="Layer name, e.g. wards, lsoas, parishes."),
    code_property: str = typer.Option(None, help="Feature property with the code (WD13CD...)."),
    name_property: str = typer.Option(None, help="Feature property with the name (WD13NM...)."),
    title: str = typer.Option(None, help="Title shown for the layer."),
) -> None:
    """Load (or reload) a boundary layer; places are upserted by layer and code."""
    settings = settings_of(ctx)
    with open_database(settings) as database, _bar(f"boundaries -> {layer}") as advance, \
            database.begin() as conn:
        report = load_boundaries(conn, path, layer, code_property=code_property,
                                 name_property=name_property, title=title, progress=advance)
    _report(f"layer {layer}", report)


@load_app.command("points")
def load_points_command(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="CSV of property points (postcode lookup or UPRNs)."),
    source: str = typer.Option(..., "--source", help="Name for this set, e.g. sutton-postcodes."),
    ref_column: str = typer.Option(None, help="Column identifying each point (pcds, UPRN...)."),
    lon_column: str = typer.Option(None, help="Longitude column."),
    lat_column: str = typer.Option(None, help="Latitude column."),
    easting_column: str = typer.Option(None, help="British National Grid easting column."),
    northing_column: str = typer.Option(None, help="British National Grid northing column."),
) -> None:
    """Load property points from CSV; terminated postcodes (doterm set) are left out."""
    columns = None
    if ref_column:
        columns = PointColumns(ref_column, lon=lon_column, lat=lat_column,
                               easting=easting_column, northing=northing_column)
        if not ((lon_column and lat_column) or (easting_column and northing_column)):
            fail("with --ref-column also give --lon-column and --lat-column, or "
                 "--easting-column and --northing-column")
    settings = settings_of(ctx)
    with open_database(settings) as database, _bar(f"points -> {source}") as advance, \
            database.begin() as conn:
        report = load_points_csv(conn, path, source, columns, progress=advance)
    _report(f"points {source}", report)


@load_app.command("buildings")
def load_buildings_command(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="OSM extract (.osm.pbf) with buildings."),
    source: str = typer.Option("osm-buildings", help="Name for this set of points."),
) -> None:
    """Load OSM buildings as property points (a point inside each building)."""
    settings = settings_of(ctx)
    with open_database(settings) as database, _bar(f"buildings -> {source}") as advance, \
            database.begin() as conn:
        report = load_buildings(conn, path, source, progress=advance)
    _report(f"buildings {source}", report)


@load_app.command("roads")
def load_roads_command(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="OSM extract (.osm.pbf) with the roads."),
) -> None:
    """Parse the drivable road network and cache it (PLACEHUB_ROAD_NETWORK_FILE)."""
    settings = settings_of(ctx)
    cache = Path(settings.road_network_file)
    if not path.exists():
        fail(f"no OSM extract at {path}")
    with _bar("roads") as advance:
        advance(0, 1)
        if cache.exists():
            cache.unlink()  # an explicit load always re-parses
        network = load_road_network(path, cache)
        advance(1, 1)
    console.print(f"road network: {network.node_count} nodes, {network.edge_count} edges, "
                  f"{len(network.one_way_way_ids())} one-way ways; cached at {cache}")


@places_app.command("assign")
def assign_command(ctx: typer.Context) -> None:
    """Recompute which place of every layer each Thing and property point lies in."""
    settings = settings_of(ctx)
    with open_database(settings) as database, _bar("assigning") as advance, \
            database.begin() as conn:
        advance(0, 1)
        things, points = assign_everything(conn)
        advance(1, 1)
    console.print(f"assigned: {things} thing-place and {points} point-place links")


@places_app.command("list")
def list_command(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """Show the place layers with their place and property-point counts."""
    settings = settings_of(ctx)
    layers = []
    with open_database(settings) as database, database.connect() as conn:
        for layer in conn.execute(select(place_layers).order_by(place_layers.c.name)):
            count = conn.execute(select(func.count()).select_from(places).where(
                places.c.layer_id == layer.id)).scalar_one()
            assigned = conn.execute(select(func.count()).select_from(property_point_places).where(
                property_point_places.c.layer_id == layer.id)).scalar_one()
            layers.append({"layer": layer.name, "title": layer.title, "places": count,
                           "assigned_points": assigned, "source": layer.source})
        total = conn.execute(select(func.count()).select_from(property_points)).scalar_one()
    if as_json:
        print_json({"layers": layers, "property_points": total})
        return
    table = Table("layer", "title", "places", "assigned points", "source")
    for row in layers:
        table.add_row(row["layer"], row["title"], str(row["places"]),
                      str(row["assigned_points"]), row["source"])
    print_table(table)
    console.print(f"{total} property points")


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the `placehub` command."""
    app.add_typer(load_app, name="load")
    app.add_typer(places_app, name="places")
