"""'About the data': every data source and its credit, read from the data folder's ATTRIBUTION.md.

The file is the single record of where the data came from; it is read where it lives (the
data_dir setting), never copied, so the credits shown always match the data in use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from placehub.errors import NotFound

ATTRIBUTION_FILE = "ATTRIBUTION.md"


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


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
                sources.append({_key(k): v.replace("`", "") for k, v in row.items()})
            continue
        if stripped.lower() == "notes":
            in_notes = True
        elif in_notes and stripped.startswith("- "):
            notes.append(stripped[2:])
        elif in_notes and notes and stripped and not stripped.startswith("#"):
            notes[-1] += " " + stripped
    return {"title": title, "sources": sources, "notes": notes}


def _key(header: str) -> str:
    """Table headers as JSON keys: 'licence / credit' -> 'licence'."""
    first = header.split("/")[0].strip()
    return first.replace(" ", "_") or header


def about_data(data_dir: str | Path) -> dict[str, Any]:
    """Every source and credit listed in ``data_dir``/ATTRIBUTION.md."""
    path = Path(data_dir) / ATTRIBUTION_FILE
    if not path.exists():
        raise NotFound(f"no {ATTRIBUTION_FILE} in the data folder {data_dir} "
                       "(set PLACEHUB_DATA_DIR to the shared data folder)")
    about = parse_attribution(path.read_text(encoding="utf-8"))
    about["file"] = ATTRIBUTION_FILE
    return about
