"""Tables of the access model: who may see and change which data."""

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from placehub.db.metadata import BigId, JSONType, UTCDateTime, metadata

ROLES = ("admin", "editor", "viewer")
VISIBILITIES = ("public", "partners", "organisation", "restricted")

organisations = Table(
    "organisations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# "partners" visibility: data of `organisation_id` is visible to members of `partner_id`.
organisation_partners = Table(
    "organisation_partners",
    metadata,
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"),
           primary_key=True),
    Column("partner_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False, default=""),
    Column("email", String(320), nullable=True),
    Column("password_hash", String(300), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"),
           primary_key=True),
    Column("role", String(20), nullable=False),
    # Set for time-limited access (break-glass to a resident's home data): the role counts
    # until then only, checked whenever a principal is built.
    Column("expires_at", UTCDateTime, nullable=True),
    CheckConstraint("role IN ('admin', 'editor', 'viewer')", name="role"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    # Only a SHA-256 of the token is kept; the token itself is shown once when created.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("actor", String(200), nullable=False),
    Column("action", String(50), nullable=False),
    Column("entity", String(50), nullable=False),
    Column("entity_id", String(100), nullable=True),
    Column("detail", JSONType, nullable=True),
    Column("note", Text, nullable=True),
    # Whose data or account the entry is about: org admins read their organisation's entries
    # and those about their members' accounts. Plain ids, no foreign keys: the trail outlives
    # what it describes.
    Column("organisation_id", Integer, nullable=True),
    Column("subject_user_id", Integer, nullable=True, index=True),
    Index("ix_audit_log_organisation_id_at", "organisation_id", "at"),
)

# Signed-in web sessions: the session cookie carries a random id whose SHA-256 is kept here, so
# signing out, a password change or an administrator ends a session on the server side.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# Secrets this installation makes for itself once and keeps: the key that signs session cookies
# (so sessions outlive a restart), the hash of a first-run setup link, the demo's own login.
instance_secrets = Table(
    "instance_secrets",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
