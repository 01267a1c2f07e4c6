"""The English Indices of Deprivation 2019 (MHCLG), from File 7: the one CSV with everything.

The index ranks every LSOA in England against all the others, so the files written keep all
32,844 LSOAs (about 1.7 MB): an area's ranks only mean something beside the rest. They take the
columns of File 2 (domain ranks and deciles) and File 6 (population denominators), which the
``iod2019`` index definition reads; the area's own LSOAs are counted and checked.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Sequence
from pathlib import Path

from placehub.area.download import SourceUnavailable
from placehub.area.files import AreaFiles
from placehub.area.source import Credit, FetchJob, SourceResult

IDENTITY = ("LSOA code (2011)", "LSOA name (2011)", "Local Authority District code (2019)",
            "Local Authority District name (2019)")
_DOMAINS = ("Income", "Employment", "Education, Skills and Training",
            "Health Deprivation and Disability", "Crime", "Barriers to Housing and Services",
            "Living Environment")
DOMAIN_RANK_COLUMNS = IDENTITY + (
    "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",
    "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)",
) + tuple(column for domain in _DOMAINS for column in (
    f"{domain} Rank (where 1 is most deprived)",
    f"{domain} Decile (where 1 is most deprived 10% of LSOAs)"))
POPULATION_COLUMNS = IDENTITY + (
    "Total population: mid 2015 (excluding prisoners)",
    "Dependent Children aged 0-15: mid 2015 (excluding prisoners)",
    "Population aged 16-59: mid 2015 (excluding prisoners)",
    "Older population aged 60 and over: mid 2015 (excluding prisoners)",
    "Working age population 18-59/64: for use with Employment Deprivation Domain "
    "(excluding prisoners)",
)
LSOAS_IN_ENGLAND = 32_844


def write_csv_gz(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A gzip CSV with a fixed timestamp, so the same rows always give the same checksum."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                               mtime=0) as packed:
        packed.write(buffer.getvalue().encode("utf-8-sig"))


class MhclgDeprivation:
    """IoD 2019 ranks, deciles and population denominators of every LSOA in England."""

    key = "iod"
    title = "MHCLG English Indices of Deprivation 2019"
    licence = "OGL v3"
    update_cycle = "every four to five years (2015, 2019, 2025); 2019 is the edition on 2011 LSOAs"

    def __init__(self, url: str) -> None:
        self.url = url
        self.documented_url = url

    def outputs(self, files: AreaFiles) -> list[Path]:
        return [files.domain_ranks, files.population]

    def fetch(self, job: FetchJob) -> SourceResult:
        downloaded = job.downloader.file(self.title, self.url, "iod2019-file7.csv")
        with downloaded.path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader, [])]
            missing = [c for c in (*DOMAIN_RANK_COLUMNS, *POPULATION_COLUMNS) if c not in header]
            if missing:
                raise SourceUnavailable(self.title, self.url,
                                        f"File 7 has no column {missing[0]!r} (and "
                                        f"{len(missing) - 1} more); its layout changed")
            ranks_at = [header.index(c) for c in DOMAIN_RANK_COLUMNS]
            population_at = [header.index(c) for c in POPULATION_COLUMNS]
            ranks: list[list[str]] = []
            population: list[list[str]] = []
            for row in reader:
                if not row or not row[0].strip():
                    continue
                ranks.append([row[i] for i in ranks_at])
                population.append([row[i] for i in population_at])
        write_csv_gz(job.files.domain_ranks, DOMAIN_RANK_COLUMNS, ranks)
        write_csv_gz(job.files.population, POPULATION_COLUMNS, population)
        in_area = {row[0] for row in ranks if row[2] == job.area.code}
        result = SourceResult(downloads=[downloaded],
                              written=[job.files.domain_ranks, job.files.population],
                              counts={"lsoas_in_england": len(ranks),
                                      "lsoas_in_area": len(in_area)})
        if len(ranks) != LSOAS_IN_ENGLAND:
            result.notes.append(f"{len(ranks)} LSOAs where the IoD 2019 has {LSOAS_IN_ENGLAND}")
        if not in_area:
            result.notes.append(f"no LSOA of {job.area.code} in the IoD 2019 (England only)")
        boundary_codes = _lsoa_codes(job.files.lsoas)
        if boundary_codes and in_area and boundary_codes != in_area:
            result.notes.append(
                f"{len(boundary_codes - in_area)} LSOA boundaries without IoD rows, "
                f"{len(in_area - boundary_codes)} IoD rows without a boundary")
        return result

    def credits(self, files: AreaFiles) -> list[Credit]:
        return [
            Credit((files.relative(files.domain_ranks),),
                   "English Indices of Deprivation 2019: IMD rank/decile and the seven domain "
                   "ranks/deciles for all 32,844 LSOAs (the columns of File 2, from File 7)",
                   "MHCLG", self.licence),
            Credit((files.relative(files.population),),
                   "English Indices of Deprivation 2019: population denominators (mid-2015) per "
                   "LSOA (the columns of File 6, from File 7)", "MHCLG", self.licence),
        ]


def _lsoa_codes(path: Path) -> set[str]:
    try:
        features = json.loads(path.read_text(encoding="utf-8"))["features"]
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        return set()
    return {str((f.get("properties") or {}).get("LSOA11CD")) for f in features}
