"""The street map's tile endpoint: gzipped Mapbox vector tiles of the area's OSM extract,
cached by the browser, and 404s that say what to ask for instead."""

from __future__ import annotations

import gzip
from pathlib import Path

import mapbox_vector_tile
from fastapi.testclient import TestClient

from placehub.config import Settings
from placehub.web.app import create_app
from placehub.web.basemap import tile_url
from tests.places.test_basemap import OAKHAM_HIGH_STREET, tile_of

OAKHAM_TILE = "/tiles/{}/{}/{}.pbf".format(*tile_of(*OAKHAM_HIGH_STREET, 14))


def test_tile_names_oakham_streets_and_is_cached(client: TestClient, settings: Settings) -> None:
    """Anyone gets the Oakham tile gzipped with its street names; the versioned URL the pages
    use is cached for good, and asking again with its ETag is a 304."""
    url = tile_url(settings).replace("{z}/{x}/{y}", "/".join(OAKHAM_TILE.split("/")[2:])
                                     .removesuffix(".pbf"))
    assert url.startswith(OAKHAM_TILE + "?v=")
    response = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert "immutable" in response.headers["cache-control"]
    layers = mapbox_vector_tile.decode(response.content)  # httpx has undone the gzip
    assert "High Street" in {f["properties"].get("name") for f in layers["roads"]["features"]}
    again = client.get(url, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and not again.content
    plain = client.get(OAKHAM_TILE, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert "immutable" not in plain.headers["cache-control"]
    assert gzip.compress(plain.content) and mapbox_vector_tile.decode(plain.content) == layers


def test_tiles_outside_the_tile_grid_are_404_with_the_range(client: TestClient) -> None:
    """Zoom 15 and x beyond the zoom's grid answer 404 saying what is valid; letters 400."""
    deep = client.get("/tiles/15/0/0.pbf")
    assert deep.status_code == 404 and "zoom is 0 to 14" in deep.json()["error"]["message"]
    wide = client.get("/tiles/3/8/0.pbf")
    assert wide.status_code == 404 and "0 to 7" in wide.json()["error"]["message"]
    assert client.get("/tiles/a/0/0.pbf").status_code == 400


def test_no_extract_no_street_map(settings: Settings, database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Without an OSM extract the pages draw no street map and a tile is a 404 naming the
    missing file."""
    bare = settings.replace(data_dir=str(tmp_path))
    assert tile_url(bare) == ""
    with TestClient(create_app(bare, database=database)) as client:
        response = client.get("/tiles/14/8158/5361.pbf")
    assert response.status_code == 404
    assert "roads.osm.pbf" in response.json()["error"]["message"]
