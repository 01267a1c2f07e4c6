"""First run: the one-time setup link while no administrator exists, replaced at each start,
refused once old or used, safe when two processes start together; and the setup page."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from placehub.access import first_run
from placehub.db import Database
from placehub.errors import Forbidden, NotFound
from tests.web.conftest import csrf_of

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_each_start_makes_a_new_link_that_works_for_a_day(database: Database) -> None:
    """A new offer replaces the earlier link; the current one works for 24 hours and no
    longer; an unknown or empty token is refused with what to do."""
    with database.begin() as conn:
        first = first_run.offer_setup(conn, AT)
        second = first_run.offer_setup(conn, AT + timedelta(minutes=5))
    assert first and second and first != second
    with database.connect() as conn:
        first_run.check_setup_token(conn, second, AT + timedelta(hours=23))
        for wrong in (first, "", "not-a-token"):
            with pytest.raises(Forbidden, match="not the current one"):
                first_run.check_setup_token(conn, wrong, AT + timedelta(minutes=6))
        with pytest.raises(Forbidden, match="older than 24 hours"):
            first_run.check_setup_token(conn, second, AT + timedelta(hours=24, minutes=5))


def test_two_processes_starting_together_both_start(pg_database: Database) -> None:
    """Two starts offering a link at the same moment on PostgreSQL (two transactions, the
    second waiting on the first's row) both succeed, and the link of the one that stored last
    works."""
    database = pg_database
    results: dict[str, str | None] = {}
    first_stored = threading.Event()

    def second_start() -> None:
        first_stored.wait(10)
        with database.begin() as conn:
            results["second"] = first_run.offer_setup(conn, AT)

    thread = threading.Thread(target=second_start)
    thread.start()
    with database.begin() as conn:
        results["first"] = first_run.offer_setup(conn, AT)
        first_stored.set()
        thread.join(0.5)  # the second is now waiting on the first's row, or has deleted none
    thread.join(10)
    assert results["first"] and results["second"]
    with database.connect() as conn:
        first_run.check_setup_token(conn, results["second"], AT + timedelta(hours=1))
        with pytest.raises(Forbidden):
            first_run.check_setup_token(conn, results["first"], AT + timedelta(hours=1))


def test_the_setup_page_creates_the_first_admin_once(client: TestClient,
                                                     database: Database) -> None:
    """The link's page creates the first administrator and signs them in; a form with
    problems says which field to fix; afterwards the link is refused and no new one is made."""
    with database.begin() as conn:
        token = first_run.offer_setup(conn)
    assert token
    page = client.get(f"/setup?token={token}")
    assert page.status_code == 200 and "Set up placehub" in page.text
    form = {"csrf_token": csrf_of(page.text), "token": token, "organisation": "Rutland County "
            "Council", "username": "ada", "display_name": "Ada", "password": "long enough 1",
            "confirm": "long enough 2"}
    wrong = client.post("/setup", data=form, follow_redirects=False)
    assert wrong.status_code == 400 and "Enter the same password twice" in wrong.text
    done = client.post("/setup", data={**form, "confirm": form["password"]},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/overview"
    assert client.get("/overview").status_code == 200
    with database.begin() as conn:
        assert first_run.has_admin(conn)
        assert first_run.offer_setup(conn) is None
        with pytest.raises(NotFound, match="has an administrator already"):
            first_run.check_setup_token(conn, token)
    assert client.get(f"/setup?token={token}").status_code == 404
