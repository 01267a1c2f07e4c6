"""Places: the list of wards and a ward page (assets, status, indicators), for officers and,
with public data only, for residents. Built on the places concern's queries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from placehub.access.service import Principal
from placehub.errors import NotFound
from placehub.insight.profiles import (
    PlacesTables,
    build_profile,
    configured_indices,
    inner_ranks,
)
from placehub.places.assign import thing_positions
from placehub.places.queries import layer_places, place_detail
from placehub.web import downloads
from placehub.web.session import officer, public
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)
LAYER = "wards"


def _list(request: Request, principal: Principal, base: str) -> Response:
    with request.app.state.database.connect() as conn:
        try:
            layer: dict[str, Any] | None = layer_places(conn, LAYER, principal)
        except NotFound:
            layer = None  # no ward boundaries loaded yet: say so instead of a 404
    return render(request, "places.html", title="Wards", layer=layer, base=base,
                  downloads=downloads.links(base))


def _ward(request: Request, principal: Principal, code: str, base: str) -> Response:
    settings = request.app.state.settings
    with request.app.state.database.connect() as conn:
        place = place_detail(conn, LAYER, code, principal)
        indicators = ward_indicators(conn, principal, code, settings.data_path,
                                     configured_indices(settings.insight_profile_indices))
    return render(request, "place.html", title=place["name"], place=place, base=base,
                  profile=indicators["profile"], ranks=indicators["ranks"],
                  extra_credits=indicators["profile"].credits if indicators["profile"] else [],
                  downloads=downloads.links(f"{base}/{code}/data"))


def ward_indicators(conn: Any, principal: Principal, code: str, data_dir: Path,
                    index_names: list[str]) -> dict[str, Any]:
    """The ward's profile (indicators the principal may see, indices) and, per index, the
    ranks of the index's own small areas (LSOAs) in the ward."""
    directory = PlacesTables()
    try:
        # "ward" (an alias of the layer) so the index's basis reads "... in this ward".
        profile = build_profile(conn, directory, principal, layer="ward", code=code,
                                data_dir=data_dir, index_names=index_names)
    except NotFound:
        profile = None
    ranks = {}
    for name in index_names:
        areas, ranked = inner_ranks(conn, directory, name, data_dir, LAYER, code)
        if areas:
            ranks[name] = {"areas": areas, "of": ranked}
    return {"profile": profile, "ranks": ranks}


WARD_COLUMNS = ["section", "id", "name", "type", "value", "max", "unit", "period",
                "suppressed", "district_median", "source"]


def _list_download(request: Request, principal: Principal, base: str, fmt: str) -> Response:
    """The wards and the assets in each (``layer_places``, as the list page) as a download."""
    downloads.check_format(fmt)
    with request.app.state.database.connect() as conn:
        try:
            layer = layer_places(conn, LAYER, principal, with_geometry=True)
        except NotFound:
            layer = {"places": []}  # no ward boundaries loaded yet: an empty table
    rows = [{"code": p["code"], "name": p["name"],
             "assets": "; ".join(f"{kind}: {count}" for kind, count in p["assets"].items()),
             "asset_count": sum(p["assets"].values()), "property_count": p["property_count"],
             "page": f"{base}/{p['code']}", "geometry": p.get("geometry")}
            for p in layer["places"]]
    return downloads.respond(request, downloads.Table(
        "wards" if base == "/public/places" else "wards-officers",
        "Wards and the assets in each", ["code", "name", "assets", "asset_count",
                                         "property_count", "page"], rows,
        public=base.startswith("/public"), geometry=lambda row: row.get("geometry")), fmt)


def _ward_download(request: Request, principal: Principal, code: str, base: str,
                   fmt: str) -> Response:
    """The ward page's tables as one download: latest readings by asset type, indices,
    indicators (counts of people as disclosed on the page) and the assets in the ward."""
    downloads.check_format(fmt)
    settings = request.app.state.settings
    with request.app.state.database.connect() as conn:
        place = place_detail(conn, LAYER, code, principal)
        indicators = ward_indicators(conn, principal, code, settings.data_path,
                                     configured_indices(settings.insight_profile_indices))
        positions = thing_positions(conn, [t["id"] for t in place["things"]])
    profile = indicators["profile"]
    rows: list[dict[str, Any]] = []
    for kind, quantities in place["status"].items():
        for quantity, entry in quantities.items():
            rows.append({"section": "latest readings", "id": quantity, "name": quantity,
                         "type": kind, "value": entry.get("mean"), "max": entry.get("max"),
                         "unit": entry.get("unit"), "period": entry.get("latest")})
    for index in profile.indices if profile else []:
        rows.append({"section": "index", "id": index.id, "name": f"{index.name} score",
                     "value": index.score, "period": index.basis,
                     "district_median": index.district_median_score, "source": index.credit})
    for item in profile.indicators if profile else []:
        rows.append({"section": "indicator", "id": item.id, "name": item.name,
                     "type": item.kind, "value": None if item.suppressed else item.value,
                     "unit": item.unit, "period": item.period, "suppressed": item.suppressed,
                     "district_median": item.district_median,
                     "source": item.source + (f" ({item.licence})" if item.licence else "")})
    for thing in place["things"]:
        lon_lat = positions.get(thing["id"])
        rows.append({"section": "asset", "id": thing["id"], "name": thing["name"],
                     "type": thing["asset_type"],
                     "point": None if lon_lat is None else {
                         "type": "Point", "coordinates": [round(lon_lat[0], 6),
                                                          round(lon_lat[1], 6)]}})
    outline = place.get("geometry")
    return downloads.respond(request, downloads.Table(
        f"ward-{place['code']}", f"{place['name']} ward", WARD_COLUMNS, rows,
        public=base.startswith("/public"),
        geometry=lambda row: row["point"] if row["section"] == "asset" else outline,
        notes=[profile.disclosure] if profile else [],
        extra_credits=profile.credits if profile else [], page=f"{base}/{code}"), fmt)


@router.get("/places.{fmt}")
def places_download(request: Request, fmt: str,
                    principal: Principal = Depends(officer)) -> Response:
    """The ward list the officer sees, as CSV, JSON or GeoJSON (with boundaries)."""
    return _list_download(request, principal, "/places", fmt)


@router.get("/places/{code}/data.{fmt}")
def ward_download(request: Request, code: str, fmt: str,
                  principal: Principal = Depends(officer)) -> Response:
    """A ward page's data as the officer sees it."""
    return _ward_download(request, principal, code, "/places", fmt)


@router.get("/public/places.{fmt}")
def public_places_download(request: Request, fmt: str,
                           principal: Principal = Depends(public)) -> Response:
    """Every ward with its public assets, as CSV, JSON or GeoJSON (with boundaries)."""
    return _list_download(request, principal, "/public/places", fmt)


@router.get("/public/places/{code}/data.{fmt}")
def public_ward_download(request: Request, code: str, fmt: str,
                         principal: Principal = Depends(public)) -> Response:
    """A public ward page's data (public assets, disclosed indicators)."""
    return _ward_download(request, principal, code, "/public/places", fmt)


@router.get("/places")
def places_page(request: Request, principal: Principal = Depends(officer)) -> Response:
    """Every ward with the assets the officer may see in it."""
    return _list(request, principal, "/places")


@router.get("/places/{code}")
def ward_page(request: Request, code: str, principal: Principal = Depends(officer)) -> Response:
    """One ward: its assets, their status, and property counts."""
    return _ward(request, principal, code, "/places")


@router.get("/public/places")
def public_places(request: Request, principal: Principal = Depends(public)) -> Response:
    """Every ward with its public assets."""
    return _list(request, principal, "/public/places")


@router.get("/public/places/{code}")
def public_ward(request: Request, code: str, principal: Principal = Depends(public)) -> Response:
    """One ward with public data only."""
    return _ward(request, principal, code, "/public/places")
