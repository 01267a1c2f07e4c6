"""Status updates to reporters: the outbox ``service_request_notices``, sent by e-mail through
the alerts' ``EmailSender`` (the same SMTP settings), retried with the alerts' backoff."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from placehub.alerts import notify
from placehub.alerts.clock import Clock, SystemClock
from placehub.db import Database
from placehub.reports.tables import service_request_notices

log = logging.getLogger(__name__)


def deliver_notices(database: Database, now: datetime, sender: notify.Sender,
                    limit: int = 100) -> dict[str, int]:
    """Send the notices that are due; counts of delivered, retrying and failed."""
    with database.connect() as conn:
        due = conn.execute(select(service_request_notices).where(
            service_request_notices.c.status == "pending",
            service_request_notices.c.next_attempt_at <= now)
            .order_by(service_request_notices.c.next_attempt_at,
                      service_request_notices.c.id).limit(limit)).all()
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    for notice in due:
        attempts = notice.attempts + 1
        values: dict[str, Any]
        try:
            sender(notice, None)
        except Exception as error:  # noqa: BLE001 - any failure is recorded and retried
            failed = attempts >= notify.MAX_ATTEMPTS
            values = {"attempts": attempts, "last_error": f"{type(error).__name__}: {error}"[:2000],
                      "status": "failed" if failed else "pending",
                      "next_attempt_at": None if failed else now + notify.retry_delay(attempts)}
            counts["failed" if failed else "retrying"] += 1
            log.warning("report notice %s attempt %s failed: %s", notice.id, attempts, error)
        else:
            values = {"attempts": attempts, "status": "delivered", "delivered_at": now,
                      "next_attempt_at": None}
            counts["delivered"] += 1
        with database.begin() as conn:
            conn.execute(update(service_request_notices)
                         .where(service_request_notices.c.id == notice.id).values(**values))
    return counts


class NoticeTimer:
    """Sends due notices every ``alerts_tick_seconds`` in a background thread."""

    def __init__(self, database: Database, settings: Any, clock: Clock | None = None,
                 sender: notify.Sender | None = None) -> None:
        self.database = database
        self.interval = int(settings.alerts_tick_seconds)
        self.clock = clock or SystemClock()
        self.sender = sender or notify.EmailSender(settings.smtp_url,
                                                   settings.alerts_from_address)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> dict[str, int]:
        return deliver_notices(self.database, self.clock.now(), self.sender)

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(self.interval):
                try:
                    self.run_once()
                except Exception:  # noqa: BLE001 - the timer must survive a bad round
                    log.exception("report notice round failed")

        self._thread = threading.Thread(target=loop, name="placehub-report-notices",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
