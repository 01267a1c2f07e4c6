"""`placehub reports`: residents' reports, Open311 keys, notices and the retention purge."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table

from placehub.alerts import notify
from placehub.console import console, open_database, print_json, print_table, settings_of
from placehub.reports import keys, notices, store

reports_app = typer.Typer(help="Residents' reports (Open311 service requests).",
                          no_args_is_help=True)
keys_app = typer.Typer(help="API keys of systems that post reports over Open311.",
                       no_args_is_help=True)
reports_app.add_typer(keys_app, name="keys")


@reports_app.command("list")
def list_reports(ctx: typer.Context, status: str = typer.Option(
        "", help="open or closed (default: both)"), as_json: bool = typer.Option(
        False, "--json", help="Print JSON.")) -> None:
    """Reports of the last 90 days, newest first (public fields)."""
    now = datetime.now(UTC)
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        found = store.public_requests(conn, store.find_requests(
            conn, now, status=[status] if status else None))
    if as_json:
        print_json(found)
        return
    table = Table("id", "service", "status", "requested", "where", "notes")
    for item in found:
        table.add_row(item["service_request_id"], item["service_name"], item["status"],
                      item["requested_datetime"][:16],
                      item["zipcode"] or f"{item['lat']:.5f}, {item['long']:.5f}",
                      item["status_notes"] or "")
    print_table(table)


@reports_app.command("purge")
def purge(ctx: typer.Context, days: int = typer.Option(
        None, help="Retention in days (default: the reports_retention_days setting).")) -> None:
    """Erase the personal data (e-mail, name, phone, photo) of reports closed longer ago than
    the retention period; the reports themselves stay."""
    settings = settings_of(ctx)
    keep = int(settings.reports_retention_days) if days is None else days
    with open_database(settings) as database, database.begin() as conn:
        erased = store.erase_personal_data(conn, datetime.now(UTC), keep)
    console.print(f"Personal data erased from {erased} report{'s' if erased != 1 else ''} "
                  f"closed more than {keep} days ago.")


@reports_app.command("send-notices")
def send_notices(ctx: typer.Context) -> None:
    """Send the status updates due to reporters now (the server does this on its timer)."""
    settings = settings_of(ctx)
    with open_database(settings) as database:
        counts = notices.deliver_notices(database, datetime.now(UTC), notify.EmailSender(
            settings.smtp_url, settings.alerts_from_address))
    console.print(", ".join(f"{n} {what}" for what, n in counts.items()))


@keys_app.command("create")
def create_key(ctx: typer.Context, name: str) -> None:
    """Make an api_key for the system NAME (shown once: give it to that system)."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        key = keys.create_key(conn, name, datetime.now(UTC))
    console.print(f"Open311 api_key for [bold]{name}[/] (shown once):")
    print(key)


@keys_app.command("list")
def list_keys(ctx: typer.Context, as_json: bool = typer.Option(
        False, "--json", help="Print JSON.")) -> None:
    """The keys, with when they were made and revoked."""
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        found = keys.list_keys(conn)
    if as_json:
        print_json(found)
        return
    table = Table("name", "key starts", "created", "revoked")
    for item in found:
        table.add_row(item["name"], item["prefix"], item["created_at"][:16],
                      (item["revoked_at"] or "")[:16])
    print_table(table)


@keys_app.command("revoke")
def revoke_key(ctx: typer.Context, name: str) -> None:
    """Stop the key of the system NAME from posting."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        keys.revoke_key(conn, name, datetime.now(UTC))
    console.print(f"The key of {name} is revoked.")


def register(app: typer.Typer) -> None:
    app.add_typer(reports_app, name="reports")
