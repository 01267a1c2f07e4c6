"""The lines an asset's status is judged against: when a bin counts as nearly full or full, a
flowerbed as dry, a sensor as silent, an air station as above the objective.

Each threshold has a default per asset type, which an organisation may override for its assets
of that type (table ``asset_thresholds``), which one asset may override in its Thing properties
(``properties.thresholds``, e.g. ``{"full": 0.9}``; a flowerbed's ``watering_threshold`` is its
``dry`` line). Status, rounds, alert rules and insight all read them from here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from placehub.assets.tables import asset_thresholds
from placehub.assets.types import AIR_QUALITY_STATION, ASSET_TYPES


@dataclass(frozen=True)
class Thresholds:
    """One asset's thresholds, and where each came from (``sources``: name -> ``type default``,
    ``organisation`` or ``asset``)."""

    nearly_full: float = 0.75  # fill fraction (1 = the bin's full line)
    full: float = 1.0  # fill fraction: at or above, the bin is full
    dry: float = 20.0  # volumetric soil moisture, %: at or below, the bed needs watering
    silent_hours: float = 12.0  # no reading on any Datastream for longer: silent
    no2_hourly_limit: float = 200.0  # µg/m³, the UK hourly objective
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def silent_after(self) -> timedelta:
        return timedelta(hours=self.silent_hours)

    def values(self) -> dict[str, float]:
        """The thresholds by name (without their sources)."""
        return {name: float(getattr(self, name)) for name in THRESHOLD_NAMES}


THRESHOLD_NAMES = tuple(f.name for f in fields(Thresholds) if f.name != "sources")
# What each threshold is, for error messages, the API and docs/assets.md.
THRESHOLD_HELP: dict[str, str] = {
    "nearly_full": "fill fraction at or above which a bin is nearly full (0-1.1)",
    "full": "fill fraction at or above which a bin is full: 1 is its full line (0-1.1)",
    "dry": "soil moisture (%) at or below which a flowerbed needs watering (0-100)",
    "silent_hours": "hours without any reading after which a sensor is silent",
    "no2_hourly_limit": "hourly NO2 mean (µg/m³) above which an air station exceeds the objective",
}
_RANGES: dict[str, tuple[float, float]] = {
    "nearly_full": (0.0, 1.1), "full": (0.0, 1.1), "dry": (0.0, 100.0),
    "silent_hours": (0.0, 24.0 * 366), "no2_hourly_limit": (0.0, 10_000.0),
}

# Defaults that differ from the dataclass's, by asset type: air stations report hourly, so
# three hours without data is already a gap in the record.
TYPE_DEFAULTS: dict[str, Thresholds] = {AIR_QUALITY_STATION: Thresholds(silent_hours=3.0)}


def type_defaults(asset_type: str) -> Thresholds:
    """The built-in thresholds of an asset type."""
    base = TYPE_DEFAULTS.get(asset_type, Thresholds())
    return replace(base, sources={name: "type default" for name in THRESHOLD_NAMES})


def silence_rule() -> str:
    """The silence thresholds in words, for pages ("no reading for 12 h; ...")."""
    default = Thresholds().silent_hours
    others = "; ".join(f"{ASSET_TYPES[t].label.lower()}s {d.silent_hours:g} h"
                       for t, d in TYPE_DEFAULTS.items() if d.silent_hours != default)
    return f"no reading for {default:g} h" + (f" ({others})" if others else "")


def checked_value(name: str, value: Any) -> float:
    """``value`` as a valid number for threshold ``name``, or ValueError saying what to fix."""
    if name not in THRESHOLD_NAMES:
        raise ValueError(f"unknown threshold {name!r}: use one of {', '.join(THRESHOLD_NAMES)}")
    if isinstance(value, bool):
        raise ValueError(f"threshold {name} must be a number, not {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"threshold {name} must be a number, not {value!r}") from None
    low, high = _RANGES[name]
    if not math.isfinite(number) or not low < number <= high:
        raise ValueError(f"threshold {name} = {value!r} is outside ({low:g}, {high:g}]: "
                         f"{THRESHOLD_HELP[name]}")
    return number


def _with(base: Thresholds, values: Mapping[str, Any], source: str) -> Thresholds:
    """``base`` with the valid ``values`` applied; invalid ones are named in ``sources``."""
    changes: dict[str, float] = {}
    sources = dict(base.sources)
    for name, value in values.items():
        try:
            changes[name] = checked_value(name, value)
            sources[name] = source
        except ValueError as error:
            sources[f"ignored {source} {name}"] = str(error)
    merged = replace(base, **changes, sources=sources)
    if merged.nearly_full > merged.full:
        merged = replace(merged, nearly_full=merged.full)
    return merged


def asset_values(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The thresholds a Thing sets for itself in its properties."""
    own = properties.get("thresholds")
    values: dict[str, Any] = dict(own) if isinstance(own, dict) else {}
    # A flowerbed's watering threshold (the name the demo and older installs use) is its dry line.
    if "watering_threshold" in properties and "dry" not in values:
        values["dry"] = properties["watering_threshold"]
    return values


@dataclass
class ThresholdBook:
    """Every organisation's overrides, read once, to resolve many assets' thresholds."""

    by_organisation: dict[tuple[int, str], dict[str, float]] = field(default_factory=dict)
    # Resolved thresholds by (type, organisation, the asset's own values): most assets share
    # them, and a city's 100,000 would otherwise resolve the same few 100,000 times. Thresholds
    # are frozen, so sharing one is safe; the book is not changed once loaded.
    _resolved: dict[Any, Thresholds] = field(default_factory=dict, repr=False, compare=False)

    def for_asset(self, asset_type: str, organisation_id: int | None,
                  properties: Mapping[str, Any]) -> Thresholds:
        """The thresholds of one asset: type default, then organisation, then the asset's own."""
        own = asset_values(properties)
        try:
            # With each value's type: 1 and True are equal keys, but only 1 is a threshold.
            key: Any = (asset_type, organisation_id,
                        frozenset((name, type(value), value) for name, value in own.items()))
            found = self._resolved.get(key)
        except TypeError:  # an unhashable value (a list): resolve it each time
            key = found = None
        if found is None:
            found = self._resolve(asset_type, organisation_id, own)
            if key is not None:
                self._resolved[key] = found
        return found

    def _resolve(self, asset_type: str, organisation_id: int | None,
                 own: Mapping[str, Any]) -> Thresholds:
        resolved = type_defaults(asset_type)
        if organisation_id is not None:
            resolved = _with(resolved, self.by_organisation.get((organisation_id, asset_type), {}),
                             "organisation")
        return _with(resolved, own, "asset")


def load_book(conn: Connection) -> ThresholdBook:
    """Every organisation's threshold overrides."""
    book = ThresholdBook()
    for row in conn.execute(select(asset_thresholds.c.organisation_id,
                                   asset_thresholds.c.asset_type, asset_thresholds.c.name,
                                   asset_thresholds.c.value)):
        book.by_organisation.setdefault((row.organisation_id, row.asset_type), {})[row.name] = \
            float(row.value)
    return book


def thresholds_version(conn: Connection) -> tuple[Any, ...]:
    """Changes whenever an organisation's threshold is set or cleared (so caches reload)."""
    return tuple(conn.execute(select(func.count(), func.max(asset_thresholds.c.updated_at),
                                     func.max(asset_thresholds.c.id))).one())


def set_organisation_threshold(conn: Connection, organisation_id: int, asset_type: str,
                               name: str, value: Any, now: datetime, by: str = "") -> float:
    """Set (or replace) an organisation's threshold for its assets of a type; the value set."""
    if asset_type not in ASSET_TYPES:
        raise ValueError(f"unknown asset type {asset_type!r}: use one of "
                         f"{', '.join(ASSET_TYPES)}")
    number = checked_value(name, value)
    where = (asset_thresholds.c.organisation_id == organisation_id,
             asset_thresholds.c.asset_type == asset_type, asset_thresholds.c.name == name)
    changed = conn.execute(update(asset_thresholds).where(*where)
                           .values(value=number, updated_at=now, updated_by=by)).rowcount
    if not changed:
        conn.execute(insert(asset_thresholds).values(
            organisation_id=organisation_id, asset_type=asset_type, name=name, value=number,
            updated_at=now, updated_by=by))
    return number


def clear_organisation_threshold(conn: Connection, organisation_id: int, asset_type: str,
                                 name: str) -> bool:
    """Go back to the type default for one threshold; whether there was an override."""
    removed = conn.execute(delete(asset_thresholds).where(
        asset_thresholds.c.organisation_id == organisation_id,
        asset_thresholds.c.asset_type == asset_type, asset_thresholds.c.name == name)).rowcount
    return bool(removed)


def organisation_thresholds(conn: Connection, organisation_ids: Iterable[int] | None = None
                            ) -> list[dict[str, Any]]:
    """The overrides set by organisations (all, or these), for listing."""
    query = select(asset_thresholds).order_by(asset_thresholds.c.organisation_id,
                                              asset_thresholds.c.asset_type,
                                              asset_thresholds.c.name)
    if organisation_ids is not None:
        query = query.where(asset_thresholds.c.organisation_id.in_(sorted(organisation_ids)))
    return [{"organisation_id": r.organisation_id, "asset_type": r.asset_type, "name": r.name,
             "value": r.value, "updated_at": r.updated_at.isoformat(),
             "updated_by": r.updated_by} for r in conn.execute(query)]
