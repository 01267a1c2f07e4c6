"""From journal to Observations: decode pending entries, write them, keep device health.

Runs in-process (a worker thread started with the app) and from ``placehub ingest replay``.
Each Observation carries a dedup key derived from its journal entry, so replaying an entry
never stores it twice. Entries that cannot become Observations are dead letters with a reason.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, func, insert, select, update

from placehub.access.requests import ANONYMOUS_WRITER
from placehub.access.tables import organisations
from placehub.care import collection
from placehub.db import Database
from placehub.db.outage import database_unavailable
from placehub.ingest.codecs import Decoded, DecodeError, Measurement
from placehub.ingest.devices import add_network_datastream
from placehub.ingest.journal import lock_for_writing, summarise, write_turn
from placehub.ingest.profiles import DeviceProfile, ProfileError, decode_for_profile, get_profile
from placehub.ingest.tables import ingest_device_health, ingest_devices, ingest_journal
from placehub.sta.model import ORGANISATION_ANNOTATION
from placehub.sta.observations import NewObservation, WrittenObservation, write_observations
from placehub.sta.tables import locations, thing_locations
from placehub.sta.writes import WriteEvents, create_entity

log = logging.getLogger(__name__)

# Values outside these ranges cannot be real readings: the uplink becomes a dead letter.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "distance": (0, 20000),
    "fill_level": (0, 100),
    "battery_voltage": (0, 30),
    "battery_percent": (0, 100),
    "temperature": (-60, 100),
    "relative_humidity": (0, 100),
    "soil_moisture": (0, 100),
    "soil_temperature": (-40, 70),
    "soil_conductivity": (0, 100000),
    "pm1": (0, 5000),
    "pm2_5": (0, 5000),
    "pm4": (0, 5000),
    "pm10": (0, 5000),
    "co2": (0, 50000),
    "no2": (0, 20000),
    "tvoc": (0, 100000),
    "pressure": (300, 1200),
    "illuminance": (0, 200000),
    "wind_speed": (0, 120),
    "precipitation": (0, 1000),
}


def impossible_values(measurements: Sequence[Measurement]) -> list[str]:
    problems = []
    for m in measurements:
        limits = PLAUSIBLE.get(m.quantity)
        if limits and not isinstance(m.value, bool) and not limits[0] <= m.value <= limits[1]:
            problems.append(
                f"{m.key}={m.value} {m.unit} (possible range {limits[0]:g} to {limits[1]:g})"
            )
    return problems


def observation_parameters(
    entry: Any, decoded: Decoded, datastreams: dict[str, int]
) -> dict[str, Any]:
    """The ``parameters`` of an uplink's Observations: where it came from, plus every field
    of the decoding that no Datastream of the device stores (status and diagnostic fields,
    unmapped vendor fields, measurements the device has no Datastream for), so none is lost."""
    parameters: dict[str, Any] = {
        "f_cnt": entry.f_cnt,
        "f_port": entry.f_port,
        "journal_id": entry.id,
    }
    unmapped = dict(decoded.attributes)
    for m in decoded.measurements:
        if m.key not in datastreams:
            unmapped[m.key] = m.value  # canonical, in the vocabulary's unit
    if unmapped:
        parameters["unmapped"] = unmapped
    return parameters


@dataclass
class Device:
    dev_eui: str
    profile_id: str
    thing_id: int
    datastreams: dict[str, int]
    organisation_id: int | None = None
    network: str | None = None
    application_id: str | None = None


def refusal(entry: Any, device: Device) -> str | None:
    """Why ``entry`` may not write to ``device``: another organisation's integration, or a
    network or application other than the device's registration."""
    if entry.organisation_id is not None and entry.organisation_id != device.organisation_id:
        return (
            f"integration {entry.integration or '?'} may only write to its own organisation's "
            f"devices, and {entry.dev_eui} belongs to another organisation"
        )
    if device.network and entry.network != device.network:
        return (
            f"network mismatch: {entry.dev_eui} is registered on {device.network}, the uplink "
            f"came from {entry.network} (fix the device's registration or the integration)"
        )
    if device.application_id and entry.application_id != device.application_id:
        return (
            f"application mismatch: {entry.dev_eui} is registered in application "
            f"{device.application_id!r}, the uplink came from {entry.application_id!r}"
        )
    return None


# Network-reported positions closer than this to the current Location are the same place
# (GPS and network-solved positions wander by tens of metres).
POSITION_TOLERANCE_M = 25.0


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lon, lat) points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, h)))


def _move_thing(
    conn: Connection, device: Device, position: dict[str, Any], events: WriteEvents
) -> bool:
    """Give the device's Thing a new Location when the network reports it elsewhere.

    The new Location goes through the SensorThings writer, so a HistoricalLocation is kept
    and ``locations.changed`` announced (the "moved" alert rule listens to it).
    """
    point = (float(position["longitude"]), float(position["latitude"]))
    current = conn.execute(
        select(locations.c.location)
        .join(thing_locations, thing_locations.c.location_id == locations.c.id)
        .where(thing_locations.c.thing_id == device.thing_id)
    ).first()
    if current is not None:
        geometry = current.location or {}
        coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if (
            isinstance(coordinates, list) and len(coordinates) >= 2
            and _metres(point, (float(coordinates[0]), float(coordinates[1])))
            < POSITION_TOLERANCE_M
        ):
            return False
    source = str(position.get("source") or "network")
    slug = conn.execute(
        select(organisations.c.slug).where(organisations.c.id == device.organisation_id)
    ).scalar()
    # Linked at creation, a new Location replaces the Thing's current one (a HistoricalLocation
    # keeps the old).
    create_entity(conn, ANONYMOUS_WRITER, "Locations", {
        "name": f"{device.dev_eui} as located by the network",
        "description": f"Position reported by the LoRaWAN network ({source})",
        "encodingType": "application/geo+json",
        "location": {"type": "Point", "coordinates": list(point)},
        "properties": {"source": source},
        "Things": [{"@iot.id": device.thing_id}],
        **({ORGANISATION_ANNOTATION: slug} if slug else {}),
    }, events)
    return True


@dataclass
class ProcessResult:
    processed: int = 0
    dead_letters: int = 0
    ignored: int = 0
    observations: int = 0
    written: list[WrittenObservation] = field(default_factory=list)
    seconds: float = 0.0  # time spent holding the transaction (not waiting for it)
    events: WriteEvents = field(default_factory=WriteEvents)  # Locations moved
    failed: int = 0  # entries whose processing raised (retried later or quarantined)
    quarantined: int = 0
    ids: list[int] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.processed + self.dead_letters + self.ignored + self.failed

    def add(self, other: ProcessResult) -> None:
        self.processed += other.processed
        self.dead_letters += other.dead_letters
        self.ignored += other.ignored
        self.observations += other.observations
        self.written += other.written
        self.events.locations_changed |= other.events.locations_changed
        self.events.things_changed |= other.events.things_changed
        self.seconds += other.seconds
        self.failed += other.failed
        self.quarantined += other.quarantined


def _devices(conn: Connection, euis: set[str]) -> dict[str, Device]:
    rows = conn.execute(select(ingest_devices).where(ingest_devices.c.dev_eui.in_(euis)))
    return {
        r.dev_eui: Device(
            r.dev_eui, r.profile_id, r.thing_id, dict(r.datastreams), r.organisation_id,
            r.network, r.application_id,
        )
        for r in rows
    }


def _best_radio(rx: list[dict[str, Any]] | None) -> tuple[float | None, float | None, int]:
    best_rssi = best_snr = None
    for gateway in rx or []:
        if not isinstance(gateway, dict):
            continue
        rssi = gateway.get("rssi", gateway.get("channel_rssi"))
        snr = gateway.get("snr")
        if isinstance(rssi, int | float) and (best_rssi is None or rssi > best_rssi):
            best_rssi = float(rssi)
            best_snr = float(snr) if isinstance(snr, int | float) else None
    return best_rssi, best_snr, len(rx or [])


class HealthBook:
    """Device health rows loaded once per batch, updated in memory, written back together."""

    def __init__(self, conn: Connection, euis: set[str]) -> None:
        self.conn = conn
        self.rows: dict[str, dict[str, Any]] = {
            r.dev_eui: dict(r._mapping)
            for r in conn.execute(
                select(ingest_device_health).where(ingest_device_health.c.dev_eui.in_(euis))
            )
        }
        self.existing = set(self.rows)
        self.enabled = True

    def get(self, eui: str) -> dict[str, Any]:
        if eui not in self.rows:
            self.rows[eui] = {
                "dev_eui": eui,
                "last_seen": None,
                "last_f_cnt": None,
                "session": None,
                "frames_received": 0,
                "frames_lost": 0,
                "battery_voltage": None,
                "battery_percent": None,
                "rssi": None,
                "snr": None,
                "gateway_count": None,
                "counter_resets": 0,
                "joins": 0,
                "last_join": None,
                "last_error": None,
                "dead_letters": 0,
                "updated_at": datetime.now(UTC),
            }
        return self.rows[eui]

    def uplink(self, entry: Any, measurements: Sequence[Measurement]) -> None:
        if not self.enabled:
            return
        health = self.get(entry.dev_eui)
        # The DevAddr names the session the same way on every network server (TTS's session
        # key id is its own); a join gives a new one.
        session = entry.dev_addr or entry.session_key_id
        f_cnt = entry.f_cnt
        newest = health["last_seen"] is None or entry.ns_time >= health["last_seen"]
        last = health["last_f_cnt"]
        if f_cnt is not None:
            if last is None or session != health["session"] or entry.counter_reset:
                if last is not None:
                    health["counter_resets"] += 1
                health["last_f_cnt"] = f_cnt
            elif f_cnt > last:
                # Frames between the last seen counter and this one never arrived (so far).
                health["frames_lost"] += f_cnt - last - 1
                health["last_f_cnt"] = f_cnt
            elif f_cnt < last and health["frames_lost"] > 0:
                # A late frame that was counted lost has arrived after all.
                health["frames_lost"] -= 1
            health["session"] = session
        health["frames_received"] += 1
        if newest:
            health["last_seen"] = entry.ns_time
            rssi, snr, gateways = _best_radio(entry.rx_metadata)
            if gateways:
                health["rssi"], health["snr"], health["gateway_count"] = rssi, snr, gateways
            for m in measurements:
                if m.quantity in ("battery_voltage", "battery_percent") and m.channel is None:
                    health[m.quantity] = float(m.value)
        health["updated_at"] = datetime.now(UTC)

    def event(self, entry: Any) -> None:
        if not self.enabled:
            return
        health = self.get(entry.dev_eui)
        body = entry.body or {}
        if entry.event == "join":
            health["joins"] += 1
            health["last_join"] = entry.ns_time
            # A join starts a new session: frame counters restart from 0.
            health["last_f_cnt"] = None
            health["session"] = None
        elif entry.event == "status":
            level = body.get("batteryLevel")
            if isinstance(level, int | float) and not body.get("batteryLevelUnavailable"):
                health["battery_percent"] = float(level)
        elif entry.event == "log":
            code = str(body.get("code", ""))
            health["last_error"] = (
                f"{body.get('level', 'INFO')} {code}: {body.get('description', '')}"
            )
            if "F_CNT" in code.upper() and "RESET" in code.upper():
                health["counter_resets"] += 1
                health["last_f_cnt"] = None
        health["updated_at"] = datetime.now(UTC)

    def dead_letter(self, eui: str, reason: str) -> None:
        if not self.enabled:
            return
        health = self.get(eui)
        health["dead_letters"] += 1
        health["last_error"] = reason
        health["updated_at"] = datetime.now(UTC)

    def cleared(self, eui: str) -> None:
        """A dead letter of the device was replayed successfully: it no longer counts."""
        health = self.get(eui)
        health["dead_letters"] = max(0, health["dead_letters"] - 1)
        if health["dead_letters"] == 0:
            health["last_error"] = None
        health["updated_at"] = datetime.now(UTC)

    def save(self) -> None:
        t = ingest_device_health
        new = [r for eui, r in self.rows.items() if eui not in self.existing]
        old = [r for eui, r in self.rows.items() if eui in self.existing]
        if new:
            self.conn.execute(insert(t), new)
        if old:
            columns = [c.name for c in t.columns if c.name != "dev_eui"]
            self.conn.execute(
                update(t)
                .where(t.c.dev_eui == bindparam("b_eui"))
                .values({c: bindparam(f"b_{c}") for c in columns}),
                [{"b_eui": r["dev_eui"], **{f"b_{c}": r[c] for c in columns}} for r in old],
            )


def process_entries(
    conn: Connection, entries: Sequence[Any], extra_profiles: str | None = None
) -> ProcessResult:
    """Decode journal rows and write their Observations, all in the caller's transaction."""
    result = ProcessResult()
    devices = _devices(conn, {e.dev_eui for e in entries})
    # Home sensors whose resident has withdrawn consent (or never gave it): nothing collected.
    no_consent = collection.stopped(
        conn, {d.organisation_id for d in devices.values() if d.organisation_id is not None})
    forget: list[int] = []
    health = HealthBook(conn, {e.dev_eui for e in entries})
    profiles: dict[str, DeviceProfile] = {}
    statuses: list[dict[str, Any]] = []
    observations: list[NewObservation] = []
    owners: list[int] = []  # index into statuses for each observation
    now = datetime.now(UTC)

    def finish(entry: Any, status: str, reason: str | None = None) -> int:
        statuses.append(
            {
                "b_id": entry.id,
                "b_status": status,
                "b_reason": reason,
                "b_processed_at": now,
                "b_count": 0,
            }
        )
        if status == "dead_letter":
            result.dead_letters += 1
            health.dead_letter(entry.dev_eui, reason or "")
            return len(statuses) - 1
        if entry.status == "dead_letter":
            health.cleared(entry.dev_eui)
        if status == "ignored":
            result.ignored += 1
        else:
            result.processed += 1
        return len(statuses) - 1

    for entry in entries:
        # A replayed entry was already counted in the device health (unless it was waiting
        # for its device to be registered): count it once only.
        counted = entry.processed_at is not None and not str(entry.reason or "").startswith(
            "unknown device"
        )
        health.enabled = not counted
        device = devices.get(entry.dev_eui)
        refused = refusal(entry, device) if device is not None else None
        if refused:
            finish(entry, "dead_letter", refused)
            continue
        if device is not None and device.organisation_id in no_consent:
            finish(entry, "dead_letter", no_consent[device.organisation_id])
            forget.append(entry.id)
            continue
        if entry.event != "up":
            health.event(entry)
            index = finish(entry, "processed")
            if device is not None and entry.position:
                _move_thing(conn, device, entry.position, result.events)
            level = (entry.body or {}).get("batteryLevel") if entry.event == "status" else None
            if (
                device is not None and isinstance(level, int | float)
                and not isinstance(level, bool) and 0 <= level <= 100
                and not (entry.body or {}).get("batteryLevelUnavailable")
            ):
                # The network's battery report feeds a battery_percent Datastream (and so the
                # battery alert rule), added to the Thing when its profile has none.
                stream = device.datastreams.get("battery_percent")
                if stream is None:
                    stream = add_network_datastream(
                        conn, device.dev_eui, "battery_percent", "Battery", result.events
                    )
                    device.datastreams["battery_percent"] = stream
                observations.append(NewObservation(
                    datastream_id=stream, phenomenon_time=entry.ns_time, result=float(level),
                    result_time=entry.received_at,
                    parameters={"source": "network status", "journal_id": entry.id},
                    dedup_key=f"lorawan:{entry.dedup_key}",
                ))
                owners.append(index)
            continue
        if device is None:
            finish(
                entry,
                "dead_letter",
                f"unknown device {entry.dev_eui}: register it with 'placehub devices add' or "
                "POST /api/devices, then run 'placehub ingest replay'",
            )
            continue
        if entry.position:
            _move_thing(conn, device, entry.position, result.events)
        if not entry.f_port:
            health.uplink(entry, [])
            finish(entry, "ignored", "no application payload (fPort 0: MAC commands only)")
            continue
        try:
            if device.profile_id not in profiles:
                profiles[device.profile_id] = get_profile(device.profile_id, extra_profiles)
            profile = profiles[device.profile_id]
            payload = bytes.fromhex(entry.payload_hex) if entry.payload_hex else None
            decoded = decode_for_profile(
                profile, entry.f_port, payload, entry.decoded_object, entry.ns_time
            )
        except (DecodeError, KeyError, ProfileError, ValueError) as error:
            message = str(error.args[0]) if isinstance(error, KeyError) else str(error)
            health.uplink(entry, [])
            finish(entry, "dead_letter", f"cannot decode: {message}")
            continue
        problems = impossible_values(decoded.measurements)
        health.uplink(entry, [] if problems else decoded.measurements)
        if problems:
            finish(entry, "dead_letter", "impossible values: " + "; ".join(problems))
            continue
        index = finish(entry, "processed")
        parameters = observation_parameters(entry, decoded, device.datastreams)
        if entry.simulated:
            parameters["simulated"] = True
        for measurement in decoded.measurements:
            stream = device.datastreams.get(measurement.key)
            if stream is None:
                continue
            observations.append(
                NewObservation(
                    datastream_id=stream,
                    phenomenon_time=entry.ns_time,
                    result=measurement.value,
                    result_time=entry.received_at,
                    parameters=parameters,
                    # Stable across replays: the journal entry's idempotency key.
                    dedup_key=f"lorawan:{entry.dedup_key}",
                )
            )
            owners.append(index)
    if observations:
        written = write_observations(conn, observations)
        for outcome, index in zip(written.outcomes, owners, strict=True):
            status = statuses[index]
            if outcome.error is not None and status["b_status"] == "processed":
                status["b_status"] = "dead_letter"
                status["b_reason"] = f"observation refused: {outcome.error}"
                result.processed -= 1
                result.dead_letters += 1
            elif outcome.error is None:
                status["b_count"] += 1
        result.observations = sum(
            1 for o in written.outcomes if o.error is None and not o.duplicate
        )
        result.written = list(written.written)
    if statuses:
        t = ingest_journal
        conn.execute(
            update(t)
            .where(t.c.id == bindparam("b_id"))
            .values(
                status=bindparam("b_status"),
                reason=bindparam("b_reason"),
                processed_at=bindparam("b_processed_at"),
                observation_count=bindparam("b_count"),
            ),
            statuses,
        )
    if forget:  # the payload is not kept: the dead letter only says it came and why not
        conn.execute(update(ingest_journal).where(ingest_journal.c.id.in_(forget)).values(
            payload_hex=None, decoded_object=None, body={}, position=None, rx_metadata=None))
    health.save()
    return result


@dataclass(frozen=True)
class RetryPolicy:
    """How often an entry whose processing fails is tried again before it is quarantined."""

    max_attempts: int = 5
    base_seconds: float = 1.0  # doubles after each failure
    max_seconds: float = 300.0

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.max_seconds, self.base_seconds * 2 ** (attempts - 1)))


def _due(now: datetime) -> ColumnElement[bool]:
    """Pending entries whose next attempt is due."""
    t = ingest_journal
    return (t.c.status == "pending") & (t.c.retry_at.is_(None) | (t.c.retry_at <= now))


def _database_trouble(error: BaseException) -> bool:
    """A failure of the database itself (then no entry is to blame, nothing is counted)."""
    return database_unavailable(error) or isinstance(error, OSError)


def _process_ids(
    database: Database, ids: list[int] | None, limit: int, extra_profiles: str | None,
    now: datetime,
) -> ProcessResult:
    """One transaction: the chosen (or the first ``limit`` due) entries processed."""
    t = ingest_journal
    with write_turn(database), database.begin() as conn:
        started = time.perf_counter()
        lock_for_writing(conn)
        query = select(t).where(_due(now)).order_by(t.c.id)
        query = query.where(t.c.id.in_(ids)) if ids is not None else query.limit(limit)
        if not database.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        entries = list(conn.execute(query))
        if not entries:
            return ProcessResult()
        result = process_entries(conn, entries, extra_profiles)
        result.ids = [e.id for e in entries]
    result.seconds = time.perf_counter() - started
    return result


def _note_failure(
    database: Database, entry_id: int, error: BaseException, policy: RetryPolicy, now: datetime
) -> bool:
    """Count a failed attempt on one entry: retry later, or quarantine it as a dead letter.

    True when the entry was quarantined.
    """
    t = ingest_journal
    summary = summarise(error)
    with write_turn(database), database.begin() as conn:
        lock_for_writing(conn)
        row = conn.execute(select(t.c.attempts, t.c.dev_eui).where(t.c.id == entry_id)).first()
        if row is None:
            return False
        attempts = row.attempts + 1
        if attempts >= policy.max_attempts:
            reason = f"quarantined after {attempts} failed attempts: {summary}"
            repair: dict[str, Any] = {}
            try:
                conn.execute(select(t.c.ns_time, t.c.received_at).where(t.c.id == entry_id)).one()
            except (ValueError, TypeError, OverflowError):
                # Times an older version stored unreadably (Go's zero time on SQLite) would
                # break every list of dead letters: the quarantine time replaces them.
                repair = {"ns_time": now, "received_at": now}
                reason += " (its stored times were unreadable: set to the quarantine time)"
            conn.execute(
                update(t).where(t.c.id == entry_id).values(
                    status="dead_letter", reason=reason, attempts=attempts, retry_at=None,
                    processed_at=now, **repair,
                )
            )
            health = HealthBook(conn, {row.dev_eui})
            health.dead_letter(row.dev_eui, reason)
            health.save()
            log.error("journal entry %d quarantined: %s", entry_id, summary)
            return True
        conn.execute(
            update(t).where(t.c.id == entry_id).values(
                attempts=attempts, retry_at=now + policy.delay(attempts), reason=summary
            )
        )
    log.warning("journal entry %d failed (attempt %d of %d), will retry: %s",
                entry_id, attempts, policy.max_attempts, summary)
    return False


def _isolate(
    database: Database, ids: list[int], extra_profiles: str | None, policy: RetryPolicy,
    now: datetime, total: ProcessResult,
) -> None:
    """Process ``ids`` in halves until the entries that fail on their own are found; those get
    a failed attempt counted, every other entry is processed."""
    try:
        result = _process_ids(database, ids, len(ids), extra_profiles, now)
    except Exception as error:  # noqa: BLE001 - find the entry to blame
        if _database_trouble(error):
            raise
        if len(ids) == 1:
            total.failed += 1
            total.quarantined += _note_failure(database, ids[0], error, policy, now)
            return
        middle = len(ids) // 2
        _isolate(database, ids[:middle], extra_profiles, policy, now, total)
        _isolate(database, ids[middle:], extra_profiles, policy, now, total)
        return
    total.add(result)


def process_pending(
    database: Database,
    limit: int = 1000,
    extra_profiles: str | None = None,
    policy: RetryPolicy | None = None,
) -> ProcessResult:
    """Process up to ``limit`` due journal entries in one transaction; announce after commit.

    When the batch fails, it is split until the entries that fail on their own are found:
    those are retried later with back-off and quarantined as dead letters after
    ``policy.max_attempts``; every other entry is processed. Only a failure of the database
    itself is raised.
    """
    policy = policy or RetryPolicy()
    t = ingest_journal
    now = datetime.now(UTC)
    # Look before locking: taking SQLite's write lock when there is nothing to do would make
    # other writers' read-then-write transactions fail with "database is locked".
    with database.connect() as conn:
        first = conn.execute(select(t.c.id).where(_due(now)).limit(1)).first()
        if first is None:
            return ProcessResult()
    try:
        result = _process_ids(database, None, limit, extra_profiles, now)
    except Exception as error:  # noqa: BLE001 - one entry must not stop the others
        if _database_trouble(error):
            raise
        log.warning("processing a batch failed (%s); finding the entry to blame",
                    summarise(error))
        with database.connect() as conn:
            ids = list(conn.execute(
                select(t.c.id).where(_due(now)).order_by(t.c.id).limit(limit)
            ).scalars())
        result = ProcessResult()
        started = time.perf_counter()
        _isolate(database, ids, extra_profiles, policy, now, result)
        result.seconds = time.perf_counter() - started
    if result.written:
        database.events.publish("observations.written", result.written)
    result.events.publish(database)
    return result


def process_all(
    database: Database, extra_profiles: str | None = None, policy: RetryPolicy | None = None
) -> ProcessResult:
    """Process every due entry (CLI and tests); entries waiting to be retried stay pending."""
    total = ProcessResult()
    while True:
        result = process_pending(database, extra_profiles=extra_profiles, policy=policy)
        if not result.done:
            return total
        total.add(result)


QUARANTINED = "quarantined %"


@dataclass(frozen=True)
class BacklogStatus:
    """How the journal's processing is keeping up: what /healthz and /metrics report."""

    pending: int
    oldest_pending_seconds: float
    quarantined: int
    degraded_after_seconds: float

    @property
    def degraded(self) -> bool:
        return self.quarantined > 0 or self.oldest_pending_seconds > self.degraded_after_seconds

    def describe(self) -> str:
        if not self.degraded:
            return "ok"
        problems = []
        if self.oldest_pending_seconds > self.degraded_after_seconds:
            problems.append(
                f"ingest backlog of {self.pending} entries, the oldest waiting "
                f"{self.oldest_pending_seconds:.0f} s"
            )
        if self.quarantined:
            problems.append(
                f"{self.quarantined} journal entries quarantined "
                "('placehub ingest dead-letters', then 'placehub ingest replay --dead-letters')"
            )
        return "degraded: " + "; ".join(problems)


def backlog_status(
    conn: Connection, degraded_after_seconds: float, now: datetime | None = None
) -> BacklogStatus:
    """Pending entries, the age of the oldest and the quarantined dead letters."""
    t = ingest_journal
    now = now or datetime.now(UTC)
    pending, oldest_id = conn.execute(
        select(func.count(), func.min(t.c.id)).where(t.c.status == "pending")
    ).one()
    age = 0.0
    if oldest_id is not None:
        oldest = conn.execute(select(t.c.received_at).where(t.c.id == oldest_id)).scalar()
        age = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    quarantined = conn.execute(
        select(func.count()).where(t.c.status == "dead_letter", t.c.reason.like(QUARANTINED))
    ).scalar_one()
    return BacklogStatus(int(pending), age, int(quarantined), degraded_after_seconds)


class ProcessingWorker:
    """A thread that processes the journal whenever the writer commits (or every second).

    On SQLite the processing transaction holds the only write lock, so while uplinks keep
    arriving the worker works in short slices (about ``slice_seconds`` each, a fifth of the
    time) and lets the journal writer commit in between: acknowledgements stay fast, and the
    backlog is worked off at full speed as soon as the load drops. Nothing waits forever.
    """

    def __init__(
        self,
        database: Database,
        extra_profiles: str | None = None,
        busy: Callable[[], bool] | None = None,
        slice_seconds: float = 0.010,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.database = database
        self.policy = policy or RetryPolicy()
        self.extra_profiles = extra_profiles
        self.busy = busy or (lambda: False)
        self.slice_seconds = slice_seconds
        self.idle_slice_seconds = 0.1
        self.per_entry_seconds = 0.002  # learnt as it goes
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ingest-processor", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _slice(self) -> bool:
        """Process one slice; True if there was work."""
        busy = self.database.is_sqlite and self.busy()
        # Even without webhook traffic a slice stays short, so an uplink arriving meanwhile
        # waits at most about idle_slice_seconds for the lock.
        seconds = self.slice_seconds if busy else self.idle_slice_seconds
        limit = min(1000, max(5, int(seconds / self.per_entry_seconds)))
        result = process_pending(
            self.database, limit=limit, extra_profiles=self.extra_profiles, policy=self.policy
        )
        done = result.done
        elapsed = result.seconds
        if done:
            self.per_entry_seconds = 0.8 * self.per_entry_seconds + 0.2 * (elapsed / done)
            if busy:
                self._stop.wait(4 * elapsed)  # a fifth of the time at most
        return done > 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            try:
                while not self._stop.is_set() and self._slice():
                    pass
            except Exception as error:  # noqa: BLE001 - the database failed; entries stay pending
                log.error("processing the ingest journal failed (%s); will retry",
                          summarise(error))
                self._stop.wait(1.0)
