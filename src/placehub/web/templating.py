"""Jinja templates with GOV.UK Frontend's macros (govuk-frontend-jinja) and the page context.

Every page gets the council's branding, who is signed in, the CSRF token, the CSP nonce and the
service navigation for that user.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import (
    ChainableUndefined,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    select_autoescape,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse

from placehub import __version__
from placehub.access.service import ANONYMOUS, Principal
from placehub.web.basemap import tile_url
from placehub.web.credits import page_credits
from placehub.web.formats import govuk_datetime, plural, tag_class
from placehub.web.security import CSRF_FIELD, csrf_token
from placehub.web.symbols import map_symbols, symbol_of

TEMPLATES = Path(__file__).parent / "templates"

OFFICER_NAVIGATION = [
    ("Overview", "/overview"),
    ("Map", "/map"),
    ("Rounds", "/rounds"),
    ("Alerts", "/alerts"),
    ("Air quality", "/air"),
    ("Devices", "/devices"),
    ("Places", "/places"),
    ("Planning", "/planning/hazard"),
    ("Reports", "/reports"),
]
PUBLIC_NAVIGATION = [
    ("My area", "/my-area"),
    ("Map", "/public/map"),
    ("Air quality", "/public/air"),
    ("Wards", "/public/places"),
    ("Parking", "/public/parking"),
    ("Report a problem", "/report"),
    ("About the data", "/about-the-data"),
]

environment = Environment(
    loader=ChoiceLoader([
        FileSystemLoader(str(TEMPLATES)),
        PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
    ]),
    undefined=ChainableUndefined,
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(govuk_datetime=govuk_datetime, plural=plural, tag_class=tag_class)
environment.globals.update(status_symbol=symbol_of, map_symbols=map_symbols)


def principal_of(request: Request) -> Principal:
    """The principal the page was rendered for (set by the page dependencies)."""
    return getattr(request.state, "principal", None) or ANONYMOUS


def navigation(request: Request, principal: Principal) -> list[dict[str, Any]]:
    """Service navigation items for this user, the current one marked."""
    items = PUBLIC_NAVIGATION if principal.is_anonymous else OFFICER_NAVIGATION
    if principal.administers:  # the admin pages are for organisation admins only
        items = [*items, ("Admin", "/admin")]
    path = request.url.path
    return [
        {"text": text, "href": href,
         "active": path == href or path.startswith(href + "/")}
        for text, href in items
    ]


def render(
    request: Request, template: str, status_code: int = 200,
    headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    """Render ``template`` with the shared page context."""
    settings = request.app.state.settings
    principal = principal_of(request)
    context["data_credits"] = page_credits(request.url.path, settings.data_path,
                                           settings.council_name,
                                           context.pop("extra_credits", None))
    context.update(
        request=request,
        council_name=settings.council_name,
        brand_colour=settings.brand_colour,
        logo_url=settings.logo_url,
        principal=principal,
        navigation=navigation(request, principal),
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request) if "session" in request.scope else "",
        cspNonce=getattr(request.state, "csp_nonce", ""),
        version=__version__,
        basemap_tiles=lambda: tile_url(settings),
    )
    html = environment.get_template(template).render(context)
    return HTMLResponse(html, status_code=status_code, headers=headers)
