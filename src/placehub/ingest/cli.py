"""Commands of placehub.ingest: profiles, decode, devices, ingest (mqtt, dead letters, replay)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from placehub.console import (
    console,
    fail,
    open_database,
    progress,
    settings_of,
    until_stopped,
    with_overrides,
)

profiles_app = typer.Typer(
    help="Device profiles: which codec and Datastreams a device uses.", no_args_is_help=True
)


@profiles_app.command("list")
def profiles_list(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the profiles as JSON."),
) -> None:
    """List every device profile with its codec, asset type and Datastreams."""
    from placehub.ingest.profiles import ProfileError, load_profiles

    settings = settings_of(ctx)
    try:
        profiles = load_profiles(settings.ingest_profiles_dir or None)
    except ProfileError as error:
        fail(str(error))
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "id": p.id,
                        "name": p.name,
                        "codec": p.codec,
                        "prefer": p.prefer,
                        "asset_type": p.asset_type,
                        "datastreams": [d.key for d in p.datastreams],
                    }
                    for p in profiles.values()
                ],
                indent=2,
            )
        )
        return
    table = Table("profile", "codec", "asset type", "wins", "datastreams")
    for p in profiles.values():
        table.add_row(
            p.id, p.codec, p.asset_type, p.prefer, ", ".join(d.key for d in p.datastreams)
        )
    console.print(table)


@profiles_app.command("codecs")
def codecs_list() -> None:
    """List every registered codec."""
    from placehub.ingest.codecs import REGISTRY

    table = Table("codec", "fPorts", "what it decodes")
    for codec in REGISTRY:
        ports = ", ".join(str(p) for p in sorted(codec.fports)) if codec.fports else "any"
        table.add_row(codec.name, ports, codec.description)
    console.print(table)


def decode_command(
    ctx: typer.Context,
    payload_hex: str = typer.Argument(..., metavar="HEX", help="Payload bytes in hex."),
    profile: str = typer.Option(
        None, "--profile", help="Device profile id (see 'placehub profiles list')."
    ),
    codec: str = typer.Option(None, "--codec", help="Codec name instead of a profile."),
    fport: int = typer.Option(..., "--fport", help="LoRaWAN fPort of the uplink."),
) -> None:
    """Decode one payload and print the canonical measurements as JSON."""
    from placehub.ingest.codecs import DecodeError, decode
    from placehub.ingest.profiles import decode_for_profile, get_profile

    try:
        payload = bytes.fromhex(payload_hex.replace(" ", ""))
    except ValueError:
        fail(f"{payload_hex!r} is not hex: give the payload bytes like 0d3b0aef00000001")
    if (profile is None) == (codec is None):
        fail("give either --profile ID or --codec NAME")
    try:
        if profile is not None:
            decoded = decode_for_profile(
                get_profile(profile, settings_of(ctx).ingest_profiles_dir or None), fport, payload
            )
        else:
            decoded = decode(codec, fport, payload)
    except KeyError as error:
        fail(str(error.args[0]))
    except DecodeError as error:
        fail(f"cannot decode: {error}")
    print(
        json.dumps(
            {
                "measurements": [m.as_json() for m in decoded.measurements],
                "attributes": decoded.attributes,
            },
            indent=2,
            default=str,
        )
    )


devices_app = typer.Typer(help="LoRaWAN devices: register, import and list.", no_args_is_help=True)
ingest_app = typer.Typer(
    help="LoRaWAN ingest: MQTT, dead letters, replay, integrations.", no_args_is_help=True
)
integrations_app = typer.Typer(
    help="Webhook credentials for network-server integrations.", no_args_is_help=True
)
ingest_app.add_typer(integrations_app, name="integrations")


def _cli_principal() -> Any:
    """Commands run by whoever can run the server: they may write for any organisation."""
    from placehub.access.requests import ANONYMOUS_WRITER

    return ANONYMOUS_WRITER


@devices_app.command("add")
def devices_add(
    ctx: typer.Context,
    dev_eui: str = typer.Argument(..., help="DevEUI, 16 hex digits."),
    name: str = typer.Option(..., "--name", help="Name of the asset, e.g. 'Bin 42, High Street'."),
    profile: str = typer.Option(..., "--profile", help="Device profile id."),
    latitude: float = typer.Option(..., "--lat", help="Latitude (WGS84)."),
    longitude: float = typer.Option(..., "--lon", help="Longitude (WGS84)."),
    asset_type: str = typer.Option(None, "--asset-type", help="Asset type; default the profile's."),
    organisation: str = typer.Option(None, "--organisation", help="Organisation slug."),
    visibility: str = typer.Option(
        None, "--visibility", help="public, partners, organisation or restricted."
    ),
    network: str = typer.Option(None, "--network", help="tts or chirpstack."),
) -> None:
    """Register one device: creates its Thing, Location, Sensor and Datastreams."""
    from placehub.ingest.devices import DeviceSpec, register_device
    from placehub.sta.writes import WriteEvents

    settings = settings_of(ctx)
    with open_database(settings) as database:
        events = WriteEvents()
        with database.begin() as conn:
            device = register_device(
                conn,
                _cli_principal(),
                DeviceSpec(
                    dev_eui=dev_eui,
                    name=name,
                    profile=profile,
                    latitude=latitude,
                    longitude=longitude,
                    asset_type=asset_type,
                    organisation=organisation,
                    visibility=visibility,
                    network=network,
                ),
                events,
                settings.ingest_profiles_dir or None,
            )
        events.publish(database)
    console.print(
        f"Registered {device['dev_eui']} as Thing {device['thing_id']} with "
        f"{len(device['datastreams'])} Datastreams."
    )


@devices_app.command("import")
def devices_import(
    ctx: typer.Context,
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV file of devices."),
) -> None:
    """Register every device of a CSV (dev_eui, name, profile, latitude, longitude, asset_type,
    optional organisation, visibility, network, application_id, description); all or nothing."""
    from placehub.ingest.devices import import_devices
    from placehub.sta.writes import WriteEvents

    settings = settings_of(ctx)
    text = path.read_text(encoding="utf-8")
    with open_database(settings) as database:
        events = WriteEvents()
        try:
            with database.begin() as conn, progress() as bar:
                task = bar.add_task("Registering devices", total=None)
                report = import_devices(
                    conn, _cli_principal(), text, settings.ingest_profiles_dir or None, events
                )
                bar.update(task, total=report.rows, completed=len(report.registered))
                if not report.ok:
                    # Roll back: nothing is half-imported.
                    raise _Rollback(report.text())
        except _Rollback as rollback:
            fail(str(rollback))
        events.publish(database)
    console.print(report.text())


class _Rollback(Exception):
    pass


@devices_app.command("list")
def devices_list(ctx: typer.Context) -> None:
    """List registered devices with their health."""
    from placehub.ingest.devices import device_health, list_devices

    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        table = Table("dev_eui", "name", "profile", "thing", "last seen", "battery", "loss rate")
        for device in list_devices(conn):
            health = device_health(conn, device["dev_eui"])
            battery = health.get("battery_voltage") or health.get("battery_percent")
            table.add_row(
                device["dev_eui"],
                device["name"],
                device["profile"],
                str(device["thing_id"]),
                str(health.get("last_seen") or "never"),
                str(battery or ""),
                "" if health.get("loss_rate") is None else f"{health['loss_rate']:.1%}",
            )
    console.print(table)


@ingest_app.command("dead-letters")
def dead_letters_command(
    ctx: typer.Context,
    dev_eui: str = typer.Option(None, "--dev-eui", help="Only this device."),
    limit: int = typer.Option(50, "--limit", help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List uplinks that could not become Observations, with the reason."""
    from placehub.ingest.deadletters import list_dead_letters

    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        letters = list_dead_letters(conn, dev_eui, limit)
    if as_json:
        print(json.dumps(letters, indent=2, default=str))
        return
    table = Table("id", "dev_eui", "time", "fPort", "payload", "reason")
    for letter in letters:
        table.add_row(
            str(letter["id"]),
            letter["dev_eui"],
            letter["ns_time"],
            str(letter["f_port"]),
            letter["payload_hex"] or "",
            letter["reason"] or "",
        )
    console.print(table)
    console.print(f"{len(letters)} dead letter(s) shown.")


@ingest_app.command("replay")
def replay_command(
    ctx: typer.Context,
    dead_letters: bool = typer.Option(
        False, "--dead-letters", help="Re-process every dead letter."
    ),
    since: datetime = typer.Option(
        None, "--since", help="Re-process uplinks from this time (UTC)."
    ),
    until: datetime = typer.Option(None, "--until", help="... up to this time (UTC)."),
    dev_eui: str = typer.Option(None, "--dev-eui", help="Only this device."),
) -> None:
    """Re-process dead letters or a time range after a fix; never duplicates Observations."""
    from placehub.ingest.deadletters import replay

    settings = settings_of(ctx)
    since_utc = since.replace(tzinfo=UTC) if since and since.tzinfo is None else since
    until_utc = until.replace(tzinfo=UTC) if until and until.tzinfo is None else until
    with open_database(settings) as database:
        result = replay(
            database,
            dead_letters=dead_letters,
            since=since_utc,
            until=until_utc,
            dev_eui=dev_eui,
            extra_profiles=settings.ingest_profiles_dir or None,
        )
    console.print(
        f"Replayed {result['replayed']} uplink(s): {result['processed']} processed, "
        f"{result['dead_letters']} still dead letters, "
        f"{result['new_observations']} new Observations."
    )


@ingest_app.command("mqtt")
def mqtt_command(
    ctx: typer.Context,
    topics: str = typer.Option(
        None, "--topics", help="network:topic list (PLACEHUB_INGEST_MQTT_TOPICS)."
    ),
    url: str = typer.Option(None, "--url", help="Broker URL (PLACEHUB_MQTT_URL)."),
) -> None:
    """Subscribe to TTS / ChirpStack MQTT and journal every uplink until stopped."""
    import asyncio

    from placehub.ingest.journal import JournalWriter
    from placehub.ingest.mqtt import run_subscription, subscriptions_from_settings
    from placehub.ingest.processing import ProcessingWorker

    settings = with_overrides(ctx, ingest_mqtt_topics=topics, mqtt_url=url)
    subscriptions = subscriptions_from_settings(settings)
    if not subscriptions:
        fail(
            "no MQTT subscriptions: set PLACEHUB_MQTT_URL and PLACEHUB_INGEST_MQTT_TOPICS "
            "(e.g. 'tts:v3/+/devices/+/up') or give --url and --topics"
        )
    with open_database(settings) as database:
        worker = ProcessingWorker(database, settings.ingest_profiles_dir or None)
        writer = JournalWriter(database, on_commit=worker.wake)
        worker.start()
        writer.start()

        async def run_all() -> None:
            await asyncio.gather(*(run_subscription(s, writer) for s in subscriptions))

        for s in subscriptions:
            console.print(f"Subscribed to {s.topic} ({s.network}) on {s.url}")
        try:
            with until_stopped():
                asyncio.run(run_all())
        finally:
            writer.stop()
            worker.stop()


@integrations_app.command("add")
def integrations_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A name, e.g. ttn-rutland."),
    network: str = typer.Option(..., "--network", help="tts, chirpstack or any."),
    username: str = typer.Option(
        None,
        "--username",
        help="Use HTTP Basic auth with this user; "
        "without it the secret goes in the X-Placehub-Secret header.",
    ),
) -> None:
    """Create webhook credentials and print the secret (shown once)."""
    from placehub.ingest.integrations import create_integration

    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        secret = create_integration(conn, name, network, username)
    how = f"Basic auth user {username!r}, password" if username else "header X-Placehub-Secret:"
    console.print(f"Integration {name} created. {how} {secret}")


@integrations_app.command("list")
def integrations_list(ctx: typer.Context) -> None:
    """List webhook integrations (secrets are never shown again)."""
    from placehub.ingest.integrations import list_integrations

    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        rows = list_integrations(conn)
    table = Table("name", "network", "auth", "user", "created")
    for row in rows:
        table.add_row(
            row["name"], row["network"], row["auth"], row["username"] or "", row["created_at"]
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the `placehub` command."""
    app.add_typer(profiles_app, name="profiles")
    app.command("decode")(decode_command)
    app.add_typer(devices_app, name="devices")
    app.add_typer(ingest_app, name="ingest")
