"""CSV exports: cells a spreadsheet would run as formulas are written as text."""

import csv
import io
import re
from pathlib import Path

import pytest

from placehub import csv_cells

SRC = Path(__file__).resolve().parents[1] / "src" / "placehub"


@pytest.mark.parametrize(("cell", "written"), [
    ('=HYPERLINK("http://evil.example","Click")', '\'=HYPERLINK("http://evil.example","Click")'),
    ("+44 1572 722577", "'+44 1572 722577"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\t=1", "'\t=1"),
    ("  =1+1", "'  =1+1"),
    ("-12.5", "-12.5"),
    ("+3", "+3"),
    ("1e-3", "1e-3"),
    ("-", "-"),
    ("Bin 001 Oakham", "Bin 001 Oakham"),
    (-7, -7),
    (None, None),
])
def test_spreadsheet_safe(cell: object, written: object) -> None:
    """Formula-shaped text gets an apostrophe; numbers (negative too), marks and names do not."""
    assert csv_cells.spreadsheet_safe(cell) == written


def test_writers_escape_every_row() -> None:
    """Both writers escape data rows and round-trip through the csv reader."""
    out = io.StringIO()
    writer = csv_cells.writer(out, lineterminator="\n")
    writer.writerow(["name", "value"])
    writer.writerows([["=1+1", -3], ["ok", 4]])
    table = io.StringIO()
    dict_writer = csv_cells.DictWriter(table, ["name", "value"], lineterminator="\n")
    dict_writer.writeheader()
    dict_writer.writerow({"name": "@cmd", "value": 1})
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["name", "value"], ["'=1+1", "-3"], ["ok", "4"]]
    assert table.getvalue() == "name,value\n'@cmd,1\n"


def test_every_export_uses_the_safe_writers() -> None:
    """No module writes CSV with the bare csv writers, except the area loaders, which write
    official data files for placehub itself to read."""
    bare = re.compile(r"\bcsv\.(writer|DictWriter)\(")
    offenders = [str(path.relative_to(SRC)) for path in SRC.rglob("*.py")
                 if path.name != "csv_cells.py" and path.parent.name != "area"
                 and bare.search(path.read_text(encoding="utf-8"))]
    assert offenders == []
