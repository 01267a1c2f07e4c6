"""The device list page: search, paging and sorting in the query string, and each device's last
uplink, battery, signal and health (the asset's own judgement)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from placehub.access import service
from placehub.db import Database
from tests.ingest.fleet import add_battery_reading, eui_of, make_fleet
from tests.web.conftest import sign_in
from tests.web.seed import PASSWORD


@pytest.fixture
def editor_client(client: TestClient, database: Database) -> TestClient:
    """Signed in as an editor of Rutland, whose 120 devices and three bins with battery
    readings (low, fine and silent) are registered."""
    fleet = make_fleet(database, 120)
    add_battery_reading(database, "Bin Low Mill Lane", "A84041000181A001", 12.0, hours_ago=1)
    add_battery_reading(database, "Bin Fine Mill Lane", "A84041000181A002", 88.0, hours_ago=1)
    add_battery_reading(database, "Bin Quiet Mill Lane", "A84041000181A003", 70.0, hours_ago=30)
    with database.begin() as conn:
        user = service.create_user(conn, "editor", password=PASSWORD)
        service.grant_role(conn, user, fleet["organisation"], "editor")
    sign_in(client, "editor")
    return client


def _rows(html: str) -> list[str]:
    body = html.split('id="devices-table"')[1].split("</table>")[0]
    return re.findall(r'<tr class="govuk-table__row">(.*?)</tr>', body, re.S)[1:]


def test_first_page_has_fifty_devices_and_links_to_the_rest(editor_client: TestClient) -> None:
    """123 devices: the first page holds 50 by DevEUI, says how many there are, and links to
    page 2 keeping the sort."""
    page = editor_client.get("/devices")
    assert page.status_code == 200
    rows = _rows(page.text)
    assert len(rows) == 50 and eui_of(0) in rows[0] and eui_of(49) in rows[-1]
    assert "123 devices. Page 1 of 3." in page.text
    assert 'href="?sort=dev_eui&amp;dir=asc&amp;page=2"' in page.text
    second = _rows(editor_client.get("/devices?page=2").text)
    assert eui_of(50) in second[0]
    last = _rows(editor_client.get("/devices?page=3").text)
    assert len(last) == 23 and "A84041000181A003" in last[-1]


def test_search_keeps_its_terms_across_pages(editor_client: TestClient) -> None:
    """A search by street lists only those devices, the count says so and paging links keep
    the search."""
    page = editor_client.get("/devices?q=Mill+Street").text
    assert "15 devices match ‘Mill Street’" in page
    assert all("Mill Street" in row for row in _rows(page))
    colons = ":".join(eui_of(5)[i:i + 2] for i in range(0, 16, 2)).lower()
    by_eui = editor_client.get("/devices", params={"q": colons}).text
    assert len(_rows(by_eui)) == 1 and eui_of(5) in by_eui
    none = editor_client.get("/devices?q=Rutland+Water").text
    assert "No devices match ‘Rutland Water’" in none and 'id="devices-table"' not in none


def test_columns_show_last_seen_battery_signal_and_health(editor_client: TestClient) -> None:
    """Last seen in GOV.UK style (Europe/London), battery and RSSI/SNR from the latest uplink,
    and health from the asset: low battery, OK, silent, or no data."""
    page = editor_client.get("/devices?sort=last_seen&dir=desc").text
    newest = _rows(page)[0]
    assert eui_of(1) in newest and "89%" in newest and "RSSI -61 dBm, SNR 8.5 dB" in newest
    assert re.search(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{1,2}(:\d\d)?(am|pm)|midday|midnight",
                     newest)
    assert "No data" in newest
    health = {eui: row for row in _rows(editor_client.get("/devices?q=Mill+Lane").text)
              for eui in ("A84041000181A001", "A84041000181A002", "A84041000181A003")
              if eui in row}
    assert "Low battery" in health["A84041000181A001"]
    assert ">OK<" in health["A84041000181A002"]
    assert "Silent" in health["A84041000181A003"]


def test_bad_query_strings_are_refused_with_what_to_use(editor_client: TestClient) -> None:
    """An unknown sort, a page that is not a number or a search too long is a 400 saying what
    to send instead."""
    assert "sort by one of" in editor_client.get("/devices?sort=battery").text
    assert editor_client.get("/devices?page=two").status_code == 400
    assert editor_client.get("/devices?q=" + "x" * 201).status_code == 400
