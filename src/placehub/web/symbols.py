"""The symbol of each asset status: a colour and a shape, so no two statuses look alike (and
colour is never the only cue). The same SVG path draws the legend and table symbols (an inline
SVG) and the map's markers (MapLibre images drawn from the path by map.js).
"""

from __future__ import annotations

from typing import Any

# Paths in a 16 x 16 box.
SHAPES = {
    "circle": "M8 1.5A6.5 6.5 0 1 1 7.99 1.5Z",
    "triangle": "M8 1L15 14.5H1Z",
    "square": "M2 2H14V14H2Z",
    "triangle-down": "M1 1.5H15L8 15Z",
    "diamond": "M8 0.5L15.5 8L8 15.5L0.5 8Z",
    "hexagon": "M4.5 1.5H11.5L15 8L11.5 14.5H4.5L1 8Z",
    "plus": "M5.5 1H10.5V5.5H15V10.5H10.5V15H5.5V10.5H1V5.5H5.5Z",
}

# status -> (shape, fill). GOV.UK palette colours; "no data" is a hollow circle.
STATUS_SYMBOLS: dict[str, tuple[str, str]] = {
    "ok": ("circle", "#00703c"),
    "nearly-full": ("triangle", "#f47738"),
    "full": ("square", "#d4351c"),
    "dry": ("triangle-down", "#b58840"),
    "exceeding": ("diamond", "#912b88"),
    "silent": ("hexagon", "#505a5f"),
    "no-data": ("circle", "#ffffff"),
    "unknown": ("plus", "#b1b4b6"),
}
OUTLINE = "#0b0c0c"


def symbol_of(status: str) -> tuple[str, str]:
    """(SVG path, fill colour) of a status; unknown statuses share one symbol."""
    shape, fill = STATUS_SYMBOLS.get(status, STATUS_SYMBOLS["unknown"])
    return SHAPES[shape], fill


def map_symbols() -> dict[str, Any]:
    """Every status's path and fill, for map.js (a data attribute of the map)."""
    return {status: {"path": SHAPES[shape], "fill": fill}
            for status, (shape, fill) in STATUS_SYMBOLS.items()} | {"outline": OUTLINE}
