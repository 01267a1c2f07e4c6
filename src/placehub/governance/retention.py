"""Retention: how long Observations and raw journal entries are kept, and the purge that
deletes what is older.

A Datastream's period is, first found: its own; its organisation's for its data class; its
organisation's for every class ('*'); the ``retention_class_days`` default for its class.
Without any, its Observations are kept. Raw LoRaWAN journal entries are kept
``retention_journal_days`` (90 by default) by the time they were received; entries still
waiting to be processed are never purged.

The purge is plain DELETEs by phenomenonTime in short transactions of about
``retention_purge_batch`` rows (windows of time across Datastreams, see ``_delete_chunk``),
so ingest keeps flowing while it runs; each Datastream's
materialised columns (count, time ranges, latest Observation) are set to what remains.
A dry run counts and changes nothing; a real run writes an audit entry per organisation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from placehub.access import audit
from placehub.access.service import Principal
from placehub.config import Settings
from placehub.db import Database
from placehub.errors import BadRequest, Forbidden
from placehub.governance.data_classes import StreamClass, all_classes, check_class
from placehub.governance.tables import retention_periods
from placehub.ingest.tables import ingest_journal
from placehub.sta.tables import datastreams, observations

ANY_CLASS = "*"
_IN_CHUNK = 1000  # Datastreams per IN list


def class_defaults(settings: Settings) -> dict[str, int]:
    """The ``retention_class_days`` setting as class -> days."""
    text = str(settings.retention_class_days or "").strip()
    found: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, days = part.partition("=")
        try:
            value = int(days)
        except ValueError:
            raise BadRequest(f"retention_class_days {part!r}: write class=days, e.g. "
                             "personal=365") from None
        if value < 1:
            raise BadRequest(f"retention_class_days {part!r}: days must be 1 or more")
        found[check_class(name.strip())] = value
    return found


@dataclass(frozen=True)
class StreamPeriod:
    """A Datastream's retention period and where it comes from (days None: kept)."""

    stream: StreamClass
    days: int | None
    source: str


def organisation_periods(conn: Connection) -> dict[tuple[int, str], int]:
    """Every organisation's periods: (organisation, class or '*') -> days."""
    return {(int(r.organisation_id), str(r.data_class)): int(r.days)
            for r in conn.execute(select(retention_periods))}


def stream_periods(conn: Connection, settings: Settings) -> list[StreamPeriod]:
    """The period of every Datastream."""
    defaults = class_defaults(settings)
    periods = organisation_periods(conn)
    found = []
    for stream in all_classes(conn):
        if stream.retention_days is not None:
            found.append(StreamPeriod(stream, stream.retention_days, "Datastream"))
        elif (stream.organisation_id, stream.data_class) in periods:
            found.append(StreamPeriod(stream, periods[stream.organisation_id, stream.data_class],
                                      f"organisation, {stream.data_class} data"))
        elif (stream.organisation_id, ANY_CLASS) in periods:
            found.append(StreamPeriod(stream, periods[stream.organisation_id, ANY_CLASS],
                                      "organisation"))
        elif stream.data_class in defaults:
            found.append(StreamPeriod(stream, defaults[stream.data_class],
                                      f"default for {stream.data_class} data"))
        else:
            found.append(StreamPeriod(stream, None, "no period: kept"))
    return found


def set_organisation_period(conn: Connection, principal: Principal | str, organisation_id: int,
                            data_class: str, days: int | None, at: datetime | None = None
                            ) -> None:
    """Set (or with None, remove) an organisation's period for a class or '*'; admins of the
    organisation only; recorded in the audit trail."""
    if data_class != ANY_CLASS:
        check_class(data_class)
    if days is not None and days < 1:
        raise BadRequest(f"days {days}: give a whole number of days, 1 or more")
    if isinstance(principal, Principal) and not principal.can_admin(organisation_id):
        raise Forbidden("only admins of the organisation may set its retention periods")
    where = (retention_periods.c.organisation_id == organisation_id,
             retention_periods.c.data_class == data_class)
    conn.execute(delete(retention_periods).where(*where))
    if days is not None:
        conn.execute(insert(retention_periods).values(
            organisation_id=organisation_id, data_class=data_class, days=days,
            updated_at=at or datetime.now(UTC), updated_by=audit.actor_name(principal)[:200]))
    audit.record(conn, principal, "update", "RetentionPeriod", f"{organisation_id}:{data_class}",
                 {"data_class": data_class, "days": days}, organisation_id=organisation_id)


# --- the purge -------------------------------------------------------------------------------


@dataclass
class StreamPurge:
    """What the purge does to one Datastream."""

    datastream_id: int
    thing_id: int
    organisation_id: int
    data_class: str
    days: int
    source: str
    cutoff: datetime
    expired: int
    oldest: datetime | None = None  # the oldest expired Observation's time, as counted


@dataclass
class PurgeReport:
    """What a purge found (dry run) or deleted."""

    at: datetime
    dry_run: bool
    streams: list[StreamPurge] = field(default_factory=list)
    journal_days: int = 0
    journal_cutoff: datetime | None = None
    journal_expired: int = 0
    kept_streams: int = 0  # Datastreams without a period
    seconds: float = 0.0

    @property
    def observations_expired(self) -> int:
        return sum(s.expired for s in self.streams)

    def by_organisation(self) -> dict[int, dict[str, int]]:
        """Observations expired per organisation and data class."""
        found: dict[int, dict[str, int]] = {}
        for s in self.streams:
            classes = found.setdefault(s.organisation_id, {})
            classes[s.data_class] = classes.get(s.data_class, 0) + s.expired
        return found

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "dry_run": self.dry_run,
                "observations": self.observations_expired,
                "journal_entries": self.journal_expired,
                "journal_days": self.journal_days,
                "journal_cutoff": self.journal_cutoff.isoformat() if self.journal_cutoff
                else None,
                "datastreams_without_period": self.kept_streams,
                "seconds": round(self.seconds, 3),
                "datastreams": [{**asdict(s), "cutoff": s.cutoff.isoformat(),
                                 "oldest": s.oldest.isoformat() if s.oldest else None}
                                for s in self.streams if s.expired]}


def _by_cutoff(streams: list[StreamPurge]) -> dict[datetime, list[int]]:
    """Datastream ids per cutoff (Datastreams with the same period share one), in chunks of
    bounded IN lists."""
    groups: dict[datetime, list[int]] = {}
    for s in streams:
        groups.setdefault(s.cutoff, []).append(s.datastream_id)
    return groups


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[n:n + _IN_CHUNK] for n in range(0, len(ids), _IN_CHUNK)]


def _expired_counts(conn: Connection, cutoff: datetime, stream_ids: list[int]
                    ) -> dict[int, tuple[int, datetime]]:
    """Observations older than ``cutoff`` per Datastream and the oldest one's time (one
    grouped index range scan)."""
    o = observations.c
    found: dict[int, tuple[int, datetime]] = {}
    for chunk in _chunks(stream_ids):
        found.update((int(d), (int(n), oldest)) for d, n, oldest in conn.execute(
            select(o.datastream_id, func.count(), func.min(o.phenomenon_time_start)).where(
                o.datastream_id.in_(chunk), o.phenomenon_time_start < cutoff)
            .group_by(o.datastream_id)))
    return found


def _journal_expired(conn: Connection, cutoff: datetime) -> int:
    j = ingest_journal.c
    return int(conn.execute(select(func.count()).select_from(ingest_journal).where(
        j.received_at < cutoff, j.status != "pending")).scalar_one())


def plan_purge(conn: Connection, settings: Settings, now: datetime) -> PurgeReport:
    """What a purge at ``now`` would delete (reads only: this is the dry run)."""
    report = PurgeReport(now, True)
    for period in stream_periods(conn, settings):
        if period.days is None:
            report.kept_streams += 1
            continue
        stream = period.stream
        report.streams.append(StreamPurge(stream.datastream_id, stream.thing_id,
                                          stream.organisation_id, stream.data_class,
                                          period.days, period.source,
                                          now - timedelta(days=period.days), 0))
    for cutoff, stream_ids in _by_cutoff(report.streams).items():
        counts = _expired_counts(conn, cutoff, stream_ids)
        for s in report.streams:
            if s.cutoff == cutoff and s.datastream_id in counts:
                s.expired, s.oldest = counts[s.datastream_id]
    days = int(settings.retention_journal_days)
    if days > 0:
        report.journal_days = days
        report.journal_cutoff = now - timedelta(days=days)
        report.journal_expired = _journal_expired(conn, report.journal_cutoff)
    return report


def _delete_where(conn: Connection, *conditions: Any) -> Counter[int]:
    """Delete the Observations matching ``conditions``; answer how many went per Datastream."""
    o = observations.c
    gone = delete(observations).where(*conditions).returning(o.datastream_id)
    if conn.dialect.name == "postgresql":
        # Counted in the database: 50,000 ids through the driver cost more than the DELETE.
        cte = gone.cte("gone")
        return Counter({int(d): int(n) for d, n in conn.execute(
            select(cte.c.datastream_id, func.count()).group_by(cte.c.datastream_id))})
    return Counter(int(d) for d in conn.execute(gone).scalars())


def _delete_chunk(database: Database, streams: list[StreamPurge], cutoff: datetime, batch: int,
                  on_batch: Callable[[int], None]) -> Counter[int]:
    """Delete the expired Observations of up to 1,000 Datastreams sharing a cutoff: in one
    transaction when they fit in a batch, else in windows of time from the oldest to the
    cutoff, each holding about ``batch`` rows (the window's length follows the rows the last
    one deleted). A window takes every Datastream's rows of that time, which lie together
    in the table as they arrived together, and no window scans index entries an earlier one
    left behind (on PostgreSQL they stay, dead, until VACUUM)."""
    o = observations.c
    ids = [s.datastream_id for s in streams]
    total = sum(s.expired for s in streams)
    deleted: Counter[int] = Counter()
    if total <= batch:
        with database.begin() as conn:
            deleted.update(_delete_where(conn, o.datastream_id.in_(ids),
                                         o.phenomenon_time_start < cutoff))
        on_batch(sum(deleted.values()))
        return deleted
    oldest = min(s.oldest for s in streams if s.oldest is not None)
    span = (cutoff - oldest) * (batch / total)
    start: datetime | None = None  # the first window takes everything older too
    while start is None or start < cutoff:
        end = min(cutoff, (start or oldest) + span)
        where = [o.datastream_id.in_(ids), o.phenomenon_time_start < end]
        if start is not None:
            where.append(o.phenomenon_time_start >= start)
        with database.begin() as conn:
            counts = _delete_where(conn, *where)
        rows = sum(counts.values())
        deleted.update(counts)
        on_batch(rows)
        # Next window: as long as would have held ``batch`` rows, within half to twice this.
        span *= min(2.0, max(0.5, batch / rows)) if rows else 2.0
        start = end
    return deleted


def refresh_materialised(conn: Connection, deleted: Counter[int], cutoff: datetime) -> None:
    """Set purged Datastreams' counts, time ranges and latest Observation to what remains
    (two statements for the lot, each row's values from correlated subqueries)."""
    if not deleted:
        return
    o, d = observations.c, datastreams.c
    own = o.datastream_id == d.id
    remaining = d.observation_count - bindparam("n_deleted")
    conn.execute(
        update(datastreams).where(d.id == bindparam("stream_id")).values(
            observation_count=case((remaining < 0, 0), else_=remaining),
            phenomenon_time_start=select(func.min(o.phenomenon_time_start)).where(own)
            .scalar_subquery(),
            result_time_start=select(func.min(o.result_time)).where(own).scalar_subquery()),
        [{"stream_id": stream, "n_deleted": n} for stream, n in sorted(deleted.items())])
    # Where the latest Observation itself was purged: the newest left (a late arrival) or none.
    newest = (select(o.id).where(own)
              .order_by(o.phenomenon_time_start.desc(), o.id.desc()).limit(1)
              .correlate(datastreams).scalar_subquery())
    newest_row = observations.alias("newest")
    n = newest_row.c

    def of_newest(column: Any) -> Any:
        return select(column).where(n.id == newest).correlate(datastreams).scalar_subquery()

    conn.execute(update(datastreams).where(
        d.id.in_(sorted(deleted)),
        or_(d.latest_phenomenon_time.is_(None), d.latest_phenomenon_time < cutoff)).values(
        latest_observation_id=newest,
        latest_phenomenon_time=of_newest(n.phenomenon_time_start),
        phenomenon_time_end=of_newest(func.coalesce(n.phenomenon_time_end,
                                                    n.phenomenon_time_start)),
        result_time_end=of_newest(n.result_time),
        observation_count=case((newest.is_(None), 0), else_=d.observation_count)))


def _purge_journal(database: Database, cutoff: datetime, batch: int) -> int:
    j = ingest_journal.c
    total = 0
    while True:
        with database.begin() as conn:
            chosen = (select(j.id).where(j.received_at < cutoff, j.status != "pending")
                      .order_by(j.id).limit(batch))
            count = int(conn.execute(delete(ingest_journal).where(
                j.id.in_(chosen.scalar_subquery()))).rowcount)
        total += count
        if count < batch:
            return total


def purge(database: Database, settings: Settings, now: datetime, *, dry_run: bool = False,
          actor: Principal | str = "retention", batch: int | None = None,
          progress: Callable[[int], None] | None = None) -> PurgeReport:
    """Delete what is past its period at ``now`` (with ``dry_run``, only count it).

    ``progress`` is called with the rows deleted so far after every batch.
    """
    batch = int(settings.retention_purge_batch if batch is None else batch)
    if batch < 1:
        raise BadRequest(f"batch {batch}: delete at least 1 row per transaction")
    started = datetime.now(UTC)
    with database.connect() as conn:
        report = plan_purge(conn, settings, now)
    if dry_run:
        report.seconds = (datetime.now(UTC) - started).total_seconds()
        return report
    report.dry_run = False
    deleted: Counter[int] = Counter()
    expiring = [s for s in report.streams if s.expired]
    by_cutoff: dict[datetime, list[StreamPurge]] = {}
    for s in sorted(expiring, key=lambda s: s.datastream_id):
        by_cutoff.setdefault(s.cutoff, []).append(s)
    done = Counter[str]()

    def on_batch(rows: int) -> None:
        done["rows"] += rows
        if progress is not None:
            progress(done["rows"])

    for cutoff, streams in by_cutoff.items():
        for group in [streams[n:n + _IN_CHUNK] for n in range(0, len(streams), _IN_CHUNK)]:
            counts = _delete_chunk(database, group, cutoff, batch, on_batch)
            deleted.update(counts)
            with database.begin() as conn:
                refresh_materialised(conn, Counter({s.datastream_id: counts[s.datastream_id]
                                                    for s in group}), cutoff)
    for s in report.streams:
        s.expired = deleted[s.datastream_id]
    if report.journal_cutoff is not None and report.journal_expired:
        report.journal_expired = _purge_journal(database, report.journal_cutoff, batch)
    report.seconds = (datetime.now(UTC) - started).total_seconds()
    with database.begin() as conn:
        for organisation_id, classes in sorted(report.by_organisation().items()):
            if sum(classes.values()):
                audit.record(conn, actor, "purge", "Observations", None,
                             {"deleted_by_class": classes, "at": now.isoformat()},
                             organisation_id=organisation_id)
        audit.record(conn, actor, "purge", "Retention", None, {
            "observations": report.observations_expired,
            "journal_entries": report.journal_expired,
            "journal_cutoff": report.journal_cutoff.isoformat() if report.journal_cutoff
            else None, "seconds": round(report.seconds, 3)})
    return report


__all__ = ["ANY_CLASS", "PurgeReport", "StreamPeriod", "StreamPurge", "class_defaults",
           "organisation_periods", "plan_purge", "purge", "refresh_materialised",
           "set_organisation_period", "stream_periods"]
