"""Commands of placehub.ingest: profiles, decode, devices, ingest (mqtt, dead letters, replay)."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from placehub.console import console, fail, settings_of

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


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the `placehub` command."""
    app.add_typer(profiles_app, name="profiles")
    app.command("decode")(decode_command)
