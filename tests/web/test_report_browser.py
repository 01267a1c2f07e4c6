"""In Chromium, by keyboard only: a resident finds their area by postcode, follows "Report a
problem" for the bin next to them, reports it overflowing and gets a reference; every page on
the way is axe-clean and keeps to the Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from placehub.config import load_settings
from placehub.db import Database
from placehub.places.layers import load_boundaries, load_points_csv
from tests.places.test_postcodes import first_rows
from tests.sta.factories import make_datastream
from tests.web.conftest import LiveServer, axe_violations
from tests.web.seed import seed

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
SM1_1AA = (-0.193121, 51.359722)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[LiveServer]:
    """A council with Sutton's wards and postcodes and a public bin 60 m from SM1 1AA."""
    from placehub.web.app import create_app

    work = tmp_path_factory.mktemp("report-browser")
    url = f"sqlite:///{work / 'site.sqlite3'}"
    database = Database(url)
    database.upgrade()
    seed(database, bins=3, history_hours=6)
    with database.begin() as conn:
        load_boundaries(conn, data_dir / "sutton" / "wards.geojson", "wards")
        load_points_csv(conn, first_rows(data_dir / "sutton" / "postcodes.csv",
                                         work / "pc.csv", 40), "sutton-postcodes")
        make_datastream(conn, thing_name="Bin Throwley Way", name="Bin Throwley Way distance",
                        lon_lat=(SM1_1AA[0] + 0.00086, SM1_1AA[1]), quantity="distance",
                        properties={"asset_type": "litter_bin"})
    settings = load_settings(environ={}, database_url=url, data_dir=str(data_dir),
                             secret_key="report-browser")
    with LiveServer(create_app(settings, database=database)) as server:
        yield server
    database.dispose()


@pytest.fixture
def tab(browser: Any, site: LiveServer) -> Iterator[Any]:
    """A fresh page; any CSP violation fails the test."""
    context = browser.new_context(base_url=site.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text else None)
    yield page
    context.close()
    assert not problems, f"Content-Security-Policy violations: {problems}"


def tab_to(page: Any, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached with {limit} presses of Tab")


def test_a_resident_reports_an_overflowing_bin_by_keyboard_only(tab: Any) -> None:
    """Postcode search, the bin's report link, the form and the confirmation, all by
    keyboard; axe finds no serious or critical problem on any of the pages."""
    tab.goto("/my-area")
    assert axe_violations(tab) == []
    tab_to(tab, "#postcode")
    tab.keyboard.type("sm1 1aa")
    tab.keyboard.press("Enter")
    tab.wait_for_url("**/my-area?postcode=*")
    assert tab.get_by_role("heading", level=1).inner_text() == "My area: SM1 1AA"
    assert axe_violations(tab) == []
    tab_to(tab, "a[href^='/report?service=overflowing_bin']")
    tab.keyboard.press("Enter")
    tab.wait_for_url("**/report?*")
    assert axe_violations(tab) == []

    tab_to(tab, "input[name='service_code'][value='overflowing_bin']")
    tab.keyboard.press("Space")
    tab_to(tab, "#description")
    tab.keyboard.type("Overflowing: bags piled round the bin by the bus stop")
    tab_to(tab, "#email")
    tab.keyboard.type("resident@example.org")
    tab_to(tab, "button[type='submit'].govuk-button:not([form])")
    tab.keyboard.press("Enter")
    tab.wait_for_url("**/public/reports/*")
    assert tab.get_by_role("heading", name="Report sent").is_visible()
    assert "Overflowing litter bin" in tab.inner_text("main")
    assert axe_violations(tab) == []


def test_the_form_errors_are_reachable_and_axe_clean(tab: Any) -> None:
    """Sending the empty form: the error summary takes the focus and links to each field."""
    tab.goto("/report")
    tab_to(tab, "button[type='submit'].govuk-button:not([form])")
    tab.keyboard.press("Enter")
    tab.wait_for_selector(".govuk-error-summary")
    # GOV.UK Frontend's script moves the focus once it has loaded, just after the page shows.
    # A function, not an expression: Playwright evaluates a bare expression string with eval,
    # which the page's Content-Security-Policy refuses once it has to poll.
    tab.wait_for_function(
        "() => document.activeElement.closest('.govuk-error-summary') !== null", timeout=5_000)
    summary = tab.inner_text(".govuk-error-summary")
    assert "Select what the problem is" in summary and "Describe the problem" in summary
    assert axe_violations(tab) == []
