"""Which other concerns are installed: pages of a concern that has not landed say so plainly
instead of breaking (see docs/web.md)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


def optional_module(name: str) -> ModuleType | None:
    """The module ``name`` if it is installed and imports cleanly, else None."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def optional_function(module: str, name: str) -> Any | None:
    """``module.name`` if both exist, else None."""
    found = optional_module(module)
    return getattr(found, name, None) if found is not None else None
