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
    print_json,
    print_table,
    progress,
    settings_of,
    until_stopped,
    with_overrides,
)

profiles_app = typer.Typer(
    help="Device profiles: which codec and Datastreams a device uses.", no_args_is_help=True
)


def _profile_json(p: Any) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "codec": p.codec,
        "decoder": p.decoder,
        "prefer": p.prefer,
        "asset_type": p.asset_type,
        "datastreams": [d.key for d in p.datastreams],
        "object_fields": {name: spec.as_toml() for name, spec in p.object_fields.fields.items()},
        "unmapped_fields": list(p.unmapped_fields),
        "source": p.source,
        "path": str(p.path) if p.path else None,
    }


@profiles_app.command("list")
def profiles_list(
    ctx: typer.Context,
    vendor: str = typer.Option(None, "--vendor", help="Only profiles of this vendor."),
    as_json: bool = typer.Option(False, "--json", help="Print the profiles as JSON."),
) -> None:
    """List every device profile with its decoder, asset type and Datastreams."""
    from placehub.ingest.profiles import ProfileError, load_profiles

    settings = settings_of(ctx)
    try:
        profiles = load_profiles(settings.ingest_profiles_dir or None)
    except ProfileError as error:
        fail(str(error))
    chosen = [
        p for p in profiles.values() if vendor is None or p.id.startswith(f"{vendor.lower()}/")
    ]
    if as_json:
        print_json([_profile_json(p) for p in chosen])
        return
    table = Table("profile", "decoder", "asset type", "wins", "datastreams", "unmapped fields")
    for p in chosen:
        table.add_row(
            p.id,
            p.decoder,
            p.asset_type,
            p.prefer,
            ", ".join(d.key for d in p.datastreams),
            ", ".join(p.unmapped_fields),
        )
    print_table(table)


@profiles_app.command("codecs")
def codecs_list(
    as_json: bool = typer.Option(False, "--json", help="Print the codecs as JSON."),
) -> None:
    """List every built-in codec."""
    from placehub.ingest.codecs import REGISTRY

    if as_json:
        print_json(
            [
                {
                    "codec": c.name,
                    "fports": sorted(c.fports) if c.fports else None,
                    "description": c.description,
                }
                for c in REGISTRY
            ]
        )
        return
    table = Table("codec", "fPorts", "what it decodes")
    for c in REGISTRY:
        ports = ", ".join(str(p) for p in sorted(c.fports)) if c.fports else "any"
        table.add_row(c.name, ports, c.description)
    print_table(table)


@profiles_app.command("import-repository")
def import_repository_command(
    ctx: typer.Context,
    path: Path = typer.Argument(
        ..., exists=True, file_okay=False, help="Local checkout of the LoRaWAN device repository."
    ),
    vendor: list[str] = typer.Option(
        [], "--vendor", help="Only this vendor (repeat for several); default: every vendor."
    ),
    into: Path = typer.Option(
        None, "--into", help="Folder for the profiles (default PLACEHUB_INGEST_PROFILES_DIR)."
    ),
    include_native: bool = typer.Option(
        False,
        "--include-native",
        help="Also import models placehub decodes natively (the import then overrides them).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Make a profile for every model of the device repository whose codec runs in the
    sandbox (named vendor/model); importing again updates them."""
    from placehub.ingest.repository import RepositoryError, import_repository

    settings = settings_of(ctx)
    target = into or (Path(settings.ingest_profiles_dir) if settings.ingest_profiles_dir else None)
    if target is None:
        fail("give --into DIR or set PLACEHUB_INGEST_PROFILES_DIR: where the profiles go")
    try:
        with progress() as bar:
            task = bar.add_task("Importing models", total=None)

            def advance(number: int, total: int, profile: str) -> None:
                bar.update(task, total=total, completed=number - 1, description=profile)

            report = import_repository(path, target, vendor or None, advance, include_native)
            bar.update(task, completed=len(report.models), description="Imported")
    except RepositoryError as error:
        fail(str(error))
    if as_json:
        print_json(report.as_json())
        return
    table = Table("profile", "status", "examples as written", "datastreams", "unmapped / why")
    for row in report.models:
        table.add_row(
            row.profile,
            row.status,
            f"{row.examples_as_written}/{row.examples}" if row.examples else "",
            ", ".join(dict.fromkeys(row.mapped.values())),
            row.reason or ", ".join(row.unmapped),
        )
    print_table(table)
    for row in report.models:
        for difference in row.differences:
            console.print(f"{row.profile}: {difference}")
    console.print(
        f"{report.count('imported')} imported, {report.count('updated')} updated, "
        f"{report.count('unchanged')} unchanged, {report.count('skipped')} skipped, into "
        f"{report.into}."
    )
    if (
        settings.ingest_profiles_dir
        and Path(settings.ingest_profiles_dir).resolve() != Path(report.into).resolve()
    ):
        console.print(
            f"placehub reads profiles from {settings.ingest_profiles_dir}: set "
            f"PLACEHUB_INGEST_PROFILES_DIR={report.into} to use these."
        )


def decode_command(
    ctx: typer.Context,
    payload_hex: str = typer.Argument(
        "", metavar="HEX", help="Payload bytes in hex (may be empty with --object)."
    ),
    profile: str = typer.Option(
        None, "--profile", help="Device profile id (see 'placehub profiles list')."
    ),
    codec: str = typer.Option(None, "--codec", help="Built-in codec name instead of a profile."),
    fport: int = typer.Option(..., "--fport", help="LoRaWAN fPort of the uplink."),
    decoded_object: str = typer.Option(
        None,
        "--object",
        help="The network server's decoded object as JSON (for codec 'none' profiles).",
    ),
) -> None:
    """Decode one payload; print the canonical measurements and the unmapped fields as JSON."""
    from placehub.ingest.codecs import DecodeError, decode
    from placehub.ingest.profiles import ProfileError, decode_for_profile, get_profile

    try:
        payload = bytes.fromhex(payload_hex.replace(" ", ""))
    except ValueError:
        fail(f"{payload_hex!r} is not hex: give the payload bytes like 0d3b0aef00000001")
    try:
        given_object = json.loads(decoded_object) if decoded_object else None
    except json.JSONDecodeError as error:
        fail(f"--object is not JSON ({error}): give it like '{{\"temperature\": 21.5}}'")
    if given_object is not None and not isinstance(given_object, dict):
        fail("--object must be a JSON object, like '{\"temperature\": 21.5}'")
    if (profile is None) == (codec is None):
        fail("give either --profile ID or --codec NAME")
    try:
        if profile is not None:
            decoded = decode_for_profile(
                get_profile(profile, settings_of(ctx).ingest_profiles_dir or None),
                fport,
                payload if payload or given_object is None else None,
                given_object,
            )
        else:
            decoded = decode(codec, fport, payload)
    except KeyError as error:
        fail(str(error.args[0]))
    except ProfileError as error:
        fail(str(error))
    except DecodeError as error:
        fail(f"cannot decode: {error}")
    print_json(
        {
            "measurements": [m.as_json() for m in decoded.measurements],
            "unmapped": decoded.attributes,
        }
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
def devices_list(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the devices as JSON."),
) -> None:
    """List registered devices with their health."""
    from placehub.ingest.devices import device_health, list_devices

    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        rows = [
            {**device, "health": device_health(conn, device["dev_eui"])}
            for device in list_devices(conn)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("dev_eui", "name", "profile", "thing", "last seen", "battery", "loss rate")
    for device in rows:
        health = device["health"]
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
    print_table(table)


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
        print_json(letters)
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
    print_table(table)
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
    ca_file: str = typer.Option(
        None, "--ca-file", help="CA certificate (PEM) of a private mqtts:// broker."
    ),
    insecure: bool = typer.Option(
        False, "--insecure", help="mqtts:// without checking the certificate (testing only)."
    ),
    organisation: str = typer.Option(
        None, "--organisation", help="Write only to this organisation's devices (slug)."
    ),
) -> None:
    """Subscribe to TTS / ChirpStack MQTT and journal every uplink until stopped.

    A message that cannot be stored is logged and counted; the subscription carries on."""
    import asyncio

    from placehub.ingest.journal import JournalWriter
    from placehub.ingest.mqtt import run_subscription, subscriptions_from_settings
    from placehub.ingest.processing import ProcessingWorker, RetryPolicy
    from placehub.ingest.stream import StreamSettings, UplinkPublisher, UplinkSink

    settings = with_overrides(
        ctx, ingest_mqtt_topics=topics, mqtt_url=url, ingest_mqtt_ca_file=ca_file,
        ingest_mqtt_tls_insecure=insecure or None,
    )
    subscriptions = subscriptions_from_settings(settings)
    if not subscriptions:
        fail(
            "no MQTT subscriptions: set PLACEHUB_MQTT_URL and PLACEHUB_INGEST_MQTT_TOPICS "
            "(e.g. 'tts:v3/+/devices/+/up') or give --url and --topics"
        )
    with open_database(settings) as database:
        if organisation:
            from placehub.access.service import organisation_id

            with database.connect() as conn:
                org = organisation_id(conn, organisation)
            for subscription in subscriptions:
                subscription.organisation_id = org
        worker = ProcessingWorker(
            database, settings.ingest_profiles_dir or None,
            policy=RetryPolicy(max_attempts=max(1, settings.ingest_max_attempts)),
        )
        writer = JournalWriter(database, on_commit=worker.wake)
        # With NATS the uplinks go to JetStream ('placehub worker' stores them).
        sink: UplinkSink = (
            UplinkPublisher(StreamSettings.from_settings(settings)) if settings.nats_url
            else writer
        )
        if sink is writer:
            worker.start()
            writer.start()

        async def run_all() -> None:
            await asyncio.gather(*(run_subscription(s, sink) for s in subscriptions))

        for s in subscriptions:
            console.print(f"Subscribed to {s.topic} ({s.network}) on {s.url}")
        try:
            with until_stopped():
                asyncio.run(run_all())
        finally:
            writer.stop()
            worker.stop()


def worker_command(
    ctx: typer.Context,
    batch: int = typer.Option(None, "--batch", help="Uplinks per transaction "
                              "(PLACEHUB_WORKER_BATCH)."),
    nats_url: str = typer.Option(None, "--nats-url", help="NATS server(s) (PLACEHUB_NATS_URL)."),
    seconds: float = typer.Option(None, "--seconds", help="Stop after this many seconds "
                                  "(default: run until stopped)."),
) -> None:
    """Store uplinks from the NATS JetStream stream as journal entries and Observations.

    Run as many as the database keeps up with, on any machine: they share one durable
    consumer, and an uplink is acknowledged to JetStream only after its Observations commit.
    """
    from placehub.ingest.stream import StreamSettings, UplinkWorker

    settings = with_overrides(ctx, worker_batch=batch, nats_url=nats_url)
    if not settings.nats_url:
        fail("no NATS server: set PLACEHUB_NATS_URL (e.g. nats://127.0.0.1:4222) or give "
             "--nats-url; without NATS, 'placehub serve' processes uplinks itself")
    if seconds is not None and seconds <= 0:
        fail(f"--seconds {seconds}: give a positive number of seconds")
    import asyncio

    with open_database(settings) as database:
        if not database.is_sqlite:
            from datetime import UTC, datetime

            from placehub.db.partitions import ensure_months, is_partitioned

            with database.begin() as conn:
                if is_partitioned(conn):  # the coming months are ready before readings come
                    ensure_months(conn, datetime.now(UTC))
        shared = attach_shared_alerts(database, settings)
        worker = UplinkWorker(database, StreamSettings.from_settings(settings),
                              batch=settings.worker_batch,
                              extra_profiles=settings.ingest_profiles_dir or None)

        async def run() -> None:
            stop = asyncio.Event()
            if seconds is not None:
                asyncio.get_running_loop().call_later(seconds, stop.set)
            await worker.run(stop)

        console.print(f"Worker storing uplinks from {settings.nats_url} "
                      f"(stream {settings.nats_stream}, batches of {settings.worker_batch})")
        try:
            with until_stopped():
                asyncio.run(run())
        finally:
            if shared is not None:
                shared.detach()
                shared.save_states()
        console.print(f"{worker.acknowledged} uplinks stored, {worker.observations} "
                      f"Observations written, {worker.dead} dead-lettered")


def attach_shared_alerts(database: Any, settings: Any) -> Any:
    """The rule engine judging this worker's Observations when alert states are shared."""
    if not settings.alerts_shared_state or database.is_sqlite:
        return None
    from placehub.alerts.engine import attach_engine

    return attach_engine(database, shared=True)


def _organisation_option(conn: Any, organisation: str | None, everywhere: bool) -> int | None:
    from placehub.access.service import organisation_id

    if organisation and everywhere:
        fail("give --organisation or --all-organisations, not both")
    if not organisation and not everywhere:
        fail(
            "say whose devices the integration writes to: --organisation SLUG (its devices "
            "only) or --all-organisations (a network server shared by every organisation)"
        )
    return organisation_id(conn, organisation) if organisation else None


@integrations_app.command("add")
def integrations_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A name, e.g. ttn-rutland."),
    network: str = typer.Option(..., "--network", help="tts, chirpstack or any."),
    organisation: str = typer.Option(
        None, "--organisation", help="Slug of the organisation whose devices it writes to."
    ),
    everywhere: bool = typer.Option(
        False, "--all-organisations", help="Let it write to every organisation's devices."
    ),
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
        org = _organisation_option(conn, organisation, everywhere)
        secret = create_integration(conn, name, network, username, organisation_id=org)
    how = f"Basic auth user {username!r}, password" if username else "header X-Placehub-Secret:"
    console.print(f"Integration {name} created. {how} {secret}")


@integrations_app.command("rotate")
def integrations_rotate(
    ctx: typer.Context, name: str = typer.Argument(..., help="The integration's name.")
) -> None:
    """Give the integration a new secret (printed once); the old one stops working at once."""
    from placehub.ingest.integrations import rotate_integration

    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        secret = rotate_integration(conn, name)
    console.print(f"Integration {name}: new secret {secret} (the old one no longer works; "
                  "servers re-read integrations within 5 s)")


@integrations_app.command("revoke")
def integrations_revoke(
    ctx: typer.Context, name: str = typer.Argument(..., help="The integration's name.")
) -> None:
    """Stop the integration's secret from opening anything (kept in the list as revoked)."""
    from placehub.ingest.integrations import revoke_integration

    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        revoke_integration(conn, name)
    console.print(f"Integration {name} revoked.")


@integrations_app.command("list")
def integrations_list(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the integrations as JSON."),
) -> None:
    """List webhook integrations (secrets are never shown again)."""
    from placehub.ingest.integrations import list_integrations

    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        rows = list_integrations(conn)
    if as_json:
        print_json(rows)
        return
    table = Table("name", "network", "organisation", "auth", "user", "created", "revoked")
    for row in rows:
        table.add_row(
            row["name"], row["network"], row["organisation"] or "(all)", row["auth"],
            row["username"] or "", str(row["created_at"]), str(row["revoked_at"] or ""),
        )
    print_table(table)


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the `placehub` command."""
    app.add_typer(profiles_app, name="profiles")
    app.command("decode")(decode_command)
    app.add_typer(devices_app, name="devices")
    app.add_typer(ingest_app, name="ingest")
    app.command("worker")(worker_command)
