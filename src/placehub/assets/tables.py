"""Tables of placehub.assets (registered on the shared metadata; Alembic branch 'assets').

An organisation may set its own thresholds for a type of asset ("our bins count as full at
90%"); one row per (organisation, asset type, threshold name). Type defaults live in code and
per-asset values in the Thing's properties (see ``placehub.assets.thresholds``).
"""

from sqlalchemy import Column, Float, ForeignKey, Integer, String, Table, UniqueConstraint

from placehub.db.metadata import UTCDateTime, metadata

asset_thresholds = Table(
    "asset_thresholds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"),
           nullable=False),
    Column("asset_type", String(100), nullable=False),
    Column("name", String(50), nullable=False),
    Column("value", Float, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False, default=""),
    UniqueConstraint("organisation_id", "asset_type", "name"),
)
