"""Scratch: screenshot pages."""
import pytest
from tests.web.conftest import browser_sign_in, axe_violations

@pytest.mark.browser
def test_smoke(page):
    browser_sign_in(page)
    page.goto("/map")
    page.wait_for_selector("#map[data-ready=true]", timeout=10000)
    page.screenshot(path="/tmp/web-map.png", full_page=True)
    print(axe_violations(page))
    page.goto("/assets/1")
    page.wait_for_selector("#history-chart svg", timeout=10000)
    page.screenshot(path="/tmp/web-asset.png", full_page=True)
    print(axe_violations(page))
