"""Progress of long actions: a page with a progress bar (refreshes itself without JavaScript)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from placehub.access.service import Principal
from placehub.web.session import officer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/jobs/{job_id}.json")
def job_json(request: Request, job_id: str, principal: Principal = Depends(officer)) -> Response:
    job = request.app.state.jobs.get(job_id, principal.username)
    return JSONResponse(job.as_json())


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str, principal: Principal = Depends(officer)) -> Response:
    job = request.app.state.jobs.get(job_id, principal.username)
    if job.state == "done" and job.result_url and request.query_params.get("stay") != "1":
        return RedirectResponse(job.result_url, status_code=303)
    return render(request, "job.html", title=job.title, job=job)
