"""A small Rutland demo (from the demo builder) plus officer accounts, for the web tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, select

from placehub.access import service
from placehub.alerts.lifecycle import NewAlert, open_alerts
from placehub.alerts.store import ensure_default_rules, load_rules
from placehub.assets.levels import DEFAULT_EMPTY_MM, DEFAULT_FULL_MM
from placehub.config import Settings
from placehub.db import Database
from placehub.demo.build import ORGANISATION_SLUG, build_demo, datastreams_by_quantity
from placehub.sta.observations import NewObservation, write_observations
from placehub.sta.tables import things

PASSWORD = "correct horse battery"
PER_TYPE = 6
NEARLY_FULL = 3  # bins given a busy weekend: nearly full now, so tomorrow's round visits them
# The back-filled history ends this long before now, so the readings ``fill_up`` adds are each
# bin's newest at any time of day (the 3-hourly history would otherwise end up to 3 h after
# some of them, depending on the clock).
HISTORY_ENDS_BEFORE_NOW = timedelta(hours=1)


@dataclass
class Demo:
    """What the web tests need to know about the demo they run on."""

    settings: Settings
    organisation_id: int
    thing_ids: dict[str, list[int]]


def build_small_demo(database: Database, settings: Settings, work: Path,
                     road_network_file: Path | None = None,
                     basemap_file: Path | None = None) -> Demo:
    """Build a small demo (``PER_TYPE`` assets of each type, 2 days history) and add users.

    ``road_network_file`` is a road network cache to read (parsed into ``work`` if not given);
    ``basemap_file`` the street map's cache (read into ``work`` on the first tile if not given).
    """
    settings = settings.replace(road_network_file=str(road_network_file or work / "roads.npz"),
                                basemap_file=str(basemap_file or work / "basemap.npz"))
    build_demo(database, settings, per_type=PER_TYPE, history_days=2,
               now=datetime.now(UTC) - HISTORY_ENDS_BEFORE_NOW)
    with database.begin() as conn:
        council = service.organisation_id(conn, ORGANISATION_SLUG)
        officer = service.create_user(conn, "officer", password=PASSWORD, display_name="Officer")
        service.grant_role(conn, officer, council, "editor")
        other = service.ensure_organisation(conn, "elsewhere", "Another Council")
        outsider = service.create_user(conn, "outsider", password=PASSWORD)
        service.grant_role(conn, outsider, other, "viewer")
        by_type: dict[str, list[int]] = {}
        # The council's assets (the demo's simulated homes belong to their care circles).
        for thing_id, properties in conn.execute(select(things.c.id, things.c.properties)
                                                 .where(things.c.organisation_id == council)
                                                 .order_by(things.c.id)):
            kind = (properties or {}).get("asset_type", "other")
            by_type.setdefault(kind, []).append(int(thing_id))
        full_bins = by_type.get("litter_bin", [])[:NEARLY_FULL]
        fill_up(conn, full_bins)
        # One bin about to overflow, so tomorrow's round has a mandatory stop at any time of
        # day (after noon, nearly full bins alone were not worth the drive and plans were empty).
        fill_up(conn, by_type.get("litter_bin", [])[NEARLY_FULL:NEARLY_FULL + 1], 0.99)
        raise_alert(conn, full_bins[0])
    return Demo(settings, council, by_type)


def fill_up(conn: Connection, bin_ids: list[int], fraction: float = 0.86) -> None:
    """Readings 40 and 10 minutes ago saying these bins are ``fraction`` full (distance and fill
    level): newer than the history, which ends ``HISTORY_ENDS_BEFORE_NOW`` ago."""
    now = datetime.now(UTC).replace(microsecond=0)
    streams = datastreams_by_quantity(conn, bin_ids)
    rows = []
    for thing_id in bin_ids:
        by_quantity = streams[thing_id]
        things_props = conn.execute(select(things.c.properties)
                                    .where(things.c.id == thing_id)).scalar_one() or {}
        empty = float(things_props.get("empty_distance_mm") or DEFAULT_EMPTY_MM)
        full = float(things_props.get("full_distance_mm") or DEFAULT_FULL_MM)
        for minutes in (40, 10):
            at = now - timedelta(minutes=minutes)
            if "distance" in by_quantity:
                rows.append(NewObservation(by_quantity["distance"], at,
                                           round(empty - fraction * (empty - full))))
            if "fill_level" in by_quantity:
                rows.append(NewObservation(by_quantity["fill_level"], at, round(fraction * 100)))
    write_observations(conn, rows)


def raise_alert(conn: Connection, thing_id: int) -> None:
    """Open a 'nearly full' alert on a bin under one of the default rules."""
    now = datetime.now(UTC)
    ensure_default_rules(conn, now)
    rules = load_rules(conn)
    rule = next((r for r in rules if "fill" in r.key), rules[0])
    open_alerts(conn, [NewAlert(rule, "fill_level", thing_id, None, "Bin nearly full",
                                "Fill level 86% (threshold 75%)", 86.0, now)], now)
