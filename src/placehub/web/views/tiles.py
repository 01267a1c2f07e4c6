"""The street map's vector tiles (placehub draws them itself from the OSM extract: no tile
server, no CDN)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from placehub.access.service import Principal
from placehub.web import basemap
from placehub.web.session import viewer

router = APIRouter(include_in_schema=False)


@router.get("/tiles/{z}/{x}/{y}.pbf")
def tile(request: Request, z: int, x: int, y: int, _: Principal = Depends(viewer)) -> Response:
    """One vector tile of the street map (OpenStreetMap roads, names, water, land use): public
    map data, the same for everyone."""
    return basemap.tile_response(request, z, x, y)
