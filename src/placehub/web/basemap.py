"""The street map under every map: which OSM extract it is drawn from, the tile URL the pages
give MapLibre, and the tile responses (gzipped, cached by the browser for as long as the extract
is unchanged)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from placehub.area import area_files
from placehub.config import Settings
from placehub.errors import NotFound
from placehub.places.basemap import MAX_ZOOM, Basemap, basemap_of
from placehub.places.roads import file_fingerprint
from placehub.web import maps

TILE_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


def basemap_extract(settings: Settings) -> Path:
    """The OSM extract the street map is drawn from (the one rounds are planned on)."""
    return Path(settings.rounds_road_network or area_files(settings).roads)


def tile_url(settings: Settings) -> str:
    """The tile URL template for MapLibre, versioned by the extract (so a browser keeps tiles
    until the extract changes); empty when there is no extract to draw."""
    extract = basemap_extract(settings)
    if not extract.is_file():
        return ""
    return f"/tiles/{{z}}/{{x}}/{{y}}.pbf?v={file_fingerprint(extract)}"


def basemap(settings: Settings) -> Basemap:
    """The street map of the area, or a 404 saying what is missing."""
    extract = basemap_extract(settings)
    found = basemap_of(extract, settings.basemap_file or None)
    if found is None:
        raise NotFound(f"no street map: the OSM extract {extract} is missing (run 'placehub "
                       "area fetch', or set PLACEHUB_ROUNDS_ROAD_NETWORK)")
    return found


def tile_response(request: Request, z: int, x: int, y: int) -> Response:
    """Vector tile z/x/y of the street map: 304 when the browser has it, gzip when accepted."""
    if not 0 <= z <= MAX_ZOOM or not (0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFound(f"no tile {z}/{x}/{y}: at zoom {z}, x and y are 0 to {2**z - 1}"
                       if 0 <= z <= MAX_ZOOM else
                       f"no tile {z}/{x}/{y}: zoom is 0 to {MAX_ZOOM} (MapLibre enlarges "
                       f"zoom {MAX_ZOOM} tiles for closer views)")
    found = basemap(request.app.state.settings)
    etag = f'W/"tile-{found.version}-{z}-{x}-{y}"'
    # The versioned URL changes with the extract, so it never goes stale.
    versioned = request.query_params.get("v") == found.version
    return maps.gzipped(request, b"" if etag in request.headers.get("if-none-match", "")
                        else found.tile(z, x, y), etag, TILE_MEDIA_TYPE,
                        "public, max-age=31536000, immutable" if versioned
                        else "public, max-age=3600")
