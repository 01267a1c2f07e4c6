"""The requirement URIs of OGC 18-088 implemented here, for ``serverSettings.conformance``.

The data model requirements live under ``req/datamodel/`` (18-088 clause 9.2.1 lists
``req/datamodel`` as a class; the OGC test suites and the FROST and istSOS servers use the
same URIs). Every granular requirement is listed, so clients need not know which classes
imply which.
"""

from __future__ import annotations

REQ = "http://www.opengis.net/spec/iot_sensing/1.1/req/"

_ENTITY_CLASSES = ("thing", "location", "historical-location", "datastream", "sensor",
                   "observed-property", "observation", "feature-of-interest")

SENSING_CORE = (
    "datamodel/entity-control-information/common-control-information",
    *(f"datamodel/{name}/{part}" for name in _ENTITY_CLASSES
      for part in ("properties", "relations")),
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
    "request-data/filter",
    "request-data/built-in-filter-operations",
    "request-data/built-in-query-functions",
)

CREATE_UPDATE_DELETE = (
    "create-update-delete/create-entity",
    "create-update-delete/link-to-existing-entities",
    "create-update-delete/deep-insert",
    "create-update-delete/deep-insert-status-code",
    "create-update-delete/update-entity",
    "create-update-delete/update-entity-put",
    "create-update-delete/update-entity-jsonpatch",
    "create-update-delete/delete-entity",
    "create-update-delete/historical-location-auto-creation",
    "create-update-delete/historical-location-manual-creation",
)

BATCH = ("batch-request/batch-request",)
DATA_ARRAY = ("data-array/data-array",)


def conformance_uris() -> list[str]:
    """Every granular requirement URI of the HTTP service (the MQTT ones come with its
    endpoints, see ``placehub.sta.mqtt.server_settings``)."""
    names = [*SENSING_CORE, *FILTERING, *CREATE_UPDATE_DELETE, *BATCH, *DATA_ARRAY]
    return [REQ + name for name in names]
