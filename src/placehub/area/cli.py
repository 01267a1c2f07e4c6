"""``placehub area ...``: fetch a council's public data from the official sources, and load it."""

from __future__ import annotations

import typer
from rich.table import Table

from placehub.area.download import Downloader, Progress
from placehub.area.fetch import (
    COUNCIL_SOURCE_KEYS,
    SOURCE_KEYS,
    choose_sources,
    fetch_area,
    sources_from_settings,
)
from placehub.area.files import AreaFiles, area_files
from placehub.area.load import LOAD_STEPS, load_area
from placehub.area.ons import OnsBoundaries
from placehub.area.source import Area
from placehub.config import Settings
from placehub.console import (
    console,
    open_database,
    print_json,
    print_table,
    progress_bars,
    settings_of,
)

area_app = typer.Typer(help="A council's own area: fetch its public data, then load it.",
                       no_args_is_help=True)


def downloader_for(settings: Settings, show: Progress, refresh: bool = False) -> Downloader:
    """The downloader with the cache folder from the settings."""
    return Downloader(settings.area_cache_dir, progress=show, refresh=refresh)


def find_area(settings: Settings, downloader: Downloader, wanted: str) -> Area:
    """The council ``wanted`` names or codes, from the ONS names and codes."""
    return OnsBoundaries(settings.area_ons_url).find_council(downloader, wanted)


@area_app.command("fetch")
def fetch_command(
    ctx: typer.Context,
    council: str = typer.Argument(..., help="Council name or ONS code: Rutland, E06000017."),
    only: str = typer.Option(None, "--only",
                             help=f"Comma-separated sources: {', '.join(SOURCE_KEYS)} (default: "
                                  f"{', '.join(COUNCIL_SOURCE_KEYS)}; air is the demo's "
                                  "air-quality replay)."),
    refresh: bool = typer.Option(False, "--refresh",
                                 help="Download again instead of reusing the cache."),
    buffer_m: float = typer.Option(2000.0, "--buffer-m",
                                   help="Metres of map kept around the area in the OSM extract."),
    council_name: str = typer.Option(None, "--council-name",
                                     help="How the hub names the council (default: NAME Council)."),
) -> None:
    """Download one council's public data from the official sources into the data folder."""
    settings = settings_of(ctx)
    sources = choose_sources(sources_from_settings(settings), (only or "").split(","))
    with progress_bars() as show, downloader_for(settings, show, refresh) as downloader:
        area = find_area(settings, downloader, council)
        files = area_files(settings, area.slug)
        console.print(f"{area.name} ({area.code}) -> {files.folder}")
        report = fetch_area(area, files, sources, downloader, buffer_m=buffer_m,
                            council_name=council_name)
    table = Table("source", "counts", "downloads", "seconds")
    for key, result in report.results.items():
        counts = ", ".join(f"{k} {v:,}" for k, v in result.counts.items())
        downloads = ", ".join(
            f"{d.bytes:,} B" + (" cached" if d.cached else " resumed" if d.resumed_from else "")
            for d in result.downloads) or "queries"
        table.add_row(key, counts, downloads, f"{report.seconds[key]:.1f}")
    print_table(table)
    for key, result in report.results.items():
        for note in result.notes:
            console.print(f"  {key}: {note}")
    console.print(f"Checksums in {files.manifest}; credits in {files.attribution}. Load it with "
                  f"'placehub area load {area.slug}'.")


@area_app.command("load")
def load_command(
    ctx: typer.Context,
    area: str = typer.Argument(None, help="Folder of the fetched area (default: PLACEHUB_AREA)."),
    skip: str = typer.Option(None, "--skip",
                             help=f"Comma-separated steps to leave out: {', '.join(LOAD_STEPS)}."),
) -> None:
    """Load a fetched area: boundaries, postcodes, buildings, roads and indices, in one step."""
    settings = settings_of(ctx)
    files = area_files(settings, area)
    steps_skipped = [s.strip() for s in (skip or "").split(",") if s.strip()]
    with open_database(settings) as database, progress_bars() as show:
        steps = load_area(database, files, settings.road_network_file, skip=steps_skipped,
                          progress=show)
    table = Table("step", "loaded", "skipped", "seconds", "notes")
    for step in steps:
        table.add_row(step.name, f"{step.loaded:,}", f"{step.skipped:,}", f"{step.seconds:.1f}",
                      "; ".join(step.notes[:3]))
    print_table(table)
    console.print(f"{files.slug} loaded from {files.folder}.")


@area_app.command("list")
def list_command(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """The areas in the data folder: fetched ones (with their manifest) and ones placed by hand."""
    settings = settings_of(ctx)
    rows = []
    data = settings.data_path
    for folder in sorted(p for p in data.iterdir() if p.is_dir()) if data.is_dir() else []:
        files = AreaFiles(data, folder.name)
        if not files.wards.exists():
            continue
        manifest = files.read_manifest()
        rows.append({"area": folder.name, "code": manifest.get("area", {}).get("code", ""),
                     "name": manifest.get("area", {}).get("name", ""),
                     "sources": sorted(manifest.get("sources", {})),
                     "fetched": bool(manifest)})
    if as_json:
        print_json(rows)
        return
    table = Table("area", "code", "name", "fetched sources")
    for row in rows:
        table.add_row(row["area"], row["code"], row["name"],
                      ", ".join(row["sources"]) if row["fetched"] else "placed by hand")
    print_table(table)


@area_app.command("sources")
def sources_command(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """Every source: who publishes it, its documented URL, licence and update cycle."""
    sources = sources_from_settings(settings_of(ctx))
    rows = [{"key": s.key, "title": s.title, "url": s.documented_url, "licence": s.licence,
             "update_cycle": s.update_cycle} for s in sources.values()]
    if as_json:
        print_json(rows)
        return
    table = Table("key", "source", "documented URL", "licence", "updated")
    for row in rows:
        table.add_row(row["key"], row["title"], row["url"], row["licence"], row["update_cycle"])
    print_table(table)


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the `placehub` command."""
    app.add_typer(area_app, name="area")
