"""The data folder's ATTRIBUTION.md: where each data file came from and the credit it needs.

One parser serves the "About the data" API (places) and the credits on every export (insight),
so both always show the same sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

ATTRIBUTION_FILE = "ATTRIBUTION.md"
# Cells that point at the row above instead of repeating it: shown as is, they would hide the
# credit (a Sutton page would say "as above"), so they are filled in from that row.
SAME_AS_ABOVE = {"as above", "same as above", "ditto", "\"", "〃"}


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _key(header: str) -> str:
    """Table headers as JSON keys: 'licence / credit' -> 'licence'."""
    first = header.split("/")[0].strip()
    return first.replace(" ", "_") or header


def parse_attribution(text: str) -> dict[str, Any]:
    """The title, the sources table (one dict per row, keyed by the header) and the notes."""
    lines = text.splitlines()
    title = next((line.lstrip("# ").strip() for line in lines if line.startswith("# ")), "")
    sources: list[dict[str, str]] = []
    notes: list[str] = []
    header: list[str] | None = None
    in_notes = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("|"):
            cells = _cells(stripped)
            if header is None:
                header = [cell.lower() for cell in cells]
            elif not all(set(cell) <= set("-: ") for cell in cells):
                row = dict(zip(header, cells, strict=False))
                entry = {_key(k): v.replace("`", "") for k, v in row.items()}
                sources.append(_fill_from_above(entry, sources[-1] if sources else None))
            continue
        if stripped.lower() == "notes":
            in_notes = True
        elif in_notes and stripped.startswith("- "):
            notes.append(stripped[2:])
        elif in_notes and notes and stripped and not stripped.startswith("#"):
            notes[-1] += " " + stripped
    return {"title": title, "sources": sources, "notes": notes}


def _fill_from_above(row: dict[str, str], above: dict[str, str] | None) -> dict[str, str]:
    """``row`` with every "as above" cell replaced by the cell above it."""
    if above is None:
        return row
    return {key: above.get(key, value) if value.strip().lower() in SAME_AS_ABOVE else value
            for key, value in row.items()}


@dataclass(frozen=True)
class Credit:
    """One data file's source and the credit line its licence asks for."""

    path: str
    what: str
    source: str
    licence: str

    @property
    def text(self) -> str:
        """The credit as one line: what, source and licence."""
        return f"{self.what}: {self.source}. {self.licence}"


@lru_cache(maxsize=8)
def load_credits(attribution_file: Path) -> tuple[Credit, ...]:
    """One ``Credit`` per data file in the sources table (a row may list several paths)."""
    if not attribution_file.exists():
        return ()
    rows = parse_attribution(attribution_file.read_text(encoding="utf-8"))["sources"]
    return tuple(
        Credit(path.strip(), row.get("what", ""), row.get("source", ""), row.get("licence", ""))
        for row in rows if row.get("path")
        for path in row["path"].split(","))


def credits_for(data_dir: Path, *fragments: str) -> list[str]:
    """Credit lines of the data files whose path contains any of ``fragments``, deduplicated."""
    found: list[str] = []
    for credit in load_credits(Path(data_dir) / ATTRIBUTION_FILE):
        if any(fragment in credit.path for fragment in fragments):
            line = f"{credit.source}: {credit.licence}"
            if line not in found:
                found.append(line)
    return found


ATTRIBUTION_TITLE = "Data in this folder: sources and licences"
ATTRIBUTION_INTRO = (
    "Real public data from the official sources. Keep each credit line wherever the data is "
    "shown or republished (the \"About the data\" page, exported files).")


def render_attribution(rows: list[dict[str, str]], notes: list[str],
                       title: str = ATTRIBUTION_TITLE) -> str:
    """An ATTRIBUTION.md that ``parse_attribution`` reads back as ``rows`` and ``notes``.

    Each row has ``path`` (comma-separated), ``what``, ``source`` and ``licence``.
    """
    def cell(text: str) -> str:
        return " ".join(text.replace("|", "/").split())

    lines = [f"# {title}", "", ATTRIBUTION_INTRO, "",
             "| path | what | source | licence / credit |", "|---|---|---|---|"]
    lines += [f"| {cell(r.get('path', ''))} | {cell(r.get('what', ''))} | "
              f"{cell(r.get('source', ''))} | {cell(r.get('licence', ''))} |" for r in rows]
    if notes:
        lines += ["", "Notes"] + [f"- {cell(note)}" for note in notes]
    return "\n".join(lines) + "\n"
