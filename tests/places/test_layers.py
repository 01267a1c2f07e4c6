"""Loading boundary layers and property points, and assigning them to places, on real data."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select

from placehub.db import Database
from placehub.errors import BadRequest
from placehub.places.layers import (
    guess_point_columns,
    load_boundaries,
    load_buildings,
    load_points_csv,
    read_points_csv,
)
from placehub.places.tables import (
    place_layers,
    places,
    property_point_places,
    property_points,
)

SUTTON = "E09000029"


def _assigned_codes(database: Database, layer: str) -> dict[str, str]:
    """Postcode -> code of the place it was assigned to in ``layer``."""
    with database.connect() as conn:
        rows = conn.execute(
            select(property_points.c.ref, places.c.code)
            .join(property_point_places, property_point_places.c.point_id == property_points.c.id)
            .join(places, places.c.id == property_point_places.c.place_id)
            .join(place_layers, place_layers.c.id == places.c.layer_id)
            .where(place_layers.c.name == layer))
        return dict(rows.all())


@pytest.fixture
def sutton(database: Database, data_dir: Path) -> Database:
    """Sutton's LSOAs, wards and postcodes loaded into the test database."""
    with database.begin() as conn:
        load_boundaries(conn, data_dir / "sutton" / "lsoas.geojson", "lsoas")
        load_boundaries(conn, data_dir / "sutton" / "wards.geojson", "wards")
        load_points_csv(conn, data_dir / "sutton" / "postcodes.csv", "sutton-postcodes")
    return database


def _live_sutton_postcodes(data_dir: Path) -> list[dict[str, str]]:
    with (data_dir / "sutton" / "postcodes.csv").open(newline="") as handle:
        return [row for row in csv.DictReader(handle)
                if not row["doterm"] and row["laua"] == SUTTON]


def test_sutton_postcodes_fall_in_the_lookups_lsoa_and_ward(sutton: Database,
                                                          data_dir: Path) -> None:
    """Point-in-polygon agrees with the NSPL's own lsoa11 for >= 99% and ward for >= 97%."""
    live = _live_sutton_postcodes(data_dir)
    assert len(live) > 3000
    lsoas = _assigned_codes(sutton, "lsoas")
    wards = _assigned_codes(sutton, "wards")
    lsoa_agree = sum(lsoas.get(row["pcds"]) == row["lsoa11"] for row in live) / len(live)
    ward_agree = sum(wards.get(row["pcds"]) == row["ward"] for row in live) / len(live)
    assert lsoa_agree >= 0.99, lsoa_agree
    assert ward_agree >= 0.97, ward_agree


def test_loads_are_rerunnable_without_duplicates(sutton: Database, data_dir: Path) -> None:
    """Loading the same layers and points again leaves the same number of rows."""
    def counts() -> tuple[int, ...]:
        with sutton.connect() as conn:
            return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one()
                         for t in (place_layers, places, property_points, property_point_places))

    before = counts()
    with sutton.begin() as conn:
        report = load_boundaries(conn, data_dir / "sutton" / "wards.geojson", "wards")
        load_points_csv(conn, data_dir / "sutton" / "postcodes.csv", "sutton-postcodes")
    assert report.loaded == 18 and report.removed == 0
    assert counts() == before


def test_terminated_postcodes_are_not_loaded(sutton: Database, data_dir: Path) -> None:
    """Only live postcodes (empty doterm) become property points."""
    with (data_dir / "sutton" / "postcodes.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    live = {r["pcds"] for r in rows if not r["doterm"]}
    with sutton.connect() as conn:
        refs = set(conn.execute(select(property_points.c.ref)).scalars())
    assert refs == live


def test_code_and_name_properties_are_guessed_or_refused(database: Database,
                                                         data_dir: Path) -> None:
    """WD13CD/WD13NM are found by themselves; a wrong property name says which ones exist."""
    with database.begin() as conn:
        load_boundaries(conn, data_dir / "rutland" / "wards.geojson", "wards")
        layer = conn.execute(select(place_layers)).one()
        assert (layer.code_property, layer.name_property) == ("WD13CD", "WD13NM")
        names = set(conn.execute(select(places.c.name)).scalars())
        assert "Braunston and Belton" in names
        with pytest.raises(BadRequest, match="WD13CD"):
            load_boundaries(conn, data_dir / "rutland" / "wards.geojson", "wards2",
                            code_property="ward_code")


def test_uprn_file_with_british_national_grid_is_converted(tmp_path: Path,
                                                           data_dir: Path) -> None:
    """Eastings/northings (EPSG:27700) become lon/lat matching the NSPL's own lat/long."""
    with (data_dir / "sutton" / "postcodes.csv").open(newline="") as handle:
        sample = [r for r in csv.DictReader(handle) if not r["doterm"]][:50]
    uprns = tmp_path / "uprns.csv"
    with uprns.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["UPRN", "X_COORDINATE", "Y_COORDINATE"])
        for number, row in enumerate(sample):
            writer.writerow([100000 + number, row["oseast1m"], row["osnrth1m"]])
    points, skipped, columns = read_points_csv(uprns)
    assert columns.easting == "X_COORDINATE" and skipped == 0
    # Without the OSTN15 grid pyproj uses a Helmert transformation, good to a few metres:
    # 1e-4 degrees is about 7 m of longitude and 11 m of latitude here.
    for point, row in zip(points, sample, strict=True):
        assert point["lon"] == pytest.approx(float(row["long"]), abs=1e-4)
        assert point["lat"] == pytest.approx(float(row["lat"]), abs=1e-4)


def test_points_csv_without_position_columns_is_refused() -> None:
    """A CSV with no recognisable position columns gets a message naming the options."""
    with pytest.raises(BadRequest, match="--lon-column"):
        guess_point_columns(["UPRN", "street"])


def test_osm_buildings_become_property_points(database: Database, data_dir: Path) -> None:
    """Every Rutland building gives one point inside a Rutland ward; a reload adds none."""
    pbf = data_dir / "rutland" / "roads.osm.pbf"
    with database.begin() as conn:
        load_boundaries(conn, data_dir / "rutland" / "wards.geojson", "wards")
        first = load_buildings(conn, pbf)
        again = load_buildings(conn, pbf)
        total = conn.execute(select(func.count()).select_from(property_points)).scalar_one()
        assigned = conn.execute(
            select(func.count()).select_from(property_point_places)).scalar_one()
    assert first.loaded == again.loaded == total > 4000
    # The extract reaches a little beyond the county line (about 6% of buildings lie outside).
    assert 0.9 * total <= assigned < total


@pytest.mark.parametrize("geojson", [
    {"type": "Point", "coordinates": [-0.7275, 52.6695]},
    {"type": "Point", "coordinates": [-1, 52, 120.5]},
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.7, 52.6]}},
    {"type": "Point", "coordinates": [True, 52.6]},
    {"type": "Point", "coordinates": [float("nan"), 52.6]},
    {"type": "Point", "coordinates": []},
    {"type": "Point"},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
    "not geojson",
])
def test_a_locations_point_is_read_as_shapely_reads_it(geojson: object) -> None:
    """Points read without Shapely give the same (lon, lat) Shapely gives, and anything else
    still goes through Shapely."""
    from shapely.geometry import shape

    from placehub.places.assign import representative_lonlat

    geometry = geojson.get("geometry", geojson) if isinstance(geojson, dict) else geojson
    try:
        reference = shape(geometry)
        point = None if reference.is_empty else (
            reference if reference.geom_type == "Point" else reference.representative_point())
        expected = None if point is None else (point.x, point.y)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        expected = None
    # Compared as text, so a NaN coordinate (which Shapely keeps) equals itself.
    assert repr(representative_lonlat(geojson)) == repr(expected)
