"""MQTT subscribers for The Things Stack and ChirpStack that reconnect and resubscribe themselves.

TTS publishes uplinks on ``v3/{app}@{tenant}/devices/{device}/up`` (QoS 0 only); ChirpStack v4 on
``application/{application_id}/device/{dev_eui}/event/{up|join|status|log}``. Each message goes
through the same adapter and journal as the webhooks, so a message arriving both ways is stored
once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlparse

import aiomqtt

from placehub.config import Settings
from placehub.errors import BadRequest
from placehub.ingest.adapters import parse_message
from placehub.ingest.journal import JournalWriter

log = logging.getLogger(__name__)

DEFAULT_TOPICS = {"tts": "v3/+/devices/+/+", "chirpstack": "application/+/device/+/event/+"}


@dataclass
class Subscription:
    network: str
    topic: str
    url: str
    username: str | None = None
    password: str | None = None
    stats: dict[str, int] = field(
        default_factory=lambda: {"messages": 0, "stored": 0, "rejected": 0, "connections": 0}
    )


def subscriptions_from_settings(settings: Settings) -> list[Subscription]:
    """The LoRaWAN subscriptions configured by PLACEHUB_INGEST_MQTT_TOPICS on PLACEHUB_MQTT_URL."""
    spec = (settings.ingest_mqtt_topics or "").strip()
    if not spec or not settings.mqtt_url:
        return []
    subscriptions = []
    for item in spec.split(","):
        network, _, topic = item.strip().partition(":")
        if network not in DEFAULT_TOPICS:
            raise ValueError(
                f"PLACEHUB_INGEST_MQTT_TOPICS item {item!r}: start with tts: or chirpstack:"
            )
        subscriptions.append(
            Subscription(
                network,
                topic or DEFAULT_TOPICS[network],
                settings.mqtt_url,
                settings.ingest_mqtt_username or None,
                settings.ingest_mqtt_password or None,
            )
        )
    return subscriptions


def event_of(network: str, topic: str) -> str | None:
    """Which event a topic carries, or None for topics placehub does not ingest."""
    last = topic.rsplit("/", 1)[-1]
    if network == "chirpstack":
        return last if last in ("up", "join", "status", "log") else None
    return {"up": "up", "join": "join"}.get(last)


async def handle_message(
    subscription: Subscription, writer: JournalWriter, topic: str, payload: bytes
) -> bool:
    """Journal one MQTT message; False (and a log line) when it is not a usable message."""
    subscription.stats["messages"] += 1
    event = event_of(subscription.network, topic)
    if event is None:
        return False
    try:
        body = json.loads(payload)
        entry = parse_message(subscription.network, body, event, "mqtt", datetime.now(UTC))
    except (ValueError, BadRequest) as error:
        subscription.stats["rejected"] += 1
        log.warning("MQTT %s: message on %s refused: %s", subscription.network, topic, error)
        return False
    await asyncio.wrap_future(writer.submit(entry))
    subscription.stats["stored"] += 1
    return True


async def run_subscription(
    subscription: Subscription,
    writer: JournalWriter,
    ready: asyncio.Event | None = None,
    max_backoff: float = 30.0,
) -> None:
    """Receive forever; on any broker trouble wait a little, reconnect and subscribe again."""
    parsed = urlparse(subscription.url)
    backoff = 0.5
    while True:
        try:
            async with aiomqtt.Client(
                hostname=parsed.hostname or "127.0.0.1",
                port=parsed.port or 1883,
                username=subscription.username or parsed.username,
                password=subscription.password or parsed.password,
            ) as client:
                await client.subscribe(
                    subscription.topic, qos=1 if subscription.network == "chirpstack" else 0
                )
                subscription.stats["connections"] += 1
                backoff = 0.5
                if ready is not None:
                    ready.set()
                async for message in client.messages:
                    await handle_message(
                        subscription, writer, str(message.topic), bytes(message.payload)
                    )
        except aiomqtt.MqttError as error:
            log.warning(
                "MQTT %s at %s: %s; reconnecting in %.1f s",
                subscription.network,
                subscription.url,
                error,
                backoff,
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff)
