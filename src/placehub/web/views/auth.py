"""Signing in and out of the web UI (session cookie; the form is CSRF-protected)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from placehub.access.service import Principal, authenticate_password
from placehub.errors import Unauthorized
from placehub.web.security import checked_form
from placehub.web.session import viewer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only local paths, so the sign-in form cannot redirect elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/overview"
    return target


@router.get("/login")
def login_page(request: Request, next: str = "/overview",
               _: Principal = Depends(viewer)) -> Response:
    return render(request, "login.html", title="Sign in", next=safe_next(next), errors={})


@router.post("/login")
async def login(request: Request, _: Principal = Depends(viewer)) -> Response:
    form = await checked_form(request)
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    target = safe_next(str(form.get("next") or ""))
    errors = {}
    if not username:
        errors["username"] = "Enter your username"
    if not password:
        errors["password"] = "Enter your password"
    if not errors:
        database = request.app.state.database
        try:
            with database.connect() as conn:
                principal = authenticate_password(conn, username, password)
        except Unauthorized:
            errors["password"] = "The username or password is not right"
        else:
            # A fresh session on sign-in (no fixation); a new CSRF token is made on next render.
            request.session.clear()
            request.session["user_id"] = principal.user_id
            return RedirectResponse(target, status_code=303)
    return render(request, "login.html", status_code=400, title="Sign in", next=target,
                  errors=errors, username=username)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await checked_form(request)
    request.session.clear()
    return RedirectResponse("/", status_code=303)
