"""CSV for spreadsheets: every CSV placehub writes goes through these writers.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel,
LibreOffice and Google Sheets as a formula, so a Thing named ``=HYPERLINK("http://evil",
"Click")`` would become a live link in a council officer's spreadsheet (CSV injection, OWASP).
Such text cells get a leading apostrophe, which spreadsheets show as text; numbers, including
negative ones, are written unchanged.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(value: Any) -> Any:
    """``value``, with an apostrophe in front when a spreadsheet would run it as a formula."""
    if not isinstance(value, str):
        return value
    text = value.lstrip(" ")
    # A lone "-" (a suppression mark) or "+" is text to every spreadsheet.
    if len(text) > 1 and text[0] in _FORMULA_START and not _NUMBER.fullmatch(text.strip()):
        return "'" + value
    return value


class _SafeRows:
    """A csv writer whose rows have their cells made spreadsheet-safe first."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([spreadsheet_safe(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: Any, **options: Any) -> _SafeRows:
    """Like ``csv.writer``, with formula-safe cells."""
    return _SafeRows(csv.writer(out, **options))


class DictWriter(csv.DictWriter):
    """Like ``csv.DictWriter``, with formula-safe cells."""

    def __init__(self, out: Any, fieldnames: Iterable[str], **options: Any) -> None:
        super().__init__(out, list(fieldnames), **options)
        self.writer = _SafeRows(self.writer)  # type: ignore[assignment]
