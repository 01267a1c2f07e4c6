"""Building the demo into a database: places, roads, devices and eight weeks of history.

The demo is built for the area of the ``area`` setting (Rutland by default, any area
``placehub area fetch`` wrote otherwise), owned by an organisation named after it.

Re-runnable: layers and points are upserted, devices already registered are left alone and only
new assets get a history, so a second run on an existing demo database changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from placehub.access.service import Principal, ensure_organisation, organisation_id
from placehub.access.tables import organisations
from placehub.area import AreaFiles, area_files
from placehub.area.fetch import default_council_name
from placehub.area.load import layer_title
from placehub.care.checks import check_home
from placehub.care.demo import add_demo_homes
from placehub.config import Settings
from placehub.db import Database
from placehub.demo.district import AssetSpec, District, Site, generate_district
from placehub.demo.history import (
    HISTORY_DAYS,
    air_replay_label,
    asset_history,
    history_start,
)
from placehub.places.assign import assign_things
from placehub.places.layers import load_boundaries, load_buildings
from placehub.places.roads import RoadNetwork, load_road_network
from placehub.planning.parking_demo import add_parking
from placehub.sta.observations import NewObservation, write_observations
from placehub.sta.tables import datastreams, things

# The Rutland demo's organisation; another area's demo is owned by one named after the area.
ORGANISATION_SLUG = "rutland"
ORGANISATION_NAME = "Rutland County Council"
DEMO_SEED = 2024
# Rows per write_observations call: one multi-row INSERT (or COPY) each.
BACKFILL_BATCH = 20_000
# The demo writes as the council itself (no user token involved).
DEMO_WRITER = Principal(username="placehub-demo", write_anywhere=True)

# (step name, done, total): the CLI shows these as progress bars.
Progress = Callable[[str, int, int], None]


def _quiet(_step: str, _done: int, _total: int) -> None:
    pass


@dataclass
class BuildReport:
    """What a build did and how long each step took."""

    registered: int = 0
    already_there: int = 0
    observations: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    district: District | None = None


@dataclass(frozen=True)
class DemoArea:
    """The area a demo is built for and the organisation (the council) that owns it."""

    files: AreaFiles
    organisation: str
    council: str

    @property
    def slug(self) -> str:
        return self.files.slug


def demo_area(settings: Settings) -> DemoArea:
    """The area of the ``area`` setting; its council's name from the fetch manifest."""
    files = area_files(settings)
    if files.slug == ORGANISATION_SLUG:
        return DemoArea(files, ORGANISATION_SLUG, ORGANISATION_NAME)
    fetched = files.read_manifest().get("area", {})
    name = fetched.get("name") or files.slug.replace("-", " ").title()
    return DemoArea(files, files.slug, fetched.get("council") or default_council_name(name))


def load_places_and_roads(database: Database, settings: Settings, progress: Progress = _quiet
                          ) -> RoadNetwork:
    """The area's wards, LSOAs, buildings as property points, and the road network (cached)."""
    files = area_files(settings)
    with database.begin() as conn:
        load_boundaries(conn, files.wards, "wards", title=layer_title(files.wards, "wards"),
                        progress=lambda d, t: progress("wards", d, t))
        load_boundaries(conn, files.lsoas, "lsoas", title=layer_title(files.lsoas, "lsoas"),
                        progress=lambda d, t: progress("LSOAs", d, t))
        load_buildings(conn, files.roads, progress=lambda d, t: progress("buildings", d, t))
    progress("roads", 0, 1)
    network = load_road_network(files.roads, Path(settings.road_network_file))
    progress("roads", 1, 1)
    return network


def registered_demo_keys(conn: Connection, organisation: str = ORGANISATION_SLUG
                         ) -> dict[str, int]:
    """demo_key -> Thing id of demo assets already in the database."""
    found: dict[str, int] = {}
    rows = conn.execute(select(things.c.id, things.c.properties)
                        .join(organisations, organisations.c.id == things.c.organisation_id)
                        .where(organisations.c.slug == organisation))
    for row in rows:
        properties = row.properties if isinstance(row.properties, dict) else {}
        if properties.get("demo_key"):
            found[str(properties["demo_key"])] = int(row.id)
    return found


def _site_thing(conn: Connection, site: Site, asset_type: str, key: str,
                organisation: str, council: str) -> int:
    """The depot or the tip as a Thing with a Location (no device)."""
    from placehub.sta.model import ORGANISATION_ANNOTATION, VISIBILITY_ANNOTATION
    from placehub.sta.writes import create_entity

    return create_entity(conn, DEMO_WRITER, "Things", {
        "name": site.name,
        "description": f"{asset_type.capitalize()} of the {council} demo ({site.source})",
        "properties": {"asset_type": asset_type, "demo_key": key, "source": site.source},
        ORGANISATION_ANNOTATION: organisation, VISIBILITY_ANNOTATION: "public",
        "Locations": [{"name": site.name, "description": site.source,
                       "encodingType": "application/geo+json",
                       "location": {"type": "Point", "coordinates": [site.lon, site.lat]}}],
    })


def register_assets(conn: Connection, district: District, progress: Progress = _quiet,
                    organisation: str = ORGANISATION_SLUG, council: str = ORGANISATION_NAME
                    ) -> tuple[list[AssetSpec], int]:
    """Register the devices not yet registered; returns (new assets, already registered)."""
    from placehub.ingest.devices import DeviceSpec, register_device

    ensure_organisation(conn, organisation, council)
    existing = registered_demo_keys(conn, organisation)
    for site, kind, key in ((district.depot, "depot", "depot"), (district.tip, "tip", "tip")):
        if key not in existing:
            _site_thing(conn, site, kind, key, organisation, council)
    new = [a for a in district.assets if a.key not in existing]
    for done, asset in enumerate(new, start=1):
        properties = dict(asset.properties)
        if asset.asset_type == "air_quality_station":
            properties["data_source"] = air_replay_label()
        register_device(conn, DEMO_WRITER, DeviceSpec(
            dev_eui=asset.dev_eui, name=asset.name, profile=asset.profile,
            latitude=asset.lat, longitude=asset.lon, asset_type=asset.asset_type,
            organisation=organisation, visibility=asset.visibility,
            network=asset.network,
            application_id=f"{organisation}-{asset.asset_type.replace('_', '-')}",
            description=_description(asset), properties=properties,
        ))
        progress("devices", done, len(new))
    return new, len(district.assets) - len(new)


def _description(asset: AssetSpec) -> str:
    if asset.asset_type == "air_quality_station":
        return f"Demo air-quality station. {air_replay_label()}"
    return f"Demo {asset.asset_type.replace('_', ' ')} ({asset.properties.get('source', 'demo')})"


def datastreams_by_quantity(conn: Connection, thing_ids: Sequence[int]
                            ) -> dict[int, dict[str, int]]:
    """Thing id -> quantity -> Datastream id."""
    found: dict[int, dict[str, int]] = {}
    rows = conn.execute(select(datastreams.c.id, datastreams.c.thing_id, datastreams.c.properties)
                        .where(datastreams.c.thing_id.in_(list(thing_ids))))
    for row in rows:
        properties = row.properties if isinstance(row.properties, dict) else {}
        quantity = properties.get("quantity")
        if quantity:
            found.setdefault(int(row.thing_id), {})[str(quantity)] = int(row.id)
    return found


def assets_without_history(conn: Connection, assets: Sequence[AssetSpec],
                           organisation: str = ORGANISATION_SLUG) -> list[AssetSpec]:
    """The registered assets none of whose Datastreams has an Observation yet."""
    keys = registered_demo_keys(conn, organisation)
    counts: dict[int, int] = {}
    rows = conn.execute(select(datastreams.c.thing_id, datastreams.c.observation_count)
                        .where(datastreams.c.thing_id.in_(list(keys.values()))))
    for thing_id, count in rows:
        counts[int(thing_id)] = counts.get(int(thing_id), 0) + int(count or 0)
    return [a for a in assets if a.key in keys and counts.get(keys[a.key], 0) == 0]


def backfill(database: Database, data_dir: Path, assets: Sequence[AssetSpec], now: datetime,
             seed: int = DEMO_SEED, progress: Progress = _quiet,
             days: int = HISTORY_DAYS, organisation: str = ORGANISATION_SLUG) -> int:
    """Write the history of ``assets`` (eight weeks) through ``write_observations``, in batches."""
    if not assets:
        return 0
    start = history_start(now, days)
    with database.connect() as conn:
        keys = registered_demo_keys(conn, organisation)
        streams = datastreams_by_quantity(conn, [keys[a.key] for a in assets])
    pending: list[NewObservation] = []
    written = 0

    def flush() -> None:
        nonlocal written
        if not pending:
            return
        with database.begin() as conn:
            result = write_observations(conn, pending)
        written += sum(1 for outcome in result.outcomes if outcome.ok)
        pending.clear()

    for done, asset in enumerate(assets, start=1):
        by_quantity = streams.get(keys[asset.key], {})
        for series in asset_history(data_dir, asset, start, now, seed):
            stream = by_quantity.get(series.quantity)
            if stream is None:
                continue  # the profile has no Datastream for it
            for at, value in zip(series.times, series.values, strict=True):
                # No dedup key: only assets without any history are back-filled (see
                # assets_without_history), and keys would triple the write time.
                pending.append(NewObservation(
                    datastream_id=stream, phenomenon_time=at, result=value, result_time=at))
        if len(pending) >= BACKFILL_BATCH:
            flush()
        progress("history", done, len(assets))
    flush()
    return written


def sample_district(district: District, per_type: int) -> District:
    """The first ``per_type`` bins, flowerbeds and air stations (small builds for tests)."""
    return replace(district, bins=district.bins[:per_type],
                   flowerbeds=district.flowerbeds[:per_type],
                   air_stations=district.air_stations[:per_type])


def build_demo(database: Database, settings: Settings, seed: int = DEMO_SEED,
               progress: Progress = _quiet, now: datetime | None = None,
               per_type: int | None = None, history_days: int = HISTORY_DAYS) -> BuildReport:
    """Build (or complete) the demo of the ``area`` setting in ``database``.

    ``per_type`` keeps only that many assets of each type and ``history_days`` shortens the
    history: both are for quick builds in tests.
    """
    report = BuildReport()
    area = demo_area(settings)
    now = now or datetime.now(UTC)
    clock = time.perf_counter()
    network = load_places_and_roads(database, settings, progress)
    report.seconds["places and roads"] = time.perf_counter() - clock

    clock = time.perf_counter()
    district = generate_district(settings.data_path, network, seed, area=area.slug)
    if per_type is not None:
        district = sample_district(district, per_type)
    report.district = district
    with database.begin() as conn:
        new, report.already_there = register_assets(conn, district, progress,
                                                    area.organisation, area.council)
        assign_things(conn)
    report.registered = len(new)
    report.seconds["devices"] = time.perf_counter() - clock

    clock = time.perf_counter()
    # Assets registered now, and any whose history an interrupted build did not write.
    with database.connect() as conn:
        empty = assets_without_history(conn, district.assets, area.organisation)
    report.observations = backfill(database, settings.data_path, empty, now, seed, progress,
                                   history_days, area.organisation)
    report.seconds["history"] = time.perf_counter() - clock

    clock = time.perf_counter()
    bays, reports = add_parking(database, settings, now, seed, area.organisation, progress,
                                bays_per_car_park=per_type, days=min(7, history_days))
    report.registered += bays
    report.observations += reports
    report.seconds["parking"] = time.perf_counter() - clock

    clock = time.perf_counter()
    # Three simulated homes (independent living), each its own care circle; a quick build
    # gets the 8 days the routine needs to be learned, a full one four weeks.
    if district.assets:
        with database.begin() as conn:
            council = organisation_id(conn, area.organisation)
            anchor = district.assets[0]
            for resident in add_demo_homes(conn, council, anchor.lon, anchor.lat, now,
                                           days=28 if history_days >= 14 else 8):
                check_home(conn, resident, now)
    report.seconds["care homes"] = time.perf_counter() - clock
    return report


def demo_summary(conn: Connection, organisation: str = ORGANISATION_SLUG) -> dict[str, Any]:
    """Counts of demo assets by type (for the CLI and tests)."""
    counts: dict[str, int] = {}
    rows = conn.execute(select(things.c.properties)
                        .join(organisations, organisations.c.id == things.c.organisation_id)
                        .where(organisations.c.slug == organisation))
    for (properties,) in rows:
        kind = (properties or {}).get("asset_type", "other")
        counts[kind] = counts.get(kind, 0) + 1
    return counts
