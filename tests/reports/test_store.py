"""Service requests in storage: attaching to the nearest asset, the alert they open, closing by
an officer, by the alert or by a done stop, the mandatory stop in the next round, the notice to
the reporter, spam-safe text and the retention purge (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from placehub.access import service
from placehub.alerts import lifecycle, notify
from placehub.alerts.tables import alerts
from placehub.config import Settings
from placehub.db import Database
from placehub.errors import BadRequest, Forbidden
from placehub.reports import notices, store
from placehub.reports.tables import service_request_notices, service_requests
from placehub.rounds.service import PlanRequest, mark_stop, prepare_plan
from tests.reports.conftest import Mailbox
from tests.web.seed import OAKHAM, Seeded

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
BIN_001 = (OAKHAM[0] + 0.0032, OAKHAM[1])  # the seeded public bin "Bin 001 Oakham"
RULES = store.ReportRules(attach_distance_m=50.0, mandatory_stops=True)


def report(code: str = "overflowing_bin", metres_north: float = 15.0, **extra: object
           ) -> store.NewReport:
    """A report ``metres_north`` of Bin 001."""
    return store.NewReport(service_code=code, lon=BIN_001[0],
                           lat=BIN_001[1] + metres_north / 111_320, **extra)  # type: ignore[arg-type]


def editor(database: Database) -> service.Principal:
    with database.connect() as conn:
        return service.principal_for_user(conn, service.user_id(conn, "officer"))


def test_a_report_attaches_to_the_nearest_bin_and_opens_one_alert_for_repeats(
        database: Database, seeded: Seeded) -> None:
    """A report 15 m from a bin is attached to it with an alert; a second report of the same
    problem joins that alert; one 200 m away stays unattached and opens none."""
    with database.begin() as conn:
        first = store.create_request(conn, report(description="Overflowing"), RULES, NOW)
        second = store.create_request(conn, report(metres_north=-10), RULES, NOW)
        far = store.create_request(conn, report(metres_north=-200), RULES, NOW)
        rows = {r.id: r for r in conn.execute(select(service_requests))}
        opened = conn.execute(select(alerts)).all()
    bin_id = seeded.things["Bin 001 Oakham"]
    assert rows[first].thing_id == bin_id and rows[first].distance_m == pytest.approx(15, abs=1)
    assert rows[first].mandatory_stop is True
    assert rows[second].alert_id == rows[first].alert_id is not None
    assert rows[far].thing_id is None and rows[far].alert_id is None
    assert rows[far].organisation_id == seeded.organisation_id
    assert len(opened) == 1 and opened[0].thing_id == bin_id
    assert opened[0].rule_key == store.REPORT_RULE_KEY and "Bin 001 Oakham" in opened[0].message


def test_resolving_the_alert_closes_its_reports_and_queues_the_reporters_notice(
        database: Database, seeded: Seeded, smtp: tuple[str, Mailbox]) -> None:
    """Resolving the alert by hand closes both reports; the one with an e-mail address gets a
    notice, sent by the alerts' SMTP sender."""
    store.install()
    with database.begin() as conn:
        first = store.create_request(conn, report(email="ann@example.org"), RULES, NOW)
        store.create_request(conn, report(metres_north=5), RULES, NOW)
        alert_id = conn.execute(select(service_requests.c.alert_id).where(
            service_requests.c.id == first)).scalar()
        lifecycle.resolve(conn, editor(database), int(alert_id), NOW + timedelta(hours=2))
        rows = conn.execute(select(service_requests)).all()
        queued = conn.execute(select(service_request_notices)).all()
    assert {r.status for r in rows} == {"closed"}
    assert all(r.status_notes.startswith("Dealt with by the council") for r in rows)
    assert [n.target for n in queued] == ["ann@example.org"]
    url, mailbox = smtp
    sent = notices.deliver_notices(database, NOW + timedelta(hours=2),
                                   notify.EmailSender(url, "council@example.org"))
    assert sent == {"delivered": 1, "retrying": 0, "failed": 0}
    text = mailbox.messages[0].content.decode()
    assert f"Your report {first} has been dealt with" in text
    assert mailbox.messages[0].rcpt_tos == ["ann@example.org"]


def test_an_officer_closing_a_report_needs_write_rights_and_a_note(
        database: Database, seeded: Seeded) -> None:
    """An outsider is refused, an empty note is refused, the editor's note is the status note
    and the alert is resolved with it."""
    with database.begin() as conn:
        request_id = store.create_request(conn, report(), RULES, NOW)
        outsider = service.principal_for_user(conn, service.user_id(conn, "outsider"))
        with pytest.raises(Forbidden):
            store.close_request(conn, outsider, request_id, NOW, "done")
        with pytest.raises(BadRequest, match="say what was done"):
            store.close_request(conn, editor(database), request_id, NOW, "  ")
        store.close_request(conn, editor(database), request_id, NOW, "Emptied at 10:15")
        row = store.request_row(conn, request_id)
        alert = conn.execute(select(alerts).where(alerts.c.id == row.alert_id)).first()
    assert (row.status, row.status_notes, row.closed_by) == ("closed", "Emptied at 10:15",
                                                             "officer")
    assert alert is not None and alert.status == "resolved"


def test_a_reported_bin_is_a_mandatory_stop_in_the_next_round(
        database: Database, seeded: Seeded, settings: Settings) -> None:
    """The next waste round must visit the reported bin, and says why."""
    store.install()
    now = datetime.now(UTC).replace(microsecond=0)
    bin_id = seeded.things["Bin 001 Oakham"]
    with database.begin() as conn:
        store.create_request(conn, report(), RULES, now)
    with database.connect() as conn:
        inputs = prepare_plan(conn, settings, PlanRequest("waste", now.date(), now,
                                                          seeded.organisation_id))
    chosen = next(c for c in inputs.candidates if c.asset_id == bin_id)
    assert chosen.mandatory and "reported by a resident" in chosen.reason
    assert any("reported by residents" in note for note in inputs.notes)
    with database.connect() as conn:
        assert list(store.requested_stops(conn, None, "litter_bin")) == [bin_id]
        assert store.requested_stops(conn, None, "flowerbed") == {}


def test_a_done_stop_closes_reports_a_visit_puts_right_only(database: Database,
                                                            seeded: Seeded) -> None:
    """``asset_serviced`` (what a done stop calls) closes an overflowing-bin report but not a
    damaged-bin one on the same bin."""
    store.install()
    with database.begin() as conn:
        full = store.create_request(conn, report(), RULES, NOW)
        broken = store.create_request(conn, report("damaged_bin"), RULES, NOW)
        resolved = store.asset_serviced(conn, seeded.things["Bin 001 Oakham"], NOW, "crew 1")
        rows = {r.id: r for r in conn.execute(select(service_requests))}
    assert resolved == 1
    assert rows[full].status == "closed" and "visited on the round by crew 1" in (
        rows[full].status_notes)
    assert rows[broken].status == "open" and rows[broken].mandatory_stop is False


def test_mark_stop_done_closes_the_report(database: Database, seeded: Seeded,
                                          settings: Settings) -> None:
    """Through the rounds concern: a plan's done stop for the bin closes its report."""
    from placehub.rounds.service import save_plan, solve_plan

    store.install()
    now = datetime.now(UTC).replace(microsecond=0)
    bin_id = seeded.things["Bin 001 Oakham"]
    with database.begin() as conn:
        request_id = store.create_request(conn, report(), RULES, now)
    with database.connect() as conn:
        inputs = prepare_plan(conn, settings, PlanRequest("waste", now.date(), now,
                                                          seeded.organisation_id, seed=1,
                                                          runtime_seconds=0.2))
    plan = solve_plan(inputs, settings)
    with database.begin() as conn:
        plan_id = save_plan(conn, plan, seeded.organisation_id, "officer", now)
        from placehub.rounds.tables import rounds_stops

        stop = conn.execute(select(rounds_stops.c.id).where(
            rounds_stops.c.plan_id == plan_id, rounds_stops.c.thing_id == bin_id)).scalar()
        mark_stop(conn, plan_id, int(stop), "done", "", now, "crew 1", "UTC")
        row = store.request_row(conn, request_id)
    assert row.status == "closed" and "crew 1" in row.status_notes


@pytest.mark.parametrize(("field", "value", "says"), [
    ("description", "x" * 2001, "at most 2000"),
    ("description", "cheap http://a.example http://b.example www.c.example", "web links"),
    ("email", "not-an-address", "not an e-mail address"),
])
def test_spam_and_bad_text_are_refused(database: Database, seeded: Seeded, field: str,
                                       value: str, says: str) -> None:
    """Too long, link-stuffed descriptions and bad addresses are refused with what to fix."""
    with database.begin() as conn, pytest.raises(BadRequest, match=says):
        store.create_request(conn, report(**{field: value}), RULES, NOW)


def test_control_characters_are_dropped_from_stored_text(database: Database,
                                                         seeded: Seeded) -> None:
    """Text is kept plain: control characters become spaces, the ends are trimmed."""
    with database.begin() as conn:
        request_id = store.create_request(conn, report(description=" Bin\x00 full\x1b[31m \n"),
                                          RULES, NOW)
        assert store.request_row(conn, request_id).description == "Bin  full [31m"


def test_personal_data_is_for_the_councils_editors_and_erased_after_retention(
        database: Database, seeded: Seeded) -> None:
    """The public view has no e-mail; the editor sees it, a viewer of another council does not
    see the report at all; the purge erases e-mail and photo of reports closed long enough
    ago and keeps the report."""
    from placehub.reports.photos import CleanPhoto

    with database.begin() as conn:
        request_id = store.create_request(conn, report(
            email="ann@example.org", first_name="Ann",
            photo=CleanPhoto(b"\xff\xd8jpeg", "image/jpeg", 1, 1)), RULES, NOW)
        public = store.public_requests(conn, [store.request_row(conn, request_id)])[0]
        officer = store.officer_request(conn, editor(database), request_id)
        outsider = service.principal_for_user(conn, service.user_id(conn, "outsider"))
        with pytest.raises(Exception, match="no report"):
            store.officer_request(conn, outsider, request_id)
        store.close_request(conn, editor(database), request_id, NOW, "Emptied")
        assert store.erase_personal_data(conn, NOW + timedelta(days=29), 30) == 0
        assert store.erase_personal_data(conn, NOW + timedelta(days=31), 30) == 1
        row = store.request_row(conn, request_id)
    assert "ann@example.org" not in str(public) and public["media_url"] is None
    assert officer["reporter"]["email"] == "ann@example.org" and officer["has_photo"]
    assert (row.email, row.first_name, row.photo) == (None, None, None)
    assert row.personal_data_erased_at is not None and row.description == ""
    assert row.status == "closed"


def test_default_window_and_filters_of_find_requests(database: Database,
                                                     seeded: Seeded) -> None:
    """Without dates the last 90 days; service_code and status filter; ids win over dates."""
    with database.begin() as conn:
        old = store.create_request(conn, report(), RULES, NOW - timedelta(days=100))
        new = store.create_request(conn, report("damaged_bin"), RULES, NOW)
        assert [r.id for r in store.find_requests(conn, NOW)] == [new]
        assert [r.id for r in store.find_requests(conn, NOW, ids=[old])] == [old]
        assert store.find_requests(conn, NOW, service_codes=["overflowing_bin"]) == []
        assert [r.id for r in store.find_requests(
            conn, NOW, start=NOW - timedelta(days=200), end=NOW - timedelta(days=50))] == [old]
        with pytest.raises(BadRequest, match="use open, closed"):
            store.find_requests(conn, NOW, status=["pending"])
