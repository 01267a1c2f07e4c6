"""The council's brand colour as CSS custom properties, so a setting change needs no rebuild."""

from __future__ import annotations

import re

from placehub.errors import BadRequest

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def mix(colour: str, other: str, weight: float) -> str:
    """``weight`` of ``colour`` mixed with ``other`` (as Sass's color.mix does)."""
    a, b = _rgb(colour), _rgb(other)
    mixed = (round(x * weight + y * (1 - weight)) for x, y in zip(a, b, strict=True))
    return "#" + "".join(f"{part:02x}" for part in mixed)


def contrast_with_white(colour: str) -> float:
    """WCAG contrast ratio of ``colour`` against white."""
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in _rgb(colour))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 1.05 / (luminance + 0.05)


def brand_css(colour: str) -> str:
    """:root custom properties overriding GOV.UK Frontend's functional colours."""
    if not _HEX.match(colour or ""):
        raise BadRequest(f"brand_colour {colour!r}: use a six-digit hex colour such as #00594f")
    # White header text and links on white need 4.5:1; darken a light brand colour until they do.
    text_safe = colour
    for step in range(1, 11):
        if contrast_with_white(text_safe) >= 4.5:
            break
        text_safe = mix(colour, "#000000", 1 - step / 10)
    values = {
        "brand": text_safe,
        "template-background": mix(colour, "#ffffff", 0.06),
        "surface-background": mix(colour, "#ffffff", 0.06),
        "surface-border": mix(colour, "#ffffff", 0.5),
        "link": text_safe,
        "link-hover": mix(text_safe, "#000000", 0.6),
        "link-visited": mix(text_safe, "#4c2c92", 0.4),
    }
    body = "".join(f"--govuk-{name}-colour:{value};" for name, value in values.items())
    return f":root{{{body}}}\n"
