"""``placehub demo``: build the demo (once) and serve it with live simulated uplinks.

The demo is Rutland's unless the ``area`` setting names another fetched area. When its data is
not in the data folder, it is fetched from the official sources first (``placehub.area``).
"""

from __future__ import annotations

import contextlib
import threading
import time

import httpx
import typer

from placehub.console import console, fail, open_database, progress_bars, with_overrides
from placehub.errors import PlacehubError

SIMULATOR_INTEGRATION = "rutland-demo-simulator"


def _wait_for_server(base_url: str, stop: threading.Event, timeout: float = 120.0) -> bool:
    """True once the server answers /healthz."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        try:
            if httpx.get(base_url + "/healthz", timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        stop.wait(0.5)
    return False


def demo(
    ctx: typer.Context,
    host: str = typer.Option(None, help="Address to listen on (PLACEHUB_HOST)."),
    port: int = typer.Option(None, help="Port to listen on (PLACEHUB_PORT)."),
    database_url: str = typer.Option(None, "--database-url",
                                     help="Database URL (PLACEHUB_DATABASE_URL)."),
    no_simulator: bool = typer.Option(False, "--no-simulator",
                                      help="Serve without live simulated uplinks."),
    build_only: bool = typer.Option(False, "--build-only", help="Build the demo, do not serve."),
    seed: int = typer.Option(2024, help="Seed of the district and its history."),
    interval: float = typer.Option(600.0, help="Seconds between a device's simulated uplinks."),
    area: str = typer.Option(None, "--area",
                             help="Area folder of the data folder to build (PLACEHUB_AREA)."),
    per_type: int = typer.Option(None, "--assets-per-type", min=1,
                                 help="Only this many bins, flowerbeds and air stations (a "
                                      "quick look; a new database for the full demo)."),
    history_days: int = typer.Option(None, "--history-days", min=1,
                                     help="Days of back-filled history (default 56)."),
) -> None:
    """Build the demo district (first run only) and serve it with simulated uplinks."""
    from placehub.cli import run_server, server_url
    from placehub.demo.bootstrap import ensure_demo_data
    from placehub.demo.build import (
        HISTORY_DAYS,
        build_demo,
        demo_area,
        demo_summary,
        registered_demo_keys,
    )
    from placehub.demo.officer import ensure_demo_officer
    from placehub.demo.simulator import Simulator, states_from_database

    settings = with_overrides(ctx, host=host, port=port, database_url=database_url, area=area)
    started = time.perf_counter()
    try:
        with progress_bars() as show:
            ensure_demo_data(settings, progress=show,
                             announce=lambda what, _d, _t: console.print(what))
    except PlacehubError as error:
        fail(error.message)
    where = demo_area(settings)
    if settings.sources.get("council_name", "default") == "default":
        settings = with_overrides(ctx, council_name=where.council)  # the web UI's header
    with open_database(settings, upgrade=True) as database, progress_bars() as show:
        report = build_demo(database, settings, seed=seed, progress=show, per_type=per_type,
                            history_days=history_days or HISTORY_DAYS)
        with database.begin() as conn:
            login = ensure_demo_officer(conn, where.organisation)
        with database.connect() as conn:
            counts = demo_summary(conn, where.organisation)
            thing_ids = registered_demo_keys(conn, where.organisation)
        secret = None
        if not (no_simulator or build_only):
            from placehub.ingest.integrations import create_integration, delete_integration

            with database.begin() as conn:
                with contextlib.suppress(PlacehubError):  # first run: nothing to replace
                    delete_integration(conn, SIMULATOR_INTEGRATION)
                secret = create_integration(conn, SIMULATOR_INTEGRATION, "any")
            with database.connect() as conn:
                assert report.district is not None
                states = states_from_database(conn, list(report.district.assets), thing_ids)
    # The street map's features, read now so the first map a visitor opens is quick.
    from placehub.places.basemap import basemap_of
    from placehub.web.basemap import basemap_extract

    basemap_of(basemap_extract(settings), settings.basemap_file or None)
    elapsed = time.perf_counter() - started
    what = ", ".join(f"{n} {kind.replace('_', ' ')}{'' if n == 1 else 's'}"
                     for kind, n in sorted(counts.items()))
    console.print(f"{where.council} demo ready in {elapsed:.0f} s: {what}.")
    if report.registered:
        console.print(f"  registered {report.registered} devices and back-filled "
                      f"{report.observations:,} observations "
                      f"({history_days or HISTORY_DAYS} days)")
    else:
        console.print(f"  the demo was already built ({report.already_there} devices): kept as is")
    for line in login.lines(server_url(settings)):
        console.print(line, soft_wrap=True, highlight=False)
    if build_only:
        return
    simulator = None
    if secret is not None:
        simulator = Simulator(server_url(settings), secret, states, settings.data_path,
                              interval=interval, seed=seed)
        stop = threading.Event()

        def run() -> None:
            if _wait_for_server(simulator.base_url, stop):
                console.print(f"Simulator: {len(states)} devices sending uplinks to "
                              "/ingest/ttn and /ingest/chirpstack")
                simulator.run()

        threading.Thread(target=run, name="uplink-simulator", daemon=True).start()
    try:
        run_server(settings)
    finally:
        if simulator is not None:
            simulator.stop()


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the `placehub` command."""
    app.command("demo")(demo)
