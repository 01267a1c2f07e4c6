"""The council's tariff board: days, hours and prices read from CSV or JSON rows, zone rows
winning over every-zone rows, free outside the bands, and errors that name the row to fix."""

from __future__ import annotations

import pytest

from placehub.errors import BadRequest
from placehub.planning.tariffs import (
    parse_days,
    parse_hour,
    read_board,
    read_board_csv,
    zone_prices,
)

BOARD = """zone,days,from,to,price
*,Mon-Sat,08:00,18:00,1.00
Oakham,Mon-Fri,09:00,17:00,1.50
Oakham,Sat,10:00,14:00,2.00
"""


def test_days_ranges_lists_and_wrapping() -> None:
    """Mon-Fri is five weekdays, a list takes each day, Sat-Mon wraps past Sunday."""
    assert parse_days("Mon-Fri") == frozenset(range(5))
    assert parse_days("mon, wed,Friday") == frozenset({0, 2, 4})
    assert parse_days("Sat-Mon") == frozenset({5, 6, 0})
    assert parse_days("all") == frozenset(range(7))
    with pytest.raises(ValueError, match="use Mon"):
        parse_days("Funday")


def test_hours_are_whole_and_may_end_at_midnight() -> None:
    """08:00 and 8 are hour 8, 24:00 ends the day; half hours are refused with the reason."""
    assert parse_hour("08:00") == parse_hour("8") == 8
    assert parse_hour("24:00") == 24
    for text in ("08:30", "25:00", "noon"):
        with pytest.raises(ValueError, match="whole hour"):
            parse_hour(text)


def test_zone_rows_win_and_outside_the_bands_is_free() -> None:
    """Oakham takes its own weekday and Saturday prices over the every-zone row, keeps the
    every-zone price where its own rows are silent, and is free on Sunday and at night; a zone
    with only the every-zone row gets it; the board read from CSV equals its JSON rows."""
    board = read_board_csv(BOARD)
    oakham = zone_prices(board, "Oakham")
    assert oakham is not None
    assert oakham[(0, 9)] == 1.50 and oakham[(0, 8)] == 1.00 and oakham[(0, 17)] == 1.00
    assert oakham[(5, 11)] == 2.00 and oakham[(5, 9)] == 1.00
    assert oakham[(6, 12)] == 0.0 and oakham[(2, 22)] == 0.0
    uppingham = zone_prices(board, "Uppingham")
    assert uppingham is not None and uppingham[(0, 9)] == 1.00 and uppingham[(6, 9)] == 0.0
    rows = [{"zone": "*", "days": "Mon-Sat", "from": "08:00", "to": "18:00", "price": 1.0},
            {"zone": "Oakham", "days": "Mon-Fri", "from": "09:00", "to": "17:00", "price": "1.50"},
            {"zone": "Oakham", "days": "Sat", "from": 10, "to": 14, "price": 2}]
    assert read_board(rows) == board


def test_a_zone_the_board_does_not_name_keeps_the_single_price() -> None:
    """With no every-zone row, a zone the board omits gets no prices from it (None)."""
    board = read_board_csv("zone,days,from,to,price\nOakham,all,00:00,24:00,0.80\n")
    assert zone_prices(board, "Uppingham") is None
    assert set((zone_prices(board, "Oakham") or {}).values()) == {0.80}


@pytest.mark.parametrize(("text", "message"), [
    ("zone,days,price\nOakham,Mon,1", "first line must name the columns"),
    ("zone,days,from,to,price\nOakham,Mon,18:00,08:00,1", "row 1: from 18:00 to 08:00"),
    ("zone,days,from,to,price\n*,Mon,8,9,1\nOakham,Mon,08:00,09:00,-1", "row 2: price"),
    ("zone,days,from,to,price\n,Mon,8,9,1", "zone is empty"),
    ("zone,days,from,to,price\nOakham,Mon,8,9,free", "pounds per hour"),
])
def test_a_bad_board_says_which_row_and_what_to_fix(text: str, message: str) -> None:
    """Each mistake is a BadRequest naming the row and the fix, never a crash."""
    with pytest.raises(BadRequest, match=message):
        read_board_csv(text)
