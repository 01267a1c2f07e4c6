"""The data credits for "About the data", read from the shared data's ATTRIBUTION.md."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Credit:
    path: str
    what: str
    source: str
    licence: str


def read_credits(data_dir: Path) -> tuple[list[Credit], list[str]]:
    """Every row of the sources table, and the notes below it."""
    path = data_dir / "ATTRIBUTION.md"
    if not path.exists():
        return [], []
    credits: list[Credit] = []
    notes: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if len(cells) >= 4 and cells[0] != "path":
                credits.append(Credit(*cells[:4]))
        elif line.startswith("- "):
            notes.append(line[2:])
    return credits, notes
