"""The device list's query: search by DevEUI, name or asset, counted, sorted and paged in SQL,
only over devices the caller may see."""

from __future__ import annotations

import pytest

from placehub.access import service
from placehub.access.service import ANONYMOUS, Principal
from placehub.db import Database
from placehub.errors import BadRequest
from placehub.ingest.devices import search_devices
from tests.ingest.fleet import eui_of, make_fleet


@pytest.fixture
def editor(database: Database) -> Principal:
    """An editor of Rutland, whose 120 organisation-only devices are in the fleet."""
    fleet = make_fleet(database, 120)
    with database.begin() as conn:
        user = service.create_user(conn, "editor")
        service.grant_role(conn, user, fleet["organisation"], "editor")
        return service.principal_for_user(conn, user)


def test_pages_cover_every_device_once_in_dev_eui_order(database: Database,
                                                        editor: Principal) -> None:
    """Three pages of 50 hold all 120 devices once, by DevEUI; a page past the end shows the
    last one."""
    with database.connect() as conn:
        pages = [search_devices(conn, editor, page=n, per_page=50) for n in (1, 2, 3)]
        beyond = search_devices(conn, editor, page=9, per_page=50)
    seen = [row["dev_eui"] for page in pages for row in page.rows]
    assert seen == sorted(eui_of(i) for i in range(120))
    assert [len(p.rows) for p in pages] == [50, 50, 20]
    assert pages[0].total == 120 and pages[0].count == 3
    assert beyond.number == 3 and beyond.rows == pages[2].rows


def test_search_matches_dev_eui_name_or_asset(database: Database, editor: Principal) -> None:
    """A DevEUI fragment is matched whatever its case and separators; a name or asset name
    fragment whatever its case; the total counts the matches only."""
    with database.connect() as conn:
        by_eui = search_devices(conn, editor, "00:00:00:6a")
        by_name = search_devices(conn, editor, "BIN 7 SENSOR")
        by_asset = search_devices(conn, editor, "catmose street")
        nothing = search_devices(conn, editor, "100%_")
    assert [r["dev_eui"] for r in by_eui.rows] == [eui_of(0x6A)]
    assert [r["name"] for r in by_name.rows] == ["Bin 7 sensor"]
    assert by_asset.total == 15 and all("Catmose Street" in r["asset_name"]
                                        for r in by_asset.rows)
    assert nothing.total == 0 and nothing.rows == [] and nothing.count == 1


def test_sorted_by_last_seen_with_the_silent_last(database: Database,
                                                  editor: Principal) -> None:
    """Newest first when sorted by last seen descending; devices never heard from come last
    in both directions."""
    with database.connect() as conn:
        newest = search_devices(conn, editor, sort="last_seen", descending=True, per_page=120)
        oldest = search_devices(conn, editor, sort="last_seen", per_page=120)
    assert newest.rows[0]["dev_eui"] == eui_of(1)
    assert oldest.rows[0]["dev_eui"] == eui_of(119)
    for page in (newest, oldest):
        assert [r["last_seen"] for r in page.rows[-12:]] == [None] * 12
    assert newest.rows[0]["rssi"] == -61.0 and newest.rows[0]["battery_percent"] == 89.0


def test_only_devices_the_caller_may_see(database: Database, editor: Principal) -> None:
    """Organisation-only devices are not listed to an anonymous caller; bad paging or
    sorting is refused with what to use."""
    with database.connect() as conn:
        assert search_devices(conn, ANONYMOUS).total == 0
        with pytest.raises(BadRequest, match="sort by one of dev_eui, name, last_seen"):
            search_devices(conn, editor, sort="battery")
        with pytest.raises(BadRequest, match="whole numbers from 1"):
            search_devices(conn, editor, page=0)
