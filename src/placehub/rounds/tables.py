"""Tables of placehub.rounds (registered on the shared metadata; Alembic branch 'rounds').

A plan is stored whole as a JSON document (what the solver produced, how, from which inputs);
its stops are rows too, so crews can mark each one done or skipped. A done stop records a
service event, which the forecaster reads as an emptying (bins) or a watering (flowerbeds).
"""

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
)

from placehub.db.metadata import JSONType, UTCDateTime, metadata

STOP_STATUSES = ("planned", "done", "skipped")

rounds_plans = Table(
    "rounds_plans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("service", String(20), nullable=False),
    Column("plan_date", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("snapshot_time", UTCDateTime, nullable=False),
    Column("solver", String(50), nullable=False),
    Column("solver_version", String(50), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("parameters", JSONType, nullable=False),
    Column("distance_source", String(200), nullable=False),
    Column("document", JSONType, nullable=False),
    Column("created_by", String(200), nullable=False, default=""),
    CheckConstraint("service IN ('waste', 'watering')", name="service"),
    Index("ix_rounds_plans_date", "plan_date", "service"),
)

rounds_stops = Table(
    "rounds_stops",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("plan_id", ForeignKey("rounds_plans.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("vehicle", String(100), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("kind", String(10), nullable=False),
    Column("thing_id", Integer, nullable=True, index=True),
    Column("name", String(500), nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("arrival", UTCDateTime, nullable=False),
    Column("departure", UTCDateTime, nullable=False),
    Column("load_litres", Integer, nullable=False),
    Column("status", String(10), nullable=False, default="planned"),
    Column("reason", Text, nullable=False, default=""),
    Column("updated_at", UTCDateTime, nullable=True),
    CheckConstraint("status IN ('planned', 'done', 'skipped')", name="status"),
    CheckConstraint("kind IN ('asset', 'reload')", name="kind"),
)

rounds_service_events = Table(
    "rounds_service_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("thing_id", Integer, nullable=False),
    Column("service", String(20), nullable=False),
    Column("time", UTCDateTime, nullable=False),
    Column("plan_id", ForeignKey("rounds_plans.id", ondelete="SET NULL"), nullable=True),
    Column("stop_id", ForeignKey("rounds_stops.id", ondelete="SET NULL"), nullable=True),
    Column("note", Text, nullable=False, default=""),
    Column("recorded_by", String(200), nullable=False, default=""),
    Index("ix_rounds_service_events_thing_time", "thing_id", "time"),
)
