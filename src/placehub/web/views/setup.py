"""First-run setup: the page behind the one-time link ``placehub serve`` prints while no
administrator exists, creating the first one (and signing them in). Refused once one exists."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from placehub.access import first_run, signin
from placehub.access.service import Principal
from placehub.access.tables import organisations
from placehub.web.security import checked_form
from placehub.web.session import viewer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)
# The form's fields in page order (the error summary links to them).
FIELDS = ("organisation", "username", "display_name", "password", "confirm")


def _suggested_organisation(request: Request) -> str:
    """The only organisation's name when there is exactly one, else the council_name setting."""
    with request.app.state.database.connect() as conn:
        names = conn.execute(select(organisations.c.name).limit(2)).scalars().all()
    return str(names[0]) if len(names) == 1 else str(request.app.state.settings.council_name)


@router.get("/setup")
def setup_page(request: Request, token: str = "", _: Principal = Depends(viewer)) -> Response:
    """The form that creates the first administrator, for the holder of the setup link."""
    with request.app.state.database.connect() as conn:
        first_run.check_setup_token(conn, token)
    return render(request, "setup.html", title="Set up placehub", token=token, errors={},
                  values={"organisation": _suggested_organisation(request)})


@router.post("/setup")
def create_first_admin(request: Request, form: FormData = Depends(checked_form),
                       _: Principal = Depends(viewer)) -> Response:
    """Create the first administrator, sign them in and open the overview."""
    values = {name: str(form.get(name) or "") for name in FIELDS}
    token = str(form.get("token") or "")
    wanted = first_run.FirstAdmin(values["organisation"], values["username"].strip(),
                                  values["password"], values["display_name"])
    database = request.app.state.database
    with database.connect() as conn:
        first_run.check_setup_token(conn, token)
    errors = first_run.form_problems(wanted, values["confirm"])
    if errors:
        shown = {k: v for k, v in values.items() if k not in {"password", "confirm"}}
        return render(request, "setup.html", status_code=400, title="Error: Set up placehub",
                      token=token, errors={k: errors[k] for k in FIELDS if k in errors},
                      values=shown)
    with database.begin() as conn:
        user = first_run.create_first_admin(conn, token, wanted)
        session_id = signin.start_session(conn, user)
    request.session.clear()
    request.session["session_id"] = session_id
    return RedirectResponse("/overview", status_code=303)
