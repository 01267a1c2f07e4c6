"""`placehub orgs`, `placehub users`, `placehub tokens` and `placehub audit`."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.table import Table

from placehub.access import audit, service, signin
from placehub.console import (
    console,
    fail,
    open_database,
    print_json,
    print_table,
    settings_of,
)

orgs_app = typer.Typer(help="Organisations that own data.", no_args_is_help=True)
users_app = typer.Typer(help="People who sign in or hold API tokens.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (shown once, stored hashed).", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail: who changed what, when.", no_args_is_help=True)


def cli_actor() -> str:
    """The audit actor for changes made from the command line: ``cli:`` and the OS user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in containers without a passwd entry
        return "cli"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


@orgs_app.command("add")
def add_org(ctx: typer.Context, slug: str, name: str) -> None:
    """Add an organisation, e.g. `placehub orgs add rutland "Rutland County Council"`."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        service.create_organisation(conn, slug, name, actor=cli_actor())
    console.print(f"Organisation [bold]{slug}[/] added.")


@orgs_app.command("partner")
def partner(ctx: typer.Context, organisation: str, partner_org: str) -> None:
    """Let members of PARTNER_ORG read ORGANISATION's data marked "partners"."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        service.add_partner(
            conn, service.organisation_id(conn, organisation),
            service.organisation_id(conn, partner_org), actor=cli_actor(),
        )
    console.print(f"{partner_org} now reads {organisation}'s partner data.")


@users_app.command("add")
def add_user(
    ctx: typer.Context,
    username: str,
    org: str = typer.Option(..., "--org", help="Organisation slug."),
    role: str = typer.Option("viewer", help="admin, editor or viewer."),
    password: str = typer.Option(
        None, help="Password for signing in to the web UI (asked for if omitted).",
    ),
    no_password: bool = typer.Option(False, help="Token-only account, no web sign-in."),
    display_name: str = typer.Option("", help="Name shown in the UI."),
) -> None:
    """Add a user with a role in an organisation."""
    if password is None and not no_password:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        organisation = service.organisation_id(conn, org)
        user = service.create_user(
            conn, username, password=None if no_password else password,
            display_name=display_name, actor=cli_actor(),
        )
        service.grant_role(conn, user, organisation, role, actor=cli_actor())
    console.print(f"User [bold]{username}[/] added as {role} of {org}.")


@users_app.command("grant")
def grant(ctx: typer.Context, username: str, org: str, role: str) -> None:
    """Give USERNAME a ROLE (admin, editor, viewer) in organisation ORG."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        service.grant_role(
            conn, service.user_id(conn, username), service.organisation_id(conn, org), role,
            actor=cli_actor(),
        )
    console.print(f"{username} is now {role} of {org}.")


@users_app.command("password")
def set_password(
    ctx: typer.Context,
    username: str,
    password: str = typer.Option(None, help="The new password (asked for if omitted)."),
) -> None:
    """Set USERNAME's web sign-in password; every session they have open is signed out."""
    if password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        ended = signin.set_password(conn, service.user_id(conn, username), password,
                                    actor=cli_actor())
    console.print(f"Password of [bold]{username}[/] changed; {ended} session(s) signed out.")


@users_app.command("disable")
def disable_user(ctx: typer.Context, username: str) -> None:
    """Disable USERNAME: signed out at once, no sign-in or API token works (records stay)."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        service.set_user_active(conn, service.user_id(conn, username), False,
                                actor=cli_actor())
    console.print(f"Account of [bold]{username}[/] disabled.")


@users_app.command("enable")
def enable_user(ctx: typer.Context, username: str) -> None:
    """Enable USERNAME's account again, with the roles it had."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        service.set_user_active(conn, service.user_id(conn, username), True, actor=cli_actor())
    console.print(f"Account of [bold]{username}[/] enabled.")


@tokens_app.command("list")
def list_tokens(
    ctx: typer.Context,
    org: str = typer.Option(None, "--org", help="Only tokens of this organisation's members."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List API tokens (their first 10 characters, never the token), newest first."""
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        organisation = service.organisation_id(conn, org) if org else None
        rows = service.list_tokens(conn, organisation)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("No API tokens: create one with [bold]placehub tokens create USER[/].")
        return
    table = Table("prefix", "for", "user", "created", "last used", "revoked")
    for row in rows:
        table.add_row(row["prefix"], row["name"], row["username"], _when(row["created_at"]),
                      _when(row["last_used_at"]), _when(row["revoked_at"]))
    print_table(table)


@tokens_app.command("create")
def create_token(
    ctx: typer.Context, username: str, name: str = typer.Option("", help="What it is for."),
) -> None:
    """Create an API token for USERNAME; it is printed once and stored only as a hash."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        token = service.create_token(conn, service.user_id(conn, username), name,
                                     actor=cli_actor())
    console.print("Token (copy it now, it is not shown again):", style="bold")
    print(token)


@tokens_app.command("revoke")
def revoke_token(ctx: typer.Context, prefix: str) -> None:
    """Revoke the token starting with PREFIX (its first 10 characters)."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        count = service.revoke_token(conn, prefix, actor=cli_actor())
    console.print(f"{count} token(s) revoked.")
    password_file = str(settings_of(ctx).mqtt_password_file or "")
    if count and password_file:
        # A token used as a broker account ends there too (placehub already refuses it).
        from placehub.sta.mqtt_credentials import remove_account

        if remove_account(Path(password_file), prefix[:10]):
            console.print(f"Broker account {prefix[:10]} removed from {password_file}: reload "
                          "Mosquitto (systemctl reload mosquitto).")


@orgs_app.command("list")
def list_orgs(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """List organisations with their members and partners."""
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        rows = service.list_organisations(conn)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print('No organisations yet: add one with [bold]placehub orgs add SLUG "Name"[/].')
        return
    table = Table("slug", "name", "members", "partners (read its partner data)", "created")
    for row in rows:
        table.add_row(row["slug"], row["name"], str(row["members"]),
                      ", ".join(row["partners"]), _when(row["created_at"]))
    print_table(table)


@users_app.command("list")
def list_users(
    ctx: typer.Context,
    org: str = typer.Option(None, "--org", help="Only members of this organisation (slug)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List users with their roles, whether they can sign in, and live tokens."""
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        organisation = service.organisation_id(conn, org) if org else None
        rows = service.list_users(conn, organisation)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("No users yet: add one with [bold]placehub users add USER --org ORG[/].")
        return
    table = Table("username", "name", "roles", "signs in", "tokens", "active", "created")
    for row in rows:
        roles = ", ".join(f"{role} of {slug}" for slug, role in row["roles"].items())
        table.add_row(row["username"], row["display_name"], roles,
                      "yes" if row["can_sign_in"] else "token only", str(row["tokens"]),
                      "yes" if row["active"] else "no", _when(row["created_at"]))
    print_table(table)


def _since(value: str | None) -> datetime | None:
    """``--since``: an ISO time (UTC if no zone given) or a span back from now (30m, 12h, 7d)."""
    if not value:
        return None
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value[:-1].isdigit() and value[-1] in units:
        return datetime.now(UTC) - timedelta(**{units[value[-1]]: int(value[:-1])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--since {value!r}: give a time like 2026-01-31T09:00 or a span like 7d, 12h, 30m")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@audit_app.command("list")
def list_audit(
    ctx: typer.Context,
    entity: str = typer.Option(None, help="Entity type, e.g. Thing, Datastream, User, ApiToken."),
    entity_id: str = typer.Option(None, "--id", help="Only entries about this entity id."),
    actor: str = typer.Option(None, help="Only changes by this username."),
    org: str = typer.Option(None, "--org", help="Only this organisation's entries (slug)."),
    since: str = typer.Option(None, help="From this time (ISO, UTC) or span back (7d, 12h)."),
    limit: int = typer.Option(50, help=f"At most this many entries (1 to {audit.MAX_LIMIT})."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
) -> None:
    """Show the audit trail, newest first."""
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        organisation = service.organisation_id(conn, org) if org else None
        query = audit.AuditQuery(entity=entity, entity_id=entity_id, actor=actor,
                                 since=_since(since), organisation_id=organisation, limit=limit)
        entries = audit.list_entries(conn, query)
    if as_json:
        for entry in entries:
            print(json.dumps(entry, default=str))
        return
    if not entries:
        console.print("No audit entries match.")
        return
    table = Table("at (UTC)", "actor", "action", "entity", "id", "detail")
    for entry in entries:
        detail = json.dumps(entry["detail"], separators=(",", ":")) if entry["detail"] else ""
        table.add_row(_when(entry["at"]), entry["actor"], entry["action"], entry["entity"],
                      entry["entity_id"] or "", detail + (f" {entry['note']}" if entry["note"]
                                                          else ""))
    print_table(table)


def register(app: typer.Typer) -> None:
    app.add_typer(orgs_app, name="orgs")
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
    app.add_typer(audit_app, name="audit")
