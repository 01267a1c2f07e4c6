"""SensorThings query options, checked against the entity model: ``$select``, ``$expand``
(nested, ``;``-separated), ``$orderby``, ``$top``, ``$skip``, ``$count``, ``$filter``.

Parsing is separate from execution so errors name the offending option before any SQL runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from placehub.errors import BadRequest, PlacehubError
from placehub.sta.model import Entity, Navigation, Property


class NotImplementedOption(PlacehubError):
    """A query option this service does not support (req request-data/query-status-code)."""

    status_code = 501


SUPPORTED = ("$select", "$expand", "$orderby", "$top", "$skip", "$count", "$filter",
             "$resultFormat")
# Defined by OData but not offered here: answered with 501 Not Implemented, as the spec asks.
UNSUPPORTED = ("$search", "$format", "$apply", "$compute", "$levels", "$index", "$schemaversion")


@dataclass(frozen=True)
class OrderKey:
    """One ``$orderby`` key: a property path of the entity, ascending or descending."""

    path: tuple[str, ...]  # e.g. ("phenomenonTime",), ("properties", "ward"), ("Datastream", "id")
    descending: bool = False

    def text(self) -> str:
        """This item written back as query-option text."""
        return "/".join(self.path) + (" desc" if self.descending else " asc")


@dataclass
class QueryOptions:
    """The query options of one level (the request, or one ``$expand`` item)."""

    entity: Entity
    select: tuple[str, ...] | None = None  # None: all properties
    expand: dict[str, Expand] = field(default_factory=dict)
    orderby: tuple[OrderKey, ...] = ()
    top: int | None = None
    skip: int = 0
    count: bool = False
    filter: str | None = None
    result_format: str | None = None

    def query_string(self, top: int | None = None, skip: int | None = None,
                     separator: str = "&") -> str:
        """These options written back as a query string (for ``@iot.nextLink``)."""
        parts: list[tuple[str, str]] = []
        if self.filter is not None:
            parts.append(("$filter", self.filter))
        if self.count:
            parts.append(("$count", "true"))
        if self.orderby:
            parts.append(("$orderby", ",".join(key.text() for key in self.orderby)))
        effective_top = self.top if top is None else top
        if effective_top is not None:
            parts.append(("$top", str(effective_top)))
        effective_skip = self.skip if skip is None else skip
        if effective_skip:
            parts.append(("$skip", str(effective_skip)))
        if self.select is not None:
            parts.append(("$select", ",".join(self.select)))
        if self.expand:
            parts.append(("$expand", ",".join(item.text() for item in self.expand.values())))
        if self.result_format is not None:
            parts.append(("$resultFormat", self.result_format))
        if separator == "&":
            return "&".join(f"{k}={quote(v, safe=',/()$;=')}" for k, v in parts)
        return separator.join(f"{k}={v}" for k, v in parts)


@dataclass
class Expand:
    """One ``$expand`` item: a navigation and the options for its entities."""

    navigation: Navigation
    options: QueryOptions

    def text(self) -> str:
        """This item written back as query-option text."""
        inner = self.options.query_string(separator=";")
        return self.navigation.name + (f"({inner})" if inner else "")


def parse_query_options(pairs: list[tuple[str, str]], entity: Entity) -> QueryOptions:
    """Options from the decoded query-string pairs of a request; other parameters are ignored."""
    seen: dict[str, str] = {}
    for key, value in pairs:
        if not key.startswith("$"):
            continue
        if key in UNSUPPORTED:
            raise NotImplementedOption(f"the query option {key} is not supported by this service")
        if key not in SUPPORTED:
            raise BadRequest(f"unknown query option {key}: use one of {', '.join(SUPPORTED)}")
        if key in seen:
            raise BadRequest(f"the query option {key} is given twice")
        seen[key] = value
    return _options(seen, entity, "")


def _options(raw: dict[str, str], entity: Entity, where: str) -> QueryOptions:
    """Parse the options of one level (the request, or one $expand item)."""
    options = QueryOptions(entity)
    for key, value in raw.items():
        label = f"{where}{key}"
        if key == "$select":
            options.select = _parse_select(value, entity, label)
        elif key == "$expand":
            _parse_expand(value, entity, label, options.expand)
        elif key == "$orderby":
            options.orderby = _parse_orderby(value, entity, label)
        elif key == "$top":
            options.top = _non_negative(value, label)
        elif key == "$skip":
            options.skip = _non_negative(value, label)
        elif key == "$count":
            lowered = value.strip().lower()
            if lowered not in {"true", "false"}:
                raise BadRequest(f"{label}={value!r}: use true or false")
            options.count = lowered == "true"
        elif key == "$filter":
            if not value.strip():
                raise BadRequest(f"{label} is empty: give an expression, e.g. result gt 5")
            options.filter = value
        elif key == "$resultFormat":
            options.result_format = value
        else:
            raise BadRequest(f"unknown query option {label}")
    return options


def _non_negative(value: str, label: str) -> int:
    """A whole number of 0 or more, or a 400 naming the option."""
    text = value.strip()
    if not text.isdigit() or len(text) > 12:
        raise BadRequest(f"{label}={value!r}: use a whole number of 0 or more")
    return int(text)


def split_top_level(text: str, separator: str, label: str) -> list[str]:
    """Split ``text`` on ``separator`` outside parentheses and quoted strings."""
    parts: list[str] = []
    depth = 0
    quoted = False
    current: list[str] = []
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth < 0:
                raise BadRequest(f"{label}: unbalanced ')' in {text!r}")
        if char == separator and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth != 0 or quoted:
        raise BadRequest(f"{label}: unbalanced parentheses or quotes in {text!r}")
    parts.append("".join(current))
    return parts


def _parse_select(value: str, entity: Entity, label: str) -> tuple[str, ...]:
    """The property names of a $select, checked against the entity."""
    names: list[str] = []
    for raw in split_top_level(value, ",", label):
        name = raw.strip()
        if name in {"@iot.id", "id"}:
            name = "id"
        elif name == "@iot.selfLink":
            name = "@iot.selfLink"
        elif name not in entity.properties and name not in entity.navigations:
            raise BadRequest(
                f"{label}: {entity.name} has no property {name!r}; choose from "
                + ", ".join([*entity.properties, *entity.navigations])
            )
        if name not in names:
            names.append(name)
    if not names:
        raise BadRequest(f"{label} is empty")
    return tuple(names)


def _parse_expand(value: str, entity: Entity, label: str, into: dict[str, Expand]) -> None:
    """Add the items of an $expand to ``into``."""
    for raw in split_top_level(value, ",", label):
        item = raw.strip()
        if not item:
            raise BadRequest(f"{label}: empty item in {value!r}")
        inner: str | None = None
        if item.endswith(")"):
            open_at = item.find("(")
            if open_at <= 0:
                raise BadRequest(f"{label}: cannot read {item!r}")
            item, inner = item[:open_at], item[open_at + 1:-1]
        path = item.split("/")
        _add_expand(path, inner, entity, label, into)


def _add_expand(path: list[str], inner: str | None, entity: Entity, label: str,
                into: dict[str, Expand]) -> None:
    """Add one $expand path (``A/B/C``) with its options to ``into``."""
    name = path[0].strip()
    navigation = entity.navigations.get(name)
    if navigation is None:
        raise BadRequest(
            f"{label}: {entity.name} has no navigation {name!r}; choose from "
            + ", ".join(entity.navigations)
        )
    target = navigation.target_entity
    expand = into.get(name)
    if expand is None:
        expand = into[name] = Expand(navigation, QueryOptions(target))
    if len(path) > 1:
        _add_expand(path[1:], inner, target, label, expand.options.expand)
        return
    if inner is None:
        return
    raw: dict[str, str] = {}
    for part in split_top_level(inner, ";", label):
        if not part.strip():
            continue
        key, equals, option_value = part.partition("=")
        key = key.strip()
        if not equals:
            raise BadRequest(f"{label}: {part!r} inside {name}(...) needs the form $option=value")
        if key in UNSUPPORTED:
            raise NotImplementedOption(f"the query option {key} is not supported in $expand")
        if key not in SUPPORTED or key == "$resultFormat":
            raise BadRequest(f"{label}: unknown query option {key!r} inside {name}(...)")
        if key in raw:
            raise BadRequest(f"{label}: {key} is given twice inside {name}(...)")
        raw[key] = option_value
    nested = _options(raw, target, f"{label}({name})/")
    # Merge with what an earlier item (e.g. Datastreams/Sensor) already asked to expand.
    nested.expand = {**expand.options.expand, **nested.expand}
    expand.options = nested


def _parse_orderby(value: str, entity: Entity, label: str) -> tuple[OrderKey, ...]:
    """The keys of an $orderby, each checked against the entity."""
    keys: list[OrderKey] = []
    for raw in split_top_level(value, ",", label):
        words = raw.split()
        if not words or len(words) > 2:
            raise BadRequest(f"{label}: cannot read {raw.strip()!r}; write e.g. "
                             "phenomenonTime desc")
        descending = False
        if len(words) == 2:
            direction = words[1].lower()
            if direction not in {"asc", "desc"}:
                raise BadRequest(f"{label}: {words[1]!r} is not asc or desc")
            descending = direction == "desc"
        path = tuple(words[0].split("/"))
        resolve_order_path(path, entity, label)
        keys.append(OrderKey(path, descending))
    return tuple(keys)


def resolve_order_path(path: tuple[str, ...], entity: Entity,
                       label: str) -> tuple[list[Navigation], Property, tuple[str, ...]]:
    """Navigations to follow (single-valued only), the property, and a JSON sub-path."""
    navigations: list[Navigation] = []
    current = entity
    for index, part in enumerate(path):
        if part in {"@iot.id", "id"}:
            part = "id"
        navigation = current.navigations.get(part)
        if navigation is not None:
            if navigation.many:
                raise BadRequest(f"{label}: cannot order by {'/'.join(path)}: {part} holds "
                                 "many entities")
            navigations.append(navigation)
            current = navigation.target_entity
            continue
        prop = current.properties.get(part)
        if prop is None:
            raise BadRequest(f"{label}: {current.name} has no property {part!r}")
        subpath = path[index + 1:]
        if subpath and prop.kind != "json":
            raise BadRequest(f"{label}: {part} has no sub-property {subpath[0]!r}")
        if prop.kind == "geometry":
            raise BadRequest(f"{label}: cannot order by the geometry {part}")
        return navigations, prop, subpath
    raise BadRequest(f"{label}: {'/'.join(path)} does not end in a property")
