"""`placehub orgs`, `placehub users` and `placehub tokens`."""

from __future__ import annotations

import typer

from placehub.access import service
from placehub.console import console, open_database, settings_of

orgs_app = typer.Typer(help="Organisations that own data.", no_args_is_help=True)
users_app = typer.Typer(help="People who sign in or hold API tokens.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (shown once, stored hashed).", no_args_is_help=True)


@orgs_app.command("add")
def add_org(ctx: typer.Context, slug: str, name: str) -> None:
    """Add an organisation, e.g. `placehub orgs add rutland "Rutland County Council"`."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        service.create_organisation(conn, slug, name)
    console.print(f"Organisation [bold]{slug}[/] added.")


@orgs_app.command("partner")
def partner(ctx: typer.Context, organisation: str, partner_org: str) -> None:
    """Let members of PARTNER_ORG read ORGANISATION's data marked "partners"."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        service.add_partner(
            conn, service.organisation_id(conn, organisation),
            service.organisation_id(conn, partner_org),
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
            display_name=display_name,
        )
        service.grant_role(conn, user, organisation, role)
    console.print(f"User [bold]{username}[/] added as {role} of {org}.")


@users_app.command("grant")
def grant(ctx: typer.Context, username: str, org: str, role: str) -> None:
    """Give USERNAME a ROLE (admin, editor, viewer) in organisation ORG."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        service.grant_role(
            conn, service.user_id(conn, username), service.organisation_id(conn, org), role
        )
    console.print(f"{username} is now {role} of {org}.")


@tokens_app.command("create")
def create_token(
    ctx: typer.Context, username: str, name: str = typer.Option("", help="What it is for."),
) -> None:
    """Create an API token for USERNAME; it is printed once and stored only as a hash."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        token = service.create_token(conn, service.user_id(conn, username), name)
    console.print("Token (copy it now, it is not shown again):", style="bold")
    print(token)


@tokens_app.command("revoke")
def revoke_token(ctx: typer.Context, prefix: str) -> None:
    """Revoke the token starting with PREFIX (its first 10 characters)."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        count = service.revoke_token(conn, prefix)
    console.print(f"{count} token(s) revoked.")


def register(app: typer.Typer) -> None:
    app.add_typer(orgs_app, name="orgs")
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
