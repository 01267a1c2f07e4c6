"""Retention periods and the purge: what goes, what stays, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from placehub.access import audit
from placehub.config import Settings
from placehub.db import Database
from placehub.governance import data_classes, retention, runs
from placehub.governance.schedule import PurgeSchedule
from placehub.ingest.tables import ingest_journal
from placehub.sta.observations import NewObservation, write_observations
from placehub.sta.tables import datastreams, observations
from tests.sta.factories import make_datastream

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _streams(database: Database) -> dict[str, int]:
    """Three fill-level Datastreams with 60 days of 6-hourly readings each: one restricted, one
    public, one public that will be marked personal."""
    with database.begin() as conn:
        ids = {
            "restricted": make_datastream(conn, name="Bin 4 fill level",
                                          visibility="restricted")["datastream"],
            "public": make_datastream(conn, name="Bin 5 fill level")["datastream"],
            "personal": make_datastream(conn, name="Hall sensor motion count",
                                        thing_name="Hall sensor")["datastream"],
        }
        rows = [NewObservation(stream, NOW - 60 * 24 * HOUR + n * 6 * HOUR, 0.1 + n / 400,
                               result_time=NOW - 60 * 24 * HOUR + n * 6 * HOUR)
                for stream in ids.values() for n in range(240)]
        write_observations(conn, rows)
        data_classes.set_policy(conn, "tests", ids["personal"], data_class="personal",
                                retention_days=None, purpose="Spotting a change in routine")
    return ids


def _journal(database: Database) -> None:
    """Journal entries 120 and 10 days old, processed, and one 120 days old still pending."""
    base = {"payload_hash": "0" * 64, "network": "tts", "transport": "webhook", "event": "up",
            "dev_eui": "24E124136B123456", "body": {}, "copies": 1, "counter_reset": False,
            "attempts": 0, "simulated": False, "observation_count": 1}
    with database.begin() as conn:
        conn.execute(insert(ingest_journal), [
            {**base, "dedup_key": f"tts:{n}", "ns_time": NOW - days * 24 * HOUR,
             "received_at": NOW - days * 24 * HOUR, "status": status}
            for n, (days, status) in enumerate([(120, "processed"), (120, "dead_letter"),
                                                (10, "processed"), (120, "pending")])])


def _counts(database: Database) -> dict[int, int]:
    with database.connect() as conn:
        return {int(d): int(n) for d, n in conn.execute(
            select(observations.c.datastream_id, func.count()).group_by(
                observations.c.datastream_id))}


def test_periods_come_from_the_datastream_then_organisation_then_class_default(
        database: Database, settings: Settings) -> None:
    """A Datastream's own period wins over its organisation's for its class, which wins over
    the organisation's for every class and the class default; none means kept."""
    ids = _streams(database)
    with database.begin() as conn:
        org_id = data_classes.classes_of(conn, [ids["public"]])[ids["public"]].organisation_id
        retention.set_organisation_period(conn, "tests", org_id, "restricted", 30)
        data_classes.set_policy(conn, "tests", ids["public"], data_class=None,
                                retention_days=7, purpose=None)
        periods = {p.stream.datastream_id: p for p in retention.stream_periods(conn, settings)}
    assert (periods[ids["public"]].days, periods[ids["public"]].source) == (7, "Datastream")
    assert periods[ids["restricted"]].days == 30
    assert periods[ids["restricted"]].source == "organisation, restricted data"
    assert (periods[ids["personal"]].days, periods[ids["personal"]].source) == (
        365, "default for personal data")
    with database.begin() as conn:
        retention.set_organisation_period(conn, "tests", org_id, "*", 45)
        periods = {p.stream.datastream_id: p for p in retention.stream_periods(
            conn, settings.replace(retention_class_days=""))}
    assert periods[ids["personal"]].days == 45 and periods[ids["personal"]].source == (
        "organisation")


def test_dry_run_counts_and_changes_nothing_then_purge_deletes_only_expired(
        database: Database, settings: Settings) -> None:
    """The dry run reports what would go and leaves every row; the purge then deletes exactly
    those Observations and old processed journal entries, keeps the materialised columns true
    to the rows left, and writes audit entries."""
    ids = _streams(database)
    _journal(database)
    with database.begin() as conn:
        org_id = data_classes.classes_of(conn, [ids["restricted"]])[
            ids["restricted"]].organisation_id
        retention.set_organisation_period(conn, "tests", org_id, "restricted", 30)
    settings = settings.replace(retention_class_days="personal=20")
    before = _counts(database)
    with database.connect() as conn:
        audit_before = len(audit.list_entries(conn, audit.AuditQuery(limit=1000)))

    dry = retention.purge(database, settings, NOW, dry_run=True)
    assert {s.datastream_id: s.expired for s in dry.streams if s.expired} == {
        ids["restricted"]: 120, ids["personal"]: 160}
    assert dry.journal_expired == 2 and dry.kept_streams == 1
    assert _counts(database) == before
    with database.connect() as conn:
        assert len(audit.list_entries(conn, audit.AuditQuery(limit=1000))) == audit_before
        assert conn.execute(select(func.count()).select_from(ingest_journal)).scalar() == 4

    report = retention.purge(database, settings, NOW, batch=50)  # several batches each
    assert report.observations_expired == 280 and report.journal_expired == 2
    after = _counts(database)
    assert after[ids["public"]] == 240
    assert after[ids["restricted"]] == 120 and after[ids["personal"]] == 80
    with database.connect() as conn:
        for name in ("restricted", "personal"):
            stream = conn.execute(select(datastreams).where(
                datastreams.c.id == ids[name])).mappings().one()
            oldest = conn.execute(select(func.min(observations.c.phenomenon_time_start)).where(
                observations.c.datastream_id == ids[name])).scalar()
            assert stream["observation_count"] == after[ids[name]]
            assert stream["phenomenon_time_start"] == oldest
            assert stream["phenomenon_time_start"] >= NOW - 30 * 24 * HOUR
            assert stream["latest_observation_id"] is not None  # the newest reading stays
        statuses = sorted(conn.execute(select(ingest_journal.c.status)).scalars())
        assert statuses == ["pending", "processed"]
        entries = audit.list_entries(conn, audit.AuditQuery(action="purge"))
    assert {e["entity"] for e in entries} == {"Observations", "Retention"}
    by_org = next(e for e in entries if e["entity"] == "Observations")
    assert by_org["organisation_id"] == org_id
    assert by_org["detail"]["deleted_by_class"] == {"restricted": 120, "personal": 160}


def test_a_datastream_wholly_expired_is_left_empty_with_no_latest_value(
        database: Database, settings: Settings) -> None:
    """When every Observation of a Datastream is past its period, the latest value, count and
    time ranges are cleared with them."""
    ids = _streams(database)
    with database.begin() as conn:
        data_classes.set_policy(conn, "tests", ids["public"], data_class=None,
                                retention_days=1, purpose=None)
    retention.purge(database, settings, NOW + 30 * 24 * HOUR)
    with database.connect() as conn:
        stream = conn.execute(select(datastreams).where(
            datastreams.c.id == ids["public"])).mappings().one()
    assert ids["public"] not in _counts(database)
    assert stream["observation_count"] == 0 and stream["latest_observation_id"] is None
    assert stream["phenomenon_time_start"] is None and stream["latest_phenomenon_time"] is None


@pytest.mark.parametrize("text", ["personal=x", "secret=10", "personal=0"])
def test_bad_class_defaults_say_how_to_write_them(settings: Settings, text: str) -> None:
    """A retention_class_days setting that is not class=days with a known class and positive
    days is refused with how to write it."""
    from placehub.errors import BadRequest

    with pytest.raises(BadRequest):
        retention.class_defaults(settings.replace(retention_class_days=text))


def test_the_schedule_purges_once_a_day_after_the_hour(database: Database,
                                                       settings: Settings) -> None:
    """The serve-time schedule runs the purge after retention_purge_hour, once per UTC day,
    and not at all with -1; each run also keeps a measurement of the forecast alert rules."""
    times = iter([NOW.replace(hour=2), NOW.replace(hour=3), NOW.replace(hour=9),
                  NOW.replace(hour=3) + 24 * HOUR])
    schedule = PurgeSchedule(database, settings.replace(retention_purge_hour=3),
                             clock=lambda: next(times))
    assert schedule.run_if_due() is None
    assert schedule.run_if_due() is not None
    assert schedule.run_if_due() is None
    assert schedule.run_if_due() is not None
    with database.connect() as conn:  # each day's run also measures the forecast alert rules
        measured = runs.list_runs(conn, runs.ALERT_RULES)
    assert [r["reference"] for r in measured] == ["live measurement"] * 2
    assert measured[0]["started_at"] == NOW.replace(hour=3) + 24 * HOUR
    off = PurgeSchedule(database, settings.replace(retention_purge_hour=-1),
                        clock=lambda: NOW)
    assert off.run_if_due() is None


def test_the_purge_command_dry_runs_then_deletes_and_says_so(database: Database,
                                                             settings: Settings) -> None:
    """'placehub retention purge --dry-run --json' reports the expired Observation and keeps
    it; without --dry-run it is deleted and the newer one stays."""
    import json

    from typer.testing import CliRunner

    from placehub.cli import app

    now = datetime.now(UTC)
    with database.begin() as conn:
        stream = make_datastream(conn, name="Bin 9 fill level")["datastream"]
        write_observations(conn, [NewObservation(stream, now - timedelta(days=40), 0.8),
                                  NewObservation(stream, now - timedelta(days=1), 0.2)])
        data_classes.set_policy(conn, "tests", stream, data_class=None, retention_days=30,
                                purpose=None)
    base = ["--database-url", settings.database_url, "retention", "purge"]
    dry = CliRunner().invoke(app, [*base, "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.output)
    assert report["dry_run"] is True and report["observations"] == 1
    assert [d["datastream_id"] for d in report["datastreams"]] == [stream]
    assert _counts(database) == {stream: 2}
    done = CliRunner().invoke(app, base)
    assert done.exit_code == 0, done.output
    assert "deleted 1 Observations from 1 Datastreams" in " ".join(done.output.split())
    assert _counts(database) == {stream: 1}
    bad = CliRunner().invoke(app, [*base, "--batch", "0"])
    assert bad.exit_code == 1 and "at least 1 row" in bad.output


def test_serve_runs_the_purge_schedule_while_it_serves(tmp_path: object,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The app 'placehub serve' hands to uvicorn starts the daily purge when it starts and
    stops it when it stops."""
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    import placehub.cli as placehub_cli

    served: list[object] = []
    monkeypatch.setattr(placehub_cli.uvicorn, "run",
                        lambda application, **_: served.append(application))
    url = f"sqlite:///{tmp_path}/serve.sqlite3"
    result = CliRunner().invoke(placehub_cli.app, ["--database-url", url, "serve"])
    assert result.exit_code == 0, result.output
    (application,) = served
    with TestClient(application):  # type: ignore[arg-type]
        schedule = application.state.purge_schedule  # type: ignore[attr-defined]
        assert isinstance(schedule, PurgeSchedule)
        assert schedule._thread is not None and schedule._thread.is_alive()
    assert not schedule._thread.is_alive()


def test_a_failed_scheduled_purge_is_tried_again_the_same_day(database: Database,
                                                               settings: Settings) -> None:
    """When the day's purge fails (here a bad class default), the next check that day runs it
    again once the cause is fixed, and then not again that day."""
    from placehub.errors import BadRequest

    times = iter([NOW.replace(hour=4), NOW.replace(hour=5), NOW.replace(hour=6)])
    schedule = PurgeSchedule(database, settings.replace(retention_purge_hour=3,
                                                        retention_class_days="personal=x"),
                             clock=lambda: next(times))
    with pytest.raises(BadRequest):
        schedule.run_if_due()
    schedule.settings = settings.replace(retention_purge_hour=3)
    assert schedule.run_if_due() is not None
    assert schedule.run_if_due() is None


def test_uneven_readings_are_purged_exactly_in_small_batches(database: Database,
                                                             settings: Settings) -> None:
    """A burst of 200 readings in one hour beside sparse daily ones (same period, batches of
    25): every expired Observation goes, none newer, and progress counts up to the total."""
    with database.begin() as conn:
        burst = make_datastream(conn, name="Bin 7 fill level")["datastream"]
        sparse = make_datastream(conn, name="Bin 8 fill level")["datastream"]
        rows = [NewObservation(burst, NOW - 50 * 24 * HOUR + n * timedelta(seconds=18),
                               0.1 + n / 1000) for n in range(200)]
        rows += [NewObservation(sparse, NOW - n * 24 * HOUR, 0.5 + n / 100) for n in range(60)]
        rows += [NewObservation(burst, NOW - n * 24 * HOUR, 0.2) for n in range(5)]
        write_observations(conn, rows)
        for stream in (burst, sparse):
            data_classes.set_policy(conn, "tests", stream, data_class=None, retention_days=10,
                                    purpose=None)
    seen: list[int] = []
    report = retention.purge(database, settings, NOW, batch=25, progress=seen.append)
    # Expired: older than 10 days, i.e. the burst and days 11..59 of the sparse one.
    assert {s.datastream_id: s.expired for s in report.streams if s.expired} == {
        burst: 200, sparse: 49}
    assert seen == sorted(seen) and seen[-1] == 249 and len(seen) > 2
    assert _counts(database) == {burst: 5, sparse: 11}
    with database.connect() as conn:
        oldest = conn.execute(select(func.min(observations.c.phenomenon_time_start))).scalar()
        counts = dict(conn.execute(select(datastreams.c.id, datastreams.c.observation_count)
                                   .where(datastreams.c.id.in_([burst, sparse]))).all())
    assert oldest >= NOW - 10 * 24 * HOUR and counts == {burst: 5, sparse: 11}
