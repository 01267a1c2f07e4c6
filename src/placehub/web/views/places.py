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
from placehub.places.queries import layer_places, place_detail
from placehub.web.asset_snapshot import snapshot_of
from placehub.web.session import officer, public
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)
LAYER = "wards"


def _list(request: Request, principal: Principal, base: str) -> Response:
    snapshot = snapshot_of(request.app)
    view = snapshot.view(principal)
    with request.app.state.database.connect() as conn:
        try:
            # Assets counted per ward from the asset snapshot (what the principal may read);
            # the list shows counts only, so the latest readings per ward are left out.
            key, place_of = snapshot.place_map(conn, LAYER)
            layer: dict[str, Any] | None = layer_places(
                conn, LAYER, principal, with_status=False,
                asset_counts=view.per_place(key, place_of))
        except NotFound:
            layer = None  # no ward boundaries loaded yet: say so instead of a 404
    return render(request, "places.html", title="Wards", layer=layer, base=base)


def _ward(request: Request, principal: Principal, code: str, base: str) -> Response:
    settings = request.app.state.settings
    with request.app.state.database.connect() as conn:
        place = place_detail(conn, LAYER, code, principal)
        indicators = ward_indicators(conn, principal, code, settings.data_path,
                                     configured_indices(settings.insight_profile_indices))
    return render(request, "place.html", title=place["name"], place=place, base=base,
                  profile=indicators["profile"], ranks=indicators["ranks"],
                  extra_credits=indicators["profile"].credits if indicators["profile"] else [])


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
