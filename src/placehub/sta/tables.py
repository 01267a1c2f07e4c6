"""SensorThings tables: the eight entity types, their link tables and the materialised latest value.

Geometries are GeoJSON in JSON columns with a bounding box beside them, so spatial filters can
prefilter in SQL on both databases and finish exactly with Shapely (no PostGIS needed).
Observation results are split by type so numeric comparisons use an indexable column.
"""

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
)

from placehub.db.metadata import BigId, JSONType, UTCDateTime, metadata


def _bbox_columns() -> list[Column]:
    return [Column(name, Float, nullable=True) for name in ("min_x", "min_y", "max_x", "max_y")]


things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(500), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("properties", JSONType, nullable=True),
    Column("organisation_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("visibility", String(20), nullable=False, default="organisation"),
    CheckConstraint(
        "visibility IN ('public', 'partners', 'organisation', 'restricted')", name="visibility"
    ),
    sqlite_autoincrement=True,  # ids never reused (migration sta_0002)
)

locations = Table(
    "locations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(500), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("encoding_type", String(100), nullable=False),
    Column("location", JSONType, nullable=False),
    Column("properties", JSONType, nullable=True),
    Column("organisation_id", ForeignKey("organisations.id"), nullable=False, index=True),
    *_bbox_columns(),
    sqlite_autoincrement=True,  # ids never reused (migration sta_0002)
)

thing_locations = Table(
    "thing_locations",
    metadata,
    Column("thing_id", ForeignKey("things.id", ondelete="CASCADE"), primary_key=True),
    Column("location_id", ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)

historical_locations = Table(
    "historical_locations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("time", UTCDateTime, nullable=False),
    Column("thing_id", ForeignKey("things.id", ondelete="CASCADE"), nullable=False, index=True),
    sqlite_autoincrement=True,  # ids never reused (migration sta_0002)
)

location_historical_locations = Table(
    "location_historical_locations",
    metadata,
    Column("location_id", ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True),
    Column("historical_location_id", ForeignKey("historical_locations.id", ondelete="CASCADE"),
           primary_key=True, index=True),
)

sensors = Table(
    "sensors",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(500), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("encoding_type", String(100), nullable=False),
    Column("metadata", Text, nullable=False),
    Column("properties", JSONType, nullable=True),
    Column("organisation_id", ForeignKey("organisations.id"), nullable=False, index=True),
    sqlite_autoincrement=True,  # ids never reused (migration sta_0002)
)

observed_properties = Table(
    "observed_properties",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(500), nullable=False),
    Column("definition", String(1000), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("properties", JSONType, nullable=True),
    Column("organisation_id", ForeignKey("organisations.id"), nullable=False, index=True),
    sqlite_autoincrement=True,  # ids never reused (migration sta_0002)
)

datastreams = Table(
    "datastreams",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(500), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("observation_type", String(300), nullable=False),
    Column("unit_of_measurement", JSONType, nullable=False),
    Column("properties", JSONType, nullable=True),
    Column("thing_id", ForeignKey("things.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("sensor_id", ForeignKey("sensors.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("observed_property_id", ForeignKey("observed_properties.id", ondelete="CASCADE"),
           nullable=False, index=True),
    # Kept current on every write (never moved backwards by a late Observation): the observed
    # area, the phenomenon and result time ranges, the count and the latest Observation.
    Column("observed_area", JSONType, nullable=True),
    *_bbox_columns(),
    Column("phenomenon_time_start", UTCDateTime, nullable=True),
    Column("phenomenon_time_end", UTCDateTime, nullable=True),
    Column("result_time_start", UTCDateTime, nullable=True),
    Column("result_time_end", UTCDateTime, nullable=True),
    Column("observation_count", BigId, nullable=False, default=0),
    Column("latest_observation_id", BigId, nullable=True),
    Column("latest_phenomenon_time", UTCDateTime, nullable=True),
    sqlite_autoincrement=True,  # ids never reused (migration sta_0002)
)

features_of_interest = Table(
    "features_of_interest",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(500), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("encoding_type", String(100), nullable=False),
    Column("feature", JSONType, nullable=False),
    Column("properties", JSONType, nullable=True),
    Column("organisation_id", ForeignKey("organisations.id"), nullable=False, index=True),
    # The Location this FeatureOfInterest was generated from, so it is reused, not duplicated.
    Column("generated_from_location_id",
           ForeignKey("locations.id", ondelete="SET NULL"), nullable=True, index=True,
           unique=True),
    *_bbox_columns(),
    sqlite_autoincrement=True,  # ids never reused (migration sta_0002)
)

# result_type codes for observations.result_type
RESULT_NULL, RESULT_NUMBER, RESULT_BOOLEAN, RESULT_STRING, RESULT_JSON = 0, 1, 2, 3, 4

observations = Table(
    "observations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("datastream_id", ForeignKey("datastreams.id", ondelete="CASCADE"), nullable=False),
    Column("feature_of_interest_id",
           ForeignKey("features_of_interest.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("phenomenon_time_start", UTCDateTime, nullable=False),
    Column("phenomenon_time_end", UTCDateTime, nullable=True),
    Column("result_time", UTCDateTime, nullable=True),
    Column("result_type", SmallInteger, nullable=False),
    Column("result_number", Float, nullable=True),
    Column("result_boolean", Boolean, nullable=True),
    Column("result_string", Text, nullable=True),
    Column("result_json", JSONType, nullable=True),
    Column("result_quality", JSONType, nullable=True),
    Column("valid_time_start", UTCDateTime, nullable=True),
    Column("valid_time_end", UTCDateTime, nullable=True),
    Column("parameters", JSONType, nullable=True),
    # Set by ingest paths (e.g. the LoRaWAN journal entry + quantity) so a replay never stores
    # the same Observation twice; NULL for ordinary SensorThings POSTs.
    Column("dedup_key", String(200), nullable=True),
    Index("ix_observations_datastream_time", "datastream_id", "phenomenon_time_start", "id"),
    Index("uq_observations_datastream_dedup", "datastream_id", "dedup_key", unique=True),
    sqlite_autoincrement=True,  # ids never reused (migration sta_0002)
)
