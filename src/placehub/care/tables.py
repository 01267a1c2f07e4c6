"""Tables of placehub.care (registered on the shared metadata; Alembic branch 'care').

A resident is not a user: a reference code, a display name and the care-circle organisation
that owns their home sensors. Their carers are that organisation's members.
"""

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, Table, Text

from placehub.db.metadata import JSONType, UTCDateTime, metadata

CAPACITIES = ("resident", "representative")

care_residents = Table(
    "care_residents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reference", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    # The care-circle organisation: owns the home's Things; its members are the carers.
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"),
           nullable=False, unique=True),
    # The council running the service: its admins may open break-glass access.
    Column("council_id", ForeignKey("organisations.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

care_consents = Table(
    "care_consents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resident_id", ForeignKey("care_residents.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("given_by", String(200), nullable=False),
    Column("capacity", String(20), nullable=False),  # the resident, or a named representative
    Column("purposes", JSONType, nullable=False),
    Column("agreed_at", UTCDateTime, nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("withdrawn_at", UTCDateTime, nullable=True),
    Column("withdrawn_by", String(200), nullable=True),
    Column("withdrawal_note", Text, nullable=True),
    CheckConstraint("capacity IN ('resident', 'representative')", name="capacity"),
)

care_break_glass = Table(
    "care_break_glass",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resident_id", ForeignKey("care_residents.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("user_id", Integer, nullable=False),
    Column("username", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)
