"""``placehub care``: residents, consent, carers, break-glass access and routine checks.

The CLI acts as the installation itself (it may read every home): it is the one exception to
"nobody but the named carers", for the people running the server.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import typer
from rich.table import Table

from placehub.access import service as access
from placehub.care import service
from placehub.care.schedule import check_all
from placehub.console import console, fail, open_database, print_json, print_table, settings_of
from placehub.errors import PlacehubError

care_app = typer.Typer(help="Home sensors for independent living: residents, consent, carers, "
                            "break-glass access and change-in-routine checks.",
                       no_args_is_help=True)
ACTOR = "cli"
T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else ""


def _write(ctx: typer.Context, action: Callable[[Any], Any]) -> Any:
    with open_database(settings_of(ctx)) as database:
        try:
            with database.begin() as conn:
                return action(conn)
        except PlacehubError as error:
            fail(error.message)


def _read(ctx: typer.Context, reference: str,
          read: Callable[[Any, service.Resident], T]) -> T:
    """What ``read`` finds about the resident ``reference``, or a plain error."""
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        try:
            return read(conn, service.get_resident(conn, reference))
        except PlacehubError as error:
            fail(error.message)


@care_app.command("residents")
def residents(ctx: typer.Context,
              add: str = typer.Option(None, "--add", help="Add a resident with this reference "
                                                          "(a case reference, not a name)."),
              name: str = typer.Option("", help="The new resident's display name."),
              council: str = typer.Option(None, help="Slug of the council running the "
                                                     "service (its admins may break glass)."),
              as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List residents, or add one (with their care-circle organisation)."""
    if add:
        if not council:
            fail("give --council SLUG: the council that runs the resident's service")

        def create(conn: Any) -> service.Resident:
            return service.create_resident(conn, add, name, access.organisation_id(conn, council),
                                           actor=ACTOR)
        made = _write(ctx, create)
        console.print(f"Added resident {made.reference} with care circle "
                      f"care-{made.reference.lower()}; record consent next.")
        return
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        rows: list[dict[str, Any]] = [{"reference": r.reference, "display_name": r.display_name,
                 "collecting": service.current_consent(conn, r) is not None,
                 "carers": [c["username"] for c in service.carers(conn, r)],
                 "sensors": len(service.home_things(conn, r))}
                for r in service.residents_for(conn, service.INSTALLATION)]
    if as_json:
        print_json(rows)
        return
    table = Table("Reference", "Name", "Collecting", "Carers", "Sensors")
    for row in rows:
        table.add_row(row["reference"], row["display_name"], "yes" if row["collecting"] else "no",
                      ", ".join(row["carers"]), str(row["sensors"]))
    print_table(table)


@care_app.command("consent")
def consent(ctx: typer.Context, reference: str,
            given_by: str = typer.Option(None, help="Who agreed (the resident, or a named "
                                                    "representative)."),
            capacity: str = typer.Option("resident", help="resident or representative."),
            purpose: list[str] = typer.Option(None, help=f"What was agreed to (repeat): "
                                                         f"{', '.join(service.PURPOSES)}."),
            withdraw: bool = typer.Option(False, "--withdraw", help="Record the withdrawal of "
                                                                   "consent: collection stops."),
            note: str = typer.Option("", help="A note on the withdrawal.")) -> None:
    """Record a resident's consent, or its withdrawal; without options, show the records."""
    if withdraw:
        count = _write(ctx, lambda conn: service.withdraw_consent(
            conn, service.get_resident(conn, reference), at=_now(), note=note, actor=ACTOR))
        console.print(f"Consent withdrawn ({count} record(s)): uplinks of the home's sensors "
                      "now become dead letters without their payload.")
        return
    if given_by:
        _write(ctx, lambda conn: service.record_consent(
            conn, service.get_resident(conn, reference), given_by=given_by, capacity=capacity,
            purposes=list(purpose or ["routine_alerts", "carer_view"]), agreed_at=_now(),
            actor=ACTOR))
        console.print(f"Consent recorded for {reference}.")
        return
    records = _read(ctx, reference, service.consents)
    table = Table("Given by", "Capacity", "Purposes", "Agreed", "Withdrawn")
    for r in records:
        table.add_row(r["given_by"], r["capacity"], ", ".join(r["purposes"]),
                      _when(r["agreed_at"]), _when(r["withdrawn_at"]))
    print_table(table)


@care_app.command("carers")
def carers(ctx: typer.Context, reference: str,
           add: str = typer.Option(None, "--add", help="User name to make a named carer."),
           remove: str = typer.Option(None, "--remove", help="User name to remove.")) -> None:
    """List a resident's named carers, or add or remove one (audited)."""
    if add:
        _write(ctx, lambda conn: service.add_carer(conn, service.get_resident(conn, reference),
                                                   add, actor=ACTOR))
        console.print(f"{add} is now a named carer of {reference}.")
        return
    if remove:
        _write(ctx, lambda conn: service.remove_carer(
            conn, service.get_resident(conn, reference), remove, actor=ACTOR))
        console.print(f"{remove} is no longer a carer of {reference}.")
        return
    rows = _read(ctx, reference, service.carers)
    table = Table("User", "Name", "Role")
    for row in rows:
        table.add_row(row["username"], row["display_name"], row["role"])
    print_table(table)


@care_app.command("sensors")
def sensors(ctx: typer.Context, reference: str,
            add: str = typer.Option(None, "--add", help="Kind of sensor to register: "
                                    + ", ".join(service.HOME_SENSORS) + "."),
            dev_eui: str = typer.Option(None, "--dev-eui", help="The device's DevEUI (16 hex)."),
            model: str = typer.Option(None, help="Its model: " + "; ".join(
                f"{kind}: {' or '.join(models)}"
                for kind, (_, models) in service.HOME_SENSORS.items()) + " (first: default)."),
            latitude: float = typer.Option(None, "--lat", help="The home's latitude."),
            longitude: float = typer.Option(None, "--lon", help="The home's longitude.")
            ) -> None:
    """List a resident's home sensors, or register one for the care circle (personal data,
    short retention, visible to the named carers only)."""
    if not add and (dev_eui or model or latitude is not None or longitude is not None):
        fail("--dev-eui, --model, --lat and --lon describe a sensor to register: add "
             "--add KIND")
    if add:
        if not dev_eui or latitude is None or longitude is None:
            fail("registering a home sensor needs --dev-eui, --lat and --lon")
        device = _write(ctx, lambda conn: service.add_home_sensor(
            conn, service.get_resident(conn, reference), add, dev_eui, latitude=latitude,
            longitude=longitude, model=model))
        console.print(f"{add} sensor {device['dev_eui']} registered for {reference}.")
        return
    found = _read(ctx, reference, service.home_things)
    table = Table("Thing", "Kind")
    for thing_id, kind in sorted(found.items()):
        table.add_row(str(thing_id), kind)
    print_table(table)


@care_app.command("break-glass")
def break_glass(ctx: typer.Context, reference: str,
                user: str = typer.Option(None, help="The council admin to let in for 4 hours."),
                reason: str = typer.Option(None, help="Why the data must be read now.")) -> None:
    """Open break-glass access (4 hours, with a reason), or list past ones."""
    if user:
        opened = _write(ctx, lambda conn: service.open_break_glass(
            conn, service.get_resident(conn, reference), user, reason or "", actor=ACTOR))
        console.print(f"{user} may read {reference}'s home data until "
                      f"{_when(opened['expires_at'])} UTC; the carers will see this.")
        return
    rows = _read(ctx, reference, service.break_glass_report)
    table = Table("Who", "Reason", "From", "Until")
    for row in rows:
        table.add_row(row["username"], row["reason"], _when(row["started_at"]),
                      _when(row["expires_at"]))
    print_table(table)


@care_app.command("check")
def check(ctx: typer.Context,
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Look at every home now: open change-in-routine alerts, resolve those that ended."""
    with open_database(settings_of(ctx)) as database:
        try:
            results = check_all(database, _now())
        except PlacehubError as error:
            fail(error.message)
    if as_json:
        print_json([{"reference": r.reference, "findings": [f.key for f in r.findings],
                     "opened": r.opened, "resolved": r.resolved, "skipped": r.skipped}
                    for r in results])
        return
    table = Table("Resident", "Changes in routine", "Opened", "Resolved")
    for r in results:
        table.add_row(r.reference, r.skipped or ", ".join(f.title for f in r.findings) or "none",
                      str(r.opened), str(r.resolved))
    print_table(table)


def register(app: typer.Typer) -> None:
    app.add_typer(care_app, name="care")
