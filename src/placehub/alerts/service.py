"""The running alert service: the engine subscribed to a database, and its timer thread.

The timer (every ``alerts_tick_seconds``) judges silent sensors and hold-offs, saves rule
states, queues the daily digests and sends notifications that are due (with their retries).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from placehub.alerts import notify
from placehub.alerts.clock import Clock, SystemClock
from placehub.alerts.engine import RuleEngine, attach_engine
from placehub.alerts.ownership import AlertLease
from placehub.db import Database

log = logging.getLogger(__name__)


class AlertService:
    """Rule engine + timer + notification sending for one database."""

    def __init__(self, database: Database, settings: Any, clock: Clock | None = None,
                 senders: dict[str, notify.Sender] | None = None) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock or SystemClock()
        shared = bool(getattr(settings, "alerts_shared_state", False))
        self.engine: RuleEngine = attach_engine(database, self.clock, shared=shared)
        # With several processes only the lease holder runs the timer.
        self.lease = AlertLease(database) if shared else None
        self.senders = senders or notify.default_senders(settings)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> dict[str, int]:
        """One round of timer work; returns the notification counts (none when another
        process holds the alert lease)."""
        if self.lease is not None and not self.lease.held():
            return {"delivered": 0, "retrying": 0, "failed": 0}
        self.engine.tick()
        now = self.clock.now()
        with self.database.begin() as conn:
            notify.queue_digests(conn, now, int(self.settings.alerts_digest_hour))
        return notify.deliver_due(self.database, now, self.senders)

    def start(self) -> None:
        interval = int(self.settings.alerts_tick_seconds)
        if interval <= 0 or self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.run_once()
                except Exception:  # noqa: BLE001 - the timer must survive a bad round
                    log.exception("alert timer round failed")

        self._thread = threading.Thread(target=loop, name="placehub-alerts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.engine.detach()
        if self.lease is not None:
            self.lease.release()
        try:
            self.engine.save_states()
        except Exception:  # noqa: BLE001 - shutting down: log, never block the exit
            log.exception("saving alert rule states failed")
