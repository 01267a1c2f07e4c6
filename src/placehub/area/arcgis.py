"""The ArcGIS REST ``query`` operation of a FeatureServer layer, page by page.

As Esri documents it: ``where``, ``outFields``, ``returnGeometry``, ``outSR``, ``f`` (``json``
or ``geojson``), and paging with ``resultOffset``/``resultRecordCount``, where
``exceededTransferLimit: true`` in the answer (in ``properties`` for GeoJSON) means there is
more. An error comes back as HTTP 200 with ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from placehub.area.download import Downloader, SourceUnavailable

PAGE_SIZE = 1000
# Codes per "IN (...)" clause: keeps each query well inside URL and SQL limits.
CODES_PER_QUERY = 100


def quoted(values: Sequence[str]) -> str:
    """SQL-92 string literals for a where clause: 'E05001806', 'O''Brien'."""
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def query(downloader: Downloader, source: str, layer_url: str, *, where: str,
          out_fields: str = "*", geometry: bool = False, order_by: str | None = None,
          page_size: int = PAGE_SIZE) -> list[dict[str, Any]]:
    """Every feature matching ``where``: GeoJSON Features with ``geometry``, else attributes."""
    url = layer_url.rstrip("/") + "/query"
    found: list[dict[str, Any]] = []
    while True:
        answer = downloader.json(source, url, {
            "where": where, "outFields": out_fields, "f": "geojson" if geometry else "json",
            "returnGeometry": "true" if geometry else "false",
            "outSR": "4326" if geometry else None, "orderByFields": order_by,
            "resultOffset": str(len(found)), "resultRecordCount": str(page_size),
        })
        if not isinstance(answer, dict):
            raise SourceUnavailable(source, url, "answered something other than a feature set")
        if "error" in answer:
            error = answer["error"] if isinstance(answer["error"], dict) else {}
            details = "; ".join(str(d) for d in error.get("details") or [])
            raise SourceUnavailable(
                source, url, f"refused the query where={where!r}: {error.get('message', '')}"
                             + (f" ({details})" if details else "")
                             + "; the service or a field may have been renamed (docs/area.md)")
        page = answer.get("features")
        if not isinstance(page, list):
            raise SourceUnavailable(source, url, "answered without a features list")
        found.extend(page if geometry else [f.get("attributes") or {} for f in page])
        more = answer.get("exceededTransferLimit")
        if more is None:
            more = (answer.get("properties") or {}).get("exceededTransferLimit")
        if not more or not page:
            return found


def query_codes(downloader: Downloader, source: str, layer_url: str, code_field: str,
                codes: Sequence[str], *, out_fields: str = "*", geometry: bool = False
                ) -> list[dict[str, Any]]:
    """The features whose ``code_field`` is one of ``codes``, in batches of IN clauses."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(codes), CODES_PER_QUERY):
        batch = codes[start:start + CODES_PER_QUERY]
        found.extend(query(downloader, source, layer_url,
                           where=f"{code_field} IN ({quoted(batch)})", out_fields=out_fields,
                           geometry=geometry, order_by=code_field))
    return found
