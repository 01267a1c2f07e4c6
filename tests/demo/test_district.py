"""The Rutland demo district: what is placed where, reproducibly, inside the county's places."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

from shapely.geometry import Point, shape

from placehub.demo.district import OUI, District, generate_district
from placehub.places.roads import RoadNetwork

OAKHAM_CENTRE = (-0.72846, 52.66994)  # the place=town node of Oakham in the extract


def _polygons(data_dir: Path, layer: str) -> list:
    data = json.loads((data_dir / "rutland" / f"{layer}.geojson").read_text())
    return [shape(feature["geometry"]) for feature in data["features"]]


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = math.radians(b[0] - a[0]) * math.cos(math.radians(a[1]))
    return 6_371_008.8 * math.hypot(dx, math.radians(b[1] - a[1]))


def test_every_asset_lies_in_exactly_one_ward_and_one_lsoa(district: District,
                                                           data_dir: Path) -> None:
    """Each bin, flowerbed, air station, the depot and the tip is in one ward and one LSOA."""
    wards, lsoas = _polygons(data_dir, "wards"), _polygons(data_dir, "lsoas")
    spots = [(a.lon, a.lat) for a in district.assets]
    spots += [(district.depot.lon, district.depot.lat), (district.tip.lon, district.tip.lat)]
    for spot in spots:
        point = Point(spot)
        assert sum(p.intersects(point) for p in wards) == 1, spot
        assert sum(p.intersects(point) for p in lsoas) == 1, spot


def test_district_has_the_assets_the_demo_promises(district: District) -> None:
    """About 300 bins, about 40 flowerbeds and 6 air stations, with the named device profiles."""
    assert len(district.bins) == 300
    assert 35 <= len(district.flowerbeds) <= 45
    assert len(district.air_stations) == 6
    profiles = Counter(a.profile for a in district.assets)
    assert set(profiles) == {"milesight-em310-udl-bin", "dragino-ldds75-bin",
                             "dragino-lse01-flowerbed", "netvox-ra0715-air", "decentlab-pm-air"}
    assert {a.visibility for a in district.assets} == {"public", "organisation"}
    assert {a.network for a in district.assets} == {"tts", "chirpstack"}


def test_mapped_waste_baskets_are_used(district: District) -> None:
    """The waste baskets mapped in OpenStreetMap are among the bins."""
    mapped = [b for b in district.bins if "osm_node" in b.properties]
    assert len(mapped) >= 5


def test_bins_are_denser_in_town_centres(district: District) -> None:
    """Bins per km² within 400 m of Oakham's centre far exceed those 400-1500 m out."""
    distances = [_metres(OAKHAM_CENTRE, (b.lon, b.lat)) for b in district.bins]
    centre = sum(d <= 400 for d in distances) / (math.pi * 0.4 ** 2)
    ring = sum(400 < d <= 1500 for d in distances) / (math.pi * (1.5 ** 2 - 0.4 ** 2))
    assert centre > 3 * ring


def test_dev_euis_are_unique_and_carry_the_vendor_oui(district: District) -> None:
    """Every DevEUI is 16 hex digits, unique, and starts with its vendor's OUI."""
    euis = [a.dev_eui for a in district.assets]
    assert len(set(euis)) == len(euis)
    for asset in district.assets:
        vendor = asset.profile.split("-")[0]
        assert asset.dev_eui.startswith(OUI[vendor]) and len(asset.dev_eui) == 16
        int(asset.dev_eui, 16)


def test_depot_and_tip_come_from_openstreetmap(district: District) -> None:
    """The depot is at the council offices in Oakham, the tip at the Cottesmore recycling centre."""
    assert district.depot.source.startswith("OpenStreetMap")
    assert district.tip.source.startswith("OpenStreetMap")
    assert _metres(OAKHAM_CENTRE, (district.depot.lon, district.depot.lat)) < 1000


def test_same_seed_same_district_other_seed_other_bins(
    district: District, data_dir: Path, demo_roads: RoadNetwork
) -> None:
    """The district is reproducible from its seed, and another seed places bins differently."""
    assert generate_district(data_dir, demo_roads, seed=2024) == district
    other = generate_district(data_dir, demo_roads, seed=7)
    assert [(b.lon, b.lat) for b in other.bins] != [(b.lon, b.lat) for b in district.bins]
