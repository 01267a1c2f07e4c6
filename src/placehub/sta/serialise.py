"""Between stored rows and SensorThings JSON: ISO 8601 times and intervals, GeoJSON, results,
control information (``@iot.id``, ``@iot.selfLink``, ``...@iot.navigationLink``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import shapely
from shapely.geometry import shape

from placehub.errors import BadRequest
from placehub.sta.model import Entity, Property
from placehub.sta.observations import joined_result


def format_time(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``; milliseconds only when there are any."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
        if value.microsecond % 1000:
            text = text[:-4] + f".{value.microsecond:06d}"
    return text + "Z"


def format_interval(start: datetime | None, end: datetime | None) -> str | None:
    """An ISO 8601 interval ``start/end``; an instant when there is no end."""
    if start is None:
        return None
    return f"{format_time(start)}/{format_time(end if end is not None else start)}"


def parse_time(value: Any, label: str) -> datetime:
    """A timezone-aware datetime from an ISO 8601 string; names ``label`` when it cannot."""
    if not isinstance(value, str):
        raise BadRequest(f"{label}: expected an ISO 8601 time string, got {value!r}")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise BadRequest(
            f"{label}: {value!r} is not an ISO 8601 time; write e.g. 2024-05-01T12:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        raise BadRequest(f"{label}: {value!r} has no time zone; add Z or an offset like +01:00")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is in year 0 in UTC
        raise BadRequest(f"{label}: {value!r} is outside the years 1-9999 in UTC") from None


def parse_interval(value: Any, label: str) -> tuple[datetime, datetime]:
    """``start/end`` as two datetimes; the end may not come before the start."""
    if not isinstance(value, str) or value.count("/") != 1:
        raise BadRequest(f"{label}: expected an ISO 8601 interval 'start/end', got {value!r}")
    start_text, end_text = value.split("/")
    start, end = parse_time(start_text, label), parse_time(end_text, label)
    if end < start:
        raise BadRequest(f"{label}: the interval {value!r} ends before it starts")
    return start, end


def parse_time_or_interval(value: Any, label: str) -> tuple[datetime, datetime | None]:
    """An instant or an interval: (start, end or None)."""
    if isinstance(value, str) and "/" in value:
        return parse_interval(value, label)
    return parse_time(value, label), None


def geojson_bbox(value: Any, label: str) -> tuple[float, float, float, float]:
    """The bounding box of a GeoJSON geometry, Feature or FeatureCollection (checked by Shapely)."""
    if not isinstance(value, dict) or "type" not in value:
        raise BadRequest(f"{label}: expected a GeoJSON object with a 'type'")
    try:
        kind = value["type"]
        if kind == "Feature":
            geometries = [value.get("geometry")]
        elif kind == "FeatureCollection":
            geometries = [f.get("geometry") for f in value.get("features") or []]
        else:
            geometries = [value]
        boxes = [shape(g).bounds for g in geometries if g]
        for geometry in geometries:
            # GEOS's own reader as well (PostGIS reads GeoJSON the same way): it refuses what
            # shape() forgives, such as a polygon ring that is not closed.
            if geometry:
                shapely.from_geojson(json.dumps(geometry))
    except Exception as error:  # noqa: BLE001 - Shapely raises many kinds for bad GeoJSON
        raise BadRequest(f"{label}: not valid GeoJSON ({error})") from None
    boxes = [b for b in boxes if b and not any(math.isnan(v) for v in b)]
    if not boxes:
        raise BadRequest(f"{label}: the GeoJSON has no coordinates")
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def property_value(prop: Property, row: Mapping[str, Any]) -> Any:
    """The JSON value of ``prop`` from a stored row."""
    kind = prop.kind
    if kind == "id":
        return row["id"]
    if kind == "time":
        return format_time(row[prop.column])
    if kind == "time_interval":
        return format_interval(row[prop.columns[0]], row[prop.columns[1]])
    if kind == "time_or_interval":
        start, end = row[prop.columns[0]], row[prop.columns[1]]
        return format_time(start) if end is None else format_interval(start, end)
    if kind == "result":
        return joined_result(_Attributes(row))
    return row[prop.column]


def raw_value(value: Any) -> str:
    """The text/plain form used by ``$value``."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


class _Attributes:
    """Attribute access on a mapping (joined_result reads row.result_type etc.)."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        self._row = row

    def __getattr__(self, name: str) -> Any:
        return self._row[name]


class Links:
    """Builds the absolute URLs of the control information for one service root."""

    def __init__(self, service_root: str) -> None:
        self.root = service_root.rstrip("/")

    def entity(self, entity: Entity, entity_id: int) -> str:
        """The absolute selfLink of an entity."""
        return f"{self.root}/{entity.set_name}({entity_id})"


def entity_json(
    entity: Entity,
    row: Mapping[str, Any],
    links: Links,
    select: tuple[str, ...] | None,
    annotations: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One entity as SensorThings JSON with its control information, honouring ``$select``.

    ``annotations`` (placehub's own, e.g. ``@placehub.organisation``) follow ``@iot.selfLink``
    when no ``$select`` is given.
    """
    self_link = links.entity(entity, row["id"])
    out: dict[str, Any] = {}
    if select is None or "id" in select:
        out["@iot.id"] = row["id"]
    if select is None or "@iot.selfLink" in select:
        out["@iot.selfLink"] = self_link
    if select is None and annotations:
        out.update(annotations)
    for name in entity.navigations:
        if select is None or name in select:
            out[f"{name}@iot.navigationLink"] = f"{self_link}/{name}"
    for name, prop in entity.properties.items():
        if name == "id" or (select is not None and name not in select):
            continue
        value = property_value(prop, row)
        if value is None and prop.omit_null and select is None:
            continue
        out[name] = value
    return out
