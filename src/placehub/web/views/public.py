"""Pages for residents, without signing in: public data only (the anonymous principal is used for
every query here, whoever is signed in)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from placehub.access.service import Principal
from placehub.places.about_data import about_data
from placehub.web import maps
from placehub.web.session import public, viewer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, principal: Principal = Depends(viewer)) -> Response:
    if not principal.is_anonymous:
        return RedirectResponse("/overview", status_code=303)
    return render(request, "home.html", title="Connected places")


@router.get("/public/map")
def public_map(request: Request, principal: Principal = Depends(public)) -> Response:
    return render(request, "map.html", **maps.map_context(request, principal, public=True))


@router.get("/public/map.{fmt}")
def public_map_download(request: Request, fmt: str,
                        principal: Principal = Depends(public)) -> Response:
    """The public map's whole table (same filters and order) as CSV, JSON or GeoJSON."""
    return maps.table_download(request, principal, public=True, fmt=fmt)


@router.get("/about-the-data")
def about_the_data(request: Request, _: Principal = Depends(viewer)) -> Response:
    about = about_data(request.app.state.settings.data_path)
    return render(request, "about.html", title="About the data", credits=about["sources"],
                  notes=about["notes"])
