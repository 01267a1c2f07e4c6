"""Sorting and paging of tables on the server, so they work without JavaScript and stay fast
with 10,000 rows (only one page is rendered)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from markupsafe import Markup, escape

from placehub.errors import BadRequest

T = TypeVar("T")


@dataclass
class Column:
    key: str
    label: str
    sort_key: Callable[[Any], Any] | None = None
    numeric: bool = False


@dataclass
class Page(Generic[T]):
    items: list[T]
    number: int
    count: int
    total: int


@dataclass(frozen=True)
class TableOrder:
    """How a table was asked to be shown: the column to sort on, the direction, the page."""

    sort: str
    direction: str
    page: int


def table_order(params: Mapping[str, str], columns: list[Column], default_sort: str) -> TableOrder:
    """The ``sort``, ``dir`` and ``page`` of a table's query string.

    A value that is not understood is refused (400) with what to use instead, rather than
    quietly shown as the default order, which would hide a broken link. A page past the last
    one shows the last (the table may have shrunk since the link was made).
    """
    sortable = [c.key for c in columns if c.sort_key is not None]
    sort = params.get("sort", default_sort)
    if sort not in sortable:
        raise BadRequest(f"sort={sort!r} not understood: sort by one of {', '.join(sortable)}.")
    direction = params.get("dir", "asc")
    if direction not in ("asc", "desc"):
        raise BadRequest(f"dir={direction!r} not understood: use asc or desc.")
    page = params.get("page", "1")
    # Over 12 digits is past any last page (and int() refuses over 4,300 digits).
    number = (int(page) if len(page) <= 12 else 10**12) if page.isascii() and page.isdigit() else 0
    if number < 1:
        raise BadRequest(f"page={page[:20]!r} not understood: use a whole number from 1.")
    return TableOrder(sort, direction, number)


def sort_items(items: Sequence[T], columns: list[Column], sort: str, direction: str) -> list[T]:
    """``items`` sorted by the column named ``sort``; missing values always last."""
    column = next((c for c in columns if c.key == sort and c.sort_key), None)
    if column is None or column.sort_key is None:
        return list(items)
    key = column.sort_key
    present = [item for item in items if key(item) is not None]
    missing = [item for item in items if key(item) is None]
    return sorted(present, key=key, reverse=direction == "desc") + missing


def paginate(items: list[T], number: int, per_page: int = 50) -> Page[T]:
    count = max(1, math.ceil(len(items) / per_page))
    number = min(max(1, number), count)
    start = (number - 1) * per_page
    return Page(items[start:start + per_page], number, count, len(items))


def sortable_head(columns: list[Column], params: dict[str, Any], sort: str,
                  direction: str) -> list[dict[str, Any]]:
    """govukTable head cells; sortable ones are links carrying aria-sort."""
    head = []
    for column in columns:
        cell: dict[str, Any] = {"format": "numeric"} if column.numeric else {}
        if column.sort_key is None:
            cell["text"] = column.label
        else:
            active = column.key == sort
            next_direction = "desc" if active and direction == "asc" else "asc"
            query = urlencode({**params, "sort": column.key, "dir": next_direction, "page": 1})
            state = ("ascending" if direction == "asc" else "descending") if active else "none"
            hint = f", sorted {state}" if active else ""
            cell["html"] = Markup(
                f'<a class="govuk-link" href="?{escape(query)}">{escape(column.label)}'
                f'<span class="govuk-visually-hidden">{escape(hint)}</span></a>'
            )
            cell["attributes"] = {"aria-sort": state}
        head.append(cell)
    return head


def pagination(page: Page[Any], params: dict[str, Any]) -> dict[str, Any] | None:
    """Options for govukPagination, or None for a single page."""
    if page.count <= 1:
        return None

    def href(number: int) -> str:
        return "?" + urlencode({**params, "page": number})

    shown = sorted({1, page.count, page.number - 1, page.number, page.number + 1}
                   & set(range(1, page.count + 1)))
    items: list[dict[str, Any]] = []
    previous = 0
    for number in shown:
        if number - previous > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": href(number), "current": number == page.number})
        previous = number
    options: dict[str, Any] = {"items": items}
    if page.number > 1:
        options["previous"] = {"href": href(page.number - 1)}
    if page.number < page.count:
        options["next"] = {"href": href(page.number + 1)}
    return options
