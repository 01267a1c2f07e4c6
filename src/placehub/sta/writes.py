"""Create, update and delete SensorThings entities (OGC 18-088 clause 10), with access checks.

- Create: links to existing entities by ``{"@iot.id": n}`` (extra members, as frost-sta-client
  sends them, are ignored) and deep insert, all or nothing in one transaction.
- Update: PATCH merges, PUT replaces, JSON Patch (RFC 6902) applies to the entity's JSON.
- Delete: with the cascades of the spec's Table 25.
- A Thing given new Locations gets a HistoricalLocation; Observations go through the batched
  writer (``placehub.sta.observations``), which also generates FeaturesOfInterest.

Who may write: editors and admins of the owning organisation. A Thing's organisation and
visibility are given in the annotations ``@placehub.organisation`` (slug) and
``@placehub.visibility``; entities hanging off a Thing inherit its organisation.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jsonpatch
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import DataError, IntegrityError

from placehub.access import audit, service
from placehub.access.service import Principal
from placehub.access.tables import VISIBILITIES, organisations
from placehub.db import Database
from placehub.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from placehub.sta.model import (
    ENTITIES_BY_NAME,
    ENTITIES_BY_SET,
    ORGANISATION_ANNOTATION,
    OWNED_ENTITIES,
    VISIBILITY_ANNOTATION,
    Entity,
    Navigation,
    Property,
    visibility_clause,
)
from placehub.sta.observations import (
    NewObservation,
    WrittenObservation,
    refresh_datastream_summaries,
    split_result,
    write_observations,
)
from placehub.sta.paths import ResourcePath
from placehub.sta.query import ReadContext, resolve
from placehub.sta.serialise import (
    Links,
    geojson_bbox,
    parse_interval,
    parse_time,
    parse_time_or_interval,
    property_value,
)
from placehub.sta.tables import (
    datastreams,
    features_of_interest,
    historical_locations,
    location_historical_locations,
    observations,
    thing_locations,
    things,
)

# Members of a request body that are control information, never data.
_IGNORED_SUFFIXES = ("@iot.navigationLink", "@iot.count", "@iot.nextLink")
_IGNORED = {"@iot.id", "@iot.selfLink", "id"}
_ANNOTATIONS = {ORGANISATION_ANNOTATION, VISIBILITY_ANNOTATION}
LOCAL_ORGANISATION = "local"


@dataclass
class WriteEvents:
    """What changed, announced on ``Database.events`` after the transaction commits."""

    things_changed: set[int] = field(default_factory=set)
    locations_changed: set[int] = field(default_factory=set)  # Thing ids
    observations_written: list[WrittenObservation] = field(default_factory=list)

    def publish(self, database: Database) -> None:
        """Announce everything recorded on the database's event bus."""
        if self.things_changed:
            database.events.publish("things.changed", sorted(self.things_changed))
        if self.locations_changed:
            database.events.publish("locations.changed", sorted(self.locations_changed))
        if self.observations_written:
            database.events.publish("observations.written", self.observations_written)


@dataclass
class CreateOutcome:
    """What a POST created: the entity type and id (None for a $ref link)."""
    entity: Entity | None  # None when only a link ($ref) was added
    entity_id: int | None


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


# --- public entry points ---------------------------------------------------------------------


def create_entity(conn: Connection, principal: Principal, set_name: str, body: Any,
                  events: WriteEvents | None = None) -> int:
    """Create an entity (deep insert, links by ``@iot.id``) in ``conn``'s transaction.

    The caller commits and then calls ``events.publish(database)`` if it passed ``events``.
    """
    entity = ENTITIES_BY_SET.get(set_name)
    if entity is None:
        raise BadRequest(f"unknown entity set {set_name!r}")
    writer = Writer(conn, principal, events)
    new_id = writer.create(entity, body, entity.name)
    audit.record_sta_change(writer, "create", entity, new_id)
    return new_id


def update_entity(conn: Connection, principal: Principal, set_name: str, entity_id: int,
                  body: Any, mode: str = "merge", events: WriteEvents | None = None) -> None:
    """Update an entity: ``mode`` is merge (PATCH), replace (PUT) or json-patch."""
    entity = ENTITIES_BY_SET.get(set_name)
    if entity is None:
        raise BadRequest(f"unknown entity set {set_name!r}")
    writer = Writer(conn, principal, events)
    writer.update(entity, entity_id, body, mode)
    audit.record_sta_change(writer, "update", entity, entity_id, body=body)


def delete_entity(conn: Connection, principal: Principal, set_name: str, entity_id: int,
                  events: WriteEvents | None = None) -> None:
    """Delete an entity and what the spec says goes with it."""
    entity = ENTITIES_BY_SET.get(set_name)
    if entity is None:
        raise BadRequest(f"unknown entity set {set_name!r}")
    writer = Writer(conn, principal, events)
    audit.record_sta_change(writer, "delete", entity, entity_id)
    writer.delete(entity, entity_id)


def create_from_request(database: Database, principal: Principal, path: ResourcePath,
                        body: Any) -> CreateOutcome:
    """POST on a collection, a navigation collection or a ``$ref``; commits, then announces."""
    _require_writer(principal)
    events = WriteEvents()
    with _translated_errors(), database.begin() as conn:
        writer = Writer(conn, principal, events)
        outcome = writer.create_at(path, body)
        audit.record_sta_change(writer, "create", outcome.entity, outcome.entity_id,
                                path=path, body=body)
    events.publish(database)
    return outcome


def update_from_request(database: Database, principal: Principal, path: ResourcePath,
                        body: Any, mode: str) -> tuple[Entity, int]:
    """PATCH/PUT on an entity (or PUT on a single-valued ``$ref``); commits, then announces."""
    _require_writer(principal)
    events = WriteEvents()
    with _translated_errors(), database.begin() as conn:
        writer = Writer(conn, principal, events)
        if path.kind == "ref":
            result = writer.replace_ref(path, body)
        else:
            if path.kind != "entity":
                raise BadRequest(f"{path.text()}: update one entity, e.g. Things(1)")
            entity_id = writer.resolve_id(path)
            writer.update(path.entity, entity_id, body, mode)
            result = (path.entity, entity_id)
        audit.record_sta_change(writer, "update", *result, path=path, body=body)
    events.publish(database)
    return result


def delete_from_request(database: Database, principal: Principal, path: ResourcePath) -> None:
    """DELETE an entity or a ``$ref`` link; commits, then announces."""
    _require_writer(principal)
    events = WriteEvents()
    with _translated_errors(), database.begin() as conn:
        writer = Writer(conn, principal, events)
        if path.kind == "ref":
            writer.delete_ref(path)
            audit.record_sta_change(writer, "delete", None, None, path=path)
        elif path.kind == "entity":
            entity_id = writer.resolve_id(path)
            audit.record_sta_change(writer, "delete", path.entity, entity_id, path=path)
            writer.delete(path.entity, entity_id)
        else:
            raise BadRequest(f"{path.text()}: DELETE one entity, e.g. Things(1), or a link "
                             "ending in /$ref")
    events.publish(database)


def _require_writer(principal: Principal) -> None:
    """Writes need a token (or the local anonymous-write setting): 401 otherwise."""
    if principal.is_anonymous and not principal.write_anywhere:
        raise Unauthorized("writing needs an API token: send 'Authorization: Bearer <token>', "
                           "or HTTP Basic with the token as the password (create one with "
                           "'placehub tokens create')")


class _translated_errors:
    """Database constraint errors become 409/400 with a message, never a 500."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: Any, _tb: Any) -> None:
        if isinstance(error, IntegrityError):
            detail = str(error.orig).splitlines()[0] if error.orig else "constraint violated"
            raise Conflict(f"the change conflicts with stored data ({detail})") from None
        if isinstance(error, DataError):
            detail = str(error.orig).splitlines()[0] if error.orig else "invalid value"
            raise BadRequest(f"a value cannot be stored ({detail})") from None


# --- the writer --------------------------------------------------------------------------------


class Writer:
    """Creates, updates and deletes entities for one principal inside one transaction."""

    def __init__(self, conn: Connection, principal: Principal,
                 events: WriteEvents | None = None) -> None:
        self.conn = conn
        self.principal = principal
        self.events = events if events is not None else WriteEvents()

    # -- reading what exists ---------------------------------------------------------------

    def visible_row(self, entity: Entity, entity_id: Any, label: str) -> Mapping[Any, Any]:
        """The stored row, if the principal may read it; otherwise 'does not exist'."""
        if (isinstance(entity_id, bool) or not isinstance(entity_id, int)
                or not -(2**63) < entity_id < 2**63):
            raise BadRequest(f"{label}: @iot.id must be a whole number, got {entity_id!r}")
        alias = entity.table.alias("w")
        row = self.conn.execute(
            select(alias).where(alias.c.id == entity_id,
                                visibility_clause(entity, alias, self.principal))
        ).mappings().first()
        if row is None:
            raise NotFound(f"{label}: {entity.set_name}({entity_id}) does not exist")
        return row

    def resolve_id(self, path: ResourcePath) -> int:
        """The id of the one entity a path addresses (every step must be readable)."""
        scope = resolve(ReadContext(self.conn, self.principal, Links("")), path)
        if scope.entity_id is None:
            raise BadRequest(f"{path.text()}: address one entity, e.g. "
                             f"{path.target.text()}(1)")
        return scope.entity_id

    def thing_owner(self, thing_id: int) -> tuple[int, str]:
        """A Thing's organisation and visibility."""
        row = self.conn.execute(select(things.c.organisation_id, things.c.visibility)
                                .where(things.c.id == thing_id)).one()
        return int(row.organisation_id), str(row.visibility)

    def owning_organisation(self, entity: Entity, row: Mapping[str, Any]) -> int:
        """The organisation whose editors may change ``row``."""
        if entity.name in OWNED_ENTITIES:
            return int(row["organisation_id"])
        if entity.name in {"Datastream", "HistoricalLocation"}:
            return self.thing_owner(int(row["thing_id"]))[0]
        if entity.name == "Observation":
            thing_id = self.conn.execute(select(datastreams.c.thing_id).where(
                datastreams.c.id == row["datastream_id"])).scalar_one()
            return self.thing_owner(int(thing_id))[0]
        raise ValueError(entity.name)

    def require_write(self, organisation_id: int, what: str) -> None:
        """403 unless the principal may write for ``organisation_id``."""
        if not self.principal.can_write(organisation_id):
            raise Forbidden(f"you may not change {what}: it needs the editor or admin role in "
                            f"organisation {self.organisation_slug(organisation_id)!r}")

    def organisation_slug(self, organisation_id: int) -> str:
        """The slug of an organisation, for messages."""
        slug = self.conn.execute(select(organisations.c.slug).where(
            organisations.c.id == organisation_id)).scalar()
        return str(slug or organisation_id)

    def organisation_for(self, slug: Any, label: str) -> int:
        """The id of the organisation named by slug in a body."""
        if not isinstance(slug, str):
            raise BadRequest(f"{label}/{ORGANISATION_ANNOTATION} must be an organisation slug, "
                             'e.g. "rutland"')
        row = self.conn.execute(select(organisations.c.id).where(
            organisations.c.slug == slug)).scalar()
        if row is None:
            raise BadRequest(f"{label}: unknown organisation {slug!r}")
        return int(row)

    def default_organisation(self, label: str) -> int:
        """The principal's organisation when a request does not name one."""
        writable = sorted(self.principal.writes_to)
        if len(writable) == 1:
            return writable[0]
        if len(writable) > 1:
            slugs = ", ".join(self.organisation_slug(o) for o in writable)
            raise BadRequest(f"{label}: you write for several organisations ({slugs}); say "
                             f'which, e.g. "{ORGANISATION_ANNOTATION}": "{slugs.split(", ")[0]}"')
        if self.principal.write_anywhere:
            # Anonymous local writes: the only organisation there is, or a "local" one.
            ids = self.conn.execute(select(organisations.c.id).limit(2)).scalars().all()
            if len(ids) == 1:
                return int(ids[0])
            return service.ensure_organisation(self.conn, LOCAL_ORGANISATION, "Local data")
        raise Forbidden("you have no editor or admin role in any organisation")

    # -- create -------------------------------------------------------------------------------

    def create_at(self, path: ResourcePath, body: Any) -> CreateOutcome:
        """POST semantics for ``path``: a collection, navigation collection or ``$ref``."""
        if path.kind == "ref":
            self.add_ref(path, body)
            return CreateOutcome(None, None)
        if path.kind != "collection":
            raise BadRequest(f"{path.text()}: POST to a collection, e.g. /Things or "
                             "/Datastreams(1)/Observations")
        entity = path.entity
        step = path.target
        if step.navigation is None:
            return CreateOutcome(entity, self.create(entity, body, entity.name))
        # POST to a navigation collection links the new entity to the parent (req create-entity).
        parent_path = ResourcePath(path.steps[:-1], "entity")
        parent_id = self.resolve_id(parent_path)
        if not isinstance(body, dict):
            raise BadRequest(f"{entity.name}: the body must be a JSON object")
        reverse = _reverse(step.navigation)
        body = dict(body)
        body[reverse.name] = [{"@iot.id": parent_id}] if reverse.many else {"@iot.id": parent_id}
        return CreateOutcome(entity, self.create(entity, body, entity.name))

    def create(self, entity: Entity, body: Any, label: str,
               preset: Mapping[str, int] | None = None, org_hint: int | None = None) -> int:
        """Create ``entity`` from ``body`` (deep insert); ``preset`` fixes foreign keys."""
        if not isinstance(body, dict):
            raise BadRequest(f"{label}: expected a JSON object for a new {entity.name}")
        preset = dict(preset or {})
        values, navigations = self.split_body(entity, body, label, creating=True)
        organisation_hint, visibility = self.access_annotations(entity, body, label)
        # Single-valued relations first: the row needs their ids.
        for navigation in entity.navigations.values():
            if navigation.via != "source_fk":
                continue
            assert navigation.source_column
            column = navigation.source_column
            if column in preset:
                values[column] = preset[column]
            elif navigation.name in navigations:
                values[column] = self.link_or_create(
                    navigation, navigations[navigation.name], f"{label}/{navigation.name}",
                    org_hint)
            elif _mandatory(entity, navigation):
                raise BadRequest(f"{label}: a {entity.name} needs its {navigation.name}: link "
                                 f'one with "{navigation.name}": {{"@iot.id": ...}} or '
                                 "create it inline")
            # What hangs off a Thing (directly or through a Datastream) belongs to its owner.
            if navigation.target == "Thing" and column in values:
                org_hint = self.thing_owner(values[column])[0]
            if navigation.target == "Datastream" and column in values:
                org_hint = self.owning_organisation(ENTITIES_BY_NAME["Observation"],
                                                    {"datastream_id": values[column]})
        if entity.name == "Location" and org_hint is None:
            org_hint = self._first_linked_thing_owner(navigations.get("Things"))
        if entity.name in OWNED_ENTITIES:
            organisation = organisation_hint or org_hint or self.default_organisation(label)
            values["organisation_id"] = organisation
        else:
            assert org_hint is not None
            organisation = org_hint
        self.require_write(organisation, f"a new {entity.name} of this organisation")
        if entity.name == "Thing":
            values["visibility"] = visibility or "organisation"
        if entity.name == "Observation":
            new_id = self.write_observation(values, label)
        else:
            new_id = int(self.conn.execute(
                insert(entity.table).values(**values)).inserted_primary_key[0])  # type: ignore[index]
        if entity.name == "Thing":
            self.events.things_changed.add(new_id)
        elif entity.name in {"Datastream", "HistoricalLocation"}:
            self.events.things_changed.add(int(values["thing_id"]))
        # Many-valued relations: link tables and children pointing at the new row.
        self.relate_many(entity, new_id, navigations, label, organisation, creating=True)
        return new_id

    def relate_many(self, entity: Entity, entity_id: int, navigations: Mapping[str, Any],
                    label: str, organisation: int, creating: bool) -> None:
        """Apply the to-many navigation members of a body (links, moved or new children)."""
        for navigation in entity.navigations.values():
            if navigation.via == "source_fk" or navigation.name not in navigations:
                continue
            items = navigations[navigation.name]
            if not isinstance(items, list):
                raise BadRequest(f"{label}/{navigation.name}: expected a JSON array")
            self.add_many(entity, entity_id, navigation, items, f"{label}/{navigation.name}",
                          organisation, creating)

    def _first_linked_thing_owner(self, items: Any) -> int | None:
        """The owner of the first existing Thing a new Location is linked to, if any."""
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("@iot.id"), int):
                owner = self.conn.execute(select(things.c.organisation_id).where(
                    things.c.id == item["@iot.id"])).scalar()
                if owner is not None:
                    return int(owner)
        return None

    def link_or_create(self, navigation: Navigation, value: Any, label: str,
                       org_hint: int | None) -> int:
        """The id of an existing entity (``{"@iot.id": n, ...}``) or of one created inline."""
        target = navigation.target_entity
        if not isinstance(value, dict):
            raise BadRequest(f"{label}: expected a JSON object (an entity or "
                             '{"@iot.id": ...})')
        if "@iot.id" in value:
            # Extra members beside @iot.id (frost-sta-client sends them) are ignored.
            try:
                return int(self.visible_row(target, value["@iot.id"], label)["id"])
            except NotFound as error:  # a wrong reference in the body is a bad request
                raise BadRequest(error.message) from None
        return self.create(target, value, label, org_hint=org_hint)

    def add_many(self, entity: Entity, entity_id: int, navigation: Navigation,
                 items: list[Any], label: str, organisation: int, creating: bool) -> None:
        """Relate ``entity_id`` to the entities in ``items`` (existing by @iot.id, or new)."""
        target = navigation.target_entity
        if navigation.via == "target_fk":
            assert navigation.target_column
            for index, item in enumerate(items):
                item_label = f"{label}[{index}]"
                if isinstance(item, dict) and "@iot.id" in item:
                    self.move_child(navigation, entity_id, item["@iot.id"], item_label)
                elif not creating:
                    raise BadRequest(f"{item_label}: an update may only link existing "
                                     'entities ({"@iot.id": ...}), not create them')
                else:
                    self.create(target, item, item_label,
                                preset={navigation.target_column: entity_id},
                                org_hint=organisation)
            return
        ids: list[int] = []
        for index, item in enumerate(items):
            item_label = f"{label}[{index}]"
            if not creating and not (isinstance(item, dict) and "@iot.id" in item):
                raise BadRequest(f"{item_label}: an update may only link existing "
                                 'entities ({"@iot.id": ...}), not create them')
            ids.append(self.link_or_create(navigation, item, item_label, organisation))
        self.link(entity, entity_id, navigation, ids, label)

    def link(self, entity: Entity, entity_id: int, navigation: Navigation, ids: list[int],
             label: str) -> None:
        """Add link-table relations; a Thing's new Locations make a HistoricalLocation."""
        pair = (entity.name, navigation.name)
        if pair == ("Thing", "Locations"):
            self.set_thing_locations(entity_id, ids)
        elif pair == ("Location", "Things"):
            for thing_id in ids:
                self.require_write(self.thing_owner(thing_id)[0], f"Things({thing_id})")
                self.set_thing_locations(thing_id, [entity_id])
        elif pair == ("Location", "HistoricalLocations"):
            self._insert_links(location_historical_locations,
                               [{"location_id": entity_id, "historical_location_id": h}
                                for h in ids])
        elif pair == ("HistoricalLocation", "Locations"):
            self._insert_links(location_historical_locations,
                               [{"location_id": loc, "historical_location_id": entity_id}
                                for loc in ids])
        else:
            raise BadRequest(f"{label}: cannot link {navigation.name} here")

    def _insert_links(self, table: Any, rows: list[dict[str, int]]) -> None:
        """Insert link-table rows that are not there yet."""
        for row in rows:
            exists = self.conn.execute(select(*table.c).filter_by(**row)).first()
            if exists is None:
                self.conn.execute(insert(table).values(**row))

    def set_thing_locations(self, thing_id: int, location_ids: list[int]) -> None:
        """Make ``location_ids`` the Thing's current Locations and record a HistoricalLocation.

        A Thing's Location is its last known location (OGC 18-088 8.2.2), so new Locations
        replace the current ones; the old ones stay reachable through HistoricalLocations.
        """
        if not location_ids:
            return
        unique = list(dict.fromkeys(location_ids))
        current = set(self.conn.execute(select(thing_locations.c.location_id).where(
            thing_locations.c.thing_id == thing_id)).scalars())
        if current == set(unique):
            return
        self.conn.execute(delete(thing_locations).where(thing_locations.c.thing_id == thing_id))
        self.conn.execute(insert(thing_locations),
                          [{"thing_id": thing_id, "location_id": loc} for loc in unique])
        history = int(self.conn.execute(insert(historical_locations).values(
            time=now(), thing_id=thing_id)).inserted_primary_key[0])  # type: ignore[index]
        self.conn.execute(insert(location_historical_locations), [
            {"location_id": loc, "historical_location_id": history} for loc in unique])
        self.events.locations_changed.add(thing_id)
        self.events.things_changed.add(thing_id)

    def move_child(self, navigation: Navigation, parent_id: int, child_id: Any,
                   label: str) -> None:
        """Point an existing child (e.g. a Datastream) at a new parent (e.g. a Thing)."""
        target = navigation.target_entity
        row = self.visible_row(target, child_id, label)
        self.require_write(self.owning_organisation(target, row), f"{target.set_name}({child_id})")
        assert navigation.target_column
        self.conn.execute(update(target.table).where(target.table.c.id == row["id"])
                          .values({navigation.target_column: parent_id}))
        if target.name == "Observation":
            refresh_datastream_summaries(self.conn, {row["datastream_id"], parent_id}
                                         if navigation.target_column == "datastream_id"
                                         else {row["datastream_id"]})
        if target.name in {"Datastream", "HistoricalLocation"}:
            self.events.things_changed.update({int(row["thing_id"]), parent_id}
                                              if navigation.target_column == "thing_id"
                                              else {int(row["thing_id"])})

    def write_observation(self, values: dict[str, Any], label: str) -> int:
        """Store one Observation through the batched writer; 400 with its error."""
        start, end = values.get("phenomenon_time_start"), values.get("phenomenon_time_end")
        if start is None:
            start = now()  # the server's time when the client sends none (req observation)
        result = _result_from_columns(values)
        new = NewObservation(
            datastream_id=values["datastream_id"],
            phenomenon_time=start,
            phenomenon_time_end=end,
            result=result,
            result_time=values.get("result_time"),
            valid_time_start=values.get("valid_time_start"),
            valid_time_end=values.get("valid_time_end"),
            result_quality=values.get("result_quality"),
            parameters=values.get("parameters"),
            feature_of_interest_id=values.get("feature_of_interest_id"),
        )
        outcome = write_observations(self.conn, [new])
        row = outcome.outcomes[0]
        if row.error is not None or row.id is None:
            raise BadRequest(f"{label}: {row.error}")
        self.events.observations_written.extend(outcome.written)
        return int(row.id)

    # -- the body -------------------------------------------------------------------------

    def split_body(self, entity: Entity, body: Mapping[str, Any], label: str,
                   creating: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        """Column values and navigation members of a request body, checked against the model."""
        values: dict[str, Any] = {}
        navigations: dict[str, Any] = {}
        for key, value in body.items():
            if key in _IGNORED or key in _ANNOTATIONS or key.endswith(_IGNORED_SUFFIXES):
                continue
            if key in entity.navigations:
                navigations[key] = value
                continue
            prop = entity.properties.get(key)
            if prop is None:
                raise BadRequest(
                    f"{label}: {entity.name} has no property {key!r}; it has "
                    + ", ".join([*entity.properties, *entity.navigations])
                )
            if not prop.writable:
                continue  # computed by the service (e.g. Datastream phenomenonTime)
            values.update(column_values(entity, prop, value, f"{label}/{key}"))
        if creating:
            for prop in entity.properties.values():
                if prop.required and prop.writable and prop.name not in body:
                    raise BadRequest(f"{label}: {entity.name} needs {prop.name!r}")
        return values, navigations

    def access_annotations(self, entity: Entity, body: Mapping[str, Any],
                           label: str) -> tuple[int | None, str | None]:
        """The organisation (id) and visibility a body names in placehub's annotations."""
        organisation = visibility = None
        if ORGANISATION_ANNOTATION in body:
            if entity.name not in OWNED_ENTITIES:
                raise BadRequest(f"{label}/{ORGANISATION_ANNOTATION}: a {entity.name} belongs to "
                                 "the organisation of its Thing; leave it out")
            organisation = self.organisation_for(body[ORGANISATION_ANNOTATION], label)
        if VISIBILITY_ANNOTATION in body:
            if entity.name != "Thing":
                raise BadRequest(f"{label}/{VISIBILITY_ANNOTATION}: only a Thing has a "
                                 "visibility (what hangs off it follows it); leave it out")
            visibility = body[VISIBILITY_ANNOTATION]
            if visibility not in VISIBILITIES:
                raise BadRequest(f"{label}/{VISIBILITY_ANNOTATION}: use one of "
                                 + ", ".join(VISIBILITIES))
        return organisation, visibility

    # -- update ---------------------------------------------------------------------------

    def update(self, entity: Entity, entity_id: int, body: Any, mode: str) -> None:
        """PATCH (merge), PUT (replace) or JSON Patch of one entity."""
        label = f"{entity.set_name}({entity_id})"
        row = self.visible_row(entity, entity_id, label)
        organisation = self.owning_organisation(entity, row)
        self.require_write(organisation, label)
        if mode == "json-patch":
            body = self.apply_json_patch(entity, row, body, label)
            mode = "merge"
        if not isinstance(body, dict):
            raise BadRequest(f"{label}: the body must be a JSON object")
        values, navigations = self.split_body(entity, body, label, creating=False)
        if mode == "replace":
            for prop in entity.properties.values():
                if prop.kind == "id" or not prop.writable or prop.name in body:
                    continue
                if prop.required or prop.kind == "time_or_interval":
                    raise BadRequest(f"{label}: PUT replaces the whole entity and "
                                     f"{prop.name!r} is missing")
                values.update({column: None for column in prop.columns})
        new_org, visibility = self.access_annotations(entity, body, label)
        if new_org is not None and new_org != organisation:
            self.require_write(new_org, f"data of organisation {self.organisation_slug(new_org)!r}")
            values["organisation_id"] = new_org
        if visibility is not None:
            values["visibility"] = visibility
        for navigation in entity.navigations.values():
            if navigation.name not in navigations or navigation.via != "source_fk":
                continue
            value = navigations[navigation.name]
            if not isinstance(value, dict) or "@iot.id" not in value:
                raise BadRequest(f"{label}/{navigation.name}: an update may only link an "
                                 'existing entity ({"@iot.id": ...}); nested updates are not '
                                 "supported")
            target_row = self.visible_row(navigation.target_entity, value["@iot.id"],
                                          f"{label}/{navigation.name}")
            assert navigation.source_column
            values[navigation.source_column] = int(target_row["id"])
            if navigation.target in {"Thing", "Datastream"}:
                # Moving data under another Thing or Datastream writes to its owner's data.
                target_entity = navigation.target_entity
                self.require_write(self.owning_organisation(target_entity, target_row),
                                   f"{target_entity.set_name}({target_row['id']})")
        if entity.name == "Observation":
            self.update_observation(row, values)
        elif values:
            self.conn.execute(update(entity.table).where(entity.table.c.id == entity_id)
                              .values(**values))
        self.after_update(entity, row, values)
        self.relate_many(entity, entity_id, navigations, label, organisation, creating=False)

    def apply_json_patch(self, entity: Entity, row: Mapping[str, Any], operations: Any,
                         label: str) -> dict[str, Any]:
        """The entity's writable JSON after applying RFC 6902 ``operations``."""
        if not isinstance(operations, list):
            raise BadRequest(f"{label}: a JSON Patch body is an array of operations")
        document: dict[str, Any] = {}
        for name, prop in entity.properties.items():
            if prop.kind != "id" and prop.writable:
                document[name] = copy.deepcopy(property_value(prop, row))
        if entity.name in OWNED_ENTITIES:
            document[ORGANISATION_ANNOTATION] = self.organisation_slug(int(row["organisation_id"]))
        if entity.name == "Thing":
            document[VISIBILITY_ANNOTATION] = row["visibility"]
        try:
            patched = jsonpatch.apply_patch(document, operations)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
            raise BadRequest(f"{label}: the JSON Patch cannot be applied ({error})") from None
        except (TypeError, ValueError, KeyError, AttributeError) as error:
            raise BadRequest(f"{label}: not a valid JSON Patch ({error})") from None
        if not isinstance(patched, dict):
            raise BadRequest(f"{label}: the JSON Patch must leave an object")
        return {k: v for k, v in patched.items() if k not in document or document[k] != v}

    def update_observation(self, row: Mapping[str, Any], values: dict[str, Any]) -> None:
        """Update an Observation and recompute its Datastreams' summaries."""
        if values:
            self.conn.execute(update(observations).where(observations.c.id == row["id"])
                              .values(**values))
        streams = {int(row["datastream_id"])}
        if "datastream_id" in values:
            streams.add(int(values["datastream_id"]))
        refresh_datastream_summaries(self.conn, streams)

    def after_update(self, entity: Entity, row: Mapping[Any, Any],
                     values: Mapping[str, Any]) -> None:
        """Record what an update changed, for the events after commit."""
        if entity.name == "Thing":
            self.events.things_changed.add(int(row["id"]))
        elif entity.name == "Datastream":
            self.events.things_changed.update({int(row["thing_id"]),
                                               int(values.get("thing_id", row["thing_id"]))})
        elif entity.name == "Location" and "location" in values:
            thing_ids = set(self.conn.execute(select(thing_locations.c.thing_id).where(
                thing_locations.c.location_id == row["id"])).scalars())
            self.events.locations_changed.update(thing_ids)
            # FeaturesOfInterest generated from the old geometry no longer describe it.
            self.conn.execute(update(features_of_interest)
                              .where(features_of_interest.c.generated_from_location_id
                                     == row["id"])
                              .values(generated_from_location_id=None))

    # -- $ref links ------------------------------------------------------------------------

    def add_ref(self, path: ResourcePath, body: Any) -> None:
        """POST .../Nav/$ref with ``{"@iot.id": n}``: add the entity to a to-many relation."""
        step = path.target
        if step.navigation is None or not step.navigation.many or step.id is not None:
            raise BadRequest(f"{path.text()}/$ref: POST a link to a collection, e.g. "
                             "Things(1)/Locations/$ref")
        parent_path = ResourcePath(path.steps[:-1], "entity")
        parent_entity = path.steps[-2].entity
        parent_id = self.resolve_id(parent_path)
        parent_row = self.visible_row(parent_entity, parent_id, parent_path.text())
        organisation = self.owning_organisation(parent_entity, parent_row)
        self.require_write(organisation, parent_path.text())
        if not isinstance(body, dict) or "@iot.id" not in body:
            raise BadRequest(f"{path.text()}/$ref: send {{\"@iot.id\": ...}}")
        self.add_many(parent_entity, parent_id, step.navigation, [body],
                      f"{path.text()}/$ref", organisation, creating=False)

    def replace_ref(self, path: ResourcePath, body: Any) -> tuple[Entity, int]:
        """PUT .../Nav/$ref: point a single-valued relation at another entity."""
        step = path.target
        if step.navigation is None or step.navigation.many:
            raise BadRequest(f"{path.text()}/$ref: PUT replaces a single-valued link, e.g. "
                             "Datastreams(1)/Sensor/$ref")
        parent_entity = path.steps[-2].entity
        parent_id = self.resolve_id(ResourcePath(path.steps[:-1], "entity"))
        self.update(parent_entity, parent_id, {step.navigation.name: body}, "merge")
        return parent_entity, parent_id

    def delete_ref(self, path: ResourcePath) -> None:
        """DELETE .../Nav(id)/$ref: remove a link (only optional relations can be removed)."""
        step = path.target
        if len(path.steps) < 2 or step.navigation is None:
            raise BadRequest(f"{path.text()}/$ref: name the link, e.g. "
                             "Things(1)/Locations(2)/$ref")
        navigation = step.navigation
        if navigation.via != "link":
            raise Conflict(f"{path.text()}/$ref: every {navigation.target} needs its "
                           f"{_reverse(navigation).name}; link it elsewhere instead of "
                           "removing the link")
        if step.id is None:
            raise BadRequest(f"{path.text()}/$ref: say which link, e.g. "
                             f"{navigation.name}(2)/$ref")
        parent_entity = path.steps[-2].entity
        parent_id = self.resolve_id(ResourcePath(path.steps[:-1], "entity"))
        child_id = self.resolve_id(path)
        parent_row = self.visible_row(parent_entity, parent_id, path.text())
        self.require_write(self.owning_organisation(parent_entity, parent_row), path.text())
        assert navigation.link_table is not None and navigation.link_source
        assert navigation.link_target
        table = navigation.link_table
        self.conn.execute(delete(table).where(table.c[navigation.link_source] == parent_id,
                                              table.c[navigation.link_target] == child_id))
        if table is thing_locations:
            thing_id = parent_id if parent_entity.name == "Thing" else child_id
            self.events.locations_changed.add(thing_id)
            self.events.things_changed.add(thing_id)

    # -- delete ----------------------------------------------------------------------------

    def delete(self, entity: Entity, entity_id: int) -> None:
        """Delete one entity with the cascades of OGC 18-088 Table 25."""
        label = f"{entity.set_name}({entity_id})"
        row = self.visible_row(entity, entity_id, label)
        self.require_write(self.owning_organisation(entity, row), label)
        table = entity.table
        name = entity.name
        if name in {"Sensor", "ObservedProperty", "FeatureOfInterest"}:
            self._check_dependants(entity, entity_id, label)
        if name in {"Sensor", "ObservedProperty"}:
            column = "sensor_id" if name == "Sensor" else "observed_property_id"
            self.events.things_changed.update(self.conn.execute(
                select(datastreams.c.thing_id).where(datastreams.c[column] == entity_id)
                .distinct()).scalars())
        streams: set[int] = set()
        if name == "Observation":
            streams.add(int(row["datastream_id"]))
        elif name == "FeatureOfInterest":
            streams.update(self.conn.execute(
                select(observations.c.datastream_id).where(
                    observations.c.feature_of_interest_id == entity_id).distinct()).scalars())
        elif name == "Location":
            # Deleting a Location deletes its HistoricalLocations (Table 25).
            linked = self.conn.execute(
                select(location_historical_locations.c.historical_location_id).where(
                    location_historical_locations.c.location_id == entity_id)).scalars().all()
            thing_ids = set(self.conn.execute(select(thing_locations.c.thing_id).where(
                thing_locations.c.location_id == entity_id)).scalars())
            if linked:
                self.conn.execute(delete(historical_locations).where(
                    historical_locations.c.id.in_(linked)))
            self.events.locations_changed.update(thing_ids)
            self.events.things_changed.update(thing_ids)
        elif name in {"Thing"}:
            self.events.things_changed.add(entity_id)
        elif name in {"Datastream", "HistoricalLocation"}:
            self.events.things_changed.add(int(row["thing_id"]))
        # The remaining cascades (Datastreams of a Thing, Sensor or ObservedProperty;
        # Observations of a Datastream or FeatureOfInterest; link rows) are ON DELETE CASCADE.
        self.conn.execute(delete(table).where(table.c.id == entity_id))
        if streams:
            refresh_datastream_summaries(self.conn, streams)

    def _check_dependants(self, entity: Entity, entity_id: int, label: str) -> None:
        """Refuse to cascade into data of organisations the principal cannot change."""
        if entity.name == "FeatureOfInterest":
            owner_query = (select(things.c.organisation_id).distinct()
                           .select_from(observations.join(
                               datastreams, datastreams.c.id == observations.c.datastream_id)
                               .join(things, things.c.id == datastreams.c.thing_id))
                           .where(observations.c.feature_of_interest_id == entity_id))
        else:
            column = "sensor_id" if entity.name == "Sensor" else "observed_property_id"
            owner_query = (select(things.c.organisation_id).distinct()
                           .select_from(datastreams.join(
                               things, things.c.id == datastreams.c.thing_id))
                           .where(datastreams.c[column] == entity_id))
        for organisation in self.conn.execute(owner_query).scalars():
            if not self.principal.can_write(int(organisation)):
                raise Conflict(f"{label} is still used by Datastreams of organisation "
                               f"{self.organisation_slug(int(organisation))!r}; deleting it "
                               "would delete their data")


# --- values ----------------------------------------------------------------------------------


def _reverse(navigation: Navigation) -> Navigation:
    """The navigation leading back from the target to the source."""
    for candidate in navigation.target_entity.navigations.values():
        if candidate.target == navigation.source_name:
            return candidate
    raise ValueError(f"no reverse for {navigation.name}")


def _mandatory(entity: Entity, navigation: Navigation) -> bool:
    """Whether a single-valued relation must be given on create."""
    # FeatureOfInterest of an Observation is generated when missing (req create-entity).
    return not (entity.name == "Observation" and navigation.name == "FeatureOfInterest")


def _result_from_columns(values: Mapping[str, Any]) -> Any:
    """The Observation result back from its typed columns."""
    from placehub.sta.observations import joined_result

    class _Row:
        def __getattr__(self, name: str) -> Any:
            return values.get(name)

    return joined_result(_Row())


def column_values(entity: Entity, prop: Property, value: Any, label: str) -> dict[str, Any]:
    """The storage columns for one property value from a request body; 400 if unusable."""
    kind = prop.kind
    columns = prop.columns
    if kind == "string":
        if value is None and not prop.required:
            return {columns[0]: None}
        if not isinstance(value, str):
            if entity.name == "Sensor" and prop.name == "metadata" and value is not None:
                import json

                value = json.dumps(value)
            else:
                raise BadRequest(f"{label}: expected a string")
        limit = getattr(entity.table.c[columns[0]].type, "length", None)
        if limit and len(value) > limit:
            raise BadRequest(f"{label}: at most {limit} characters")
        return {columns[0]: value}
    if kind == "json":
        if prop.name == "properties" and value is not None and not isinstance(value, dict):
            raise BadRequest(f"{label}: expected a JSON object")
        if prop.name == "unitOfMeasurement" and not isinstance(value, dict):
            raise BadRequest(f"{label}: expected a JSON object with name, symbol, definition")
        return {columns[0]: value}
    if kind == "geometry":
        if value is None and not prop.required:
            return {c: None for c in columns}
        box = geojson_bbox(value, label)
        return dict(zip(columns, (value, *box), strict=True))
    if kind == "time":
        if value is None and not prop.required:
            return {columns[0]: None}
        return {columns[0]: parse_time(value, label)}
    if kind == "time_interval":
        if value is None:
            return {columns[0]: None, columns[1]: None}
        start, end = parse_interval(value, label)
        return {columns[0]: start, columns[1]: end}
    if kind == "time_or_interval":
        if value is None:
            raise BadRequest(f"{label}: give a time or an interval")
        start, end_or_none = parse_time_or_interval(value, label)
        return {columns[0]: start, columns[1]: end_or_none}
    if kind == "result":
        try:
            return split_result(value)
        except ValueError as error:
            raise BadRequest(f"{label}: {error}") from None
    raise BadRequest(f"{label}: {prop.name} cannot be written")


