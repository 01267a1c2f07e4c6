"""A small Rutland demo (from the demo builder) plus officer accounts, for the web tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from placehub.access import service
from placehub.config import Settings
from placehub.db import Database
from placehub.demo.build import ORGANISATION_SLUG, build_demo
from placehub.sta.tables import things

PASSWORD = "correct horse battery"
PER_TYPE = 6


@dataclass
class Demo:
    """What the web tests need to know about the demo they run on."""

    settings: Settings
    organisation_id: int
    thing_ids: dict[str, list[int]]


def build_small_demo(database: Database, settings: Settings, work: Path) -> Demo:
    """Build a small demo (``PER_TYPE`` assets of each type, 2 days history) and add users."""
    settings = settings.replace(road_network_file=str(work / "roads.npz"))
    build_demo(database, settings, per_type=PER_TYPE, history_days=2)
    with database.begin() as conn:
        council = service.organisation_id(conn, ORGANISATION_SLUG)
        officer = service.create_user(conn, "officer", password=PASSWORD, display_name="Officer")
        service.grant_role(conn, officer, council, "editor")
        other = service.ensure_organisation(conn, "elsewhere", "Another Council")
        outsider = service.create_user(conn, "outsider", password=PASSWORD)
        service.grant_role(conn, outsider, other, "viewer")
        by_type: dict[str, list[int]] = {}
        for thing_id, properties in conn.execute(select(things.c.id, things.c.properties)
                                                 .order_by(things.c.id)):
            kind = (properties or {}).get("asset_type", "other")
            by_type.setdefault(kind, []).append(int(thing_id))
    return Demo(settings, council, by_type)
