"""Planning pages: the hazard form and its result (map data and tables), catchments with a
closure, public car park spaces; officers only where homes are listed; axe-clean in Chromium."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box, mapping

from placehub.access import service as access
from placehub.config import Settings, load_settings
from placehub.db import Database
from placehub.places.assign import assign_points
from placehub.places.layers import building_points, load_boundaries, store_points
from placehub.planning.parking_demo import add_parking
from tests.web.conftest import (  # noqa: F401  # browser: the session's Chromium fixture
    LiveServer,
    axe_violations,
    browser,
    browser_sign_in,
    csrf_of,
    sign_in,
)
from tests.web.seed import PASSWORD

OAKHAM = (-0.7268, 52.6698)
AREA = mapping(box(OAKHAM[0] - 0.004, OAKHAM[1] - 0.003, OAKHAM[0] + 0.004, OAKHAM[1] + 0.003))


@pytest.fixture
def settings(database: Database, data_dir: Path, road_network_file: Path,
             basemap_file: Path) -> Settings:
    """Test settings with the Rutland extract, road network and street map cache."""
    return load_settings(environ={}, database_url=database.url, data_dir=str(data_dir),
                         secret_key="test-secret", road_network_file=str(road_network_file),
                         basemap_file=str(basemap_file))


def _load(database: Database, settings: Settings, data_dir: Path) -> None:
    """Oakham's buildings and wards, an officer, and demo parking bays (two days)."""
    found = [p for p in building_points(data_dir / "rutland" / "roads.osm.pbf")
             if abs(p["lon"] - OAKHAM[0]) < 0.02 and abs(p["lat"] - OAKHAM[1]) < 0.013]
    with database.begin() as conn:
        load_boundaries(conn, data_dir / "rutland" / "wards.geojson", "wards")
        store_points(conn, "osm-buildings", found)
        assign_points(conn)
        council = access.ensure_organisation(conn, "rutland", "Rutland County Council")
        officer = access.create_user(conn, "officer", password=PASSWORD)
        access.grant_role(conn, officer, council, "editor")
    from datetime import UTC, datetime

    add_parking(database, settings, datetime.now(UTC), 2024, "rutland", bays_per_car_park=3,
                days=2)


@pytest.fixture
def loaded(database: Database, settings: Settings, data_dir: Path) -> None:
    """The data the planning pages show."""
    _load(database, settings, data_dir)


def _assess(client: TestClient, **extra: str) -> Any:
    form = client.get("/planning/hazard")
    return client.post("/planning/hazard", data={"csrf_token": csrf_of(form.text), **extra},
                       files={"area_file": ("area.geojson", json.dumps(AREA),
                                            "application/geo+json")})


def test_hazard_page_lists_homes_on_a_map_and_in_a_table(client: TestClient,
                                                          loaded: None) -> None:
    """Signed out the page asks to sign in; an officer's upload gives the summary, a map with
    the same homes as the table, and the CSV."""
    assert client.get("/planning/hazard", follow_redirects=False).status_code == 303
    sign_in(client)
    page = _assess(client, rest_centre="-0.70,52.66")
    assert page.status_code == 200, page.text
    geojson = json.loads(re.search(r'data-geojson="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
                         .replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&")
                         .replace("&#39;", "'"))
    homes = [f for f in geojson["features"] if f["properties"]["layer"] == "property"]
    assert homes and all(f["properties"]["ref"] in page.text for f in homes[:20])
    assert "Homes cut off from the rest centre" in page.text
    csv_text = _assess(client, download="csv").text
    assert csv_text.startswith("id,ref,source,ward,status") and len(csv_text.splitlines()) > 10


def test_hazard_page_shows_what_to_fix(client: TestClient, loaded: None) -> None:
    """A rest centre that is not lon,lat comes back as an error on the form, not a 500."""
    sign_in(client)
    page = _assess(client, rest_centre="the town hall")
    assert page.status_code == 400 and "There is a problem" in page.text
    assert "longitude,latitude" in page.text


def test_catchments_page_with_a_closure(client: TestClient, loaded: None) -> None:
    """Schools' catchments in a table; closing one shows where its homes would go."""
    sign_in(client)
    page = client.get("/planning/catchments?kind=school&method=road")
    assert page.status_code == 200 and "catchments-table" in page.text
    ref = re.search(r'<option value="(osm:[^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    closed = client.get(f"/planning/catchments?kind=school&close={ref}")
    assert "Where the homes would go" in closed.text
    assert client.get("/planning/catchments?kind=school&format=csv").text.startswith("ref,kind")


def test_public_parking_page_lists_every_car_park_with_sensors(client: TestClient,
                                                                loaded: None) -> None:
    """Everyone sees the four demo car parks with spaces free, on the map and in the table."""
    page = client.get("/public/parking")
    assert page.status_code == 200
    assert page.text.count('<tr class="govuk-table__row">') == 4 + 1  # header row + 4
    assert "Westgate Car Park" in page.text and "Mercers Yard" in page.text


def test_parking_tariff_page_for_officers(client: TestClient, loaded: None) -> None:
    """Officers see each town's occupancy and suggested price by weekday and hour; a price that
    is not a number is a 400 saying what to give."""
    assert client.get("/planning/parking", follow_redirects=False).status_code == 303
    sign_in(client)
    page = client.get("/planning/parking?price=2.00")
    assert page.status_code == 200
    assert "Oakham" in page.text and "Uppingham" in page.text and "£" in page.text
    bad = client.get("/planning/parking?price=lots")
    assert bad.status_code == 400 and "pounds per hour" in bad.text


@pytest.fixture
def site(database: Database, settings: Settings, data_dir: Path) -> Iterator[str]:
    """The app over real HTTP on the loaded data."""
    from placehub.web.app import create_app

    _load(database, settings, data_dir)
    with LiveServer(create_app(settings, database=database)) as server:
        yield server.url


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_planning_pages_draw_their_maps_and_pass_axe(browser: Any, site: str,  # noqa: F811
                                                     tmp_path: Path) -> None:
    """The parking page (signed out) and the hazard and catchment pages (signed in) draw their
    maps and have no serious or critical axe-core violation."""
    context = browser.new_context(base_url=site)
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    problems: list[str] = []
    tab.on("console", lambda message: problems.append(message.text)
           if message.type == "error" and "Content Security Policy" in message.text else None)
    try:
        tab.goto("/public/parking")
        tab.wait_for_selector("#planning-map[data-ready='true']")
        assert not axe_violations(tab), "parking page"
        browser_sign_in(tab)
        area = tmp_path / "area.geojson"
        area.write_text(json.dumps(AREA))
        tab.goto("/planning/hazard")
        assert not axe_violations(tab), "hazard form"
        tab.get_by_label("Area (GeoJSON file)").set_input_files(str(area))
        tab.get_by_role("button", name="Assess the area").click()
        tab.wait_for_selector("#planning-map[data-ready='true']")
        assert not axe_violations(tab), "hazard result"
        _draw_and_assess(tab)
        assert not axe_violations(tab), "hazard result of a drawn area"
        tab.goto("/planning/catchments?kind=school")
        tab.wait_for_selector("#planning-map[data-ready='true']")
        assert not axe_violations(tab), "catchments"
        tab.goto("/planning/parking")
        assert not axe_violations(tab), "tariffs"
    finally:
        context.close()
    assert not problems, f"Content-Security-Policy violations: {problems}"


def _draw_and_assess(tab: Any) -> None:
    """Outline the test area by clicking its four corners on the drawing map, close it with
    the first corner, and assess it: the form's GeoJSON box holds the drawn polygon."""
    tab.goto("/planning/hazard")
    tab.wait_for_selector("#draw-map[data-ready='true']")
    tab.evaluate("c => new Promise(done => { const m = window.placehubDrawMap;"
                 " m.once('idle', done); m.jumpTo({center: c, zoom: 14.5}); })", list(OAKHAM))
    tab.locator("#draw-map").scroll_into_view_if_needed()
    box_ = tab.locator("#draw-map").bounding_box()
    corners = [*AREA["coordinates"][0][:4], AREA["coordinates"][0][0]]
    for lon, lat in corners:
        point = tab.evaluate("c => window.placehubDrawMap.project(c)", [lon, lat])
        tab.mouse.click(box_["x"] + point["x"], box_["y"] + point["y"])
        tab.wait_for_timeout(100)
    assert "Area drawn with 4 corners" in tab.locator("#draw-status").inner_text()
    drawn = json.loads(tab.locator("#area").input_value())
    ring = drawn["geometry"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    for (lon, lat), (x, y) in zip(ring, corners, strict=True):
        # A click lands on a pixel: within a few metres of the corner at zoom 14.5.
        assert abs(lon - x) < 1e-4 and abs(lat - y) < 1e-4
    tab.get_by_role("button", name="Assess the area").click()
    tab.wait_for_selector("#planning-map[data-ready='true']")
    assert "Homes inside" in tab.content()


def test_hazard_page_takes_a_pasted_area_and_says_what_is_wrong_with_it(
        client: TestClient, loaded: None) -> None:
    """GeoJSON pasted into the area box is assessed like a file; text that is not GeoJSON comes
    back on the box with the error summary, the text kept for correcting."""
    sign_in(client)
    form = client.get("/planning/hazard")
    assert 'id="draw-map"' in form.text and 'name="area"' in form.text
    page = client.post("/planning/hazard", data={"csrf_token": csrf_of(form.text),
                                                 "area": json.dumps(AREA), "name": "Pasted"})
    assert page.status_code == 200 and "Hazard area: Pasted" in page.text
    bad = client.post("/planning/hazard", data={"csrf_token": csrf_of(form.text),
                                                "area": "52.67 -0.72 52.68 -0.71"})
    assert bad.status_code == 400 and "There is a problem" in bad.text
    assert 'id="area-error"' in bad.text and "52.67 -0.72 52.68 -0.71" in bad.text
    empty = client.post("/planning/hazard", data={"csrf_token": csrf_of(form.text)})
    assert empty.status_code == 400 and "draw it on the map" in empty.text


def test_parking_tariff_page_takes_the_council_board(client: TestClient, loaded: None) -> None:
    """An officer uploads a tariff board and sees it with the prices it sets; a board with a
    mistake comes back on the form with the error summary."""
    sign_in(client)
    form = client.get("/planning/parking")
    board = "zone,days,from,to,price\nOakham,Mon-Sat,08:00,18:00,1.70\n"
    page = client.post("/planning/parking", data={"csrf_token": csrf_of(form.text)},
                       files={"tariff_file": ("board.csv", board, "text/csv")})
    assert page.status_code == 200, page.text
    assert "Your tariff board" in page.text and "£1.70" in page.text
    bad = client.post("/planning/parking", data={"csrf_token": csrf_of(form.text)},
                      files={"tariff_file": ("board.csv", "zone,price\nOakham,1", "text/csv")})
    assert bad.status_code == 400 and "There is a problem" in bad.text
    assert "first line must name the columns" in bad.text
