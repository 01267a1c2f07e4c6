"""The demo's air-quality replay: Defra AURN hourly data from London Marylebone Road (MY1).

UK-AIR publishes one CSV per site and year (``<SITE>_<YEAR>.csv``): a few lines about the
site, then ``Date,time`` and, per measured quantity, a value, status and unit column. Times
are GMT at the end of the hour (``01:00`` .. ``24:00``); values are "No data" when missing.
They are written as one table with the hour's start in UTC and short column names, the table
the demo replays (``date,ws,wd,air_temp,nox,no2,o3,pm2.5,pm10``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from placehub.area.download import SourceUnavailable
from placehub.area.files import AreaFiles
from placehub.area.source import Credit, FetchJob, SourceResult

SITE = "MY1"
YEARS = tuple(range(2015, 2021))
COLUMNS = ("date", "ws", "wd", "air_temp", "nox", "no2", "o3", "pm2.5", "pm10")
# UK-AIR's quantity names (HTML tags removed, lower case) -> the replay's column.
QUANTITIES = {
    "modelled wind speed": "ws",
    "modelled wind direction": "wd",
    "modelled temperature": "air_temp",
    "nitrogen oxides as nitrogen dioxide": "nox",
    "nitrogen dioxide": "no2",
    "ozone": "o3",
    "pm2.5 particulate matter (hourly measured)": "pm2.5",
    "pm10 particulate matter (hourly measured)": "pm10",
}
MISSING = {"", "no data", "nan"}


def _quantity(header: str) -> str | None:
    name = re.sub(r"<[^>]+>", "", header).strip().lower()
    return QUANTITIES.get(name)


def parse_site_csv(text: str) -> Iterator[dict[str, str]]:
    """Rows of one UK-AIR site CSV as replay rows (hour start, UTC)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Date,time")), None)
    if start is None:
        raise ValueError("no 'Date,time' header line")
    header = next(csv.reader([lines[start]]))
    columns = {i: _quantity(name) for i, name in enumerate(header) if i >= 2}
    for row in csv.reader(io.StringIO("\n".join(lines[start + 1:]))):
        if len(row) < 2 or not re.match(r"^\d{2}-\d{2}-\d{4}$", row[0]):
            continue
        day = datetime.strptime(row[0], "%d-%m-%Y")
        hour = int(row[1].split(":")[0])
        begins = day + timedelta(hours=hour - 1)  # "01:00" is the hour from 00:00
        out = {"date": begins.strftime("%Y-%m-%dT%H:%M:%SZ")}
        for i, column in columns.items():
            if column and i < len(row):
                value = row[i].strip()
                out[column] = "" if value.lower() in MISSING else value
        yield out


class DefraAirReplay:
    """Hourly AURN measurements of one site over several years (the demo's air replay)."""

    key = "air"
    title = "Defra UK-AIR (Automatic Urban and Rural Network)"
    licence = "OGL v3"
    update_cycle = "hourly provisional data, ratified each year (the demo replays 2015-2020)"

    def __init__(self, base_url: str, site: str = SITE, years: tuple[int, ...] = YEARS) -> None:
        self.base_url = base_url.rstrip("/")
        self.site = site
        self.years = years
        self.documented_url = f"{self.base_url}/<SITE>_<YEAR>.csv (e.g. {site}_2019.csv)"

    def outputs(self, files: AreaFiles) -> list[Path]:
        return [files.air_replay]

    def fetch(self, job: FetchJob) -> SourceResult:
        result = SourceResult()
        rows: list[dict[str, str]] = []
        for year in self.years:
            url = f"{self.base_url}/{self.site}_{year}.csv"
            downloaded = job.downloader.file(self.title, url, f"defra-{self.site}_{year}.csv")
            result.downloads.append(downloaded)
            try:
                found = list(parse_site_csv(downloaded.path.read_text(encoding="utf-8-sig",
                                                                      errors="replace")))
            except ValueError as error:
                raise SourceUnavailable(self.title, url, f"not a UK-AIR site CSV ({error})"
                                        ) from None
            rows.extend(found)
            result.counts[str(year)] = len(found)
        target = job.files.air_replay
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, COLUMNS, restval="", lineterminator="\n")
            writer.writeheader()
            writer.writerows(sorted(rows, key=lambda r: r["date"]))
        result.written.append(target)
        return result

    def credits(self, files: AreaFiles) -> list[Credit]:
        first, last = self.years[0], self.years[-1]
        return [Credit((files.relative(files.air_replay),),
                       f"Hourly AURN measurements at London Marylebone Road (site {self.site}), "
                       f"{first}–{last}: modelled wind and temperature, NOx, NO2, O3, PM2.5, "
                       "PM10 in µg/m³", self.title,
                       f"{self.licence}; \"© Crown copyright, Defra via uk-air.defra.gov.uk\"")]
