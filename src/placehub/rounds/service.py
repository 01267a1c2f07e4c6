"""Rounds as the council runs them: plan a day from the database, store it, let crews work it.

Thin over the domain modules: ``placehub.assets`` reads what to service (histories, thresholds,
status), ``forecast`` says how urgent, ``planning`` chooses and routes; this module stores plans
and stops, records service events when a stop is done, and picks the fleet and distance source
from the settings.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update

from placehub.area import area_files
from placehub.assets.forecasting import default_forecaster
from placehub.assets.history import Asset, read_assets
from placehub.assets.types import SERVICED_TYPES
from placehub.config import Settings
from placehub.errors import BadRequest, Conflict, NotFound
from placehub.places.distance import DistanceSource, HaversineDistance, LonLat
from placehub.rounds.forecast import LITTER_BIN, Forecaster
from placehub.rounds.planning import (
    SERVICES,
    WASTE,
    Candidate,
    Fleet,
    LeftOut,
    Plan,
    SelectionRules,
    Vehicle,
    plan_day,
    plan_document,
    select_candidates,
)
from placehub.rounds.tables import rounds_plans, rounds_service_events, rounds_stops
from placehub.sta.tables import locations, thing_locations, things

BIN_SERVICE_SECONDS = 90
# Watering: walking the hose out and back, then the flow of a bowser pump (about 20 L a minute).
WATERING_BASE_SECONDS = 180
WATERING_LITRES_PER_MINUTE = 20.0
ASSET_TYPE_OF_SERVICE = SERVICED_TYPES


def parse_point(text: str, what: str) -> LonLat:
    """A "lon,lat" setting as a point, or a clear error."""
    try:
        lon, lat = (float(part) for part in text.split(","))
    except ValueError:
        raise BadRequest(f"{what} {text!r} is not 'lon,lat', e.g. -0.7395,52.6745") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise BadRequest(f"{what} {text!r} is outside lon/lat ranges")
    return lon, lat


def shift_start(settings: Settings, day: date) -> datetime:
    """When the day's rounds start (UTC)."""
    try:
        hour, minute = (int(part) for part in str(settings.rounds_shift_start).split(":"))
        start = time(hour, minute)
    except ValueError:
        raise BadRequest(
            f"rounds_shift_start {settings.rounds_shift_start!r} is not HH:MM") from None
    return datetime.combine(day, start, UTC)


def fleet_from_settings(
    settings: Settings, service: str, sites: dict[str, LonLat] | None = None
) -> Fleet:
    """The vehicles of a service: refuse vehicles emptying at the tip, or water bowsers.

    The depot and tip come from the settings when they are set, otherwise from the depot and
    tip Things in ``sites`` (``service_sites``), otherwise from the settings' defaults.
    """
    depot = _site(settings, sites, "depot")
    shift = int(float(settings.rounds_shift_hours) * 3600)
    if service == WASTE:
        tip = _site(settings, sites, "tip")
        vehicles = tuple(
            Vehicle(f"RCV {i + 1}", int(settings.rounds_vehicle_litres), shift, depot, depot)
            for i in range(int(settings.rounds_vehicles))
        )
        return Fleet(vehicles, tip, reload_seconds=1200, reload_name="tip")
    vehicles = tuple(
        Vehicle(f"Bowser {i + 1}", int(settings.rounds_bowser_litres), shift, depot, depot)
        for i in range(int(settings.rounds_bowsers))
    )
    return Fleet(vehicles, depot, reload_seconds=600, reload_name="water point")


@functools.lru_cache(maxsize=4)
def _road_network(path: str, cache: str) -> DistanceSource | None:
    from placehub.places.roads import load_road_network

    # The places cache (``road_network_file``) saves re-reading the extract on every command.
    return load_road_network(path, cache or None)


def _site(settings: Settings, sites: dict[str, LonLat] | None, kind: str) -> LonLat:
    name = f"rounds_{kind}"
    if sites and kind in sites and settings.sources.get(name, "default") == "default":
        return sites[kind]
    return parse_point(settings.values[name], name)


def service_sites(conn: Connection) -> dict[str, LonLat]:
    """Where the depot and the tip are, from Things with ``asset_type`` depot / tip (the demo's)."""
    found: dict[str, LonLat] = {}
    rows = conn.execute(select(things.c.id, things.c.properties, locations.c.location)
                        .join(thing_locations, thing_locations.c.thing_id == things.c.id)
                        .join(locations, locations.c.id == thing_locations.c.location_id)
                        .order_by(things.c.id))
    for row in rows:
        kind = (row.properties or {}).get("asset_type") if isinstance(row.properties, dict) \
            else None
        location = row.location if isinstance(row.location, dict) else {}
        if location.get("type") == "Feature":
            location = location.get("geometry") or {}
        coordinates = location.get("coordinates")
        if (kind in {"depot", "tip"} and kind not in found and location.get("type") == "Point"
                and isinstance(coordinates, list) and len(coordinates) >= 2):
            found[kind] = (float(coordinates[0]), float(coordinates[1]))
    return found


def distance_from_settings(settings: Settings) -> DistanceSource:
    """The road network where one is available, else the haversine fallback (which says so)."""
    path = settings.rounds_road_network or str(area_files(settings).roads)
    if Path(path).exists():
        network = _road_network(path, str(settings.road_network_file or ""))
        if network is not None:
            return network
    return HaversineDistance()


def load_and_service_seconds(asset: Asset, level: float) -> tuple[int, int]:
    """Litres a stop adds to (bins) or takes from (beds) the vehicle, and the time it takes."""
    if asset.asset_type == LITTER_BIN:
        litres = asset.capacity_litres * min(max(level, 0.1), 1.0)
        return max(int(round(litres)), 1), BIN_SERVICE_SECONDS
    litres = asset.capacity_litres
    seconds = WATERING_BASE_SECONDS + litres / WATERING_LITRES_PER_MINUTE * 60
    return max(int(round(litres)), 1), int(seconds)


@dataclass
class PlanRequest:
    """What to plan: a service on a day, with the inputs as of ``at``."""

    service: str
    day: date
    at: datetime
    organisation_id: int | None = None
    seed: int | None = None
    runtime_seconds: float | None = None


@dataclass(frozen=True)
class RoundTimes:
    """When a planned day's stops happen and when the round after it could come."""

    start: datetime  # the shift starts
    visit: datetime  # a stop is, on average, half a shift into the day
    next_visit: datetime  # the latest the next round could come (see SelectionRules)
    horizon: datetime  # how far the optional prize looks

    @classmethod
    def of(cls, start: datetime, shift_seconds: int, rules: SelectionRules) -> RoundTimes:
        next_visit = start + timedelta(
            days=1, seconds=shift_seconds * rules.next_visit_shift_fraction)
        return cls(start, start + timedelta(seconds=shift_seconds / 2), next_visit,
                   next_visit + timedelta(days=rules.prize_horizon_days))


def choose_assets(assets: list[Asset], at: datetime, times: RoundTimes, forecaster: Forecaster,
                  rules: SelectionRules) -> tuple[list[Candidate], list[LeftOut]]:
    """Forecast each asset's need as of ``at`` and split them into mandatory and optional
    stops and those left out. An asset past its line (full, dry: its status from
    ``placehub.assets``) is mandatory whatever the forecast says."""
    rows, soon, later, past = [], [], [], []
    for asset in assets:
        today = forecaster.forecast(asset.history, at, max(times.visit, at))
        soon.append(forecaster.forecast(asset.history, at, max(times.next_visit, at)))
        later.append(forecaster.forecast(asset.history, at, max(times.horizon, at)))
        past.append(asset.past_the_line(at))
        load, seconds = load_and_service_seconds(asset, today.expected_level)
        rows.append((asset.thing_id, asset.name, asset.lon, asset.lat, load, seconds))
    return select_candidates(rows, soon, later, rules, past_the_line=past)


def make_plan(
    conn: Connection,
    settings: Settings,
    request: PlanRequest,
    *,
    forecaster: Forecaster | None = None,
    distance: DistanceSource | None = None,
    fleet: Fleet | None = None,
    rules: SelectionRules | None = None,
) -> Plan:
    """Read the assets, forecast their need and route the fleet for ``request``."""
    if request.service not in SERVICES:
        raise BadRequest(f"service {request.service!r} not understood: use waste or watering")
    forecaster = forecaster or default_forecaster()
    distance = distance or distance_from_settings(settings)
    fleet = fleet or fleet_from_settings(settings, request.service, service_sites(conn))
    rules = rules or SelectionRules()
    start = shift_start(settings, request.day)
    if request.at > start + timedelta(days=1):
        raise BadRequest("the input snapshot is after the planned day: plan a later date")
    found = read_assets(conn, ASSET_TYPE_OF_SERVICE[request.service], request.at,
                        organisation_id=request.organisation_id)
    if not found.assets:
        raise NotFound(f"no {ASSET_TYPE_OF_SERVICE[request.service]} Things with a Location "
                       "found: register devices with asset_type in their Thing properties")
    times = RoundTimes.of(start, fleet.vehicles[0].shift_seconds, rules)
    candidates, left_out = choose_assets(found.assets, request.at, times, forecaster, rules)
    left_out += [LeftOut(thing_id, name, reason) for thing_id, name, reason in found.unusable]
    plan = plan_day(
        candidates, fleet, distance, service=request.service, shift_start=start,
        snapshot_time=request.at, left_out=left_out,
        seed=request.seed if request.seed is not None else int(settings.rounds_seed),
        runtime_seconds=request.runtime_seconds or float(settings.rounds_runtime_seconds),
        restarts=int(settings.rounds_restarts),
    )
    plan.solver["forecaster"] = forecaster.name
    plan.solver["selection_rules"] = asdict(rules)
    return plan


@dataclass(frozen=True)
class AssetVisit:
    """Whether one asset is a stop of a day's round, and why (what a plan would decide)."""

    day: date
    service: str
    mandatory: bool
    candidate: bool
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"day": self.day.isoformat(), "service": self.service,
                "mandatory": self.mandatory, "candidate": self.candidate, "reason": self.reason}


def asset_visit(conn: Connection, settings: Settings, thing_id: int, at: datetime,
                day: date | None = None, forecaster: Forecaster | None = None,
                rules: SelectionRules | None = None) -> AssetVisit | None:
    """How the round of ``day`` (default: tomorrow, as the planning page) treats one asset,
    judged as ``make_plan`` judges it; None for assets no round services."""
    day = day or (at.date() + timedelta(days=1))
    rules = rules or SelectionRules()
    for service, asset_type in ASSET_TYPE_OF_SERVICE.items():
        found = read_assets(conn, asset_type, at, thing_ids=[thing_id])
        if found.unusable:
            return AssetVisit(day, service, False, False, found.unusable[0][2])
        if not found.assets:
            continue
        shift = int(float(settings.rounds_shift_hours) * 3600)
        times = RoundTimes.of(shift_start(settings, day), shift, rules)
        candidates, left_out = choose_assets(found.assets, at, times,
                                             forecaster or default_forecaster(), rules)
        if candidates:
            return AssetVisit(day, service, candidates[0].mandatory, True, candidates[0].reason)
        return AssetVisit(day, service, False, False, left_out[0].reason)
    return None


def save_plan(conn: Connection, plan: Plan, organisation_id: int, created_by: str,
              created_at: datetime) -> int:
    """Store a plan and its stops; answer the plan's id."""
    document = plan_document(plan)
    inserted = conn.execute(insert(rounds_plans).values(
        organisation_id=organisation_id, service=plan.service, plan_date=plan.day,
        created_at=created_at, snapshot_time=plan.snapshot_time,
        solver=str(plan.solver["name"]), solver_version=str(plan.solver["version"]),
        seed=int(plan.solver["seed"]),  # type: ignore[call-overload]
        parameters=plan.solver, distance_source=plan.distance_source, document=document,
        created_by=created_by,
    ))
    plan_id = inserted.inserted_primary_key[0]  # type: ignore[index]
    rows = [
        {"plan_id": plan_id, "vehicle": route.vehicle, "sequence": stop.sequence,
         "kind": stop.kind, "thing_id": stop.asset_id, "name": stop.name, "lon": stop.lon,
         "lat": stop.lat, "arrival": stop.arrival, "departure": stop.departure,
         "load_litres": stop.load_litres, "status": "planned", "reason": ""}
        for route in plan.routes for stop in route.stops
    ]
    if rows:
        conn.execute(insert(rounds_stops), rows)
    return int(plan_id)


def plan_row(conn: Connection, plan_id: int) -> Any:
    """The stored plan row, or NotFound."""
    row = conn.execute(select(rounds_plans).where(rounds_plans.c.id == plan_id)).first()
    if row is None:
        raise NotFound(f"no round plan {plan_id}: list plans with GET /api/rounds/plans")
    return row


def plan_detail(conn: Connection, plan_id: int) -> dict[str, Any]:
    """A stored plan: its document, with each stop's id and current status merged in."""
    row = plan_row(conn, plan_id)
    document = dict(row.document)
    stops = conn.execute(select(rounds_stops).where(rounds_stops.c.plan_id == plan_id)
                         .order_by(rounds_stops.c.vehicle, rounds_stops.c.sequence)).all()
    by_key = {(s.vehicle, s.sequence): s for s in stops}
    vehicles = []
    for vehicle in document["vehicles"]:
        merged = []
        for stop in vehicle["stops"]:
            stored = by_key.get((vehicle["vehicle"], stop["sequence"]))
            if stored is not None:
                stop = {**stop, "id": stored.id, "status": stored.status,
                        "reason": stored.reason,
                        "updated_at": stored.updated_at.isoformat() if stored.updated_at else None}
            merged.append(stop)
        vehicles.append({**vehicle, "stops": merged})
    document["vehicles"] = vehicles
    progress = {status: sum(1 for s in stops if s.kind == "asset" and s.status == status)
                for status in ("planned", "done", "skipped")}
    return {"id": row.id, "organisation_id": row.organisation_id,
            "created_at": row.created_at.isoformat(), "created_by": row.created_by,
            "progress": progress, **document}


def list_plans(conn: Connection, organisation_ids: set[int] | None, service: str | None = None,
               day: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Stored plans, newest first, with their headline figures."""
    query = select(rounds_plans).order_by(rounds_plans.c.id.desc()).limit(limit)
    if organisation_ids is not None:
        query = query.where(rounds_plans.c.organisation_id.in_(sorted(organisation_ids)))
    if service:
        query = query.where(rounds_plans.c.service == service)
    if day:
        query = query.where(rounds_plans.c.plan_date == day)
    return [
        {"id": row.id, "service": row.service, "date": row.plan_date,
         "organisation_id": row.organisation_id, "created_at": row.created_at.isoformat(),
         "snapshot_time": row.snapshot_time.isoformat(), "summary": row.document["summary"]}
        for row in conn.execute(query)
    ]


def mark_stop(conn: Connection, plan_id: int, stop_id: int, status: str, reason: str,
              at: datetime, by: str) -> dict[str, Any]:
    """Mark a stop done (records a service event) or skipped (a reason is required)."""
    if status not in ("done", "skipped"):
        raise BadRequest(f"status {status!r} not understood: use done or skipped")
    if status == "skipped" and not reason.strip():
        raise BadRequest("a skipped stop needs a reason, e.g. 'blocked access'")
    plan = plan_row(conn, plan_id)
    stop = conn.execute(select(rounds_stops).where(rounds_stops.c.id == stop_id,
                                                   rounds_stops.c.plan_id == plan_id)).first()
    if stop is None:
        raise NotFound(f"plan {plan_id} has no stop {stop_id}")
    if stop.kind != "asset":
        raise BadRequest(f"stop {stop_id} is a visit to the {stop.name}, not an asset")
    if stop.status == "done":
        raise Conflict(f"stop {stop_id} is already done; a done stop cannot be changed")
    conn.execute(update(rounds_stops).where(rounds_stops.c.id == stop_id)
                 .values(status=status, reason=reason.strip(), updated_at=at))
    if status == "done":
        conn.execute(insert(rounds_service_events).values(
            thing_id=stop.thing_id, service=plan.service, time=at, plan_id=plan_id,
            stop_id=stop_id, note=reason.strip(), recorded_by=by))
    return {"id": stop_id, "plan_id": plan_id, "thing_id": stop.thing_id, "status": status,
            "reason": reason.strip(), "updated_at": at.isoformat()}
