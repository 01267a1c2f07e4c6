"""The SensorThings MQTT extension (OGC 18-088 section 14) through an external broker (Mosquitto).

placehub connects to the broker as a client. It publishes notifications on the topics the spec
defines (collections, entities, properties and configured ``$select`` sets) whenever entities
are created or changed, and creates Observations from messages published to its creation
topics, ``placehub/create/<account>/v1.1/Datastreams(id)/Observations`` (also
``.../FeaturesOfInterest(id)/Observations`` and ``.../Observations``).

Creation topics are apart from the notification topics (the spec's creation topics are the same
as its notification topics, so every subscriber would read what writers publish, restricted data
included). ``<account>`` is a broker account, which is one API token (``mqtt_credentials``): the
creation is made as that token's user, with its current roles, and refused when the token was
revoked. The broker's ACL (``placehub mqtt acl``) lets each account publish only under its own
name and nobody but placehub publish notifications. At start placehub probes the broker as an
anonymous client; when that client could publish, placehub logs a warning and refuses every
creation, since the account named in a topic then proves nothing.

Only data every anonymous reader may see is published (the topics are open).

paho-mqtt reconnects by itself (with back-off); subscriptions are renewed in ``on_connect``, so
they come back after every broker restart. Notifications go through a queue and a worker thread:
the writer that triggered them never waits for the broker.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions
from sqlalchemy import Connection, select

from placehub.access.service import ANONYMOUS, Principal, principal_for_token_prefix
from placehub.db import Database
from placehub.errors import BadRequest, PlacehubError
from placehub.json_input import parse_json
from placehub.sta import writes
from placehub.sta.conformance import REQ
from placehub.sta.model import (
    DATASTREAM,
    ENTITIES,
    ENTITIES_BY_NAME,
    ENTITIES_BY_SET,
    Entity,
    visibility_clause,
)
from placehub.sta.mqtt_credentials import CREATION_ROOT, anonymous_publish_probe
from placehub.sta.options import QueryOptions, parse_query_options
from placehub.sta.query import ReadContext, render
from placehub.sta.serialise import Links, entity_json

log = logging.getLogger(__name__)

PREFIX = "v1.1"
CREATION_TOPICS = (f"{CREATION_ROOT}/+/{PREFIX}/+/Observations",
                   f"{CREATION_ROOT}/+/{PREFIX}/Observations")
_CREATION = re.compile(
    rf"^{re.escape(CREATION_ROOT)}/([^/]+)/{re.escape(PREFIX)}/"
    r"(?:(Datastreams|FeaturesOfInterest)\((\d+)\)/)?Observations$")
# How long creations wait for the start-up probe of the broker before being refused.
PROBE_WAIT_SECONDS = 30
_NOTIFY_PROPERTIES = {
    "Thing": ("name", "description", "properties"),
    "Location": ("name", "description", "location", "properties"),
    "Observation": ("result", "phenomenonTime", "resultTime"),
    # Kept current by every write: the spec's own example topic is Datastreams(1)/observedArea.
    "Datastream": ("observedArea", "phenomenonTime", "resultTime"),
}


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker is, and the credentials placehub uses there."""

    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """From ``mqtt://user:password@host:port`` (``mqtts://`` for TLS)."""
        parsed = urlparse(url)
        if parsed.scheme not in {"mqtt", "mqtts", "tcp", "ssl"}:
            raise ValueError(f"mqtt_url {url!r}: use mqtt://host:1883 or mqtts://host:8883")
        tls = parsed.scheme in {"mqtts", "ssl"}
        return cls(parsed.hostname or "127.0.0.1", parsed.port or (8883 if tls else 1883),
                   parsed.username, parsed.password, tls)

    def public_url(self) -> str:
        """The endpoint to advertise: no credentials."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


@dataclass(frozen=True)
class SelectTopic:
    """One ``$select`` set published for one entity type: ``?$select=<text>`` after each of its
    collection topics, with the properties HTTP ``$select`` would give (OGC 18-088 14.2.4)."""

    entity: Entity
    text: str  # as the client subscribes to it, e.g. "phenomenonTime,result"
    select: tuple[str, ...]  # the parsed names (id for @iot.id, ...)


def select_topics(setting: str) -> list[SelectTopic]:
    """The ``$select`` topics of the setting, per entity type.

    Sets are separated by ``;``. ``Datastreams:name,observedArea`` names its entity set; a set
    without one (``phenomenonTime,result``) is published for every entity type that has all
    its names, so ``result`` goes to Observation collections only. A set no entity type can
    answer is a ValueError naming it.
    """
    topics = []
    for part in setting.split(";"):
        set_name, colon, names_text = part.rpartition(":") if ":" in part else ("", "", part)
        names = [n.strip() for n in names_text.split(",") if n.strip()]
        if not names:
            continue
        text = ",".join(names)
        if colon:
            entity = ENTITIES_BY_SET.get(set_name.strip())
            if entity is None:
                raise ValueError(f"sta_mqtt_select_topics: {set_name.strip()!r} is not an entity "
                                 f"set; use one of {', '.join(ENTITIES_BY_SET)}")
            candidates = [entity]
        else:
            candidates = list(ENTITIES)
        chosen = []
        for entity in candidates:
            try:
                options = parse_query_options([("$select", text)], entity)
            except PlacehubError as error:
                if colon:
                    raise ValueError(f"sta_mqtt_select_topics: {error.message}") from None
                continue
            assert options.select is not None
            chosen.append(SelectTopic(entity, text, options.select))
        if not chosen:
            raise ValueError(f"sta_mqtt_select_topics: no entity type has all of {text!r}")
        topics.extend(chosen)
    return topics


class MqttBridge:
    """Publishes SensorThings notifications and creates Observations from MQTT messages."""

    def __init__(self, database: Database, mqtt_url: str, service_root: str,
                 select_setting: str = "result;phenomenonTime,result") -> None:
        self.database = database
        self.address = BrokerAddress.parse(mqtt_url)
        self.links = Links(service_root)
        self.selects: dict[str, list[SelectTopic]] = {}
        for topic in select_topics(select_setting):
            self.selects.setdefault(topic.entity.name, []).append(topic)
        self.jobs: queue.Queue[tuple[str, Any] | None] = queue.Queue(maxsize=100_000)
        self.connected = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"placehub-sta-{secrets.token_hex(4)}",
                                  protocol=paho.MQTTv5)
        if self.address.username:
            self.client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            self.client.tls_set()
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.worker = threading.Thread(target=self._work, name="placehub-mqtt", daemon=True)
        # What an anonymous client may publish into (set by the start-up probe): creations are
        # refused until the probe has answered, and for good when the list is not empty.
        self.probed = threading.Event()
        self.open_to_anonymous: list[str] = []
        self.stopped = threading.Event()

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (retrying until the broker is there) and listen."""
        for topic in ("observations.written", "things.changed", "locations.changed"):
            self.database.events.subscribe(topic, self._on_event)
        self.worker.start()
        self.client.connect_async(self.address.host, self.address.port, keepalive=15)
        self.client.loop_start()
        threading.Thread(target=self.probe, name="placehub-mqtt-probe", daemon=True).start()

    def probe(self) -> list[str]:
        """Check (once the broker answers) whether anonymous clients can publish; warn if so."""
        try:
            while not self.connected.wait(1):
                if self.stopped.is_set():
                    return []  # stopped before the broker was ever there
            address = self.address
            self.open_to_anonymous = anonymous_publish_probe(
                address.host, address.port, address.username, address.password, address.tls)
        except Exception as error:  # noqa: BLE001 - a failed probe must not stop the bridge
            log.warning("MQTT broker %s: could not probe anonymous publishing (%s); "
                        "creations over MQTT are refused", self.address.public_url(), error)
            self.open_to_anonymous = ["(probe failed)"]
        finally:
            self.probed.set()
        if self.open_to_anonymous:
            log.warning(
                "MQTT broker %s lets anonymous clients publish to the %s: anyone can send "
                "notifications in placehub's name and claim any account's creations, so "
                "placehub refuses every creation over MQTT. Install the broker files from "
                "'placehub mqtt acl' and 'placehub mqtt service' (password_file, acl_file) and "
                "reload the broker.", self.address.public_url(),
                " and ".join(self.open_to_anonymous))
        return self.open_to_anonymous

    def stop(self) -> None:
        self.stopped.set()
        for topic in ("observations.written", "things.changed", "locations.changed"):
            self.database.events.unsubscribe(topic, self._on_event)
        self.jobs.put(None)
        self.worker.join(timeout=10)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: Any, _userdata: Any, _flags: Any, reason: Any,
                    _properties: Any = None) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("MQTT broker %s refused the connection: %s", self.address.public_url(),
                        reason)
            return
        # Renewed on every (re)connect, so a broker restart never loses them. No-local: our
        # own notifications on the same topics are not read back as creation requests.
        options = SubscribeOptions(qos=1, noLocal=True)
        client.subscribe([(topic, options) for topic in CREATION_TOPICS])
        self.connected.set()
        log.info("connected to MQTT broker %s", self.address.public_url())

    def _on_disconnect(self, *_args: Any) -> None:
        self.connected.clear()
        log.warning("MQTT broker %s went away; reconnecting", self.address.public_url())

    # --- events from the database -----------------------------------------------------------

    def _on_event(self, payload: Any) -> None:
        # Runs in the writer's thread after its commit: only queue the work.
        try:
            if payload and hasattr(payload[0], "datastream_id"):
                self.jobs.put_nowait(("observations", [o.id for o in payload]))
            elif payload:
                self.jobs.put_nowait(("things", list(payload)))
        except queue.Full:
            log.error("MQTT notification queue full: notifications dropped")

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        self.jobs.put(("create", (message.topic, bytes(message.payload))))

    def _work(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            kind, data = job
            try:
                if kind == "observations":
                    self.notify_observations(data)
                elif kind == "things":
                    self.notify_things(data)
                elif kind == "create":
                    self.create_from_message(*data)
            except Exception:  # noqa: BLE001 - one bad job must not stop notifications
                log.exception("MQTT %s job failed", kind)

    # --- notifications ----------------------------------------------------------------------

    def _visible(self, conn: Connection, entity: Entity, ids: Iterable[int]) -> list[Any]:
        alias = entity.table.alias("n")
        rows = conn.execute(select(alias).where(
            alias.c.id.in_(sorted(set(ids))), visibility_clause(entity, alias, ANONYMOUS))
        ).mappings().all()
        return list(rows)

    def _rendered(self, conn: Connection, entity: Entity, rows: list[Any]) -> list[dict]:
        ctx = ReadContext(conn, ANONYMOUS, self.links)
        return render(ctx, entity, rows, QueryOptions(entity))

    def publish(self, topic: str, value: Any) -> None:
        self.client.publish(topic, json.dumps(value, ensure_ascii=False,
                                              separators=(",", ":")), qos=0)

    def _publish_entity(self, entity: Entity, row: Any, item: dict[str, Any],
                        collections: list[str]) -> None:
        entity_topic = f"{PREFIX}/{entity.set_name}({item['@iot.id']})"
        self.publish(entity_topic, item)
        for name in _NOTIFY_PROPERTIES.get(entity.name, ()):
            if name in item:
                self.publish(f"{entity_topic}/{name}", {name: item[name]})
        # The selected properties exactly as GET ...?$select= gives them (nulls included).
        selected = [(topic.text, entity_json(entity, row, self.links, topic.select))
                    for topic in self.selects.get(entity.name, ())]
        for collection in collections:
            self.publish(collection, item)
            for text, value in selected:
                self.publish(f"{collection}?$select={text}", value)

    def notify_observations(self, ids: list[int]) -> None:
        """Publish newly written Observations that everyone may read."""
        for start in range(0, len(ids), 1000):  # bounded IN lists and memory for big batches
            self._notify_observation_chunk(ids[start:start + 1000])

    def _notify_observation_chunk(self, ids: list[int]) -> None:
        entity = ENTITIES_BY_NAME["Observation"]
        with self.database.connect() as conn:
            rows = self._visible(conn, entity, ids)
            items = self._rendered(conn, entity, rows)
        for row, item in zip(rows, items, strict=True):
            self._publish_entity(entity, row, item, [
                f"{PREFIX}/Observations",
                f"{PREFIX}/Datastreams({row['datastream_id']})/Observations",
                f"{PREFIX}/FeaturesOfInterest({row['feature_of_interest_id']})/Observations",
            ])
        self.notify_datastreams({int(row["datastream_id"]) for row in rows})

    def notify_datastreams(self, stream_ids: set[int]) -> None:
        """Publish Datastreams whose summary (time ranges, observed area) a write changed."""
        if not stream_ids:
            return
        with self.database.connect() as conn:
            rows = self._visible(conn, DATASTREAM, stream_ids)
            items = self._rendered(conn, DATASTREAM, rows)
        for row, item in zip(rows, items, strict=True):
            self._publish_entity(DATASTREAM, row, item, [
                f"{PREFIX}/Datastreams", f"{PREFIX}/Things({row['thing_id']})/Datastreams"])

    def notify_things(self, thing_ids: list[int]) -> None:
        """Publish changed Things (and their current Locations) that everyone may read."""
        thing = ENTITIES_BY_NAME["Thing"]
        location = ENTITIES_BY_NAME["Location"]
        links_table = thing.navigations["Locations"].link_table
        assert links_table is not None
        with self.database.connect() as conn:
            rows = self._visible(conn, thing, thing_ids)
            items = self._rendered(conn, thing, rows)
            visible = [int(r["id"]) for r in rows]
            pairs = conn.execute(select(links_table.c.thing_id, links_table.c.location_id)
                                 .where(links_table.c.thing_id.in_(visible))).all() if visible \
                else []
            location_rows = self._visible(conn, location, [p.location_id for p in pairs])
            location_items = {int(r["id"]): (r, item) for r, item in zip(
                location_rows, self._rendered(conn, location, location_rows), strict=True)}
        for row, item in zip(rows, items, strict=True):
            self._publish_entity(thing, row, item, [f"{PREFIX}/Things"])
        for pair in pairs:
            place = location_items.get(int(pair.location_id))
            if place is not None:
                self._publish_entity(location, *place, [
                    f"{PREFIX}/Locations", f"{PREFIX}/Things({pair.thing_id})/Locations"])

    # --- creation ---------------------------------------------------------------------------

    def create_from_message(self, topic: str, payload: bytes) -> int | None:
        """Create the Observation a broker account published; None (logged) when it cannot be:
        unreadable, from a revoked or unknown token, for a Datastream the token's user may not
        write, or from a broker that lets anonymous clients publish."""
        match = _CREATION.match(topic)
        if match is None:
            return None
        if not self.probed.wait(PROBE_WAIT_SECONDS) or self.open_to_anonymous:
            log.warning("MQTT %s: Observation not created: the broker lets anonymous clients "
                        "publish (see the warning at start), so the sender is not known", topic)
            return None
        try:
            body = parse_json(payload)
        except BadRequest as error:
            log.warning("MQTT %s: %s; ignored", topic, error.message)
            return None
        if not isinstance(body, dict) or "@iot.selfLink" in body:
            return None  # a notification (ours or another server's), not a creation request
        account, parent, parent_id = match.group(1), match.group(2), match.group(3)
        if parent == "Datastreams":
            body["Datastream"] = {"@iot.id": int(parent_id)}
        elif parent == "FeaturesOfInterest":
            body["FeatureOfInterest"] = {"@iot.id": int(parent_id)}
        events = writes.WriteEvents()
        try:
            with self.database.begin() as conn:
                principal = self._creator(conn, account)
                created = writes.create_entity(conn, principal, "Observations", body, events)
        except PlacehubError as error:
            log.warning("MQTT %s: Observation not created: %s", topic, error.message)
            return None
        events.publish(self.database)
        return created

    def _creator(self, conn: Connection, account: str) -> Principal:
        """Who writes: the user of the live token the broker account stands for (the ACL lets
        an account publish only under its own name), with that user's current roles; the
        write itself checks the Datastream's organisation as for HTTP."""
        return principal_for_token_prefix(conn, account)


# Creation over MQTT uses placehub's own topics (see above), so only receiving is advertised.
MQTT_CONFORMANCE = ("receive-updates-via-mqtt/receive-updates",)


def server_settings(mqtt_url: str, public_url: str = "") -> dict[str, Any]:
    """serverSettings entries advertising the MQTT endpoint (OGC 18-088 service root)."""
    if not mqtt_url:
        return {}
    endpoint = public_url or BrokerAddress.parse(mqtt_url).public_url()
    return {REQ + name: {"endpoints": [endpoint]} for name in MQTT_CONFORMANCE}
