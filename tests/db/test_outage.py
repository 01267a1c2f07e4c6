"""A database outage: recognised apart from bugs, and logged once per interval."""

import logging
import sqlite3

import pytest
from sqlalchemy import exc

from placehub.db.outage import OutageLog, database_unavailable


def _operational(orig: Exception) -> exc.OperationalError:
    return exc.OperationalError("SELECT 1", {}, orig)


def test_outages_and_bugs_are_told_apart() -> None:
    """A locked or missing SQLite file and a lost PostgreSQL connection are outages; a malformed
    query is not."""
    import psycopg

    assert database_unavailable(_operational(sqlite3.OperationalError("database is locked")))
    assert database_unavailable(_operational(sqlite3.OperationalError(
        "unable to open database file")))
    assert not database_unavailable(_operational(sqlite3.OperationalError("malformed JSON")))
    assert database_unavailable(_operational(psycopg.OperationalError("connection refused")))
    assert database_unavailable(exc.TimeoutError("QueuePool limit reached"))
    assert not database_unavailable(ValueError("x"))


def test_one_log_line_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    """1,000 refused requests in 10 s log one line; the next interval logs one more with the
    count of requests refused since."""
    now = [0.0]
    log = OutageLog(interval=10.0, clock=lambda: now[0])
    error = _operational(sqlite3.OperationalError("unable to open database file"))
    with caplog.at_level(logging.ERROR, logger="placehub.db"):
        logged = [log.note(error) for _ in range(1000)]
        now[0] = 10.5
        logged.append(log.note(error))
    assert logged.count(True) == 2 and logged[0] and logged[-1]
    assert len(caplog.records) == 2
    assert "(1000 request(s) since the last line)" in caplog.records[1].getMessage()
    assert "unable to open database file" in caplog.records[0].getMessage()
