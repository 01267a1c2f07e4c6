"""SensorThings resource paths: ``Datastreams(1)/Observations(7)/resultTime/$value`` into steps.

Covers the eight URL patterns of OGC 18-088 9.2: collection, entity ``(id)``, property (with
sub-properties of JSON values), ``$value``, navigation, ``$ref`` and nested paths. Parsing only
checks the shape against the entity model; the query layer checks that the entities exist.
A name the model does not have (``/Foo``, ``/Things(1)/nosuch``) addresses no resource: 404,
as in OData; a path that cannot be read at all (``Things(x)``, ``//``) is a 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import BigInteger

from placehub.errors import BadRequest, NotFound
from placehub.sta.model import ENTITIES_BY_SET, Entity, Navigation, Property

_SEGMENT = re.compile(r"^(?P<name>[A-Za-z$][A-Za-z0-9_.$@-]*)(?:\((?P<id>[^()]*)\))?$")

PathKind = Literal["collection", "entity", "property", "value", "ref"]

# Entity sets of OGC 18-088 extensions placehub does not serve, and why (docs/sta.md, Limits).
NOT_OFFERED = {
    "MultiDatastreams": "every placehub Observation belongs to one Datastream with a single "
                        "typed result; give each observed property its own Datastream",
    "TaskingCapabilities": "tasking (OGC 17-079) is not supported",
    "Tasks": "tasking (OGC 17-079) is not supported",
    "Actuators": "tasking (OGC 17-079) is not supported",
}


@dataclass(frozen=True)
class Step:
    """One entity step of a path: an entity set or a navigation, maybe narrowed to one id."""

    entity: Entity
    navigation: Navigation | None = None  # None for the first step (an entity set)
    id: int | None = None

    @property
    def is_collection(self) -> bool:
        """True when the step addresses many entities (a set or a to-many navigation, no id)."""
        if self.id is not None:
            return False
        return self.navigation is None or self.navigation.many

    def text(self) -> str:
        """This step (or path) written back as URL text."""
        name = self.navigation.name if self.navigation else self.entity.set_name
        return name if self.id is None else f"{name}({self.id})"


@dataclass(frozen=True)
class ResourcePath:
    """A parsed resource path: entity steps, then maybe a property, its sub-path and ``$value``."""

    steps: tuple[Step, ...]
    kind: PathKind
    prop: Property | None = None
    subpath: tuple[str, ...] = field(default_factory=tuple)

    @property
    def target(self) -> Step:
        """The last entity step: what the path addresses."""
        return self.steps[-1]

    @property
    def entity(self) -> Entity:
        """The entity type the path addresses."""
        return self.steps[-1].entity

    def text(self) -> str:
        """This step (or path) written back as URL text."""
        return "/".join(step.text() for step in self.steps)


def parse_id(raw: str, where: str) -> int:
    """An entity id from the text between the parentheses; ids are whole numbers here."""
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        text = text[1:-1]
    if not re.fullmatch(r"-?[0-9]{1,18}", text):
        raise BadRequest(f"{where}: the id {raw!r} is not valid; ids are whole numbers, "
                         "e.g. Things(1)")
    return int(text)


def entity_id(entity: Entity, raw: str, where: str) -> int:
    """The id of an entity addressed in a path; 404 beyond the range its ids can have."""
    value = parse_id(raw, where)
    # Datastream, Thing ... ids are 32-bit on PostgreSQL, Observation ids 64-bit: an id past
    # that range cannot exist on either database.
    limit = 2**63 - 1 if isinstance(entity.table.c.id.type, BigInteger) else 2**31 - 1
    if not 0 < value <= limit:
        raise NotFound(f"{entity.set_name}({value}) does not exist")
    return value


def parse_path(path: str) -> ResourcePath:
    """Parse the part of the URL after the service root (without the query string)."""
    segments = [s for s in path.strip("/").split("/")]
    if not segments or segments == [""]:
        raise BadRequest("empty resource path: name an entity set, e.g. /Things")
    if any(s == "" for s in segments):
        raise BadRequest(f"resource path {path!r} has an empty segment ('//')")
    steps: list[Step] = []
    first = _split(segments[0], path)
    entity = ENTITIES_BY_SET.get(first[0])
    if entity is None:
        offered = ", ".join(ENTITIES_BY_SET)
        if first[0] in NOT_OFFERED:
            raise NotFound(f"{first[0]} are not offered by this service ({NOT_OFFERED[first[0]]}); "
                           f"the entity sets are {offered}")
        raise NotFound(f"unknown entity set {first[0]!r} in {path!r}: use one of {offered}")
    steps.append(Step(entity, None,
                      None if first[1] is None else entity_id(entity, first[1], segments[0])))
    index = 1
    while index < len(segments):
        segment = segments[index]
        current = steps[-1]
        where = "/".join(segments[: index + 1])
        name, raw_id = _split(segment, path)
        if name == "$ref":
            _expect_end(segments, index, "$ref")
            return ResourcePath(tuple(steps), "ref")
        if current.is_collection:
            raise BadRequest(
                f"{where}: {current.text()} is a collection; address one entity first, "
                f"e.g. {current.text()}(1)/{name}"
            )
        navigation = current.entity.navigations.get(name)
        if navigation is not None:
            if raw_id is not None and not navigation.many:
                raise BadRequest(f"{where}: {name} is a single entity and takes no id")
            steps.append(Step(
                navigation.target_entity, navigation,
                None if raw_id is None else entity_id(navigation.target_entity, raw_id, segment),
            ))
            index += 1
            continue
        prop = current.entity.properties.get(name)
        if prop is None or raw_id is not None:
            raise NotFound(
                f"{where}: {current.entity.name} has no property or navigation {segment!r}; "
                f"it has {', '.join([*current.entity.properties, *current.entity.navigations])}"
            )
        rest = segments[index + 1:]
        if rest and rest[-1] == "$value":
            subpath, kind = rest[:-1], "value"
        else:
            subpath, kind = rest, "property"
        if subpath and prop.kind != "json":
            raise NotFound(f"{where}/{subpath[0]}: {name} has no sub-properties")
        if any(part.startswith("$") for part in subpath):
            raise BadRequest(f"{path}: only $value may follow a property")
        return ResourcePath(tuple(steps), kind, prop, tuple(subpath))  # type: ignore[arg-type]
    return ResourcePath(tuple(steps), "collection" if steps[-1].is_collection else "entity")


def _split(segment: str, path: str) -> tuple[str, str | None]:
    """A segment's name and the text between its parentheses, if any."""
    match = _SEGMENT.match(segment)
    if match is None:
        raise BadRequest(f"resource path {path!r}: segment {segment!r} is not valid; "
                         "write EntitySet, EntitySet(id), a property or a navigation name")
    return match.group("name"), match.group("id")


def _expect_end(segments: list[str], index: int, what: str) -> None:
    """Refuse segments after ``what``."""
    if index != len(segments) - 1:
        raise BadRequest(f"{what} must be the last segment of the path")
