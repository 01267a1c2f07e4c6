"""The data catalogue: ``/data`` (a GOV.UK page listing each published dataset with its licence,
update frequency and downloads) and ``/data.json`` (the same as a DCAT-US 1.1 catalogue for
harvesters). Anonymous callers get the public datasets only."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from placehub.access.service import Principal
from placehub.web import catalogue, downloads
from placehub.web.session import viewer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/data")
def data_page(request: Request, principal: Principal = Depends(viewer)) -> Response:
    """Every dataset the caller may download, with licence, frequency and download links."""
    return render(request, "data.html", title="Data catalogue",
                  datasets=catalogue.datasets(request, principal),
                  licence=downloads.OPEN_LICENCE, rights=downloads.NOT_FOR_PUBLICATION)


@router.get("/data.json")
def data_json(request: Request, principal: Principal = Depends(viewer)) -> Response:
    """The catalogue in the DCAT-US 1.1 (Project Open Data) shape data.gov.uk harvests."""
    body = catalogue.dcat_catalog(request, catalogue.datasets(request, principal))
    return JSONResponse(body, headers={"Cache-Control": "private, no-cache"})
