"""Ingest through NATS JetStream: API processes publish uplinks, ``placehub worker``s store them.

With ``PLACEHUB_NATS_URL`` set, a webhook or MQTT uplink is published to a JetStream stream
(message id: the journal's idempotency key and payload digest, so JetStream's duplicate window
drops a network server's retry) and acknowledged once JetStream has stored it. Any number of
workers, on any machine, pull from one durable consumer: each batch is journalled and turned
into Observations in one PostgreSQL transaction, and acknowledged to JetStream only after the
commit. A message delivered again after a crash finds its journal entry and Observations by
their idempotency keys, so nothing is stored twice. A message that cannot be read is moved to
the dead-letter stream and acknowledged: it never blocks the consumer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DiscardPolicy, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError, NotFoundError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from placehub.db import Database
from placehub.db.outage import database_unavailable
from placehub.ingest.journal import (
    JournalEntry,
    JournalUnavailable,
    summarise,
    write_entries,
)
from placehub.ingest.processing import ProcessResult, process_entries
from placehub.ingest.tables import ingest_journal

log = logging.getLogger(__name__)

DURABLE = "placehub-workers"
# How long a network server's retry of one uplink is recognised by JetStream itself (the
# journal's keys recognise it for longer).
DUPLICATE_WINDOW_SECONDS = 120.0
# A message not acknowledged this long after delivery (its worker died) is delivered again.
ACK_WAIT_SECONDS = 30.0
PUBLISH_ATTEMPTS = 8


class UplinkSink(Protocol):
    """Where an accepted uplink goes before the network server gets its 2xx."""

    async def accept(self, entry: JournalEntry) -> dict[str, Any]:
        """Store the entry durably; the acknowledgement to answer with."""
        ...


# --- messages ---------------------------------------------------------------------------------

_TIME_FIELDS = ("ns_time", "received_at")


def message_id(entry: JournalEntry) -> str:
    """The JetStream message id: the idempotency key plus the payload digest, so a retry is
    dropped as a duplicate while a frame-counter reset (same key, new bytes) is not."""
    return f"{entry.dedup_key}#{entry.payload_hash[:16]}"


def encode_entry(entry: JournalEntry) -> bytes:
    """One uplink as a JetStream message body (JSON)."""
    fields = dict(entry.__dict__)
    for name in _TIME_FIELDS:
        fields[name] = fields[name].isoformat()
    return json.dumps(fields, separators=(",", ":"), default=str).encode()


def decode_entry(data: bytes) -> JournalEntry:
    """The uplink a message carries; ValueError says what is wrong with it."""
    try:
        fields = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(fields, dict):
        raise ValueError("not a JSON object")
    try:
        for name in _TIME_FIELDS:
            fields[name] = datetime.fromisoformat(fields[name])
            if fields[name].tzinfo is None:
                raise ValueError(f"{name} has no time zone")
        return JournalEntry(**fields)
    except (KeyError, TypeError) as error:
        raise ValueError(f"not an uplink message: {error}") from None


# --- connection and stream ------------------------------------------------------------------


@dataclass(frozen=True)
class StreamSettings:
    """Where the stream lives and how it is kept."""

    url: str
    stream: str = "PLACEHUB_UPLINKS"
    replicas: int = 1
    max_age_seconds: float = 7 * 86400.0

    def __post_init__(self) -> None:
        if not self.url:
            raise ValueError("NATS URL is empty: set PLACEHUB_NATS_URL, e.g. nats://127.0.0.1:4222")
        if not 1 <= self.replicas <= 5:
            raise ValueError(f"replicas={self.replicas} not understood: use 1 to 5")

    @classmethod
    def from_settings(cls, settings: Any) -> StreamSettings:
        return cls(settings.nats_url, settings.nats_stream, int(settings.nats_replicas))

    @property
    def servers(self) -> list[str]:
        return [u.strip() for u in self.url.split(",") if u.strip()]

    @property
    def dead_stream(self) -> str:
        return f"{self.stream}_DEAD"

    @property
    def subjects(self) -> str:
        """The uplink subjects (one per network: ``<stream>.uplinks.tts``, ...)."""
        return f"{self.stream}.uplinks.>"

    @property
    def dead_subject(self) -> str:
        return f"{self.stream}.dead"

    def subject_of(self, entry: JournalEntry) -> str:
        return f"{self.stream}.uplinks.{entry.network}"


async def connect(settings: StreamSettings) -> Client:
    """A NATS connection that reconnects forever (to any server of the cluster)."""
    return await nats.connect(
        servers=settings.servers, max_reconnect_attempts=-1, reconnect_time_wait=0.25,
        connect_timeout=2, allow_reconnect=True,
    )


async def ensure_streams(js: JetStreamContext, settings: StreamSettings) -> None:
    """Create the uplink and dead-letter streams when they do not exist yet."""
    for name, subjects in ((settings.stream, [settings.subjects]),
                           (settings.dead_stream, [settings.dead_subject])):
        config = StreamConfig(
            name=name, subjects=subjects, num_replicas=settings.replicas,
            duplicate_window=DUPLICATE_WINDOW_SECONDS, max_age=settings.max_age_seconds,
            # A full stream refuses new uplinks (the network server retries) rather than
            # dropping stored ones nobody has processed.
            discard=DiscardPolicy.NEW,
        )
        for attempt in range(20):
            try:
                await js.add_stream(config)
                break
            except BadRequestError as error:
                if "already in use" in str(error) or error.err_code == 10058:
                    break  # created earlier (perhaps with other limits set by an operator)
                raise
            except (TimeoutError, NatsTimeout, NoRespondersError):
                # The cluster is still electing its meta leader.
                if attempt == 19:
                    raise
                await asyncio.sleep(0.5)


# --- the publishing side (API processes) ------------------------------------------------------


class UplinkPublisher:
    """Publishes accepted uplinks; ``accept`` returns once JetStream has stored the message."""

    def __init__(self, settings: StreamSettings) -> None:
        self.settings = settings
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self.published = 0
        self.duplicates = 0

    async def _jetstream(self) -> JetStreamContext:
        loop = asyncio.get_running_loop()
        if self._js is not None and self._loop is loop:
            return self._js
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop, self._js = asyncio.Lock(), loop, None
        async with self._lock:
            if self._js is None:
                self._nc = await connect(self.settings)
                js = self._nc.jetstream()
                await ensure_streams(js, self.settings)
                self._js = js
        return self._js

    async def accept(self, entry: JournalEntry) -> dict[str, Any]:
        """Publish one uplink and wait for JetStream's acknowledgement (503 when it cannot)."""
        body = encode_entry(entry)
        headers = {"Nats-Msg-Id": message_id(entry)}
        error: BaseException | None = None
        for attempt in range(PUBLISH_ATTEMPTS):
            try:
                js = await self._jetstream()
                ack = await js.publish(self.settings.subject_of(entry), body, timeout=2.0,
                                       headers=headers, stream=self.settings.stream)
            except (TimeoutError, NatsTimeout, NoRespondersError, OSError,
                    nats.errors.ConnectionClosedError) as failure:
                # A node is down or a stream leader is being elected: the same message id
                # again, so a publish that was stored after all is not stored twice.
                error = failure
                await asyncio.sleep(min(2.0, 0.1 * 2 ** attempt))
                continue
            self.published += 1
            self.duplicates += bool(ack.duplicate)
            return {"stream": ack.stream, "sequence": ack.seq, "duplicate": bool(ack.duplicate),
                    "queued": True}
        log.error("uplink of %s not published to JetStream: %s", entry.dev_eui, error)
        raise JournalUnavailable(
            f"the uplink was not stored (message stream unavailable: {type(error).__name__}); "
            "try again")

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.drain()
        self._nc = self._js = None


# --- the storing side (workers) ---------------------------------------------------------------


@dataclass
class StoreResult:
    """What one batch of messages became."""

    stored: int = 0  # journal entries written
    duplicates: int = 0  # already stored (redelivered after a crash, or a second copy)
    quarantined: list[tuple[int, str]] = field(default_factory=list)  # (index, reason)
    unstorable: list[tuple[int, str]] = field(default_factory=list)  # to the dead stream
    processed: ProcessResult = field(default_factory=ProcessResult)


def _candidate_keys(entry: JournalEntry) -> list[str]:
    """Every key the journal may have stored this entry under (see ``write_entries``)."""
    return [entry.dedup_key, f"{entry.dedup_key}#{entry.payload_hash[:16]}",
            f"{entry.dedup_key}@{entry.ns_time:%Y%m%dT%H%M%S%f}"]


def _already_stored(conn: Any, entries: Sequence[JournalEntry]) -> set[int]:
    """Indexes of entries whose very message was stored before (same key, same arrival time):
    a redelivery after a worker died between its commit and its acknowledgement."""
    keys = {k: i for i, e in enumerate(entries) for k in _candidate_keys(e)}
    t = ingest_journal
    found = set()
    for row in conn.execute(select(t.c.dedup_key, t.c.received_at)
                            .where(t.c.dedup_key.in_(list(keys)))):
        index = keys[row.dedup_key]
        if row.received_at == entries[index].received_at:
            found.add(index)
    return found


def _store_once(database: Database, entries: Sequence[JournalEntry], redelivered: Sequence[bool],
                extra_profiles: str | None) -> tuple[ProcessResult, int, int]:
    """Journal and process ``entries`` in one transaction: (result, stored, duplicates)."""
    for attempt in range(3):
        try:
            with database.begin() as conn:
                skip = _already_stored(conn, [e for e, again in zip(entries, redelivered,
                                                                    strict=True) if again]
                                       ) if any(redelivered) else set()
                if skip:
                    again = [i for i, r in enumerate(redelivered) if r]
                    skip = {again[i] for i in skip}
                fresh = [e for i, e in enumerate(entries) if i not in skip]
                outcomes = write_entries(conn, fresh) if fresh else []
                new_ids = [o.journal_id for o in outcomes if not o.duplicate]
                rows = list(conn.execute(
                    select(ingest_journal).where(ingest_journal.c.id.in_(new_ids),
                                                 ingest_journal.c.status == "pending")
                    .order_by(ingest_journal.c.id))) if new_ids else []
                result = process_entries(conn, rows, extra_profiles) if rows else ProcessResult()
                return result, len(new_ids), len(entries) - len(new_ids)
        except IntegrityError:
            # Another worker stored one of these keys between our read and our insert (two
            # copies of an uplink on two workers): read again.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def store_uplinks(database: Database, entries: Sequence[JournalEntry],
                  redelivered: Sequence[bool] | None = None,
                  extra_profiles: str | None = None) -> StoreResult:
    """Journal ``entries`` and write their Observations; announce them after the commit.

    A batch that fails is split until the entries that fail on their own are found; each of
    those is kept in the journal as a quarantined dead letter (or, if even that fails, listed
    in ``unstorable`` for the dead-letter stream). A failure of the database itself is raised:
    then nothing is acknowledged and JetStream delivers the batch again.
    """
    redelivered = list(redelivered or [False] * len(entries))
    total = StoreResult()

    def attempt(indexes: list[int]) -> None:
        try:
            result, stored, duplicates = _store_once(
                database, [entries[i] for i in indexes], [redelivered[i] for i in indexes],
                extra_profiles)
        except Exception as error:  # noqa: BLE001 - find the entry to blame
            if database_unavailable(error) or isinstance(error, OSError):
                raise
            if len(indexes) == 1:
                _quarantine(database, entries[indexes[0]], indexes[0], error, total)
                return
            middle = len(indexes) // 2
            attempt(indexes[:middle])
            attempt(indexes[middle:])
            return
        total.stored += stored
        total.duplicates += duplicates
        total.processed.add(result)

    if entries:
        attempt(list(range(len(entries))))
    if total.processed.written:
        database.events.publish("observations.written", total.processed.written)
    total.processed.events.publish(database)
    return total


def _quarantine(database: Database, entry: JournalEntry, index: int, error: BaseException,
                total: StoreResult) -> None:
    reason = f"quarantined after its processing failed in a worker: {summarise(error)}"
    log.error("uplink %s of %s quarantined: %s", entry.dedup_key[:80], entry.dev_eui, reason)
    entry.dead_reason = reason
    try:
        with database.begin() as conn:
            write_entries(conn, [entry])
    except Exception as second:  # noqa: BLE001 - then the dead-letter stream keeps it
        if database_unavailable(second):
            raise
        total.unstorable.append((index, f"{reason}; not journalled: {summarise(second)}"))
        return
    total.quarantined.append((index, reason))


class UplinkWorker:
    """One ``placehub worker``: pulls batches from the durable consumer, stores them, acks."""

    def __init__(self, database: Database, settings: StreamSettings, *, batch: int = 200,
                 extra_profiles: str | None = None) -> None:
        if batch < 1:
            raise ValueError(f"batch={batch} not understood: use 1 or more")
        self.database = database
        self.settings = settings
        self.batch = batch
        self.extra_profiles = extra_profiles
        self.acknowledged = 0
        self.dead = 0
        self.observations = 0
        self.batches = 0

    async def run(self, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
        """Work until ``stop`` is set."""
        nc = await connect(self.settings)
        try:
            js = nc.jetstream()
            await ensure_streams(js, self.settings)
            subscription = await self._subscribe(js)
            if ready is not None:
                ready.set()
            while not stop.is_set():
                try:
                    messages = await subscription.fetch(self.batch, timeout=1.0)
                except (TimeoutError, NatsTimeout):
                    continue
                except (NoRespondersError, nats.errors.ConnectionClosedError, OSError) as error:
                    log.warning("fetching uplinks failed (%s); trying again", error)
                    await asyncio.sleep(0.5)
                    continue
                await self.handle(js, messages)
        finally:
            if not nc.is_closed:
                await nc.close()

    async def _subscribe(self, js: JetStreamContext) -> Any:
        config = ConsumerConfig(
            durable_name=DURABLE, ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT_SECONDS,
            max_deliver=-1, max_ack_pending=20_000, filter_subject=self.settings.subjects,
        )
        for attempt in range(40):
            try:
                return await js.pull_subscribe(self.settings.subjects, durable=DURABLE,
                                               stream=self.settings.stream, config=config)
            except (TimeoutError, NatsTimeout, NoRespondersError, NotFoundError):
                if attempt == 39:
                    raise
                await asyncio.sleep(0.5)
        raise AssertionError("unreachable")

    async def handle(self, js: JetStreamContext, messages: list[Msg]) -> None:
        """Store one fetched batch and acknowledge what is durable."""
        entries: list[JournalEntry] = []
        carriers: list[Msg] = []
        redelivered: list[bool] = []
        for message in messages:
            try:
                entries.append(decode_entry(message.data))
            except ValueError as error:
                await self._dead_letter(js, message, f"unreadable message: {error}")
                continue
            carriers.append(message)
            redelivered.append(message.metadata.num_delivered > 1)
        if not entries:
            return
        try:
            result = await asyncio.to_thread(store_uplinks, self.database, entries, redelivered,
                                             self.extra_profiles)
        except Exception as error:  # noqa: BLE001 - the database failed: deliver again later
            log.error("storing %d uplinks failed (%s); they will be delivered again",
                      len(entries), summarise(error))
            for message in carriers:
                await message.nak(delay=2.0)
            await asyncio.sleep(1.0)
            return
        unstorable = dict(result.unstorable)
        for index, message in enumerate(carriers):
            if index in unstorable:
                await self._dead_letter(js, message, unstorable[index])
            else:
                await message.ack()
                self.acknowledged += 1
        self.observations += result.processed.observations
        self.batches += 1

    async def _dead_letter(self, js: JetStreamContext, message: Msg, reason: str) -> None:
        """Keep the message in the dead-letter stream with why, then acknowledge it."""
        log.warning("uplink message %s dead-lettered: %s", message.metadata.sequence.stream,
                    reason)
        headers = {"Placehub-Reason": reason[:1000],
                   "Placehub-Subject": message.subject,
                   "Nats-Msg-Id": f"dead-{message.metadata.sequence.stream}"}
        await js.publish(self.settings.dead_subject, message.data, headers=headers,
                         stream=self.settings.dead_stream, timeout=5.0)
        await message.ack()
        self.dead += 1

