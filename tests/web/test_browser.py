"""Browser tests: Debian's Chromium via Playwright against a real uvicorn server."""

import pytest

from tests.web.conftest import axe_violations, browser_sign_in


@pytest.mark.browser
def test_officer_opens_nearly_full_bin_from_map_without_accessibility_violations(page):
    """An officer signs in, the map draws, a nearly full bin opens from the table; no serious
    or critical axe-core violations and no CSP violations on the map and asset pages."""
    browser_sign_in(page)
    page.goto("/map?status=nearly-full")
    page.wait_for_selector("#map[data-ready=true]", timeout=10000)
    assert axe_violations(page) == []
    page.get_by_role("link", name="Bin 001 Oakham").click()
    page.wait_for_selector("#history-chart svg", timeout=10000)
    assert "Nearly full" in page.content()
    assert axe_violations(page) == []
