"""Cache files written whole or not at all, by several writers at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import numpy as np
import pytest

from placehub.atomic_files import write_atomically


def test_writers_at_once_each_leave_a_whole_file_and_no_partials(tmp_path: Path) -> None:
    """Eight writers of the same cache at once: every one succeeds, the file is one writer's
    whole array, and no partial file is left beside it."""
    target = tmp_path / "cache" / "basemap.npz"

    def write(number: int) -> None:
        values = np.full(200_000, number)
        write_atomically(target, lambda file: np.savez_compressed(file, values=values))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(8)))
    with np.load(target) as data:
        values = data["values"]
    assert len(values) == 200_000 and len(set(values.tolist())) == 1
    assert [p.name for p in target.parent.iterdir()] == ["basemap.npz"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    """A writer that fails half way leaves the previous file as it was and no partial."""
    target = tmp_path / "profile.toml"
    target.write_text("old = 1\n")

    def fail_half_way(file: IO[bytes]) -> None:
        file.write(b"new = ")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, fail_half_way)
    assert target.read_text() == "old = 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["profile.toml"]
