"""The requirement URIs of OGC 18-088 implemented here, for ``serverSettings.conformance``."""

from __future__ import annotations

REQ = "http://www.opengis.net/spec/iot_sensing/1.1/req/"

_ENTITY_CLASSES = ("thing", "location", "historical-location", "datastream", "sensor",
                   "observed-property", "observation", "feature-of-interest")

SENSING_CORE = (
    "entity-control-information",
    "entity-control-information/common-control-information",
    *(uri for name in _ENTITY_CLASSES for uri in (name, f"{name}/properties", f"{name}/relations")),
    "resource-path",
    "resource-path/resource-path-to-entities",
    "request-data/order",
    "request-data/expand",
    "request-data/select",
    "request-data/status-code",
    "request-data/query-status-code",
    "request-data/orderby",
    "request-data/top",
    "request-data/skip",
    "request-data/count",
    "request-data/pagination",
)

FILTERING = (
    "request-data",
    "request-data/filter",
    "request-data/built-in-filter-operations",
    "request-data/built-in-query-functions",
)

CREATE_UPDATE_DELETE = (
    "create-update-delete",
    "create-update-delete/create-entity",
    "create-update-delete/link-to-existing-entities",
    "create-update-delete/deep-insert",
    "create-update-delete/deep-insert-status-code",
    "create-update-delete/update-entity",
    "create-update-delete/delete-entity",
    "create-update-delete/historical-location-auto-creation",
)


def conformance_uris() -> list[str]:
    """Every granular requirement URI implemented here."""
    names = [*SENSING_CORE, *FILTERING, *CREATE_UPDATE_DELETE]
    return [REQ + name for name in names]
