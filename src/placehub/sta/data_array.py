"""The SensorThings data array extension (OGC 18-088 section 13).

Reading: ``$resultFormat=dataArray`` groups a page of Observations by Datastream into
``components`` + ``dataArray``. Writing: ``CreateObservations`` turns the arrays into rows for
``write_observations`` (one batched statement for the whole request) and answers one created URL,
or ``"error"``, per row in request order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from placehub.access.service import Principal
from placehub.access.visibility import can_read
from placehub.errors import BadRequest, Forbidden, Unauthorized
from placehub.sta.model import DATASTREAM, OBSERVATION
from placehub.sta.observations import (
    NewObservation,
    StreamTarget,
    WriteResult,
    stream_targets,
    write_observations,
)
from placehub.sta.serialise import (
    Links,
    parse_interval,
    parse_time,
    parse_time_or_interval,
    property_value,
)

RESULT_FORMAT = "dataArray"
DEFAULT_COMPONENTS = ("id", "phenomenonTime", "resultTime", "result")
READABLE_COMPONENTS = ("id", "phenomenonTime", "resultTime", "result", "resultQuality",
                       "validTime", "parameters", "FeatureOfInterest/id")
WRITABLE_COMPONENTS = ("phenomenonTime", "resultTime", "result", "resultQuality", "validTime",
                       "parameters", "FeatureOfInterest/id")
_TIME_AND_RESULT = frozenset({"phenomenonTime", "result"})


def check_result_format(value: str | None, entity_name: str) -> None:
    """BadRequest unless ``$resultFormat`` is absent or dataArray on Observations."""
    if value is None:
        return
    if value != RESULT_FORMAT:
        raise BadRequest(f"$resultFormat={value!r}: the only result format is dataArray")
    if entity_name != OBSERVATION.name:
        raise BadRequest("$resultFormat=dataArray applies to Observations only, e.g. "
                         "Datastreams(1)/Observations?$resultFormat=dataArray")


def data_array_groups(links: Links, rows: Sequence[Mapping[str, Any]],
                      select_names: Sequence[str] | None) -> list[dict[str, Any]]:
    """Observation rows grouped by Datastream, in the order their first row appears."""
    components = [c for c in (select_names or DEFAULT_COMPONENTS) if c in READABLE_COMPONENTS]
    if not components:
        raise BadRequest("$select with $resultFormat=dataArray needs Observation properties, "
                         f"e.g. {', '.join(DEFAULT_COMPONENTS)}")
    groups: dict[int, list[list[Any]]] = {}
    for row in rows:
        groups.setdefault(int(row["datastream_id"]), []).append(
            [_component_value(name, row) for name in components])
    return [
        {
            "Datastream@iot.navigationLink": links.entity(DATASTREAM, stream),
            "components": components,
            "dataArray@iot.count": len(values),
            "dataArray": values,
        }
        for stream, values in groups.items()
    ]


def _component_value(name: str, row: Mapping[str, Any]) -> Any:
    if name == "FeatureOfInterest/id":
        return row["feature_of_interest_id"]
    return property_value(OBSERVATION.properties[name], row)


@dataclass
class CreateOutcome:
    """The answer to CreateObservations: per row an Observation id or an error message."""

    ids: list[int | None] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)
    result: WriteResult = field(default_factory=WriteResult)


def create_observations(conn: Connection, principal: Principal, body: Any) -> CreateOutcome:
    """Store the Observations of a CreateObservations body in one batched write."""
    if principal.is_anonymous and not principal.write_anywhere:
        raise Unauthorized("CreateObservations needs an API token: send 'Authorization: "
                           "Bearer <token>', or HTTP Basic with the token as the password")
    if not isinstance(body, list):
        raise BadRequest("CreateObservations takes a JSON array of {\"Datastream\": "
                         "{\"@iot.id\": n}, \"components\": [...], \"dataArray\": [[...]]}")
    groups = [_parse_group(group, index) for index, group in enumerate(body)]
    # One read of the Datastreams serves the access check and the writer.
    targets = stream_targets(conn, {stream for stream, _c, _a in groups})
    _check_access(principal, {stream for stream, _c, _a in groups}, targets)
    pending: list[NewObservation] = []
    positions: list[int] = []  # request position of each pending row
    outcome = CreateOutcome()
    for stream, components, rows in groups:
        where = {name: i for i, name in enumerate(components)}
        for row_index, values in enumerate(rows):
            position = len(outcome.ids)
            outcome.ids.append(None)
            try:
                pending.append(_new_observation(stream, where, values,
                                                f"dataArray[{row_index}]"))
                positions.append(position)
            except (BadRequest, ValueError, TypeError) as error:
                outcome.errors[position] = getattr(error, "message", str(error))
    outcome.result = write_observations(conn, pending, targets) if pending else WriteResult()
    for position, row in zip(positions, outcome.result.outcomes, strict=True):
        if row.error is None and row.id is not None:
            outcome.ids[position] = int(row.id)
        else:
            outcome.errors[position] = row.error or "not stored"
    return outcome


def _parse_group(group: Any, index: int) -> tuple[int, list[str], list[Any]]:
    label = f"CreateObservations[{index}]"
    if not isinstance(group, dict):
        raise BadRequest(f"{label}: expected an object with Datastream, components, dataArray")
    stream = group.get("Datastream")
    stream_id = stream.get("@iot.id") if isinstance(stream, dict) else None
    if isinstance(stream_id, str) and stream_id.isdigit():
        stream_id = int(stream_id)
    if not isinstance(stream_id, int) or isinstance(stream_id, bool):
        raise BadRequest(f"{label}: give the Datastream as {{\"@iot.id\": <id>}}")
    components = group.get("components")
    if not isinstance(components, list) or not all(isinstance(c, str) for c in components):
        raise BadRequest(f"{label}: components must be a list of Observation property names")
    unknown = [c for c in components if c not in WRITABLE_COMPONENTS]
    if unknown:
        raise BadRequest(f"{label}: unknown component(s) {', '.join(map(repr, unknown))}; use "
                         f"{', '.join(WRITABLE_COMPONENTS)}")
    if len(set(components)) != len(components) or "result" not in components:
        raise BadRequest(f"{label}: components must name result (and phenomenonTime), "
                         "each once")
    rows = group.get("dataArray")
    if not isinstance(rows, list):
        raise BadRequest(f"{label}: dataArray must be an array of arrays")
    return stream_id, components, rows


def _check_access(principal: Principal, stream_ids: set[int],
                  targets: Mapping[int, StreamTarget]) -> None:
    """Every Datastream must be visible and writable by ``principal``."""
    found = {stream: target.organisation_id for stream, target in targets.items()
             if can_read(principal, target.organisation_id, target.visibility)}
    missing = sorted(stream_ids - set(found))
    if missing:
        raise BadRequest(f"Datastream(s) {', '.join(map(str, missing))} do not exist")
    refused = sorted(s for s, org in found.items() if not principal.can_write(org))
    if refused:
        raise Forbidden(f"you may not add Observations to Datastream(s) "
                        f"{', '.join(map(str, refused))}: it needs the editor or admin role in "
                        "their organisation")


def _new_observation(stream: int, where: Mapping[str, int], values: Any,
                     label: str) -> NewObservation:
    """The row ``values`` of a group whose components sit at the positions ``where``."""
    if not isinstance(values, list) or len(values) != len(where):
        raise BadRequest(f"{label}: expected {len(where)} values, one per component")
    if "phenomenonTime" in where:
        start, end = parse_time_or_interval(values[where["phenomenonTime"]],
                                            f"{label}/phenomenonTime")
    else:
        from placehub.sta.writes import now

        start, end = now(), None
    row = NewObservation(datastream_id=stream, phenomenon_time=start, phenomenon_time_end=end,
                         result=values[where["result"]])
    if where.keys() <= _TIME_AND_RESULT:
        return row  # the common case: nothing more to read
    given = {name: values[i] for name, i in where.items()}
    if given.get("resultTime") is not None:
        row.result_time = parse_time(given["resultTime"], f"{label}/resultTime")
    if given.get("validTime") is not None:
        row.valid_time_start, row.valid_time_end = parse_interval(given["validTime"],
                                                                  f"{label}/validTime")
    if "resultQuality" in given:
        row.result_quality = given["resultQuality"]
    if given.get("parameters") is not None:
        if not isinstance(given["parameters"], dict):
            raise BadRequest(f"{label}/parameters: expected a JSON object")
        row.parameters = given["parameters"]
    if given.get("FeatureOfInterest/id") is not None:
        foi = given["FeatureOfInterest/id"]
        if isinstance(foi, str) and foi.isdigit():
            foi = int(foi)
        if not isinstance(foi, int) or isinstance(foi, bool):
            raise BadRequest(f"{label}/FeatureOfInterest/id: expected an id")
        row.feature_of_interest_id = foi
    return row


def created_urls(links: Links, outcome: CreateOutcome) -> list[str]:
    """The response body: each row's Observation URL, or "error"."""
    return [links.entity(OBSERVATION, i) if i is not None else "error" for i in outcome.ids]
