"""How the web UI writes dates, times, counts and labels: the GOV.UK style guide's forms.

Dates and times are shown in Europe/London (GMT or BST, whichever was in force), such as
"7 December 2026 at 3:05pm"; "midnight" and "midday" are spelled out. Counts agree with their
noun: "1 reading", "12 litter bins".
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

# Nouns whose plural is not the noun plus "s".
IRREGULAR_PLURALS = {"property": "properties", "is": "are", "was": "were", "has": "have",
                     "bus": "buses", "match": "matches", "batch": "batches"}


def london(value: datetime) -> datetime:
    """``value`` in Europe/London; a naive datetime is taken to be UTC (as placehub stores)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(LONDON)


def govuk_time(value: datetime) -> str:
    """A London clock time as GOV.UK writes it: 9am, 3:05pm, midday, midnight."""
    local = london(value)
    if local.minute == 0 and local.hour in (0, 12):
        return "midnight" if local.hour == 0 else "midday"
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    minutes = f":{local.minute:02d}" if local.minute else ""
    return f"{hour}{minutes}{suffix}"


def govuk_datetime(value: datetime | date | str | None,
                   style: Literal["datetime", "date", "time", "short"] = "datetime") -> str:
    """The Jinja filter ``govuk_datetime``: "7 December 2026 at 3:05pm" in Europe/London.

    ``style`` "date" gives "7 December 2026", "time" gives "3:05pm", "short" gives "7 Dec 2026,
    3:05pm" (for narrow table columns). ISO strings are parsed; None is "never".
    """
    if value is None or value == "":
        return "never"
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value or " " in value \
            else date.fromisoformat(value)
    if not isinstance(value, datetime):  # a calendar date has no time zone to convert
        return f"{value.day} {value:%B %Y}"
    local = london(value)
    if style == "date":
        return f"{local.day} {local:%B %Y}"
    if style == "time":
        return govuk_time(value)
    if style == "short":
        return f"{local.day} {local:%b %Y}, {govuk_time(value)}"
    return f"{local.day} {local:%B %Y} at {govuk_time(value)}"


def plural(count: int | float, noun: str, plural_form: str | None = None) -> str:
    """The Jinja filter ``plural``: ``12 | plural("litter bin")`` is "12 litter bins"."""
    return f"{count:,} {noun if count == 1 else (plural_form or plural_noun(noun))}"


def plural_noun(noun: str) -> str:
    """The plural of an English noun phrase (its last word changes)."""
    head, _, last = noun.rpartition(" ")
    lower = last.lower()
    if lower in IRREGULAR_PLURALS:
        word = IRREGULAR_PLURALS[lower]
        word = word.capitalize() if last[:1].isupper() else word
    elif lower.endswith("y") and lower[-2:-1] not in tuple("aeiou"):
        word = last[:-1] + "ies"
    elif lower.endswith(("s", "x", "z", "ch", "sh")):
        word = last + "es"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


# Status and severity values and the GOV.UK tag colour that marks them.
TAG_COLOURS = {
    # alert severity
    "critical": "red", "high": "orange", "warning": "yellow", "medium": "yellow",
    "low": "blue", "info": "grey",
    # alert status
    "open": "red", "acknowledged": "yellow", "resolved": "green", "closed": "grey",
    # stops and jobs
    "done": "green", "skipped": "grey", "pending": "blue", "planned": "blue",
    "running": "light-blue", "failed": "red",
    # sensor health
    "ok": "green", "low-battery": "orange", "silent": "red", "no-data": "grey",
    # accounts, tokens, integrations and rules on the admin pages
    "active": "green", "disabled": "grey", "revoked": "grey", "live": "green",
    "enabled": "green",
}


def tag_class(value: str) -> str:
    """The GOV.UK tag modifier class for a status or severity ("" for the default blue)."""
    colour = TAG_COLOURS.get(str(value).lower(), "grey")
    return f"govuk-tag--{colour}"
