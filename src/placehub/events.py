"""An in-process event bus: concerns react to each other's committed changes without imports.

Publishers call ``publish`` after their transaction commits (never inside it, so a subscriber
never sees data that is later rolled back). Topics in use:

- ``observations.written``: a list of ``placehub.sta.observations.WrittenObservation``
- ``locations.changed``: a list of Thing ids whose Location changed
- ``things.changed``: a list of Thing ids created, updated or deleted
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Subscriber = Callable[[Any], None]


class EventBus:
    """Topic -> subscribers; a failing subscriber is logged and does not stop the others."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[Subscriber]] = defaultdict(list)

    def subscribe(self, topic: str, subscriber: Subscriber) -> None:
        self._subscribers[topic].append(subscriber)

    def unsubscribe(self, topic: str, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers[topic]:
            self._subscribers[topic].remove(subscriber)

    def publish(self, topic: str, payload: Any) -> None:
        for subscriber in list(self._subscribers[topic]):
            try:
                subscriber(payload)
            except Exception:  # noqa: BLE001 - one broken subscriber must not break the writer
                log.exception("subscriber %r failed on %s", subscriber, topic)
