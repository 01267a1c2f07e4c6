"""Tables of placehub.alerts (registered on the shared metadata; Alembic branch 'alerts').

Rules, the small per-rule state that makes evaluation incremental, alerts with their history,
teams with their subscriptions, and notification deliveries (the outbox, with failures visible).
"""

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from placehub.db.metadata import BigId, JSONType, UTCDateTime, metadata

SEVERITIES = ("info", "warning", "critical")
STATUSES = ("open", "acknowledged", "resolved")

# A rule either applies to every asset of a type (thing_id NULL) or overrides the rule with the
# same key for one asset (thing_id set). Effective rules of a Thing: its own rows, then its asset
# type's rows for keys it does not override.
alert_rules = Table(
    "alert_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("asset_type", String(100), nullable=True, index=True),
    Column("thing_id", ForeignKey("things.id", ondelete="CASCADE"), nullable=True, index=True),
    Column("quantity", String(100), nullable=True),
    Column("params", JSONType, nullable=False),
    Column("severity", String(20), nullable=False, default="warning"),
    Column("enabled", Boolean, nullable=False, default=True),
    # How long a condition must stay clear before the alert resolves itself (flapping guard).
    Column("hold_off_s", Integer, nullable=False, default=0),
    Column("auto_resolve", Boolean, nullable=False, default=True),
    Column("builtin", Boolean, nullable=False, default=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("severity IN ('info', 'warning', 'critical')", name="severity"),
)

# Small state per rule and subject ("ds:12" or "thing:5"): what the rule needs to judge the
# next Observation without reading history (breach start, last value, open hour, ...).
alert_rule_states = Table(
    "alert_rule_states",
    metadata,
    Column("rule_id", ForeignKey("alert_rules.id", ondelete="CASCADE"), primary_key=True),
    Column("subject", String(50), primary_key=True),
    Column("state", JSONType, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("rule_id", ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False),
    Column("rule_key", String(100), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("subject", String(50), nullable=False),
    Column("thing_id", ForeignKey("things.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("datastream_id", Integer, nullable=True),
    Column("status", String(20), nullable=False),
    Column("title", String(300), nullable=False),
    Column("message", Text, nullable=False, default=""),
    Column("value", Float, nullable=True),
    Column("details", JSONType, nullable=True),
    Column("condition_since", UTCDateTime, nullable=True),
    Column("opened_at", UTCDateTime, nullable=False, index=True),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("acknowledged_by", String(100), nullable=True),
    Column("acknowledge_note", Text, nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("resolved_by", String(100), nullable=True),
    Column("resolution", String(20), nullable=True),  # "manual" or "auto"
    Column("resolve_note", Text, nullable=True),
    CheckConstraint("status IN ('open', 'acknowledged', 'resolved')", name="status"),
    # One open (or acknowledged) alert per rule and subject, enforced by the database.
    Index("uq_alerts_rule_subject_unresolved", "rule_id", "subject", unique=True,
          sqlite_where=text("status != 'resolved'"),
          postgresql_where=text("status != 'resolved'")),
    Index("ix_alerts_status_opened", "status", "opened_at"),
)

# Every change of every alert: opened, acknowledged, resolved, condition cleared / returned.
alert_events = Table(
    "alert_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("alert_id", ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("action", String(50), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("note", Text, nullable=True),
    Column("detail", JSONType, nullable=True),
)

teams = Table(
    "alert_teams",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("email", Text, nullable=True),  # comma-separated recipients
    Column("webhook_url", String(1000), nullable=True),
    Column("webhook_secret", String(200), nullable=True),
    Column("daily_digest", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# What a team hears about: rule keys, asset types (NULL: any) and a minimum severity.
team_subscriptions = Table(
    "alert_team_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("team_id", ForeignKey("alert_teams.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("rule_keys", JSONType, nullable=True),
    Column("asset_types", JSONType, nullable=True),
    Column("min_severity", String(20), nullable=False, default="info"),
    Column("channels", JSONType, nullable=False),  # ["webhook", "email"]
    Column("immediate", Boolean, nullable=False, default=True),  # False: digest only
)

# The outbox: each notification to send, its attempts and the last error (failures visible).
notification_deliveries = Table(
    "alert_notifications",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("team_id", ForeignKey("alert_teams.id", ondelete="CASCADE"), nullable=False),
    Column("alert_id", ForeignKey("alerts.id", ondelete="CASCADE"), nullable=True, index=True),
    Column("channel", String(20), nullable=False),
    Column("event", String(50), nullable=False),  # opened, resolved, digest
    Column("target", String(1000), nullable=False),
    Column("payload", JSONType, nullable=False),
    Column("status", String(20), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    Index("ix_alert_notifications_status_next", "status", "next_attempt_at"),
)

# Days whose digest a team has had (so a digest is sent once per day).
digest_runs = Table(
    "alert_digest_runs",
    metadata,
    Column("team_id", ForeignKey("alert_teams.id", ondelete="CASCADE"), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("sent_at", UTCDateTime, nullable=False),
)
