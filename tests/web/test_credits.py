"""Which sources each page credits: by path, from the data folder's ATTRIBUTION.md."""

from __future__ import annotations

from pathlib import Path

from placehub.web.credits import kinds_for, page_credits, sensor_credit


def test_longest_prefix_decides_the_kinds_of_data() -> None:
    """A ward page adds deprivation to the ward list's sources; pages without data have none."""
    assert kinds_for("/places") == ("sensors", "boundaries")
    assert "deprivation" in kinds_for("/places/E05001806")
    assert "roads" in kinds_for("/rounds/3/vehicles/1/sheet")
    assert kinds_for("/login") == () and kinds_for("/devices/new") == ()
    assert kinds_for("/mapping") == ()  # a prefix without "/" matches only the exact path


def test_credit_lines_are_whole_and_deduplicated(data_dir: Path) -> None:
    """Each credit appears once, in full, with the council's sensors first and extras last."""
    lines = page_credits("/public/places/E05001806", data_dir, "Rutland County Council",
                         extra=["Example source (OGL v3)", sensor_credit("Rutland County Council")])
    assert lines[0] == sensor_credit("Rutland County Council")
    assert lines[-1] == "Example source (OGL v3)" and len(lines) == len(set(lines))
    assert any("Contains OS data" in line for line in lines)
    assert any(line.startswith("MHCLG") for line in lines)
    assert not any("as above" in line.lower() for line in lines)
