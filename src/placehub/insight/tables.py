"""Tables of placehub.insight (registered on the shared metadata; Alembic branch 'insight').

Indicators are keyed by layer name and place code (e.g. "lsoa", "E01013385"), not by a foreign
key to the places tables: official statistics cover places a council may never load as
boundaries (all of England's LSOAs), and values survive a boundary layer being reloaded.
"""

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, Text

from placehub.db.metadata import JSONType, UTCDateTime, metadata

indicators = Table(
    "indicators",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("unit", String(100), nullable=False, default=""),
    # higher_is_better or higher_is_worse
    Column("direction", String(20), nullable=False),
    Column("source", Text, nullable=False, default=""),
    Column("licence", String(200), nullable=False, default=""),
    Column("period", String(50), nullable=False, default=""),
    # official (imported) or derived (computed from sensor data by `indicators derive`)
    Column("kind", String(20), nullable=False, default="official"),
    # True when values count people: published values then go through disclosure control.
    Column("counts_people", Boolean, nullable=False, default=False),
    # For derived indicators: the derivation and its parameters, so the figure can be rebuilt.
    Column("derivation", JSONType, nullable=True),
    # A rate's counts: its value is numerator / denominator x multiplier per place, and it is
    # published only as the disclosed counts allow (see disclosure.disclose_rate).
    Column("numerator", String(100), nullable=True),
    Column("denominator", String(100), nullable=True),
    Column("multiplier", Float, nullable=False, default=1.0, server_default="1"),
    Column("updated_at", UTCDateTime, nullable=False),
)

indicator_values = Table(
    "indicator_values",
    metadata,
    Column("indicator_id", ForeignKey("indicators.id", ondelete="CASCADE"), primary_key=True),
    Column("layer", String(100), primary_key=True),
    Column("place_code", String(100), primary_key=True),
    Column("period", String(50), primary_key=True),
    Column("value", Float, nullable=True),
    # How much data stands behind a derived value (e.g. bin-days observed), for the reader.
    Column("denominator", Float, nullable=True),
    Column("note", Text, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_indicator_values_place", "layer", "place_code"),
)

# Index definitions a council uploaded (TOML, the same format as the shipped ones), readable by
# the visibility rule of placehub.access and written by the organisation's editors and admins.
index_definitions = Table(
    "index_definitions",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("organisation_id", Integer, ForeignKey("organisations.id", ondelete="CASCADE"),
           nullable=False),
    Column("visibility", String(20), nullable=False, default="organisation"),
    Column("name", String(300), nullable=False),
    Column("definition", Text, nullable=False),
    Column("updated_by", String(200), nullable=False, default=""),
    Column("updated_at", UTCDateTime, nullable=False),
)
