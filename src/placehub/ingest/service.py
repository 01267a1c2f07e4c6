"""The running ingest machinery of one app: journal writer (or JetStream publisher), processing
worker, MQTT subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from placehub.config import Settings
from placehub.db import Database
from placehub.ingest.integrations import WebhookAuthenticator
from placehub.ingest.journal import JournalWriter
from placehub.ingest.processing import ProcessingWorker, RetryPolicy
from placehub.ingest.stream import StreamSettings, UplinkPublisher, UplinkSink

log = logging.getLogger(__name__)


class IngestService:
    """Started with the app (lifespan) and stopped with it; created lazily otherwise."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        extra = settings.ingest_profiles_dir or None
        self.worker = (
            ProcessingWorker(
                database, extra, busy=self._webhooks_busy,
                policy=RetryPolicy(max_attempts=max(1, settings.ingest_max_attempts)),
            )
            if settings.ingest_process and not settings.nats_url
            else None
        )
        self.writer = JournalWriter(database, on_commit=self.worker.wake if self.worker else None)
        # With NATS, uplinks go to JetStream and 'placehub worker' processes store them.
        self.publisher = (
            UplinkPublisher(StreamSettings.from_settings(settings)) if settings.nats_url else None
        )
        self.sink: UplinkSink = self.publisher or self.writer
        self.authenticator = WebhookAuthenticator(database)
        self.mqtt_tasks: list[asyncio.Task[Any]] = []
        self.mqtt_subscriptions: list[Any] = []
        self.started = False

    def _webhooks_busy(self) -> bool:
        return time.monotonic() - self.writer.last_commit < 0.25

    def start(self) -> None:
        if self.started:
            return
        self.writer.start()
        if self.worker is not None:
            self.worker.start()
            self.worker.wake()  # pick up entries left pending by a crash
        self.started = True

    async def start_mqtt(self) -> None:
        from placehub.ingest.mqtt import run_subscription, subscriptions_from_settings

        for subscription in subscriptions_from_settings(self.settings):
            self.mqtt_subscriptions.append(subscription)
            self.mqtt_tasks.append(asyncio.create_task(run_subscription(subscription, self.sink)))
            log.info("LoRaWAN MQTT ingest: %s on %s", subscription.topic, subscription.url)

    async def stop_mqtt(self) -> None:
        for task in self.mqtt_tasks:
            task.cancel()
        for task in self.mqtt_tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.mqtt_tasks.clear()
        if self.publisher is not None:
            with contextlib.suppress(Exception):
                await self.publisher.close()

    def stop(self) -> None:
        self.writer.stop()
        if self.worker is not None:
            self.worker.stop()
        self.started = False
