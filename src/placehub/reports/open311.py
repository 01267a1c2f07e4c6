"""GeoReport v2 documents (discovery, services, service definitions, requests, errors) as
JSON and as XML, the two formats the specification names; the field names are the spec's."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

from fastapi.responses import Response

from placehub.errors import NotFound
from placehub.reports.services import ServiceType

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def response_format(name: str) -> str:
    """The format named by the address's extension (json or xml)."""
    if name not in FORMATS:
        raise NotFound(f"format {name!r} not offered: end the address in .json or .xml")
    return name


def discovery(base_url: str, changeset: str, contact: str) -> dict[str, Any]:
    return {
        "changeset": changeset, "contact": contact,
        "key_service": f"{contact} (ask for an Open311 api_key to post requests)",
        "endpoints": [{"specification": SPECIFICATION, "url": f"{base_url}/open311/v2",
                       "changeset": changeset, "type": "production",
                       "formats": ["text/xml", "application/json"]}],
    }


def service_entry(service: ServiceType) -> dict[str, Any]:
    return {"service_code": service.code, "service_name": service.name,
            "description": service.description, "metadata": bool(service.attributes),
            "type": "realtime", "keywords": ", ".join(service.keywords),
            "group": service.group}


def service_definition(service: ServiceType) -> dict[str, Any]:
    return {"service_code": service.code, "attributes": [
        {"variable": True, "code": a.code, "datatype": a.datatype, "required": a.required,
         "datatype_description": None, "order": order, "description": a.description,
         "values": [{"key": key, "name": name} for key, name in a.values]}
        for order, a in enumerate(service.attributes, start=1)]}


# XML: the element names of lists' items (the spec's singular forms).
ITEM_NAMES = {"endpoints": "endpoint", "formats": "format", "services": "service",
              "attributes": "attribute", "values": "value", "service_requests": "request",
              "errors": "error"}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _add(parent: ElementTree.Element, name: str, value: Any) -> None:
    element = ElementTree.SubElement(parent, name)
    if isinstance(value, dict):
        for key, item in value.items():
            _add(element, key, item)
    elif isinstance(value, list):
        for item in value:
            _add(element, ITEM_NAMES.get(name, "item"), item)
    else:
        element.text = _text(value)


def to_xml(root: str, value: dict[str, Any] | list[Any]) -> bytes:
    """``value`` as a GeoReport v2 XML document with root element ``root``."""
    element = ElementTree.Element(root)
    if isinstance(value, dict):
        for key, item in value.items():
            _add(element, key, item)
    else:
        for item in value:
            _add(element, ITEM_NAMES[root], item)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(element)


def document(fmt: str, root: str, value: dict[str, Any] | list[Any],
             status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The response for ``value`` in ``fmt``; ``root`` names the XML root element."""
    body = (json.dumps(value, ensure_ascii=False).encode() if fmt == "json"
            else to_xml(root, value))
    return Response(body, status_code=status_code, media_type=FORMATS[fmt], headers=headers)


def errors(fmt: str, status_code: int, description: str,
           headers: dict[str, str] | None = None) -> Response:
    return document(fmt, "errors", [{"code": status_code, "description": description}],
                    status_code, headers)
