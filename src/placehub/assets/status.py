"""An asset's status, judged once, here: "Full", "Dry", "Sensor silent" ... from its level, its
last reading and its own thresholds.

Order of the judgement: never reported -> ``no-data``; nothing on any Datastream for longer than
``silent_hours`` -> ``silent``; serviced (emptied, watered) after its latest level reading ->
``ok``; otherwise from the level: a bin ``full`` at or above ``full``, ``nearly-full`` at or
above ``nearly_full``; a flowerbed ``dry`` at or below ``dry``; an air station ``exceeding``
above ``no2_hourly_limit``. "Full" and "dry" are *past the line*: the asset needs a visit now,
and the rounds planner makes it a mandatory stop.
"""

from __future__ import annotations

from datetime import datetime

from placehub.assets.levels import Level
from placehub.assets.thresholds import Thresholds

STATUS_LABELS = {
    "ok": "OK",
    "nearly-full": "Nearly full",
    "full": "Full",
    "dry": "Dry",
    "exceeding": "Above objective",
    "silent": "Sensor silent",
    "no-data": "No data",
}
# Statuses that mean the asset needs its service now.
PAST_THE_LINE = frozenset({"full", "dry"})


def level_status(level_kind: str | None, level: float, thresholds: Thresholds) -> str:
    """The status a level alone gives (``ok`` when the kind has no line)."""
    if level_kind == "fill":
        return ("full" if level >= thresholds.full
                else "nearly-full" if level >= thresholds.nearly_full else "ok")
    if level_kind == "moisture":
        return "dry" if level <= thresholds.dry else "ok"
    if level_kind == "no2":
        return "exceeding" if level > thresholds.no2_hourly_limit else "ok"
    return "ok"


def status_of(level_kind: str | None, level: Level | None, last_seen: datetime | None,
              thresholds: Thresholds, now: datetime,
              last_service: datetime | None = None) -> str:
    """The asset's status (see the module docstring)."""
    if last_seen is None:
        return "no-data"
    if now - last_seen > thresholds.silent_after:
        return "silent"
    if level is None:
        return "ok"
    if last_service is not None and (level.time is None or last_service > level.time):
        return "ok"  # emptied or watered since it last reported its level
    return level_status(level_kind, level.value, thresholds)


def past_the_line(status: str) -> bool:
    """Whether a status means the asset needs a visit now (full, dry)."""
    return status in PAST_THE_LINE
