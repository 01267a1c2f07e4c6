"""The wards list counts each viewer's assets per ward from the asset snapshot; the counts equal
the per-ward truth read one ward at a time, on both databases, and follow moved assets."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update

from placehub.access import service
from placehub.access.service import ANONYMOUS, Principal
from placehub.access.visibility import visible_clause
from placehub.db import Database
from placehub.places.assign import assign_things
from placehub.places.layers import load_boundaries
from placehub.places.queries import layer_places
from placehub.places.tables import places, thing_places
from placehub.sta.tables import locations, thing_locations, things
from placehub.web.asset_snapshot import AssetSnapshot
from tests.web.seed import Seeded

# In Rutland's Exton ward, away from Oakham.
EXTON = (-0.632, 52.692)


def principal_of(database: Database, username: str | None) -> Principal:
    if username is None:
        return ANONYMOUS
    with database.connect() as conn:
        return service.principal_for_user(conn, service.user_id(conn, username))


def add_thing(database: Database, seeded: Seeded, name: str, properties: dict[str, Any],
              visibility: str, at: tuple[float, float]) -> int:
    """A Thing at a point, placed in its ward."""
    with database.begin() as conn:
        thing_id = conn.execute(insert(things).values(
            name=name, description=name, organisation_id=seeded.organisation_id,
            visibility=visibility, properties=properties)).inserted_primary_key[0]
        location_id = conn.execute(insert(locations).values(
            name=name, encoding_type="application/geo+json",
            location={"type": "Point", "coordinates": list(at)},
            organisation_id=seeded.organisation_id, min_x=at[0], max_x=at[0], min_y=at[1],
            max_y=at[1])).inserted_primary_key[0]
        conn.execute(insert(thing_locations).values(thing_id=thing_id, location_id=location_id))
        assign_things(conn, [thing_id])
    database.events.publish("things.changed", [thing_id])
    return int(thing_id)


@pytest.fixture
def wards(database: Database, seeded: Seeded, data_dir: Path) -> Seeded:
    """The seeded council with Rutland's wards loaded."""
    with database.begin() as conn:
        load_boundaries(conn, data_dir / "rutland" / "wards.geojson", "wards", title="Wards")
    return seeded


def truth(database: Database, principal: Principal) -> dict[str, dict[str, int]]:
    """Per ward code, the visible Things in it by type, read one ward at a time."""
    visible = visible_clause(principal, things.c.organisation_id, things.c.visibility)
    result: dict[str, dict[str, int]] = {}
    with database.connect() as conn:
        for place_id, code in conn.execute(select(places.c.id, places.c.code)):
            kinds: Counter[str] = Counter()
            for properties in conn.execute(
                    select(things.c.properties)
                    .join(thing_places, thing_places.c.thing_id == things.c.id)
                    .where(thing_places.c.place_id == place_id, visible)).scalars():
                kind = properties.get("asset_type") if isinstance(properties, dict) else None
                kinds[str(kind) if kind else "other"] += 1
            if kinds:
                result[code] = dict(sorted(kinds.items()))
    return result


def counted(found: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {place["code"]: place["assets"] for place in found["places"] if place["assets"]}


@pytest.mark.parametrize("username", [None, "officer", "outsider"])
def test_ward_counts_equal_the_per_ward_truth_for_every_viewer(
        database: Database, wards: Seeded, username: str | None) -> None:
    """Anonymous, the council's editor and another council's viewer: the snapshot's counts
    and the grouped SQL count both equal the counts read ward by ward, types in name order."""
    add_thing(database, wards, "Untyped sensor", {"note": "no type"}, "public", EXTON)
    add_thing(database, wards, "Numbered type", {"asset_type": 7}, "organisation", EXTON)
    principal = principal_of(database, username)
    expected = truth(database, principal)
    assert sum(sum(kinds.values()) for kinds in expected.values()) >= 3
    snapshot = AssetSnapshot(database, refresh_seconds=3600)
    view = snapshot.view(principal)
    with database.connect() as conn:
        key, place_of = snapshot.place_map(conn, "wards")
        from_snapshot = layer_places(conn, "wards", principal, with_status=False,
                                     asset_counts=view.per_place(key, place_of))
        by_sql = layer_places(conn, "wards", principal)
    assert counted(from_snapshot) == expected
    assert counted(by_sql) == expected
    assert all(list(kinds) == sorted(kinds) for kinds in counted(by_sql).values())
    if username is None:
        assert "7" not in {k for kinds in expected.values() for k in kinds}
    if username == "officer":
        assert {"other", "7"} <= {k for kinds in expected.values() for k in kinds}


def test_the_wards_page_follows_a_moved_asset_and_reloaded_boundaries(
        client: TestClient, database: Database, wards: Seeded, data_dir: Path) -> None:
    """A public bin moved to Exton is counted there on the very next page; loading the wards
    again (the Things placed anew, no Thing event) is seen at once too."""
    def exton_bins() -> int:
        html = client.get("/public/places").text
        row = re.search(r">Exton</a></td>\s*<td[^>]*>([^<]*)</td>", html)
        assert row is not None, html
        found = re.search(r"([\d,]+) litter bins?", row.group(1))
        return int(found.group(1).replace(",", "")) if found else 0

    before = exton_bins()
    bin_id = wards.things["Bin 001 Oakham"]
    with database.begin() as conn:
        location_id = conn.execute(select(thing_locations.c.location_id).where(
            thing_locations.c.thing_id == bin_id)).scalar_one()
        conn.execute(update(locations).where(locations.c.id == location_id).values(
            location={"type": "Point", "coordinates": list(EXTON)},
            min_x=EXTON[0], max_x=EXTON[0], min_y=EXTON[1], max_y=EXTON[1]))
    database.events.publish("locations.changed", [bin_id])
    assert exton_bins() == before + 1  # Bin 001 is public
    # Moved back with no event, then the boundaries reloaded: the Things are placed anew.
    with database.begin() as conn:
        conn.execute(update(locations).where(locations.c.id == location_id).values(
            location={"type": "Point", "coordinates": [-0.7275, 52.6695]}))
        load_boundaries(conn, data_dir / "rutland" / "wards.geojson", "wards", title="Wards")
    assert exton_bins() == before
