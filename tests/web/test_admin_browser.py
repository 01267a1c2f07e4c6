"""The admin pages in Debian's Chromium (Playwright): an admin adds a user and a webhook
integration from the forms, and every admin page passes axe-core and fits a 375 px screen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from placehub.access import audit, service
from placehub.config import load_settings
from placehub.db import Database
from placehub.ingest.integrations import WebhookAuthenticator
from tests.web.conftest import LiveServer, axe_violations, browser_sign_in
from tests.web.seed import seed

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture(scope="module")
def admin_site(tmp_path_factory: pytest.TempPathFactory,
               data_dir: Path) -> Iterator[tuple[LiveServer, Database]]:
    """A small council (tests.web.seed) on its own SQLite database, whose officer is its
    admin, served over HTTP for the whole module."""
    from placehub.web.app import create_app

    work = tmp_path_factory.mktemp("admin-site")
    url = f"sqlite:///{work / 'admin.sqlite3'}"
    database = Database(url)
    database.upgrade()
    seeded = seed(database, bins=6, history_hours=24)
    with database.begin() as conn:
        service.grant_role(conn, service.user_id(conn, "officer"), seeded.organisation_id,
                           "admin")
    settings = load_settings(environ={}, database_url=url, data_dir=str(data_dir),
                             secret_key="admin-browser-test")
    with LiveServer(create_app(settings, database=database)) as server:
        yield server, database
    database.dispose()


@pytest.fixture
def tab(browser: Any, admin_site: tuple[LiveServer, Database]) -> Iterator[Any]:
    """A fresh page (own cookies) on the site; any CSP violation fails the test."""
    context = browser.new_context(base_url=admin_site[0].url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text else None)
    yield page
    context.close()
    assert not problems, f"Content-Security-Policy violations: {problems}"


def _check(tab: Any, found: dict[str, Any], name: str) -> None:
    if violations := axe_violations(tab):
        found[name] = violations


def test_admin_adds_a_user_and_a_webhook_secret(tab: Any,
                                                admin_site: tuple[LiveServer, Database]) -> None:
    """Signed in as the council's admin: the Admin link leads to the users page, the form
    (errors first) adds a user, the integrations form shows a secret once that opens the
    webhook; each page passes axe and the changes are in the trail."""
    database = admin_site[1]
    found: dict[str, Any] = {}
    browser_sign_in(tab)
    tab.get_by_role("link", name="Admin", exact=True).click()
    tab.wait_for_url(re.compile(r".*/admin$"))
    _check(tab, found, "index")
    tab.get_by_role("link", name=re.compile("^Users and roles")).click()
    _check(tab, found, "users")
    tab.get_by_role("button", name="Add a user").click()
    _check(tab, found, "new user")
    tab.get_by_label("Username").fill("jo.bloggs")
    tab.get_by_label("Password").fill("short")
    tab.get_by_role("button", name="Add user").click()
    summary = tab.locator(".govuk-error-summary")
    assert "at least 8 characters" in summary.inner_text()
    assert tab.title().startswith("Error: ")
    _check(tab, found, "new user with errors")
    summary.get_by_role("link", name=re.compile("at least 8 characters")).click()
    assert tab.evaluate("() => document.activeElement.id") == "password"
    tab.get_by_label("Password").fill("a long password")
    tab.get_by_label("Editor").check()
    tab.get_by_role("button", name="Add user").click()
    tab.wait_for_url(re.compile(r".*/admin/rutland/users$"))
    assert "jo.bloggs added as editor" in tab.locator(".govuk-notification-banner").inner_text()
    row = tab.locator("#users tbody tr", has_text="jo.bloggs")
    assert row.get_by_label("Role of jo.bloggs").input_value() == "editor"
    assert "Create User jo.bloggs" in tab.locator("table", has_text="Who").inner_text()

    tab.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Admin").click()
    tab.get_by_role("link", name=re.compile("^Webhook integrations")).click()
    _check(tab, found, "integrations")
    tab.get_by_label("Name", exact=True).fill("rutland-tts")
    tab.get_by_label("The Things Stack").check()
    tab.get_by_role("button", name="Add integration").click()
    secret = tab.locator("#secret").input_value()
    assert len(secret) >= 24
    _check(tab, found, "secret")
    check = WebhookAuthenticator(database, refresh_seconds=0)
    assert check.check("tts", {"x-placehub-secret": secret}) is not None
    tab.get_by_role("link", name="Back to webhook integrations").click()
    assert secret not in tab.content()
    assert "rutland-tts" in tab.locator("#integrations").inner_text()
    with database.connect() as conn:
        entries = audit.list_entries(conn, audit.AuditQuery(actor="officer"))
    assert {(e["action"], e["entity"]) for e in entries} >= {
        ("create", "User"), ("grant_role", "User"), ("create", "Integration")}
    assert not found, found


def test_every_admin_page_passes_axe_and_fits_a_phone(tab: Any) -> None:
    """Every admin page (lists, forms, a secret, an edit form) has no serious axe issue and
    no sideways scrolling at 375 px."""
    browser_sign_in(tab)
    tab.set_viewport_size({"width": 375, "height": 800})
    found: dict[str, Any] = {}
    too_wide: dict[str, int] = {}

    def visit(path: str | None = None) -> None:
        if path:
            tab.goto(path)
        name = path or tab.url
        _check(tab, found, name)
        extra = int(tab.evaluate("() => document.documentElement.scrollWidth")) - 375
        if extra > 0:
            too_wide[name] = extra

    for path in ("/admin", "/admin/rutland/users", "/admin/rutland/users/new",
                 "/admin/rutland/tokens", "/admin/rutland/integrations",
                 "/admin/rutland/alert-rules", "/admin/rutland/alert-rules/new",
                 "/admin/rutland/alert-teams", "/devices"):
        visit(path)
    tab.goto("/admin/rutland/alert-rules")
    tab.locator("#type-rules a", has_text="Edit").first.click()
    visit()
    tab.goto("/admin/rutland/tokens")
    tab.get_by_label("Whose token is it?").select_option(label="officer")
    tab.get_by_label("What is it for?").fill("Phone check")
    tab.get_by_role("button", name="Create token").click()
    visit()
    tab.goto("/admin/rutland/alert-teams")
    tab.get_by_label("Team name").fill("Oakham cleansing")
    tab.get_by_label("Email addresses (optional)").fill("clean@example.org")
    tab.get_by_role("button", name="Add team").click()
    visit()
    tab.get_by_role("link", name="Subscribe Oakham cleansing to alerts").click()
    visit()
    assert not too_wide, f"admin pages wider than 375 px (extra px): {too_wide}"
    assert not found, found
