"""The assets as vector tiles for big maps: every asset in exactly one tile, grouped below
street zoom and alone from zoom 16, only what the viewer may read, and recorded reads."""

from __future__ import annotations

import gzip
import math
import random
from dataclasses import replace
from typing import Any

import mapbox_vector_tile
from fastapi.testclient import TestClient
from sqlalchemy import select

from placehub.assets.summary import AssetSummary
from placehub.db import Database
from placehub.governance.tables import read_audit
from placehub.places.basemap import EXTENT
from placehub.web import asset_tiles
from tests.web.seed import OAKHAM, Seeded


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The slippy-map tile holding a position (OSM's formula)."""
    n = 2**z
    rad = math.radians(lat)
    return (int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(rad)) / math.pi) / 2 * n))


def _assets(count: int, seed: int = 3) -> list[AssetSummary]:
    """Bins scattered over Rutland's towns, some clustered on one street, one with no
    position."""
    rng = random.Random(seed)
    template = AssetSummary(id=0, name="", asset_type="litter_bin", visibility="public",
                            organisation_id=1, lon=None, lat=None)
    assets = []
    for n in range(count):
        town = rng.choice([OAKHAM, (-0.6505, 52.6117), (-0.4817, 52.6526)])
        spread = 0.0004 if n % 5 == 0 else 0.02
        assets.append(replace(template, id=n + 1, name=f"Bin {n + 1}",
                              lon=town[0] + rng.uniform(-spread, spread),
                              lat=town[1] + rng.uniform(-spread, spread)))
    assets.append(replace(template, id=count + 1, name="Bin not placed"))
    return assets


def _decoded(body: bytes, gzipped: bool = True) -> list[dict[str, Any]]:
    """The asset features of a tile (as made, gzipped; or as a client receives it)."""
    if not body:
        return []
    layers = mapbox_vector_tile.decode(gzip.decompress(body) if gzipped else body,
                                       default_options={"y_coord_down": True})
    return list(layers[asset_tiles.LAYER]["features"])


def test_at_district_zoom_every_asset_is_in_one_group_or_alone() -> None:
    """Over all zoom-12 tiles covering 3,000 bins, group counts plus single bins add up to
    every placed bin exactly once; groups are few per tile; the unplaced bin is in none."""
    assets = _assets(3000)
    index = asset_tiles.point_index(assets)
    assert len(index.assets) == 3000
    tiles = {_tile_of(a.lon, a.lat, 12) for a in index.assets}  # type: ignore[arg-type]
    total, singles = 0, []
    for x, y in tiles:
        features = _decoded(asset_tiles.encode_tile(asset_tiles.tile_features(index, 12, x,
                                                                              y)[0]))
        assert len(features) <= asset_tiles.GRID ** 2
        for feature in features:
            count = feature["properties"].get("point_count")
            if count:
                assert count > 1
                total += count
            else:
                singles.append(feature["id"])
                total += 1
    assert total == 3000 and len(singles) == len(set(singles))


def test_from_street_zoom_each_asset_is_drawn_where_it_is() -> None:
    """At zoom 16 a tile holds each bin in it alone, with its id, name, type and status, at
    its position to within a few metres."""
    assets = _assets(400)
    index = asset_tiles.point_index(assets)
    target = index.assets[0]
    x, y = _tile_of(target.lon, target.lat, 16)  # type: ignore[arg-type]
    features, shown = asset_tiles.tile_features(index, 16, x, y)
    decoded = {f["id"]: f for f in _decoded(asset_tiles.encode_tile(features))}
    assert target.id in decoded and {a.id for a in shown} == set(decoded)
    feature = decoded[target.id]
    assert feature["properties"] == {"n": target.name, "t": "litter_bin", "s": target.status}
    px, py = feature["geometry"]["coordinates"]
    n = 2**16
    lon = (x + px / EXTENT) / n * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + py / EXTENT) / n))))
    assert abs(lon - target.lon) < 1e-4 and abs(lat - target.lat) < 1e-4  # type: ignore[operator]


def test_bad_tile_addresses_say_what_is_allowed() -> None:
    """A zoom out of range or x/y outside the zoom's grid is named with the allowed range."""
    assert asset_tiles.check_tile(3, 8, 0) == "no tile 3/8/0: at zoom 3, x and y are 0 to 7"
    assert "zoom is 0 to 22" in str(asset_tiles.check_tile(23, 0, 0))
    assert asset_tiles.check_tile(12, 2039, 1340) is None
    assert [asset_tiles.abbreviated(n) for n in (950, 1200, 1000, 12_400)] == [
        "950", "1.2k", "1k", "12k"]


def test_the_tile_endpoint_serves_only_what_the_viewer_may_read(
        officer_client: TestClient, client: TestClient, seeded: Seeded,
        database: Database) -> None:
    """The officer's street-zoom tile has the council's organisation-only bins and records the
    read of each; the public tile has only public ones and records nothing; a second fetch
    with the ETag is a 304; a bad address is a 404 that says why."""
    with database.connect() as conn:
        from placehub.sta.tables import things

        rows = conn.execute(select(things.c.id, things.c.visibility, things.c.name)).all()
    hidden = {r.id for r in rows if r.visibility != "public"}
    x, y = _tile_of(*OAKHAM, 12)
    officer = officer_client.get(f"/tiles/assets/12/{x}/{y}.pbf")
    assert officer.status_code == 200
    assert officer.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    features = _decoded(officer.content, gzipped=False)
    assert features
    with database.connect() as conn:
        audited = {r.thing_id for r in conn.execute(select(read_audit.c.thing_id))}
    drawn = {f["id"] for f in features if "point_count" not in f["properties"]}
    assert drawn & hidden and audited == drawn & hidden
    again = officer_client.get(f"/tiles/assets/12/{x}/{y}.pbf",
                               headers={"If-None-Match": officer.headers["etag"]})
    assert again.status_code == 304

    public = client.get(f"/tiles/assets/12/{x}/{y}.pbf?public=true")
    assert public.status_code == 200
    public_features = _decoded(public.content, gzipped=False)
    layer = client.get("/geo/assets.geojson?public=true").json()["features"]
    in_tile = [f for f in layer if _tile_of(*f["geometry"]["coordinates"], 12) == (x, y)]
    assert in_tile and sum(f["properties"].get("point_count", 1)
                           for f in public_features) == len(in_tile)
    assert not {f["id"] for f in public_features if "id" in f} & hidden
    with database.connect() as conn:
        assert len(conn.execute(select(read_audit.c.id)).all()) == len(audited)
    bad = client.get("/tiles/assets/3/9/0.pbf?public=true")
    assert bad.status_code == 404 and "x and y are 0 to 7" in bad.text
    unknown = client.get(f"/tiles/assets/12/{x}/{y}.pbf?public=true&status=overflowing")
    assert unknown.status_code == 400 and "not understood" in unknown.text
