"""Loading a fetched area in one step, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest
from sqlalchemy import func, select

from placehub.area import area_files
from placehub.area.load import load_area
from placehub.config import Settings
from placehub.db import Database
from placehub.errors import BadRequest
from placehub.insight.indicators import values_for_layer
from placehub.places.layers import building_points
from placehub.places.tables import place_layers, places, property_point_places, property_points

# The areas fetched from the stand-in official sources (``fetched``) take 15-25 s to fetch in
# each test process: every test reading them runs in one.
pytestmark = pytest.mark.xdist_group("fetched")


def _published_ranks(data_dir: Path, lad: str) -> dict[str, float]:
    with gzip.open(data_dir / "iod2019" / "domain_ranks.csv.gz", "rt", encoding="utf-8-sig",
                   newline="") as handle:
        rows = list(csv.reader(handle))
    return {r[0]: float(r[4]) for r in rows[1:] if r[2] == lad}


def test_rutland_loads_in_one_step(database: Database, fetched: Settings, data_dir: Path,
                                   tmp_path: Path) -> None:
    """Wards, LSOAs, every building, the road network and the IoD 2019 of its 23 LSOAs."""
    files = area_files(fetched, "rutland")
    steps = {s.name: s for s in load_area(database, files, tmp_path / "roads.npz")}
    assert list(steps) == ["wards", "lsoas", "postcodes", "buildings", "roads", "indices"]
    assert (steps["wards"].loaded, steps["lsoas"].loaded) == (16, 23)
    assert steps["buildings"].loaded == len(building_points(files.roads)) > 4000
    assert steps["roads"].loaded > 20_000 and (tmp_path / "roads.npz").exists()
    assert steps["postcodes"].loaded == 0  # the stand-in NSPL has no Rutland rows
    assert steps["indices"].loaded == 23
    with database.connect() as conn:
        titles = dict(conn.execute(select(place_layers.c.name, place_layers.c.title)).all())
        ranks = {v.place_code: v.value for v in values_for_layer(conn, "lsoas", "imd2019_rank")}
        scores = values_for_layer(conn, "lsoas", "imd2019_score")
    assert titles == {"wards": "Wards (2013)", "lsoas": "LSOAs (2011)"}
    assert ranks == _published_ranks(data_dir, "E06000017")
    assert len(scores) == 23 and all(0 <= v.value <= 100 for v in scores)  # type: ignore[operator]
    assert any("equals the published one for 23 of 23" in n for n in steps["indices"].notes)


def test_sutton_postcodes_land_in_its_lsoas(database: Database, fetched: Settings,
                                            tmp_path: Path) -> None:
    """Sutton's live postcodes load and fall in its LSOAs (generalised boundaries: >= 99%)."""
    files = area_files(fetched, "sutton")
    steps = {s.name: s for s in load_area(database, files, tmp_path / "roads.npz",
                                          skip=["buildings", "roads"])}
    with files.postcodes.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    live = [r for r in rows if not r["doterm"] and r["lat"] != "99.999999"]
    assert steps["postcodes"].loaded == len(live) and steps["postcodes"].skipped == len(
        rows) - len(live)
    assert (steps["wards"].loaded, steps["lsoas"].loaded, steps["indices"].loaded) == (
        18, 121, 121)
    with database.connect() as conn:
        lsoa_layer = conn.execute(select(place_layers.c.id).where(
            place_layers.c.name == "lsoas")).scalar_one()
        assigned = conn.execute(select(func.count()).select_from(property_point_places).where(
            property_point_places.c.layer_id == lsoa_layer)).scalar_one()
        points = conn.execute(select(func.count()).select_from(property_points)).scalar_one()
        place_count = conn.execute(select(func.count()).select_from(places)).scalar_one()
    assert points == len(live) and place_count == 18 + 121
    assert assigned / points >= 0.99


def test_loading_again_updates_in_place(database: Database, fetched: Settings,
                                        tmp_path: Path) -> None:
    """A second load leaves the same places, points and indicator values."""
    files = area_files(fetched, "sutton")
    skip = ["buildings", "roads"]
    load_area(database, files, tmp_path / "roads.npz", skip=skip)

    def counts() -> tuple[int, int, int]:
        with database.connect() as conn:
            return (conn.execute(select(func.count()).select_from(places)).scalar_one(),
                    conn.execute(select(func.count()).select_from(property_points)).scalar_one(),
                    len(values_for_layer(conn, "lsoas", "imd2019_decile")))

    before = counts()
    load_area(database, files, tmp_path / "roads.npz", skip=skip)
    assert counts() == before


def test_load_refuses_an_area_not_fetched(database: Database, fetched: Settings,
                                          tmp_path: Path) -> None:
    """An area without boundaries says which command fetches it; an unknown step is named."""
    with pytest.raises(BadRequest, match="placehub area fetch bury"):
        load_area(database, area_files(fetched, "bury"), tmp_path / "roads.npz")
    with pytest.raises(BadRequest, match="unknown step parks"):
        load_area(database, area_files(fetched, "rutland"), tmp_path / "r.npz", skip=["parks"])
