"""Tables of placehub.places (registered on the shared metadata; Alembic branch 'places').

A layer (wards, LSOAs, parishes ...) holds places, each a boundary with a code unique in its layer.
Property points (postcodes, UPRNs, OSM buildings) and Things are assigned to one place per layer;
the assignments are kept in link tables so counts and "assets in this ward" are plain joins.
"""

from sqlalchemy import (
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

place_layers = Table(
    "place_layers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("title", String(300), nullable=False, default=""),
    Column("source", Text, nullable=False, default=""),
    Column("code_property", String(100), nullable=False),
    Column("name_property", String(100), nullable=False),
    Column("loaded_at", UTCDateTime, nullable=False),
)

places = Table(
    "places",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("layer_id", ForeignKey("place_layers.id", ondelete="CASCADE"), nullable=False),
    Column("code", String(100), nullable=False),
    Column("name", String(300), nullable=False),
    Column("geometry", JSONType, nullable=False),
    Column("properties", JSONType, nullable=True),
    Column("min_x", Float, nullable=False),
    Column("min_y", Float, nullable=False),
    Column("max_x", Float, nullable=False),
    Column("max_y", Float, nullable=False),
    UniqueConstraint("layer_id", "code"),
)

property_points = Table(
    "property_points",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # Where the point came from ("sutton-postcodes", "osm-buildings" ...) and its id there.
    Column("source", String(100), nullable=False),
    Column("ref", String(100), nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("properties", JSONType, nullable=True),
    UniqueConstraint("source", "ref"),
)

property_point_places = Table(
    "property_point_places",
    metadata,
    Column("point_id", ForeignKey("property_points.id", ondelete="CASCADE"), primary_key=True),
    Column("layer_id", ForeignKey("place_layers.id", ondelete="CASCADE"), primary_key=True),
    Column("place_id", ForeignKey("places.id", ondelete="CASCADE"), nullable=False),
    Index("ix_property_point_places_place", "place_id"),
)

thing_places = Table(
    "thing_places",
    metadata,
    Column("thing_id", ForeignKey("things.id", ondelete="CASCADE"), primary_key=True),
    Column("layer_id", ForeignKey("place_layers.id", ondelete="CASCADE"), primary_key=True),
    Column("place_id", ForeignKey("places.id", ondelete="CASCADE"), nullable=False),
    Index("ix_thing_places_place", "place_id"),
)

# Points a lookup lists as no longer live (NSPL ``doterm``): left out of property_points, kept
# here so a postcode search can say "terminated" (and since when) rather than "not found".
terminated_points = Table(
    "terminated_points",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source", String(100), nullable=False),
    Column("ref", String(100), nullable=False),
    Column("terminated", String(20), nullable=False),
    UniqueConstraint("source", "ref"),
)
