"""Tables of responsible use: algorithm run records, the read audit, data classes and retention
periods (Alembic branch 'governance')."""

from sqlalchemy import (
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from placehub.db.metadata import BigId, JSONType, UTCDateTime, metadata

DATA_CLASSES = ("public", "organisation", "restricted", "personal")

# One row per run of an algorithm the transparency records describe: what ran, on what, how
# it went. Written in the same transaction as the run's result where there is one.
algorithm_runs = Table(
    "algorithm_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("algorithm", String(100), nullable=False),  # the transparency record's id
    Column("version", String(100), nullable=False),  # placehub's and the solver's versions
    Column("started_at", UTCDateTime, nullable=False),
    Column("duration_seconds", Float, nullable=True),
    Column("parameters", JSONType, nullable=True),
    Column("seed", BigId, nullable=True),
    # [{"name", "first", "last", "rows"}]: each input data set and the dates it covered.
    Column("inputs", JSONType, nullable=True),
    Column("volumes", JSONType, nullable=True),  # counts in and out
    Column("outcome", String(50), nullable=False),  # ok | partial | failed
    Column("metrics", JSONType, nullable=True),  # measured performance, where there is one
    Column("organisation_id", Integer, nullable=True),
    Column("actor", String(200), nullable=False, default=""),
    Column("reference", String(200), nullable=True),  # what the run produced, e.g. "plan 12"
    Index("ix_algorithm_runs_algorithm_started", "algorithm", "started_at"),
)

# One row per (request, Datastream or Thing) for reads of data that is not public: who read,
# what, through which channel. Plain ids, no foreign keys: the trail outlives the data.
read_audit = Table(
    "read_audit",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("user_id", Integer, nullable=True),
    Column("channel", String(20), nullable=False),  # sta | api | page | export
    Column("context", String(500), nullable=False),  # the path and query that read it
    Column("organisation_id", Integer, nullable=True),  # the data's owner
    Column("thing_id", Integer, nullable=True),
    Column("datastream_id", Integer, nullable=True),
    Column("data_class", String(20), nullable=False),
    Index("ix_read_audit_thing_at", "thing_id", "at"),
    Index("ix_read_audit_datastream_at", "datastream_id", "at"),
    Index("ix_read_audit_organisation_at", "organisation_id", "at"),
)

# A Datastream's own data class, retention period and purpose (absent: from its Thing's
# visibility and its organisation's periods).
datastream_policies = Table(
    "datastream_policies",
    metadata,
    Column("datastream_id", ForeignKey("datastreams.id", ondelete="CASCADE"),
           primary_key=True),
    Column("data_class", String(20), nullable=True),
    Column("retention_days", Integer, nullable=True),
    Column("purpose", Text, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
    CheckConstraint("data_class IS NULL OR data_class IN "
                    "('public', 'organisation', 'restricted', 'personal')",
                    name="data_class"),
    CheckConstraint("retention_days IS NULL OR retention_days > 0", name="retention_days"),
)

# Retention periods of an organisation, per data class ('*': every class without its own).
retention_periods = Table(
    "retention_periods",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"),
           nullable=False),
    Column("data_class", String(20), nullable=False),
    Column("days", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
    UniqueConstraint("organisation_id", "data_class"),
    CheckConstraint("days > 0", name="days"),
)
