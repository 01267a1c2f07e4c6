"""HTTP routes of responsible use: live transparency records, the read audit, data classes,
retention periods and the DPIA outline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel
from sqlalchemy import select

from placehub.access import service
from placehub.access.requests import current_principal
from placehub.access.service import Principal
from placehub.access.tables import organisations
from placehub.errors import BadRequest, Forbidden, NotFound, Unauthorized
from placehub.governance import atrs, data_classes, dpia, read_audit, retention
from placehub.governance.tables import DATA_CLASSES
from placehub.insight.transparency import TransparencyRecord, load_records

router = APIRouter(prefix="/api", tags=["Responsible use"])


def now() -> datetime:
    """The clock of live records and retention previews (tests pin it)."""
    return datetime.now(UTC)


def _iso(value: Any) -> Any:
    return value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value


def _time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "+"))
    except ValueError:
        raise BadRequest(f"{name}={value!r}: write an ISO 8601 time, e.g. "
                         "2026-01-31T09:00:00Z") from None
    if parsed.tzinfo is None:
        raise BadRequest(f"{name}={value!r}: add a timezone, e.g. 2026-01-31T09:00:00Z")
    return parsed


def records(request: Request) -> list[TransparencyRecord]:
    """The static records with the council's name and contact filled in."""
    settings = request.app.state.settings
    return load_records(organisation=settings.council_name,
                        contact_email=settings.transparency_contact)


def record_of(request: Request, record_id: str) -> TransparencyRecord:
    for record in records(request):
        if record.id == record_id:
            return record
    raise NotFound(f"no algorithm {record_id!r}: GET /api/algorithms lists them")


def live_record(request: Request, record_id: str) -> dict[str, Any]:
    """One record as ATRS-shaped JSON with its live facts."""
    record = record_of(request, record_id)
    with request.app.state.database.connect() as conn:
        return atrs.atrs_json(record, atrs.live_facts(conn, record.algorithms, now()))


@router.get("/algorithms")
def algorithms(request: Request) -> dict[str, Any]:
    """Every algorithm placehub uses: Tier 1 of its record, its last run and runs per month."""
    out = []
    with request.app.state.database.connect() as conn:
        for record in records(request):
            facts = atrs.live_facts(conn, record.algorithms, now(), recent=1)
            out.append({**record.summary(), "url": f"/api/algorithms/{record.id}",
                        "runs_total": facts.runs_total, "runs_per_month": facts.runs_per_month,
                        "last_run": facts.last_run["started_at"] if facts.last_run else None})
    return {"value": out}


@router.get("/algorithms/{record_id}")
def algorithm(record_id: str, request: Request) -> dict[str, Any]:
    """One algorithm's transparency record in the shape of the ATRS (metadata, Tier 1, Tier 2),
    with the live facts of its runs and the history of changes."""
    return live_record(request, record_id)


# --- data classes and retention --------------------------------------------------------------


@router.get("/data-classes")
def classes(request: Request) -> dict[str, Any]:
    """The data classes, what each means and the default retention of each."""
    defaults = retention.class_defaults(request.app.state.settings)
    return {"value": [{"name": name, "description": data_classes.DESCRIPTIONS[name],
                       "default_retention_days": defaults.get(name)} for name in DATA_CLASSES],
            "journal_retention_days": request.app.state.settings.retention_journal_days or None}


class PolicyBody(BaseModel):
    """A Datastream's own data class, retention period (days) and purpose; null clears."""

    data_class: str | None = None
    retention_days: int | None = None
    purpose: str | None = None


@router.put("/datastreams/{datastream_id}/policy")
def put_policy(datastream_id: int, body: PolicyBody, request: Request,
               principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    """Set a Datastream's data class, retention and purpose (editors of its organisation)."""
    if principal.is_anonymous and not principal.write_anywhere:
        raise Unauthorized("setting a data class needs an API token of an editor: send "
                           "'Authorization: Bearer <token>'")
    with request.app.state.database.begin() as conn:
        found = data_classes.classes_of(conn, [datastream_id]).get(datastream_id)
        if found is None or not (principal.write_anywhere
                                 or principal.roles.get(found.organisation_id)):
            raise NotFound(f"Datastream {datastream_id} does not exist or is not yours")
        stream = data_classes.set_policy(conn, principal, datastream_id,
                                         data_class=body.data_class,
                                         retention_days=body.retention_days,
                                         purpose=body.purpose)
    return {"datastream_id": stream.datastream_id, "data_class": stream.data_class,
            "explicit": stream.explicit, "retention_days": stream.retention_days,
            "purpose": stream.purpose}


def _require_admin(principal: Principal, what: str) -> None:
    if principal.write_anywhere:
        return
    if principal.is_anonymous:
        raise Unauthorized(f"{what} needs an API token of an organisation admin: send "
                           "'Authorization: Bearer <token>'")
    if not principal.administers:
        raise Forbidden(f"{what} is for organisation admins: ask an admin to grant you the "
                        "admin role ('placehub users grant USER ORG admin')")


@router.get("/retention")
def retention_periods(request: Request, principal: Principal = Depends(current_principal)
                      ) -> dict[str, Any]:
    """Retention periods of the caller's organisations and what a purge now would delete
    (a dry run: nothing changes). Organisation admins only."""
    _require_admin(principal, "the retention report")
    settings = request.app.state.settings
    with request.app.state.database.connect() as conn:
        report = retention.plan_purge(conn, settings, now())
        periods = retention.organisation_periods(conn)
        slugs = dict(conn.execute(select(organisations.c.id, organisations.c.slug)).all())
    mine = (lambda org: True) if principal.write_anywhere else (
        lambda org: org in principal.administers)
    return {
        "defaults": retention.class_defaults(settings),
        "journal_days": report.journal_days or None,
        "organisations": [{"organisation": slugs.get(o, str(o)), "data_class": c, "days": d}
                          for (o, c), d in sorted(periods.items()) if mine(o)],
        "would_delete": [{"datastream_id": s.datastream_id, "data_class": s.data_class,
                          "days": s.days, "set_by": s.source, "cutoff": _iso(s.cutoff),
                          "observations": s.expired}
                         for s in report.streams if s.expired and mine(s.organisation_id)],
    }


class PeriodBody(BaseModel):
    """An organisation's retention period in days for a data class ('*': every class); null
    removes it."""

    days: int | None


@router.put("/retention/{organisation}/{data_class}")
def put_period(organisation: str, data_class: str, body: PeriodBody, request: Request,
               principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    """Set an organisation's retention period for a data class (its admins only)."""
    _require_admin(principal, "setting retention periods")
    with request.app.state.database.begin() as conn:
        organisation_id = service.organisation_id(conn, organisation)
        retention.set_organisation_period(conn, principal, organisation_id, data_class,
                                          body.days)
    return {"organisation": organisation, "data_class": data_class, "days": body.days}


# --- read audit ----------------------------------------------------------------------------


def _read_query(thing_id: int | None, datastream_id: int | None, actor: str | None,
                since: str | None, until: str | None, before_id: int | None = None,
                limit: int = 100) -> read_audit.ReadQuery:
    return read_audit.ReadQuery(thing_id, datastream_id, actor, _time(since, "since"),
                                _time(until, "until"), before_id, limit)


@router.get("/read-audit")
def reads(request: Request, thing_id: int | None = None, datastream_id: int | None = None,
          actor: str | None = None, since: str | None = None, until: str | None = None,
          before_id: int | None = None, limit: int = Query(100),
          principal: Principal = Depends(current_principal)) -> JSONResponse:
    """Reads of data that is not public, newest first: who, what, when, through which route
    (admins see those of their organisations' data)."""
    read_audit.require_reader(principal)
    query = _read_query(thing_id, datastream_id, actor, since, until, before_id, limit)
    with request.app.state.database.connect() as conn:
        rows = read_audit.list_reads(conn, query, principal)
    out: dict[str, Any] = {"value": [{k: _iso(v) for k, v in row.items()} for row in rows]}
    if len(rows) == query.limit:
        out["next_before_id"] = rows[-1]["id"]
    return JSONResponse(out)


@router.get("/read-audit/who-looked")
def who_looked(request: Request, thing_id: int | None = None,
               datastream_id: int | None = None, since: str | None = None,
               until: str | None = None, principal: Principal = Depends(current_principal)
               ) -> JSONResponse:
    """Who looked at a Thing's or Datastream's data: readers, routes, how often, first and
    last time."""
    read_audit.require_reader(principal)
    if thing_id is None and datastream_id is None:
        raise BadRequest("give thing_id or datastream_id: the report is about one Thing or "
                         "Datastream")
    query = _read_query(thing_id, datastream_id, None, since, until)
    with request.app.state.database.connect() as conn:
        rows = read_audit.who_looked(conn, query, principal)
    return JSONResponse({"thing_id": thing_id, "datastream_id": datastream_id,
                         "value": [{k: _iso(v) for k, v in row.items()} for row in rows]})


# --- DPIA ----------------------------------------------------------------------------------


@router.get("/dpia.md", response_class=PlainTextResponse)
def dpia_outline(request: Request, principal: Principal = Depends(current_principal)
                 ) -> PlainTextResponse:
    """The DPIA outline generated from the configuration, as Markdown (admins only)."""
    _require_admin(principal, "the DPIA outline")
    with request.app.state.database.connect() as conn:
        text = dpia.outline(conn, request.app.state.settings, now())
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


def register(app: FastAPI) -> None:
    """Add this concern's routes to the app."""
    app.include_router(router)
