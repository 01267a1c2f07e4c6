"""Parking bay sensors for the demo: Nwave NPS310 sensors in the largest car parks of each town
(Oakham's and Uppingham's in Rutland), each with a simulated week of reports.

Re-runnable: bays already registered are left alone and only new ones get a history.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from datetime import datetime

import numpy as np
import shapely

from placehub.access.service import Principal
from placehub.area import area_files
from placehub.config import Settings
from placehub.db import Database
from placehub.ingest.devices import DeviceSpec, register_device
from placehub.places.assign import assign_things
from placehub.places.osm import read_places
from placehub.planning.features import Feature, of_kinds, read_osm_features
from placehub.planning.parking import capacity_of
from placehub.planning.parking_sim import simulate_car_park, week_start
from placehub.sta.observations import NewObservation, write_observations

PROFILE = "nwave/nps310sm"
CAR_PARKS_PER_TOWN = 2
BAYS_PER_CAR_PARK = 12
TOWN_RADIUS_M = 1200.0
WRITER = Principal(username="placehub-demo", write_anywhere=True)

Progress = Callable[[str, int, int], None]


def _quiet(_step: str, _done: int, _total: int) -> None:
    pass


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    k = math.cos(math.radians(a[1]))
    return math.hypot((a[0] - b[0]) * k, a[1] - b[1]) * 111_195


def demo_car_parks(features: list[Feature], towns: list[tuple[str, float, float]]
                   ) -> list[tuple[str, Feature]]:
    """(town, car park): the largest public car parks with a mapped outline near each town."""
    chosen = []
    parks = [f for f in of_kinds(features, ["car_park"]) if f.outline is not None
             and f.tags.get("access") not in {"private", "customers", "no"}]
    for town, lon, lat in towns:
        near = [p for p in parks if _metres((p.lon, p.lat), (lon, lat)) < TOWN_RADIUS_M]
        # Named (public, signed) car parks first, then the largest.
        near.sort(key=lambda p: ("name" not in p.tags, -(capacity_of(p)[0] or 0)))
        chosen += [(town, p) for p in near[:CAR_PARKS_PER_TOWN]]
    return chosen


def bay_positions(park: Feature, count: int, seed: int) -> np.ndarray:
    """``count`` points inside the car park's outline (uniform, reproducible)."""
    digest = hashlib.sha256(f"{seed}:{park.ref}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    assert park.outline is not None
    minx, miny, maxx, maxy = park.outline.bounds
    found = np.zeros((0, 2))
    while len(found) < count:
        candidates = np.column_stack([rng.uniform(minx, maxx, 4 * count),
                                      rng.uniform(miny, maxy, 4 * count)])
        inside = shapely.contains_xy(park.outline, candidates[:, 0], candidates[:, 1])
        found = np.vstack([found, candidates[inside]])
    return found[:count]


def _dev_eui(key: str) -> str:
    # Nwave's OUI, then a hash of the bay's key: stable across builds.
    return "70B3D5" + hashlib.sha256(key.encode()).hexdigest()[:10].upper()


def add_parking(database: Database, settings: Settings, now: datetime, seed: int,
                organisation: str, progress: Progress = _quiet,
                bays_per_car_park: int | None = None, days: int = 7) -> tuple[int, int]:
    """Register the demo's bay sensors and write ``days`` (a week) of simulated reports;
    returns (bays new, reports written)."""
    per_park = min(bays_per_car_park or BAYS_PER_CAR_PARK, BAYS_PER_CAR_PARK)
    from placehub.demo.build import datastreams_by_quantity, registered_demo_keys

    extract = area_files(settings).roads
    if not extract.exists():
        return 0, 0
    towns = [(p.name, p.lonlat[0], p.lonlat[1])
             for p in read_places(extract, frozenset({"town"}))]
    chosen = demo_car_parks(read_osm_features(extract), towns)
    new: list[tuple[str, Feature, int]] = []
    with database.begin() as conn:
        existing = registered_demo_keys(conn, organisation)
        for town, park in chosen:
            for number, (lon, lat) in enumerate(bay_positions(park, per_park, seed)):
                key = f"parking-{park.ref}-{number}"
                if key in existing:
                    continue
                register_device(conn, WRITER, DeviceSpec(
                    dev_eui=_dev_eui(key), name=f"{park.name} bay {number + 1}",
                    profile=PROFILE, latitude=float(lat), longitude=float(lon),
                    asset_type="parking_bay", organisation=organisation, visibility="public",
                    network="tts", application_id=f"{organisation}-parking-bay",
                    description=f"Demo parking bay sensor in {park.name}, {town}",
                    properties={"demo_key": key, "car_park": park.ref, "zone": town}))
                new.append((key, park, number))
        if new:
            assign_things(conn)  # each bay in its ward and LSOA, like every demo asset
        keys = registered_demo_keys(conn, organisation)
        streams = datastreams_by_quantity(conn, [keys[key] for key, _, _ in new])
    start = week_start(now, settings.rounds_timezone, days)
    span_days = math.ceil((now - start).total_seconds() / 86400)
    written = 0
    busy = {ref: 1.0 + 0.08 * i for i, ref in enumerate(sorted({p.ref for _, p, _ in new}))}
    for done, (ref, group) in enumerate(_by_park(new).items(), start=1):
        histories = simulate_car_park(ref, per_park, start, span_days, seed,
                                      busyness=busy[ref], timezone=settings.rounds_timezone)
        rows = []
        for key, number in group:
            stream = streams.get(keys[key], {}).get("occupancy")
            if stream is None:
                continue
            history = histories[number]
            for t, state in zip(history.times, history.states, strict=True):
                at = datetime.fromtimestamp(float(t), now.tzinfo)
                if at <= now:
                    rows.append(NewObservation(datastream_id=stream, phenomenon_time=at,
                                               result=bool(state), result_time=at))
        with database.begin() as conn:
            result = write_observations(conn, rows)
        written += sum(1 for outcome in result.outcomes if outcome.ok)
        progress("parking", done, len(busy))
    return len(new), written


def _by_park(new: list[tuple[str, Feature, int]]) -> dict[str, list[tuple[str, int]]]:
    grouped: dict[str, list[tuple[str, int]]] = {}
    for key, park, number in new:
        grouped.setdefault(park.ref, []).append((key, number))
    return grouped
