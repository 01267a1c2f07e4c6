"""The SensorThings entity model: the eight entity types, their properties, relations, readers.

The query layer, ``$filter`` and the write path all work from these descriptions, so a property
or relation is described once. Relations know how to express themselves in SQL between two table
aliases (a direct foreign key or a link table), and ``visibility_clause`` applies the access rule
(``placehub.access.visibility``) through the owning Thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    Table,
    and_,
    exists,
    false,
    not_,
    or_,
    select,
    true,
)

from placehub.access.service import Principal
from placehub.access.visibility import visible_clause
from placehub.sta.tables import (
    datastreams,
    features_of_interest,
    historical_locations,
    location_historical_locations,
    locations,
    observations,
    observed_properties,
    sensors,
    thing_locations,
    things,
)

PropertyKind = Literal[
    "id",  # the entity id (@iot.id)
    "string",
    "json",  # any JSON value kept as is (properties, unitOfMeasurement, parameters, ...)
    "geometry",  # GeoJSON in one JSON column, bbox in min_x, min_y, max_x, max_y
    "time",  # one instant
    "time_interval",  # two columns: start and end, written "start/end"
    "time_or_interval",  # start and end; end NULL means an instant (Observation.phenomenonTime)
    "result",  # Observation.result: result_type plus one typed column per JSON type
]

BBOX_COLUMNS = ("min_x", "min_y", "max_x", "max_y")

# placehub's own instance annotations (OData JSON: "@namespace.term"), beside @iot.id: who owns
# an entity and, for a Thing, who may read it. They are not in ``properties``, so the user's
# properties round-trip unchanged, and clients ignore annotations they do not know.
ORGANISATION_ANNOTATION = "@placehub.organisation"
VISIBILITY_ANNOTATION = "@placehub.visibility"
# Entity types with an organisation of their own (the others belong to their Thing's).
OWNED_ENTITIES = frozenset({"Thing", "Location", "Sensor", "ObservedProperty",
                            "FeatureOfInterest"})


@dataclass(frozen=True)
class Property:
    """One entity property: its STA name, its kind and the columns that hold it.

    ``columns`` lists the storage columns in a fixed order per kind: ``geometry`` -> (geojson
    column, min_x, min_y, max_x, max_y); ``time_interval`` / ``time_or_interval`` -> (start, end);
    ``result`` -> (result_type, result_number, result_boolean, result_string, result_json).
    """

    name: str
    kind: PropertyKind
    columns: tuple[str, ...]
    required: bool = False  # must be given on create (spec "mandatory")
    writable: bool = True  # False for values the server computes (Datastream.phenomenonTime)
    # Zero-to-one in 18-088: left out of the entity's JSON while null (as FROST does), so
    # clients that type-check them (frost-sta-client wants properties to be an object) work.
    omit_null: bool = False

    @property
    def column(self) -> str:
        """The main column (the only one for simple kinds)."""
        return self.columns[0]


@dataclass(frozen=True)
class Navigation:
    """A navigation property from one entity type to another.

    ``via`` says where the relation is stored:
    - ``"source_fk"``: the source row holds ``source_column`` -> target.id (Datastream/Thing);
    - ``"target_fk"``: the target rows hold ``target_column`` -> source.id (Thing/Datastreams);
    - ``"link"``: a link table with ``link_source`` -> source.id and ``link_target`` -> target.id.
    """

    name: str
    target: str  # the target Entity's name, e.g. "Thing"
    many: bool
    via: Literal["source_fk", "target_fk", "link"]
    source_column: str | None = None
    target_column: str | None = None
    link_table: Table | None = None
    link_source: str | None = None
    link_target: str | None = None

    @property
    def target_entity(self) -> Entity:
        """The Entity this navigation leads to."""
        return ENTITIES_BY_NAME[self.target]

    def join_condition(self, source: FromClause, target: FromClause) -> ColumnElement[bool]:
        """SQL true when the ``target`` row relates to the ``source`` row (table aliases).

        Link tables are reached through EXISTS, so the condition never multiplies rows and can be
        used in WHERE (``$filter`` paths, navigation) as well as in a JOIN's ON.
        """
        if self.via == "source_fk":
            assert self.source_column
            return source.c[self.source_column] == target.c.id
        if self.via == "target_fk":
            assert self.target_column
            return target.c[self.target_column] == source.c.id
        assert self.link_table is not None and self.link_source and self.link_target
        # A fresh alias, so the subquery never correlates with another use of the link table.
        link = self.link_table.alias()
        return exists(
            select(1).select_from(link).where(
                link.c[self.link_source] == source.c.id,
                link.c[self.link_target] == target.c.id,
            )
        )

    def related_to(self, target: FromClause) -> tuple[FromClause, ColumnElement]:
        """The target rows joined to their source's id: ``(from clause, source id column)``.

        Used by ``$expand`` to fetch the related rows of many parents in one query
        (``WHERE source_id IN (...)``) and by navigation (``WHERE source_id = n``).
        """
        if self.via == "target_fk":
            assert self.target_column
            return target, target.c[self.target_column]
        if self.via == "link":
            assert self.link_table is not None and self.link_source and self.link_target
            link = self.link_table.alias()
            return (
                target.join(link, link.c[self.link_target] == target.c.id),
                link.c[self.link_source],
            )
        source_table = ENTITIES_BY_NAME[self.source_name].table.alias()
        assert self.source_column
        return (
            target.join(source_table, source_table.c[self.source_column] == target.c.id),
            source_table.c.id,
        )

    # Filled in by Entity.__post_init__ so a Navigation knows its owner.
    source_name: str = ""


@dataclass(frozen=True)
class Entity:
    """One SensorThings entity type."""

    name: str
    set_name: str
    table: Table
    properties: dict[str, Property]
    navigations: dict[str, Navigation] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for navigation in self.navigations.values():
            object.__setattr__(navigation, "source_name", self.name)

    @property
    def id_property(self) -> Property:
        """The ``id`` property (``@iot.id``)."""
        return self.properties["id"]


def _id() -> Property:
    return Property("id", "id", ("id",))


def _text(name: str, column: str | None = None, required: bool = True) -> Property:
    return Property(name, "string", (column or name,), required=required)


def _json(name: str, column: str, required: bool = False) -> Property:
    return Property(name, "json", (column,), required=required, omit_null=not required)


def _geometry(name: str, column: str, required: bool = True, writable: bool = True) -> Property:
    return Property(name, "geometry", (column, *BBOX_COLUMNS), required=required,
                    writable=writable, omit_null=not required)


def _many(name: str, target: str, column: str) -> Navigation:
    return Navigation(name, target, True, "target_fk", target_column=column)


def _one(name: str, target: str, column: str) -> Navigation:
    return Navigation(name, target, False, "source_fk", source_column=column)


def _link(name: str, target: str, link: Table, source_col: str, target_col: str) -> Navigation:
    return Navigation(name, target, True, "link", link_table=link, link_source=source_col,
                      link_target=target_col)


def _props(*items: Property) -> dict[str, Property]:
    """Properties by name."""
    return {p.name: p for p in items}


def _navs(*items: Navigation) -> dict[str, Navigation]:
    """Navigations by name."""
    return {n.name: n for n in items}


THING = Entity(
    "Thing", "Things", things,
    _props(_id(), _text("name"), _text("description"), _json("properties", "properties")),
    _navs(
        _link("Locations", "Location", thing_locations, "thing_id", "location_id"),
        _many("HistoricalLocations", "HistoricalLocation", "thing_id"),
        _many("Datastreams", "Datastream", "thing_id"),
    ),
)

LOCATION = Entity(
    "Location", "Locations", locations,
    _props(
        _id(), _text("name"), _text("description"), _text("encodingType", "encoding_type"),
        _geometry("location", "location"), _json("properties", "properties"),
    ),
    _navs(
        _link("Things", "Thing", thing_locations, "location_id", "thing_id"),
        _link("HistoricalLocations", "HistoricalLocation", location_historical_locations,
              "location_id", "historical_location_id"),
    ),
)

HISTORICAL_LOCATION = Entity(
    "HistoricalLocation", "HistoricalLocations", historical_locations,
    _props(_id(), Property("time", "time", ("time",), required=True)),
    _navs(
        _one("Thing", "Thing", "thing_id"),
        _link("Locations", "Location", location_historical_locations,
              "historical_location_id", "location_id"),
    ),
)

DATASTREAM = Entity(
    "Datastream", "Datastreams", datastreams,
    _props(
        _id(), _text("name"), _text("description"),
        _text("observationType", "observation_type"),
        _json("unitOfMeasurement", "unit_of_measurement", required=True),
        _geometry("observedArea", "observed_area", required=False, writable=False),
        Property("phenomenonTime", "time_interval",
                 ("phenomenon_time_start", "phenomenon_time_end"), writable=False,
                 omit_null=True),
        Property("resultTime", "time_interval",
                 ("result_time_start", "result_time_end"), writable=False, omit_null=True),
        _json("properties", "properties"),
    ),
    _navs(
        _one("Thing", "Thing", "thing_id"),
        _one("Sensor", "Sensor", "sensor_id"),
        _one("ObservedProperty", "ObservedProperty", "observed_property_id"),
        _many("Observations", "Observation", "datastream_id"),
    ),
)

SENSOR = Entity(
    "Sensor", "Sensors", sensors,
    _props(
        _id(), _text("name"), _text("description"), _text("encodingType", "encoding_type"),
        _text("metadata"), _json("properties", "properties"),
    ),
    _navs(_many("Datastreams", "Datastream", "sensor_id")),
)

OBSERVED_PROPERTY = Entity(
    "ObservedProperty", "ObservedProperties", observed_properties,
    _props(
        _id(), _text("name"), _text("definition"), _text("description"),
        _json("properties", "properties"),
    ),
    _navs(_many("Datastreams", "Datastream", "observed_property_id")),
)

OBSERVATION = Entity(
    "Observation", "Observations", observations,
    _props(
        _id(),
        # Optional on create: the server uses the time of the request when it is missing.
        Property("phenomenonTime", "time_or_interval",
                 ("phenomenon_time_start", "phenomenon_time_end")),
        Property("resultTime", "time", ("result_time",)),
        Property("result", "result",
                 ("result_type", "result_number", "result_boolean", "result_string",
                  "result_json"), required=True),
        _json("resultQuality", "result_quality"),
        Property("validTime", "time_interval", ("valid_time_start", "valid_time_end"),
                 omit_null=True),
        _json("parameters", "parameters"),
    ),
    _navs(
        _one("Datastream", "Datastream", "datastream_id"),
        _one("FeatureOfInterest", "FeatureOfInterest", "feature_of_interest_id"),
    ),
)

FEATURE_OF_INTEREST = Entity(
    "FeatureOfInterest", "FeaturesOfInterest", features_of_interest,
    _props(
        _id(), _text("name"), _text("description"), _text("encodingType", "encoding_type"),
        _geometry("feature", "feature"), _json("properties", "properties"),
    ),
    _navs(_many("Observations", "Observation", "feature_of_interest_id")),
)

ENTITIES: tuple[Entity, ...] = (
    THING, LOCATION, HISTORICAL_LOCATION, DATASTREAM, SENSOR, OBSERVED_PROPERTY, OBSERVATION,
    FEATURE_OF_INTEREST,
)
ENTITIES_BY_NAME: dict[str, Entity] = {e.name: e for e in ENTITIES}
ENTITIES_BY_SET: dict[str, Entity] = {e.set_name: e for e in ENTITIES}


# --- who reads what -------------------------------------------------------------------------
#
# A Thing's organisation and visibility decide who reads it and everything hanging off it:
# - Thing: its own visibility;
# - HistoricalLocation, Datastream: through their Thing; Observation through its Datastream's Thing;
# - Location: through any Thing it is (or was, via a HistoricalLocation) the Location of;
# - FeatureOfInterest: through any Observation of it that the principal reads;
# - Sensor, ObservedProperty: through any Datastream using it that the principal reads.
# An entity linked to nothing yet (a Location or Sensor created on its own, before a Thing or
# Datastream uses it) is readable by the members of its own organisation only.


def thing_visible(principal: Principal, thing: FromClause) -> ColumnElement[bool]:
    """SQL true for Things (alias ``thing``) the principal may read."""
    return visible_clause(principal, thing.c.organisation_id, thing.c.visibility)


def _member_of_owner(principal: Principal, alias: FromClause) -> ColumnElement[bool]:
    """SQL true when the principal is a member of the row's own organisation."""
    members = sorted(principal.member_of)
    if not members:
        return false()
    return alias.c.organisation_id.in_(members)


def visible_thing_ids(principal: Principal) -> Select:
    """SELECT of the ids of the Things the principal may read (uncorrelated, planned once)."""
    t = things.alias("vis_t")
    return select(t.c.id).where(thing_visible(principal, t))


def visible_datastream_column(principal: Principal, column: str) -> Select:
    """SELECT of ``column`` of the Datastreams whose Thing the principal may read."""
    d = datastreams.alias("vis_d")
    t = things.alias("vis_dt")
    return (select(d.c[column]).select_from(d.join(t, t.c.id == d.c.thing_id))
            .where(thing_visible(principal, t)))


# Navigations along which the rule above follows the owning Thing: whoever reads the source
# reads every related target, so expanding or navigating them needs no second check.
_VISIBLE_WITH_SOURCE = {
    ("Thing", "Locations"), ("Thing", "HistoricalLocations"), ("Thing", "Datastreams"),
    ("HistoricalLocation", "Thing"), ("HistoricalLocation", "Locations"),
    ("Datastream", "Thing"), ("Datastream", "Sensor"), ("Datastream", "ObservedProperty"),
    ("Datastream", "Observations"),
    ("Observation", "Datastream"), ("Observation", "FeatureOfInterest"),
}


def visible_with_source(navigation: Navigation) -> bool:
    """True when every target of ``navigation`` is readable by whoever reads its source."""
    return (navigation.source_name, navigation.name) in _VISIBLE_WITH_SOURCE


def visibility_clause(entity: Entity | str, alias: FromClause,
                      principal: Principal) -> ColumnElement[bool]:
    """SQL true for rows of ``entity`` (table alias ``alias``) that ``principal`` may read."""
    if isinstance(entity, str):
        entity = ENTITIES_BY_NAME[entity]
    if principal.write_anywhere:
        return true()
    name = entity.name
    # Uncorrelated IN (SELECT ...) rather than EXISTS per row: both databases evaluate the
    # small set of readable Things/Datastreams once, which keeps large scans and $count fast.
    if name == "Thing":
        return thing_visible(principal, alias)
    if name in {"HistoricalLocation", "Datastream"}:
        return alias.c.thing_id.in_(visible_thing_ids(principal))
    if name == "Observation":
        from placehub.sta.sql_functions import unindexed

        return unindexed(alias.c.datastream_id).in_(visible_datastream_column(principal, "id"))
    if name == "Location":
        t = things.alias("vis_t")
        tl = thing_locations.alias("vis_tl")
        hl = historical_locations.alias("vis_hl")
        lhl = location_historical_locations.alias("vis_lhl")
        # EXISTS per Location (an index probe on location_id), not IN: Locations are as many
        # as Things, so the set of readable ones is large, and a page or a spatial-index lookup
        # needs only its own rows checked. OFFSET 0 keeps PostgreSQL from turning each EXISTS
        # into a hash of every readable Location, built before the first row (100,000 of them
        # took longer than the rest of a spatial query).
        current = exists(
            select(1).select_from(tl.join(t, t.c.id == tl.c.thing_id))
            .where(tl.c.location_id == alias.c.id, thing_visible(principal, t)).offset(0))
        past = exists(
            select(1)
            .select_from(lhl.join(hl, hl.c.id == lhl.c.historical_location_id)
                         .join(t, t.c.id == hl.c.thing_id))
            .where(lhl.c.location_id == alias.c.id, thing_visible(principal, t)).offset(0))
        unlinked = and_(
            not_(exists(select(1).select_from(tl).where(tl.c.location_id == alias.c.id))),
            not_(exists(select(1).select_from(lhl).where(lhl.c.location_id == alias.c.id))),
        )
        return or_(current, past, and_(unlinked, _member_of_owner(principal, alias)))
    if name == "FeatureOfInterest":
        o = observations.alias("vis_o")
        seen = exists(select(1).select_from(o).where(
            o.c.feature_of_interest_id == alias.c.id,
            o.c.datastream_id.in_(visible_datastream_column(principal, "id")),
        ))
        unused = not_(exists(select(1).select_from(o).where(
            o.c.feature_of_interest_id == alias.c.id)))
        return or_(seen, and_(unused, _member_of_owner(principal, alias)))
    if name in {"Sensor", "ObservedProperty"}:
        column = "sensor_id" if name == "Sensor" else "observed_property_id"
        d = datastreams.alias("vis_d2")
        used = alias.c.id.in_(visible_datastream_column(principal, column))
        unused = not_(exists(select(1).select_from(d).where(d.c[column] == alias.c.id)))
        return or_(used, and_(unused, _member_of_owner(principal, alias)))
    raise ValueError(f"no visibility rule for {name}")
