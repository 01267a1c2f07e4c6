"""Tables of placehub.reports (registered on the shared metadata; Alembic branch 'reports').

A service request is one report by a resident or a posting system (Open311). Personal data
(e-mail, name, phone, photo) sits in its own columns so it can be shown to officers only and
erased after the retention period while the report itself stays.
"""

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from placehub.db.metadata import BigId, JSONType, UTCDateTime, metadata

service_requests = Table(
    "service_requests",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service_code", String(50), nullable=False, index=True),
    Column("status", String(20), nullable=False),
    Column("status_notes", Text, nullable=True),
    Column("description", Text, nullable=False, default=""),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("address_string", String(300), nullable=True),
    Column("postcode", String(10), nullable=True),
    Column("attributes", JSONType, nullable=True),
    # The asset it was attached to (the nearest of the service's asset type within reach).
    Column("thing_id", ForeignKey("things.id", ondelete="SET NULL"), nullable=True, index=True),
    Column("distance_m", Float, nullable=True),
    Column("alert_id", ForeignKey("alerts.id", ondelete="SET NULL"), nullable=True, index=True),
    Column("mandatory_stop", Boolean, nullable=False, default=False),
    # Who answers for it: the asset's organisation, or the council the reports setting names.
    Column("organisation_id", ForeignKey("organisations.id", ondelete="SET NULL"),
           nullable=True),
    # Where it came from: "web form" or the name of an Open311 key.
    Column("client", String(200), nullable=False),
    Column("media_url", String(1000), nullable=True),
    # Personal data: officers only, erased after the retention period.
    Column("email", String(320), nullable=True),
    Column("first_name", String(100), nullable=True),
    Column("last_name", String(100), nullable=True),
    Column("phone", String(50), nullable=True),
    Column("photo", LargeBinary, nullable=True),
    Column("photo_type", String(50), nullable=True),
    Column("personal_data_erased_at", UTCDateTime, nullable=True),
    Column("requested_at", UTCDateTime, nullable=False, index=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("closed_by", String(100), nullable=True),
    CheckConstraint("status IN ('open', 'closed')", name="status"),
    Index("ix_service_requests_status_requested", "status", "requested_at"),
)

# Keys of the systems allowed to post requests (FixMyStreet, a contact centre): only a hash is
# kept, the key itself is shown once when it is made.
open311_keys = Table(
    "open311_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(12), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

# The outbox of status updates to reporters who left an e-mail address (retried like alerts').
service_request_notices = Table(
    "service_request_notices",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("request_id", ForeignKey("service_requests.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("target", String(320), nullable=False),
    Column("payload", JSONType, nullable=False),
    Column("status", String(20), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    Index("ix_service_request_notices_status_next", "status", "next_attempt_at"),
)
