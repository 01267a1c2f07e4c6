"""Rounds as the council runs them: plan a day from the database, store it, let crews work it.

Thin over the domain modules: ``placehub.assets`` reads what to service (histories, thresholds,
status), ``forecast`` says how urgent, ``planning`` chooses and routes; this module stores plans
and stops, records service events when a stop is done, and picks the fleet and distance source
from the settings.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, insert, select, update

from placehub import __version__
from placehub.area import area_files
from placehub.assets.forecasting import default_forecaster
from placehub.assets.history import Asset, read_assets
from placehub.assets.types import SERVICED_TYPES
from placehub.config import Settings
from placehub.errors import BadRequest, Conflict, NotFound
from placehub.governance import runs
from placehub.places.distance import DistanceSource, HaversineDistance, LonLat
from placehub.places.streets import StreetIndex
from placehub.reports import store as reports
from placehub.rounds.calendar import (
    DemandCalendar,
    bank_holidays_england,
    bank_holidays_from_govuk,
    read_events,
)
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
    rules_for,
    select_candidates,
    with_details,
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


def now() -> datetime:
    """The clock of plans and crews (timezone-aware UTC); tests pin it."""
    return datetime.now(UTC)


def tomorrow(settings: Settings, at: datetime) -> date:
    """The council's tomorrow at ``at``: between midnight and 01:00 BST it is not UTC's."""
    return at.astimezone(local_zone(settings)).date() + timedelta(days=1)


def local_zone(settings: Settings) -> ZoneInfo:
    """The council's time zone (rounds_timezone), for shifts, windows and sheets."""
    try:
        return ZoneInfo(str(settings.rounds_timezone))
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"rounds_timezone {settings.rounds_timezone!r} is not a time zone "
                         "name such as Europe/London") from None


def _clock_time(text: str, what: str) -> time:
    try:
        hour, minute = (int(part) for part in text.strip().split(":"))
        return time(hour, minute)
    except ValueError:
        raise BadRequest(f"{what} {text!r} is not HH:MM, e.g. 07:00") from None


def shift_start(settings: Settings, day: date) -> datetime:
    """When the day's rounds start: rounds_shift_start local time, as UTC."""
    start = _clock_time(str(settings.rounds_shift_start), "rounds_shift_start")
    return datetime.combine(day, start, local_zone(settings)).astimezone(UTC)


def kg_per_litre(settings: Settings, asset: Asset) -> float:
    """Weight of a litre of the asset's load: its kg_per_litre property, else the setting."""
    own = asset.properties.get("kg_per_litre")
    if isinstance(own, int | float) and math.isfinite(own) and own >= 0:
        return float(own)
    for part in str(settings.rounds_kg_per_litre).split(","):
        kind, _, value = part.partition("=")
        if kind.strip() == asset.asset_type:
            try:
                return float(value)
            except ValueError:
                raise BadRequest(f"rounds_kg_per_litre {settings.rounds_kg_per_litre!r}: "
                                 f"{value!r} is not a number") from None
    return 0.0


def service_window(settings: Settings, asset: Asset, start: datetime
                   ) -> tuple[tuple[int, int], str] | None:
    """When the asset may be visited, as seconds after ``start`` (the shift's start) and as the
    crew reads it: the Thing's service_window property ("HH:MM-HH:MM", local time), else
    "before rounds_town_centre_before" for town-centre bins; None: any time."""
    zone = local_zone(settings)
    day = start.astimezone(zone).date()

    def seconds(clock: time) -> int:
        moment = datetime.combine(day, clock, zone).astimezone(UTC)
        return max(int((moment - start).total_seconds()), 0)

    own = asset.properties.get("service_window")
    if isinstance(own, str) and "-" in own:
        first, _, last = own.partition("-")
        early = _clock_time(first, f"{asset.name}: service_window")
        late = _clock_time(last, f"{asset.name}: service_window")
        return (seconds(early), max(seconds(late), seconds(early))), \
            f"{early:%H:%M}-{late:%H:%M}"
    before = str(settings.rounds_town_centre_before or "").strip()
    if before and asset.properties.get("setting") == "town_centre":
        latest = _clock_time(before, "rounds_town_centre_before")
        return (0, seconds(latest)), f"before {latest:%H:%M}"
    return None


def fleet_from_settings(
    settings: Settings, service: str, sites: dict[str, LonLat] | None = None
) -> Fleet:
    """The vehicles of a service: refuse vehicles emptying at the tip, or water bowsers.

    The depot and tip come from the settings when they are set, otherwise from the depot and
    tip Things in ``sites`` (``service_sites``), otherwise from the settings' defaults.
    """
    depot = _site(settings, sites, "depot")
    shift = int(float(settings.rounds_shift_hours) * 3600)
    crew = {"break_seconds": int(settings.rounds_break_minutes) * 60,
            "break_after_seconds": int(float(settings.rounds_break_after_hours) * 3600)}
    try:
        if service == WASTE:
            tip = _site(settings, sites, "tip")
            vehicles = tuple(
                Vehicle(f"RCV {i + 1}", int(settings.rounds_vehicle_litres), shift, depot,
                        depot, capacity_kg=int(settings.rounds_vehicle_kg),
                        compaction_ratio=float(settings.rounds_compaction_ratio), **crew)
                for i in range(int(settings.rounds_vehicles))
            )
            return Fleet(vehicles, tip, reload_seconds=1200, reload_name="tip",
                         end_at_reload=True)
        vehicles = tuple(
            Vehicle(f"Bowser {i + 1}", int(settings.rounds_bowser_litres), shift, depot, depot,
                    **crew)
            for i in range(int(settings.rounds_bowsers))
        )
    except ValueError as error:
        raise BadRequest(f"rounds settings: {error}") from None
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


def calendar_from_settings(settings: Settings, first: date, last: date) -> DemandCalendar:
    """The council's known surge days: bank holidays and its events file (settings
    ``rounds_bank_holidays_file``, ``rounds_events_file`` and their factors)."""
    holidays_file = str(settings.rounds_bank_holidays_file or "").strip()
    events_file = str(settings.rounds_events_file or "").strip()
    try:
        bank_holidays = (bank_holidays_from_govuk(Path(holidays_file).read_text("utf-8"))
                         if holidays_file else bank_holidays_england(first, last))
        events = (read_events(events_file, float(settings.rounds_event_factor))
                  if events_file else [])
        return DemandCalendar(bank_holidays, float(settings.rounds_bank_holiday_factor),
                              tuple(events))
    except (OSError, ValueError) as error:
        raise BadRequest(f"rounds calendar: {error}") from None


def apply_calendar(assets: list[Asset], calendar: DemandCalendar, at: datetime,
                   lookback_days: int = 28, ahead_days: int = 7) -> None:
    """Give each litter bin its known surge days (its settlement's events; bank holidays,
    more in town centres and near parks) from ``lookback_days`` before ``at`` on."""
    first, last = (at - timedelta(days=lookback_days)).date(), (at + timedelta(
        days=ahead_days)).date()
    for asset in assets:
        if asset.asset_type != LITTER_BIN:
            continue
        props = asset.properties or {}
        busy = props.get("setting") == "town_centre" or bool(props.get("near_park", False))
        place = str(props.get("settlement") or props.get("town") or "")
        asset.history.demand_factors = calendar.factors(place, busy, first, last)


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


@dataclass
class PlanInputs:
    """Everything a plan is solved from, read from the database beforehand (``prepare_plan``),
    so the solve holds no connection and no lock."""

    request: PlanRequest
    candidates: list[Candidate]
    left_out: list[LeftOut]
    fleet: Fleet
    distance: DistanceSource
    start: datetime
    rules: SelectionRules
    forecaster: str
    notes: list[str] = field(default_factory=list)
    replan_of: int | None = None
    day: str = ""


@functools.lru_cache(maxsize=4)
def _street_index(path: str) -> StreetIndex:
    return StreetIndex.from_pbf(path)


def street_index(settings: Settings) -> StreetIndex | None:
    """Street names and localities from the OSM extract (None when there is none)."""
    path = settings.rounds_road_network or str(area_files(settings).roads)
    return _street_index(path) if Path(path).exists() else None


def runtime_seconds(settings: Settings, requested: float | None) -> float:
    """The solver time of a plan: the request's, at most rounds_max_runtime_seconds."""
    limit = float(settings.rounds_max_runtime_seconds)
    runtime = float(requested or settings.rounds_runtime_seconds)
    if not 0 < runtime <= limit:
        raise BadRequest(f"runtime_seconds {runtime:g} is outside 0-{limit:g} s (the "
                         "rounds_max_runtime_seconds setting)")
    return min(runtime, limit)


def requeued_assets(conn: Connection, organisation_id: int | None, service: str, day: date,
                    at: datetime, days: int) -> dict[int, str]:
    """Mandatory stops skipped in the last ``days`` days and not done since: asset -> why."""
    first = (day - timedelta(days=days)).isoformat()
    query = (select(rounds_stops.c.thing_id, rounds_stops.c.reason, rounds_stops.c.updated_at,
                    rounds_plans.c.plan_date, rounds_plans.c.document, rounds_plans.c.id)
             .join(rounds_plans, rounds_plans.c.id == rounds_stops.c.plan_id)
             .where(rounds_stops.c.status == "skipped", rounds_stops.c.kind == "asset",
                    rounds_plans.c.service == service, rounds_plans.c.plan_date >= first,
                    rounds_plans.c.plan_date <= day.isoformat()))
    if organisation_id is not None:
        query = query.where(rounds_plans.c.organisation_id == organisation_id)
    found: dict[int, str] = {}
    rows = [row for row in conn.execute(query)
            if row.thing_id is not None and (row.updated_at is None or row.updated_at <= at)
            and row.thing_id in set((row.document or {}).get("mandatory_ids", []))]
    if not rows:
        return found
    done = {(event.thing_id, event.time) for event in conn.execute(
        select(rounds_service_events.c.thing_id, rounds_service_events.c.time)
        .where(rounds_service_events.c.thing_id.in_(sorted({r.thing_id for r in rows})),
               rounds_service_events.c.time <= at))}
    for row in rows:
        since = row.updated_at or at
        if any(thing == row.thing_id and when >= since for thing, when in done):
            continue
        found[row.thing_id] = (f"skipped on {row.plan_date} (plan {row.id}: "
                               f"{row.reason or 'no reason given'}): re-queued")
    return found


def prepare_plan(
    conn: Connection,
    settings: Settings,
    request: PlanRequest,
    *,
    forecaster: Forecaster | None = None,
    distance: DistanceSource | None = None,
    fleet: Fleet | None = None,
    rules: SelectionRules | None = None,
) -> PlanInputs:
    """Read the assets, forecast their need and choose candidates (reads only)."""
    if request.service not in SERVICES:
        raise BadRequest(f"service {request.service!r} not understood: use waste or watering")
    runtime_seconds(settings, request.runtime_seconds)  # refuse a too long solve up front
    forecaster = forecaster or default_forecaster()
    distance = distance or distance_from_settings(settings)
    fleet = fleet or fleet_from_settings(settings, request.service, service_sites(conn))
    rules = rules or rules_for(request.service)
    start = shift_start(settings, request.day)
    if request.at > start + timedelta(days=1):
        raise BadRequest("the input snapshot is after the planned day: plan a later date")
    found = read_assets(conn, ASSET_TYPE_OF_SERVICE[request.service], request.at,
                        organisation_id=request.organisation_id)
    if not found.assets:
        raise NotFound(f"no {ASSET_TYPE_OF_SERVICE[request.service]} Things with a Location "
                       "found: register devices with asset_type in their Thing properties")
    times = RoundTimes.of(start, fleet.vehicles[0].shift_seconds, rules)
    apply_calendar(found.assets, calendar_from_settings(
        settings, (request.at - timedelta(days=28)).date(), request.day + timedelta(days=7)),
        request.at)
    candidates, left_out = choose_assets(found.assets, request.at, times, forecaster, rules)
    streets = street_index(settings)
    places = streets.whereabouts([(a.lon, a.lat) for a in found.assets]) if streets else None
    loads = {c.asset_id: c.load_litres for c in candidates}
    details: dict[int, dict[str, object]] = {}
    rows = []
    for number, asset in enumerate(found.assets):
        load, seconds = load_and_service_seconds(asset, 0.5)
        load = loads.get(asset.thing_id, load)
        rows.append((asset.thing_id, asset.name, asset.lon, asset.lat, load, seconds))
        extra: dict[str, object] = {
            "weight_kg": int(math.ceil(load * kg_per_litre(settings, asset)))}
        window = service_window(settings, asset, start)
        if window is not None:
            extra["window"], extra["window_text"] = window
        if places is not None:
            extra["street"], extra["locality"] = places[number].street, places[number].locality
        details[asset.thing_id] = extra
    notes: list[str] = []
    requeue = requeued_assets(conn, request.organisation_id, request.service, request.day,
                              request.at, int(settings.rounds_requeue_days))
    skipped = len(requeue)
    # Residents' reports of a problem a visit puts right (an overflowing bin) force a stop too.
    reported = {thing: why for thing, why in reports.requested_stops(
        conn, request.organisation_id, ASSET_TYPE_OF_SERVICE[request.service]).items()
        if thing not in requeue}
    requeue.update(reported)
    if requeue:
        candidates, left_out = _force_mandatory(candidates, left_out, rows, requeue)
    if skipped:
        notes.append(f"{skipped} mandatory stop{'s' if skipped != 1 else ''} "
                     "skipped earlier and not done since re-queued as mandatory")
    if reported:
        notes.append(f"{len(reported)} asset{'s' if len(reported) != 1 else ''} reported by "
                     "residents made mandatory stops")
    candidates = with_details(candidates, details)
    left_out += [LeftOut(thing_id, name, reason) for thing_id, name, reason in found.unusable]
    return PlanInputs(request, candidates, left_out, fleet, distance, start, rules,
                      forecaster.name, notes)


def _force_mandatory(candidates: list[Candidate], left_out: list[LeftOut],
                     rows: list[tuple[int, str, float, float, int, int]],
                     requeue: dict[int, str]) -> tuple[list[Candidate], list[LeftOut]]:
    """Make re-queued assets mandatory, whatever their forecast says."""
    by_id = {row[0]: row for row in rows}
    chosen = [replace(c, mandatory=True, prize=0, reason=f"{requeue[c.asset_id]}; {c.reason}")
              if c.asset_id in requeue else c for c in candidates]
    present = {c.asset_id for c in chosen}
    for asset_id, why in requeue.items():
        if asset_id not in present and asset_id in by_id:
            _, name, lon, lat, load, seconds = by_id[asset_id]
            chosen.append(Candidate(asset_id, name, lon, lat, load, seconds, True, 0, 0.0, 0.0,
                                    why))
    return chosen, [x for x in left_out if x.asset_id not in requeue]


def solve_plan(inputs: PlanInputs, settings: Settings) -> Plan:
    """Route the fleet over the prepared candidates (no database: the long part)."""
    request = inputs.request
    plan = plan_day(
        inputs.candidates, inputs.fleet, inputs.distance, service=request.service,
        shift_start=inputs.start, snapshot_time=request.at, left_out=inputs.left_out,
        seed=request.seed if request.seed is not None else int(settings.rounds_seed),
        runtime_seconds=runtime_seconds(settings, request.runtime_seconds),
        restarts=int(settings.rounds_restarts),
    )
    plan.solver["forecaster"] = inputs.forecaster
    plan.solver["selection_rules"] = asdict(inputs.rules)
    plan.notes[:0] = inputs.notes
    plan.replan_of = inputs.replan_of
    if inputs.day:
        plan.day = inputs.day
    return plan


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
    """Read, forecast, choose and route in one call (``prepare_plan`` then ``solve_plan``).

    Callers that hold a write transaction should call the two apart: the solve is the long
    part and must not hold the database's write lock.
    """
    inputs = prepare_plan(conn, settings, request, forecaster=forecaster, distance=distance,
                          fleet=fleet, rules=rules)
    return solve_plan(inputs, settings)


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
    day = day or tomorrow(settings, at)
    for service, asset_type in ASSET_TYPE_OF_SERVICE.items():
        service_rules = rules or rules_for(service)
        found = read_assets(conn, asset_type, at, thing_ids=[thing_id])
        if found.unusable:
            return AssetVisit(day, service, False, False, found.unusable[0][2])
        if not found.assets:
            continue
        shift = int(float(settings.rounds_shift_hours) * 3600)
        times = RoundTimes.of(shift_start(settings, day), shift, service_rules)
        candidates, left_out = choose_assets(found.assets, at, times,
                                             forecaster or default_forecaster(), service_rules)
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
    runs.record_run(conn, plan_run(plan, organisation_id, created_by, created_at,
                                   int(plan_id)))
    return int(plan_id)


def plan_run(plan: Plan, organisation_id: int, created_by: str, created_at: datetime,
             plan_id: int) -> runs.RunRecord:
    """The transparency run record of a plan: forecaster and solver settings, seed, the asset
    readings it was made from and how the routes came out."""
    solver = plan.solver
    summary = plan.summary()
    considered = plan.stop_count + len(plan.left_out)
    runtime = solver.get("runtime_seconds")
    return runs.RunRecord(
        runs.ROUNDS_PLANNING, created_at,
        float(runtime) if isinstance(runtime, int | float) else None,
        {"service": plan.service, "day": plan.day, "distance_source": plan.distance_source,
         **{k: v for k, v in solver.items() if k not in ("seed", "version")}},
        outcome="ok" if plan.feasible else "partial",
        seed=int(solver["seed"]),  # type: ignore[call-overload]
        inputs=[runs.InputData("asset readings (fill level or soil moisture histories)",
                               considered, last=plan.snapshot_time)],
        volumes={"assets_considered": considered, "stops": plan.stop_count,
                 "left_out": len(plan.left_out), "mandatory": len(plan.mandatory_ids)},
        metrics={"km": summary["km"], "vehicles_used": summary["vehicles_used"],
                 "km_per_stop": round(plan.km / plan.stop_count, 3) if plan.stop_count else None,
                 "mandatory_left_out": summary["mandatory_left_out"],
                 "feasible": plan.feasible},
        version=f"placehub {__version__}; {solver.get('name', 'solver')} "
                f"{solver.get('version', '')}".strip(),
        organisation_id=organisation_id, actor=created_by, reference=f"plan {plan_id}")


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
              at: datetime, by: str, zone: str = "Europe/London") -> dict[str, Any]:
    """Mark a stop done (records a service event) or skipped (a reason is required).

    A stop is done on its plan's day (in ``zone``, the council's time zone) or not at all: a
    done time on another day is refused, so a mistyped date cannot reset a forecast.
    """
    if status not in ("done", "skipped"):
        raise BadRequest(f"status {status!r} not understood: use done or skipped")
    if status == "skipped" and not reason.strip():
        raise BadRequest("a skipped stop needs a reason, e.g. 'blocked access'")
    plan = plan_row(conn, plan_id)
    local = at.astimezone(ZoneInfo(zone))
    if status == "done" and local.date().isoformat() != plan.plan_date:
        raise BadRequest(f"stop {stop_id} is on the round of {plan.plan_date}: a done time must "
                         f"be on that day ({zone}), not {local.isoformat(timespec='minutes')}")
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
        if stop.thing_id is not None:
            reports.asset_serviced(conn, int(stop.thing_id), at, by)
    return {"id": stop_id, "plan_id": plan_id, "thing_id": stop.thing_id, "status": status,
            "reason": reason.strip(), "updated_at": at.isoformat()}


def prepare_replan(conn: Connection, settings: Settings, plan_id: int, at: datetime
                   ) -> PlanInputs:
    """A re-plan of a plan's remaining stops from ``at`` (reads only; solve with
    ``solve_plan``, store with ``save_plan`` and ``close_replanned``).

    Each vehicle starts where its crew last marked a stop done (its depot if none yet), with
    what it carries on board, for the rest of its shift; the stops still planned and the
    mandatory stops skipped today are routed again, over every vehicle.
    """
    detail = plan_detail(conn, plan_id)
    service = str(detail["service"])
    zone = local_zone(settings)
    start = shift_start(settings, date.fromisoformat(str(detail["date"])))
    if not start - timedelta(hours=2) <= at <= start + timedelta(days=1):
        raise BadRequest(f"plan {plan_id} is for {detail['date']}: re-plan it on that day")
    base = fleet_from_settings(settings, service, service_sites(conn))
    mandatory = set(detail.get("mandatory_ids", []))
    vehicles: list[Vehicle] = []
    candidates: list[Candidate] = []
    for number, route in enumerate(detail["vehicles"]):
        template = base.vehicles[min(number, len(base.vehicles) - 1)]
        position = tuple(route["start"])
        on_board = on_board_kg = previous = previous_kg = 0
        for stop in route["stops"]:
            delta = int(stop["load_litres"]) - previous
            delta_kg = int(stop.get("weight_kg", 0)) - previous_kg
            previous, previous_kg = int(stop["load_litres"]), int(stop.get("weight_kg", 0))
            if stop["kind"] == "reload":
                if any(s["kind"] == "asset" and s.get("status") == "done"
                       and s["sequence"] > stop["sequence"] for s in route["stops"]):
                    on_board = on_board_kg = 0
                continue
            if stop.get("status") == "done":
                on_board += max(delta, 0)
                on_board_kg += max(delta_kg, 0)
                position = (stop["lon"], stop["lat"])
                continue
            must = stop["asset_id"] in mandatory
            if stop.get("status") == "skipped" and not must:
                continue
            window = None
            text = str(stop.get("window") or "")
            if text.startswith("before "):
                latest = datetime.combine(start.astimezone(zone).date(),
                                          _clock_time(text[7:], "window"), zone)
                if latest.astimezone(UTC) > at:
                    window = (0, int((latest.astimezone(UTC) - at).total_seconds()))
                else:
                    text = ""
            reason = stop.get("why") or ""
            if stop.get("status") == "skipped":
                reason = f"skipped earlier today ({stop.get('reason')}): re-queued"
            candidates.append(Candidate(
                stop["asset_id"], stop["name"], stop["lon"], stop["lat"], max(delta, 1)
                if service == WASTE else max(-delta, 1),
                BIN_SERVICE_SECONDS if service == WASTE else WATERING_BASE_SECONDS + 360,
                must, 0 if must else 5000, float(stop.get("level") or 0.0),
                float(stop.get("probability") or 0.0), reason,
                weight_kg=abs(delta_kg), window=window, window_text=text,
                expected_level=stop.get("expected_level"), street=stop.get("street", ""),
                locality=stop.get("locality", "")))
        remaining = int((start + timedelta(seconds=template.shift_seconds) - at)
                        .total_seconds())
        if remaining <= 600:
            continue
        break_start = (datetime.fromisoformat(str(route["breaks"][0]["start"]))
                       if route.get("breaks") else None)
        keep_break = break_start is not None and break_start > at
        vehicles.append(replace(
            template, name=str(route["vehicle"]), start=position,
            shift_seconds=remaining,
            initial_load_litres=on_board if service == WASTE else 0,
            initial_load_kg=on_board_kg if service == WASTE else 0,
            break_seconds=template.break_seconds if keep_break else 0,
            break_after_seconds=int((break_start - at).total_seconds())
            if keep_break and break_start is not None else 0))
    if not vehicles:
        raise BadRequest(f"plan {plan_id}: no shift has more than 10 minutes left at "
                         f"{at.astimezone(zone):%H:%M}")
    fleet = replace(base, vehicles=tuple(vehicles))
    request = PlanRequest(service, start.date(), at, int(detail["organisation_id"]))
    notes = [f"re-plan of plan {plan_id} at {at.astimezone(zone):%H:%M} ({zone.key}): "
             f"{len(candidates)} remaining stops"]
    return PlanInputs(request, candidates, [], fleet, distance_from_settings(settings), at,
                      rules_for(service), str(detail["solver"].get("forecaster", "")), notes,
                      replan_of=plan_id, day=str(detail["date"]))


def close_replanned(conn: Connection, plan_id: int, new_plan_id: int, at: datetime,
                    by: str) -> int:
    """Mark the old plan's stops still planned as moved to the re-plan; answer how many."""
    moved = conn.execute(update(rounds_stops)
                         .where(rounds_stops.c.plan_id == plan_id,
                                rounds_stops.c.kind == "asset",
                                rounds_stops.c.status == "planned")
                         .values(status="skipped", updated_at=at,
                                 reason=f"re-planned in plan {new_plan_id} by {by}"))
    return int(moved.rowcount or 0)
