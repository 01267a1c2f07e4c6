"""Change-in-routine checks while ``placehub serve`` runs: every home every 15 minutes, in a
background thread that never holds up requests."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI

from placehub.care import checks, service
from placehub.db import Database
from placehub.lifespan import while_serving

log = logging.getLogger(__name__)
EVERY_SECONDS = 900.0


def check_all(database: Database, at: datetime) -> list[checks.CheckResult]:
    """Check every home at ``at`` in one transaction (``placehub care check`` does the same)."""
    with database.begin() as conn:
        return [checks.check_home(conn, resident, at)
                for resident in service.residents_for(conn, service.INSTALLATION)]


class CareSchedule:
    """Runs ``check_all`` every ``every_seconds``."""

    def __init__(self, database: Database,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 every_seconds: float = EVERY_SECONDS) -> None:
        self.database = database
        self.clock = clock
        self.every_seconds = every_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                results = check_all(self.database, self.clock())
                opened = sum(r.opened for r in results)
                if opened:
                    log.info("care check: %d change-in-routine alerts opened", opened)
            except Exception:  # a failed check is tried again next time, never stops serving
                log.exception("care check failed")
            self._stop.wait(self.every_seconds)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="care-check", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def attach(app: FastAPI) -> None:
    """Check the homes while ``app`` serves (called by ``placehub serve`` only)."""

    def start(application: Any) -> None:
        application.state.care_schedule = CareSchedule(application.state.database)
        application.state.care_schedule.start()

    while_serving(app, start, lambda application: application.state.care_schedule.stop())
