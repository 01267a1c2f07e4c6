"""Signing in and out of the web UI (session cookie; the form is CSRF-protected)."""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from placehub.access import signin
from placehub.access.service import Principal
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
    headers: dict[str, str] = {}
    status = 400
    if not errors:
        database = request.app.state.database
        address = request.client.host if request.client else "unknown"
        try:
            principal = await signin.sign_in(database, request.app.state.signin_throttle,
                                              username, password, address)
        except signin.TooManyAttempts as error:
            status, headers = 429, error.headers
            errors["password"] = (f"Too many wrong passwords: wait {error.retry_after} seconds "
                                  "before you try again")
        except Unauthorized:
            errors["password"] = "The username or password is not right"
        else:
            # A fresh session on sign-in (no fixation); a new CSRF token is made on next render.
            previous = request.session.get("session_id")

            def replace_session() -> str:
                with database.begin() as conn:
                    if previous:
                        signin.end_session(conn, str(previous))
                    signin.forget_expired_sessions(conn)
                    return signin.start_session(conn, int(principal.user_id or 0))

            # A write: in a worker thread, so waiting for the database never stalls the loop.
            session_id = await run_in_threadpool(replace_session)
            request.session.clear()
            request.session["session_id"] = session_id
            return RedirectResponse(target, status_code=303)
    # Rendering is CPU work: off the event loop too, so a flood of wrong passwords (each
    # answered with the form and its errors) does not hold up webhooks.
    response = await anyio.to_thread.run_sync(
        lambda: render(request, "login.html", status_code=status, title="Sign in", next=target,
                       errors=errors, username=username),
        limiter=request.app.state.signin_throttle.work)
    response.headers.update(headers)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await checked_form(request)
    session_id = request.session.get("session_id")
    if session_id:
        def end() -> None:
            with request.app.state.database.begin() as conn:
                signin.end_session(conn, str(session_id))

        await run_in_threadpool(end)
    request.session.clear()
    return RedirectResponse("/", status_code=303)
