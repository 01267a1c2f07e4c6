"""The LoRaWAN device registry: a device, its profile and the Thing whose Datastreams it feeds.

Registering creates the Thing (with its Location), one Sensor, the ObservedProperties (reused
within the organisation) and one Datastream per profile entry, through the SensorThings core's
``create_entity``, so access rules and events are the same as for any SensorThings write.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, insert, or_, select, update

from placehub.access.requests import ANONYMOUS_WRITER
from placehub.access.service import Principal
from placehub.access.tables import VISIBILITIES, organisations
from placehub.access.visibility import can_read, visible_clause
from placehub.errors import BadRequest, Conflict, NotFound
from placehub.ingest.journal import lock_for_writing, normalise_eui
from placehub.ingest.profiles import get_profile
from placehub.ingest.tables import ingest_device_health, ingest_devices
from placehub.ingest.vocabulary import QUANTITIES
from placehub.sta.model import ORGANISATION_ANNOTATION, VISIBILITY_ANNOTATION
from placehub.sta.tables import observed_properties, things
from placehub.sta.writes import WriteEvents, create_entity

_ASSET_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
NETWORKS = ("tts", "chirpstack")


@dataclass
class DeviceSpec:
    """What registering a device needs; ``asset_type`` defaults to the profile's."""

    dev_eui: str
    name: str
    profile: str
    latitude: float
    longitude: float
    asset_type: str | None = None
    organisation: str | None = None  # slug; default: the writer's organisation
    visibility: str | None = None
    network: str | None = None
    application_id: str | None = None
    description: str = ""
    properties: dict[str, Any] = field(default_factory=dict)


def validate_spec(spec: DeviceSpec, extra_profiles: str | None = None) -> list[str]:
    """Every problem with ``spec`` (empty when it can be registered, apart from duplicates)."""
    problems = []
    try:
        spec.dev_eui = normalise_eui(spec.dev_eui)
    except (ValueError, AttributeError) as error:
        problems.append(f"dev_eui: {error}")
    if not str(spec.name or "").strip():
        problems.append("name: give the device a name (e.g. 'Bin 42, Oakham Market Place')")
    try:
        profile = get_profile(spec.profile, extra_profiles)
    except KeyError as error:
        problems.append(f"profile: {error.args[0]}")
        profile = None
    for label, value, low, high in (
        ("latitude", spec.latitude, -90, 90),
        ("longitude", spec.longitude, -180, 180),
    ):
        try:
            number = float(value)
        except (TypeError, ValueError):
            problems.append(f"{label}: {value!r} is not a number")
            continue
        if not math.isfinite(number) or not low <= number <= high:
            problems.append(f"{label}: {value} is outside {low}..{high}")
    asset_type = spec.asset_type or (profile.asset_type if profile else None)
    if asset_type is not None and not _ASSET_TYPE.match(asset_type):
        problems.append(
            f"asset_type: {asset_type!r} must be lower-case words joined by _ "
            "(e.g. litter_bin, flowerbed, air_quality_station)"
        )
    if spec.visibility and spec.visibility not in VISIBILITIES:
        problems.append(f"visibility: {spec.visibility!r} must be one of {', '.join(VISIBILITIES)}")
    if spec.network and spec.network not in NETWORKS:
        problems.append(f"network: {spec.network!r} must be one of {', '.join(NETWORKS)}")
    return problems


def _observed_property(
    conn: Connection,
    principal: Principal,
    organisation_id: int,
    slug: str,
    name: str,
    quantity: str,
    events: WriteEvents,
) -> int:
    spec = QUANTITIES[quantity]
    existing = conn.execute(
        select(observed_properties.c.id).where(
            observed_properties.c.definition == spec.definition,
            observed_properties.c.organisation_id == organisation_id,
        )
    ).scalar()
    if existing is not None:
        return int(existing)
    return create_entity(
        conn,
        principal,
        "ObservedProperties",
        {
            "name": name,
            "definition": spec.definition,
            "description": spec.description,
            "properties": {"quantity": quantity},
            ORGANISATION_ANNOTATION: slug,
        },
        events,
    )


def register_device(
    conn: Connection,
    principal: Principal,
    spec: DeviceSpec,
    events: WriteEvents | None = None,
    extra_profiles: str | None = None,
) -> dict[str, Any]:
    """Register a device in ``conn``'s transaction; returns the device as JSON-ready dict."""
    lock_for_writing(conn)
    problems = validate_spec(spec, extra_profiles)
    if problems:
        raise BadRequest(f"device {spec.dev_eui}: " + "; ".join(problems))
    if conn.execute(
        select(ingest_devices.c.id).where(ingest_devices.c.dev_eui == spec.dev_eui)
    ).first():
        raise Conflict(f"device {spec.dev_eui} is already registered")
    events = events if events is not None else WriteEvents()
    profile = get_profile(spec.profile, extra_profiles)
    asset_type = spec.asset_type or profile.asset_type
    properties: dict[str, Any] = {
        **spec.properties,
        "asset_type": asset_type,
        "dev_eui": spec.dev_eui,
        "profile": profile.id,
    }
    if profile.bin is not None:
        properties.update(
            empty_distance_mm=profile.bin.empty_distance_mm,
            full_distance_mm=profile.bin.full_distance_mm,
            capacity_litres=profile.bin.capacity_litres,
        )
    owner: dict[str, str] = {}
    if spec.organisation:
        owner[ORGANISATION_ANNOTATION] = spec.organisation
    if spec.visibility:
        owner[VISIBILITY_ANNOTATION] = spec.visibility
    lon, lat = float(spec.longitude), float(spec.latitude)
    thing_id = create_entity(
        conn,
        principal,
        "Things",
        {
            "name": spec.name,
            "description": spec.description or f"{profile.name} ({asset_type.replace('_', ' ')})",
            "properties": properties,
            **owner,
            "Locations": [
                {
                    "name": spec.name,
                    "description": f"Where {spec.name} is installed",
                    "encodingType": "application/geo+json",
                    "location": {"type": "Point", "coordinates": [lon, lat]},
                }
            ],
        },
        events,
    )
    organisation_id = int(
        conn.execute(select(things.c.organisation_id).where(things.c.id == thing_id)).scalar_one()
    )
    slug = str(
        conn.execute(
            select(organisations.c.slug).where(organisations.c.id == organisation_id)
        ).scalar_one()
    )
    sensor_id = create_entity(
        conn,
        principal,
        "Sensors",
        {
            "name": f"{profile.name} {spec.dev_eui}",
            "description": profile.description or profile.name,
            "encodingType": "text/plain",
            "metadata": (
                f"LoRaWAN device {spec.dev_eui}, profile {profile.id}, codec {profile.codec}"
            ),
            "properties": {"dev_eui": spec.dev_eui, "codec": profile.codec},
            ORGANISATION_ANNOTATION: slug,
        },
        events,
    )
    streams: dict[str, int] = {}
    for ds in profile.datastreams:
        op_id = _observed_property(
            conn, principal, organisation_id, slug, ds.observed_property, ds.quantity, events
        )
        streams[ds.key] = create_entity(
            conn,
            principal,
            "Datastreams",
            {
                "name": f"{spec.name} {ds.name}",
                "description": ds.description,
                "observationType": ds.observation_type,
                "unitOfMeasurement": {
                    "name": ds.unit,
                    "symbol": ds.unit_symbol,
                    "definition": f"http://unitsofmeasure.org/ucum.html#{ds.unit}",
                },
                "properties": {"quantity": ds.quantity, "key": ds.key, "dev_eui": spec.dev_eui},
                "Thing": {"@iot.id": thing_id},
                "Sensor": {"@iot.id": sensor_id},
                "ObservedProperty": {"@iot.id": op_id},
            },
            events,
        )
    now = datetime.now(UTC)
    row = {
        "dev_eui": spec.dev_eui,
        "name": spec.name,
        "profile_id": profile.id,
        "network": spec.network,
        "application_id": spec.application_id,
        "thing_id": thing_id,
        "organisation_id": organisation_id,
        "datastreams": streams,
        "created_at": now,
    }
    device_id = conn.execute(insert(ingest_devices).values(**row)).inserted_primary_key[0]  # type: ignore[index]
    return device_json({**row, "id": device_id}, slug, asset_type)


def device_json(
    row: Any, organisation: str | None = None, asset_type: str | None = None
) -> dict[str, Any]:
    """A device row as JSON for the API and the CLI."""
    data = dict(row if isinstance(row, dict) else row._mapping)
    out = {
        "id": data["id"],
        "dev_eui": data["dev_eui"],
        "name": data["name"],
        "profile": data["profile_id"],
        "network": data.get("network"),
        "application_id": data.get("application_id"),
        "thing_id": data["thing_id"],
        "datastreams": data["datastreams"],
        "created_at": data["created_at"].isoformat(),
    }
    if organisation:
        out["organisation"] = organisation
    if asset_type:
        out["asset_type"] = asset_type
    return out


def list_devices(
    conn: Connection, organisation_ids: Iterable[int] | None = None
) -> list[dict[str, Any]]:
    """Every registered device (optionally only of ``organisation_ids``), by DevEUI."""
    query = (
        select(ingest_devices, organisations.c.slug)
        .join(organisations, organisations.c.id == ingest_devices.c.organisation_id)
        .order_by(ingest_devices.c.dev_eui)
    )
    if organisation_ids is not None:
        query = query.where(ingest_devices.c.organisation_id.in_(list(organisation_ids)))
    return [device_json(r, r.slug) for r in conn.execute(query)]


def readable_devices(conn: Connection, principal: Principal) -> list[dict[str, Any]]:
    """The registered devices ``principal`` may see: those whose Thing it may read (a device
    is its Thing's: a ``restricted`` one is for the organisation's editors and admins)."""
    query = (
        select(ingest_devices, organisations.c.slug)
        .join(organisations, organisations.c.id == ingest_devices.c.organisation_id)
        .join(things, things.c.id == ingest_devices.c.thing_id)
        .where(visible_clause(principal, things.c.organisation_id, things.c.visibility))
        .order_by(ingest_devices.c.dev_eui)
    )
    return [device_json(r, r.slug) for r in conn.execute(query)]


# How the device list may be sorted: each a column of the registry or of the device's health.
DEVICE_SORTS = {"dev_eui": ingest_devices.c.dev_eui, "name": ingest_devices.c.name,
                "last_seen": ingest_device_health.c.last_seen}


@dataclass(frozen=True)
class DevicePage:
    """One page of the device list: its rows (registry, health and asset columns), the page
    number shown (clamped to the last), and how many devices match in all."""

    rows: list[dict[str, Any]]
    number: int
    total: int
    per_page: int

    @property
    def count(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, -(-self.total // self.per_page))


def search_devices(conn: Connection, principal: Principal, search: str = "", *,
                   page: int = 1, per_page: int = 50, sort: str = "dev_eui",
                   descending: bool = False) -> DevicePage:
    """The devices ``principal`` may see (as ``readable_devices``) whose DevEUI, name or asset
    name contains ``search``, one page at a time: counted, sorted and cut in SQL, so 10,000
    devices cost what 50 do. Rows carry the device health kept by ingest (last seen, battery,
    RSSI and SNR of the latest uplink)."""
    if sort not in DEVICE_SORTS:
        raise BadRequest(f"sort={sort!r} not understood: sort by one of {', '.join(DEVICE_SORTS)}")
    if per_page < 1 or page < 1:
        raise BadRequest("page and per_page are whole numbers from 1")
    d, h = ingest_devices.c, ingest_device_health.c
    conditions = [visible_clause(principal, things.c.organisation_id, things.c.visibility)]
    text = search.strip()
    if text:
        eui = re.sub(r"[\s:.-]", "", text).upper()
        matches = [d.name.icontains(text, autoescape=True),
                   things.c.name.icontains(text, autoescape=True)]
        if eui:
            matches.append(d.dev_eui.contains(eui, autoescape=True))
        conditions.append(or_(*matches))
    registered = ingest_devices.join(things, things.c.id == d.thing_id)
    key = DEVICE_SORTS[sort]
    order: list[ColumnElement[Any]] = [key.desc() if descending else key.asc(),
                                       d.dev_eui.asc()]
    with_health = registered.outerjoin(ingest_device_health, h.dev_eui == d.dev_eui)
    if sort == "last_seen":  # never heard from: last, whichever the direction
        order.insert(0, key.is_(None))
    chosen = (select(d.id).select_from(with_health if sort == "last_seen" else registered)
              .where(*conditions).order_by(*order))
    if text:
        # A search reads every row once (a substring has no index): all matching ids in
        # order, counted and cut here, rather than a second scan for the count.
        matching = conn.execute(chosen).scalars().all()
        total = len(matching)
        number = min(page, max(1, -(-total // per_page)))
        ids = matching[(number - 1) * per_page:number * per_page]
    else:
        # Counted without the health table (one row per device either way): joining it costs
        # 20 times the count itself with 10,000 devices on SQLite.
        total = int(conn.execute(select(func.count()).select_from(registered)
                                 .where(*conditions)).scalar_one())
        number = min(page, max(1, -(-total // per_page)))
        ids = conn.execute(chosen.limit(per_page).offset((number - 1) * per_page)
                           ).scalars().all()
    # The page's columns for its ids only: the health table is joined for 50 rows, not for
    # every device looked at.
    query = (
        select(d.dev_eui, d.name, d.profile_id, d.thing_id, d.organisation_id,
               things.c.name.label("asset_name"), h.last_seen, h.battery_percent,
               h.battery_voltage, h.rssi, h.snr)
        .select_from(with_health).where(d.id.in_(list(ids) or [-1])).order_by(*order)
    )
    rows = [dict(r._mapping) for r in conn.execute(query)]
    return DevicePage(rows, number, total, per_page)


def may_see_device(principal: Principal, device: Any | None) -> bool:
    """The device rule for one DevEUI: a registered device is its Thing's (``can_read``); an
    unregistered one (never registered, or its Thing deleted) is for editors and admins of any
    organisation, like its dead letters, since registering it is how an organisation claims it.
    """
    if device is None:
        return principal.is_writer
    return can_read(principal, device.organisation_id, device.visibility)


def device_health(
    conn: Connection, dev_eui: str, principal: Principal | None = None
) -> dict[str, Any]:
    """Health of one device: last seen, battery, radio, frame-counter gaps and loss rate.

    With a ``principal``, a device it may not see (``may_see_device``) is reported as unknown,
    the same answer as for a DevEUI never heard of.
    """
    try:
        eui = normalise_eui(dev_eui)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    device = conn.execute(
        select(ingest_devices.c.name, things.c.organisation_id, things.c.visibility)
        .join(things, things.c.id == ingest_devices.c.thing_id)
        .where(ingest_devices.c.dev_eui == eui)
    ).first()
    row = conn.execute(
        select(ingest_device_health).where(ingest_device_health.c.dev_eui == eui)
    ).first()
    if (device is None and row is None) or (
            principal is not None and not may_see_device(principal, device)):
        raise NotFound(
            f"unknown device {eui}: register it with 'placehub devices add' or POST /api/devices"
        )
    out: dict[str, Any] = {
        "dev_eui": eui,
        "name": device.name if device else None,
        "registered": device is not None,
    }
    if row is None:
        out.update(last_seen=None, frames_received=0, frames_lost=0, loss_rate=None)
        return out
    data = dict(row._mapping)
    total = data["frames_received"] + data["frames_lost"]
    for key, value in data.items():
        if key == "dev_eui":
            continue
        out[key] = value.isoformat() if isinstance(value, datetime) else value
    out["loss_rate"] = round(data["frames_lost"] / total, 4) if total else None
    return out


CSV_REQUIRED = ("dev_eui", "name", "profile", "latitude", "longitude", "asset_type")
CSV_OPTIONAL = ("organisation", "visibility", "network", "application_id", "description")


@dataclass
class ImportReport:
    """The outcome of a CSV import: every bad row with why, or every device registered."""

    rows: int = 0
    registered: list[str] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line number, message)
    # What each line holds ("A84041000181E002 New bin Uppingham"), to name the rows in a report.
    labels: dict[int, str] = field(default_factory=dict)

    def problems_by_line(self) -> list[tuple[int, str, list[str]]]:
        """(line, what the line holds, its problems) for every bad line, in file order."""
        grouped: dict[int, list[str]] = {}
        for line, message in self.problems:
            grouped.setdefault(line, []).append(message)
        return [(line, self.labels.get(line, ""), messages)
                for line, messages in sorted(grouped.items())]

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        if self.ok:
            return f"{len(self.registered)} devices registered from {self.rows} rows"
        lines = [f"nothing imported: {len(self.problems)} problem(s) in {self.rows} rows"]
        lines += [f"  line {line}: {message}" for line, message in self.problems]
        return "\n".join(lines)


def read_device_csv(text: str) -> tuple[list[tuple[int, DeviceSpec | None, list[str]]], list[str]]:
    """Parse a devices CSV: (line, spec or None, problems) per row, plus header problems."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        return [], [
            f"the header lacks column(s) {', '.join(missing)}; needed: {', '.join(CSV_REQUIRED)}"
        ]
    rows: list[tuple[int, DeviceSpec | None, list[str]]] = []
    for record in reader:
        line = reader.line_num
        values = {(k or "").strip(): (v or "").strip() for k, v in record.items() if k}
        problems = []
        numbers: dict[str, float] = {}
        for column in ("latitude", "longitude"):
            try:
                numbers[column] = float(values[column])
            except ValueError:
                problems.append(f"{column}: {values[column]!r} is not a number")
                numbers[column] = float("nan")
        spec = DeviceSpec(
            dev_eui=values["dev_eui"],
            name=values["name"],
            profile=values["profile"],
            latitude=numbers["latitude"],
            longitude=numbers["longitude"],
            asset_type=values["asset_type"] or None,
            organisation=values.get("organisation") or None,
            visibility=values.get("visibility") or None,
            network=values.get("network") or None,
            application_id=values.get("application_id") or None,
            description=values.get("description", ""),
        )
        rows.append((line, spec, problems))
    return rows, []


def import_devices(
    conn: Connection,
    principal: Principal,
    text: str,
    extra_profiles: str | None = None,
    events: WriteEvents | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> ImportReport:
    """Register every device of a CSV, or none: all rows are checked before anything is written.

    If a row still fails while writing (a permission, say), the exception propagates and the
    caller's transaction rolls back, so nothing is half-imported. ``progress(fraction,
    message)`` hears how far it got (the web UI shows it while the import runs).
    """
    report = ImportReport()
    rows, header_problems = read_device_csv(text)
    report.rows = len(rows)
    if progress:
        progress(0.05, f"Checking {len(rows)} rows")
    report.problems += [(1, p) for p in header_problems]
    seen: dict[str, int] = {}
    euis = set()
    for line, spec, problems in rows:
        assert spec is not None
        report.labels[line] = f"{spec.dev_eui} {spec.name}".strip()
        problems = problems + [
            p
            for p in validate_spec(spec, extra_profiles)
            if not p.startswith(("latitude", "longitude")) or not problems
        ]
        if spec.dev_eui in seen:
            problems.append(f"dev_eui {spec.dev_eui} already appears on line {seen[spec.dev_eui]}")
        seen.setdefault(spec.dev_eui, line)
        euis.add(spec.dev_eui)
        if (
            spec.organisation
            and not conn.execute(
                select(organisations.c.id).where(organisations.c.slug == spec.organisation)
            ).first()
        ):
            problems.append(f"organisation: unknown organisation {spec.organisation!r}")
        report.problems += [(line, p) for p in problems]
    if euis:
        registered = conn.execute(
            select(ingest_devices.c.dev_eui).where(ingest_devices.c.dev_eui.in_(euis))
        ).scalars()
        for eui in registered:
            report.problems.append((seen[eui], f"dev_eui {eui} is already registered"))
    report.problems.sort()
    if not report.ok:
        return report
    for done, (line, spec, _) in enumerate(rows):
        assert spec is not None
        if progress:
            progress(0.1 + 0.9 * done / len(rows), f"Registering device {done + 1} of {len(rows)}")
        try:
            register_device(conn, principal, spec, events, extra_profiles)
        except (BadRequest, Conflict) as error:
            raise BadRequest(f"line {line}: {error.message}; nothing was imported") from None
        report.registered.append(spec.dev_eui)
    return report


def specs_from_rows(rows: Sequence[dict[str, Any]]) -> list[DeviceSpec]:
    """``DeviceSpec``s from rows of a bulk-registration file."""
    return [DeviceSpec(**row) for row in rows]


def add_network_datastream(
    conn: Connection, dev_eui: str, quantity: str, name: str, events: WriteEvents
) -> int:
    """A Datastream for what the network reports about a device (ChirpStack's battery level),
    added to its Thing when its profile has none, so the same rules and pages see it."""
    from placehub.sta.tables import datastreams as datastream_table

    device = conn.execute(select(ingest_devices).where(ingest_devices.c.dev_eui == dev_eui)).one()
    streams = dict(device.datastreams)
    if quantity in streams:
        return int(streams[quantity])
    slug = str(conn.execute(select(organisations.c.slug).where(
        organisations.c.id == device.organisation_id)).scalar_one())
    sensor_id = conn.execute(select(datastream_table.c.sensor_id).where(
        datastream_table.c.id.in_(list(streams.values())))).scalar()
    spec = QUANTITIES[quantity]
    writer = ANONYMOUS_WRITER
    op_id = _observed_property(
        conn, writer, device.organisation_id, slug, name.lower(), quantity, events
    )
    body: dict[str, Any] = {
        "name": f"{device.name} {name} (network)",
        "description": f"{spec.description}, as reported by the LoRaWAN network server",
        "observationType": spec.observation_type,
        "unitOfMeasurement": {
            "name": spec.unit,
            "symbol": spec.symbol,
            "definition": f"http://unitsofmeasure.org/ucum.html#{spec.unit}",
        },
        "properties": {"quantity": quantity, "key": quantity, "dev_eui": dev_eui,
                       "source": "network"},
        "Thing": {"@iot.id": device.thing_id},
        "ObservedProperty": {"@iot.id": op_id},
    }
    body["Sensor"] = {"@iot.id": sensor_id} if sensor_id is not None else {
        "name": f"LoRaWAN network {dev_eui}", "description": "the network server",
        "encodingType": "text/plain", "metadata": "", ORGANISATION_ANNOTATION: slug,
    }
    stream = create_entity(conn, writer, "Datastreams", body, events)
    streams[quantity] = stream
    conn.execute(update(ingest_devices).where(ingest_devices.c.id == device.id)
                 .values(datastreams=streams))
    return stream
