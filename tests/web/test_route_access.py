"""Every route of the app against the access rules: a table with a request for each route, sent
as an anonymous caller, a viewer of the owning organisation, an editor of another organisation
and a revoked token. None of them may read the restricted assets (their names, DevEUIs,
positions), the figure derived from them or a device nobody registered, nor change anything;
the owning editor reads what the route shows (so each request does reach the data).

A route added to the app without a line in ``ROUTES`` fails ``test_every_route_has_an_access_case``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import insert
from starlette.routing import Mount, Route

from placehub.access import service
from placehub.db import Database
from placehub.ingest.tables import ingest_device_health, ingest_devices, ingest_journal
from placehub.insight.indicators import (
    IndicatorDefinition,
    IndicatorValue,
    replace_values,
    save_definition,
)
from tests.sta.factories import make_datastream
from tests.web.conftest import csrf_of, sign_in
from tests.web.demo import raise_alert
from tests.web.seed import PASSWORD, seed

# In the restricted bins' names. Long enough that no random token on a page (CSP nonces, CSRF
# tokens: base64, about 1 in 13,000 of them held "Q7X" somewhere) contains it by chance.
SECRET_NAME = "Q7XW9ZK"
SECRET_EUI = "A1B2C3D4E5F60718"  # the restricted bin's device
STRANGER_EUI = "FFEEDDCCBBAA0099"  # heard from, never registered
SECRET_LAT = 52.699173  # the restricted bins' latitude (nothing else is near it)
SECRET_FIGURE = 0.777123  # an indicator value derived from a restricted bin
REPORTER = "reporter.q7x@example.org"  # personal data of a resident's report
MARKERS = (SECRET_NAME, SECRET_EUI, SECRET_EUI.lower(), STRANGER_EUI, STRANGER_EUI.lower(),
           "52.69917", "52.6992", str(SECRET_FIGURE), "bins_full_all",
           "Uppingham depot",  # the seeded restricted air-quality station
           REPORTER)
# What a refused write answers: signed out, forbidden, not found, not allowed at all (or, for
# a page, a redirect to the sign-in page).
REFUSED = {401, 403, 404, 405}

API, PAGE, PUBLIC, OPEN = "api", "page", "public", "open"


@dataclass(frozen=True)
class Case:
    """How to call one route: the URL (``{name}`` filled from the seeded ids), what kind of
    route it is, a JSON or form body, and whether the owning editor's answer shows a marker.

    ``api``: asks who the caller is (a revoked token is a 401); ``page``: an officer page (a
    revoked token is a signed-out visitor, sent to sign in); ``public``: a public page (public
    data only, whoever asks); ``open``: does not depend on the caller and holds no sensor data.
    """

    url: str
    kind: str
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    shows: bool = False
    own: bool = False
    anywhere: bool = False
    reads: bool = False


ROUTES: dict[tuple[str, str], Case] = {
    # --- the app, documentation and operations ---
    ("GET", "/api/openapi.json"): Case("/api/openapi.json", OPEN),
    ("GET", "/api/docs"): Case("/api/docs", OPEN),
    ("GET", "/healthz"): Case("/healthz", OPEN),
    ("GET", "/metrics"): Case("/metrics", OPEN),
    ("GET", "/brand.css"): Case("/brand.css", OPEN),
    ("GET", "/static"): Case("/static/build/BUILT", OPEN),
    # --- access ---
    ("GET", "/api/me"): Case("/api/me", API),
    ("POST", "/api/tokens"): Case("/api/tokens", API, json={"name": "x"}, own=True),
    ("GET", "/api/organisations"): Case("/api/organisations", API),
    ("GET", "/api/audit"): Case("/api/audit", API),
    ("GET", "/login"): Case("/login", OPEN),
    # An administrator exists, so the first-run setup is refused to everyone.
    ("GET", "/setup"): Case("/setup?token=x", PAGE),
    ("POST", "/setup"): Case("/setup", PAGE, form={
        "token": "x", "organisation": "Elsewhere", "username": "intruder",
        "password": "long enough", "confirm": "long enough"}),
    ("POST", "/login"): Case("/login", OPEN, form={"username": "viewer", "password": "wrong"}),
    ("POST", "/logout"): Case("/logout", OPEN, form={}),
    # --- SensorThings ---
    ("GET", "/sta/v1.1/"): Case("/sta/v1.1/", OPEN),
    ("GET", "/sta/v1.1"): Case("/sta/v1.1", OPEN),
    ("POST", "/sta/v1.1/"): Case("/sta/v1.1/", OPEN, json={}),
    ("PUT", "/sta/v1.1/"): Case("/sta/v1.1/", OPEN, json={}),
    ("PATCH", "/sta/v1.1/"): Case("/sta/v1.1/", OPEN, json={}),
    ("DELETE", "/sta/v1.1/"): Case("/sta/v1.1/", OPEN),
    ("POST", "/sta/v1.1"): Case("/sta/v1.1", OPEN, json={}),
    ("PUT", "/sta/v1.1"): Case("/sta/v1.1", OPEN, json={}),
    ("PATCH", "/sta/v1.1"): Case("/sta/v1.1", OPEN, json={}),
    ("DELETE", "/sta/v1.1"): Case("/sta/v1.1", OPEN),
    ("GET", "/sta/v1.1/{path:path}"): Case(
        "/sta/v1.1/Things?$expand=Locations,Datastreams/Observations&$top=1000", API, shows=True),
    ("POST", "/sta/v1.1/$batch"): Case("/sta/v1.1/$batch", API, json={"requests": [
        {"id": "1", "method": "get", "url": "Things({thing})"}]}, reads=True, shows=True),
    ("POST", "/sta/v1.1/CreateObservations"): Case("/sta/v1.1/CreateObservations", API, json=[
        {"Datastream": {"@iot.id": "{datastream}"}, "components": ["phenomenonTime", "result"],
         "dataArray": [["2026-01-01T00:00:00Z", 1]]}]),
    ("POST", "/sta/v1.1/{path:path}"): Case("/sta/v1.1/Datastreams({datastream})/Observations",
                                            API, json={"result": 1}),
    ("PATCH", "/sta/v1.1/{path:path}"): Case("/sta/v1.1/Things({thing})", API,
                                             json={"name": "renamed"}),
    ("PUT", "/sta/v1.1/{path:path}"): Case("/sta/v1.1/Things({thing})", API,
                                           json={"name": "renamed", "description": "x"}),
    ("DELETE", "/sta/v1.1/{path:path}"): Case("/sta/v1.1/Things({thing})", API),
    # --- ingest and devices ---
    ("POST", "/ingest/ttn"): Case("/ingest/ttn", API, json={}),
    ("POST", "/ingest/chirpstack"): Case("/ingest/chirpstack", API, json={}),
    ("POST", "/api/devices"): Case("/api/devices", API, json={
        "dev_eui": "0011223344556677", "name": "New", "profile": "milesight-em310-udl-bin",
        "latitude": 52.6, "longitude": -0.7, "asset_type": "litter_bin",
        "organisation": "rutland"}),
    ("GET", "/api/devices"): Case("/api/devices", API, shows=True),
    ("GET", "/api/devices/{dev_eui}/health"): Case(f"/api/devices/{SECRET_EUI}/health", API,
                                                   shows=True),
    ("GET", "/api/dead-letters"): Case("/api/dead-letters", API, shows=True),
    ("POST", "/api/dead-letters/replay"): Case("/api/dead-letters/replay", API, json={}, anywhere=True),
    ("GET", "/api/ingest/integrations"): Case("/api/ingest/integrations", API),
    ("POST", "/api/ingest/integrations"): Case("/api/ingest/integrations", API, json={
        "name": "new-tts", "network": "tts", "organisation": "rutland"}),
    ("POST", "/api/ingest/integrations/{name}/rotate"): Case(
        "/api/ingest/integrations/rutland-tts/rotate", API, json={}),
    ("DELETE", "/api/ingest/integrations/{name}"): Case("/api/ingest/integrations/rutland-tts",
                                                        API, json={}),
    # --- places ---
    ("GET", "/api/places"): Case("/api/places", OPEN),
    ("GET", "/api/places/{layer}"): Case("/api/places/wards", OPEN),
    ("GET", "/api/places/{layer}/{code}"): Case("/api/places/wards/E05007654", API),
    ("GET", "/api/about-data"): Case("/api/about-data", OPEN),
    # --- assets ---
    ("GET", "/api/assets"): Case("/api/assets", API, shows=True),
    ("GET", "/api/assets/thresholds"): Case("/api/assets/thresholds", API),
    ("GET", "/api/assets/{thing_id}"): Case("/api/assets/{thing}", API, shows=True),
    # --- rounds ---
    ("POST", "/api/rounds/plans"): Case("/api/rounds/plans", API, json={
        "service": "waste", "date": "2030-01-01", "organisation_id": "{council}",
        "runtime_seconds": 0.2}),
    ("POST", "/api/rounds/plans/{plan_id}/replan"): Case("/api/rounds/plans/{plan}/replan", API,
                                                         json={}),
    ("GET", "/api/rounds/plans"): Case("/api/rounds/plans", API),
    ("GET", "/api/rounds/plans/{plan_id}"): Case("/api/rounds/plans/{plan}", API, shows=True),
    ("GET", "/api/rounds/plans/{plan_id}/vehicles/{number}/sheet.html"): Case(
        "/api/rounds/plans/{plan}/vehicles/{vehicle}/sheet.html", API, shows=True),
    ("GET", "/api/rounds/plans/{plan_id}/sheets.html"): Case(
        "/api/rounds/plans/{plan}/sheets.html", API, shows=True),
    ("GET", "/api/rounds/plans/{plan_id}/vehicles/{number}/sheet.csv"): Case(
        "/api/rounds/plans/{plan}/vehicles/{vehicle}/sheet.csv", API, shows=True),
    ("GET", "/api/rounds/plans/{plan_id}/vehicles/{number}/sheet.gpx"): Case(
        "/api/rounds/plans/{plan}/vehicles/{vehicle}/sheet.gpx", API, shows=True),
    ("POST", "/api/rounds/plans/{plan_id}/stops/{stop_id}"): Case(
        "/api/rounds/plans/{plan}/stops/{stop}", API, json={"status": "done"}),
    ("GET", "/api/rounds/needs"): Case("/api/rounds/needs", API, shows=True),
    # --- alerts and air quality ---
    ("GET", "/api/alerts"): Case("/api/alerts", API, shows=True),
    ("GET", "/api/alerts/{alert_id:int}"): Case("/api/alerts/{alert}", API, shows=True),
    ("GET", "/api/alerts/{alert_id:int}/history"): Case("/api/alerts/{alert}/history", API),
    ("POST", "/api/alerts/{alert_id:int}/acknowledge"): Case(
        "/api/alerts/{alert}/acknowledge", API, json={"note": "x"}),
    ("POST", "/api/alerts/{alert_id:int}/resolve"): Case("/api/alerts/{alert}/resolve", API,
                                                         json={"note": "x"}),
    ("GET", "/api/alerts/rules"): Case("/api/alerts/rules", API),
    ("POST", "/api/alerts/rules"): Case("/api/alerts/rules", API, json={
        "key": "k", "name": "n", "kind": "threshold", "params": {}, "thing_id": "{thing}"}),
    ("PATCH", "/api/alerts/rules/{rule_id:int}"): Case("/api/alerts/rules/{rule}", API,
                                                       json={"enabled": False}),
    ("PUT", "/api/alerts/rules/overrides"): Case("/api/alerts/rules/overrides", API, json={
        "thing_id": "{thing}", "key": "fill_level", "enabled": False}),
    ("GET", "/api/alerts/teams"): Case("/api/alerts/teams", API),
    ("POST", "/api/alerts/teams"): Case("/api/alerts/teams", API, json={
        "organisation_id": "{council}", "name": "Crew"}),
    ("POST", "/api/alerts/teams/{team_id:int}/subscriptions"): Case(
        "/api/alerts/teams/{team}/subscriptions", API, json={"channels": ["email"]}),
    ("GET", "/api/alerts/notifications"): Case("/api/alerts/notifications", API),
    ("GET", "/api/air/sites"): Case("/api/air/sites", API, shows=True),
    ("GET", "/api/air/report"): Case("/api/air/report", API),
    ("GET", "/api/air/sites/{site}/daily"): Case("/api/air/sites/{station}/daily", API),
    # --- insight ---
    ("GET", "/api/profiles/{layer}/{code}"): Case("/api/profiles/lsoa/E01013000", API,
                                                  shows=True),
    ("GET", "/api/indices"): Case("/api/indices", API),
    ("POST", "/api/indices"): Case("/api/indices", API, json={}, anywhere=True),
    ("DELETE", "/api/indices/{name}"): Case("/api/indices/council-index", API),
    ("GET", "/api/indices/{name}"): Case("/api/indices/iod2019", API),
    ("GET", "/api/indices/{name}/places/{code}"): Case("/api/indices/iod2019/places/E01013000",
                                                       API),
    ("GET", "/api/indices/{name}/areas"): Case("/api/indices/iod2019/areas", API),
    ("GET", "/api/indices/{name}/sensitivity"): Case(
        "/api/indices/iod2019/sensitivity?runs=2&seed=1", API),
    ("GET", "/api/indices/{name}/sobol"): Case("/api/indices/iod2019/sobol?samples=8", API),
    ("GET", "/api/indicators"): Case("/api/indicators", API, shows=True),
    ("GET", "/api/indicators/{indicator_id}/values"): Case(
        "/api/indicators/bins_full_all/values?layer=lsoa", API, shows=True),
    ("POST", "/api/indicators/derive"): Case("/api/indicators/derive?layer=lsoa", API, json={}, anywhere=True),
    ("GET", "/api/transparency"): Case("/api/transparency", OPEN),
    ("GET", "/api/transparency/{record_id}"): Case("/api/transparency/none", OPEN),
    # --- planning (the area covers the restricted bins; its corners echo no marker) ---
    ("POST", "/api/planning/hazards"): Case("/api/planning/hazards", API, json={
        "area": {"type": "Polygon", "coordinates": [[[-0.71, 52.6985], [-0.7085, 52.6985],
                                                     [-0.7085, 52.6998], [-0.71, 52.6998],
                                                     [-0.71, 52.6985]]]}},
        shows=True, reads=True),
    ("POST", "/api/planning/catchments"): Case("/api/planning/catchments", API, json={
        "kind": "school", "method": "straight"}, reads=True),
    ("GET", "/api/planning/parking"): Case("/api/planning/parking", API),
    ("POST", "/api/planning/parking"): Case("/api/planning/parking", API, json={
        "tariffs": [{"zone": "*", "days": "all", "from": "08:00", "to": "18:00", "price": 1}]},
        reads=True),
    ("GET", "/api/planning/parking/availability"): Case("/api/planning/parking/availability",
                                                        PUBLIC),
    ("POST", "/api/planning/parking/check"): Case("/api/planning/parking/check", API, json={},
                                                  anywhere=True),
    # --- responsible use: live transparency, data classes, retention, read audit, DPIA ---
    ("GET", "/api/algorithms"): Case("/api/algorithms", OPEN),
    ("GET", "/api/algorithms/{record_id}"): Case("/api/algorithms/rounds-planning", OPEN),
    ("GET", "/api/data-classes"): Case("/api/data-classes", OPEN),
    ("PUT", "/api/datastreams/{datastream_id}/policy"): Case(
        "/api/datastreams/{datastream}/policy", API, json={"data_class": "personal"}),
    ("GET", "/api/retention"): Case("/api/retention", API),
    ("PUT", "/api/retention/{organisation}/{data_class}"): Case(
        "/api/retention/rutland/restricted", API, json={"days": 30}),
    ("GET", "/api/read-audit"): Case("/api/read-audit", API),
    ("GET", "/api/read-audit/who-looked"): Case("/api/read-audit/who-looked?thing_id={thing}",
                                                API),
    ("GET", "/api/dpia.md"): Case("/api/dpia.md", API),
    ("GET", "/algorithms"): Case("/algorithms", OPEN),
    ("GET", "/algorithms/{record_id}"): Case("/algorithms/rounds-planning", OPEN),
    ("GET", "/data-protection"): Case("/data-protection", OPEN),
    ("GET", "/read-audit"): Case("/read-audit?thing={thing}", PAGE),
    ("GET", "/dpia"): Case("/dpia", PAGE),
    # --- home sensors: the carers' view and break-glass (nobody here is a carer) ---
    ("GET", "/api/care/residents"): Case("/api/care/residents", API),
    ("GET", "/api/care/residents/{reference}"): Case("/api/care/residents/HS-9001", API),
    ("POST", "/api/care/residents/{reference}/break-glass"): Case(
        "/api/care/residents/HS-9001/break-glass", API, json={"reason": "checking on her now"}),
    ("GET", "/care"): Case("/care", PAGE),
    ("GET", "/care/{reference}"): Case("/care/HS-9001?events=true", PAGE),
    # --- pages ---
    ("GET", "/"): Case("/", PUBLIC),
    ("GET", "/public/map"): Case("/public/map", PUBLIC),
    ("GET", "/public/map.{fmt}"): Case("/public/map.geojson", PUBLIC),
    ("GET", "/public/places.{fmt}"): Case("/public/places.geojson", PUBLIC),
    ("GET", "/public/places/{code}/data.{fmt}"): Case("/public/places/E05007654/data.geojson",
                                                       PUBLIC),
    ("GET", "/public/air.{fmt}"): Case("/public/air.json", PUBLIC),
    ("GET", "/public/assets/{thing_id}/history.{fmt}"): Case(
        "/public/assets/{thing}/history.csv", PUBLIC),
    ("GET", "/data"): Case("/data", PUBLIC),
    ("GET", "/data.json"): Case("/data.json", PUBLIC),
    ("GET", "/about-the-data"): Case("/about-the-data", PUBLIC),
    ("GET", "/accessibility"): Case("/accessibility", PUBLIC),
    ("GET", "/cookies"): Case("/cookies", PUBLIC),
    ("GET", "/privacy"): Case("/privacy", PUBLIC),
    ("GET", "/feedback"): Case("/feedback", PUBLIC),
    ("GET", "/public/air"): Case("/public/air", PUBLIC),
    ("GET", "/public/places"): Case("/public/places", PUBLIC),
    ("GET", "/public/places/{code}"): Case("/public/places/E05007654", PUBLIC),
    ("GET", "/overview"): Case("/overview", PAGE),
    ("GET", "/map"): Case("/map", PAGE, shows=True),
    ("GET", "/map.{fmt}"): Case("/map.geojson", PAGE, shows=True),
    ("GET", "/places.{fmt}"): Case("/places.json", PAGE),
    ("GET", "/places/{code}/data.{fmt}"): Case("/places/E05007654/data.json", PAGE),
    ("GET", "/air.{fmt}"): Case("/air.csv", PAGE, shows=True),
    ("GET", "/alerts.{fmt}"): Case("/alerts.json", PAGE, shows=True),
    ("GET", "/devices.{fmt}"): Case("/devices.csv", PAGE, shows=True),
    ("GET", "/reports.{fmt}"): Case("/reports.geojson", PAGE, shows=True),
    ("GET", "/assets/{thing_id}/history.{fmt}"): Case("/assets/{thing}/history.json", PAGE,
                                                      shows=True),
    ("GET", "/geo/assets.geojson"): Case("/geo/assets.geojson", PUBLIC, shows=True),
    ("GET", "/geo/roads.csv"): Case("/geo/roads.csv", PUBLIC),
    ("GET", "/geo/{layer}.geojson"): Case("/geo/wards.geojson", PAGE),
    ("GET", "/tiles/{z}/{x}/{y}.pbf"): Case("/tiles/14/8158/5361.pbf", OPEN),
    # The street-zoom tile over the restricted bins (each drawn alone, with its name).
    ("GET", "/tiles/assets/{z}/{x}/{y}.pbf"): Case("/tiles/assets/16/32638/21439.pbf", PUBLIC,
                                                   shows=True),
    ("GET", "/assets/{thing_id}"): Case("/assets/{thing}", PAGE, shows=True),
    ("GET", "/assets/{thing_id}/history/{datastream_id}.json"): Case(
        "/assets/{thing}/history/{datastream}.json", PAGE),
    ("GET", "/assets/{thing_id}/history/{datastream_id}.csv"): Case(
        "/assets/{thing}/history/{datastream}.csv", PAGE),
    ("GET", "/rounds"): Case("/rounds", PAGE),
    ("POST", "/rounds"): Case("/rounds", PAGE, form={"service": "waste", "day": "2030-01-01"}, anywhere=True),
    ("GET", "/rounds/{plan_id}"): Case("/rounds/{plan}", PAGE, shows=True),
    ("GET", "/rounds/{plan_id}/routes.geojson"): Case("/rounds/{plan}/routes.geojson", PAGE,
                                                      shows=True),
    ("GET", "/rounds/{plan_id}/vehicles/{number}/sheet"): Case(
        "/rounds/{plan}/vehicles/{vehicle}/sheet", PAGE, shows=True),
    ("GET", "/rounds/{plan_id}/sheets"): Case("/rounds/{plan}/sheets", PAGE, shows=True),
    ("GET", "/rounds/{plan_id}/vehicles/{number}/crew"): Case(
        "/rounds/{plan}/vehicles/{vehicle}/crew", PAGE, shows=True),
    ("POST", "/rounds/{plan_id}/replan"): Case("/rounds/{plan}/replan", PAGE, form={}),
    ("POST", "/rounds/{plan_id}/stops/{stop_id}"): Case("/rounds/{plan}/stops/{stop}", PAGE,
                                                        form={"status": "done"}),
    ("GET", "/alerts"): Case("/alerts", PAGE, shows=True),
    ("GET", "/alerts/{alert_id}"): Case("/alerts/{alert}", PAGE, shows=True),
    ("POST", "/alerts/{alert_id}"): Case("/alerts/{alert}", PAGE, form={"action": "resolve"}),
    ("POST", "/alerts/acknowledge"): Case("/alerts/acknowledge", PAGE, form={
        "alert": "{alert}", "note": "x", "back": "/alerts"}),
    ("GET", "/air"): Case("/air", PAGE, shows=True),
    ("GET", "/devices"): Case("/devices", PAGE, shows=True),
    ("GET", "/devices/new"): Case("/devices/new", PAGE),
    ("POST", "/devices/new"): Case("/devices/new", PAGE, form={
        "dev_eui": "0011223344556688", "name": "New", "profile": "milesight-em310-udl-bin",
        "latitude": "52.6", "longitude": "-0.7", "asset_type": "litter_bin",
        "visibility": "public"}, anywhere=True),
    ("POST", "/devices/import"): Case("/devices/import", PAGE, form={}, anywhere=True),
    ("GET", "/devices/imports/{job_id}"): Case("/devices/imports/{job}", PAGE),
    ("GET", "/devices/dead-letters"): Case("/devices/dead-letters", PAGE, shows=True),
    ("POST", "/devices/dead-letters/replay"): Case("/devices/dead-letters/replay", PAGE,
                                                   form={}, anywhere=True),
    ("GET", "/devices/replays/{job_id}"): Case("/devices/replays/{job}", PAGE),
    # --- admin pages (the owner administers the council) ---
    ("GET", "/admin"): Case("/admin", PAGE),
    ("GET", "/admin/{slug}/users"): Case("/admin/rutland/users", PAGE),
    ("GET", "/admin/{slug}/users/new"): Case("/admin/rutland/users/new", PAGE),
    ("POST", "/admin/{slug}/users/new"): Case("/admin/rutland/users/new", PAGE, form={
        "username": "intruder", "password": "long enough", "role": "admin"}),
    ("POST", "/admin/{slug}/users/{user_id:int}/role"): Case("/admin/rutland/users/1/role",
                                                             PAGE, form={"role": "viewer"}),
    ("POST", "/admin/{slug}/users/{user_id:int}/active"): Case(
        "/admin/rutland/users/1/active", PAGE, form={"active": "false"}),
    ("GET", "/admin/{slug}/tokens"): Case("/admin/rutland/tokens", PAGE),
    ("POST", "/admin/{slug}/tokens"): Case("/admin/rutland/tokens", PAGE, form={
        "user": "1", "name": "x"}),
    ("POST", "/admin/{slug}/tokens/{prefix}/revoke"): Case(
        "/admin/rutland/tokens/ph_abcdefg/revoke", PAGE, form={}),
    ("GET", "/admin/{slug}/integrations"): Case("/admin/rutland/integrations", PAGE),
    ("POST", "/admin/{slug}/integrations"): Case("/admin/rutland/integrations", PAGE, form={
        "name": "intruder", "network": "tts"}),
    ("POST", "/admin/{slug}/integrations/{name}/rotate"): Case(
        "/admin/rutland/integrations/rutland-tts/rotate", PAGE, form={}),
    ("POST", "/admin/{slug}/integrations/{name}/revoke"): Case(
        "/admin/rutland/integrations/rutland-tts/revoke", PAGE, form={}),
    ("GET", "/admin/{slug}/alert-rules"): Case("/admin/rutland/alert-rules", PAGE),
    ("GET", "/admin/{slug}/alert-rules/new"): Case("/admin/rutland/alert-rules/new", PAGE),
    ("POST", "/admin/{slug}/alert-rules/new"): Case("/admin/rutland/alert-rules/new", PAGE, form={
        "name": "n", "key": "k", "asset_type": "litter_bin", "kind": "battery_low",
        "params": "{}", "severity": "info"}),
    ("GET", "/admin/{slug}/alert-rules/{rule_id:int}"): Case("/admin/rutland/alert-rules/{rule}",
                                                             PAGE),
    ("POST", "/admin/{slug}/alert-rules/{rule_id:int}"): Case(
        "/admin/rutland/alert-rules/{rule}", PAGE, form={"name": "n", "params": "{}",
                                                         "severity": "info"}),
    ("POST", "/admin/{slug}/alert-rules/{rule_id:int}/enabled"): Case(
        "/admin/rutland/alert-rules/{rule}/enabled", PAGE, form={"enabled": "false"}),
    ("GET", "/admin/{slug}/alert-teams"): Case("/admin/rutland/alert-teams", PAGE),
    ("POST", "/admin/{slug}/alert-teams"): Case("/admin/rutland/alert-teams", PAGE, form={
        "name": "Intruders", "email": "x@example.org", "daily_digest": "true"}),
    ("GET", "/admin/{slug}/alert-teams/{team_id:int}/subscriptions/new"): Case(
        "/admin/rutland/alert-teams/{team}/subscriptions/new", PAGE),
    ("POST", "/admin/{slug}/alert-teams/{team_id:int}/subscriptions/new"): Case(
        "/admin/rutland/alert-teams/{team}/subscriptions/new", PAGE, form={
            "channels": "email", "min_severity": "info", "immediate": "true"}),
    ("GET", "/admin/{slug}/alert-subscriptions/{subscription:int}"): Case(
        "/admin/rutland/alert-subscriptions/1", PAGE),
    ("POST", "/admin/{slug}/alert-subscriptions/{subscription:int}"): Case(
        "/admin/rutland/alert-subscriptions/1", PAGE, form={
            "channels": "email", "min_severity": "info", "immediate": "true"}),
    ("POST", "/admin/{slug}/alert-subscriptions/{subscription:int}/delete"): Case(
        "/admin/rutland/alert-subscriptions/1/delete", PAGE, form={}),
    ("GET", "/places"): Case("/places", PAGE),
    ("GET", "/planning/hazard"): Case("/planning/hazard", PAGE),
    ("POST", "/planning/hazard"): Case("/planning/hazard", PAGE, form={
        "area": '{"type": "Polygon", "coordinates": [[[-0.71, 52.6985], [-0.7085, 52.6985], '
                '[-0.7085, 52.6998], [-0.71, 52.6998], [-0.71, 52.6985]]]}'},
        shows=True, reads=True),
    ("GET", "/planning/catchments"): Case("/planning/catchments?kind=school&method=straight",
                                          PAGE),
    ("GET", "/planning/parking"): Case("/planning/parking", PAGE),
    ("POST", "/planning/parking"): Case("/planning/parking", PAGE, form={}, reads=True),
    ("GET", "/public/parking"): Case("/public/parking", PUBLIC),
    ("GET", "/places/{code}"): Case("/places/E05007654", PAGE),
    ("GET", "/jobs/{job_id}.json"): Case("/jobs/{job}.json", PAGE),
    # --- residents: my area, reports, Open311 ---
    ("GET", "/my-area"): Case("/my-area?postcode=SM1+1AA", PUBLIC),
    ("GET", "/my-area.{fmt}"): Case("/my-area.geojson?postcode=SM1+1AA", PUBLIC),
    ("GET", "/report"): Case("/report?service=overflowing_bin&lat=52.6705&long=-0.7243",
                             PUBLIC),
    ("POST", "/report"): Case("/report", PUBLIC, form={
        "service_code": "overflowing_bin", "lat": "52.6705", "long": "-0.7243",
        "description": "Full"}, reads=True),
    ("GET", "/public/reports/{request_id}"): Case("/public/reports/{report}", PUBLIC),
    ("GET", "/reports"): Case("/reports", PAGE, shows=True),
    ("GET", "/reports/{request_id}"): Case("/reports/{report}", PAGE, shows=True),
    ("GET", "/reports/{request_id}/photo"): Case("/reports/{report}/photo", PAGE),
    ("POST", "/reports/{request_id}"): Case("/reports/{report}", PAGE,
                                            form={"status_notes": "done"}),
    ("GET", "/open311/v2/discovery.{fmt}"): Case("/open311/v2/discovery.json", OPEN),
    ("GET", "/open311/v2/services.{fmt}"): Case("/open311/v2/services.xml", OPEN),
    ("GET", "/open311/v2/services/{service_code}.{fmt}"): Case(
        "/open311/v2/services/fly_tipping.json", OPEN),
    ("GET", "/open311/v2/requests.{fmt}"): Case("/open311/v2/requests.json", OPEN),
    ("POST", "/open311/v2/requests.{fmt}"): Case("/open311/v2/requests.json", OPEN, json={
        "service_code": "overflowing_bin", "lat": 52.6995, "long": -0.70917}),
    ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"): Case(
        "/open311/v2/requests/{report}.xml", OPEN),
    ("GET", "/jobs/{job_id}"): Case("/jobs/{job}", PAGE),
}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app answers, included routers flattened."""
    found: set[tuple[str, str]] = set()

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            original = getattr(route, "original_router", None)
            if original is not None:  # an included router (FastAPI keeps it whole)
                walk(original.routes, prefix + (route.include_context.prefix or ""))
            elif isinstance(route, Mount):
                found.add(("GET", prefix + route.path))
            elif isinstance(route, APIRoute | Route):
                for method in route.methods or ():
                    if method != "HEAD":
                        found.add((method, prefix + route.path))

    walk(list(app.routes), "")
    return found


def test_every_route_has_an_access_case(app: FastAPI) -> None:
    """The table names every route the app answers, and no route it does not."""
    routes = app_routes(app)
    missing = sorted(routes - set(ROUTES))
    stale = sorted(set(ROUTES) - routes)
    assert not missing, f"add these routes to ROUTES with an access case: {missing}"
    assert not stale, f"these routes are gone, remove them from ROUTES: {stale}"


@dataclass
class World:
    """The seeded ids the URLs use, and one client per caller."""

    ids: dict[str, Any] = field(default_factory=dict)
    callers: dict[str, TestClient] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)


def _restricted_bins(database: Database, council: int) -> dict[str, int]:
    """Two restricted bins (one full, one empty) with a registered device, its health and a
    dead letter; a never-registered device heard from; a figure derived from the restricted
    bins; an alert on the full one."""
    now = datetime.now(UTC).replace(microsecond=0)
    ids: dict[str, int] = {}
    with database.begin() as conn:
        from placehub.sta.tables import RESULT_NUMBER, features_of_interest, observations

        for label, fill, lon in (("full", 0.97, -0.70917), ("empty", 0.05, -0.70931)):
            made = make_datastream(
                conn, name=f"Secret bin {SECRET_NAME} {label} distance",
                thing_name=f"Secret bin {SECRET_NAME} {label}", lon_lat=(lon, SECRET_LAT),
                visibility="restricted", quantity="distance",
                unit={"name": "millimetre", "symbol": "mm", "definition": ""},
                properties={"asset_type": "litter_bin", "empty_distance_mm": 1000,
                            "full_distance_mm": 200, "capacity_litres": 240})
            foi = conn.execute(insert(features_of_interest).values(
                name="here", description="", encoding_type="application/geo+json",
                feature={"type": "Point", "coordinates": [lon, SECRET_LAT]},
                organisation_id=council)).inserted_primary_key[0]
            conn.execute(insert(observations), [
                {"datastream_id": made["datastream"], "feature_of_interest_id": foi,
                 "phenomenon_time_start": now - timedelta(hours=h), "result_type": RESULT_NUMBER,
                 "result_number": 1000 - 800 * fill * (48 - h) / 48} for h in range(0, 48, 4)])
            ids[label] = made["thing"]
            ids[f"{label}_datastream"] = made["datastream"]
        conn.execute(insert(ingest_devices).values(
            dev_eui=SECRET_EUI, name=f"Secret bin {SECRET_NAME} full", profile_id="x",
            thing_id=ids["full"], organisation_id=council,
            datastreams={"distance": ids["full_datastream"]}, created_at=now))
        for eui in (SECRET_EUI, STRANGER_EUI):
            conn.execute(insert(ingest_device_health).values(
                dev_eui=eui, last_seen=now, frames_received=10, frames_lost=1, updated_at=now))
            conn.execute(insert(ingest_journal).values(
                dedup_key=f"tts:{eui}:1", payload_hash="0" * 64, network="tts",
                transport="webhook", event="up", dev_eui=eui, f_cnt=1, f_port=1,
                payload_hex="00", ns_time=now, received_at=now, body={"dev_eui": eui},
                status="dead_letter", reason=f"no decoder for {eui}"))
        save_definition(conn, IndicatorDefinition(
            "bins_full_all", "Full bins, every sensor", "higher_is_worse", kind="derived",
            source="Council sensor data via placehub", derivation={
                "public_only": False, "sources": [[council, "restricted"]]}))
        replace_values(conn, [IndicatorValue("bins_full_all", "lsoa", "E01013000", "",
                                             SECRET_FIGURE)])
        raise_alert(conn, ids["full"])
    return ids


@pytest.fixture
def world(app: FastAPI, client: TestClient, database: Database) -> World:
    """A council with assets (tests.web.seed), restricted bins with a device, a plan visiting
    them, and the five callers: the council's editor (owner), a viewer of the council, an
    editor of another organisation, a revoked token of the council's editor, anonymous."""
    seeded = seed(database, bins=6, history_hours=24)
    council, other = seeded.organisation_id, seeded.other_organisation_id
    with database.begin() as conn:
        viewer = service.create_user(conn, "viewer", password=PASSWORD)
        service.grant_role(conn, viewer, council, "viewer")
        rival = service.create_user(conn, "rival", password=PASSWORD)
        service.grant_role(conn, rival, other, "editor")
        # The owner administers the council (alert teams are for admins).
        service.grant_role(conn, service.user_id(conn, "officer"), council, "admin")
        revoked = service.create_token(conn, service.user_id(conn, "officer"), "old laptop")
        service.revoke_token(conn, revoked[:10])
        owner_token = service.create_token(conn, service.user_id(conn, "officer"), "tests")
        # A resident's home: only its named carers (none here) read it, the owner included.
        from placehub.care import service as care

        home = care.create_resident(conn, "HS-9001", f"Ann {SECRET_NAME} Smith", council)
        care.add_home_sensor(conn, home, "motion", "A84041CA00990001", latitude=52.6,
                             longitude=-0.7)
    ids = _restricted_bins(database, council)
    world = World()
    world.ids.update(council=council, thing=ids["full"], datastream=ids["full_datastream"],
                     station=seeded.things["Air quality Uppingham depot"], team=1)
    owner = {"Authorization": f"Bearer {owner_token}"}
    plan = client.post("/api/rounds/plans", headers=owner, json={
        "service": "waste", "date": (datetime.now(UTC) + timedelta(days=1)).date().isoformat(),
        "runtime_seconds": 0.5})
    assert plan.status_code == 201, plan.text
    detail = plan.json()
    number, stop = next((n + 1, s) for n, v in enumerate(detail["vehicles"])
                        for s in v["stops"] if s.get("asset_id") == ids["full"])
    alerts = client.get("/api/alerts", headers=owner).json()
    alert = next(a["id"] for a in alerts if a["thing_id"] == ids["full"])
    with database.connect() as conn:
        from placehub.alerts.store import load_rules

        rule = load_rules(conn)[0].id
    team = client.post("/api/alerts/teams", headers=owner, json={
        "organisation_id": council, "name": "Oakham crew", "email": "crew@example.org"})
    assert team.status_code in {200, 201}, team.text
    world.ids.update(plan=detail["id"], vehicle=number, stop=stop["id"], alert=alert, rule=rule,
                     team=team.json()["id"])

    with database.begin() as conn:
        from placehub.reports import store as reports

        # A resident's report 40 m from the restricted full bin (attached to it, with e-mail).
        world.ids["report"] = reports.create_request(conn, reports.NewReport(
            "overflowing_bin", lon=-0.70917, lat=SECRET_LAT + 0.00036, description="Full",
            email=REPORTER), reports.ReportRules(), datetime.now(UTC))

    def session(username: str | None) -> TestClient:
        caller = TestClient(app, base_url="http://testserver")
        if username:
            sign_in(caller, username)
        page = caller.get("/rounds" if username else "/login")
        world.csrf[username or ""] = csrf_of(page.text) if username else csrf_of(page.text)
        return caller

    world.callers = {"owner": session("officer"), "viewer": session("viewer"),
                     "other organisation": session("rival"), "anonymous": session(None)}
    revoked_client = TestClient(app, base_url="http://testserver",
                                headers={"Authorization": f"Bearer {revoked}"})
    world.callers["revoked token"] = revoked_client
    world.csrf["revoked token"] = ""
    started = world.callers["owner"].post("/devices/dead-letters/replay",
                                          data={"csrf_token": world.csrf["officer"]},
                                          follow_redirects=False)
    assert started.status_code == 303, started.text
    world.ids["job"] = started.headers["location"].rsplit("/", 1)[-1]
    return world


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
            return ids[value[1:-1]]
        # Only the seeded names are placeholders: JSON text in a form ("{}") stays as it is.
        return re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), m.group(0))), value)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _call(world: World, caller: str, method: str, case: Case) -> Any:
    client = world.callers[caller]
    if case.kind == OPEN and method != "GET":
        # Signing in or out does not depend on the caller, and must not end its session.
        client = TestClient(client.app, base_url="http://testserver")
    url = _fill(case.url, world.ids)
    if case.form is not None:
        csrf = world.csrf.get({"owner": "officer", "other organisation": "rival"}.get(
            caller, caller if caller != "anonymous" else ""), "")
        return client.request(method, url, data={**_fill(case.form, world.ids), "csrf_token": csrf},
                              follow_redirects=False)
    # Declared JSON even without a body (a DELETE), as the web UI's own requests are, so
    # signed-in callers meet the access check rather than the JSON-only rule for cookies.
    headers = {"content-type": "application/json"} if method != "GET" else {}
    return client.request(method, url, json=_fill(case.json, world.ids), headers=headers,
                          follow_redirects=False)


def _problems(method: str, caller: str, case: Case, response: Any) -> list[str]:
    status, text = response.status_code, response.text
    problems = []
    if status >= 500:
        problems.append(f"answered {status}")
    # A marker the caller sent itself (a DevEUI in the URL) may be echoed in the answer.
    # Devices nobody registered are every editor's to claim (docs/access.md).
    hidden = [m for m in MARKERS if not (caller == "other organisation" and STRANGER_EUI in m.upper())]
    leaked = [m for m in hidden if m in text and m not in str(response.request.url)]
    if leaked:
        problems.append(f"shows {leaked}")
    to_sign_in = status == 303 and response.headers.get("location", "").startswith("/login")
    # A write naming a Datastream the caller may not read hears that it does not exist.
    refused = status in REFUSED or to_sign_in or (status == 400 and "not exist" in text)
    may_write = (case.kind == OPEN or case.reads
                 or (case.own and caller in {"viewer", "other organisation"})
                 or (case.anywhere and caller == "other organisation"))
    if method != "GET" and not may_write and not refused:
        problems.append(f"write not refused ({status})")
    if caller == "revoked token":
        if case.kind == API and status != 401:
            problems.append(f"revoked token answered {status}, not 401")
        if case.kind == PAGE and not (to_sign_in or status in REFUSED):
            problems.append(f"revoked token was not sent to sign in ({status})")
    return problems


OUTSIDERS = ("anonymous", "viewer", "other organisation", "revoked token")


def test_no_route_shows_restricted_data_or_takes_writes_from_outsiders(world: World) -> None:
    """Every route, called by each outsider, answers without a 5xx, shows none of the
    restricted markers and refuses writes; a revoked token is refused on every API route."""
    failures = []
    # Reads first: a write wrongly let through must not hide a leak from the reads.
    for (method, path), case in sorted(ROUTES.items(), key=lambda item: item[0][0] != "GET"):
        for caller in OUTSIDERS:
            response = _call(world, caller, method, case)
            failures += [f"{method} {path} as {caller}: {p}"
                         for p in _problems(method, caller, case, response)]
    if failures:
        pytest.fail(f"{len(failures)} problems:\n" + "\n".join(failures), pytrace=False)


def test_the_owner_reads_what_each_route_shows(world: World) -> None:
    """The owning organisation's editor gets each restricted marker the table says a route
    shows, so the outsiders' requests above did reach the restricted data."""
    failures = []
    for (method, path), case in ROUTES.items():
        if not case.shows:
            continue
        response = _call(world, "owner", method, case)
        if response.status_code != 200 or not any(m in response.text for m in MARKERS):
            failures.append(f"{method} {path}: {response.status_code}, no marker: {response.text[:300]}")
    if failures:
        pytest.fail(f"{len(failures)} problems:\n" + "\n".join(failures), pytrace=False)

