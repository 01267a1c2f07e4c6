"""Dead letters and replay: uplinks that could not become Observations, and re-processing them.

Replaying processes the chosen entries again (never via pending); Observations carry the
journal entry's key, so entries that were already processed never give duplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, func, or_, select

from placehub.access.service import Principal
from placehub.db import Database
from placehub.db.outage import database_unavailable
from placehub.errors import BadRequest, Forbidden
from placehub.ingest.journal import lock_for_writing, normalise_eui, summarise, write_turn
from placehub.ingest.processing import ProcessResult, process_entries
from placehub.ingest.tables import ingest_devices, ingest_journal

log = logging.getLogger(__name__)


def dead_letter_scope(principal: Principal) -> frozenset[int] | None:
    """The organisations whose devices' dead letters ``principal`` may handle (None: all).

    A registered device's dead letters belong to its organisation's editors and admins;
    letters of devices nobody has registered are shown to every editor and admin, since
    registering the device is how an organisation claims them.
    """
    return principal.writer_scope


def handling_scope(principal: Principal) -> frozenset[int] | None:
    """``dead_letter_scope`` for someone about to list or replay dead letters; a principal who
    may handle none (a viewer) is refused with a 403 saying who may."""
    scope = dead_letter_scope(principal)
    if scope is not None and not scope:
        raise Forbidden("dead letters are for editors and admins: ask an admin for a role")
    return scope


def _in_scope(query: Select[Any], organisations: Collection[int] | None) -> Select[Any]:
    if organisations is None:
        return query
    return query.outerjoin(ingest_devices, ingest_devices.c.dev_eui == ingest_journal.c.dev_eui
                           ).where(or_(ingest_devices.c.id.is_(None),
                                       ingest_devices.c.organisation_id.in_(organisations)))


def list_dead_letters(
    conn: Connection, dev_eui: str | None = None, limit: int = 100,
    organisations: Collection[int] | None = None,
) -> list[dict[str, Any]]:
    """The newest dead letters (optionally of one device), with the reason each was set aside;
    ``organisations`` (from ``dead_letter_scope``) limits them to what a principal may see."""
    t = ingest_journal
    query = (
        select(
            t.c.id,
            t.c.dev_eui,
            t.c.network,
            t.c.transport,
            t.c.event,
            t.c.f_cnt,
            t.c.f_port,
            t.c.payload_hex,
            t.c.ns_time,
            t.c.received_at,
            t.c.reason,
        )
        .where(t.c.status == "dead_letter")
        .order_by(t.c.id.desc())
        .limit(limit)
    )
    if dev_eui:
        try:
            query = query.where(t.c.dev_eui == normalise_eui(dev_eui))
        except ValueError as error:
            raise BadRequest(str(error)) from None
    query = _in_scope(query, organisations)
    return [
        {
            **dict(r._mapping),
            "ns_time": r.ns_time.isoformat(),
            "received_at": r.received_at.isoformat(),
        }
        for r in conn.execute(query)
    ]


def count_dead_letters(conn: Connection, organisations: Collection[int] | None = None) -> int:
    """How many uplinks are waiting as dead letters (within ``organisations``' scope)."""
    t = ingest_journal
    query = select(func.count()).select_from(t).where(t.c.status == "dead_letter")
    return int(conn.execute(_in_scope(query, organisations)).scalar_one())


def replay(
    database: Database,
    *,
    dead_letters: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    dev_eui: str | None = None,
    extra_profiles: str | None = None,
    chunk: int = 500,
    progress: Callable[[float, str], None] | None = None,
    organisations: Collection[int] | None = None,
) -> dict[str, Any]:
    """Process the chosen entries again, in chunks, each in its own transaction; returns counts.

    ``organisations`` (from ``dead_letter_scope``) limits the replay to the entries a principal
    may handle: another council's registered devices are left for that council.

    The entries are never set back to pending, so the server's worker cannot pick them up
    meanwhile: each replayed entry is processed exactly once by this call. ``progress(fraction,
    message)`` hears after each chunk how far it got.
    """
    if not dead_letters and since is None and until is None:
        raise BadRequest("say what to replay: the dead letters, or a time range (since/until)")
    t = ingest_journal
    condition: ColumnElement[bool] = t.c.status.in_(
        ["dead_letter"] if dead_letters else ["dead_letter", "processed", "ignored"]
    )
    if since is not None:
        condition = condition & (t.c.ns_time >= since)
    if until is not None:
        condition = condition & (t.c.ns_time < until)
    if dev_eui:
        try:
            condition = condition & (t.c.dev_eui == normalise_eui(dev_eui))
        except ValueError as error:
            raise BadRequest(str(error)) from None
    with database.connect() as conn:
        chosen = _in_scope(select(t.c.id).where(condition), organisations)
        ids = list(conn.execute(chosen.order_by(t.c.id)).scalars())
    total = ProcessResult()
    for start in range(0, len(ids), chunk):
        if progress:
            progress(start / len(ids), f"Replaying entries {start + 1} to "
                                       f"{min(start + chunk, len(ids))} of {len(ids)}")
        wanted = ids[start : start + chunk]
        try:
            result = _replay_chunk(database, wanted, condition, extra_profiles)
        except Exception as error:  # noqa: BLE001 - one entry that cannot be processed stays
            if database_unavailable(error):
                raise
            result = ProcessResult()
            for one in wanted:
                try:
                    result.add(_replay_chunk(database, [one], condition, extra_profiles))
                except Exception as error:  # noqa: BLE001
                    if database_unavailable(error):
                        raise
                    log.warning("replaying journal entry %d failed: %s", one, summarise(error))
                    total.failed += 1
        if result.written:
            database.events.publish("observations.written", result.written)
        result.events.publish(database)
        total.processed += result.processed
        total.dead_letters += result.dead_letters
        total.ignored += result.ignored
        total.observations += result.observations
    return {
        "replayed": len(ids),
        "processed": total.processed,
        "dead_letters": total.dead_letters,
        "ignored": total.ignored,
        "new_observations": total.observations,
        "failed": total.failed,
    }


def _replay_chunk(
    database: Database, wanted: list[int], condition: ColumnElement[bool],
    extra_profiles: str | None,
) -> ProcessResult:
    t = ingest_journal
    with write_turn(database), database.begin() as conn:
        lock_for_writing(conn)
        query = select(t).where(t.c.id.in_(wanted), condition).order_by(t.c.id)
        if not database.is_sqlite:
            query = query.with_for_update()
        return process_entries(conn, list(conn.execute(query)), extra_profiles)
