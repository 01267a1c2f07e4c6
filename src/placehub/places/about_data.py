"""'About the data': every data source and its credit, read from the data folder's ATTRIBUTION.md.

The file is the single record of where the data came from; it is read where it lives (the
data_dir setting), never copied, so the credits shown always match the data in use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from placehub.attribution import ATTRIBUTION_FILE, parse_attribution
from placehub.errors import NotFound


def about_data(data_dir: str | Path) -> dict[str, Any]:
    """Every source and credit listed in ``data_dir``/ATTRIBUTION.md."""
    path = Path(data_dir) / ATTRIBUTION_FILE
    if not path.exists():
        raise NotFound(f"no {ATTRIBUTION_FILE} in the data folder {data_dir} "
                       "(set PLACEHUB_DATA_DIR to the shared data folder)")
    about = parse_attribution(path.read_text(encoding="utf-8"))
    about["file"] = ATTRIBUTION_FILE
    return about
