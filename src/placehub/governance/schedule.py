"""The daily jobs while ``placehub serve`` runs: once a day, after ``retention_purge_hour``
(UTC), in a background thread that never holds up requests, the retention purge and then the
measurement of the forecast alert rules on the hub's own alerts (their transparency record's
live precision and recall)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI

from placehub.alerts import forecast_scoring
from placehub.config import Settings
from placehub.db import Database
from placehub.governance import retention
from placehub.lifespan import while_serving

log = logging.getLogger(__name__)
CHECK_SECONDS = 300.0


class PurgeSchedule:
    """Runs ``retention.purge`` and the forecast alert measurement once per UTC day after the
    configured hour."""

    def __init__(self, database: Database, settings: Settings,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 check_seconds: float = CHECK_SECONDS) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        self.check_seconds = check_seconds
        self.last_day: date | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def due(self, at: datetime) -> bool:
        """Whether a purge is due at ``at``: past the hour and not yet run that day."""
        hour = int(self.settings.retention_purge_hour)
        return hour >= 0 and at.hour >= hour and self.last_day != at.date()

    def run_if_due(self) -> retention.PurgeReport | None:
        at = self.clock()
        if not self.due(at):
            return None
        report = retention.purge(self.database, self.settings, at, actor="retention schedule")
        self.last_day = at.date()  # only once it succeeded: a failed purge is tried again
        log.info("retention purge: %d Observations, %d journal entries in %.1f s",
                 report.observations_expired, report.journal_expired, report.seconds)
        try:
            run_id, _ = forecast_scoring.record_measurement(self.database, at)
            log.info("forecast alert rules measured: run record %d", run_id)
        except Exception:  # the next day measures again; the purge is not repeated for it
            log.exception("measuring the forecast alert rules failed")
        return report

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_if_due()
            except Exception:  # a failed purge is retried next check, never stops serving
                log.exception("retention purge failed")
            self._stop.wait(self.check_seconds)

    def start(self) -> None:
        if int(self.settings.retention_purge_hour) < 0:
            return
        self._thread = threading.Thread(target=self._loop, name="retention-purge", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def attach(app: FastAPI) -> None:
    """Run the daily purge while ``app`` serves (called by ``placehub serve``, not by every
    app: tests and embedded apps purge only when asked)."""

    def start(application: Any) -> None:
        application.state.purge_schedule = PurgeSchedule(application.state.database,
                                                         application.state.settings)
        application.state.purge_schedule.start()

    while_serving(app, start, lambda application: application.state.purge_schedule.stop())


__all__ = ["PurgeSchedule", "attach"]
