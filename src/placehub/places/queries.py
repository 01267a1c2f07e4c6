"""Reading places: layers, the places of a layer and what is in each (assets, status, properties).

Only Things the principal may read are counted or shown (placehub.access.visibility), so an
anonymous caller sees the public picture and a council officer sees their organisation's too.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from placehub.access.service import Principal
from placehub.access.visibility import visible_clause
from placehub.errors import NotFound
from placehub.places.layers import layer_id_of
from placehub.places.tables import place_layers, places, property_point_places, thing_places
from placehub.sta.tables import datastreams, observations, things

UNKNOWN_ASSET_TYPE = "other"


def list_layers(conn: Connection) -> list[dict[str, Any]]:
    """Every place layer with its number of places."""
    counts: dict[int, int] = dict(conn.execute(  # type: ignore[arg-type,unused-ignore]
        select(places.c.layer_id, func.count()).group_by(places.c.layer_id)).all())
    return [
        {
            "name": row.name, "title": row.title, "source": row.source,
            "code_property": row.code_property, "name_property": row.name_property,
            "loaded_at": row.loaded_at.isoformat(), "place_count": counts.get(row.id, 0),
        }
        for row in conn.execute(select(place_layers).order_by(place_layers.c.name))
    ]


def _asset_type(properties: Any) -> str:
    if isinstance(properties, dict) and properties.get("asset_type"):
        return str(properties["asset_type"])
    return UNKNOWN_ASSET_TYPE


def _summaries(conn: Connection, layer_id: int, principal: Principal,
               place_ids: list[int] | None) -> dict[int, dict[str, Any]]:
    """Per place: property count, visible assets by type, and their latest status."""
    visible = visible_clause(principal, things.c.organisation_id, things.c.visibility)
    summary: dict[int, dict[str, Any]] = defaultdict(lambda: {
        "property_count": 0, "assets": {}, "status": {}})

    points = (select(property_point_places.c.place_id, func.count())
              .where(property_point_places.c.layer_id == layer_id)
              .group_by(property_point_places.c.place_id))
    if place_ids is not None:
        points = points.where(property_point_places.c.place_id.in_(place_ids))
    for place_id, count in conn.execute(points):
        summary[place_id]["property_count"] = count

    assets = (select(thing_places.c.place_id, things.c.properties)
              .join(things, things.c.id == thing_places.c.thing_id)
              .where(thing_places.c.layer_id == layer_id, visible))
    if place_ids is not None:
        assets = assets.where(thing_places.c.place_id.in_(place_ids))
    for row in conn.execute(assets):
        kinds = summary[row.place_id]["assets"]
        kind = _asset_type(row.properties)
        kinds[kind] = kinds.get(kind, 0) + 1

    latest = (
        select(thing_places.c.place_id, things.c.properties.label("thing_properties"),
               datastreams.c.properties.label("datastream_properties"),
               datastreams.c.name, datastreams.c.unit_of_measurement,
               datastreams.c.latest_phenomenon_time, observations.c.result_number)
        .join(things, things.c.id == thing_places.c.thing_id)
        .join(datastreams, datastreams.c.thing_id == things.c.id)
        .join(observations, observations.c.id == datastreams.c.latest_observation_id)
        .where(thing_places.c.layer_id == layer_id, visible)
    )
    if place_ids is not None:
        latest = latest.where(thing_places.c.place_id.in_(place_ids))
    values: dict[tuple[int, str, str], list[Any]] = defaultdict(list)
    units: dict[tuple[int, str, str], str] = {}
    for row in conn.execute(latest):  # type: ignore[assignment]
        ds_props = row.datastream_properties if isinstance(row.datastream_properties, dict) else {}
        quantity = str(ds_props.get("quantity") or row.name)
        key = (row.place_id, _asset_type(row.thing_properties), quantity)
        values[key].append((row.result_number, row.latest_phenomenon_time))
        unit = row.unit_of_measurement if isinstance(row.unit_of_measurement, dict) else {}
        units[key] = str(unit.get("symbol") or "")
    for (place_id, kind, quantity), readings in values.items():
        numbers = [value for value, _ in readings if value is not None]
        times: list[datetime] = [at for _, at in readings if at is not None]
        entry: dict[str, Any] = {
            "datastreams": len(readings), "unit": units[(place_id, kind, quantity)],
            "latest": max(times).isoformat() if times else None,
        }
        if numbers:
            entry.update(mean=round(sum(numbers) / len(numbers), 3), min=min(numbers),
                         max=max(numbers))
        summary[place_id]["status"].setdefault(kind, {})[quantity] = entry
    return summary


def _layer_row(conn: Connection, layer: str) -> Any:
    layer_id = layer_id_of(conn, layer)
    return conn.execute(select(place_layers).where(place_layers.c.id == layer_id)).one()


def layer_places(conn: Connection, layer: str, principal: Principal,
                 with_geometry: bool = False) -> dict[str, Any]:
    """The places of a layer, each with assets by type, latest status and property count."""
    layer_row = _layer_row(conn, layer)
    columns = [places.c.id, places.c.code, places.c.name]
    if with_geometry:
        columns.append(places.c.geometry)
    rows = conn.execute(select(*columns).where(places.c.layer_id == layer_row.id)
                        .order_by(places.c.code)).all()
    summary = _summaries(conn, layer_row.id, principal, None)
    result = []
    for row in rows:
        entry: dict[str, Any] = {"code": row.code, "name": row.name, **_summary_of(summary, row.id)}
        if with_geometry:
            entry["geometry"] = row.geometry
        result.append(entry)
    return {"layer": layer_row.name, "title": layer_row.title, "places": result}


def _summary_of(summary: dict[int, dict[str, Any]], place_id: int) -> dict[str, Any]:
    found = summary.get(place_id)
    return found if found is not None else {"property_count": 0, "assets": {}, "status": {}}


def place_detail(conn: Connection, layer: str, code: str, principal: Principal
                 ) -> dict[str, Any]:
    """One place: name, geometry, assets by type (and the visible Things), status, properties."""
    layer_row = _layer_row(conn, layer)
    row = conn.execute(select(places).where(
        places.c.layer_id == layer_row.id, places.c.code == code)).first()
    if row is None:
        raise NotFound(f"no place {code!r} in layer {layer!r}; list them at /api/places/{layer}")
    summary = _summaries(conn, layer_row.id, principal, [row.id])
    visible = visible_clause(principal, things.c.organisation_id, things.c.visibility)
    members = conn.execute(
        select(things.c.id, things.c.name, things.c.properties, things.c.visibility)
        .join(thing_places, thing_places.c.thing_id == things.c.id)
        .where(thing_places.c.place_id == row.id, visible).order_by(things.c.id)).all()
    return {
        "layer": layer_row.name, "code": row.code, "name": row.name,
        "geometry": row.geometry, **_summary_of(summary, row.id),
        "things": [{"id": t.id, "name": t.name, "asset_type": _asset_type(t.properties),
                    "visibility": t.visibility, "sta": f"/sta/v1.1/Things({t.id})"}
                   for t in members],
    }


def as_feature(entry: dict[str, Any], layer: str) -> dict[str, Any]:
    """A place as a GeoJSON Feature (the geometry out, everything else in properties)."""
    properties = {k: v for k, v in entry.items() if k != "geometry"}
    properties.setdefault("layer", layer)
    return {"type": "Feature", "id": entry["code"], "geometry": entry.get("geometry"),
            "properties": properties}


def layer_outlines(conn: Connection, layer: str) -> list[dict[str, Any]]:
    """Code, name and geometry of every place of a layer: the boundaries a map draws (public
    geography, so no access check and no asset counts)."""
    layer_row = _layer_row(conn, layer)
    rows = conn.execute(select(places.c.code, places.c.name, places.c.geometry)
                        .where(places.c.layer_id == layer_row.id).order_by(places.c.code))
    return [{"code": row.code, "name": row.name, "geometry": row.geometry} for row in rows]


def places_of_thing(conn: Connection, thing_id: int) -> list[dict[str, Any]]:
    """The places a Thing lies in, one per layer (ward, LSOA ...), by layer name. The caller
    has checked the viewer may read the Thing; boundaries are public geography."""
    rows = conn.execute(
        select(place_layers.c.name.label("layer"), place_layers.c.title, places.c.code,
               places.c.name)
        .join(places, places.c.id == thing_places.c.place_id)
        .join(place_layers, place_layers.c.id == thing_places.c.layer_id)
        .where(thing_places.c.thing_id == thing_id)
        .order_by(place_layers.c.name))
    return [{"layer": row.layer, "title": row.title, "code": row.code, "name": row.name}
            for row in rows]



def place_names(conn: Connection, layer: str) -> list[tuple[str, str]]:
    """(code, name) of every place of ``layer`` by name; empty when the layer is not loaded
    (public geography: no access check)."""
    return [(str(row.code), str(row.name)) for row in conn.execute(
        select(places.c.code, places.c.name)
        .join(place_layers, place_layers.c.id == places.c.layer_id)
        .where(place_layers.c.name == layer).order_by(places.c.name, places.c.code))]


def things_in_place(layer: str, code: str) -> Any:
    """A subquery of the ids of the Things lying in place ``code`` of ``layer`` (for ``IN``)."""
    return (select(thing_places.c.thing_id)
            .join(places, places.c.id == thing_places.c.place_id)
            .join(place_layers, place_layers.c.id == thing_places.c.layer_id)
            .where(place_layers.c.name == layer, places.c.code == code))


def places_of_things(conn: Connection, layer: str) -> dict[int, tuple[str, str]]:
    """Thing id -> (code, name) of its place in ``layer``, for every assigned Thing, in one
    query (a download's ward column); empty when the layer is not loaded. Boundaries are public
    geography: the caller lists only the Things the reader may see."""
    rows = conn.execute(
        select(thing_places.c.thing_id, places.c.code, places.c.name)
        .join(places, places.c.id == thing_places.c.place_id)
        .join(place_layers, place_layers.c.id == thing_places.c.layer_id)
        .where(place_layers.c.name == layer))
    return {int(row.thing_id): (str(row.code), str(row.name)) for row in rows}
