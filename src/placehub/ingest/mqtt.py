"""MQTT subscribers for The Things Stack and ChirpStack that reconnect and resubscribe themselves.

TTS publishes uplinks on ``v3/{app}@{tenant}/devices/{device}/up`` (QoS 0 only); ChirpStack v4 on
``application/{application_id}/device/{dev_eui}/event/{up|join|status|log}``. Each message goes
through the same adapter and journal as the webhooks, so a message arriving both ways is stored
once.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import aiomqtt

from placehub.config import Settings
from placehub.errors import PlacehubError
from placehub.ingest.adapters import parse_message
from placehub.ingest.integrations import Integration, stamp
from placehub.ingest.stream import UplinkSink
from placehub.ingest.validation import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_SKEW,
    parse_body,
    too_large,
)

log = logging.getLogger(__name__)

DEFAULT_TOPICS = {"tts": "v3/+/devices/+/+", "chirpstack": "application/+/device/+/event/+"}


@dataclass
class Subscription:
    network: str
    topic: str
    url: str
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None  # for mqtts:// brokers with a private CA
    tls_insecure: bool = False  # mqtts:// without checking the certificate (tests only)
    organisation_id: int | None = None  # the organisation whose devices it may write to
    max_skew: timedelta = DEFAULT_MAX_SKEW
    accept_simulated: bool = False
    stats: dict[str, int] = field(
        default_factory=lambda: {
            "messages": 0, "stored": 0, "rejected": 0, "failed": 0, "connections": 0
        }
    )


def tls_context(subscription: Subscription) -> ssl.SSLContext | None:
    """The TLS settings for an mqtts:// URL (None for plain mqtt://).

    The broker's certificate and host name are checked against the system's CAs or
    ``ca_file``; ``tls_insecure`` turns the check off with a warning, since the MQTT password
    then goes to whoever answers.
    """
    scheme = urlparse(subscription.url).scheme
    if scheme in ("mqtt", "tcp", ""):
        return None
    if scheme not in ("mqtts", "ssl", "tls"):
        raise ValueError(f"MQTT URL {subscription.url!r}: use mqtt:// or mqtts://")
    context = ssl.create_default_context(cafile=subscription.ca_file or None)
    if subscription.tls_insecure:
        log.warning(
            "MQTT %s: TLS certificate NOT verified (insecure option): anyone in between can "
            "read the password", subscription.url,
        )
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


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
                ca_file=settings.ingest_mqtt_ca_file or None,
                tls_insecure=settings.ingest_mqtt_tls_insecure,
                max_skew=timedelta(seconds=settings.ingest_max_clock_skew_seconds),
                accept_simulated=settings.ingest_accept_simulated,
            )
        )
    return subscriptions


def event_of(network: str, topic: str) -> str | None:
    """Which event a topic carries, or None for topics placehub does not ingest."""
    last = topic.rsplit("/", 1)[-1]
    if network == "chirpstack":
        return last if last in ("up", "join", "status", "log", "location") else None
    return {"up": "up", "join": "join", "location/solved": "location"}.get(
        "location/solved" if topic.endswith("/location/solved") else last
    )


async def handle_message(
    subscription: Subscription, sink: UplinkSink, topic: str, payload: bytes
) -> bool:
    """Journal (or publish) one MQTT message; False (and a log line) when it is not stored.

    Never raises for a message: a bad one is refused, and a journal failure is logged and
    counted, so the subscription carries on with the next message.
    """
    subscription.stats["messages"] += 1
    event = event_of(subscription.network, topic)
    if event is None:
        return False
    try:
        if len(payload) > DEFAULT_MAX_BODY_BYTES:
            raise too_large(len(payload), DEFAULT_MAX_BODY_BYTES)
        entry = parse_message(
            subscription.network, parse_body(payload), event, "mqtt", datetime.now(UTC),
            subscription.max_skew,
        )
        if entry is None:
            return False
        stamp(
            entry,
            Integration(f"mqtt:{subscription.url}", subscription.organisation_id),
            subscription.accept_simulated,
        )
        await sink.accept(entry)
    except PlacehubError as error:
        kind = "rejected" if error.status_code < 500 else "failed"
        subscription.stats[kind] += 1
        log.warning("MQTT %s: message on %s not stored: %s", subscription.network, topic,
                    error.message)
        return False
    except Exception:  # noqa: BLE001 - one message never stops the subscription
        subscription.stats["failed"] += 1
        log.exception("MQTT %s: message on %s not stored", subscription.network, topic)
        return False
    subscription.stats["stored"] += 1
    return True


async def run_subscription(
    subscription: Subscription,
    sink: UplinkSink,
    ready: asyncio.Event | None = None,
    max_backoff: float = 30.0,
) -> None:
    """Receive forever; on any broker trouble wait a little, reconnect and subscribe again."""
    parsed = urlparse(subscription.url)
    tls = tls_context(subscription)
    backoff = 0.5
    while True:
        try:
            async with aiomqtt.Client(
                hostname=parsed.hostname or "127.0.0.1",
                port=parsed.port or (8883 if tls else 1883),
                username=subscription.username or parsed.username,
                password=subscription.password or parsed.password,
                tls_context=tls,
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
                        subscription, sink, str(message.topic), bytes(message.payload)
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
