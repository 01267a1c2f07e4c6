"""The raw journal: every uplink stored durably, once, before the network server gets its 2xx.

SQLite allows one writer at a time and a commit costs far more than an insert, so all web
requests hand their entries to one writer thread (``JournalWriter``) that inserts whatever has
queued up in one transaction and commits once per batch (group commit), then wakes the waiting
requests. Duplicates are recognised by idempotency keys; a known key with another payload is a
frame-counter reset or a new session, kept as its own entry and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from placehub.db import Database
from placehub.db.outage import database_unavailable
from placehub.errors import BadRequest, PlacehubError
from placehub.ingest.tables import ingest_journal

log = logging.getLogger(__name__)

# The (dev_eui, f_cnt) key, with the same payload, identifies one physical uplink only within
# this window: the same uplink through two network servers or two integrations.
ALT_KEY_WINDOW = timedelta(minutes=2)
# A network server's own key (TTS session and frame counter) identifies an uplink only within
# this window: copies of one uplink carry the same network time, while an ABP device that
# restarts its frame counter repeats keys hours or days later with new readings.
KEY_WINDOW = timedelta(minutes=10)


class JournalUnavailable(PlacehubError):
    """The journal could not store the uplink because the database is unavailable (a 503:
    the network server or its queue may try again)."""

    status_code = 503
    headers = {"Retry-After": "5"}


class UnstorableEntry(BadRequest):
    """This one message cannot be stored (the rest of its batch was)."""


def summarise(error: BaseException) -> str:
    """A one-line account of a failure without SQL text or parameters (safe to answer)."""
    original = getattr(error, "orig", None) or error
    first = (str(original).strip().splitlines() or [""])[0]
    return f"{type(original).__name__}: {first[:200]}"


def _data_error(error: BaseException) -> bool:
    """Whether a failure may come from the data of some entry (then it is worth finding which)
    rather than from the database being unavailable or full (answered 503 to all)."""
    return not (database_unavailable(error) or isinstance(error, OSError | MemoryError))


def normalise_eui(value: str) -> str:
    """EUIs in one case (upper-case hex, no separators), as The Things Stack writes them."""
    cleaned = value.replace("-", "").replace(":", "").strip().upper()
    if len(cleaned) != 16 or any(c not in "0123456789ABCDEF" for c in cleaned):
        raise ValueError(f"{value!r} is not a 64-bit EUI (16 hex digits)")
    return cleaned


def payload_hash(f_port: int | None, payload_hex: str | None, decoded_object: Any = None) -> str:
    """A digest of port and payload (or of the decoded object when no bytes came): spots replays."""
    digest = hashlib.sha256(f"{f_port}:{payload_hex or ''}".encode())
    if not payload_hex and decoded_object is not None:
        digest.update(
            repr(
                sorted(decoded_object.items())
                if isinstance(decoded_object, dict)
                else decoded_object
            ).encode()
        )
    return digest.hexdigest()


@dataclass
class JournalEntry:
    """One message from a network server, ready to store."""

    dedup_key: str
    network: str
    transport: str
    event: str
    dev_eui: str
    ns_time: datetime
    received_at: datetime
    body: dict[str, Any]
    payload_hash: str
    alt_key: str | None = None
    application_id: str | None = None
    dev_addr: str | None = None
    session_key_id: str | None = None
    f_cnt: int | None = None
    f_port: int | None = None
    payload_hex: str | None = None
    decoded_object: Any = None
    rx_metadata: list[dict[str, Any]] = field(default_factory=list)
    # Why the entry is kept as a dead letter from the start (impossible time, field mask).
    dead_reason: str | None = None
    ignored_reason: str | None = None  # kept, but never Observations (simulated uplinks)
    simulated: bool = False
    position: dict[str, Any] | None = None  # network-reported latitude / longitude
    # The integration that delivered it and the organisation it writes for (None: any).
    integration: str | None = None
    organisation_id: int | None = None

    def row(self) -> dict[str, Any]:
        return {
            "dedup_key": self.dedup_key,
            "alt_key": self.alt_key,
            "payload_hash": self.payload_hash,
            "network": self.network,
            "transport": self.transport,
            "event": self.event,
            "dev_eui": self.dev_eui,
            "application_id": self.application_id,
            "dev_addr": self.dev_addr,
            "session_key_id": self.session_key_id,
            "f_cnt": self.f_cnt,
            "f_port": self.f_port,
            "payload_hex": self.payload_hex,
            "decoded_object": self.decoded_object,
            "rx_metadata": self.rx_metadata,
            "ns_time": self.ns_time,
            "received_at": self.received_at,
            "copies": 1,
            "counter_reset": False,
            "body": self.body,
            "status": (
                "dead_letter" if self.dead_reason
                else "ignored" if self.ignored_reason else "pending"
            ),
            "reason": self.dead_reason or self.ignored_reason,
            "processed_at": (
                self.received_at if self.dead_reason or self.ignored_reason else None
            ),
            "observation_count": 0,
            "attempts": 0,
            "retry_at": None,
            "simulated": self.simulated,
            "position": self.position,
            "integration": self.integration,
            "organisation_id": self.organisation_id,
        }


@dataclass(frozen=True)
class StoredOutcome:
    """What the journal did with an entry."""

    journal_id: int
    duplicate: bool = False
    counter_reset: bool = False


def _gateway_id(item: dict[str, Any]) -> str:
    ids = item.get("gateway_ids")
    if not isinstance(ids, dict):
        ids = {}
    return str(ids.get("gateway_id") or ids.get("eui") or item.get("gatewayId") or item)


def merge_gateways(
    known: list[dict[str, Any]] | None, extra: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Gateway metadata of a later copy added to the first copy's (one item per gateway)."""
    merged = list(known or [])
    seen = {_gateway_id(g) for g in merged}
    for item in extra:
        if _gateway_id(item) not in seen:
            merged.append(item)
            seen.add(_gateway_id(item))
    return merged


@dataclass
class _Existing:
    journal_id: int
    payload_hash: str
    rx_metadata: list[dict[str, Any]]
    copies: int
    ns_time: datetime | None = None
    dirty: bool = False


_WRITE_LOCKS: weakref.WeakKeyDictionary[Database, threading.Lock] = weakref.WeakKeyDictionary()
_WRITE_LOCKS_GUARD = threading.Lock()


def write_turn(database: Database) -> AbstractContextManager[Any]:
    """In-process turn-taking for SQLite's single write lock.

    The journal writer and the processing worker take turns here rather than in SQLite's busy
    handler, which sleeps in steps of up to 100 ms and would make acknowledgements wait long
    after the lock is free. PostgreSQL needs no turns.
    """
    if not database.is_sqlite:
        return contextlib.nullcontext()
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.get(database)
        if lock is None:
            lock = _WRITE_LOCKS[database] = threading.Lock()
    return lock


def lock_for_writing(conn: Connection) -> None:
    """On SQLite, take the write lock before reading.

    A transaction that reads first and writes later fails at once ("database is locked") when
    another writer committed in between; taking the lock first makes writers wait their turn
    (busy timeout) instead.
    """
    if conn.dialect.name == "sqlite":
        conn.execute(update(ingest_journal).where(ingest_journal.c.id == -1).values(copies=1))


_COLUMNS = [c.name for c in ingest_journal.columns if c.name != "id"]
_JSON_COLUMNS = {"decoded_object", "rx_metadata", "body", "position"}
_TIME_COLUMNS = {"ns_time", "received_at", "processed_at", "retry_at"}
_SQLITE_INSERT = (
    f"INSERT INTO ingest_journal ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)


def _sqlite_value(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in _JSON_COLUMNS:
        return json.dumps(value)
    if column in _TIME_COLUMNS:
        # The text form SQLAlchemy's SQLite DateTime type writes and reads (UTC, naive).
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    return value


def _insert_sqlite(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """The journal rows straight to sqlite3's executemany.

    The writer thread holds the GIL while it prepares rows, time the web server then lacks;
    SQLAlchemy's per-value processing costs several times the insert itself, so SQLite (where
    the writer is the bottleneck) gets values prepared here, in the same text forms.
    """
    conn.exec_driver_sql(
        _SQLITE_INSERT, [tuple(_sqlite_value(c, row.get(c)) for c in _COLUMNS) for row in rows]
    )


_KNOWN = select(
    ingest_journal.c.id, ingest_journal.c.dedup_key, ingest_journal.c.alt_key,
    ingest_journal.c.payload_hash, ingest_journal.c.rx_metadata, ingest_journal.c.copies,
    ingest_journal.c.ns_time,
).where(
    ingest_journal.c.dedup_key.in_(bindparam("keys", expanding=True))
    | ingest_journal.c.alt_key.in_(bindparam("alts", expanding=True))
)
_IDS = select(ingest_journal.c.dedup_key, ingest_journal.c.id).where(
    ingest_journal.c.dedup_key.in_(bindparam("keys", expanding=True))
)


def write_entries(conn: Connection, entries: Sequence[JournalEntry]) -> list[StoredOutcome]:
    """Store entries in this transaction: new ones inserted, duplicates merged, resets kept."""
    t = ingest_journal
    lock_for_writing(conn)
    reset_keys = {e.dedup_key: f"{e.dedup_key}#{e.payload_hash[:16]}" for e in entries}
    timed_keys = [f"{e.dedup_key}@{e.ns_time:%Y%m%dT%H%M%S%f}" for e in entries]
    wanted = {e.dedup_key for e in entries} | set(reset_keys.values()) | set(timed_keys)
    alt_keys = {e.alt_key for e in entries if e.alt_key}
    known: dict[str, _Existing] = {}
    by_alt: dict[str, list[_Existing]] = {}
    # One query for both keys (a statement built once: building it costs more than running it).
    # (an empty IN list would make SQLite scan the table)
    for found in conn.execute(_KNOWN, {"keys": list(wanted), "alts": list(alt_keys) or ["-"]}):
        if found.dedup_key in wanted:
            known[found.dedup_key] = _Existing(
                found.id, found.payload_hash, found.rx_metadata or [], found.copies,
                found.ns_time,
            )
        if found.alt_key in alt_keys:
            by_alt.setdefault(found.alt_key, []).append(_Existing(
                found.id, found.payload_hash, found.rx_metadata or [], found.copies,
                found.ns_time,
            ))
    new_rows: list[dict[str, Any]] = []
    new_index: list[int] = []
    outcomes: list[StoredOutcome | None] = [None] * len(entries)
    pending: dict[str, _Existing] = {}  # keys inserted earlier in this batch
    for index, entry in enumerate(entries):
        key = entry.dedup_key
        reset = False
        timed = timed_keys[index]
        match = pending.get(timed) or known.get(timed)
        if match is not None and match.payload_hash == entry.payload_hash:
            key = timed  # a copy of a reading that repeated an old key
        else:
            match = pending.get(key) or known.get(key)
            if (
                match is not None
                and match.ns_time is not None
                and abs(match.ns_time - entry.ns_time) > KEY_WINDOW
            ):
                # The key is old: the device restarted its frame counter; a new reading.
                log.info("frame counter of %s repeats key %s after %s: new reading",
                         entry.dev_eui, key, abs(match.ns_time - entry.ns_time))
                key, reset, match = timed, True, None
        if match is None and entry.alt_key:
            for candidate in by_alt.get(entry.alt_key, []):
                if (
                    candidate.payload_hash == entry.payload_hash
                    and candidate.ns_time is not None
                    and abs(candidate.ns_time - entry.ns_time) <= ALT_KEY_WINDOW
                ):
                    match = candidate
                    break
        if match is not None and match.payload_hash != entry.payload_hash:
            # Same key, other bytes: the device restarted its frame counter or rejoined.
            reset_key = reset_keys[entry.dedup_key]
            match = pending.get(reset_key) or known.get(reset_key)
            if match is None:
                log.warning(
                    "frame counter reset or new session for %s: key %s seen with other payload",
                    entry.dev_eui,
                    entry.dedup_key,
                )
                key = reset_key
                reset = True
        if match is not None:
            if match.journal_id < 0:  # a copy of an entry inserted earlier in this batch
                row = new_rows[-match.journal_id - 1]
                row["rx_metadata"] = merge_gateways(row["rx_metadata"], entry.rx_metadata)
                row["copies"] += 1
                outcomes[index] = StoredOutcome(match.journal_id, duplicate=True)
            else:
                match.rx_metadata = merge_gateways(match.rx_metadata, entry.rx_metadata)
                match.copies += 1
                match.dirty = True
                outcomes[index] = StoredOutcome(match.journal_id, duplicate=True)
            continue
        row = entry.row()
        row["dedup_key"] = key
        row["counter_reset"] = reset
        new_rows.append(row)
        new_index.append(index)
        placeholder = _Existing(
            -len(new_rows), entry.payload_hash, entry.rx_metadata, 1, entry.ns_time
        )
        pending[key] = placeholder
        if entry.alt_key:
            by_alt.setdefault(entry.alt_key, []).append(placeholder)
        outcomes[index] = StoredOutcome(placeholder.journal_id, counter_reset=reset)
    ids: list[int] = []
    if new_rows:
        # A plain executemany (fast on both drivers), then the ids by key: cheaper than
        # INSERT ... RETURNING, which SQLite runs row by row when the order must be kept.
        if conn.dialect.name == "sqlite":
            _insert_sqlite(conn, new_rows)
        else:
            conn.execute(insert(t), new_rows)
        keys = [row["dedup_key"] for row in new_rows]
        found_ids = conn.execute(_IDS, {"keys": keys})
        id_of = {key: journal_id for key, journal_id in found_ids}
        ids = [id_of[key] for key in keys]
    dirty = [e for e in known.values() if e.dirty]
    dirty += [
        e
        for group in by_alt.values()
        for e in group
        if e.dirty and e.journal_id > 0 and e not in dirty
    ]
    if dirty:
        conn.execute(
            update(t)
            .where(t.c.id == bindparam("b_id"))
            .values(rx_metadata=bindparam("b_rx"), copies=bindparam("b_copies")),
            [{"b_id": e.journal_id, "b_rx": e.rx_metadata, "b_copies": e.copies} for e in dirty],
        )
    final: list[StoredOutcome] = []
    for outcome in outcomes:
        assert outcome is not None
        if outcome.journal_id < 0:
            outcome = StoredOutcome(
                ids[-outcome.journal_id - 1], outcome.duplicate, outcome.counter_reset
            )
        final.append(outcome)
    return final


async def _stored(future: Future[StoredOutcome]) -> StoredOutcome:
    try:
        return await asyncio.wrap_future(future)
    except PlacehubError:
        raise
    except Exception:  # noqa: BLE001 - not stored: a 5xx makes the network server try again
        log.exception("journal write failed")
        raise JournalUnavailable("the uplink was not stored; try again") from None


class JournalWriter:
    """One thread that stores journal entries with one commit per batch (group commit).

    ``submit`` returns a Future resolved once the entry's transaction has committed, so a web
    handler can await it and answer 2xx only for durable uplinks.
    """

    def __init__(
        self, database: Database, max_batch: int = 500, on_commit: Callable[[], None] | None = None
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch={max_batch} not understood: use 1 or more")
        self.database = database
        self.max_batch = max_batch
        self.on_commit = on_commit
        self._queue: queue.SimpleQueue[tuple[JournalEntry, Future[StoredOutcome]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0
        self.entries = 0
        # When the last batch committed (time.monotonic()); the processing worker backs off
        # while webhooks keep arriving, so acknowledgements stay fast.
        self.last_commit = -1e9

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="journal-writer", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=10)

    def submit(self, entry: JournalEntry) -> Future[StoredOutcome]:
        future: Future[StoredOutcome] = Future()
        if self._thread is None:
            self.start()
        self._queue.put((entry, future))
        return future

    async def accept(self, entry: JournalEntry) -> dict[str, Any]:
        """Store one entry and wait for its commit; the acknowledgement to answer with."""
        outcome = await _stored(self.submit(entry))
        return {"journal_id": outcome.journal_id, "duplicate": outcome.duplicate,
                "counter_reset": outcome.counter_reset}

    def store(self, entries: Sequence[JournalEntry]) -> list[StoredOutcome]:
        """Store entries and wait until they are durable (for the CLI, MQTT and tests)."""
        futures = [self.submit(e) for e in entries]
        return [f.result() for f in futures]

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._commit(batch)

    def _write(self, entries: list[JournalEntry]) -> list[StoredOutcome]:
        for attempt in range(3):
            try:
                with write_turn(self.database), self.database.begin() as conn:
                    return write_entries(conn, entries)
            except IntegrityError:
                # Another process stored one of these keys between our read and our insert
                # (several workers on PostgreSQL): read again and retry.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _commit(self, batch: list[tuple[JournalEntry, Future[StoredOutcome]]]) -> None:
        """Store a batch; when it fails, store its halves, so only an entry that cannot be
        stored on its own fails (and is answered with why), never its neighbours."""
        entries = [entry for entry, _ in batch]
        try:
            outcomes = self._write(entries)
        except Exception as error:  # noqa: BLE001 - every waiting request must be answered
            if not _data_error(error):
                log.error("journal batch of %d not stored: %s", len(batch), summarise(error))
                self._fail(batch, JournalUnavailable(
                    f"the uplink was not stored ({summarise(error)}); try again"))
                return
            if len(batch) == 1:
                log.warning("journal entry %s of %s refused: %s",
                            entries[0].dedup_key[:80], entries[0].dev_eui, summarise(error))
                self._fail(batch, UnstorableEntry(
                    f"this message cannot be stored ({summarise(error)}); check the fields "
                    "the integration sends"))
                return
            middle = len(batch) // 2
            self._commit(batch[:middle])
            self._commit(batch[middle:])
            return
        self.batches += 1
        self.entries += len(batch)
        self.last_commit = time.monotonic()
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            future.set_result(outcome)
        if self.on_commit is not None:
            self.on_commit()

    @staticmethod
    def _fail(batch: list[tuple[JournalEntry, Future[StoredOutcome]]], error: Exception) -> None:
        for _, future in batch:
            if not future.done():
                future.set_exception(error)
