"""HTTP routes of placehub.alerts: /api/alerts/... and /api/air/...; starts the alert service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Body, Depends, FastAPI, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from placehub.access.requests import current_principal
from placehub.access.service import Principal
from placehub.alerts import air_quality as aq
from placehub.alerts import air_report, lifecycle, notify, store
from placehub.alerts.clock import SystemClock
from placehub.alerts.service import AlertService
from placehub.errors import BadRequest, Forbidden, NotFound, Unauthorized
from placehub.lifespan import while_serving
from placehub.sta.tables import things

# Alerts opened, acknowledged or resolved from here queue their notifications too.
notify.install()


class Note(BaseModel):
    note: str | None = Field(None, max_length=2000)


class RuleIn(BaseModel):
    key: str = Field(..., min_length=1, max_length=100)
    name: str = Field(..., min_length=1, max_length=200)
    kind: str
    params: dict[str, Any]
    asset_type: str | None = None
    thing_id: int | None = None
    quantity: str | None = None
    severity: str = "warning"
    hold_off_s: int = 0
    auto_resolve: bool = True


class RuleChange(BaseModel):
    params: dict[str, Any] | None = None
    severity: str | None = None
    enabled: bool | None = None
    hold_off_s: int | None = Field(None, ge=0)
    name: str | None = None


class OverrideIn(BaseModel):
    thing_id: int
    key: str
    params: dict[str, Any] | None = None
    severity: str | None = None
    enabled: bool | None = None
    hold_off_s: int | None = Field(None, ge=0)


class TeamIn(BaseModel):
    organisation_id: int
    name: str
    email: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    daily_digest: bool = True


class SubscriptionIn(BaseModel):
    channels: list[str]
    rule_keys: list[str] | None = None
    asset_types: list[str] | None = None
    min_severity: str = "info"
    immediate: bool = True


def _now(request: Request) -> datetime:
    clock = getattr(request.app.state, "alerts_clock", None) or SystemClock()
    return clock.now()


def _signed_in(principal: Principal) -> None:
    if principal.is_anonymous and not principal.write_anywhere:
        raise Unauthorized("sign in or send an API token to see alert rules and teams")


def _admin_anywhere(principal: Principal) -> None:
    # Rules per asset type apply across the installation: only administrators change them.
    if not (principal.write_anywhere or principal.administers):
        raise Forbidden("changing rules for an asset type needs an administrator")


def register(app: FastAPI) -> None:
    """Add this concern's routes to the app, and run the alert service while it serves."""

    def start(application: Any) -> None:
        service = AlertService(application.state.database, application.state.settings,
                               getattr(application.state, "alerts_clock", None))
        application.state.alert_service = service
        service.start()

    while_serving(app, start, lambda application: application.state.alert_service.stop())

    # --- alerts ------------------------------------------------------------------------------

    @app.get("/api/alerts", tags=["alerts"])
    def list_alerts(
        request: Request,
        status: str | None = Query(None, description="open, acknowledged, resolved or active"),
        severity: str | None = Query(None, description="this severity or worse"),
        thing_id: int | None = None, rule: str | None = Query(None, description="rule key"),
        asset_type: str | None = None, since: datetime | None = None,
        limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0),
        principal: Principal = Depends(current_principal),
    ) -> list[dict[str, Any]]:
        """Alerts on assets you may read, newest first."""
        with request.app.state.database.connect() as conn:
            return lifecycle.list_alerts(conn, principal, status=status, severity=severity,
                                         thing_id=thing_id, rule_key=rule,
                                         asset_type=asset_type, since=since, limit=limit,
                                         offset=offset)

    @app.get("/api/alerts/{alert_id:int}", tags=["alerts"])
    def get_alert(request: Request, alert_id: int,
                  principal: Principal = Depends(current_principal)) -> dict[str, Any]:
        """One alert with its full history."""
        with request.app.state.database.connect() as conn:
            return lifecycle.get_alert(conn, principal, alert_id)

    @app.get("/api/alerts/{alert_id:int}/history", tags=["alerts"])
    def alert_history(request: Request, alert_id: int,
                      principal: Principal = Depends(current_principal)
                      ) -> list[dict[str, Any]]:
        """What happened to an alert, oldest first."""
        with request.app.state.database.connect() as conn:
            return lifecycle.get_alert(conn, principal, alert_id)["history"]

    @app.post("/api/alerts/{alert_id:int}/acknowledge", tags=["alerts"])
    def acknowledge(request: Request, alert_id: int, body: Note | None = Body(None),
                    principal: Principal = Depends(current_principal)) -> dict[str, Any]:
        """Say you have seen an alert (editors and admins of the asset's organisation)."""
        with request.app.state.database.begin() as conn:
            return lifecycle.acknowledge(conn, principal, alert_id, _now(request),
                                         body.note if body else None)

    @app.post("/api/alerts/{alert_id:int}/resolve", tags=["alerts"])
    def resolve(request: Request, alert_id: int, body: Note | None = Body(None),
                principal: Principal = Depends(current_principal)) -> dict[str, Any]:
        """Close an alert by hand (editors and admins of the asset's organisation)."""
        with request.app.state.database.begin() as conn:
            lifecycle.resolve(conn, principal, alert_id, _now(request),
                              body.note if body else None)
            return lifecycle.get_alert(conn, principal, alert_id)

    # --- rules -------------------------------------------------------------------------------

    def _reload_rules(request: Request) -> None:
        service = getattr(request.app.state, "alert_service", None)
        if service is not None:
            service.engine.reload()

    @app.get("/api/alerts/rules", tags=["alerts"])
    def list_rules(request: Request, asset_type: str | None = None,
                   thing_id: int | None = None,
                   principal: Principal = Depends(current_principal)) -> list[dict[str, Any]]:
        """Alert rules: defaults per asset type and overrides per asset."""
        _signed_in(principal)
        with request.app.state.database.begin() as conn:
            store.ensure_default_rules(conn, _now(request))
            rules = store.load_rules(conn)
            if thing_id is not None:
                thing = conn.execute(select(things.c.properties).where(
                    things.c.id == thing_id)).first()
                kind = ((thing.properties if thing else None) or {}).get("asset_type")
                rules = store.effective_rules(rules, thing_id, kind)
        return [store.rule_dict(r) for r in rules
                if asset_type is None or r.asset_type == asset_type]

    @app.post("/api/alerts/rules", tags=["alerts"], status_code=201)
    def create_rule(request: Request, body: RuleIn,
                    principal: Principal = Depends(current_principal)) -> dict[str, Any]:
        """Add a rule for an asset type (admins) or for one asset (its editors)."""
        with request.app.state.database.begin() as conn:
            if body.thing_id is not None:
                _check_thing_write(conn, principal, body.thing_id)
            else:
                _admin_anywhere(principal)
            rule_id = store.create_rule(conn, _now(request), **body.model_dump(),
                                         actor=principal)
            result = store.rule_dict(store.get_rule(conn, rule_id))
        _reload_rules(request)
        return result

    @app.patch("/api/alerts/rules/{rule_id:int}", tags=["alerts"])
    def change_rule(request: Request, rule_id: int, body: RuleChange,
                    principal: Principal = Depends(current_principal)) -> dict[str, Any]:
        """Change a rule's parameters, severity, hold-off or enabled flag."""
        with request.app.state.database.begin() as conn:
            rule = store.get_rule(conn, rule_id)
            if rule.thing_id is not None:
                _check_thing_write(conn, principal, rule.thing_id)
            else:
                _admin_anywhere(principal)
            store.update_rule(conn, _now(request), rule_id, **body.model_dump(),
                              actor=principal)
            result = store.rule_dict(store.get_rule(conn, rule_id))
        _reload_rules(request)
        return result

    @app.put("/api/alerts/rules/overrides", tags=["alerts"])
    def override(request: Request, body: OverrideIn,
                 principal: Principal = Depends(current_principal)) -> dict[str, Any]:
        """Override one rule of an asset type for one asset (e.g. a different threshold)."""
        with request.app.state.database.begin() as conn:
            _check_thing_write(conn, principal, body.thing_id)
            rule_id = store.override_rule(
                conn, _now(request), body.thing_id, body.key, params=body.params,
                enabled=body.enabled, severity=body.severity, hold_off_s=body.hold_off_s,
                actor=principal)
            result = store.rule_dict(store.get_rule(conn, rule_id))
        _reload_rules(request)
        return result

    # --- teams and notifications -------------------------------------------------------------

    def _org_write(principal: Principal, organisation_id: int) -> None:
        if not principal.can_admin(organisation_id):
            raise Forbidden("managing alert teams needs an administrator of that organisation")

    @app.get("/api/alerts/teams", tags=["alerts"])
    def list_teams(request: Request,
                   principal: Principal = Depends(current_principal)) -> list[dict[str, Any]]:
        """Teams of your organisations and what they subscribe to."""
        _signed_in(principal)
        with request.app.state.database.connect() as conn:
            return notify.list_teams(
                conn, None if principal.write_anywhere else sorted(principal.member_of))

    @app.post("/api/alerts/teams", tags=["alerts"], status_code=201)
    def create_team(request: Request, body: TeamIn,
                    principal: Principal = Depends(current_principal)) -> dict[str, Any]:
        """Add a team with an e-mail address and/or a signed webhook."""
        _org_write(principal, body.organisation_id)
        with request.app.state.database.begin() as conn:
            team_id = notify.create_team(conn, _now(request), **body.model_dump(),
                                         actor=principal)
            return next(t for t in notify.list_teams(conn) if t["id"] == team_id)

    @app.post("/api/alerts/teams/{team_id:int}/subscriptions", tags=["alerts"],
              status_code=201)
    def add_subscription(request: Request, team_id: int, body: SubscriptionIn,
                         principal: Principal = Depends(current_principal)) -> dict[str, Any]:
        """Subscribe a team to rules / asset types at a minimum severity."""
        _signed_in(principal)
        with request.app.state.database.begin() as conn:
            team = next((t for t in notify.list_teams(conn) if t["id"] == team_id), None)
            scope = principal.member_scope
            if team is None or (scope is not None and team["organisation_id"] not in scope):
                raise NotFound(f"no team {team_id}: GET /api/alerts/teams lists them")
            _org_write(principal, team["organisation_id"])
            notify.subscribe(conn, team_id, **body.model_dump(), actor=principal)
            return next(t for t in notify.list_teams(conn) if t["id"] == team_id)

    @app.get("/api/alerts/notifications", tags=["alerts"])
    def list_notifications(request: Request, status: str | None = None,
                           limit: int = Query(100, ge=1, le=1000),
                           principal: Principal = Depends(current_principal)
                           ) -> list[dict[str, Any]]:
        """Notification deliveries of your organisations' teams (failures with their error)."""
        _signed_in(principal)
        with request.app.state.database.connect() as conn:
            return notify.list_deliveries(
                conn, status=status, limit=limit,
                organisation_ids=None if principal.write_anywhere else sorted(
                    principal.member_of))

    # --- air quality -------------------------------------------------------------------------

    @app.get("/api/air/sites", tags=["air quality"])
    def air_sites(request: Request,
                  principal: Principal = Depends(current_principal)) -> list[dict[str, Any]]:
        """Air-quality stations you may read, with their pollutant Datastreams and years."""
        with request.app.state.database.connect() as conn:
            return air_report.air_sites(conn, principal)

    @app.get("/api/air/report", tags=["air quality"], response_model=None)
    def air_annual_report(
        request: Request,
        year: int = Query(..., ge=1900, le=2200, description="Calendar year (UTC)."),
        site: str | None = Query(None, description="Station id or name."),
        capture_threshold: float = Query(aq.ANNUAL_CAPTURE_THRESHOLD, gt=0, le=1),
        capture_floor: float = Query(aq.VERDICT_CAPTURE_FLOOR, ge=0, le=1,
                                     description="Capture below which no verdict is given."),
        format: str = Query("json", description="json or csv."),
        principal: Principal = Depends(current_principal),
    ) -> Any:
        """Each station against the UK objectives in ``year``, with data capture."""
        if format not in ("json", "csv"):
            raise BadRequest(f"format {format!r}: use json or csv")
        with request.app.state.database.connect() as conn:
            try:
                report = air_report.annual_report(conn, principal, year, site,
                                                  capture_threshold, capture_floor)
            except ValueError as error:
                raise BadRequest(str(error)) from None
        if format == "csv":
            return PlainTextResponse(
                air_report.report_csv(report), media_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="air-{year}.csv"'})
        return report

    @app.get("/api/air/sites/{site}/daily", tags=["air quality"])
    def air_daily(request: Request, site: str, pollutant: str = Query("pm10"),
                  year: int = Query(..., ge=1900, le=2200),
                  principal: Principal = Depends(current_principal)) -> dict[str, Any]:
        """Daily means (valid with at least 18 hours) of one pollutant at one station."""
        if pollutant not in aq.POLLUTANTS:
            raise BadRequest(f"pollutant {pollutant!r}: use one of {', '.join(aq.POLLUTANTS)}")
        with request.app.state.database.connect() as conn:
            found = air_report.find_site(conn, principal, site)
            days = air_report.daily_series(conn, found, pollutant, year)
        return {"site_id": found["id"], "pollutant": pollutant, "year": year, "days": days}


def _check_thing_write(conn: Any, principal: Principal, thing_id: int) -> None:
    from placehub.errors import NotFound

    row = conn.execute(select(things.c.organisation_id).where(things.c.id == thing_id)).first()
    if row is None:
        raise NotFound(f"no Thing {thing_id}")
    if not principal.can_write(row.organisation_id):
        raise Forbidden("changing this asset's alert rules needs an editor of its organisation")
