"""Pages of responsible use: "How we use algorithms" (public, with each algorithm's live
record), what the data classes mean (public), and for organisation admins the read audit
("who looked at this data") and the DPIA outline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from placehub.access.service import Principal
from placehub.errors import BadRequest, Forbidden
from placehub.governance import api as governance_api
from placehub.governance import atrs, data_classes, dpia, read_audit, retention
from placehub.governance.tables import DATA_CLASSES
from placehub.web.session import officer, viewer
from placehub.web.templating import render

router = APIRouter(include_in_schema=False)


def _started(facts: atrs.LiveFacts) -> datetime | None:
    """When the last run started, as a time for the page."""
    return datetime.fromisoformat(facts.last_run["started_at"]) if facts.last_run else None


@router.get("/algorithms")
def algorithms_page(request: Request, _: Principal = Depends(viewer)) -> Response:
    """How we use algorithms: every algorithm's record summary and how often it ran."""
    rows: list[dict[str, Any]] = []
    with request.app.state.database.connect() as conn:
        for record in governance_api.records(request):
            facts = atrs.live_facts(conn, record.algorithms, governance_api.now(), recent=1)
            rows.append({"record": record, "facts": facts, "last_at": _started(facts)})
    return render(request, "algorithms.html", title="How we use algorithms", rows=rows)


@router.get("/algorithms/{record_id}")
def algorithm_page(record_id: str, request: Request, _: Principal = Depends(viewer)
                   ) -> Response:
    """One algorithm's record: the standard's sections with the live facts of its runs."""
    record = governance_api.record_of(request, record_id)
    with request.app.state.database.connect() as conn:
        facts = atrs.live_facts(conn, record.algorithms, governance_api.now())
    return render(request, "algorithm.html", title=record.tier1["name"], record=record,
                  facts=facts, document=atrs.atrs_json(record, facts),
                  last_at=_started(facts))


@router.get("/data-protection")
def data_protection_page(request: Request, _: Principal = Depends(viewer)) -> Response:
    """What each data class means, how long data is kept by default and what reads are
    recorded."""
    settings = request.app.state.settings
    return render(request, "data_protection.html", title="How we protect data",
                  classes=[(name, data_classes.DESCRIPTIONS[name]) for name in DATA_CLASSES],
                  defaults=retention.class_defaults(settings),
                  journal_days=settings.retention_journal_days)


def _admin(principal: Principal) -> None:
    if not (principal.write_anywhere or principal.administers):
        raise Forbidden("this page is for organisation admins")


def _number(value: str, name: str) -> int | None:
    if not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{name}={value!r}: give a number, e.g. 12") from None


@router.get("/read-audit")
def read_audit_page(request: Request, thing: str = "", datastream: str = "",
                    principal: Principal = Depends(officer)) -> Response:
    """Who looked at which data that is not public: the newest reads and, for one Thing or
    Datastream, the per-reader report."""
    _admin(principal)
    query = read_audit.ReadQuery(_number(thing, "thing"), _number(datastream, "datastream"),
                                 limit=200)
    with request.app.state.database.connect() as conn:
        reads = read_audit.list_reads(conn, query, principal)
        report = (read_audit.who_looked(conn, query, principal)
                  if query.thing_id is not None or query.datastream_id is not None else None)
    return render(request, "read_audit.html", title="Who looked at this data", reads=reads,
                  report=report, thing=thing, datastream=datastream)


@router.get("/dpia")
def dpia_page(request: Request, principal: Principal = Depends(officer)) -> Response:
    """The DPIA outline generated from the configuration, for the DPO to complete."""
    _admin(principal)
    with request.app.state.database.connect() as conn:
        text = dpia.outline(conn, request.app.state.settings, governance_api.now())
    return render(request, "dpia.html", title="Data protection impact assessment outline",
                  text=text)
