"""Downloads of the data a page shows, as CSV, JSON and GeoJSON, with the licence and credits.

Every data page offers its rows for download through ``respond``: the view builds the rows
with the same query and access function as the page (so a download never shows what the page
hides, and counts suppressed on the page are suppressed in the file), and this module writes
them in the format asked for.

- JSON: ``{"metadata": {...}, "data": [row, ...]}``.
- GeoJSON: a FeatureCollection, one Feature per row (its point or boundary, or a null
  geometry), with the same ``metadata`` as a foreign member (RFC 7946 section 6.1).
- CSV: a header row and the rows only, so any CSV reader takes it as it is; the licence is in
  an HTTP ``Link`` header (``rel="license"``) and the credits in the JSON twin of the same
  download, linked as ``rel="describedby"``. The page beside the download links names both.

The metadata member holds the title, the licence (public data only: Open Government Licence
v3.0; officers' downloads say they are not for publication), the attribution lines of the data
the page draws on (``web.credits``, from the data folder's ATTRIBUTION.md), notes such as the
disclosure-control rule, the period of a history and the column names.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from placehub import csv_cells
from placehub.errors import BadRequest, NotFound
from placehub.web.credits import page_credits

FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json",
           "geojson": "application/geo+json"}
# The licence of the council's own published data (and of most of the open data it draws on).
OPEN_LICENCE = {
    "name": "Open Government Licence v3.0",
    "url": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
}
NOT_FOR_PUBLICATION = ("Not for publication: data for the council's officers, under its data "
                       "protection and information security policies.")
# A history download covers this many days unless ``from``/``to`` say otherwise; at most
# ``MAX_DAYS``.
DEFAULT_DAYS = 7
# At most this many rows in one list download (officers' alerts, devices, reports): fetch one
# more, and a longer list is refused with what to narrow rather than cut short unsaid.
ROW_LIMIT = 100_000
MAX_DAYS = 366
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

Geometry = dict[str, Any] | None


def point_of(row: Mapping[str, Any]) -> Geometry:
    """A row's ``longitude``/``latitude`` as a GeoJSON Point (None when it has no position)."""
    lon, lat = row.get("longitude"), row.get("latitude")
    if lon is None or lat is None or lon == "" or lat == "":
        return None
    return {"type": "Point", "coordinates": [float(lon), float(lat)]}


@dataclass
class Table:
    """What a page offers for download: its rows (one dict per row, keyed by ``columns``),
    where each row is, and what the file should say about itself."""

    name: str  # the file name without extension: "public-sensors"
    title: str
    columns: list[str]
    rows: list[dict[str, Any]]
    public: bool  # public data (open licence) or officers' data (not for publication)
    geometry: Callable[[Mapping[str, Any]], Geometry] = point_of
    notes: list[str] = field(default_factory=list)
    period: tuple[datetime, datetime] | None = None
    extra_credits: list[str] = field(default_factory=list)
    # The page whose data this is (its credits are the page's): defaults to the request path
    # without the file extension.
    page: str | None = None


@dataclass(frozen=True)
class Period:
    """A history's time range: from the start of ``first`` to the end of ``last`` (UTC)."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first moment after the period (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=UTC)

    def query(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def _date(params: Mapping[str, str], name: str) -> date | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    try:
        if ISO_DATE.fullmatch(text):  # fromisoformat also takes 20261201 and week dates
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise BadRequest(f"{name}={text[:30]!r} is not a date: give it as YYYY-MM-DD, "
                     f"like 2026-12-01")


def period_of(params: Mapping[str, str], today: date, default_days: int = DEFAULT_DAYS
              ) -> Period:
    """The ``from`` and ``to`` dates of a history download (both included, UTC days).

    Without them: the ``default_days`` up to ``today``; with one, the other is ``default_days``
    away. A date that is not YYYY-MM-DD, ``from`` after ``to`` or a range over ``MAX_DAYS``
    days is a 400 saying what to change.
    """
    first, last = _date(params, "from"), _date(params, "to")
    if last is None:
        last = today if first is None else min(first + timedelta(days=default_days - 1),
                                                max(first, today))
    if first is None:
        first = last - timedelta(days=default_days - 1)
    if first > last:
        raise BadRequest(f"from={first.isoformat()} is after to={last.isoformat()}: give the "
                         "earlier date as from")
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise BadRequest(f"from {first.isoformat()} to {last.isoformat()} is {days} days: ask "
                         f"for at most {MAX_DAYS} days at a time")
    return Period(first, last)


def optional_period(params: Mapping[str, str], today: date) -> Period | None:
    """``period_of`` when ``from`` or ``to`` is given (a list filtered by date), else None."""
    if not params.get("from", "").strip() and not params.get("to", "").strip():
        return None
    return period_of(params, today)


def within_limit(rows: list[Any], what: str) -> list[Any]:
    """``rows`` (fetched with ``ROW_LIMIT + 1``), or a 400 when there are more than the limit."""
    if len(rows) > ROW_LIMIT:
        raise BadRequest(f"more than {ROW_LIMIT:,} {what} match: narrow the filters or the dates "
                         "(from=YYYY-MM-DD&to=YYYY-MM-DD) and download again")
    return rows


def check_format(fmt: str) -> str:
    """``fmt`` if it is a download format, else a 404 naming the formats."""
    if fmt not in FORMATS:
        raise NotFound(f"no .{fmt[:20]} download: use .csv, .json or .geojson")
    return fmt


def links(path: str, query: Mapping[str, Any] | None = None) -> list[dict[str, str]]:
    """The download links of ``path`` (without extension) for the page's macro: one per
    format, carrying ``query`` (the page's filters)."""
    kept = {k: v for k, v in (query or {}).items() if v not in ("", None)}
    tail = f"?{urlencode(kept)}" if kept else ""
    return [{"format": fmt.upper() if fmt != "geojson" else "GeoJSON",
             "href": f"{path}.{fmt}{tail}"} for fmt in FORMATS]


def _cell(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def metadata(request: Request, table: Table) -> dict[str, Any]:
    """The file's description: title, licence, attribution, notes, period and columns."""
    settings = request.app.state.settings
    page = table.page or request.url.path.rsplit(".", 1)[0]
    found: dict[str, Any] = {
        "title": table.title,
        "publisher": settings.council_name,
        "licence": dict(OPEN_LICENCE) if table.public else None,
        "rights": None if table.public else NOT_FOR_PUBLICATION,
        "attribution": page_credits(page, settings.data_path, settings.council_name,
                                    table.extra_credits),
        "source_page": page,
        "notes": list(table.notes),
        "columns": list(table.columns),
        "rows": len(table.rows),
    }
    if table.period is not None:
        found["period"] = {"from": table.period[0].isoformat(),
                           "to": table.period[1].isoformat()}
    return found


def respond(request: Request, table: Table, fmt: str) -> Response:
    """``table`` as a CSV, JSON or GeoJSON download (``fmt``), with its licence and credits."""
    fmt = check_format(fmt)
    rows = [{column: _cell(row.get(column)) for column in table.columns} for row in table.rows]
    filename = f"{table.name}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if not table.public:
        headers["Cache-Control"] = "private, no-store"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv_cells.writer(out, lineterminator="\r\n")
        writer.writerow(table.columns)
        for row in rows:
            writer.writerow(["" if row[c] is None else row[c] for c in table.columns])
        twin = request.url.path.rsplit(".", 1)[0] + ".json" + (
            f"?{request.url.query}" if request.url.query else "")
        described = f'<{twin}>; rel="describedby"; type="application/json"'
        headers["Link"] = (f'<{OPEN_LICENCE["url"]}>; rel="license", {described}'
                           if table.public else described)
        return Response(out.getvalue(), media_type=FORMATS["csv"], headers=headers)
    about = metadata(request, table)
    if fmt == "json":
        body: dict[str, Any] = {"metadata": about, "data": rows}
    else:
        features = []
        for number, (source, row) in enumerate(zip(table.rows, rows, strict=True)):
            feature_id = row["id"] if row.get("id") is not None else number + 1
            features.append({"type": "Feature", "id": feature_id,
                             "geometry": table.geometry(source), "properties": row})
        body = {"type": "FeatureCollection", "metadata": about, "features": features}
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                    media_type=FORMATS[fmt], headers=headers)
