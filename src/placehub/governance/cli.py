"""Commands of responsible use: retention periods and the purge, data classes, transparency
run records, the read audit and the DPIA outline."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from placehub.access import service
from placehub.alerts import forecast_scoring
from placehub.config import Settings
from placehub.console import (
    console,
    err_console,
    fail,
    open_database,
    print_json,
    print_table,
    settings_of,
)
from placehub.errors import PlacehubError
from placehub.governance import atrs, data_classes, dpia, read_audit, retention, runs
from placehub.insight.transparency import load_records

retention_app = typer.Typer(help="Retention periods and the purge of old data.",
                            no_args_is_help=True)
algorithms_app = typer.Typer(help="Transparency records of the algorithms and their runs.",
                             no_args_is_help=True)
reads_app = typer.Typer(help="The read audit: who read data that is not public.",
                        no_args_is_help=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else ""


def keep_run(settings: Settings, run: runs.RunRecord) -> None:
    """Keep a command's run record when the configured database is ready (an index or a
    simulation can run without one: then it says the run was not recorded)."""
    from placehub.db import migrate

    if not migrate.schema_state(settings.database_url).current:
        err_console.print("note: run not recorded in the transparency records (no current "
                          "database: 'placehub db upgrade' creates it)")
        return
    with open_database(settings) as database, database.begin() as conn:
        run_id = runs.record_run(conn, run)
    record = next((r.id for r in load_records() if run.algorithm in r.algorithms),
                  run.algorithm)
    err_console.print(f"run {run_id} recorded for the transparency record {record}")


@retention_app.command("purge")
def purge(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would go; change nothing."),
    batch: int = typer.Option(None, help="Rows per transaction (retention_purge_batch)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Delete Observations and raw journal entries older than their retention periods."""
    settings = settings_of(ctx)
    with open_database(settings) as database:
        try:
            report = retention.purge(database, settings, _now(), dry_run=dry_run,
                                     actor="cli", batch=batch)
        except PlacehubError as error:
            fail(error.message)
    if as_json:
        print_json(report.as_json())
        return
    verb = "would delete" if dry_run else "deleted"
    console.print(f"Retention purge {verb} {report.observations_expired:,} Observations from "
                  f"{sum(1 for s in report.streams if s.expired)} Datastreams and "
                  f"{report.journal_expired:,} raw journal entries"
                  + (f" (older than {report.journal_days} days)" if report.journal_days else "")
                  + f" in {report.seconds:.1f} s; {report.kept_streams} Datastreams have no "
                  "period and are kept.")
    shown = [s for s in report.streams if s.expired]
    if shown:
        table = Table("Datastream", "class", "period (days)", "set by", "older than",
                      "Observations")
        for s in shown[:50]:
            table.add_row(str(s.datastream_id), s.data_class, str(s.days), s.source,
                          _when(s.cutoff), f"{s.expired:,}")
        print_table(table)


@retention_app.command("list")
def list_periods(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Retention periods: the defaults per class and each organisation's own."""
    settings = settings_of(ctx)
    with open_database(settings) as database, database.connect() as conn:
        periods = retention.organisation_periods(conn)
        slugs = {o["id"]: o["slug"] for o in service.list_organisations(conn)}
    try:
        defaults = retention.class_defaults(settings)
    except PlacehubError as error:
        fail(error.message)
    rows: list[dict[str, Any]] = [{"organisation": None, "data_class": c, "days": d}
                                  for c, d in defaults.items()]
    rows += [{"organisation": slugs.get(o, str(o)), "data_class": c, "days": d}
             for (o, c), d in sorted(periods.items())]
    rows.append({"organisation": None, "data_class": "raw journal",
                 "days": settings.retention_journal_days or None})
    if as_json:
        print_json(rows)
        return
    table = Table("organisation", "data class", "days")
    for row in rows:
        table.add_row(str(row["organisation"] or "(default)"), str(row["data_class"]),
                      str(row["days"] or "kept"))
    print_table(table)


@retention_app.command("set")
def set_period(
    ctx: typer.Context,
    organisation: str = typer.Argument(..., help="Organisation slug."),
    data_class: str = typer.Argument(..., help="public, organisation, restricted, personal "
                                               "or '*' for every class."),
    days: int = typer.Argument(..., help="Days to keep; 0 removes the period."),
) -> None:
    """Set an organisation's retention period for a data class."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        try:
            retention.set_organisation_period(conn, "cli", service.organisation_id(
                conn, organisation), data_class, days or None)
        except PlacehubError as error:
            fail(error.message)
    console.print(f"{organisation}: {data_class} data "
                  + (f"kept {days} days." if days else "period removed."))


@retention_app.command("set-datastream")
def set_datastream(
    ctx: typer.Context,
    datastream_id: int = typer.Argument(..., help="Datastream id."),
    data_class: str = typer.Option(None, "--class", help="public, organisation, restricted or "
                                                          "personal (default: from the Thing)."),
    days: int = typer.Option(None, "--days", help="Retention in days (default: the "
                                                   "organisation's)."),
    purpose: str = typer.Option(None, "--purpose", help="Why the data is collected."),
) -> None:
    """Give a Datastream its own data class, retention period and purpose."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        try:
            stream = data_classes.set_policy(conn, "cli", datastream_id, data_class=data_class,
                                             retention_days=days, purpose=purpose)
        except PlacehubError as error:
            fail(error.message)
    console.print(f"Datastream {datastream_id}: {stream.data_class} data, "
                  + (f"kept {stream.retention_days} days." if stream.retention_days
                     else "organisation's retention period."))


@algorithms_app.command("list")
def list_algorithms(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The algorithms with transparency records, their runs and last run."""
    settings = settings_of(ctx)
    rows = []
    with open_database(settings) as database, database.connect() as conn:
        for record in load_records(organisation=settings.council_name):
            facts = atrs.live_facts(conn, record.algorithms, _now(), recent=1)
            rows.append({"id": record.id, "name": record.tier1["name"],
                         "runs_total": facts.runs_total,
                         "last_run": facts.last_run["started_at"] if facts.last_run else None})
    if as_json:
        print_json(rows)
        return
    table = Table("id", "name", "runs", "last run")
    for row in rows:
        table.add_row(row["id"], row["name"], str(row["runs_total"]), row["last_run"] or "never")
    print_table(table)


@algorithms_app.command("show")
def show_algorithm(
    ctx: typer.Context,
    record_id: str = typer.Argument(..., help="Record id, e.g. rounds-planning."),
) -> None:
    """One algorithm's live transparency record as ATRS-shaped JSON."""
    settings = settings_of(ctx)
    found = {r.id: r for r in load_records(organisation=settings.council_name,
                                           contact_email=settings.transparency_contact)}
    if record_id not in found:
        fail(f"no algorithm {record_id!r}: 'placehub algorithms list' shows them")
    with open_database(settings) as database, database.connect() as conn:
        record = found[record_id]
        document = atrs.atrs_json(record, atrs.live_facts(conn, record.algorithms, _now()))
    print(json.dumps(document, indent=2, default=str))


@algorithms_app.command("measure-alerts")
def measure_alerts(
    ctx: typer.Context,
    days: int = typer.Option(forecast_scoring.DEFAULT_DAYS, min=1, max=366,
                             help="Measure on the alerts of this many days before now."),
    as_json: bool = typer.Option(False, "--json", help="Print the measures as JSON."),
) -> None:
    """Measure the forecast alert rules on this hub's own alerts (each forecast alert against
    its asset's line alert) and keep the result in their transparency record. 'placehub
    serve' does this daily."""
    with open_database(settings_of(ctx)) as database:
        run_id, measurement = forecast_scoring.record_measurement(database, _now(), days,
                                                                  actor="cli")
    metrics = measurement.metrics()
    if as_json:
        print_json({"run_id": run_id, **metrics})
        return
    table = Table("rule", "alerts scored", "precision", "line alerts", "recall",
                  "median lead (h)")
    for key, result in sorted(measurement.scores.items()):
        table.add_row(key, str(result.alerts), _share(result.precision), str(result.events),
                      _share(result.recall), "" if result.median_lead_hours is None
                      else f"{result.median_lead_hours:.1f}")
    print_table(table)
    err_console.print(f"run {run_id} recorded for the transparency record alert-rules "
                      f"({days} days of alerts; precision counts a bin emptied before its "
                      "line against the alert, so it is a lower bound)")


def _share(value: float | None) -> str:
    return "no data" if value is None else f"{value:.0%}"


@algorithms_app.command("runs")
def list_runs(
    ctx: typer.Context,
    algorithm: str = typer.Option(None, help="Only runs of this algorithm."),
    limit: int = typer.Option(20, help="At most this many runs."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The newest run records."""
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        rows = runs.list_runs(conn, algorithm, limit)
    if as_json:
        print(json.dumps(rows, default=str))
        return
    table = Table("id", "algorithm", "started (UTC)", "seconds", "seed", "outcome", "reference")
    for row in rows:
        table.add_row(str(row["id"]), row["algorithm"], _when(row["started_at"]),
                      f"{row['duration_seconds']:.2f}" if row["duration_seconds"] is not None
                      else "", str(row["seed"] if row["seed"] is not None else ""),
                      row["outcome"], row["reference"] or "")
    print_table(table)


def _read_rows(rows: list[dict[str, Any]], as_json: bool, columns: list[str]) -> None:
    if as_json:
        print(json.dumps(rows, default=str))
        return
    if not rows:
        console.print("No reads recorded match.")
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*(_when(row[c]) if isinstance(row[c], datetime) else str(row[c] or "")
                        for c in columns))
    print_table(table)


@reads_app.command("list")
def list_reads(
    ctx: typer.Context,
    thing: int = typer.Option(None, help="Only reads of this Thing."),
    datastream: int = typer.Option(None, help="Only reads of this Datastream."),
    actor: str = typer.Option(None, help="Only reads by this username."),
    limit: int = typer.Option(50, help=f"At most this many (1 to {read_audit.MAX_LIMIT})."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Reads of data that is not public, newest first."""
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        try:
            rows = read_audit.list_reads(conn, read_audit.ReadQuery(
                thing, datastream, actor, limit=limit))
        except PlacehubError as error:
            fail(error.message)
    _read_rows(list(rows), as_json, ["at", "actor", "channel", "thing_id", "datastream_id",
                                     "data_class", "context"])


@reads_app.command("who-looked")
def who_looked(
    ctx: typer.Context,
    thing: int = typer.Option(None, help="The Thing."),
    datastream: int = typer.Option(None, help="The Datastream."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Who read a Thing's or Datastream's data, how often, first and last time."""
    if thing is None and datastream is None:
        fail("give --thing or --datastream: the report is about one Thing or Datastream")
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        rows = read_audit.who_looked(conn, read_audit.ReadQuery(thing, datastream))
    _read_rows(rows, as_json, ["actor", "channel", "reads", "first", "last"])


def dpia_command(
    ctx: typer.Context,
    out_file: Path = typer.Option(None, "--out", help="Write the Markdown to this file."),
) -> None:
    """Print (or write) the DPIA outline generated from the configuration, for the DPO."""
    settings = settings_of(ctx)
    with open_database(settings) as database, database.connect() as conn:
        text = dpia.outline(conn, settings, _now())
    if out_file is None:
        print(text)
        return
    out_file.write_text(text, encoding="utf-8")
    console.print(f"DPIA outline written to {out_file}")


def register(app: typer.Typer) -> None:
    app.add_typer(retention_app, name="retention")
    app.add_typer(algorithms_app, name="algorithms")
    app.add_typer(reads_app, name="reads")
    app.command("dpia")(dpia_command)
