"""Sorting and paging of tables on the server, so they work without JavaScript and stay fast
with 10,000 rows (only one page is rendered)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from markupsafe import Markup, escape

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
