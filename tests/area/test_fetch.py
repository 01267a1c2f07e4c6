"""Fetching Rutland and Sutton from the (stand-in) official sources gives the files the demo reads."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import osmium
import pytest
import shapely
from shapely.geometry import shape
from shapely.ops import unary_union

from placehub.area import area_files
from placehub.area.download import Downloader
from placehub.area.fetch import (
    choose_sources,
    fetch_area,
    sources_from_settings,
    write_credits,
)
from placehub.config import Settings
from placehub.errors import BadRequest
from placehub.places.about_data import about_data
from placehub.places.layers import building_points
from placehub.places.osm import read_amenity_nodes, read_places
from tests.area.official import RUTLAND, SUTTON, OfficialSources, settings_for

# The areas fetched from the stand-in official sources (``fetched``) take 15-25 s to fetch in
# each test process: every test reading them runs in one.
pytestmark = pytest.mark.xdist_group("fetched")

AREAS = ("rutland", "sutton")


def _collection(path: Path) -> dict[str, dict[str, Any]]:
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    code = next(k for k in features[0]["properties"] if k.endswith("CD"))
    return {f["properties"][code]: f for f in features}


@pytest.mark.parametrize("area", AREAS)
@pytest.mark.parametrize("layer", ["wards", "lsoas"])
def test_boundaries_are_the_shared_ones(fetched: Settings, data_dir: Path, area: str,
                                        layer: str) -> None:
    """Same places, codes, names, properties and shapes as the boundary files the demo reads."""
    ours = _collection(area_files(fetched, area).folder / f"{layer}.geojson")
    theirs = _collection(data_dir / area / f"{layer}.geojson")
    assert sorted(ours) == sorted(theirs)
    assert len(ours) == {"rutland": {"wards": 16, "lsoas": 23},
                         "sutton": {"wards": 18, "lsoas": 121}}[area][layer]
    for code, feature in theirs.items():
        assert ours[code]["properties"] == feature["properties"]
        assert shape(ours[code]["geometry"]).equals_exact(shape(feature["geometry"]), 1e-12)


def test_boundaries_come_page_by_page(official: OfficialSources, official_url: str,
                                      tmp_path: Path) -> None:
    """Sutton's 121 LSOAs come by code, in lon/lat GeoJSON, 50 a page (resultOffset 0, 50)."""
    settings = settings_for(official_url, tmp_path / "data", tmp_path / "cache")
    before = len(official.requests)
    with Downloader(settings.area_cache_dir) as downloader:
        fetch_area(SUTTON, area_files(settings, "sutton"),
                   [sources_from_settings(settings)["boundaries"]], downloader)
    pages = [r for r in official.requests[before:] if "LSOA_Dec_2011" in r.path]
    assert {int(r.params["resultOffset"]) for r in pages} == {0, 50}
    assert all(r.params["f"] == "geojson" and r.params["outSR"] == "4326" for r in pages)
    assert all(r.params["where"].startswith("LSOA11CD IN ('E0100") for r in pages)
    assert any(r.method == "POST" for r in pages)  # 100 codes make a long query


def _inside(area: shapely.Geometry, lonlat: tuple[float, float]) -> bool:
    return bool(area.contains(shapely.Point(lonlat)))


def test_rutland_extract_keeps_everything_inside_rutland(fetched: Settings,
                                                         data_dir: Path) -> None:
    """Buildings, settlements and waste baskets inside Rutland: the same in both extracts."""
    files = area_files(fetched, "rutland")
    rutland = unary_union([shape(f["geometry"]) for f in _collection(files.wards).values()])
    shared = data_dir / "rutland" / "roads.osm.pbf"

    def buildings(pbf: Path) -> set[str]:
        return {p["ref"] for p in building_points(pbf) if _inside(rutland, (p["lon"], p["lat"]))}

    ours, theirs = buildings(files.roads), buildings(shared)
    assert len(theirs) > 4000 and ours == theirs
    assert ({p.osm_id for p in read_places(files.roads) if _inside(rutland, p.lonlat)}
            == {p.osm_id for p in read_places(shared) if _inside(rutland, p.lonlat)})
    assert ({i for i, ll in read_amenity_nodes(files.roads, "waste_basket") if _inside(rutland, ll)}
            == {i for i, ll in read_amenity_nodes(shared, "waste_basket")
                if _inside(rutland, ll)})


def test_rutland_extract_has_whole_roads(fetched: Settings, data_dir: Path) -> None:
    """Every road with a node in Rutland is in the extract with all of its nodes."""
    files = area_files(fetched, "rutland")
    rutland = unary_union([shape(f["geometry"]) for f in _collection(files.wards).values()])
    shapely.prepare(rutland)

    def roads(pbf: Path) -> dict[int, tuple[int, bool]]:
        found = {}
        for way in osmium.FileProcessor(str(pbf)).with_locations().with_filter(
                osmium.filter.KeyFilter("highway")):
            if not isinstance(way, osmium.osm.Way):
                continue
            complete = all(n.location.valid() for n in way.nodes)
            if complete and any(_inside(rutland, (n.lon, n.lat)) for n in way.nodes):
                found[way.id] = (len(way.nodes), complete)
            elif not complete:
                found[way.id] = (len(way.nodes), False)
        return found

    ours, theirs = roads(files.roads), roads(data_dir / "rutland" / "roads.osm.pbf")
    inside_theirs = {w: v for w, v in theirs.items() if v[1]}
    assert len(inside_theirs) > 1000
    assert all(ours.get(way) == value for way, value in inside_theirs.items())
    assert all(complete for _nodes, complete in ours.values())


def test_sutton_postcodes_are_the_nspl_rows_of_sutton(fetched: Settings, data_dir: Path) -> None:
    """The Sutton rows (laua E09000029) of the NSPL, verbatim; other councils' rows left out."""
    shared = (data_dir / "sutton" / "postcodes.csv").read_text(encoding="utf-8").splitlines()
    ours = area_files(fetched, "sutton").postcodes.read_text(encoding="utf-8").splitlines()
    laua = next(csv.reader([shared[0]])).index("laua")
    expected = [line for line in shared[1:] if next(csv.reader([line]))[laua] == "E09000029"]
    assert ours[0] == shared[0]
    assert ours[1:] == expected and len(expected) == 5167


def _gz_rows(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as handle:
        return [[cell.replace(",", "") if cell.replace(",", "").isdigit() else cell
                 for cell in row] for row in csv.reader(handle)]


def test_deprivation_files_are_the_shared_ones(fetched: Settings, data_dir: Path) -> None:
    """File 2's ranks and File 6's populations: the same 32,844 LSOAs, columns and numbers."""
    files = area_files(fetched, "rutland")
    ranks = _gz_rows(files.domain_ranks)
    assert ranks == _gz_rows(data_dir / "iod2019" / "domain_ranks.csv.gz")
    assert len(ranks) == 32_845 and sum(r[2] == "E06000017" for r in ranks) == 23
    population = _gz_rows(files.population)
    assert population == _gz_rows(data_dir / "iod2019" / "population.csv.gz")


def test_air_replay_is_the_shared_one(fetched: Settings, data_dir: Path) -> None:
    """Six years of UK-AIR site CSVs give back the replay table the demo reads, byte for byte."""
    path = area_files(fetched, "rutland").air_replay
    assert path.read_bytes() == (data_dir / "air" / "marylebone_road_hourly_2015_2020.csv"
                                 ).read_bytes()


@pytest.mark.parametrize("area", AREAS)
def test_manifest_records_what_was_fetched_with_checksums(fetched: Settings, area: str,
                                                          official: OfficialSources) -> None:
    """Every written file's SHA-256 and size, and every download's URL and checksum."""
    files = area_files(fetched, area)
    manifest = files.read_manifest()
    assert manifest["area"]["slug"] == area
    assert sorted(manifest["sources"]) == ["air", "boundaries", "iod", "osm", "postcodes"]
    for source in manifest["sources"].values():
        for relative, record in source["files"].items():
            data = (files.data_dir / relative).read_bytes()
            assert record == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    extract = manifest["sources"]["osm"]["downloads"][0]
    served = official.body(urlsplit(extract["url"]).path)
    assert served is not None
    assert extract["sha256"] == hashlib.sha256(served).hexdigest()


def test_attribution_lists_every_file_with_its_licence(fetched: Settings) -> None:
    """About the data reads back one credit per fetched file, with its source's licence."""
    about = about_data(fetched.data_path)
    by_path = {path.strip(): row for row in about["sources"] for path in row["path"].split(",")}
    for area in AREAS:
        assert "OGL v3" in by_path[f"{area}/wards.geojson"]["licence"]
        assert "OGL v3" in by_path[f"{area}/postcodes.csv"]["licence"]
        assert "ODbL" in by_path[f"{area}/roads.osm.pbf"]["licence"]
    assert "Crown copyright, Defra" in by_path["air/marylebone_road_hourly_2015_2020.csv"][
        "licence"]
    assert by_path["iod2019/domain_ranks.csv.gz"]["source"] == "MHCLG"


def test_credits_keep_rows_of_other_files(tmp_path: Path, data_dir: Path,
                                          official_url: str) -> None:
    """Writing one source's credits into the shared ATTRIBUTION.md keeps every other row."""
    (tmp_path / "ATTRIBUTION.md").write_text((data_dir / "ATTRIBUTION.md").read_text())
    settings = settings_for(official_url, tmp_path, tmp_path / "cache")
    before = about_data(tmp_path)["sources"]
    write_credits(area_files(settings, "rutland"), [sources_from_settings(settings)["osm"]])
    after = about_data(tmp_path)["sources"]
    assert len(after) == len(before)
    pbf = next(row for row in after if row["path"] == "rutland/roads.osm.pbf")
    assert pbf["source"].startswith("Geofabrik") and "ODbL" in pbf["licence"]
    assert [r for r in after if r["path"] != "rutland/roads.osm.pbf"] == [
        r for r in before if r["path"] != "rutland/roads.osm.pbf"]


def test_a_second_fetch_uses_the_cache(fetched: Settings, official: OfficialSources) -> None:
    """Fetching Rutland's extract again asks for the index and the .md5, not the extract."""
    before = len(official.requests)
    with Downloader(fetched.area_cache_dir) as downloader:
        report = fetch_area(RUTLAND, area_files(fetched, "rutland"),
                            [sources_from_settings(fetched)["osm"]], downloader)
    asked = [r.path for r in official.requests[before:]]
    assert report.results["osm"].downloads[0].cached
    assert asked == ["/index-v1.json",
                     "/europe/united-kingdom/england/rutland-latest.osm.pbf.md5"]


def test_a_council_fetch_leaves_the_demo_replay_out(fetched: Settings) -> None:
    """By default a fetch takes the council's own data; air only when asked; typos refused."""
    sources = sources_from_settings(fetched)
    assert [s.key for s in choose_sources(sources, None)] == [
        "boundaries", "osm", "postcodes", "iod"]
    assert [s.key for s in choose_sources(sources, ["air", "boundaries"])] == [
        "boundaries", "air"]
    with pytest.raises(BadRequest, match="unknown source parks: choose from boundaries"):
        choose_sources(sources, ["parks"])
