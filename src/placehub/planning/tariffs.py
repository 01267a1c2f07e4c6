"""A council's parking tariff board as an input: the price per hour by zone, days and hours.

A tariff board is what the signs in a car park say: "Monday to Saturday 8am to 6pm, £1.20 an
hour; Sunday free". It is given as rows of (zone, days, from, to, price), in a CSV file or as
JSON. A zone of ``*`` applies in every zone; a row for a named zone wins over ``*`` rows, and
among rows of the same kind a later row wins over an earlier one. Outside every band of a zone's
board, parking is free. A zone with no rows at all keeps the single price given beside the board.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from placehub.errors import BadRequest

EVERY_ZONE = "*"
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
COLUMNS = ("zone", "days", "from", "to", "price")
EXAMPLE = "zone,days,from,to,price\nOakham,Mon-Sat,08:00,18:00,1.20\n*,Sun,10:00,16:00,0.50"
_HOUR = re.compile(r"^(\d{1,2})(?::(\d{2}))?$")


@dataclass(frozen=True)
class TariffBand:
    """One row of a tariff board: ``price`` per hour in ``zone`` on ``days`` (0 = Monday) from
    ``start_hour`` up to ``end_hour`` (24 = midnight)."""

    zone: str
    days: frozenset[int]
    start_hour: int
    end_hour: int
    price: float

    def hours(self) -> range:
        return range(self.start_hour, self.end_hour)


def parse_days(text: str) -> frozenset[int]:
    """"Mon-Fri", "Sat", "Mon,Wed,Fri", "Sat-Mon" or "all" as weekday numbers (0 = Monday)."""
    cleaned = text.strip().lower()
    if cleaned in ("all", "*", "every day", "daily", "mon-sun"):
        return frozenset(range(7))
    found: set[int] = set()
    for part in cleaned.split(","):
        ends = [_day(end) for end in part.split("-")]
        if len(ends) == 1:
            found.add(ends[0])
        elif len(ends) == 2:
            # A range may wrap past Sunday ("Sat-Mon").
            found.update((ends[0] + k) % 7 for k in range((ends[1] - ends[0]) % 7 + 1))
        else:
            raise ValueError(f"days {text!r}: give a day, a range such as Mon-Fri, or a list")
    return frozenset(found)


def _day(text: str) -> int:
    key = text.strip()[:3]
    if key not in DAY_NAMES:
        raise ValueError(f"day {text.strip()!r}: use Mon, Tue, Wed, Thu, Fri, Sat or Sun")
    return DAY_NAMES.index(key)


def parse_hour(text: str) -> int:
    """A whole hour, "08:00" or "8", from 0 to 24 (24:00 is midnight at the end of the day)."""
    match = _HOUR.match(str(text).strip())
    if not match or int(match.group(1)) > 24 or (match.group(2) or "00") != "00" or (
            int(match.group(1)) == 24 and match.group(2) not in (None, "00")):
        raise ValueError(f"time {text!r}: give a whole hour such as 08:00 (tariffs are "
                         "profiled by the hour)")
    return int(match.group(1))


def band(zone: Any, days: Any, start: Any, end: Any, price: Any) -> TariffBand:
    """One band from its five cells, or a ValueError saying what is wrong."""
    zone_name = str(zone or "").strip()
    if not zone_name:
        raise ValueError("zone is empty: give the town the car parks serve, or * for every zone")
    start_hour, end_hour = parse_hour(start), parse_hour(end)
    if end_hour <= start_hour:
        raise ValueError(f"from {start} to {end}: the end must come after the start "
                         "(split a band that runs past midnight in two)")
    try:
        value = float(price)
    except (TypeError, ValueError):
        raise ValueError(f"price {price!r}: give pounds per hour, e.g. 1.20") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"price {price!r}: give pounds per hour, 0 or more")
    return TariffBand(zone_name, parse_days(str(days or "")), start_hour, end_hour, value)


def read_board(rows: Iterable[Mapping[str, Any]]) -> list[TariffBand]:
    """A board from rows with the keys zone, days, from, to and price; a BadRequest names the
    row and what to fix."""
    bands = []
    for number, row in enumerate(rows, start=1):
        missing = [column for column in COLUMNS if column not in row]
        if missing:
            raise BadRequest(f"tariff row {number}: missing {', '.join(missing)}; each row "
                             f"needs {', '.join(COLUMNS)}")
        try:
            bands.append(band(row["zone"], row["days"], row["from"], row["to"], row["price"]))
        except ValueError as error:
            raise BadRequest(f"tariff row {number}: {error}") from None
    return bands


def read_board_csv(text: str) -> list[TariffBand]:
    """A board from CSV text with the header zone,days,from,to,price."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    if not set(COLUMNS) <= set(header):
        raise BadRequest(f"tariff CSV: the first line must name the columns "
                         f"{','.join(COLUMNS)}, for example:\n{EXAMPLE}")
    reader.fieldnames = header
    return read_board(reader)


def zone_prices(board: Sequence[TariffBand], zone: str) -> dict[tuple[int, int], float] | None:
    """Price per (weekday, hour) in ``zone`` (0.0 outside every band), or None when the board
    has no row for the zone."""
    rows = [b for b in board if b.zone == EVERY_ZONE] + [b for b in board if b.zone == zone]
    if not rows:
        return None
    prices = {(day, hour): 0.0 for day in range(7) for hour in range(24)}
    for row in rows:
        for day in row.days:
            for hour in row.hours():
                prices[(day, hour)] = row.price
    return prices


def as_rows(board: Sequence[TariffBand]) -> list[dict[str, Any]]:
    """The board as JSON-able rows, for the run record and the API's answer."""
    return [{"zone": b.zone, "days": [DAY_NAMES[d].title() for d in sorted(b.days)],
             "from": f"{b.start_hour:02d}:00", "to": f"{b.end_hour:02d}:00", "price": b.price}
            for b in board]
