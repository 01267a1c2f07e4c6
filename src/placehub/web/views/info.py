"""The service's own pages every GOV.UK-style service has: accessibility statement, cookies,
privacy notice and feedback; and the API reference (Swagger UI from placehub's own files)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from placehub.access.service import Principal
from placehub.web.session import viewer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)

# The one cookie placehub sets (web.pages.register), described on the cookies page.
SESSION_COOKIE = "placehub_session"
SESSION_HOURS = 12


@router.get("/accessibility")
def accessibility(request: Request, _: Principal = Depends(viewer)) -> Response:
    return render(request, "info/accessibility.html", title="Accessibility statement")


@router.get("/cookies")
def cookies(request: Request, _: Principal = Depends(viewer)) -> Response:
    return render(request, "info/cookies.html", title="Cookies", cookie_name=SESSION_COOKIE,
                  cookie_hours=SESSION_HOURS)


@router.get("/privacy")
def privacy(request: Request, _: Principal = Depends(viewer)) -> Response:
    return render(request, "info/privacy.html", title="Privacy notice")


@router.get("/feedback")
def feedback(request: Request, _: Principal = Depends(viewer)) -> Response:
    return render(request, "info/feedback.html", title="Give feedback")


@router.get("/api/docs")
def api_docs(request: Request, _: Principal = Depends(viewer)) -> Response:
    """The HTTP API reference: Swagger UI on /api/openapi.json, under placehub's CSP."""
    return render(request, "info/api_docs.html", title="API reference",
                  openapi_url=request.app.openapi_url or "/api/openapi.json")
