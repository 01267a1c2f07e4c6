"""`placehub mqtt ...`: broker accounts and ACL for the SensorThings MQTT extension."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import typer

from placehub.access import service
from placehub.console import console, fail, open_database, settings_of
from placehub.sta import mqtt_credentials as creds

mqtt_app = typer.Typer(help="Mosquitto accounts and ACL for SensorThings over MQTT.",
                       no_args_is_help=True)

PASSWORD_FILE = typer.Option(Path("/etc/mosquitto/placehub.passwd"), "--password-file",
                             help="Mosquitto password_file.")
ACL_FILE = typer.Option(Path("/etc/mosquitto/placehub.acl"), "--acl-file",
                        help="Mosquitto acl_file.")


def _write_acl(ctx: typer.Context, password_file: Path, acl_file: Path) -> None:
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        text = creds.acl_text(conn, creds.accounts(password_file))
    acl_file.parent.mkdir(parents=True, exist_ok=True)
    acl_file.write_text(text)
    console.print(f"ACL written to {acl_file}; reload Mosquitto to apply it "
                  "(systemctl reload mosquitto, or kill -HUP its pid).")


def _passwd(password_file: Path, username: str, password: str | None) -> None:
    try:
        creds.mosquitto_passwd(password_file, username, password)
    except (FileNotFoundError, subprocess.CalledProcessError, OSError) as error:
        detail = getattr(error, "stderr", b"") or b""
        fail(f"could not update {password_file}: {error} {detail.decode(errors='replace')}")


@mqtt_app.command("credentials")
def credentials(ctx: typer.Context, username: str, password_file: Path = PASSWORD_FILE,
                acl_file: Path = ACL_FILE) -> None:
    """Give placehub user USERNAME a broker account: a new API token is its password."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        token = service.create_token(conn, service.user_id(conn, username), "mqtt")
    _passwd(password_file, username, token)
    _write_acl(ctx, password_file, acl_file)
    console.print(f"Broker account [bold]{username}[/]; password (shown once):")
    console.print(token, soft_wrap=True)


def _require_current_schema(ctx: typer.Context) -> None:
    from placehub.db.migrate import require_current_schema

    require_current_schema(settings_of(ctx).database_url)


@mqtt_app.command("service")
def service_account(ctx: typer.Context, host: str = "127.0.0.1", port: int = 1883,
                    password_file: Path = PASSWORD_FILE, acl_file: Path = ACL_FILE) -> None:
    """Create placehub's own broker account and print the PLACEHUB_MQTT_URL to set."""
    _require_current_schema(ctx)  # before the broker's files change
    password = secrets.token_urlsafe(24)
    _passwd(password_file, creds.SERVICE_ACCOUNT, password)
    _write_acl(ctx, password_file, acl_file)
    console.print("Set this (keep it secret):")
    console.print(f"PLACEHUB_MQTT_URL=mqtt://{creds.SERVICE_ACCOUNT}:{password}@{host}:{port}",
                  soft_wrap=True)


@mqtt_app.command("revoke")
def revoke(ctx: typer.Context, username: str, password_file: Path = PASSWORD_FILE,
           acl_file: Path = ACL_FILE) -> None:
    """Remove USERNAME's broker account (revoke its placehub token with 'placehub tokens')."""
    _require_current_schema(ctx)  # before the broker's files change
    _passwd(password_file, username, None)
    _write_acl(ctx, password_file, acl_file)


@mqtt_app.command("acl")
def acl(ctx: typer.Context, password_file: Path = PASSWORD_FILE,
        acl_file: Path = ACL_FILE) -> None:
    """Regenerate the ACL (run after adding Datastreams, users or roles)."""
    _write_acl(ctx, password_file, acl_file)


def register(app: typer.Typer) -> None:
    app.add_typer(mqtt_app, name="mqtt")
