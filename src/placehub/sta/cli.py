"""`placehub mqtt ...`: broker accounts and ACL for the SensorThings MQTT extension."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import typer

from placehub.access import service
from placehub.access.cli import cli_actor
from placehub.console import console, fail, open_database, settings_of
from placehub.sta import mqtt_credentials as creds

mqtt_app = typer.Typer(help="Mosquitto accounts and ACL for SensorThings over MQTT.",
                       no_args_is_help=True)

PASSWORD_FILE = typer.Option(None, "--password-file", help="Mosquitto password_file (default: "
                             "the mqtt_password_file setting, else "
                             "/etc/mosquitto/placehub.passwd).")
ACL_FILE = typer.Option(Path("/etc/mosquitto/placehub.acl"), "--acl-file",
                        help="Mosquitto acl_file.")
DEFAULT_PASSWORD_FILE = Path("/etc/mosquitto/placehub.passwd")
RELOAD = "reload Mosquitto to apply it (systemctl reload mosquitto, or kill -HUP its pid)"


def password_file_of(ctx: typer.Context, given: Path | None) -> Path:
    """The password file: the option, else the mqtt_password_file setting, else the default."""
    configured = str(settings_of(ctx).mqtt_password_file or "")
    return given or (Path(configured) if configured else DEFAULT_PASSWORD_FILE)


def _write_acl(acl_file: Path) -> None:
    acl_file.parent.mkdir(parents=True, exist_ok=True)
    acl_file.write_text(creds.acl_text())
    console.print(f"ACL written to {acl_file}; {RELOAD}.")


def _passwd(password_file: Path, username: str, password: str | None) -> None:
    try:
        creds.mosquitto_passwd(password_file, username, password)
    except (FileNotFoundError, subprocess.CalledProcessError, OSError) as error:
        detail = getattr(error, "stderr", b"") or b""
        fail(f"could not update {password_file}: {error} {detail.decode(errors='replace')}")


@mqtt_app.command("credentials")
def credentials(ctx: typer.Context, username: str, password_file: Path | None = PASSWORD_FILE,
                acl_file: Path = ACL_FILE) -> None:
    """Give placehub user USERNAME a broker account: a new API token is its password, the
    token's prefix its name. Revoking the token ends the account."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        token = service.create_token(conn, service.user_id(conn, username), "mqtt broker",
                                     actor=cli_actor())
    account = token[:10]
    _passwd(password_file_of(ctx, password_file), account, token)
    _write_acl(acl_file)
    console.print(f"Broker account [bold]{account}[/] for {username}; password (shown once):")
    console.print(token, soft_wrap=True)
    console.print(f"Publish Observations to {creds.creation_topic_root(account)}"
                  "/Datastreams(<id>)/Observations", soft_wrap=True)


def _require_current_schema(ctx: typer.Context) -> None:
    from placehub.db.migrate import require_current_schema

    require_current_schema(settings_of(ctx).database_url)


@mqtt_app.command("service")
def service_account(ctx: typer.Context, host: str = "127.0.0.1", port: int = 1883,
                    password_file: Path | None = PASSWORD_FILE,
                    acl_file: Path = ACL_FILE) -> None:
    """Create placehub's own broker account and print the PLACEHUB_MQTT_URL to set."""
    _require_current_schema(ctx)  # before the broker's files change
    password = secrets.token_urlsafe(24)
    _passwd(password_file_of(ctx, password_file), creds.SERVICE_ACCOUNT, password)
    _write_acl(acl_file)
    console.print("Set this (keep it secret):")
    console.print(f"PLACEHUB_MQTT_URL=mqtt://{creds.SERVICE_ACCOUNT}:{password}@{host}:{port}",
                  soft_wrap=True)


@mqtt_app.command("revoke")
def revoke(ctx: typer.Context, account: str,
           password_file: Path | None = PASSWORD_FILE) -> None:
    """End broker account ACCOUNT: revoke its token and remove it from the password file."""
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        count = service.revoke_token(conn, account, actor=cli_actor())
    path = password_file_of(ctx, password_file)
    removed = creds.remove_account(path, account)
    console.print(f"{count} token(s) revoked; broker account "
                  f"{'removed from ' + str(path) if removed else 'was not in ' + str(path)}: "
                  f"{RELOAD}.")


@mqtt_app.command("acl")
def acl(acl_file: Path = ACL_FILE) -> None:
    """Write the broker's ACL file."""
    _write_acl(acl_file)


def register(app: typer.Typer) -> None:
    app.add_typer(mqtt_app, name="mqtt")
