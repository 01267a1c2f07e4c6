"""`placehub air ...` (air-quality import and annual report) and `placehub alerts ...`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from sqlalchemy import select

from placehub.access.cli import cli_actor
from placehub.access.service import (
    COMMAND_LINE,
    Principal,
    ensure_organisation,
    organisation_id,
)
from placehub.alerts import air_import, air_report, lifecycle, notify, store
from placehub.alerts import air_quality as aq
from placehub.alerts.service import AlertService
from placehub.console import (
    console,
    fail,
    open_database,
    print_json,
    print_table,
    progress,
    settings_of,
    until_stopped,
)
from placehub.sta.tables import things

# Alerts opened, acknowledged or resolved from here queue their notifications too.
notify.install()


# The CLI runs with the database's own rights (whoever can run it can read the file).

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
    with open_database(settings) as database:
        with database.begin() as conn:
            organisation = ensure_organisation(conn, org, org)
        with progress() as bar:
            task = bar.add_task(f"Importing {file.name}", total=total)
            report = air_import.import_series(
                database, COMMAND_LINE, file, site=site, latitude=latitude,
                longitude=longitude, organisation_id=organisation,
                visibility=visibility, columns=wanted, ppb=in_ppb, source=source,
                on_progress=lambda done: bar.update(task, completed=done))
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
        sites = air_report.air_sites(conn, COMMAND_LINE)
    if as_json:
        print(json.dumps(sites, indent=2, default=str))
        return
    table = Table("id", "station", "pollutants", "years")
    for s in sites:
        years = sorted({y for d in s["datastreams"].values() for y in d["years"]})
        table.add_row(str(s["id"]), s["name"], ", ".join(s["datastreams"]),
                      f"{years[0]}–{years[-1]}" if years else "")
    print_table(table)


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
    capture_floor: float = typer.Option(
        aq.VERDICT_CAPTURE_FLOOR, "--capture-floor",
        help="Data capture below which no verdict is given (default 0.25, LAQM.TG22)."),
) -> None:
    """How every station did against the UK air-quality objectives in YEAR."""
    try:
        with open_database(settings_of(ctx)) as database, database.connect() as conn:
            report = air_report.annual_report(conn, COMMAND_LINE, year, site,
                                              capture_threshold, capture_floor)
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
    if not report["sites"]:
        console.print(f"No air-quality stations with data for {year}.")
        return
    table = Table("station", "pollutant", "objective", "value", "limit", "capture", "result",
                  title=f"Air quality objectives {year}")
    for row in air_report.report_rows(report):
        if row["exceeded"] is None:
            outcome = "no data" if row["value"] is None else "no verdict (capture too low)"
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
        table.add_row(row["site"], row["pollutant_name"], row["objective"], shown, limit,
                      f"{row['data_capture']:.1%}", outcome)
    print_table(table)


alerts_app = typer.Typer(help="Alerts: list, acknowledge, resolve; rules, teams, notifications.",
                         no_args_is_help=True)
rules_app = typer.Typer(help="Alert rules: defaults per asset type, overrides per asset.",
                        no_args_is_help=True)
teams_app = typer.Typer(help="Teams that receive alerts by e-mail or webhook.",
                        no_args_is_help=True)
alerts_app.add_typer(rules_app, name="rules")
alerts_app.add_typer(teams_app, name="teams")


def _now() -> datetime:
    return datetime.now(UTC)


def _params(items: list[str]) -> dict[str, Any]:
    """NAME=VALUE pairs with JSON values where they parse (numbers, true/false, lists)."""
    params: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            fail(f"--param {item!r}: write it as NAME=VALUE, e.g. --param value=80")
        name, raw = item.split("=", 1)
        try:
            params[name.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[name.strip()] = raw
    return params


@alerts_app.command("list")
def alerts_list(
    ctx: typer.Context,
    status: str = typer.Option("active", help="open, acknowledged, resolved, active or all."),
    severity: str = typer.Option(None, help="This severity or worse."),
    thing: int = typer.Option(None, help="Only this Thing id."),
    rule: str = typer.Option(None, help="Only this rule key."),
    limit: int = typer.Option(100),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List alerts, newest first (active ones by default)."""
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        rows = lifecycle.list_alerts(
            conn, COMMAND_LINE, status=None if status == "all" else status,
            severity=severity, thing_id=thing, rule_key=rule, limit=limit)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("id", "severity", "status", "opened", "alert", "message")
    for a in rows:
        table.add_row(str(a["id"]), a["severity"], a["status"], a["opened_at"][:16],
                      a["title"], a["message"])
    print_table(table)


@alerts_app.command("show")
def alerts_show(ctx: typer.Context, alert_id: int) -> None:
    """Show one alert with its history as JSON."""
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        print(json.dumps(lifecycle.get_alert(conn, COMMAND_LINE, alert_id), indent=2))


@alerts_app.command("ack")
def alerts_ack(ctx: typer.Context, alert_id: int,
               note: str = typer.Option(None, help="What is being done about it."),
               by: str = typer.Option("cli", help="Who acknowledges it.")) -> None:
    """Acknowledge an open alert."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        lifecycle.acknowledge(conn, Principal(username=by, write_anywhere=True), alert_id,
                              _now(), note)
    console.print(f"Alert {alert_id} acknowledged by {by}.")


@alerts_app.command("resolve")
def alerts_resolve(ctx: typer.Context, alert_id: int,
                   note: str = typer.Option(None, help="How it was resolved."),
                   by: str = typer.Option("cli", help="Who resolves it.")) -> None:
    """Resolve an alert by hand."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        lifecycle.resolve(conn, Principal(username=by, write_anywhere=True), alert_id,
                          _now(), note)
    console.print(f"Alert {alert_id} resolved by {by}.")


@alerts_app.command("run")
def alerts_run(ctx: typer.Context,
               once: bool = typer.Option(False, "--once", help="One round, then exit.")) -> None:
    """Run the alert timer (silent sensors, hold-offs, digests, notifications) in the
    foreground; `placehub serve` already runs it."""
    settings = settings_of(ctx)
    with open_database(settings) as database:
        service = AlertService(database, settings)
        try:
            with until_stopped():
                while True:
                    counts = service.run_once()
                    console.print(f"{_now():%H:%M:%S} notifications: {counts}")
                    if once:
                        break
                    time.sleep(max(int(settings.alerts_tick_seconds), 1))
        finally:
            service.stop()


@rules_app.command("list")
def rules_list(ctx: typer.Context,
               asset_type: str = typer.Option(None, help="Only this asset type."),
               thing: int = typer.Option(None, help="The rules in force for this Thing."),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """List the rules (the built-in defaults are added on first use)."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        store.ensure_default_rules(conn, _now())
        rules = store.load_rules(conn)
        if thing is not None:
            row = conn.execute(select(things.c.properties).where(things.c.id == thing)).first()
            if row is None:
                fail(f"no Thing {thing}")
            rules = store.effective_rules(rules, thing, (row.properties or {}).get("asset_type"))
    rules = [r for r in rules if asset_type is None or r.asset_type == asset_type]
    if as_json:
        print(json.dumps([store.rule_dict(r) for r in rules], indent=2))
        return
    table = Table("id", "key", "for", "kind", "quantity", "params", "severity", "hold-off",
                  "on")
    for r in rules:
        table.add_row(str(r.id), r.key, r.asset_type or f"Thing {r.thing_id}", r.kind,
                      r.quantity or "", json.dumps(r.params), r.severity, f"{r.hold_off_s}s",
                      "yes" if r.enabled else "no")
    print_table(table)


@rules_app.command("override")
def rules_override(
    ctx: typer.Context, thing: int, key: str,
    param: list[str] = typer.Option([], "--param", help="NAME=VALUE, e.g. value=80."),
    severity: str = typer.Option(None), hold_off: int = typer.Option(None, "--hold-off",
                                                                     help="Seconds."),
    enable: bool = typer.Option(None, "--enable/--disable", help="Turn the rule on or off "
                                "for this asset."),
) -> None:
    """Override rule KEY for one asset (THING id), e.g. a different threshold or off."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        rule_id = store.override_rule(conn, _now(), thing, key, params=_params(param),
                                      enabled=enable, severity=severity,
                                      hold_off_s=hold_off, actor=cli_actor())
    console.print(f"Rule {key} overridden for Thing {thing} (rule {rule_id}).")


@rules_app.command("update")
def rules_update(
    ctx: typer.Context, rule_id: int,
    param: list[str] = typer.Option([], "--param", help="NAME=VALUE, e.g. silence_s=7200."),
    severity: str = typer.Option(None), hold_off: int = typer.Option(None, "--hold-off"),
    enable: bool = typer.Option(None, "--enable/--disable"),
) -> None:
    """Change a rule (for every asset it applies to)."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        store.update_rule(conn, _now(), rule_id, params=_params(param) or None,
                          severity=severity, hold_off_s=hold_off, enabled=enable,
                          actor=cli_actor())
    console.print(f"Rule {rule_id} updated.")


@teams_app.command("add")
def teams_add(
    ctx: typer.Context, org: str, name: str,
    email: str = typer.Option(None, help="Recipients, comma separated."),
    webhook_url: str = typer.Option(None, "--webhook-url"),
    webhook_secret: str = typer.Option(None, "--webhook-secret",
                                       help="Secret for the HMAC-SHA256 signature."),
    digest: bool = typer.Option(True, "--digest/--no-digest", help="Daily digest."),
) -> None:
    """Add a team of organisation ORG that receives alerts."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        team_id = notify.create_team(
            conn, _now(), organisation_id=organisation_id(conn, org), name=name,
            email=email, webhook_url=webhook_url, webhook_secret=webhook_secret,
            daily_digest=digest, actor=cli_actor())
    console.print(f"Team {name} added (id {team_id}).")


@teams_app.command("subscribe")
def teams_subscribe(
    ctx: typer.Context, team: int,
    channel: list[str] = typer.Option(..., "--channel", help="webhook and/or email."),
    rule: list[str] = typer.Option([], "--rule", help="Rule keys (default: all)."),
    asset_type: list[str] = typer.Option([], "--asset-type", help="Asset types (default: all)."),
    min_severity: str = typer.Option("info", "--min-severity"),
    digest_only: bool = typer.Option(False, "--digest-only"),
) -> None:
    """Subscribe TEAM (id) to alerts."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        notify.subscribe(conn, team, channels=channel, rule_keys=rule or None,
                         asset_types=asset_type or None, min_severity=min_severity,
                         immediate=not digest_only, actor=cli_actor())
    console.print(f"Team {team} subscribed.")


@teams_app.command("list")
def teams_list(
    ctx: typer.Context,
    as_json: bool = typer.Option(True, "--json", help="Print JSON (the only form)."),
) -> None:
    """List teams and their subscriptions as JSON."""
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        print(json.dumps(notify.list_teams(conn), indent=2))


@alerts_app.command("notifications")
def notifications_list(
    ctx: typer.Context,
    status: str = typer.Option(None, help="pending, delivered or failed."),
    retry: int = typer.Option(None, "--retry", help="Queue this failed notification again."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Notification deliveries, with the last error of failing ones."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        if retry is not None:
            notify.retry_delivery(conn, retry, _now())
            console.print(f"Notification {retry} queued again.")
            return
        rows = notify.list_deliveries(conn, status=status)
    if as_json:
        print_json(rows)
        return
    table = Table("id", "team", "channel", "event", "status", "attempts", "last error")
    for r in rows:
        table.add_row(str(r["id"]), r["team"], r["channel"], r["event"], r["status"],
                      str(r["attempts"]), r["last_error"] or "")
    print_table(table)


def register(app: typer.Typer) -> None:
    """Add `placehub air` and `placehub alerts` to the `placehub` command."""
    app.add_typer(air_app, name="air")
    app.add_typer(alerts_app, name="alerts")
