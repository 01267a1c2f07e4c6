"""Tables of placehub.ingest (registered on the shared metadata; Alembic branch 'ingest')."""

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from placehub.db.metadata import BigId, JSONType, UTCDateTime, metadata

# The raw journal: every uplink (and join/status/log event) exactly as received, stored before
# the webhook is answered. Decoding happens from here, so it can be replayed.
ingest_journal = Table(
    "ingest_journal",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # Idempotency key: tts:{dev_eui}:{session_key_id}:{f_cnt} or cs:{deduplicationId}; a counter
    # reset (same key, other payload) gets the key plus "#" and the payload hash.
    Column("dedup_key", String(300), nullable=False, unique=True),
    # ChirpStack's second key, dev_eui:dev_addr:f_cnt, matched within a short time window.
    Column("alt_key", String(200), nullable=True, index=True),
    Column("payload_hash", String(64), nullable=False),
    Column("network", String(20), nullable=False),  # tts | chirpstack
    Column("transport", String(20), nullable=False),  # webhook | mqtt | replay
    Column("event", String(20), nullable=False, default="up"),  # up | join | status | log
    Column("dev_eui", String(16), nullable=False),
    Column("application_id", String(200), nullable=True),
    Column("dev_addr", String(8), nullable=True),
    Column("session_key_id", String(100), nullable=True),
    Column("f_cnt", BigId, nullable=True),
    Column("f_port", Integer, nullable=True),
    Column("payload_hex", Text, nullable=True),
    Column("decoded_object", JSONType, nullable=True),
    Column("rx_metadata", JSONType, nullable=True),  # gateways; later copies merged in
    Column("ns_time", UTCDateTime, nullable=False),  # network-server time: the phenomenon time
    Column("received_at", UTCDateTime, nullable=False),
    Column("copies", Integer, nullable=False, default=1),
    Column("counter_reset", Boolean, nullable=False, default=False),
    Column("body", JSONType, nullable=False),  # the message as received
    # pending -> processed | dead_letter | ignored
    Column("status", String(20), nullable=False, default="pending"),
    Column("reason", Text, nullable=True),
    Column("processed_at", UTCDateTime, nullable=True),
    Column("observation_count", Integer, nullable=False, default=0),
    # Processing attempts that failed with an error, and when the next may run: an entry that
    # keeps failing is quarantined as a dead letter instead of blocking the worker.
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("retry_at", UTCDateTime, nullable=True),
    Column("simulated", Boolean, nullable=False, default=False, server_default=false()),
    Column("position", JSONType, nullable=True),  # network-reported latitude / longitude
    # The integration that delivered the message and the organisation it may write for.
    Column("integration", String(200), nullable=True),
    Column("organisation_id", Integer, nullable=True),
    Index("ix_ingest_journal_status_id", "status", "id"),
    Index("ix_ingest_journal_dev_eui_ns_time", "dev_eui", "ns_time"),
)

# LoRaWAN devices and the Thing / Datastreams their measurements go to.
ingest_devices = Table(
    "ingest_devices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dev_eui", String(16), nullable=False, unique=True),
    Column("name", String(500), nullable=False),
    Column("profile_id", String(200), nullable=False),
    Column("network", String(20), nullable=True),
    Column("application_id", String(200), nullable=True),
    Column("thing_id", ForeignKey("things.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("organisation_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("datastreams", JSONType, nullable=False),  # measurement key -> Datastream id
    Column("created_at", UTCDateTime, nullable=False),
)

# Per-device health the UI and alerts read: last seen, battery, radio, frame-counter gaps.
ingest_device_health = Table(
    "ingest_device_health",
    metadata,
    Column("dev_eui", String(16), primary_key=True),
    Column("last_seen", UTCDateTime, nullable=True),
    Column("last_f_cnt", BigId, nullable=True),
    Column("session", String(100), nullable=True),
    Column("frames_received", BigId, nullable=False, default=0),
    Column("frames_lost", BigId, nullable=False, default=0),
    Column("battery_voltage", Float, nullable=True),
    Column("battery_percent", Float, nullable=True),
    Column("rssi", Float, nullable=True),
    Column("snr", Float, nullable=True),
    Column("gateway_count", Integer, nullable=True),
    Column("counter_resets", Integer, nullable=False, default=0),
    Column("joins", Integer, nullable=False, default=0),
    Column("last_join", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("dead_letters", BigId, nullable=False, default=0),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Webhook credentials per network-server integration: Basic auth or a shared-secret header.
ingest_integrations = Table(
    "ingest_integrations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("network", String(20), nullable=False),  # tts | chirpstack | any
    Column("username", String(200), nullable=True),  # Basic auth user; None: header secret
    Column("secret_hash", String(64), nullable=False),
    Column("organisation_id", ForeignKey("organisations.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("rotated_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),  # revoked secrets open nothing
    UniqueConstraint("name", name="uq_ingest_integrations_name"),
)
