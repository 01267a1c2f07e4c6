"""What a council knows of the days ahead: bank holidays and the events it licenses.

Litter surges on bank holidays and on event days (a fair, a match, a market) are no surprise to
a council: the days are published (GOV.UK's bank holidays) or the council itself licenses them.
A ``DemandCalendar`` turns that knowledge into a demand factor per asset and day, which the
forecaster applies to the days ahead (``AssetHistory.demand_factors``) and divides out of the
days behind, so a surge is neither missed nor mistaken for a higher rate.

The factors are the council's **estimates** (settings ``rounds_bank_holiday_factor`` and
``rounds_event_factor``, or a factor per event in its events file), not the truth.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import holidays

DAY = timedelta(days=1)
# England and Wales (GOV.UK's "england-and-wales" division; the holidays package's GB/ENG).
GOVUK_DIVISION = "england-and-wales"
DEFAULT_BANK_HOLIDAY_FACTOR = 1.5
DEFAULT_EVENT_FACTOR = 2.0


@dataclass(frozen=True)
class Event:
    """A day a town or village (``place``; empty: everywhere) expects ``factor`` times the
    usual litter."""

    day: date
    place: str
    factor: float
    title: str = ""


def bank_holidays_england(first: date, last: date) -> frozenset[date]:
    """Bank holidays in England and Wales between two days (inclusive), from ``holidays``."""
    years = range(first.year, last.year + 1)
    found = holidays.country_holidays("GB", subdiv="ENG", years=years)
    return frozenset(d for d in found if first <= d <= last)


def bank_holidays_from_govuk(text: str, division: str = GOVUK_DIVISION) -> frozenset[date]:
    """Bank holidays from GOV.UK's ``bank-holidays.json`` (https://www.gov.uk/bank-holidays.json)."""
    try:
        data = json.loads(text)
        return frozenset(date.fromisoformat(e["date"]) for e in data[division]["events"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"not GOV.UK bank-holidays JSON with a {division!r} division "
                         f"({error}): download https://www.gov.uk/bank-holidays.json") from None


def read_events(path: str | Path, default_factor: float = DEFAULT_EVENT_FACTOR) -> list[Event]:
    """Events from a CSV file with columns ``date,place[,factor][,title]`` (a header row)."""
    events = []
    with open(path, newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                factor = float(row.get("factor") or default_factor)
                event = Event(date.fromisoformat((row.get("date") or "").strip()),
                              (row.get("place") or "").strip(), factor,
                              (row.get("title") or "").strip())
            except ValueError as error:
                raise ValueError(f"{path} line {number}: {error}; use date,place,factor,title "
                                 "with a YYYY-MM-DD date and a number factor") from None
            if factor <= 0:
                raise ValueError(f"{path} line {number}: factor {factor} must be above 0")
            events.append(event)
    return events


@dataclass(frozen=True)
class DemandCalendar:
    """Known surge days. On a bank holiday, town-centre and park bins expect
    ``bank_holiday_factor`` times the usual demand and other bins half the extra; on an event
    day, every bin of the event's place expects the event's factor."""

    bank_holidays: frozenset[date] = frozenset()
    bank_holiday_factor: float = DEFAULT_BANK_HOLIDAY_FACTOR
    events: tuple[Event, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.bank_holiday_factor <= 0:
            raise ValueError(f"bank holiday factor {self.bank_holiday_factor} must be above 0.")

    @classmethod
    def england(cls, first: date, last: date, events: Iterable[Event] = (),
                bank_holiday_factor: float = DEFAULT_BANK_HOLIDAY_FACTOR) -> DemandCalendar:
        """England and Wales bank holidays between two days, and the council's events."""
        return cls(bank_holidays_england(first, last), bank_holiday_factor, tuple(events))

    def factor(self, day: date, place: str = "", busy: bool = False) -> float:
        """The demand factor a bin of ``place`` expects on ``day`` (``busy``: town centre or
        near a park)."""
        value = 1.0
        if day in self.bank_holidays:
            extra = self.bank_holiday_factor - 1
            value *= 1 + (extra if busy else extra / 2)
        for event in self.events:
            if event.day == day and (not event.place or event.place == place):
                value *= event.factor
        return value

    def factors(self, place: str, busy: bool, first: date, last: date) -> dict[date, float]:
        """The days from ``first`` to ``last`` whose factor is not 1, for one bin."""
        days = set(d for d in self.bank_holidays if first <= d <= last)
        days |= {e.day for e in self.events if first <= e.day <= last}
        found = {d: self.factor(d, place, busy) for d in days}
        return {d: f for d, f in sorted(found.items()) if f != 1.0}


NO_FACTORS: Mapping[date, float] = {}
