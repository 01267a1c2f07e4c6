"""Source credits from the shared data's ATTRIBUTION.md, so every export names its sources."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Credit:
    """One data file's source and the credit line its licence asks for."""

    path: str
    what: str
    source: str
    licence: str

    @property
    def text(self) -> str:
        return f"{self.what}: {self.source}. {self.licence}"


@lru_cache(maxsize=8)
def load_credits(attribution_file: Path) -> tuple[Credit, ...]:
    """The rows of the markdown table ``| path | what | source | licence / credit |``."""
    if not attribution_file.exists():
        return ()
    credits = []
    for line in attribution_file.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("path", "") or set(cells[0]) <= {"-"}:
            continue
        for path in cells[0].split(","):
            credits.append(Credit(path.strip(), cells[1], cells[2], cells[3]))
    return tuple(credits)


def credits_for(data_dir: Path, *fragments: str) -> list[str]:
    """Credit lines of the data files whose path contains any of ``fragments``, deduplicated."""
    found: list[str] = []
    for credit in load_credits(data_dir / "ATTRIBUTION.md"):
        if any(fragment in credit.path for fragment in fragments):
            line = f"{credit.source}: {credit.licence}"
            if line not in found:
                found.append(line)
    return found
